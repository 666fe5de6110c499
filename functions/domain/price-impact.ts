/**
 * How far selling an amount moves the market's price, measured from swap quotes alone (no pool state, no model
 * of the pool's liquidity): the marginal price the route pays for the LAST units of the sale, against the
 * marginal price it pays for the first units before anything is sold.
 *
 *   reference   = out(δ₀) / δ₀                              a small sale before ours (δ₀ = probeUnits(full sale))
 *   marginal(x) = (out(x) − out(x − δ)) / δ                  the last δ = probeUnits(x) units of a sale of x
 *   impact(x)   = 1 − marginal(x) / reference                what the next seller gets, relative to before: the
 *                                                            pool's price move (fees cancel: both sides pay them)
 *
 * Why marginal and not the sale's average price: a Uniswap V3 pool's spot price after a sale is its marginal
 * price at the end of the sale, and in one liquidity range the spot moves twice as far as the average price
 * (constant product: avg / p₀ = x / (x + Δx), p₁ / p₀ = (x / (x + Δx))²). A budget on the pool's move therefore
 * needs the marginal price; the average price would let the pool move about twice the budget.
 *
 * Why the backward difference out(x) − out(x − δ): `bestQuote` picks the best route for each amount. When the two
 * amounts pick different routes, best(x − δ) ≥ route(x − δ), so the measured marginal is at most the route's own:
 * the impact errs high (safe). Both windows are averages over δ-wide slices, so each reads the price a half
 * slice inside the sale: the measured move is short of the pool's by about impact × δ / (2x) ≤ impact / 20,000 —
 * 0.05 bps at a 1,000 bps move. Fee tiers differ between routes: a reference taken on a cheaper route (a small
 * sale picks the low-fee pool, a large one the deep pool) makes the measured impact higher than the move of the
 * pool the sale used — again the safe side.
 */
import { PERCENTAGE_FACTOR } from './math';

/** δ = amount / PROBE_DIVISOR: a probe of 1 bp of the amount (at least one unit). */
export const PROBE_DIVISOR = 10_000n;

/** An amount sold and what the route paid for it (token units on each side). */
export interface QuotedAmount {
  inUnits: bigint;
  outUnits: bigint;
}

/** The width of the slice whose price is read: 1 bp of `amountUnits`, at least one unit. */
export function probeUnits(amountUnits: bigint): bigint {
  if (amountUnits <= 0n) throw new RangeError(`probe of a non-positive amount ${amountUnits}`);
  const probe = amountUnits / PROBE_DIVISOR;
  return probe > 0n ? probe : 1n;
}

/**
 * 1 − (marginal.out / marginal.in) / (reference.out / reference.in), in bps, rounded UP (against the sale); 0 when
 * the marginal price is not below the reference (a sale that moves nothing, or a rounding of a tiny slice).
 *
 * Quotes are floored (QuoterV2 rounds outputs down), so the reference's exact output is below `out + 1` and the
 * slice's (a difference of two floored quotes) above `out − 1`: both bounds are taken, so the rounding of small
 * slices can only overstate the impact (1 unit in 100,000 is 0.1 bps).
 */
export function priceImpactBps(reference: QuotedAmount, marginal: QuotedAmount): bigint {
  if (reference.inUnits <= 0n || reference.outUnits <= 0n) throw new RangeError('the reference quote must sell and buy a positive amount');
  if (marginal.inUnits <= 0n || marginal.outUnits < 0n) throw new RangeError('the marginal slice must sell a positive amount');
  // reference price × marginal.in, and marginal.out × reference.in: the same scale.
  const referenceScaled = (reference.outUnits + 1n) * marginal.inUnits;
  const marginalScaled = (marginal.outUnits > 0n ? marginal.outUnits - 1n : 0n) * reference.inUnits;
  if (marginalScaled >= referenceScaled) return 0n;
  const shortfall = (referenceScaled - marginalScaled) * PERCENTAGE_FACTOR;
  return (shortfall + referenceScaled - 1n) / referenceScaled;
}

/** The slice of a sale of `amountUnits` whose price `priceImpactBps` reads: [amount − δ, amount]. */
export function marginalSlice(amountUnits: bigint, outAtAmountUnits: bigint, outBeforeSliceUnits: bigint): QuotedAmount {
  const delta = probeUnits(amountUnits);
  return { inUnits: delta, outUnits: outAtAmountUnits > outBeforeSliceUnits ? outAtAmountUnits - outBeforeSliceUnits : 0n };
}
