/**
 * The local world's Uniswap V3 DEX, against the real contracts on anvil: a pool per pair at the oracle price with
 * the scenario's depth, QuoterV2 agreeing with SwapRouter02 to the wei, pools following the oracle after a shock
 * (in the same block), a pool moved alone, thin-pool's shallow pool, and the flash-loan settings a flash-loan
 * liquidation relies on (Aave v3.6 and V3.0). Expected values are computed here from the scenario and hand
 * formulas (constant-product price impact D / (D + X)), not from the world's own math.
 */
import { Contract, JsonRpcSigner, MaxUint256, parseUnits } from 'ethers';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { encodeV3Path, findPool } from '../../local/world/dex';
import { ASSET_DECIMALS, type AssetSymbol, loadScenario, type Scenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(180_000);

const FACTORY_ABI = ['function getPool(address tokenA, address tokenB, uint24 fee) view returns (address)'];
const POOL_ABI = [
  'function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16, uint16, uint16, uint8, bool)',
  'event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick)',
];
const QUOTER_ABI = [
  'function quoteExactInput(bytes path, uint256 amountIn) returns (uint256 amountOut, uint160[] sqrtPriceX96AfterList, uint32[] initializedTicksCrossedList, uint256 gasEstimate)',
];
const ROUTER_ABI = [
  'function exactInput((bytes path, address recipient, uint256 amountIn, uint256 amountOutMinimum) params) payable returns (uint256 amountOut)',
];
const ERC20_ABI = [
  'function mint(address to, uint256 amount)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function balanceOf(address owner) view returns (uint256)',
];
const FEED_ABI = ['event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)'];
const ORACLE_ABI = ['function getAssetPrice(address asset) view returns (uint256)'];
const AAVE_POOL_ABI = ['function FLASHLOAN_PREMIUM_TOTAL() view returns (uint128)'];
const DATA_PROVIDER_ABI = ['function getFlashLoanEnabled(address asset) view returns (bool)'];

/** anvil dev account 6: used by no role of the world, so its balances are the test's own. */
const TRADER = '0x976EA74026E726554dB657fA54763abd0C3a0aa9';

const usd = (n: number) => BigInt(Math.round(n * 1e8));

/** Price of token0 in token1, raw units, from a sqrtPriceX96 (float: the assertions allow 1e-4). */
function rawPriceFromSqrt(sqrtPriceX96: bigint): number {
  const sqrt = Number(sqrtPriceX96) / 2 ** 96;
  return sqrt * sqrt;
}

/** The raw token1-per-token0 price two USD prices imply. */
function rawPriceFromOracle(symbol0: AssetSymbol, symbol1: AssetSymbol, prices: Record<string, bigint>): number {
  return (Number(prices[symbol0]) / Number(prices[symbol1])) * 10 ** (ASSET_DECIMALS[symbol1] - ASSET_DECIMALS[symbol0]);
}

/** One tick is a factor 1.0001 of price: a pool placed at a price lies within it. */
const ONE_TICK = 1e-4;

function scenarioPrices(scenario: Scenario): Record<string, bigint> {
  return Object.fromEntries(Object.entries(scenario.assets).map(([asset, params]) => [asset, params!.priceUsd]));
}

async function token(world: World, symbol: AssetSymbol, runner: World['provider'] | JsonRpcSigner = world.provider): Promise<Contract> {
  return new Contract(world.info.tokens[symbol], ERC20_ABI, runner);
}

/** Mints `amount` of `symbol` to the trader and approves the router; resolves once mined. */
async function fundTrader(world: World, symbol: AssetSymbol, amount: bigint): Promise<void> {
  const trader = new JsonRpcSigner(world.provider, TRADER);
  const t = await token(world, symbol, trader);
  for (const tx of [await t.getFunction('mint').send(TRADER, amount), await t.getFunction('approve').send(world.info.dex.swapRouter, MaxUint256)]) {
    expect((await pollReceipt(world.provider, tx.hash)).status).toBe(1);
  }
}

async function quote(world: World, path: string, amountIn: bigint, blockTag: number): Promise<bigint> {
  const quoter = new Contract(world.info.dex.quoter, QUOTER_ABI, world.provider);
  const result = (await quoter.getFunction('quoteExactInput').staticCall(path, amountIn, { blockTag })) as { amountOut: bigint };
  return result.amountOut;
}

describe('local DEX on the default scenario', () => {
  const scenario = loadScenario('default');
  const prices = scenarioPrices(scenario);
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ scenario, services: false, blockTimeSec: 0 });
  });

  afterAll(async () => {
    await world?.stop();
  });

  async function expectPoolsAtOracle(pools = world.info.dex.pools, blockTag?: number): Promise<void> {
    for (const pool of pools) {
      const { sqrtPriceX96 } = await new Contract(pool.address, POOL_ABI, world.provider).slot0({ blockTag });
      const ratio = rawPriceFromSqrt(sqrtPriceX96) / rawPriceFromOracle(pool.symbol0, pool.symbol1, prices);
      expect({ pair: pool.pair, off: Math.abs(ratio - 1) < ONE_TICK }).toEqual({ pair: pool.pair, off: true });
    }
  }

  it('has one pool per pair of listed assets, with token0 the lower address, at the oracle price within a tick', async () => {
    const factory = new Contract(world.info.dex.factory, FACTORY_ABI, world.provider);
    const pairs: [AssetSymbol, AssetSymbol][] = [['WETH', 'USDC'], ['WBTC', 'USDC'], ['WBTC', 'WETH']];
    expect(world.info.dex.pools.map((p) => p.pair).sort()).toEqual(['WBTC/USDC', 'WBTC/WETH', 'WETH/USDC']);
    for (const [a, b] of pairs) {
      const pool = findPool(world.info.dex.pools, a, b)!;
      expect(pool.fee).toBe(500); // the default tier
      expect(await factory.getPool(world.info.tokens[a], world.info.tokens[b], 500)).toBe(pool.address);
      expect(BigInt(pool.token0) < BigInt(pool.token1)).toBe(true);
      expect([pool.token0, pool.token1].sort()).toEqual([world.info.tokens[a], world.info.tokens[b]].sort());
    }
    await expectPoolsAtOracle();
  });

  it('holds the default depth on each side: $50M of each token at the oracle price', async () => {
    for (const pool of world.info.dex.pools) {
      for (const symbol of [pool.symbol0, pool.symbol1]) {
        const balance = (await (await token(world, symbol)).balanceOf(pool.address)) as bigint;
        const valueUsd = (Number(balance) / 10 ** ASSET_DECIMALS[symbol]) * (Number(prices[symbol]) / 1e8);
        expect({ pool: pool.pair, symbol, near: Math.abs(valueUsd / 50_000_000 - 1) < 1e-4 }).toEqual({ pool: pool.pair, symbol, near: true });
      }
    }
  });

  it('QuoterV2 at a pinned block quotes what a SwapRouter02 exactInput then delivers, to the wei', async () => {
    const amountIn = parseUnits('2', ASSET_DECIMALS.WBTC);
    await fundTrader(world, 'WBTC', amountIn * 2n);
    const usdc = await token(world, 'USDC');
    const router = new Contract(world.info.dex.swapRouter, ROUTER_ABI, new JsonRpcSigner(world.provider, TRADER));
    const fee = (a: AssetSymbol, b: AssetSymbol) => findPool(world.info.dex.pools, a, b)!.fee;
    const t = world.info.tokens;
    const paths = {
      direct: encodeV3Path([t.WBTC, t.USDC], [fee('WBTC', 'USDC')]),
      viaWeth: encodeV3Path([t.WBTC, t.WETH, t.USDC], [fee('WBTC', 'WETH'), fee('WETH', 'USDC')]),
    };
    for (const [name, path] of Object.entries(paths)) {
      const block = await latestBlockNumber(world.provider);
      const quoted = await quote(world, path, amountIn, block);
      const before = (await usdc.balanceOf(TRADER, { blockTag: block })) as bigint;
      const tx = await router.getFunction('exactInput').send({ path, recipient: TRADER, amountIn, amountOutMinimum: quoted });
      const receipt = await pollReceipt(world.provider, tx.hash);
      expect(receipt.status).toBe(1);
      expect(receipt.blockNumber).toBe(block + 1);
      const delivered = ((await usdc.balanceOf(TRADER, { blockTag: receipt.blockNumber })) as bigint) - before;
      expect({ name, delivered }).toEqual({ name, delivered: quoted });
      // $120k into $50M a side: D / (D + X) = 0.99761 of the oracle price per hop, less its 0.05 % fee.
      const hops = name === 'direct' ? 1 : 2;
      const expectedUsdc = 2 * 60_000 * ((50e6 / (50e6 + 120e3)) * 0.9995) ** hops;
      expect(Math.abs(Number(delivered) / 1e6 / expectedUsdc - 1)).toBeLessThan(2e-4);
    }
  });

  it('setPrice moves every pool holding the asset to the new oracle price in the block of the oracle update', async () => {
    // The trades above moved the WBTC pools off the oracle: the shock's arbitrage must not care.
    const untouched = findPool(world.info.dex.pools, 'WBTC', 'USDC')!;
    const untouchedBefore = (await new Contract(untouched.address, POOL_ABI, world.provider).slot0()).sqrtPriceX96 as bigint;

    const block = await world.setPrice('WETH', usd(2550));
    prices.WETH = usd(2550);

    const feedLogs = await world.provider.getLogs({ address: world.info.feeds.WETH, fromBlock: block, toBlock: block });
    expect(feedLogs.map((l) => new Contract(world.info.feeds.WETH, FEED_ABI).interface.parseLog(l)!.args.current)).toEqual([usd(2550)]);
    const moved = world.info.dex.pools.filter((p) => p.pair.includes('WETH'));
    expect(moved.map((p) => p.pair).sort()).toEqual(['WBTC/WETH', 'WETH/USDC']);
    for (const pool of moved) {
      const swaps = await world.provider.getLogs({ address: pool.address, fromBlock: block, toBlock: block });
      expect({ pool: pool.pair, swaps: swaps.length }).toEqual({ pool: pool.pair, swaps: 1 });
    }
    await expectPoolsAtOracle(moved, block);
    expect((await new Contract(untouched.address, POOL_ABI, world.provider).slot0()).sqrtPriceX96).toBe(untouchedBefore);

    // A swap after the crash pays the crashed price: 1 WETH → USDC ≈ 2550 less the 0.05 % fee.
    const weth = parseUnits('1', 18);
    const out = await quote(world, encodeV3Path([world.info.tokens.WETH, world.info.tokens.USDC], [500]), weth, block);
    expect(Math.abs(Number(out) / 1e6 / (2550 * 0.9995) - 1)).toBeLessThan(1e-4);
  });

  it('movePool moves one pool off the oracle and leaves the oracle alone; the next setPrice brings it back', async () => {
    const pool = findPool(world.info.dex.pools, 'WETH', 'USDC')!;
    const { blockNumber, sqrtPriceX96 } = await world.movePool('USDC/WETH', { WETH: usd(2600), USDC: usd(1) });
    const wethPerUsdcAt2600 = rawPriceFromOracle(pool.symbol0, pool.symbol1, { ...prices, WETH: usd(2600) });
    expect(Math.abs(rawPriceFromSqrt(sqrtPriceX96) / wethPerUsdcAt2600 - 1)).toBeLessThan(ONE_TICK);
    const onChain = await new Contract(pool.address, POOL_ABI, world.provider).slot0({ blockTag: blockNumber });
    expect(onChain.sqrtPriceX96).toBe(sqrtPriceX96);
    const oracle = new Contract(world.info.market.aaveOracle, ORACLE_ABI, world.provider);
    expect(await oracle.getAssetPrice(world.info.tokens.WETH, { blockTag: blockNumber })).toBe(usd(2550));

    const back = await world.setPrice('WETH', usd(2550));
    await expectPoolsAtOracle([pool], back);
  });
});

