/**
 * The quote lens on the local Uniswap V3 of the many-reserves world (every asset paired with WETH): every route of
 * a sale in one eth_call, with the same answer as one eth_call per route (QuoterV2 itself), including routes that
 * have no pool, and a lens the node refuses (too little gas) falling back to per-route quotes, said once.
 */
import type { JsonRpcProvider } from 'ethers';
import { UniswapV3Quoter } from '../../functions/adapters/chain/uniswap-v3-quoter';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

/** Counts eth_calls made through `provider.send`. */
function countingCalls(provider: JsonRpcProvider): { provider: JsonRpcProvider; calls: () => number } {
  let calls = 0;
  const send = provider.send.bind(provider);
  const counted = Object.create(provider) as JsonRpcProvider;
  counted.send = (method: string, params: unknown[] | Record<string, unknown>) => {
    if (method === 'eth_call') calls++;
    return send(method, params);
  };
  return { provider: counted, calls: () => calls };
}

describe('quote lens on many-reserves', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ scenario: { ...loadScenario('many-reserves'), blockTimeSec: 0 }, blockTimeSec: 0, services: false });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('quotes every route of a sale in one eth_call, as QuoterV2 answers them one by one', async () => {
    const { tokens, dex } = world.info;
    // Direct at two tiers (only the 0.05 % pool exists for these pairs) and through WETH.
    const routes = [
      { tokens: [tokens.LINK, tokens.WETH, tokens.USDC], fees: [500, 500] },
      { tokens: [tokens.wstETH, tokens.WETH, tokens.DAI], fees: [500, 500] },
      { tokens: [tokens.PYUSD, tokens.WETH, tokens.USDC], fees: [500, 500] },
    ];
    const block = await latestBlockNumber(world.provider);
    const counting = countingCalls(world.provider);
    const lens = new UniswapV3Quoter(counting.provider, dex.quoter, { feeTiers: [500, 3000], routes });
    // Too little gas for the lens: the node refuses it and this quoter asks QuoterV2 route by route.
    const perRoute = new UniswapV3Quoter(world.provider, dex.quoter, { feeTiers: [500, 3000], routes, lensGasCap: 30_000n });
    const sales: [string, string, bigint][] = [
      [tokens.LINK, tokens.USDC, 1_000n * 10n ** 18n],
      [tokens.wstETH, tokens.DAI, 3n * 10n ** 18n],
      [tokens.PYUSD, tokens.USDC, 50_000n * 10n ** 6n],
      [tokens.wstETH, tokens.WETH, 10n ** 18n],
    ];
    let quoted = 0;
    for (const [tokenIn, tokenOut, amount] of sales) {
      const before = counting.calls();
      const [viaLens, oneByOne] = await Promise.all([lens.bestQuote(tokenIn, tokenOut, amount, block), perRoute.bestQuote(tokenIn, tokenOut, amount, block)]);
      expect(counting.calls() - before).toBe(1);
      expect(viaLens).toEqual(oneByOne);
      if (viaLens) quoted++;
    }
    // Every sale found a route (through WETH, or the direct WETH pool), none was only "no route".
    expect(quoted).toBe(sales.length);
  });

  it('falls back to one eth_call per route when the node refuses the lens call, and says so once', async () => {
    const { tokens, dex } = world.info;
    const block = await latestBlockNumber(world.provider);
    const fallbacks: string[] = [];
    const quoter = new UniswapV3Quoter(world.provider, dex.quoter, { feeTiers: [500], lensGasCap: 30_000n, onFallback: (reason) => fallbacks.push(reason) });
    const first = await quoter.bestQuote(tokens.wstETH, tokens.WETH, 10n ** 18n, block);
    const second = await quoter.bestQuote(tokens.wstETH, tokens.WETH, 2n * 10n ** 18n, block);
    expect(first?.amountOutUnits).toBeGreaterThan(0n);
    expect(second?.amountOutUnits).toBeGreaterThan(first!.amountOutUnits);
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatch(/quote lens refused .*one eth_call per route from now on/);
  });
});
