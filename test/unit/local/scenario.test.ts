import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dexPoolListings,
  liquidityProviderSupplyUnits,
  loadScenario,
  openingHealthFactor,
  parseScenario,
  SCENARIO_DIR,
  ScenarioError,
  WHALE_LABEL,
} from '../../../local/world/scenario';
import { pairName } from '../../../local/world/dex/pairs';

const ASSETS = {
  WETH: { priceUsd: 3000, ltvBps: 8000, liquidationThresholdBps: 8250, liquidationBonusBps: 10500, protocolFeeBps: 1000 },
  USDC: { priceUsd: 1, ltvBps: 7500, liquidationThresholdBps: 7800, liquidationBonusBps: 10450, protocolFeeBps: 1000 },
};
const VALID = {
  aave: 'v3.6',
  assets: ASSETS,
  borrowers: [{ collateral: { WETH: '10.5' }, debt: { USDC: '20000' } }],
};

/** Applies `mutate` to a copy of a valid scenario and returns the validation message. */
function problemsOf(mutate: (s: Record<string, unknown>) => void): string {
  const scenario = structuredClone(VALID) as Record<string, unknown>;
  mutate(scenario);
  try {
    parseScenario(scenario, 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('scenario validation', () => {
  it.each([
    ['an asset of its own without decimals', (s: Record<string, unknown>) => ((s.assets as Record<string, unknown>).DOGE = ASSETS.WETH), /assets\.DOGE\.decimals: is required for an asset other than WETH, USDC, WBTC/],
    ['a symbol that is not one', (s: Record<string, unknown>) => ((s.assets as Record<string, unknown>)['1INCH'] = { ...ASSETS.WETH, decimals: 18 }), /assets\.1INCH: must be an asset symbol/],
    ['5 decimals on v3.6', (s: Record<string, unknown>) => ((s.assets as Record<string, unknown>).DOGE = { ...ASSETS.WETH, decimals: 5 }), /assets\.DOGE\.decimals: must be at least 6 on Aave v3\.6/],
    ['unlisted collateral asset', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { DOGE: '1' }, debt: { USDC: '1' } }]), /borrowers\[0\]\.collateral\.DOGE: asset DOGE is not listed/],
    ['asset not listed', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { WBTC: '1' }, debt: { USDC: '1' } }]), /borrowers\[0\]\.collateral\.WBTC: asset WBTC is not listed/],
    ['negative amount', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { WETH: '-5' }, debt: { USDC: '1' } }]), /borrowers\[0\]\.collateral\.WETH: must be a non-negative decimal string/],
    ['non-numeric amount', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { WETH: 'ten' }, debt: { USDC: '1' } }]), /borrowers\[0\]\.collateral\.WETH: must be a non-negative decimal string/],
    ['amount as a JSON number', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { WETH: 10 }, debt: { USDC: '1' } }]), /borrowers\[0\]\.collateral\.WETH: must be a decimal string/],
    ['zero amount', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { WETH: '0.0' }, debt: { USDC: '1' } }]), /borrowers\[0\]\.collateral\.WETH: must be greater than zero/],
    ['too many decimals', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { WETH: '1' }, debt: { USDC: '1.0000001' } }]), /borrowers\[0\]\.debt\.USDC: "1\.0000001" has more decimals than USDC \(6\)/],
    ['negative price', (s: Record<string, unknown>) => ((s.assets as Record<string, Record<string, unknown>>).WETH.priceUsd = -3000), /assets\.WETH\.priceUsd: must be a positive number of USD/],
    ['non-numeric price', (s: Record<string, unknown>) => ((s.assets as Record<string, Record<string, unknown>>).WETH.priceUsd = 'cheap'), /assets\.WETH\.priceUsd: must be a positive number of USD/],
    ['LTV above LT', (s: Record<string, unknown>) => ((s.assets as Record<string, Record<string, unknown>>).WETH.ltvBps = 9000), /assets\.WETH\.ltvBps: must not exceed liquidationThresholdBps/],
    ['bonus not above 100%', (s: Record<string, unknown>) => ((s.assets as Record<string, Record<string, unknown>>).WETH.liquidationBonusBps = 9500), /assets\.WETH\.liquidationBonusBps: liquidationBonusBps must be at least 10001 bps/],
    ['unknown field', (s: Record<string, unknown>) => (s.blocktime = 2), /blocktime: unknown field/],
    ['unknown flavour', (s: Record<string, unknown>) => (s.aave = 'v2'), /aave: must be "v3\.6" or "v3\.0"/],
    ['position opening below HF 1', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { WETH: '1' }, debt: { USDC: '2500' } }]), /borrowers\[0\]: opens with health factor 0\.9900/],
    [
      'inverted health factor range',
      (s: Record<string, unknown>) => (s.generate = { count: 5, seed: 1, collateral: ['WETH'], debt: ['USDC'], healthFactor: [1.5, 1.1] }),
      /generate\.healthFactor: healthFactor is inverted: min must not exceed max/,
    ],
    [
      'health factor range below 1',
      (s: Record<string, unknown>) => (s.generate = { count: 5, seed: 1, collateral: ['WETH'], debt: ['USDC'], healthFactor: [0.9, 1.1] }),
      /generate\.healthFactor: healthFactor minimum must be at least 1/,
    ],
    [
      'generate with no pair of different assets',
      (s: Record<string, unknown>) => (s.generate = { count: 5, seed: 1, collateral: ['WETH'], debt: ['WETH'], healthFactor: [1.1, 1.2] }),
      /generate: collateral and debt lists leave no pair/,
    ],
    ['negative shock price', (s: Record<string, unknown>) => (s.shocks = [{ afterBlocks: 3, asset: 'WETH', priceUsd: -1 }]), /shocks\[0\]\.priceUsd: must be a positive number/],
    ['shock at block 0', (s: Record<string, unknown>) => (s.shocks = [{ afterBlocks: 0, asset: 'WETH', priceUsd: 2000 }]), /shocks\[0\]\.afterBlocks: afterBlocks must be at least 1/],
    ['demo timeout of zero', (s: Record<string, unknown>) => (s.demo = { timeoutSec: 0 }), /demo\.timeoutSec: must be at least 1/],
    ['fractional demo timeout', (s: Record<string, unknown>) => (s.demo = { timeoutSec: 1.5 }), /demo\.timeoutSec: must be a whole number of seconds/],
  ])('rejects %s, naming the field', (_name, mutate, expected) => {
    expect(problemsOf(mutate)).toMatch(expected);
  });

  it('rejects a file that is not JSON, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "aave": "v3.6", ');
    expect(() => loadScenario(path)).toThrow(/invalid scenario .*broken\.json:\n {2}- \(file\): invalid JSON/);
  });

  it('rejects a scenario name with no file', () => {
    expect(() => loadScenario('no-such-scenario')).toThrow(/no scenario file at .*no-such-scenario\.json/);
  });
});

