/**
 * How far selling an amount moves the market's price, measured from swap quotes alone (no pool state, no model
 * of the pool's liquidity): the marginal price the route pays for the LAST units of the sale, against the
 * marginal price it pays for the first units before anything is sold.
 *
 *   reference   = out(δ) / δ                                a small sale before ours (δ = probeUnits(x))
 *   marginal(x) = (out(x) − out(x − δ)) / δ                  the last δ units of a sale of x
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
 * the impact errs high (safe). Both windows are averages over δ-wide slices, each reading the price a half slice
 * inside the sale, so the move between them is extended to the whole sale (saleImpactBps); rounding is bounded
 * against the sale. Fee tiers differ between routes: a reference taken on a cheaper route (a small
 * sale picks the low-fee pool, a large one the deep pool) makes the measured impact higher than the move of the
 * pool the sale used — again the safe side.
 */
import { PERCENTAGE_FACTOR } from './math';

/** δ = amount / PROBE_DIVISOR: a probe of 1 bp of the amount … */
export const PROBE_DIVISOR = 10_000n;
/**
 * … but at least this many units of the token sold: a Uniswap V3 swap rounds its fee up by up to one unit of input
 * (0.3 % of 79 satoshi is 0.24, charged as 1: a 1 % error) and its output down by one unit, and the bounds below
 * charge both, so a slice must be large enough for two units to be negligible (2 in 100,000 is 0.2 bps).
 */
export const MIN_PROBE_UNITS = 100_000n;

/** The three quotes of a sale's measure, at one block (token units). */
export interface SaleQuotes {
  /** The sale: `amountUnits` in, `saleOutUnits` out. */
  amountUnits: bigint;
  saleOutUnits: bigint;
  /** The slice width δ = probeUnits(amountUnits). */
  probeUnits: bigint;
  /** A sale of δ alone (the reference price). */
  referenceOutUnits: bigint;
  /** A sale of amount − δ (the marginal slice is what the last δ adds). */
  beforeSliceOutUnits: bigint;
}

/** The slice width for a sale of `amountUnits`: 1 bp of it, at least MIN_PROBE_UNITS, at most a quarter of it. */
export function probeUnits(amountUnits: bigint): bigint {
  if (amountUnits <= 0n) throw new RangeError(`probe of a non-positive amount ${amountUnits}`);
  const wanted = amountUnits / PROBE_DIVISOR > MIN_PROBE_UNITS ? amountUnits / PROBE_DIVISOR : MIN_PROBE_UNITS;
  const quarter = amountUnits / 4n;
  return wanted < quarter ? wanted : quarter > 0n ? quarter : 1n;
}

/**
 * The price move a sale causes (bps, rounded up, at most 10,000), from its three quotes:
 *
 *   reference ≤ (referenceOut + 1) / (δ − 1)                 output floored, fee rounded up by ≤ 1 unit of input
 *   marginal  ≥ (saleOut − beforeSliceOut − 1) / (δ + 1)     a difference of two such quotes
 *   raw       = 1 − marginal / reference                      the move between the windows' midpoints, δ/2 and x − δ/2
 *   impact    = raw × x / (x − δ)                             extended to [0, x] (first order: the price falls about
 *                                                            linearly in the amount over a sale within one range)
 *
 * Both bounds err towards a larger impact; a slice narrower than 2 units cannot be measured (10,000: any budget refuses it).
 */
export function saleImpactBps(quotes: SaleQuotes): bigint {
  const { amountUnits: x, probeUnits: delta } = quotes;
  if (delta !== probeUnits(x)) throw new RangeError(`the slice of a sale of ${x} is ${probeUnits(x)}, got ${delta}`);
  if (quotes.referenceOutUnits <= 0n) throw new RangeError('the reference quote must buy a positive amount');
  if (delta < 2n || x <= delta) return PERCENTAGE_FACTOR;
  const sliceOut = quotes.saleOutUnits - quotes.beforeSliceOutUnits;
  const marginalNum = sliceOut > 1n ? sliceOut - 1n : 0n;
  // reference = refNum / refDen, marginal = marginalNum / marginalDen.
  const refNum = quotes.referenceOutUnits + 1n;
  const refDen = delta - 1n;
  const marginalDen = delta + 1n;
  const referenceScaled = refNum * marginalDen;
  const marginalScaled = marginalNum * refDen;
  if (marginalScaled >= referenceScaled) return 0n;
  const numerator = (referenceScaled - marginalScaled) * PERCENTAGE_FACTOR * x;
  const denominator = referenceScaled * (x - delta);
  const bps = (numerator + denominator - 1n) / denominator;
  return bps < PERCENTAGE_FACTOR ? bps : PERCENTAGE_FACTOR;
}
