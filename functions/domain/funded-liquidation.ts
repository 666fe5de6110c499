/**
 * A liquidation plan made into what our Liquidator contract (contracts/src/Liquidator.sol) executes, and what it
 * leaves behind, to the wei:
 *
 *   flash-loan:  borrow X of the debt asset (Pool.flashLoanSimple) → liquidationCall(debtToCover = X)
 *                → sell the seized collateral on the DEX → repay X + premium → keep the rest
 *   inventory:   the contract's own balance pays → liquidationCall → sell → keep the rest
 *
 *   profit (debt-asset units, signed) = proceeds − debt repaid − premium
 *   proceeds = the swap's output for exactly the collateral received, or the collateral itself when the pair
 *              has the same asset on both sides (no swap)
 *
 * X = min(plan.debtToCoverUnits, plan.maxLiquidatableDebtUnits), with a little headroom when that is the reserve's
 * whole debt (exactDebtToCoverUnits). The Pool computes every amount from
 * `actualDebtToLiquidate = min(debtToCover, maxLiquidatableDebt)` (LiquidationLogic.executeLiquidationCall), so
 * X reproduces the plan exactly while being a finite amount that can be borrowed (a max plan passes 2^256 − 1).
 * When the Pool takes less than X (the collateral bounds the plan, or the headroom of a full close), the rest of
 * the loan is repaid untouched, and the premium is paid on all of X.
 *
 * The premium is Pool.FLASHLOAN_PREMIUM_TOTAL (bps) on X, rounded as FlashLoanLogic.executeFlashLoanSimple rounds it:
 * `percentMul` (half up) up to 3.4 (core-v3), `percentMulCeil` from 3.5 on (aave-v3-origin 3.6).
 *
 * Values in the base currency (8 decimals) are rounded against the liquidator: profit floored, costs ceiled.
 */
import type { LiquidationPlan } from './liquidation';
import { mulDivDown, mulDivUp, PERCENTAGE_FACTOR, percentMul, percentMulCeil } from './math';
import { findReserve, type RuleSet, sameAddress, type UserPosition } from './position';
import { largestRepayWhere, predictAt, type SizingContext } from './repay-search';
import { effectiveGasPriceWei, type Eip1559GasPrice } from './profit';

export type FundingMode = 'flash-loan' | 'inventory';

/** A Uniswap V3 route: `tokens[0]` (collateral) → … → `tokens[n]` (debt), `fees[i]` the pool fee between i and i+1. */
export interface SwapRoute {
  tokens: readonly string[];
  /** Uniswap fee units (hundredths of a bp): 100, 500, 3000, 10000. */
  fees: readonly number[];
}

/** How the collateral received becomes the debt asset. */
export type Proceeds =
  | { kind: 'same-asset' }
  /** `amountOutUnits`: QuoterV2's output for `amountInUnits` along `route`, at the read block. */
  | { kind: 'swap'; route: SwapRoute; amountInUnits: bigint; amountOutUnits: bigint };

export interface FundingTerms {
  mode: FundingMode;
  ruleSet: RuleSet;
  /** Pool.FLASHLOAN_PREMIUM_TOTAL at the read block (bps); ignored in inventory mode. */
  flashLoanPremiumBps: bigint;
  /** amountOutMinimum = quoted output × (1 − maxSlippageBps). */
  maxSlippageBps: bigint;
}

export interface GasCosts {
  /** Gas of the whole contract call (simulated limit once known, an assumption before). */
  gasUnits: bigint;
  gasPrice: Eip1559GasPrice;
  /** Price of the native gas token, base currency (8 decimals); 18 decimals assumed for the token. */
  nativePriceBase8: bigint;
  /** The profit after gas must exceed this (base currency). */
  minProfitBase: bigint;
}

/** The arguments of Liquidator.liquidate and what the call is predicted to leave in the contract. */
export interface FundedLiquidation {
  funding: FundingMode;
  collateralAsset: string;
  debtAsset: string;
  user: string;
  /** liquidationCall's debtToCover, and the flash loan's amount in flash-loan mode. */
  debtToCoverUnits: bigint;
  flashLoanUnits: bigint;
  flashLoanPremiumBps: bigint;
  premiumUnits: bigint;
  debtRepaidUnits: bigint;
  collateralReceivedUnits: bigint;
  proceeds: Proceeds;
  /** Debt-asset units the collateral turns into. */
  proceedsUnits: bigint;
  /** The swap's bound (0 without a swap). */
  amountOutMinimumUnits: bigint;
  /** proceeds − repaid − premium, debt-asset units (signed). */
  expectedProfitUnits: bigint;
  /** The contract reverts unless it keeps at least this (debt-asset units): the gas and the minimum profit. */
  minProfitUnits: bigint;
  /** Oracle value of the collateral received (floored) and of the debt repaid plus premium (ceiled). */
  valueReceivedBase: bigint;
  valueRepaidBase: bigint;
  /** expectedProfitUnits in base currency, floored (signed). */
  profitBeforeGasBase: bigint;
  gasCostWei: bigint;
  gasCostBase: bigint;
  /** profitBeforeGasBase − gasCostBase. */
  profitBase: bigint;
  /** Oracle value of the collateral received minus oracle value of the proceeds: what the swap costs (signed). */
  swapCostBase: bigint;
}