describe('scenario assets of any symbol', () => {
  it('lists an asset of its own with its decimals, and keeps the known decimals of WETH, USDC and WBTC', () => {
    const scenario = parseScenario({
      ...VALID,
      assets: { ...ASSETS, wstETH: { ...ASSETS.WETH, priceUsd: 3500, decimals: 18 }, PYUSD: { ...ASSETS.USDC, decimals: 6 } },
      borrowers: [{ collateral: { wstETH: '1.25' }, debt: { PYUSD: '2000.5' } }],
    });
    expect(scenario.assets.wstETH!.decimals).toBe(18);
    expect(scenario.assets.WETH!.decimals).toBe(18);
    expect(scenario.assets.USDC!.decimals).toBe(6);
    expect(scenario.positions[0]).toMatchObject({ collateral: { wstETH: 1_250_000_000_000_000_000n }, debt: { PYUSD: 2_000_500_000n } });
  });

  it('pairs every asset with WETH when the DEX asks for "weth" pairs, plus the pairs it lists', () => {
    const scenario = parseScenario({
      ...VALID,
      assets: { ...ASSETS, LINK: { ...ASSETS.WETH, priceUsd: 15, decimals: 18 }, AAVE: { ...ASSETS.WETH, priceUsd: 300, decimals: 18 } },
      dex: { pairs: 'weth', pools: { 'LINK/USDC': { depthUsd: 1000000 } } },
    });
    expect(dexPoolListings(scenario).map((l) => pairName(...l.assets)).sort()).toEqual(['LINK/USDC', 'AAVE/WETH', 'LINK/WETH', 'WETH/USDC'].sort());
  });
});

