/**
 * Whether a liquidation (one or more steps) is worth sending, in the market's base currency (USD, 8 decimals).
 *
 *   profit = value received − value repaid − gas cost − swap cost
 *
 * Every rounding goes against the liquidator, so a plan judged profitable is profitable:
 * - value received: collateral to the liquidator × price / unit, floored;
 * - value repaid: debt repaid × price / unit, ceiled;
 * - gas: gasUnits × EIP-1559 effective fee per gas (min(maxFee, baseFee + priorityFee)) + extra wei
 *   (e.g. an L2's L1 data fee), converted at the native asset's price, ceiled;
 * - swap/slippage: swapCostBps of the value received, ceiled, only when collateral and debt assets differ
 *   (the collateral must be sold to repay a flash loan of the debt asset).
 * Oracle prices value both legs: the swap cost is the allowance for the market price differing from them.
 */
import { MAX_UINT256, mulDivDown, mulDivUp, PERCENTAGE_FACTOR, minUint } from './math';
import type { LiquidationPlan } from './liquidation';
import { sameAddress } from './position';

export interface Eip1559GasPrice {
  /** The block's base fee (wei per gas). */
  baseFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
  maxFeePerGasWei: bigint;
}

export interface CostModel {
  /** Gas one liquidation step uses (each step is a liquidationCall). */
  gasUnitsPerStep: bigint;
  gasPrice: Eip1559GasPrice;
  /** Fixed extra cost per transaction in wei (L1 data fee on rollups); default 0. */
  extraCostWeiPerStep?: bigint;
  /** Price of the native gas token in base currency. */
  nativePriceBase8: bigint;
  /** Decimals of the native gas token; default 18. */
  nativeDecimals?: bigint;
  /** Swap cost and slippage allowance on the collateral sold, in bps. */
  swapCostBps: bigint;
  /** Profit must exceed this (base units) to be worth it; default 0. */
  minProfitBase?: bigint;
}

export interface ProfitBreakdown {
  valueReceivedBase: bigint;
  valueRepaidBase: bigint;
  gasCostWei: bigint;
  gasCostBase: bigint;
  swapCostBase: bigint;
  /** Signed: negative when the liquidation loses money. */
  profitBase: bigint;
}

export type ProfitAssessment =
  | { kind: 'profitable'; profit: ProfitBreakdown }
  | { kind: 'skip'; reason: 'unprofitable'; profit: ProfitBreakdown };

/** EIP-1559: the fee per gas actually paid, min(maxFeePerGas, baseFee + maxPriorityFeePerGas). */
export function effectiveGasPriceWei(gasPrice: Eip1559GasPrice): bigint {
  return minUint(gasPrice.maxFeePerGasWei, gasPrice.baseFeePerGasWei + gasPrice.maxPriorityFeePerGasWei);
}

/** Value of the collateral the liquidator receives, floored. */
export function valueReceivedBase(plan: LiquidationPlan): bigint {
  return mulDivDown(plan.liquidatorCollateralUnits, plan.collateralPriceBase8, 10n ** plan.collateralDecimals);
}

/** Value of the debt the liquidator repays, ceiled. */
export function valueRepaidBase(plan: LiquidationPlan): bigint {
  return mulDivUp(plan.debtRepaidUnits, plan.debtPriceBase8, 10n ** plan.debtDecimals);
}

/** Liquidation bonus captured before costs: value received − value repaid (signed). */
export function grossGainBase(plan: LiquidationPlan): bigint {
  return valueReceivedBase(plan) - valueRepaidBase(plan);
}

/** Profit of executing `steps` in order, one transaction each. */
export function assessProfit(steps: readonly LiquidationPlan[], costs: CostModel): ProfitAssessment {
  if (steps.length === 0) throw new RangeError('assessProfit needs at least one liquidation step');
  if (costs.swapCostBps < 0n || costs.swapCostBps > PERCENTAGE_FACTOR) {
    throw new RangeError(`swapCostBps must be 0..10000, got ${costs.swapCostBps}`);
  }
  const stepCount = BigInt(steps.length);
  let valueReceived = 0n;
  let valueRepaid = 0n;
  let swapCostBase = 0n;
  for (const plan of steps) {
    const received = valueReceivedBase(plan);
    valueReceived += received;
    valueRepaid += valueRepaidBase(plan);
    if (!sameAddress(plan.collateralAsset, plan.debtAsset)) swapCostBase += mulDivUp(received, costs.swapCostBps, PERCENTAGE_FACTOR);
  }
  const gasCostWei = stepCount * (costs.gasUnitsPerStep * effectiveGasPriceWei(costs.gasPrice) + (costs.extraCostWeiPerStep ?? 0n));
  if (gasCostWei > MAX_UINT256) throw new RangeError('gas cost overflows uint256');
  const gasCostBase = mulDivUp(gasCostWei, costs.nativePriceBase8, 10n ** (costs.nativeDecimals ?? 18n));
  const profitBase = valueReceived - valueRepaid - gasCostBase - swapCostBase;
  const profit: ProfitBreakdown = {
    valueReceivedBase: valueReceived,
    valueRepaidBase: valueRepaid,
    gasCostWei,
    gasCostBase,
    swapCostBase,
    profitBase,
  };
  return profitBase > (costs.minProfitBase ?? 0n) ? { kind: 'profitable', profit } : { kind: 'skip', reason: 'unprofitable', profit };
}
