/**
 * Collateral seized for a given debt repayment: LiquidationLogic._calculateAvailableCollateralToLiquidate
 * (core-v3 and aave-v3-origin `.../libraries/logic/LiquidationLogic.sol`), operation by operation.
 *
 *   baseCollateral   = ⌊debtPrice × debtToCover × collUnit / (collPrice × debtUnit)⌋
 *   maxCollateral    = baseCollateral.percentMul(bonus)                                   (half up)
 *   if maxCollateral > balance:
 *     collateral     = balance
 *     debtNeeded     = ⌊collPrice × balance × debtUnit / (debtPrice × collUnit)⌋.percentDiv(bonus)
 *                      — half up on v3.0/3.3, `percentDivCeil` (rounded up) on v3.5
 *   else collateral  = maxCollateral, debtNeeded = debtToCover
 *   bonusCollateral  = collateral − collateral.percentDiv(bonus)                         (half up)
 *   protocolFee      = bonusCollateral.percentMul(protocolFeeBps)                        (half up)
 *   liquidator gets  = collateral − protocolFee
 *
 * The collateral-limited repay never exceeds `debtToCover` (so never the reserve debt, which caps it), in every
 * rule set. Let r = debtPrice·collUnit / (collPrice·debtUnit), collateral units per debt unit. `maxCollateral >
 * balance` means ⌊(baseCollateral·bonus + 5000) / 1e4⌋ ≥ balance + 1, so debtToCover·r·bonus ≥ baseCollateral·bonus
 * ≥ balance·1e4 + 5000 > balance·1e4, i.e. (balance / r)·1e4 / bonus < debtToCover; debtNeeded rounds
 * ⌊balance / r⌋·1e4 / bonus, which is no larger, up (or half up) to an integer: at most debtToCover. It can
 * equal it: with r = 1, 10 to cover, 10 units of collateral and a 5 % bonus, maxCollateral = ⌊10.5 + 0.5⌋ = 11
 * > 10 and debtNeeded = ⌈10 / 1.05⌉ = ⌈9.52⌉ = 10.
 */
import { checkedMul, checkedSub, PERCENTAGE_FACTOR, percentDiv, percentDivCeil, percentMul } from './math';
import { assetUnit, type ReservePosition, type RuleSet } from './position';

export interface CollateralAmounts {
  /** Collateral leaving the borrower, protocol fee included (`collateralAmount` before the fee split). */
  collateralSeizedUnits: bigint;
  /** `actualCollateralToLiquidate`: what the liquidator receives (LiquidationCall.liquidatedCollateralAmount). */
  liquidatorCollateralUnits: bigint;
  /** `liquidationProtocolFeeAmount`, sent to the treasury as aTokens. */
  protocolFeeUnits: bigint;
  /** `collateral − collateral.percentDiv(bonus)`: the bonus part of the seized collateral. */
  bonusCollateralUnits: bigint;
  /** `debtAmountNeeded`: the debt actually repaid (LiquidationCall.debtToCover). */
  debtRepaidUnits: bigint;
  /** `collateralToLiquidateInBaseCurrency` (v3.3+): ⌊seized × collPrice / collUnit⌋, compared to the total collateral. */
  collateralSeizedBase: bigint;
  /** True when the borrower's balance, not the requested debt, bounded the liquidation. */
  limitedByCollateralBalance: boolean;
}

export function calculateCollateralAmounts(
  ruleSet: RuleSet,
  collateral: ReservePosition,
  debt: ReservePosition,
  debtToCoverUnits: bigint,
): CollateralAmounts {
  const borrowerCollateralUnits = collateral.collateralBalanceUnits;
  const collateralUnit = assetUnit(collateral);
  const debtUnit = assetUnit(debt);
  const bonusBps = collateral.liquidationBonusBps;

  const baseCollateral =
    checkedMul(checkedMul(debt.priceBase8, debtToCoverUnits), collateralUnit) / checkedMul(collateral.priceBase8, debtUnit);
  const maxCollateral = percentMul(baseCollateral, bonusBps);

  let collateralSeizedUnits: bigint;
  let debtRepaidUnits: bigint;
  const limitedByCollateralBalance = maxCollateral > borrowerCollateralUnits;
  if (limitedByCollateralBalance) {
    collateralSeizedUnits = borrowerCollateralUnits;
    const debtValueOfCollateral =
      checkedMul(checkedMul(collateral.priceBase8, collateralSeizedUnits), debtUnit) / checkedMul(debt.priceBase8, collateralUnit);
    debtRepaidUnits = ruleSet === 'v3.5' ? percentDivCeil(debtValueOfCollateral, bonusBps) : percentDiv(debtValueOfCollateral, bonusBps);
  } else {
    collateralSeizedUnits = maxCollateral;
    debtRepaidUnits = debtToCoverUnits;
  }

  const collateralSeizedBase = checkedMul(collateralSeizedUnits, collateral.priceBase8) / collateralUnit;

  // The Solidity computes the bonus only when the fee is non-zero (and then reverts on a zero or sub-100 %
  // bonus); here it is also reported without a fee, where such a configuration just reports 0.
  let bonusCollateralUnits = 0n;
  let protocolFeeUnits = 0n;
  if (collateral.liquidationProtocolFeeBps !== 0n) {
    bonusCollateralUnits = checkedSub(collateralSeizedUnits, percentDiv(collateralSeizedUnits, bonusBps));
    protocolFeeUnits = percentMul(bonusCollateralUnits, collateral.liquidationProtocolFeeBps);
  } else if (bonusBps >= PERCENTAGE_FACTOR) {
    bonusCollateralUnits = collateralSeizedUnits - percentDiv(collateralSeizedUnits, bonusBps);
  }

  return {
    collateralSeizedUnits,
    liquidatorCollateralUnits: collateralSeizedUnits - protocolFeeUnits,
    protocolFeeUnits,
    bonusCollateralUnits,
    debtRepaidUnits,
    collateralSeizedBase,
    limitedByCollateralBalance,
  };
}
