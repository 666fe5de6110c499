/**
 * Uniswap V3 fee tiers, in the pool's own unit: hundredths of a basis point (`fee` / 1e6 of the input), so
 * 500 = 0.05 %, 3000 = 0.3 %. Each tier has a fixed tick spacing (UniswapV3Factory constructor and
 * `enableFeeAmount(100, 1)`, which governance added on every chain after launch).
 */
export const FEE_TIERS = [100, 500, 3000, 10000] as const;
export type FeeTier = (typeof FEE_TIERS)[number];

/** Tick spacing per fee tier (UniswapV3Factory.feeAmountTickSpacing). */
export const TICK_SPACING: Record<FeeTier, number> = { 100: 1, 500: 10, 3000: 60, 10000: 200 };

/** The denominator of `fee`: a pool keeps `amountIn × fee / 1e6` of every swap's input. */
export const FEE_DENOMINATOR = 1_000_000n;

export function isFeeTier(value: unknown): value is FeeTier {
  return typeof value === 'number' && (FEE_TIERS as readonly number[]).includes(value);
}
