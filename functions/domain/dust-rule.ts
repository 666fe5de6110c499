/**
 * The v3.3+ "must not leave dust" rule, from LiquidationLogic.executeLiquidationCall:
 *
 *   if (actualDebtToLiquidate < borrowerReserveDebt &&
 *       actualCollateralToLiquidate + liquidationProtocolFeeAmount < borrowerCollateralBalance) {
 *     require(debtLeftBase ≥ MIN_LEFTOVER_BASE && collateralLeftBase ≥ MIN_LEFTOVER_BASE, MustNotLeaveDust());
 *   }
 *
 * A liquidation must close the debt reserve, take the whole collateral reserve, or leave at least
 * MIN_LEFTOVER_BASE ($1,000) of both. The leftover debt value is floored on v3.3 and ceiled
 * (`MathUtils.mulDivCeil`) on v3.5; the leftover collateral value is floored on both. v3.0 has no such rule.
 */
import { MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_BASE } from './close-factor';
import { collateralValueBase, debtValueBase } from './health';
import type { ReservePosition, RuleSet } from './position';

/** LiquidationLogic.MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD / 2: $1,000 in base units. */
export const MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_BASE / 2n;

export type DustCheck =
  /** v3.0, or a liquidation that closes the debt reserve or takes the whole collateral reserve. */
  | { kind: 'not-applicable' }
  | { kind: 'leaves-enough'; debtLeftBase: bigint; collateralLeftBase: bigint }
  | { kind: 'leaves-dust'; debtLeftBase: bigint; collateralLeftBase: bigint };

export function checkDustRule(
  ruleSet: RuleSet,
  collateral: ReservePosition,
  debt: ReservePosition,
  debtRepaidUnits: bigint,
  collateralSeizedUnits: bigint,
): DustCheck {
  if (ruleSet === 'v3.0') return { kind: 'not-applicable' };
  if (debtRepaidUnits >= debt.debtBalanceUnits || collateralSeizedUnits >= collateral.collateralBalanceUnits) {
    return { kind: 'not-applicable' };
  }
  const debtLeftBase = debtValueBase(ruleSet, debt, debt.debtBalanceUnits - debtRepaidUnits);
  const collateralLeftBase = collateralValueBase(collateral, collateral.collateralBalanceUnits - collateralSeizedUnits);
  const enough = debtLeftBase >= MIN_LEFTOVER_BASE && collateralLeftBase >= MIN_LEFTOVER_BASE;
  return { kind: enough ? 'leaves-enough' : 'leaves-dust', debtLeftBase, collateralLeftBase };
}
