/**
 * `target-health` sizing: the smallest repay whose predicted health factor after is at least the target
 * (e.g. 1.05e18), within what the close factor allows. Bonus-for-repay liquidations raise HF when
 * LT × bonus < HF; when even the largest allowed repay stays below the target (deep underwater positions,
 * or LT × bonus ≥ 1) the target is unreachable and the strategy falls back to `max` (or skips, if asked).
 * When the exact size would break the v3.3+ dust rule, only a larger liquidation can keep the target, so it
 * sends the `max` plan instead.
 */
import type { LiquidationPair } from './close-factor';
import { planLiquidation } from './liquidation';
import { MAX_UINT256 } from './math';
import type { UserPosition } from './position';
import { predictAt, requestFor, smallestRepayWhere, type SizingContext } from './repay-search';
import { sizeMax, type SizingOutcome, type SizingStrategy } from './sizing';

export interface TargetHealthOptions {
  /** Health factor to reach, WAD (1.05e18 = 1.05). */
  targetHealthFactorWad: bigint;
  /** What to do when no allowed repay reaches the target: liquidate the maximum (default) or skip. */
  whenUnreachable?: 'max' | 'skip';
}

export function targetHealthSizing(options: TargetHealthOptions): SizingStrategy {
  if (options.targetHealthFactorWad <= 0n) {
    throw new RangeError(`targetHealthFactorWad must be positive, got ${options.targetHealthFactorWad}`);
  }
  const whenUnreachable = options.whenUnreachable ?? 'max';

  const size = (position: UserPosition, pair: LiquidationPair, context: SizingContext = {}): SizingOutcome => {
    const asMax = (): SizingOutcome => {
      const max = sizeMax(position, pair, context);
      return { ...max, strategy: 'target-health' };
    };
    const atMax = predictAt(position, pair, MAX_UINT256, context);
    if (atMax.kind === 'unpredictable') return asMax();
    const capUnits = atMax.plan.maxLiquidatableDebtUnits;

    const reachesTarget = (repayUnits: bigint) => {
      const predicted = predictAt(position, pair, repayUnits, context);
      return predicted.kind === 'predicted' && predicted.plan.healthFactorAfterWad >= options.targetHealthFactorWad;
    };
    const smallest = smallestRepayWhere(1n, capUnits, reachesTarget);
    if (smallest.kind === 'none') {
      return whenUnreachable === 'max' ? asMax() : { kind: 'skip', strategy: 'target-health', reason: 'target-health-unreachable' };
    }
    const outcome = planLiquidation(position, requestFor(pair, smallest.repayUnits, context));
    if (outcome.kind === 'liquidate') return { kind: 'liquidate', strategy: 'target-health', steps: [outcome.plan] };
    return asMax();
  };

  return { name: 'target-health', size };
}
