/**
 * Searching the `debtToCover` axis: the sizing strategies ask "the largest repay that still …" or "the smallest
 * repay that already …" and answer it by bisection over exact plans, so every candidate they consider is a
 * plan the Pool would compute identically. Each predicate must be monotone over the searched range
 * (true then false for `largest…`, false then true for `smallest…`); the collateral seized, the leftovers and,
 * for k = LT × bonus < HF, the health factor after are all monotone in the repaid debt.
 */
import { type LiquidationOutcome, type LiquidationPlan, type LiquidationRequest, planLiquidation } from './liquidation';
import type { LiquidationPair } from './close-factor';
import type { UserPosition } from './position';

export type RepaySearchResult = { kind: 'found'; repayUnits: bigint } | { kind: 'none' };

/** Largest x in [lo, hi] with `holds(x)`, for a predicate that is true up to some x and false after. */
export function largestRepayWhere(lo: bigint, hi: bigint, holds: (repayUnits: bigint) => boolean): RepaySearchResult {
  if (lo > hi || !holds(lo)) return { kind: 'none' };
  if (holds(hi)) return { kind: 'found', repayUnits: hi };
  let good = lo;
  let bad = hi;
  while (bad - good > 1n) {
    const mid = good + (bad - good) / 2n;
    if (holds(mid)) good = mid;
    else bad = mid;
  }
  return { kind: 'found', repayUnits: good };
}

/** Smallest x in [lo, hi] with `holds(x)`, for a predicate that is false up to some x and true after. */
export function smallestRepayWhere(lo: bigint, hi: bigint, holds: (repayUnits: bigint) => boolean): RepaySearchResult {
  if (lo > hi || !holds(hi)) return { kind: 'none' };
  if (holds(lo)) return { kind: 'found', repayUnits: lo };
  let bad = lo;
  let good = hi;
  while (good - bad > 1n) {
    const mid = bad + (good - bad) / 2n;
    if (holds(mid)) good = mid;
    else bad = mid;
  }
  return { kind: 'found', repayUnits: good };
}

/** Options every sizing strategy passes through to planLiquidation. */
export interface SizingContext {
  liquidator?: string;
  receiveAToken?: boolean;
}

export function requestFor(pair: LiquidationPair, debtToCoverUnits: bigint, context: SizingContext): LiquidationRequest {
  return { collateralAsset: pair.collateralAsset, debtAsset: pair.debtAsset, debtToCoverUnits, ...context };
}

/**
 * The plan a liquidation would follow, whether or not the Pool lets it through: searches need the health
 * factor and leftovers of refused sizes too.
 */
export type PredictedLiquidation =
  | { kind: 'predicted'; plan: LiquidationPlan; verdict: 'allowed' | 'must-not-leave-dust' | 'invalid-burn-amount' }
  | { kind: 'unpredictable' };

export function predictLiquidation(outcome: LiquidationOutcome): PredictedLiquidation {
  if (outcome.kind === 'liquidate') return { kind: 'predicted', plan: outcome.plan, verdict: 'allowed' };
  if (outcome.reason === 'must-not-leave-dust' || outcome.reason === 'invalid-burn-amount') {
    return { kind: 'predicted', plan: outcome.refusedPlan, verdict: outcome.reason };
  }
  return { kind: 'unpredictable' };
}

/** Whether the dust rule lets this size through (it may still fail for other reasons). */
export function passesDustRule(predicted: PredictedLiquidation): boolean {
  return predicted.kind === 'predicted' && predicted.verdict !== 'must-not-leave-dust';
}

export function predictAt(position: UserPosition, pair: LiquidationPair, repayUnits: bigint, context: SizingContext): PredictedLiquidation {
  return predictLiquidation(planLiquidation(position, requestFor(pair, repayUnits, context)));
}
