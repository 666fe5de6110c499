/**
 * How much debt to repay on one (collateral, debt) pair. Every strategy answers with the exact plans to send,
 * in order, or the reason there is nothing to send; none of them ever returns a plan the Pool would refuse.
 *
 * - `max` (this file): as much as the close factor and the collateral allow (`debtToCover = type(uint256).max`,
 *   which stays right when interest accrues before the transaction lands). On v3.3+ a max liquidation capped
 *   at 50 % can leave under MIN_LEFTOVER_BASE of collateral (MustNotLeaveDust): it then backs off to the
 *   largest repay that leaves at least that much.
 * - `target-health` (target-health-sizing.ts): the smallest repay that lifts HF to a target.
 * - `two-step` (two-step-sizing.ts): Qin et al.'s two liquidations that together beat one max liquidation.
 * - `best` (best-sizing.ts): all of the above (and a chunk within a price-impact budget) priced with real quotes
 *   by the worker, the most profitable sent; on its own it sizes like `max`.
 */
import type { LiquidationPair } from './close-factor';
import { type LiquidationPlan, type LiquidationSkipReason, planLiquidation } from './liquidation';
import { MAX_UINT256 } from './math';
import type { UserPosition } from './position';
import { largestRepayWhere, passesDustRule, predictAt, requestFor, type SizingContext } from './repay-search';

export type SizingStrategyName = 'max' | 'target-health' | 'two-step' | 'best';

export type SizingSkipReason = LiquidationSkipReason | 'target-health-unreachable';

export type SizingOutcome =
  | { kind: 'liquidate'; strategy: SizingStrategyName; steps: readonly [LiquidationPlan, ...LiquidationPlan[]] }
  | { kind: 'skip'; strategy: SizingStrategyName; reason: SizingSkipReason };

export interface SizingStrategy {
  readonly name: SizingStrategyName;
  size(position: UserPosition, pair: LiquidationPair, context?: SizingContext): SizingOutcome;
}

/** The largest liquidation the Pool accepts on this pair (see the file comment). */
export function sizeMax(position: UserPosition, pair: LiquidationPair, context: SizingContext = {}): SizingOutcome {
  const outcome = planLiquidation(position, requestFor(pair, MAX_UINT256, context));
  if (outcome.kind === 'liquidate') return { kind: 'liquidate', strategy: 'max', steps: [outcome.plan] };
  if (outcome.reason !== 'must-not-leave-dust') return { kind: 'skip', strategy: 'max', reason: outcome.reason };

  // Leftovers shrink as the repay grows, so the sizes the dust rule accepts (short of a full close, which
  // the close factor forbids here) are exactly [1, largest].
  const largest = largestRepayWhere(1n, outcome.refusedPlan.maxLiquidatableDebtUnits, (repayUnits) =>
    passesDustRule(predictAt(position, pair, repayUnits, context)),
  );
  if (largest.kind === 'none') return { kind: 'skip', strategy: 'max', reason: 'must-not-leave-dust' };
  const backedOff = planLiquidation(position, requestFor(pair, largest.repayUnits, context));
  if (backedOff.kind !== 'liquidate') return { kind: 'skip', strategy: 'max', reason: backedOff.reason };
  return { kind: 'liquidate', strategy: 'max', steps: [backedOffForDust(backedOff.plan)] };
}

/**
 * A plan sized down from a larger repay the dust rule refuses: what limited it is the rule, not the amount asked
 * (which sizing chose as the largest the rule accepts).
 */
export function backedOffForDust(plan: LiquidationPlan): LiquidationPlan {
  return { ...plan, limitedBy: 'dust-rule' };
}

export const maxSizing: SizingStrategy = { name: 'max', size: sizeMax };
