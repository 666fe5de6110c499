import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dexPoolListings, loadScenario, openingHealthFactor, parseScenario, ScenarioError } from '../../../local/world/scenario';

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
    ['unknown asset under assets', (s: Record<string, unknown>) => ((s.assets as Record<string, unknown>).DOGE = ASSETS.WETH), /assets\.DOGE: unknown asset/],
    ['unknown collateral asset', (s: Record<string, unknown>) => (s.borrowers = [{ collateral: { DOGE: '1' }, debt: { USDC: '1' } }]), /borrowers\[0\]\.collateral\.DOGE: unknown asset/],
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

  it.each(['default', 'small-positions', 'dust-edge', 'crash-30', 'large', 'thin-pool'])('ships a valid %s scenario', (name) => {
    const scenario = loadScenario(name);
    expect(scenario.positions.length).toBeGreaterThan(0);
    for (const p of scenario.positions) expect(openingHealthFactor(p, scenario.assets)).toBeGreaterThanOrEqual(1);
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
    ['a pair with an unknown asset', withDex({ pools: { 'DOGE/USDC': { depthUsd: 1 } } }), /dex\.pools\.DOGE\/USDC: unknown asset DOGE \(expected one of WETH, USDC, WBTC\)/],
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

  it.each(['default', 'small-positions', 'dust-edge', 'crash-30', 'large'])(
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
