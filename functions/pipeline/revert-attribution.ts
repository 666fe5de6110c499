/**
 * Whose fault a revert is, when the Pool decided it on oracle values. The worker sizes a liquidation exactly at
 * its read block, so a revert of our own model (`model`, counted towards the revert streak) means the sizing was
 * wrong — unless the oracle moved between the plan and the block the transaction was mined in. MustNotLeaveDust
 * (v3.3+) values the debt and collateral left behind at the oracle's price: a plan that leaves exactly $1,000 of
 * debt at the read block's price leaves less after a price step, and the Pool refuses it. That is the market's
 * doing, like a swap bound the pool moved past; counted as ours, a crash's price steps would trip the revert-streak
 * breaker and stop the keeper when it is needed most.
 *
 * So a `model` revert of that kind is re-attributed to the market when the oracle's price of the plan's collateral
 * or debt at the mined block differs from the price the plan was sized at (ExecutionPlan.collateralPriceBase8 /
 * debtPriceBase8, with a followed pending update applied). Unchanged prices keep it ours. A plan stored without
 * its prices, no price source, or a failed price read (reported as the `revert-explain` best-effort step) keep it
 * ours too: the safe side, as for an unexplained revert.
 */
import type { RevertClass } from '../ports/liquidator-contract';
import { type BestEffort, type BestEffortContext, runBestEffort } from './best-effort';
import type { ExecutionPlan } from './execution-plan';
import type { OraclePriceSource } from './transaction-dispatcher';

/** Pool refusals decided on oracle values of the amounts left behind. */
const PRICE_VALUED_REVERTS = [/^MustNotLeaveDust\b/];

export interface Attributed {
  reason: string;
  revertClass: RevertClass;
}

export type AttributionPlan = Pick<ExecutionPlan, 'collateralAsset' | 'debtAsset' | 'collateralPriceBase8' | 'debtPriceBase8'>;

export async function attributeRevert(
  deps: { oraclePrices?: OraclePriceSource; bestEffort: BestEffort },
  revert: Attributed,
  plan: AttributionPlan,
  minedBlock: number,
  context: BestEffortContext,
): Promise<Attributed> {
  if (revert.revertClass !== 'model' || !PRICE_VALUED_REVERTS.some((pattern) => pattern.test(revert.reason))) return revert;
  const { oraclePrices } = deps;
  const { collateralPriceBase8: plannedCollateral, debtPriceBase8: plannedDebt } = plan;
  if (!oraclePrices || plannedCollateral === undefined || plannedDebt === undefined) return revert;
  const prices = await runBestEffort(
    deps.bestEffort,
    'revert-explain',
    async () => {
      const read = await oraclePrices.pricesBase8At(minedBlock, [plan.collateralAsset, plan.debtAsset]);
      if (read.length !== 2) throw new Error(`the oracle price source returned ${read.length} prices for 2 assets`);
      return read;
    },
    context,
  );
  if (!prices) return revert;
  const [collateral, debt] = prices;
  if (collateral === plannedCollateral && debt === plannedDebt) return revert;
  return {
    reason: `${revert.reason}; the oracle moved between the plan and block ${minedBlock} (collateral ${plannedCollateral} → ${collateral}, debt ${plannedDebt} → ${debt}, base currency × 1e8)`,
    revertClass: 'market-moved',
  };
}
