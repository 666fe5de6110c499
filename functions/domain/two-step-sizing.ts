/**
 * `two-step` sizing, after Qin et al., "An Empirical Study of DeFi Liquidations" (IMC 2021), optimal fixed
 * spread liquidation: a first liquidation small enough that the position stays liquidatable, then a max
 * liquidation of what is left, can repay (and earn the bonus on) more than one max liquidation.
 *
 * Derivation. Repaying a fraction f of the debt with bonus b removes f·D·(1+b) of collateral counted at LT, so
 * HF' = (HF − f·k) / (1 − f) with k = LT·(1+b). For k < 1, HF' < 1 ⟺ f < (1 − HF) / (1 − k). Two steps repay
 * T(x₁) = x₁ + CF₂(x₁)·(D − x₁), where CF₂ is the close factor the second step gets; T never decreases with x₁
 * (slope 1 − CF₂ ≥ 0), so the best first repay is the largest that keeps HF' < 1. Worked example: HF = 0.98909,
 * k = 0.84 → f < 0.068182 → x₁ < 7,500 of 110,000; then 50 % of 102,500.
 * Under v3.3+ the second close factor is not a constant: it is 100 % once the debt or collateral reserve is
 * worth under $2,000 (MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD), and 50 % of the *total* debt otherwise. Both
 * leftovers fall as x₁ grows, so the largest x₁ crosses the $2,000 line whenever any admissible x₁ does, and the
 * argument still holds — but the payoff changes: a $2,100 position that one max liquidation halves can be
 * closed entirely in two steps, while a position already under $2,000 is closed by one max liquidation and
 * two steps cannot beat it. When k ≥ 1 (liquidations lower HF) the largest x₁ is the cap itself.
 * The closed form only guides the search: the first step is found by bisection over exact plans (rounding,
 * collateral limits, dust rule — backing off when the first step would leave dust), and the two-step plan is
 * kept only if its gross gain beats one max liquidation by more than `minExtraGainBase` (the second
 * transaction's cost).
 */
import type { LiquidationPair } from './close-factor';
import { type LiquidationPlan, planLiquidation } from './liquidation';
import { WAD } from './math';
import type { UserPosition } from './position';
import { grossGainBase } from './profit';
import { largestRepayWhere, passesDustRule, predictAt, requestFor, type SizingContext } from './repay-search';
import { backedOffForDust, sizeMax, type SizingOutcome, type SizingStrategy } from './sizing';

export interface TwoStepOptions {
  /** Two steps must out-earn one max liquidation by more than this (base units); default 0. */
  minExtraGainBase?: bigint;
  /**
   * The first step must leave HF strictly below this (WAD); default 1e18, the Pool's own threshold. A lower
   * value (e.g. 0.999e18) keeps the second step valid if prices move between the two transactions.
   */
  firstStepHealthFactorCeilingWad?: bigint;
}

export function twoStepSizing(options: TwoStepOptions = {}): SizingStrategy {
  const minExtraGainBase = options.minExtraGainBase ?? 0n;
  const ceilingWad = options.firstStepHealthFactorCeilingWad ?? WAD;
  if (ceilingWad <= 0n || ceilingWad > WAD) throw new RangeError(`firstStepHealthFactorCeilingWad must be in (0, 1e18], got ${ceilingWad}`);

  const size = (position: UserPosition, pair: LiquidationPair, context: SizingContext = {}): SizingOutcome => {
    const single = sizeMax(position, pair, context);
    if (single.kind === 'skip') return { ...single, strategy: 'two-step' };
    const singleGain = totalGain(single.steps);
    const capUnits = single.steps[0].maxLiquidatableDebtUnits;

    const staysLiquidatable = (repayUnits: bigint) => {
      const predicted = predictAt(position, pair, repayUnits, context);
      return predicted.kind === 'predicted' && predicted.plan.healthFactorAfterWad < ceilingWad;
    };
    const boundary = largestRepayWhere(1n, capUnits, staysLiquidatable);
    if (boundary.kind === 'none') return { ...single, strategy: 'two-step' };

    const first = allowedFirstStep(position, pair, boundary.repayUnits, context);
    if (first.kind === 'none') return { ...single, strategy: 'two-step' };
    const second = sizeMax(first.plan.positionAfter, pair, context);
    if (second.kind === 'skip') return { ...single, strategy: 'two-step' };
    const steps: [LiquidationPlan, ...LiquidationPlan[]] = [first.plan, ...second.steps];
    if (totalGain(steps) > singleGain + minExtraGainBase) return { kind: 'liquidate', strategy: 'two-step', steps };
    return { ...single, strategy: 'two-step' };
  };

  return { name: 'two-step', size };
}

function totalGain(steps: readonly LiquidationPlan[]): bigint {
  return steps.reduce((sum, plan) => sum + grossGainBase(plan), 0n);
}

/** The plan at `repayUnits`, or — when the dust rule refuses it — at the largest smaller repay it accepts. */
function allowedFirstStep(
  position: UserPosition,
  pair: LiquidationPair,
  repayUnits: bigint,
  context: SizingContext,
): { kind: 'found'; plan: LiquidationPlan } | { kind: 'none' } {
  const outcome = planLiquidation(position, requestFor(pair, repayUnits, context));
  if (outcome.kind === 'liquidate') return { kind: 'found', plan: outcome.plan };
  if (outcome.reason !== 'must-not-leave-dust') return { kind: 'none' };
  const largest = largestRepayWhere(1n, repayUnits - 1n, (units) => passesDustRule(predictAt(position, pair, units, context)));
  if (largest.kind === 'none') return { kind: 'none' };
  const backedOff = planLiquidation(position, requestFor(pair, largest.repayUnits, context));
  return backedOff.kind === 'liquidate' ? { kind: 'found', plan: backedOffForDust(backedOff.plan) } : { kind: 'none' };
}