describe('scenario expansion', () => {
  it('converts listed amounts to token units and prices to 8-decimal base units', () => {
    const scenario = parseScenario(VALID);
    expect(scenario.positions).toEqual([
      { label: 'borrowers[0]', collateral: { WETH: 10_500_000_000_000_000_000n }, debt: { USDC: 20_000_000_000n } },
    ]);
    expect(scenario.assets.WETH?.priceUsd).toBe(300_000_000_000n);
    expect(scenario.aave).toBe('v3.6');
    expect(scenario.blockTimeSec).toBe(2);
  });

  it('computes the opening health factor as Σ collateral × price × LT / debt', () => {
    // 10.5 WETH × $3,000 × 0.825 / $20,000 = 1.299375
    const scenario = parseScenario(VALID);
    expect(openingHealthFactor(scenario.positions[0], scenario.assets)).toBe(1.299375);
  });

  it('generates the same borrowers for the same seed, inside the requested ranges', () => {
    const spec = { ...VALID, borrowers: [], generate: { count: 50, seed: 9, collateral: ['WETH'], debt: ['USDC'], healthFactor: [1.1, 1.3], collateralUsd: [1000, 5000] } };
    const a = parseScenario(spec).positions;
    const b = parseScenario(spec).positions;
    expect(a).toHaveLength(50);
    expect(a).toEqual(b);
    for (const p of a) {
      const weth = p.collateral.WETH!;
      const usdc = p.debt.USDC!;
      // Independent of the generator: value in USD from token units, HF from the definition.
      const collateralUsd = Number(weth) / 1e18 * 3000;
      const hf = (collateralUsd * 0.825) / (Number(usdc) / 1e6);
      expect(collateralUsd).toBeGreaterThanOrEqual(999.99);
      expect(collateralUsd).toBeLessThanOrEqual(5000.01);
      expect(hf).toBeGreaterThanOrEqual(1.1 - 1e-9);
      expect(hf).toBeLessThanOrEqual(1.3 + 1e-6);
    }
    const other = parseScenario({ ...spec, generate: { ...spec.generate, seed: 10 } }).positions;
    expect(other).not.toEqual(a);
  });

  it.each(readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')))('ships a valid %s scenario', (name) => {
    const scenario = loadScenario(name);
    expect(scenario.positions.length).toBeGreaterThan(0);
    for (const p of scenario.positions) expect(openingHealthFactor(p, scenario.assets, { categories: scenario.emodeCategories, aave: scenario.aave })).toBeGreaterThanOrEqual(1);
  });

  it('ships small-positions under the $2,000 threshold and large with 10,000 borrowers', () => {
    const small = loadScenario('small-positions');
    for (const p of small.positions) {
      const [[asset, amount]] = Object.entries(p.collateral) as [['WETH' | 'WBTC', bigint]];
      const usd = (Number(amount) / 10 ** (asset === 'WETH' ? 18 : 8)) * (asset === 'WETH' ? 3000 : 60000);
      expect(usd).toBeLessThan(2000);
    }
    expect(loadScenario('large').positions).toHaveLength(10_000);
  });
});

