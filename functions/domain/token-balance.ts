/**
 * How aTokens and variable debt tokens turn scaled balances into amounts and back, per rule set.
 *
 * Before 3.5 every conversion rounds half up (WadRayMath.rayMul / rayDiv in AToken.balanceOf,
 * ScaledBalanceTokenBase._burnScaled and ._transfer). From 3.5 on, TokenMath rounds in favour of the protocol:
 * aToken balances down, debt balances up, aToken burns and transfers up in scaled terms, debt burns down
 * (aave-v3-origin `src/contracts/protocol/libraries/helpers/TokenMath.sol`).
 */
import { rayDiv, rayDivCeil, rayDivFloor, rayMul, rayMulCeil, rayMulFloor } from './math';
import type { ReservePosition, RuleSet, UserPosition } from './position';

/** AToken.balanceOf: scaled × liquidity index (v3.0/3.3 rayMul half up; v3.5 TokenMath.getATokenBalance, floor). */
export function aTokenBalanceUnits(ruleSet: RuleSet, scaledBalance: bigint, liquidityIndexRay: bigint): bigint {
  return ruleSet === 'v3.5' ? rayMulFloor(scaledBalance, liquidityIndexRay) : rayMul(scaledBalance, liquidityIndexRay);
}

/** VariableDebtToken.balanceOf: scaled × borrow index (v3.0/3.3 rayMul half up; v3.5 TokenMath.getVTokenBalance, ceil). */
export function variableDebtBalanceUnits(ruleSet: RuleSet, scaledDebt: bigint, variableBorrowIndexRay: bigint): bigint {
  return ruleSet === 'v3.5' ? rayMulCeil(scaledDebt, variableBorrowIndexRay) : rayMul(scaledDebt, variableBorrowIndexRay);
}

/**
 * Scaled aTokens leaving the borrower when `amountUnits` of collateral is burned or transferred in a
 * liquidation. v3.0/3.3: `amount.rayDiv(index)` in both ScaledBalanceTokenBase._burnScaled and ._transfer;
 * v3.5: TokenMath.getATokenBurnScaledAmount and getATokenTransferScaledAmount, both rayDivCeil.
 */
export function aTokenScaledOutflow(ruleSet: RuleSet, amountUnits: bigint, liquidityIndexRay: bigint): bigint {
  return ruleSet === 'v3.5' ? rayDivCeil(amountUnits, liquidityIndexRay) : rayDiv(amountUnits, liquidityIndexRay);
}

/**
 * Scaled debt burned when `amountUnits` of variable debt is repaid. v3.0/3.3: `amount.rayDiv(index)` in
 * ScaledBalanceTokenBase._burnScaled; v3.5: TokenMath.getVTokenBurnScaledAmount, rayDivFloor.
 */
export function variableDebtScaledBurn(ruleSet: RuleSet, amountUnits: bigint, variableBorrowIndexRay: bigint): bigint {
  return ruleSet === 'v3.5' ? rayDivFloor(amountUnits, variableBorrowIndexRay) : rayDiv(amountUnits, variableBorrowIndexRay);
}

/**
 * The position with the balances the Pool computes for itself, wherever scaled balances are given.
 *
 * The Pool never calls `balanceOf` on the borrower's tokens during a liquidation: it multiplies the scaled
 * balance by the index. aave-v3-origin LiquidationLogic.executeLiquidationCall:
 *   borrowerCollateralBalance = aToken.scaledBalanceOf(borrower).getATokenBalance(nextLiquidityIndex)
 *   borrowerReserveDebt       = vToken.scaledBalanceOf(borrower).getVTokenBalance(nextVariableBorrowIndex)
 * and GenericLogic._getUserBalanceInBaseCurrency / _getUserDebtInBaseCurrency do the same for the health factor
 * (v3.3: `balanceOf` / `scaledBalanceOf().rayMul(index)`, the same half-up product; core-v3 V3.0:
 * `balanceOf`, i.e. `scaledBalanceOf().rayMul(index)`). At one state `balanceOf` equals these figures. A position
 * whose reads were answered from two states (a node serving `eth_call` at block N with the state of N+1 while
 * it mines, as anvil does) can carry a `balanceOf` a wei or more away from `scaled × index`; planning with it
 * would burn more scaled debt or aTokens than the borrower holds. Every amount here is therefore recomputed
 * from the scaled balance and index, the only figures the Pool uses.
 *
 * V3.0 debt keeps `debtBalanceUnits`: it includes stable debt, which has no scaled form in the position.
 * Returns the same object when nothing changes.
 */
export function withPoolBalances(position: UserPosition): UserPosition {
  let changed = false;
  const reserves = position.reserves.map((reserve): ReservePosition => {
    const scaled = reserve.scaled;
    if (!scaled) return reserve;
    const collateralBalanceUnits = aTokenBalanceUnits(position.ruleSet, scaled.scaledATokenBalance, scaled.liquidityIndexRay);
    const debtBalanceUnits =
      position.ruleSet === 'v3.0'
        ? reserve.debtBalanceUnits
        : variableDebtBalanceUnits(position.ruleSet, scaled.scaledVariableDebt, scaled.variableBorrowIndexRay);
    if (collateralBalanceUnits === reserve.collateralBalanceUnits && debtBalanceUnits === reserve.debtBalanceUnits) return reserve;
    changed = true;
    return { ...reserve, collateralBalanceUnits, debtBalanceUnits };
  });
  return changed ? { ...position, reserves } : position;
}