export type FundedAssessment =
  | { kind: 'profitable'; liquidation: FundedLiquidation }
  | { kind: 'skip'; reason: 'unprofitable' | 'swap-below-repayment'; liquidation: FundedLiquidation };

/** The flash-loan premium on `amountUnits`, rounded as the Pool of `ruleSet` rounds it. */
export function flashLoanPremiumUnits(ruleSet: RuleSet, amountUnits: bigint, premiumBps: bigint): bigint {
  return ruleSet === 'v3.5' ? percentMulCeil(amountUnits, premiumBps) : percentMul(amountUnits, premiumBps);
}

/**
 * Headroom on a plan that repays the whole debt of its reserve: interest accrues between the read block and the
 * transaction's, and a repay short of the full debt by that interest would leave dust (v3.3+ reverts with
 * MustNotLeaveDust). 10 bps is about a week at 5 % APR, several hours at 100 %.
 */
export const FULL_CLOSE_HEADROOM_BPS = 10n;

/**
 * The finite debtToCover (and flash-loan amount) for `plan` (see the file comment): the plan's own amount when it
 * asked for less than the close factor allows; the close factor's limit otherwise, plus FULL_CLOSE_HEADROOM_BPS
 * when that limit is the reserve's whole debt, so the Pool takes what is owed when the transaction lands. At the
 * read block each of these gives exactly the plan: the Pool repays min(debtToCover, maxLiquidatableDebt).
 */
export function exactDebtToCoverUnits(plan: LiquidationPlan): bigint {
  const limit = plan.maxLiquidatableDebtUnits;
  if (plan.debtToCoverUnits < limit) return plan.debtToCoverUnits;
  if (plan.closeFactor === 'all-of-reserve-debt' && plan.limitedBy === 'close-factor') return mulDivUp(limit, PERCENTAGE_FACTOR + FULL_CLOSE_HEADROOM_BPS, PERCENTAGE_FACTOR);
  return limit;
}

/** Base value of signed debt-asset units, floored (towards −∞). */
function debtValueFloorBase(units: bigint, plan: LiquidationPlan): bigint {
  const unit = 10n ** plan.debtDecimals;
  if (units >= 0n) return mulDivDown(units, plan.debtPriceBase8, unit);
  return -mulDivUp(-units, plan.debtPriceBase8, unit);
}

/** A swap's bound: `amountOutUnits` less `maxSlippageBps`, floored (the contract passes it to the router as amountOutMinimum). */
export function amountOutMinimumOf(amountOutUnits: bigint, maxSlippageBps: bigint): bigint {
  return mulDivDown(amountOutUnits, PERCENTAGE_FACTOR - maxSlippageBps, PERCENTAGE_FACTOR);
}

/** Gas cost in wei and in base currency (ceiled). */
export function gasCostOf(gas: GasCosts): { gasCostWei: bigint; gasCostBase: bigint } {
  const gasCostWei = gas.gasUnits * effectiveGasPriceWei(gas.gasPrice);
  return { gasCostWei, gasCostBase: mulDivUp(gasCostWei, gas.nativePriceBase8, 10n ** 18n) };
}

/**
 * Prices `plan` as our contract executes it with `proceeds` (a swap quote, or same-asset) and `funding`.
 * `proceeds` must match the plan: a swap selling exactly the collateral the liquidator receives, from the
 * collateral asset to the debt asset.
 */