describe('scenario dex field', () => {
  const withDex = (dex: unknown) => (s: Record<string, unknown>) => (s.dex = dex);

  it.each([
    ['a fee tier that is not a Uniswap tier', withDex({ defaultFeeTier: 30 }), /dex\.defaultFeeTier: must be a Uniswap V3 fee tier: 100, 500, 3000, 10000/],
    ['a fee tier in bps', withDex({ pools: { 'WETH/USDC': { feeTier: 5 } } }), /dex\.pools\.WETH\/USDC\.feeTier: must be a Uniswap V3 fee tier/],
    ['a negative depth', withDex({ pools: { 'WETH/USDC': { depthUsd: -1 } } }), /dex\.pools\.WETH\/USDC\.depthUsd: must not be negative/],
    ['a fractional depth', withDex({ pools: { 'WETH/USDC': { depthUsd: 1000.5 } } }), /dex\.pools\.WETH\/USDC\.depthUsd: must be a whole number of USD/],
    ['a depth given as a string', withDex({ defaultDepthUsd: '5000000' }), /dex\.defaultDepthUsd: must be a whole number of USD/],
    ['a zero default depth', withDex({ defaultDepthUsd: 0 }), /dex\.defaultDepthUsd: must be greater than zero/],
    ['a pair with an unknown asset', withDex({ pools: { 'DOGE/USDC': { depthUsd: 1 } } }), /dex\.pools\.DOGE\/USDC: asset DOGE is not listed under "assets"/],
    ['a pair with an unlisted asset', withDex({ pools: { 'WBTC/USDC': { depthUsd: 1 } } }), /dex\.pools\.WBTC\/USDC: asset WBTC is not listed under "assets"/],
    ['a pair not written A/B', withDex({ pools: { 'WETH-USDC': { depthUsd: 1 } } }), /dex\.pools\.WETH-USDC: a pair is written "A\/B"/],
    ['a pair of one asset', withDex({ pools: { 'WETH/WETH': { depthUsd: 1 } } }), /dex\.pools\.WETH\/WETH: a pair needs two different assets/],
    ['the same pair twice', withDex({ pools: { 'WETH/USDC': { depthUsd: 1 }, 'USDC/WETH': { depthUsd: 2 } } }), /dex\.pools\.USDC\/WETH: the same pair as WETH\/USDC/],
    ['an unknown pool field', withDex({ pools: { 'WETH/USDC': { feeBps: 5 } } }), /dex\.pools\.WETH\/USDC\.feeBps: unknown field/],
    ['an unknown dex field', withDex({ depth: 5 }), /dex\.depth: unknown field/],
  ])('rejects %s, naming the field', (_name, mutate, expected) => {
    expect(problemsOf(mutate)).toMatch(expected);
  });

  it('gives every pair of listed assets a pool: $50M a side in the 0.05 % tier unless listed', () => {
    const three = { ...VALID, assets: { ...ASSETS, WBTC: { ...ASSETS.WETH, priceUsd: 60000 } } };
    expect(dexPoolListings(parseScenario(three))).toEqual([
      { assets: ['WETH', 'USDC'], depthUsd: 50_000_000n, feeTier: 500 },
      { assets: ['WETH', 'WBTC'], depthUsd: 50_000_000n, feeTier: 500 },
      { assets: ['USDC', 'WBTC'], depthUsd: 50_000_000n, feeTier: 500 },
    ]);
  });

  it('applies listed pools in either order, falls back to the defaults per field, and leaves out depth 0', () => {
    const three = { ...VALID, assets: { ...ASSETS, WBTC: { ...ASSETS.WETH, priceUsd: 60000 } } };
    const scenario = parseScenario({
      ...three,
      dex: { defaultDepthUsd: 1_000_000, defaultFeeTier: 3000, pools: { 'USDC/WBTC': { depthUsd: 20_000 }, 'WBTC/WETH': { depthUsd: 0 } } },
    });
    expect(dexPoolListings(scenario)).toEqual([
      { assets: ['WETH', 'USDC'], depthUsd: 1_000_000n, feeTier: 3000 },
      { assets: ['USDC', 'WBTC'], depthUsd: 20_000n, feeTier: 3000 },
    ]);
  });

  it.each(['default', 'small-positions', 'dust-edge', 'crash-30', 'large', 'available-liquidity'])(
    'keeps the largest %s position under 1 %% price impact at the default depth',
    (name) => {
      const scenario = loadScenario(name);
      const decimals = { WETH: 18, USDC: 6, WBTC: 8 } as const;
      const usd = (asset: string, amount: bigint) =>
        (Number(amount) / 10 ** decimals[asset as keyof typeof decimals]) * (Number(scenario.assets[asset as keyof typeof decimals]!.priceUsd) / 1e8);
      const largestUsd = Math.max(...scenario.positions.map((p) => Object.entries(p.collateral).reduce((sum, [a, x]) => sum + usd(a, x!), 0)));
      for (const pool of dexPoolListings(scenario)) {
        // Selling X USD into a constant-product pool with D USD a side pays D / (D + X) of the price.
        const depth = Number(pool.depthUsd);
        expect(largestUsd / (depth + largestUsd)).toBeLessThan(0.01);
      }
    },
  );

  it('ships thin-pool with a WBTC/USDC pool shallower than its largest position', () => {
    const scenario = loadScenario('thin-pool');
    const thin = dexPoolListings(scenario).find((l) => l.assets.includes('WBTC') && l.assets.includes('USDC'))!;
    expect(thin).toMatchObject({ depthUsd: 20_000n, feeTier: 3000 });
    // 5 WBTC at $60,000 against USDC: fifteen times the pool's side.
    expect(scenario.positions.some((p) => p.collateral.WBTC === 5n * 10n ** 8n && p.debt.USDC !== undefined)).toBe(true);
  });
});

