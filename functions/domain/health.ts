/**
 * Account data and health factor, mirroring GenericLogic.calculateUserAccountData
 * (core-v3 `contracts/protocol/libraries/logic/GenericLogic.sol`, aave-v3-origin
 * `src/contracts/protocol/libraries/logic/GenericLogic.sol`).
 *
 * Rounding happens per reserve, before summing, exactly as the Pool does:
 * - collateral value `balance × price / unit`, floored (GenericLogic._getUserBalanceInBaseCurrency);
 * - debt value floored up to 3.4, ceiled from 3.5 (`MathUtils.mulDivCeil` in _getUserDebtInBaseCurrency);
 * - v3.0/3.3: HF = `totalCollateral.percentMul(⌊Σ value·LT / totalCollateral⌋).wadDiv(totalDebt)` — the
 *   average LT is floored to whole bps first;
 * - v3.5: HF = `(Σ value·LT).wadDiv(totalDebt) / 1e4` — no intermediate average.
 */
import { checkedMul, MAX_UINT256, mulDivDown, mulDivUp, percentMul, wadDiv, WAD } from './math';
import { assetUnit, type ReservePosition, type RuleSet, type UserPosition } from './position';
import { withPoolBalances } from './token-balance';

/** ValidationLogic.HEALTH_FACTOR_LIQUIDATION_THRESHOLD: liquidatable strictly below 1.0. */
export const HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD = WAD;

/** Health factor of a position without debt: type(uint256).max. */
export const NO_DEBT_HEALTH_FACTOR_WAD = MAX_UINT256;

export interface AccountData {
  /** Σ collateral values, base currency (8 decimals on USD markets). */
  totalCollateralBase: bigint;
  /** Σ debt values, base currency. */
  totalDebtBase: bigint;
  /** ⌊Σ value·LT / totalCollateral⌋ in bps (getUserAccountData's currentLiquidationThreshold); 0 without collateral. */
  avgLiquidationThresholdBps: bigint;
  /** Σ value·LT, base × bps: the unrounded weighted sum the v3.5 health factor divides. */
  weightedLiquidationThresholdBase: bigint;
  /** WAD (1e18); type(uint256).max without debt. */
  healthFactorWad: bigint;
}

/**
 * Whether the reserve enters the collateral sum. v3.0/3.3 skip reserves with LT = 0
 * (`vars.liquidationThreshold != 0 && isUsingAsCollateral`); v3.5 counts every reserve the user enabled.
 */
export function countsAsCollateral(ruleSet: RuleSet, reserve: ReservePosition): boolean {
  if (!reserve.usageAsCollateralEnabled) return false;
  return ruleSet === 'v3.5' || reserve.liquidationThresholdBps !== 0n;
}

/** `balance × price / unit`, floored (GenericLogic._getUserBalanceInBaseCurrency; LiquidationLogic uses the same). */
export function collateralValueBase(reserve: ReservePosition, balanceUnits = reserve.collateralBalanceUnits): bigint {
  return mulDivDown(balanceUnits, reserve.priceBase8, assetUnit(reserve));
}

/** `debt × price / unit`: floored on v3.0/3.3, `MathUtils.mulDivCeil` on v3.5 (GenericLogic._getUserDebtInBaseCurrency). */
export function debtValueBase(ruleSet: RuleSet, reserve: ReservePosition, debtUnits = reserve.debtBalanceUnits): bigint {
  return ruleSet === 'v3.5'
    ? mulDivUp(debtUnits, reserve.priceBase8, assetUnit(reserve))
    : mulDivDown(debtUnits, reserve.priceBase8, assetUnit(reserve));
}

/**
 * GenericLogic.calculateUserAccountData for the given rule set (totals, average LT, health factor), on the
 * balances the Pool computes from scaled balances (withPoolBalances).
 */
export function calculateAccountData(input: UserPosition): AccountData {
  const position = withPoolBalances(input);
  const { ruleSet } = position;
  let totalCollateralBase = 0n;
  let totalDebtBase = 0n;
  let weightedLiquidationThresholdBase = 0n;

  for (const reserve of position.reserves) {
    if (countsAsCollateral(ruleSet, reserve)) {
      const valueBase = collateralValueBase(reserve);
      totalCollateralBase += valueBase;
      weightedLiquidationThresholdBase += checkedMul(valueBase, reserve.liquidationThresholdBps);
    }
    if (reserve.debtBalanceUnits !== 0n) totalDebtBase += debtValueBase(ruleSet, reserve);
  }

  const avgLiquidationThresholdBps = totalCollateralBase === 0n ? 0n : weightedLiquidationThresholdBase / totalCollateralBase;

  let healthFactorWad: bigint;
  if (totalDebtBase === 0n) {
    healthFactorWad = NO_DEBT_HEALTH_FACTOR_WAD;
  } else if (ruleSet === 'v3.5') {
    healthFactorWad = wadDiv(weightedLiquidationThresholdBase, totalDebtBase) / 10_000n;
  } else {
    healthFactorWad = wadDiv(percentMul(totalCollateralBase, avgLiquidationThresholdBps), totalDebtBase);
  }

  return { totalCollateralBase, totalDebtBase, avgLiquidationThresholdBps, weightedLiquidationThresholdBase, healthFactorWad };
}
