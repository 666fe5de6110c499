/**
 * Which (collateral, debt) pair to liquidate on a position: every pair of an enabled collateral and a borrowed
 * reserve is sized with the chosen strategy and priced with the cost model; the policy picks among the
 * profitable ones. Ties keep the first pair in reserve order, so the choice is deterministic.
 */
import type { LiquidationPair } from './close-factor';
import { calculateAccountData, HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD } from './health';
import type { LiquidationPlan } from './liquidation';
import { assertValidPosition, type UserPosition } from './position';
import { assessProfit, type CostModel, type ProfitAssessment, type ProfitBreakdown, valueRepaidBase } from './profit';
import type { SizingContext } from './repay-search';
import type { SizingSkipReason, SizingStrategy } from './sizing';
import { withPoolBalances } from './token-balance';

/** `most-profitable`: highest profit after costs. `largest-repay`: most debt repaid (value), among profitable pairs. */
export type PairPolicy = 'most-profitable' | 'largest-repay';

export interface PairSelectionOptions extends SizingContext {
  sizing: SizingStrategy;
  costs: CostModel;
  policy?: PairPolicy;
}

export type PairCandidate =
  | { kind: 'sized'; pair: LiquidationPair; steps: readonly [LiquidationPlan, ...LiquidationPlan[]]; profit: ProfitAssessment }
  | { kind: 'not-sized'; pair: LiquidationPair; reason: SizingSkipReason };

export type PairSelection =
  | {
      kind: 'liquidate';
      pair: LiquidationPair;
      steps: readonly [LiquidationPlan, ...LiquidationPlan[]];
      profit: ProfitBreakdown;
      candidates: readonly PairCandidate[];
    }
  | { kind: 'skip'; reason: 'healthy' | 'no-liquidatable-pair' | 'unprofitable'; candidates: readonly PairCandidate[] };

export function selectPair(input: UserPosition, options: PairSelectionOptions): PairSelection {
  assertValidPosition(input);
  // The Pool's own balances (scaled × index) decide which reserves hold collateral or debt.
  const position = withPoolBalances(input);
  if (calculateAccountData(position).healthFactorWad >= HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD) {
    return { kind: 'skip', reason: 'healthy', candidates: [] };
  }
  const policy = options.policy ?? 'most-profitable';
  const context: SizingContext = { liquidator: options.liquidator, receiveAToken: options.receiveAToken };

  const candidates: PairCandidate[] = [];
  for (const collateral of position.reserves) {
    if (!collateral.usageAsCollateralEnabled || collateral.collateralBalanceUnits === 0n) continue;
    for (const debt of position.reserves) {
      if (debt.debtBalanceUnits === 0n) continue;
      const pair: LiquidationPair = { collateralAsset: collateral.asset, debtAsset: debt.asset };
      const sized = options.sizing.size(position, pair, context);
      candidates.push(
        sized.kind === 'liquidate'
          ? { kind: 'sized', pair, steps: sized.steps, profit: assessProfit(sized.steps, options.costs) }
          : { kind: 'not-sized', pair, reason: sized.reason },
      );
    }
  }

  const score = (candidate: Extract<PairCandidate, { kind: 'sized' }>): bigint =>
    policy === 'most-profitable'
      ? candidate.profit.profit.profitBase
      : candidate.steps.reduce((sum, plan) => sum + valueRepaidBase(plan), 0n);

  let best: Extract<PairCandidate, { kind: 'sized' }> | null = null;
  for (const candidate of candidates) {
    if (candidate.kind !== 'sized' || candidate.profit.kind !== 'profitable') continue;
    if (best === null || score(candidate) > score(best)) best = candidate;
  }
  if (best !== null) {
    return { kind: 'liquidate', pair: best.pair, steps: best.steps, profit: best.profit.profit, candidates };
  }
  const anySized = candidates.some((candidate) => candidate.kind === 'sized');
  return { kind: 'skip', reason: anySized ? 'unprofitable' : 'no-liquidatable-pair', candidates };
}
