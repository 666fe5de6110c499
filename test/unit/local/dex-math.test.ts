/**
 * The local DEX's pure parts: square roots, oracle prices as sqrtPriceX96, full-range ticks, the input that moves
 * a pool to a price, path encoding and pair names. Expected values are worked out by hand in the comments.
 */
import { ASSET_SYMBOLS } from '../../../local/world/scenario';
import { pairName, parsePair } from '../../../local/world/dex/pairs';
import { encodeV3Path } from '../../../local/world/dex/path';
import { fullRangeTicks, isqrt, Q96, sqrtPriceX96FromPrices, swapInputToReachPrice } from '../../../local/world/dex/price-math';

describe('isqrt', () => {
  it.each([
    [0n, 0n],
    [1n, 1n],
    [3n, 1n],
    [4n, 2n],
    [99n, 9n],
    [100n, 10n],
    [(2n ** 100n + 7n) ** 2n, 2n ** 100n + 7n],
    [(2n ** 100n + 7n) ** 2n - 1n, 2n ** 100n + 6n],
  ])('floor(√%s) = %s', (n, root) => {
    expect(isqrt(n)).toBe(root);
  });
});

describe('sqrtPriceX96FromPrices', () => {
  it('puts WETH (token0, 18 decimals) at $3,000 against USDC (token1, 6 decimals) at √(3000e6 / 1e18) · 2^96', () => {
    // 3000 USDC per WETH = 3000e6 raw per 1e18 raw = 3e-9; √ = 5.4772255750516e-5; × 2^96 = 4.33950517987478e24.
    const sqrtPriceX96 = sqrtPriceX96FromPrices({ priceBase8: 3000n * 10n ** 8n, decimals: 18 }, { priceBase8: 10n ** 8n, decimals: 6 });
    expect(Number(sqrtPriceX96) / 4.33950517987478e24).toBeCloseTo(1, 12);
  });

  it('inverts the price when the tokens swap places', () => {
    // WETH per USDC: 1e18 raw / 3000e6 raw = 333,333,333.33…; √ = 18257.4185835.
    const sqrtPriceX96 = sqrtPriceX96FromPrices({ priceBase8: 10n ** 8n, decimals: 6 }, { priceBase8: 3000n * 10n ** 8n, decimals: 18 });
    expect(Number(sqrtPriceX96) / (Math.sqrt(1e18 / 3000e6) * 2 ** 96)).toBeCloseTo(1, 12);
  });

  it('rejects a price a pool cannot hold', () => {
    // 1e-50 raw: √ = 1e-25, below the pool's lowest price 1.0001^-887272 ≈ 2.9e-39 (√ ≈ 5.4e-20).
    expect(() => sqrtPriceX96FromPrices({ priceBase8: 1n, decimals: 30 }, { priceBase8: 10n ** 20n, decimals: 0 })).toThrow(
      /outside the range a Uniswap V3 pool can hold/,
    );
  });
});

describe('fullRangeTicks', () => {
  it.each([
    [1, 887272],
    [10, 887270],
    [60, 887220],
    [200, 887200],
  ])('spacing %s spans ±%s', (spacing, bound) => {
    expect(fullRangeTicks(spacing)).toEqual({ tickLower: -bound, tickUpper: bound });
  });
});

describe('swapInputToReachPrice', () => {
  it('prices a rise by token1 in: L·Δ√P, plus the fee on the input', () => {
    // L = 1e18, √P 1 → 2: Δy = 1e18; fee 0.3 %: 1e18 × 3000 / 997000 = 3009027081243731.19 → 3009027081243732 (up).
    expect(swapInputToReachPrice(10n ** 18n, Q96, 2n * Q96, 3000)).toEqual({ kind: 'swap', zeroForOne: false, amountIn: 10n ** 18n + 3009027081243732n });
  });

  it('prices a fall by token0 in: L·(1/√P′ − 1/√P), plus the fee on the input', () => {
    // L = 1e18, √P 2 → 1: Δx = 1e18 × (1 − 1/2) = 5e17; fee 0.05 %: 5e17 × 500 / 999500 = 250125062531265.6 → …266.
    expect(swapInputToReachPrice(10n ** 18n, 2n * Q96, Q96, 500)).toEqual({ kind: 'swap', zeroForOne: true, amountIn: 5n * 10n ** 17n + 250125062531266n });
  });

  it('needs nothing at the target', () => {
    expect(swapInputToReachPrice(10n ** 18n, Q96, Q96, 500)).toEqual({ kind: 'at-target' });
  });
});

describe('encodeV3Path', () => {
  const A = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
  const B = '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0';
  const C = '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9';

  it('packs tokenIn | fee (uint24) | tokenOut without padding', () => {
    // 3000 = 0x000bb8, 500 = 0x0001f4.
    expect(encodeV3Path([A, B], [3000])).toBe(`${A}000bb8${B.slice(2)}`.toLowerCase());
    expect(encodeV3Path([A, B, C], [3000, 500])).toBe(`${A}000bb8${B.slice(2)}0001f4${C.slice(2)}`.toLowerCase());
  });

  it('refuses a fee count that does not fit the tokens, and a fee that is not a tier', () => {
    expect(() => encodeV3Path([A, B], [])).toThrow('a path through 2 tokens needs 1 fees, got 0');
    expect(() => encodeV3Path([A], [])).toThrow('a path needs at least two tokens, got 1');
    expect(() => encodeV3Path([A, B], [30])).toThrow('fees[0] = 30 is not a Uniswap V3 fee tier');
  });
});

describe('pair names', () => {
  it.each([
    ['USDC', 'WETH', 'WETH/USDC'],
    ['WETH', 'USDC', 'WETH/USDC'],
    ['USDC', 'WBTC', 'WBTC/USDC'],
    ['WETH', 'WBTC', 'WBTC/WETH'],
  ] as const)('names %s + %s %s', (a, b, name) => {
    expect(pairName(a, b)).toBe(name);
  });

  it('reads either order and explains what is wrong', () => {
    expect(parsePair('USDC/WETH', ASSET_SYMBOLS)).toEqual({ kind: 'pair', assets: ['USDC', 'WETH'] });
    expect(parsePair('USDC-WETH', ASSET_SYMBOLS)).toEqual({ kind: 'invalid', reason: 'a pair is written "A/B", e.g. "WETH/USDC"' });
    expect(parsePair('USDC/USDC', ASSET_SYMBOLS)).toEqual({ kind: 'invalid', reason: 'a pair needs two different assets' });
  });
});
