/**
 * Incremental reduction: when selling all the collateral of a liquidation would move the market's price by more
 * than a budget (price-impact.ts measures it from quotes), liquidate a chunk now and leave the rest for later,
 * after arbitrage has brought the pool back. Every chunk is an exact plan (planLiquidation at that repay), so its
 * collateral, protocol fee and leftovers are the Pool's own to the wei.
 *
 * Which repays can be a chunk. A chunk repays strictly less than the one-shot plan. On v3.3+ a liquidation that
 * neither closes the debt reserve nor takes the whole collateral reserve must leave at least MIN_LEFTOVER_BASE
 * ($1,000) of both (dust-rule.ts); short of those closes the leftovers shrink as the repay grows, so the repays the
 * rule accepts below the one-shot's are exactly [1, largest]. Collateral seized, and so the sale and its price
 * impact, never decrease with the repay: the repays within a budget are [1, x] too, and the chunk is the largest
 * repay in both.
 *
 * The search over the repay is a bisection (repay-search.ts) run by the caller, since each probe needs a quote;
 * it stops once the bracket is within 1/CHUNK_RESOLUTION of its upper end (a chunk 0.1 % smaller than the
 * largest costs nothing: the rest is liquidated anyway), so a search takes ~10–40 probes, not one per unit.
 */
import type { LiquidationPair } from './close-factor';
import type { LiquidationPlan } from './liquidation';
import type { UserPosition } from './position';
import { largestRepayWhere, passesDustRule, predictAt, type SizingContext } from './repay-search';

/** A chunk search stops when hi − lo ≤ hi / CHUNK_RESOLUTION. */
export const CHUNK_RESOLUTION = 1_000n;

/** What a chunked plan carries so the rest can be liquidated later. */
export interface ChunkMarker {
  /** Debt the one-shot plan would also have repaid, still owed after this chunk (debt-asset units). */
  restRepayUnits: bigint;
  /** The chunk's own sale, measured (bps of price move, rounded up). */
  priceImpactBps: bigint;
  /** The budget it was sized to. */
  maxPriceImpactBps: bigint;
  /** What selling the one-shot plan's collateral would have moved the price (bps). */
  fullPriceImpactBps: bigint;
}

export type ChunkRange =
  /** Chunks may repay any amount in [1, hiRepayUnits] (dust rule included; each is an allowed plan's repay). */
  | { kind: 'range'; hiRepayUnits: bigint }
  /** No smaller liquidation is allowed: the one-shot plan is the only one (dust rule, or nothing to reduce). */
  | { kind: 'none' };

function pairOf(plan: LiquidationPlan): LiquidationPair {
  return { collateralAsset: plan.collateralAsset, debtAsset: plan.debtAsset };
}

/** The exact plan repaying `repayUnits` on the one-shot plan's pair, if the Pool allows it. */
export function planChunk(position: UserPosition, fullPlan: LiquidationPlan, repayUnits: bigint, context: SizingContext = {}): LiquidationPlan | undefined {
  if (repayUnits <= 0n) return undefined;
  const predicted = predictAt(position, pairOf(fullPlan), repayUnits, context);
  return predicted.kind === 'predicted' && predicted.verdict === 'allowed' ? predicted.plan : undefined;
}

/** The repays a chunk of `fullPlan` may take (see the file comment). */
export function chunkRange(position: UserPosition, fullPlan: LiquidationPlan, context: SizingContext = {}): ChunkRange {
  const below = fullPlan.debtRepaidUnits - 1n;
  if (below < 1n) return { kind: 'none' };
  // The dust rule is monotone below the one-shot repay (tiny repays may still be refused for burning nothing).
  const largest = largestRepayWhere(1n, below, (repayUnits) => passesDustRule(predictAt(position, pairOf(fullPlan), repayUnits, context)));
  if (largest.kind === 'none' || !planChunk(position, fullPlan, largest.repayUnits, context)) return { kind: 'none' };
  return { kind: 'range', hiRepayUnits: largest.repayUnits };
}

/** True once a bisection bracket [lo, hi] is narrow enough to stop (1/CHUNK_RESOLUTION of hi, or adjacent). */
export function chunkSearchDone(loRepayUnits: bigint, hiRepayUnits: bigint): boolean {
  const width = hiRepayUnits - loRepayUnits;
  return width <= 1n || width * CHUNK_RESOLUTION <= hiRepayUnits;
}

/** The marker of `chunk`, a reduction of `fullPlan` to `maxPriceImpactBps`. */
export function chunkMarkerOf(fullPlan: LiquidationPlan, chunk: LiquidationPlan, impact: { chunkBps: bigint; fullBps: bigint; maxBps: bigint }): ChunkMarker {
  if (chunk.debtRepaidUnits >= fullPlan.debtRepaidUnits) {
    throw new RangeError(`a chunk repays less than the plan it reduces: ${chunk.debtRepaidUnits} ≥ ${fullPlan.debtRepaidUnits}`);
  }
  return {
    restRepayUnits: fullPlan.debtRepaidUnits - chunk.debtRepaidUnits,
    priceImpactBps: impact.chunkBps,
    maxPriceImpactBps: impact.maxBps,
    fullPriceImpactBps: impact.fullBps,
  };
}