describe('scenario utilisation field', () => {
  const withUtilisation = (utilisation: unknown) => (s: Record<string, unknown>) => (s.utilisation = utilisation);
  const assets = (s: Record<string, unknown>) => s.assets as Record<string, Record<string, unknown>>;

  it.each([
    ['an empty map', withUtilisation({}), /utilisation: needs at least one asset/],
    ['an unknown asset', withUtilisation({ DOGE: 0.8 }), /utilisation\.DOGE: asset DOGE is not listed under "assets"/],
    ['an unlisted asset', withUtilisation({ WBTC: 0.8 }), /utilisation\.WBTC: asset WBTC is not listed under "assets"/],
    ['a target of 0', withUtilisation({ WETH: 0 }), /utilisation\.WETH: must be greater than 0/],
    ['a target above 1', withUtilisation({ WETH: 1.2 }), /utilisation\.WETH: must be at most 1 \(everything supplied lent out\)/],
    ['a percentage instead of a fraction', withUtilisation({ WETH: 80 }), /utilisation\.WETH: must be at most 1/],
    ['a target given as a string', withUtilisation({ WETH: '0.8' }), /utilisation\.WETH: must be a number between 0 and 1/],
    ['a target finer than a basis point', withUtilisation({ WETH: 0.80005 }), /utilisation\.WETH: has more than 4 decimals/],
    [
      'a reserve with borrowing disabled',
      (s: Record<string, unknown>) => {
        assets(s).WETH.borrowingEnabled = false;
        s.utilisation = { WETH: 0.8 };
      },
      /utilisation\.WETH: assets\.WETH\.borrowingEnabled is false: nothing can borrow it/,
    ],
    [
      'a reserve nothing is supplied to',
      (s: Record<string, unknown>) => {
        assets(s).WBTC = { ...ASSETS.WETH, priceUsd: 60000 };
        s.utilisation = { WBTC: 0.8 };
      },
      /utilisation\.WBTC: nothing is supplied to the WBTC reserve/,
    ],
    // The liquidity provider supplies 2 × 20,000 + 1 USDC; the position borrows 20,000 (49.9988 %).
    ['a target the positions already exceed', withUtilisation({ USDC: 0.4 }), /utilisation\.USDC: the positions already borrow 20000\.0 USDC of the 40001\.0 USDC supplied, at or above the target 40 %/],
    ['every listed asset under utilisation', withUtilisation({ WETH: 0.8, USDC: 0.9 }), /utilisation: no listed asset outside "utilisation" can back the whale borrower/],
    [
      'a backing asset with LTV 0',
      (s: Record<string, unknown>) => {
        assets(s).USDC.ltvBps = 0;
        s.utilisation = { WETH: 0.8 };
      },
      /utilisation: no listed asset outside "utilisation" can back the whale borrower \(it needs one with ltvBps > 0\)/,
    ],
    [
      'a shock that would make the whale liquidatable',
      (s: Record<string, unknown>) => {
        s.utilisation = { WETH: 0.8 };
        // The whale borrows WETH against USDC at HF 20: WETH × 12 leaves it at 20 / 12 = 1.67.
        s.shocks = [
          { afterBlocks: 2, asset: 'WETH', priceUsd: 6000 },
          { afterBlocks: 9, asset: 'WETH', priceUsd: 36000 },
        ];
      },
      /utilisation: the whale borrower \(646153\.846154 USDC of collateral\) falls to health factor 1\.6667 after shocks\[1\]; it must stay at or above 2/,
    ],
  ])('rejects %s, naming the field', (_name, mutate, expected) => {
    expect(problemsOf(mutate)).toMatch(expected);
  });

  it('lets a whale borrow the reserve up to the target, backed at HF 20 by the listed asset with the highest LT', () => {
    // WETH supplied: the position's 10.5, none borrowed. 80 %: the whale borrows 8.4 WETH, 2.1 stay available.
    // Its debt, 8.4 × $3,000 = $25,200, needs 25,200 × 20 / 0.78 = 646,153.846153… USDC, rounded up.
    const scenario = parseScenario({ ...VALID, utilisation: { WETH: 0.8 } });
    expect(scenario.utilisation).toEqual({
      reserves: {
        WETH: {
          targetBps: 8000n,
          suppliedUnits: 10_500_000_000_000_000_000n,
          borrowedUnits: 0n,
          whaleBorrowUnits: 8_400_000_000_000_000_000n,
          availableUnits: 2_100_000_000_000_000_000n,
        },
      },
      whale: { label: WHALE_LABEL, collateral: { USDC: 646_153_846_154n }, debt: { WETH: 8_400_000_000_000_000_000n } },
    });
    expect(openingHealthFactor(scenario.utilisation!.whale, scenario.assets)).toBeCloseTo(20, 5);
    // The whale is not a scenario position: the liquidity provider's supply does not grow with its debt.
    expect(scenario.positions.map((p) => p.label)).toEqual(['borrowers[0]']);
    expect(parseScenario(VALID).utilisation).toBeUndefined();
  });

  it('counts the liquidity provider in what a borrowed reserve supplies', () => {
    // USDC: the LP supplies 2 × 20,000 + 1 = 40,001; 90 % is 36,000.9, of which the position borrows 20,000.
    const scenario = parseScenario({ ...VALID, utilisation: { USDC: 0.9 } });
    expect(liquidityProviderSupplyUnits(scenario.positions, scenario.assets)).toEqual({ USDC: 40_001_000_000n });
    expect(scenario.utilisation!.reserves.USDC).toEqual({
      targetBps: 9000n,
      suppliedUnits: 40_001_000_000n,
      borrowedUnits: 20_000_000_000n,
      whaleBorrowUnits: 16_000_900_000n,
      availableUnits: 4_000_100_000n,
    });
    // Backed by WETH, the only other asset: $16,000.9 × 20 / 0.825 / $3,000 = 129.30020202… WETH, rounded up.
    expect(scenario.utilisation!.whale.collateral).toEqual({ WETH: 129_300_202_020_202_020_203n });
  });

  it('ships available-liquidity with 1 WBTC available against the victim\'s 5', () => {
    const scenario = loadScenario('available-liquidity');
    expect(scenario.aave).toBe('v3.6');
    expect(scenario.utilisation!.reserves.WBTC).toMatchObject({ suppliedUnits: 5n * 10n ** 8n, whaleBorrowUnits: 4n * 10n ** 8n, availableUnits: 10n ** 8n });
    expect(scenario.positions[0]).toMatchObject({ collateral: { WBTC: 5n * 10n ** 8n }, debt: { USDC: 210_000n * 10n ** 6n } });
    expect(scenario.shocks[0]).toEqual({ afterBlocks: 5, prices: { WBTC: 52_000n * 10n ** 8n } });
  });
});

