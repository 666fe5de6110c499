/**
 * Whether a (collateral, debt) pair of a position can be liquidated, and how much of the debt at most.
 *
 * Eligibility mirrors ValidationLogic.validateLiquidationCall, check by check and in the same order, so the
 * reason given is the revert a `liquidationCall` would hit first. The cap mirrors
 * - v3.0: LiquidationLogic._calculateDebt — `userReserveDebt.percentMul(HF > 0.95 ? 50 % : 100 %)`;
 * - v3.3+: LiquidationLogic.executeLiquidationCall — the whole reserve debt, unless both reserves are worth
 *   ≥ MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD and HF > 0.95, in which case at most 50 % of the user's *total* debt
 *   (converted into the debt asset, floored) when the reserve debt is above that.
 */
import { type AccountData, calculateAccountData, collateralValueBase, debtValueBase, HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD } from './health';
import { mulDivDown, percentMul } from './math';
import { assetUnit, findReserve, type ReservePosition, sameAddress, type UserPosition } from './position';
import { withPoolBalances } from './token-balance';

/** LiquidationLogic.CLOSE_FACTOR_HF_THRESHOLD: at or below 0.95 the whole reserve debt is liquidatable. */
export const CLOSE_FACTOR_HF_THRESHOLD_WAD = 950_000_000_000_000_000n;
/** LiquidationLogic.DEFAULT_LIQUIDATION_CLOSE_FACTOR (50.00 %). */
export const DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS = 5_000n;
/** LiquidationLogic.MAX_LIQUIDATION_CLOSE_FACTOR (v3.0, 100.00 %). */
export const MAX_LIQUIDATION_CLOSE_FACTOR_BPS = 10_000n;
/** LiquidationLogic.MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD (v3.3+): $2,000 in base units (8 decimals). */
export const MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_BASE = 2_000n * 10n ** 8n;
/** ValidationLogic.MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD: below it the oracle sentinel is bypassed. */
export const MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD = 950_000_000_000_000_000n;

export interface LiquidationPair {
  collateralAsset: string;
  debtAsset: string;
}

/** Why validateLiquidationCall would revert (or why the pair is not in the position at all). */
export type IneligibleReason =
  | 'unknown-reserve'
  | 'self-liquidation'
  | 'reserve-inactive'
  | 'reserve-paused'
  | 'price-oracle-sentinel'
  | 'liquidation-grace-period'
  | 'healthy'
  | 'collateral-not-enabled'
  | 'no-debt-in-reserve';

/** Which close-factor rule produced the cap. */
export type CloseFactorRule =
  /** v3.0 with HF > 0.95: 50 % of the debt in this reserve. */
  | 'half-of-reserve-debt'
  /** v3.0 with HF ≤ 0.95, or v3.3+ by default: the whole debt in this reserve. */
  | 'all-of-reserve-debt'
  /** v3.3+ with both reserves ≥ $2,000 and HF > 0.95: 50 % of the total debt, in debt-asset units. */
  | 'half-of-total-debt';

export interface EligiblePair {
  kind: 'eligible';
  collateral: ReservePosition;
  debt: ReservePosition;
  accountData: AccountData;
  /** The most `liquidationCall` will repay before the collateral balance is considered. */
  maxLiquidatableDebtUnits: bigint;
  closeFactor: CloseFactorRule;
}

export type LiquidationEligibility = EligiblePair | { kind: 'ineligible'; reason: IneligibleReason };

export interface AssessOptions {
  /** The liquidator's address: v3.4+ reverts with SelfLiquidation when it is the borrower. */
  liquidator?: string;
}

/**
 * ValidationLogic.validateLiquidationCall + the close-factor cap, for one pair of one position. The reserves
 * returned carry the balances the Pool computes from scaled balances (withPoolBalances).
 */
export function assessLiquidation(input: UserPosition, pair: LiquidationPair, options: AssessOptions = {}): LiquidationEligibility {
  const position = withPoolBalances(input);
  const collateral = findReserve(position, pair.collateralAsset);
  const debt = findReserve(position, pair.debtAsset);
  if (!collateral || !debt) return { kind: 'ineligible', reason: 'unknown-reserve' };
  const accountData = calculateAccountData(position);

  const reason = firstFailedCheck(position, collateral, debt, accountData, options);
  if (reason) return { kind: 'ineligible', reason };

  const { maxLiquidatableDebtUnits, closeFactor } = maxLiquidatableDebt(position, collateral, debt, accountData);
  return { kind: 'eligible', collateral, debt, accountData, maxLiquidatableDebtUnits, closeFactor };
}

