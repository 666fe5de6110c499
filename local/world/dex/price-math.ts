/**
 * Uniswap V3 price math the local DEX needs, in bigint. Prices of a pool are `sqrtPriceX96`: the square root of
 * (raw token1 per raw token0) as a Q64.96 fixed-point number, raw amounts being in each token's own decimals,
 * token0 the lower address (UniswapV3Pool.slot0, TickMath). Every rounding direction is stated.
 */
import { FEE_DENOMINATOR, type FeeTier } from './fee-tiers';

export const Q96 = 2n ** 96n;
/** TickMath.MIN_TICK / MAX_TICK: the price range of a pool, 1.0001^±887272. */
export const MAX_TICK = 887272;
/** TickMath.MIN_SQRT_RATIO / MAX_SQRT_RATIO: sqrt prices at the tick bounds (a price limit must lie inside). */
export const MIN_SQRT_RATIO = 4295128739n;
export const MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342n;

/** An asset's oracle price (USD, 8 decimals, as Aave's oracle reports it) and its token's decimals. */
export interface PricedToken {
  priceBase8: bigint;
  decimals: number;
}

/** floor(√n) by Newton's method. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new Error(`isqrt of a negative number ${n}`);
  if (n < 2n) return n;
  // Start above the root (2^⌈bits/2⌉ ≥ √n): Newton's iterates then decrease monotonically to ⌊√n⌋.
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) / 2n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * The sqrtPriceX96 at which a pool of (token0, token1) agrees with two oracle prices: raw token1 per raw token0
 * = (price0 / price1) × 10^decimals1 / 10^decimals0. Rounded down (one floor division, then a floor square root,
 * which together equal the floor of the exact square root).
 */
export function sqrtPriceX96FromPrices(token0: PricedToken, token1: PricedToken): bigint {
  if (token0.priceBase8 <= 0n || token1.priceBase8 <= 0n) throw new Error('oracle prices must be positive');
  const numerator = token0.priceBase8 * 10n ** BigInt(token1.decimals) * Q96 * Q96;
  const denominator = token1.priceBase8 * 10n ** BigInt(token0.decimals);
  const sqrtPriceX96 = isqrt(numerator / denominator);
  if (sqrtPriceX96 < MIN_SQRT_RATIO || sqrtPriceX96 >= MAX_SQRT_RATIO) {
    throw new Error(`price ratio ${token0.priceBase8}/${token1.priceBase8} is outside the range a Uniswap V3 pool can hold`);
  }
  return sqrtPriceX96;
}

/** The widest position a pool of this tick spacing accepts: ticks are multiples of the spacing inside ±MAX_TICK. */
export function fullRangeTicks(tickSpacing: number): { tickLower: number; tickUpper: number } {
  const tickUpper = Math.floor(MAX_TICK / tickSpacing) * tickSpacing;
  return { tickLower: -tickUpper, tickUpper };
}

/** Raw token amount worth `usd` whole dollars at an oracle price, rounded down. */
export function amountForUsd(usd: bigint, token: PricedToken): bigint {
  return (usd * 10n ** 8n * 10n ** BigInt(token.decimals)) / token.priceBase8;
}

const divUp = (a: bigint, b: bigint) => (a + b - 1n) / b;

/**
 * The input a swap needs to move a pool's price from `sqrtCurrentX96` to `sqrtTargetX96`, fee included, when
 * `liquidity` stays active over the whole way (true for full-range positions only; otherwise a lower bound).
 * Mirrors SqrtPriceMath.getAmount0Delta / getAmount1Delta (rounded up) and SwapMath.computeSwapStep's fee on
 * the input (amountIn × fee / (1e6 − fee), rounded up). A falling price sells token0 (`zeroForOne`).
 */
export function swapInputToReachPrice(
  liquidity: bigint,
  sqrtCurrentX96: bigint,
  sqrtTargetX96: bigint,
  fee: FeeTier,
): { kind: 'at-target' } | { kind: 'swap'; zeroForOne: boolean; amountIn: bigint } {
  if (sqrtTargetX96 === sqrtCurrentX96) return { kind: 'at-target' };
  const zeroForOne = sqrtTargetX96 < sqrtCurrentX96;
  const net = zeroForOne
    ? divUp(divUp(liquidity * Q96 * (sqrtCurrentX96 - sqrtTargetX96), sqrtCurrentX96), sqrtTargetX96)
    : divUp(liquidity * (sqrtTargetX96 - sqrtCurrentX96), Q96);
  const feeTier = BigInt(fee);
  return { kind: 'swap', zeroForOne, amountIn: net + divUp(net * feeTier, FEE_DENOMINATOR - feeTier) };
}