describe('scenario shock steps', () => {
  const usd = (n: number) => BigInt(n) * 10n ** 8n;
  const withShocks = (shocks: unknown[]) => (s: Record<string, unknown>) => {
    (s.assets as Record<string, unknown>).WBTC = { priceUsd: 60000, ltvBps: 7300, liquidationThresholdBps: 7800, liquidationBonusBps: 10500, protocolFeeBps: 1000 };
    s.shocks = shocks;
  };
  const parsedWith = (shocks: unknown[]) => {
    const scenario = structuredClone(VALID) as Record<string, unknown>;
    withShocks(shocks)(scenario);
    return parseScenario(scenario, 'test.json');
  };

  it('reads the one-asset form and the step form into the same shape, gwei into wei', () => {
    // Arrange
    const shocks = [
      { afterBlocks: 3, asset: 'WETH', priceUsd: 2700 },
      { afterBlocks: 6, prices: { WETH: 2400, WBTC: '40000.5' }, baseFeeGwei: 120 },
      { afterBlocks: 9, baseFeeGwei: 0.5 },
      { afterBlocks: 12, prices: { USDC: 0.99 } },
    ];

    // Act
    const scenario = parsedWith(shocks);

    // Assert
    expect(scenario.shocks).toEqual([
      { afterBlocks: 3, prices: { WETH: usd(2700) } },
      { afterBlocks: 6, prices: { WETH: usd(2400), WBTC: 4_000_050_000_000n }, baseFeeWei: 120n * 10n ** 9n },
      { afterBlocks: 9, prices: {}, baseFeeWei: 500_000_000n },
      { afterBlocks: 12, prices: { USDC: 99_000_000n } },
    ]);
  });

  it.each([
    ['a step with neither prices nor a base fee', [{ afterBlocks: 3 }], /shocks\[0\]\.prices: a step needs "prices", "baseFeeGwei" or both/],
    ['empty prices', [{ afterBlocks: 3, prices: {} }], /shocks\[0\]\.prices: needs at least one asset/],
    ['an unknown asset in prices', [{ afterBlocks: 3, prices: { DOGE: 1 } }], /shocks\[0\]\.prices\.DOGE: asset DOGE is not listed under "assets"/],
    ['a negative price in prices', [{ afterBlocks: 3, prices: { WETH: -1 } }], /shocks\[0\]\.prices\.WETH: must be a positive number of USD/],
    ['asset without priceUsd', [{ afterBlocks: 3, asset: 'WETH' }], /shocks\[0\]\.priceUsd: the one-asset form needs "priceUsd" with "asset"/],
    ['priceUsd without asset', [{ afterBlocks: 3, priceUsd: 2000 }], /shocks\[0\]\.asset: the one-asset form needs "asset" with "priceUsd"/],
    ['both forms in one step', [{ afterBlocks: 3, asset: 'WETH', priceUsd: 2000, prices: { WBTC: 1 } }], /shocks\[0\]\.prices: give either "asset" and "priceUsd" or "prices", not both/],
    ['a zero base fee', [{ afterBlocks: 3, baseFeeGwei: 0 }], /shocks\[0\]\.baseFeeGwei: must be greater than 0 gwei/],
    ['a base fee as a string', [{ afterBlocks: 3, baseFeeGwei: '120' }], /shocks\[0\]\.baseFeeGwei: must be a number of gwei/],
    ['a base fee below a wei', [{ afterBlocks: 3, baseFeeGwei: 0.0000000001 }], /shocks\[0\]\.baseFeeGwei: has more than 9 decimals/],
    ['an unknown field in a step', [{ afterBlocks: 3, baseFeeGwei: 1, gasGwei: 2 }], /shocks\[0\]\.gasGwei: unknown field/],
  ])('rejects %s, naming the field', (_name, shocks, message) => {
    expect(problemsOf(withShocks(shocks))).toMatch(message);
  });

  it('rejects a price for an asset the scenario does not list, in either form', () => {
    expect(problemsOf((s) => (s.shocks = [{ afterBlocks: 3, prices: { WETH: 2000, WBTC: 1 } }]))).toMatch(/shocks\[0\]\.prices\.WBTC: asset WBTC is not listed/);
    expect(problemsOf((s) => (s.shocks = [{ afterBlocks: 3, asset: 'WBTC', priceUsd: 1 }]))).toMatch(/shocks\[0\]\.asset: asset WBTC is not listed/);
  });

  it('checks the utilisation whale against every price of a step', () => {
    // Arrange: the whale borrows USDC backed by WETH (the examples above); a step moving WETH with WBTC still counts.
    const mutate = (s: Record<string, unknown>) => {
      withShocks([{ afterBlocks: 3, prices: { WBTC: 50_000, WETH: 100 } }])(s);
      s.utilisation = { USDC: 0.9 };
    };

    // Act / Assert
    expect(problemsOf(mutate)).toMatch(/utilisation: the whale borrower .* after shocks\[0\]; it must stay at or above 2/);
  });
});