describe('thin-pool scenario', () => {
  const scenario = loadScenario('thin-pool');
  let world: World;

  beforeAll(async () => {
    // Interval mining (1 s blocks), unlike the worlds above: setPrice must still land the oracle update and the
    // arbitrage in one block and give mining back.
    world = await startWorld({ scenario, services: false, blockTimeSec: 1 });
  });

  afterAll(async () => {
    await world?.stop();
  });

  /** The position with the most collateral value, and its largest collateral asset, from the scenario alone. */
  function largestPosition() {
    const valueUsd = (asset: string, amount: bigint) =>
      (Number(amount) / 10 ** ASSET_DECIMALS[asset as AssetSymbol]) * (Number(scenario.assets[asset as AssetSymbol]!.priceUsd) / 1e8);
    const ranked = scenario.positions
      .map((p) => ({ p, collateralUsd: Object.entries(p.collateral).reduce((sum, [a, amount]) => sum + valueUsd(a, amount!), 0) }))
      .sort((x, y) => y.collateralUsd - x.collateralUsd);
    const { p, collateralUsd } = ranked[0];
    const [asset, amount] = Object.entries(p.collateral).sort(([a, x], [b, y]) => valueUsd(b, y!) - valueUsd(a, x!))[0] as [AssetSymbol, bigint];
    const debtAsset = Object.keys(p.debt)[0] as AssetSymbol;
    return { collateralUsd, asset, amount, debtAsset };
  }

  it('opens its WBTC/USDC pool with $20k a side in the 0.3 % tier, shallower than the largest position', async () => {
    const pool = findPool(world.info.dex.pools, 'WBTC', 'USDC')!;
    expect(pool.fee).toBe(3000);
    const largest = largestPosition();
    expect(largest).toMatchObject({ asset: 'WBTC', debtAsset: 'USDC' });
    for (const symbol of ['WBTC', 'USDC'] as const) {
      const balance = (await (await token(world, symbol)).balanceOf(pool.address)) as bigint;
      const valueUsd = (Number(balance) / 10 ** ASSET_DECIMALS[symbol]) * (Number(scenario.assets[symbol]!.priceUsd) / 1e8);
      expect(Math.abs(valueUsd / 20_000 - 1)).toBeLessThan(1e-3);
      expect(largest.collateralUsd).toBeGreaterThan(10 * valueUsd);
    }
  });

  it('after the shocks, selling the largest position through the thin pool loses most of its value, through the deep pools < 2 %', async () => {
    let shockBlock = 0;
    for (const [asset, priceBase8] of scenario.shocks.flatMap((s) => Object.entries(s.prices) as [AssetSymbol, bigint][])) {
      shockBlock = await world.setPrice(asset, priceBase8);
      const feedLogs = await world.provider.getLogs({ address: world.info.feeds[asset], fromBlock: shockBlock, toBlock: shockBlock });
      expect(feedLogs).toHaveLength(1);
      for (const pool of world.info.dex.pools.filter((p) => p.symbol0 === asset || p.symbol1 === asset)) {
        const swaps = await world.provider.getLogs({ address: pool.address, fromBlock: shockBlock, toBlock: shockBlock });
        expect({ pool: pool.pair, swaps: swaps.length }).toEqual({ pool: pool.pair, swaps: 1 });
      }
    }
    // Interval mining resumed: a block follows within a few seconds without anyone sending anything.
    const deadline = Date.now() + 5_000;
    while ((await latestBlockNumber(world.provider)) <= shockBlock && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const block = await latestBlockNumber(world.provider);
    expect(block).toBeGreaterThan(shockBlock);
    const { asset, amount, debtAsset } = largestPosition();
    const priceAfter = (symbol: AssetSymbol) =>
      Number([...scenario.shocks].reverse().find((s) => s.prices[symbol] !== undefined)?.prices[symbol] ?? scenario.assets[symbol]!.priceUsd) / 1e8;
    const fairOut = (Number(amount) / 10 ** ASSET_DECIMALS[asset]) * (priceAfter(asset) / priceAfter(debtAsset));
    const t = world.info.tokens;
    const feeOf = (a: AssetSymbol, b: AssetSymbol) => findPool(world.info.dex.pools, a, b)!.fee;

    const direct = await quote(world, encodeV3Path([t[asset], t[debtAsset]], [feeOf(asset, debtAsset)]), amount, block);
    const viaWeth = await quote(world, encodeV3Path([t[asset], t.WETH, t[debtAsset]], [feeOf(asset, 'WETH'), feeOf('WETH', debtAsset)]), amount, block);
    const received = (out: bigint) => Number(out) / 10 ** ASSET_DECIMALS[debtAsset] / fairOut;

    // By hand: a full-range pool's USD value per side scales with √(price0 × price1), so after the shock a pool
    // opened with depth D at prices (p0, p1) has D × √(p0' p1' / (p0 p1)) a side; selling X USD through a hop
    // keeps (1 − fee) × D / (D + (1 − fee) X) of it.
    const depthAfter = (depthUsd: number, a: AssetSymbol, b: AssetSymbol) =>
      depthUsd * Math.sqrt((priceAfter(a) * priceAfter(b)) / ((Number(scenario.assets[a]!.priceUsd) / 1e8) * (Number(scenario.assets[b]!.priceUsd) / 1e8)));
    const hop = (depthUsd: number, xUsd: number, fee: number) => ((1 - fee) * depthUsd) / (depthUsd + (1 - fee) * xUsd);
    const soldUsd = fairOut * priceAfter(debtAsset);
    const expectedDirect = hop(depthAfter(20_000, asset, debtAsset), soldUsd, 0.003);
    const firstHop = hop(depthAfter(50e6, asset, 'WETH'), soldUsd, 0.0005);
    const expectedViaWeth = firstHop * hop(depthAfter(50e6, 'WETH', debtAsset), soldUsd * firstHop, 0.0005);

    // $250k into ~$18k a side keeps ~7 % of its value; through the deep pools ~98.6 % (they shrank with the crash).
    expect(expectedDirect).toBeLessThan(0.1);
    expect(Math.abs(received(direct) / expectedDirect - 1)).toBeLessThan(1e-3);
    expect(Math.abs(received(viaWeth) / expectedViaWeth - 1)).toBeLessThan(1e-3);
    expect(received(viaWeth)).toBeGreaterThan(0.98);
  });
});

describe.each([
  ['v3.6', 5n],
  ['v3.0', 9n],
] as const)('flash loans on Aave %s', (aave, premiumBps) => {
  const scenario: Scenario = { ...loadScenario('small-positions'), aave };
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ scenario, services: false, blockTimeSec: 0 });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it(`are enabled on every reserve with a ${premiumBps} bps premium, and the DEX is there too`, async () => {
    const pool = new Contract(world.info.market.pool, AAVE_POOL_ABI, world.provider);
    expect(await pool.FLASHLOAN_PREMIUM_TOTAL()).toBe(premiumBps);
    const dataProvider = new Contract(world.info.market.protocolDataProvider, DATA_PROVIDER_ABI, world.provider);
    for (const reserve of Object.values(world.info.market.reserves)) {
      expect({ reserve: reserve.symbol, enabled: await dataProvider.getFlashLoanEnabled(reserve.underlying) }).toEqual({ reserve: reserve.symbol, enabled: true });
    }
    expect(world.info.dex.pools).toHaveLength(3);
  });
});