export function assessFundedLiquidation(plan: LiquidationPlan, proceeds: Proceeds, funding: FundingTerms, gas: GasCosts): FundedAssessment {
  if (funding.maxSlippageBps < 0n || funding.maxSlippageBps >= PERCENTAGE_FACTOR) {
    throw new RangeError(`maxSlippageBps must be 0..9999, got ${funding.maxSlippageBps}`);
  }
  if (plan.receiveAToken) throw new RangeError('the liquidator contract takes the underlying: plan with receiveAToken = false');
  const sameAsset = sameAddress(plan.collateralAsset, plan.debtAsset);
  if (sameAsset !== (proceeds.kind === 'same-asset')) {
    throw new RangeError(`proceeds ${proceeds.kind} do not fit the pair ${plan.collateralAsset} → ${plan.debtAsset}`);
  }
  if (proceeds.kind === 'swap') {
    const { tokens, fees } = proceeds.route;
    if (tokens.length < 2 || fees.length !== tokens.length - 1) throw new RangeError('a swap route needs n ≥ 2 tokens and n − 1 fees');
    if (!sameAddress(tokens[0], plan.collateralAsset) || !sameAddress(tokens[tokens.length - 1], plan.debtAsset)) {
      throw new RangeError(`the swap route must lead from ${plan.collateralAsset} to ${plan.debtAsset}`);
    }
    if (proceeds.amountInUnits !== plan.liquidatorCollateralUnits) {
      throw new RangeError(`the swap quote sells ${proceeds.amountInUnits}, the plan receives ${plan.liquidatorCollateralUnits}`);
    }
  }

  const debtToCoverUnits = exactDebtToCoverUnits(plan);
  const flash = funding.mode === 'flash-loan';
  const flashLoanUnits = flash ? debtToCoverUnits : 0n;
  const premiumUnits = flash ? flashLoanPremiumUnits(funding.ruleSet, flashLoanUnits, funding.flashLoanPremiumBps) : 0n;
  const proceedsUnits = proceeds.kind === 'swap' ? proceeds.amountOutUnits : plan.liquidatorCollateralUnits;
  const amountOutMinimumUnits = proceeds.kind === 'swap' ? amountOutMinimumOf(proceeds.amountOutUnits, funding.maxSlippageBps) : 0n;
  const expectedProfitUnits = proceedsUnits - plan.debtRepaidUnits - premiumUnits;

  const { gasCostWei, gasCostBase } = gasCostOf(gas);
  const profitBeforeGasBase = debtValueFloorBase(expectedProfitUnits, plan);
  const floorBase = gasCostBase + gas.minProfitBase;
  // The guard the contract enforces: at least the gas and the minimum profit, in debt units, rounded up.
  const minProfitUnits = floorBase <= 0n ? 0n : mulDivUp(floorBase, 10n ** plan.debtDecimals, plan.debtPriceBase8);
  const receivedBase = mulDivDown(plan.liquidatorCollateralUnits, plan.collateralPriceBase8, 10n ** plan.collateralDecimals);
  const liquidation: FundedLiquidation = {
    funding: funding.mode,
    collateralAsset: plan.collateralAsset,
    debtAsset: plan.debtAsset,
    user: plan.user,
    debtToCoverUnits,
    flashLoanUnits,
    flashLoanPremiumBps: flash ? funding.flashLoanPremiumBps : 0n,
    premiumUnits,
    debtRepaidUnits: plan.debtRepaidUnits,
    collateralReceivedUnits: plan.liquidatorCollateralUnits,
    proceeds,
    proceedsUnits,
    amountOutMinimumUnits,
    expectedProfitUnits,
    minProfitUnits,
    valueReceivedBase: receivedBase,
    valueRepaidBase: mulDivUp(plan.debtRepaidUnits + premiumUnits, plan.debtPriceBase8, 10n ** plan.debtDecimals),
    profitBeforeGasBase,
    gasCostWei,
    gasCostBase,
    profitBase: profitBeforeGasBase - gasCostBase,
    swapCostBase: receivedBase - debtValueFloorBase(proceedsUnits, plan),
  };
  // With a flash loan the proceeds must at least repay the loan, or the Pool's pull reverts the whole call.
  if (proceedsUnits < plan.debtRepaidUnits + premiumUnits) return { kind: 'skip', reason: 'swap-below-repayment', liquidation };
  if (liquidation.profitBase <= gas.minProfitBase || expectedProfitUnits < minProfitUnits) {
    return { kind: 'skip', reason: 'unprofitable', liquidation };
  }
  return { kind: 'profitable', liquidation };
}

/**
 * Whether a liquidation that is unprofitable at its quoted sale would clear `minProfitBase` had the sale cost only
 * `assumedSwapCostBps` of the collateral's oracle value (SWAP_COST_BPS, what a pool at the oracle's price costs):
 * the pool's price now, not gas or the position's size, priced it out. Such a pool is often back within a few
 * blocks (arbitrage after a crash, or after the keeper's own sales), so the account is worth another look soon.
 */
export function pricedOutBySale(liquidation: FundedLiquidation, assumedSwapCostBps: bigint, minProfitBase: bigint): boolean {
  if (liquidation.proceeds.kind !== 'swap') return false;
  const assumed = mulDivUp(liquidation.valueReceivedBase, assumedSwapCostBps, PERCENTAGE_FACTOR);
  return liquidation.swapCostBase > assumed && liquidation.profitBase + (liquidation.swapCostBase - assumed) > minProfitBase;
}