describe('scenario generate blocks and sources', () => {
  const block = (seed: number, collateral: string[], debt: string[], count = 3) => ({ count, seed, collateral, debt, healthFactor: [1.2, 1.5] });

  it('accepts several generate blocks, each labelled by its index, and keeps one block\'s labels as they were', () => {
    // Arrange
    const several = { ...structuredClone(VALID), borrowers: [], generate: [block(1, ['WETH'], ['USDC'], 2), block(2, ['USDC'], ['WETH'], 3)] };
    const one = { ...structuredClone(VALID), borrowers: [], generate: block(1, ['WETH'], ['USDC'], 2) };

    // Act
    const fromSeveral = parseScenario(several, 'several.json');
    const fromOne = parseScenario(one, 'one.json');

    // Assert
    expect(fromSeveral.positions.map((p) => p.label)).toEqual(['generate[0][0]', 'generate[0][1]', 'generate[1][0]', 'generate[1][1]', 'generate[1][2]']);
    expect(fromSeveral.positions.slice(2).every((p) => p.collateral.USDC !== undefined && p.debt.WETH !== undefined)).toBe(true);
    expect(fromOne.positions.map((p) => p.label)).toEqual(['generate[0]', 'generate[1]']);
    // The same seed and assets draw the same borrowers in either form.
    expect(fromSeveral.positions.slice(0, 2).map((p) => [p.collateral, p.debt])).toEqual(fromOne.positions.map((p) => [p.collateral, p.debt]));
  });

  it.each([
    ['an unlisted asset in the second block', (s: Record<string, unknown>) => (s.generate = [block(1, ['WETH'], ['USDC']), block(2, ['WBTC'], ['USDC'])]), /generate\[1\]\.collateral\[0\]: asset WBTC is not listed/],
    ['a block with no pair', (s: Record<string, unknown>) => (s.generate = [block(1, ['WETH'], ['USDC']), block(2, ['USDC'], ['USDC'])]), /generate\[1\]: collateral and debt lists leave no pair of different assets/],
    ['an empty array', (s: Record<string, unknown>) => (s.generate = []), /generate: needs at least one generate block/],
    ['an empty source', (s: Record<string, unknown>) => (s.sources = ['']), /sources\[0\]: must not be empty/],
  ])('rejects %s, naming the field', (_name, mutate, message) => {
    expect(problemsOf(mutate)).toMatch(message);
  });

  it('keeps the sources a file gives, none when it gives none', () => {
    expect(parseScenario({ ...structuredClone(VALID), sources: ['MakerDAO, Black Thursday Response Plan'] }).sources).toEqual(['MakerDAO, Black Thursday Response Plan']);
    expect(parseScenario(structuredClone(VALID)).sources).toEqual([]);
  });
});

