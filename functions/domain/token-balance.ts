/**
 * How aTokens and variable debt tokens turn scaled balances into amounts and back, per rule set.
 *
 * Before 3.5 every conversion rounds half up (WadRayMath.rayMul / rayDiv in AToken.balanceOf,
 * ScaledBalanceTokenBase._burnScaled and ._transfer). From 3.5 on, TokenMath rounds in favour of the protocol:
 * aToken balances down, debt balances up, aToken burns and transfers up in scaled terms, debt burns down
 * (aave-v3-origin `src/contracts/protocol/libraries/helpers/TokenMath.sol`).
 */
import { rayDiv, rayDivCeil, rayDivFloor, rayMul, rayMulCeil, rayMulFloor } from './math';
import type { RuleSet } from './position';

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