/** Uniswap V3 path bytes: token (20 bytes) | fee (3 bytes) | token | … (what `exactInput` and QuoterV2 take). */
export function encodeSwapPath(route: SwapRoute): string {
  if (route.tokens.length < 2 || route.fees.length !== route.tokens.length - 1) throw new RangeError('a swap route needs n ≥ 2 tokens and n − 1 fees');
  let hex = '0x';
  route.tokens.forEach((token, i) => {
    if (!/^0x[0-9a-fA-F]{40}$/.test(token)) throw new RangeError(`route token ${token} is not an address`);
    hex += token.slice(2).toLowerCase();
    if (i < route.fees.length) {
      const fee = route.fees[i];
      if (!Number.isInteger(fee) || fee < 0 || fee >= 2 ** 24) throw new RangeError(`route fee ${fee} is not a uint24`);
      hex += fee.toString(16).padStart(6, '0');
    }
  });
  return hex;
}

/**
 * What the reserves can pay out constrains a funded liquidation (v3.1+ virtual accounting; V3.0 the aToken's
 * balance): the collateral reserve pays the liquidator's collateral in the underlying, and a flash loan takes X
 * of the debt reserve first. With the same asset on both sides both come out of one reserve, before the repaid
 * debt comes back in (LiquidationLogic.executeLiquidationCall transfers the repayment in last):
 *
 *   cross-asset:  collateral received ≤ available(collateral)     and   X ≤ available(debt)   (flash loan)
 *   same asset:   collateral received + X ≤ available(asset)                                    (flash loan)
 */
export function fitsAvailableLiquidity(position: UserPosition, plan: LiquidationPlan, funding: FundingMode): boolean {
  const collateral = findReserve(position, plan.collateralAsset);
  const debt = findReserve(position, plan.debtAsset);
  const flashUnits = funding === 'flash-loan' ? exactDebtToCoverUnits(plan) : 0n;
  const collateralAvailable = collateral?.availableLiquidityUnits;
  if (sameAddress(plan.collateralAsset, plan.debtAsset)) {
    return collateralAvailable === undefined || plan.liquidatorCollateralUnits + flashUnits <= collateralAvailable;
  }
  if (collateralAvailable !== undefined && plan.liquidatorCollateralUnits > collateralAvailable) return false;
  return debt?.availableLiquidityUnits === undefined || flashUnits <= debt.availableLiquidityUnits;
}

export type LiquidityFit =
  | { kind: 'fits'; plan: LiquidationPlan }
  /** Reduced to the largest repay the reserves can pay for (and the dust rule allows). */
  | { kind: 'reduced'; plan: LiquidationPlan; plannedRepayUnits: bigint }
  | { kind: 'none' };

/**
 * `plan` if the reserves can pay it, else the same pair's largest liquidation that they can: collateral
 * received and flash amount grow with the repay, so the sizes that fit are [1, largest]; the dust rule is
 * checked on the way (a reduced size may not leave under MIN_LEFTOVER_BASE on v3.3+).
 */
export function fitToAvailableLiquidity(position: UserPosition, plan: LiquidationPlan, funding: FundingMode, context: SizingContext = {}): LiquidityFit {
  if (fitsAvailableLiquidity(position, plan, funding)) return { kind: 'fits', plan };
  const pair = { collateralAsset: plan.collateralAsset, debtAsset: plan.debtAsset };
  const allowed = (repayUnits: bigint): LiquidationPlan | undefined => {
    const predicted = predictAt(position, pair, repayUnits, context);
    return predicted.kind === 'predicted' && predicted.verdict === 'allowed' && fitsAvailableLiquidity(position, predicted.plan, funding)
      ? predicted.plan
      : undefined;
  };
  // Largest repay whose collateral and flash amount fit (monotone); the dust rule is not, so check it after.
  const largest = largestRepayWhere(1n, plan.debtRepaidUnits, (repayUnits) => {
    const predicted = predictAt(position, pair, repayUnits, context);
    return predicted.kind === 'predicted' && fitsAvailableLiquidity(position, predicted.plan, funding);
  });
  if (largest.kind === 'none') return { kind: 'none' };
  let reduced = allowed(largest.repayUnits);
  if (!reduced) {
    // Short of a full close, the leftovers shrink as the repay grows: the sizes the dust rule allows are [1, x].
    const dustFree = largestRepayWhere(1n, largest.repayUnits, (repayUnits) => allowed(repayUnits) !== undefined);
    if (dustFree.kind === 'none') return { kind: 'none' };
    reduced = allowed(dustFree.repayUnits)!;
  }
  return { kind: 'reduced', plan: reduced, plannedRepayUnits: plan.debtRepaidUnits };
}