describe('scenario eMode categories', () => {
  const WBTC = { priceUsd: 60000, ltvBps: 7300, liquidationThresholdBps: 7800, liquidationBonusBps: 10750, protocolFeeBps: 2000 };
  const CATEGORY = { label: 'ETH/BTC', ltvBps: 8500, liquidationThresholdBps: 9000, liquidationBonusBps: 10400, collateral: ['WETH', 'WBTC'], borrowable: ['WETH', 'WBTC'] };
  const withEMode = (aave: 'v3.6' | 'v3.0', category: Record<string, unknown> = CATEGORY, borrower: Record<string, unknown> = {}) => ({
    aave,
    assets: { ...ASSETS, WBTC },
    emodeCategories: { '1': category },
    // 1 WETH ($3,000) against 0.044 WBTC ($2,640): HF 0.9375 on the reserve's LT of 82.5 %, 1.0227 with the category's 90 %.
    borrowers: [{ collateral: { WETH: '1' }, debt: { WBTC: '0.044' }, emode: 1, ...borrower }],
  });
  const problems = (input: unknown) => {
    try {
      parseScenario(input, 'emode.json');
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      return (err as Error).message;
    }
    throw new Error('expected the scenario to be rejected');
  };

  it('opens a borrower in eMode with the category\'s LT (a position that only eMode makes healthy)', () => {
    const scenario = parseScenario(withEMode('v3.6'));
    expect(scenario.positions[0].emode).toBe(1);
    expect(scenario.emodeCategories[1]).toMatchObject({ id: 1, label: 'ETH/BTC', liquidationThresholdBps: 9000 });
    expect(openingHealthFactor(scenario.positions[0], scenario.assets, { categories: scenario.emodeCategories, aave: 'v3.6' })).toBe(1.022727);
    // The same borrower outside eMode opens at 0.9375, which validation refuses.
    expect(problems({ ...withEMode('v3.6'), borrowers: [{ collateral: { WETH: '1' }, debt: { WBTC: '0.044' } }] })).toMatch(/borrowers\[0\]: opens with health factor 0\.9375/);
  });

  it('prices a V3.0 category\'s members from its price source for its users', () => {
    // WBTC priced as WETH ($3,000) for the category's users: 0.044 WBTC of debt is $132, so HF = 3,000 × 0.9 / 132.
    const scenario = parseScenario(withEMode('v3.0', { ...CATEGORY, priceSource: 'WETH' }));
    expect(openingHealthFactor(scenario.positions[0], scenario.assets, { categories: scenario.emodeCategories, aave: 'v3.0' })).toBe(20.454545);
  });

  it('sizes generated eMode debt with the category\'s LT', () => {
    const scenario = parseScenario({
      ...withEMode('v3.6'),
      borrowers: [],
      generate: { count: 20, seed: 3, collateral: ['WETH'], debt: ['WBTC'], healthFactor: [1.01, 1.02], emode: 1 },
    });
    for (const p of scenario.positions) {
      expect(p.emode).toBe(1);
      const hf = openingHealthFactor(p, scenario.assets, { categories: scenario.emodeCategories, aave: 'v3.6' })!;
      expect(hf).toBeGreaterThanOrEqual(1.01);
      expect(hf).toBeLessThan(1.021);
    }
  });

  it.each<[string, unknown, RegExp]>([
    ['a borrower in an undefined category', withEMode('v3.6', CATEGORY, { emode: 2 }), /borrowers\[0\]\.emode: eMode category 2 is not defined under "emodeCategories"/],
    ['debt the category does not let borrow', withEMode('v3.6', { ...CATEGORY, borrowable: ['WETH'] }), /borrowers\[0\]\.emode: WBTC is not borrowable in eMode category 1 \(ETH\/BTC\)/],
    ['a category id out of range', { ...withEMode('v3.6'), emodeCategories: { '256': CATEGORY } }, /emodeCategories\.256: eMode category ids are 1 to 255/],
    ['a category LT × bonus above 100 %', withEMode('v3.6', { ...CATEGORY, liquidationBonusBps: 11500 }), /emodeCategories\.1\.liquidationBonusBps: liquidationThresholdBps × liquidationBonusBps must not exceed 100%/],
    ['a price source on a liquid-eMode Pool', withEMode('v3.6', { ...CATEGORY, priceSource: 'WETH' }), /emodeCategories\.1\.priceSource: only Aave V3\.0–3\.1 categories have a price source/],
    ['different collateral and borrowable lists on V3.0', withEMode('v3.0', { ...CATEGORY, borrowable: ['WBTC'] }), /emodeCategories\.1\.borrowable: on Aave V3\.0 a category's assets are collateral and borrowable alike/],
    ['a V3.0 category LT not above a member\'s', withEMode('v3.0', { ...CATEGORY, ltvBps: 7000, liquidationThresholdBps: 8000 }), /emodeCategories\.1\.liquidationThresholdBps: must exceed WETH's liquidationThresholdBps \(8250\)/],
    ['a V3.0 category LTV not above a member\'s', withEMode('v3.0', { ...CATEGORY, ltvBps: 8000 }), /emodeCategories\.1\.ltvBps: must exceed WETH's ltvBps \(8000\)/],
    ['an asset in two V3.0 categories', { ...withEMode('v3.0'), emodeCategories: { '1': CATEGORY, '2': { ...CATEGORY, label: 'again' } } }, /emodeCategories\.2\.collateral: WETH is already in category 1/],
    ['a category asset not listed', withEMode('v3.6', { ...CATEGORY, collateral: ['WETH', 'WBTC', 'USDC'], borrowable: ['WBTC'] }), /emodeCategories\.1\.collateral\[2\]: asset USDC is not listed/],
  ])('refuses %s, naming the field', (_case, input, message) => {
    const scenario = structuredClone(input) as { assets: Record<string, unknown> };
    // The unlisted-asset case drops USDC from the assets.
    if (/not listed/.test(message.source)) delete scenario.assets.USDC;
    expect(problems(scenario)).toMatch(message);
  });
});