function firstFailedCheck(
  position: UserPosition,
  collateral: ReservePosition,
  debt: ReservePosition,
  accountData: AccountData,
  options: AssessOptions,
): IneligibleReason | undefined {
  const { ruleSet } = position;
  // v3.4+ `require(params.borrower != params.liquidator, SelfLiquidation())`; applied to the v3.3 set too,
  // where it only refuses something a keeper never wants.
  if (ruleSet !== 'v3.0' && options.liquidator !== undefined && sameAddress(options.liquidator, position.user)) {
    return 'self-liquidation';
  }
  if (!collateral.isActive || !debt.isActive) return 'reserve-inactive';
  if (collateral.isPaused || debt.isPaused) return 'reserve-paused';
  if (
    position.priceOracleSentinel === 'blocks-liquidation' &&
    accountData.healthFactorWad >= MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD
  ) {
    return 'price-oracle-sentinel';
  }
  // `liquidationGracePeriodUntil < uint40(block.timestamp)` for both reserves (v3.1+; 0 on v3.0 reserves).
  if (collateral.liquidationGracePeriodUntil >= position.blockTimestamp || debt.liquidationGracePeriodUntil >= position.blockTimestamp) {
    return 'liquidation-grace-period';
  }
  if (accountData.healthFactorWad >= HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD) return 'healthy';
  // v3.0/3.3: `getLiquidationThreshold() != 0 && isUsingAsCollateral(id)`; v3.5: `isUsingAsCollateral(id)` only.
  const collateralEnabled = ruleSet === 'v3.5' ? collateral.usageAsCollateralEnabled : collateral.usageAsCollateralEnabled && collateral.liquidationThresholdBps !== 0n;
  if (!collateralEnabled) return 'collateral-not-enabled';
  if (debt.debtBalanceUnits === 0n) return 'no-debt-in-reserve';
  return undefined;
}

function maxLiquidatableDebt(
  position: UserPosition,
  collateral: ReservePosition,
  debt: ReservePosition,
  accountData: AccountData,
): { maxLiquidatableDebtUnits: bigint; closeFactor: CloseFactorRule } {
  const hfAboveThreshold = accountData.healthFactorWad > CLOSE_FACTOR_HF_THRESHOLD_WAD;

  if (position.ruleSet === 'v3.0') {
    // LiquidationLogic._calculateDebt: userTotalDebt.percentMul(closeFactor), half up.
    return hfAboveThreshold
      ? { maxLiquidatableDebtUnits: percentMul(debt.debtBalanceUnits, DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS), closeFactor: 'half-of-reserve-debt' }
      : { maxLiquidatableDebtUnits: percentMul(debt.debtBalanceUnits, MAX_LIQUIDATION_CLOSE_FACTOR_BPS), closeFactor: 'all-of-reserve-debt' };
  }

  // LiquidationLogic.executeLiquidationCall (v3.3+).
  const borrowerReserveDebtBase = debtValueBase(position.ruleSet, debt);
  const borrowerReserveCollateralBase = collateralValueBase(collateral);
  if (
    borrowerReserveCollateralBase >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_BASE &&
    borrowerReserveDebtBase >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD_BASE &&
    hfAboveThreshold
  ) {
    const totalDefaultLiquidatableDebtBase = percentMul(accountData.totalDebtBase, DEFAULT_LIQUIDATION_CLOSE_FACTOR_BPS);
    if (borrowerReserveDebtBase > totalDefaultLiquidatableDebtBase) {
      return {
        maxLiquidatableDebtUnits: mulDivDown(totalDefaultLiquidatableDebtBase, assetUnit(debt), debt.priceBase8),
        closeFactor: 'half-of-total-debt',
      };
    }
  }
  return { maxLiquidatableDebtUnits: debt.debtBalanceUnits, closeFactor: 'all-of-reserve-debt' };
}
