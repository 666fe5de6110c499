/**
 * One `liquidationCall(collateralAsset, debtAsset, user, debtToCover, receiveAToken)`, predicted to the wei:
 * LiquidationLogic.executeLiquidationCall (core-v3 and aave-v3-origin `.../libraries/logic/LiquidationLogic.sol`).
 *
 *   1. ValidationLogic.validateLiquidationCall + close-factor cap            (close-factor.ts)
 *   2. actualDebtToLiquidate = min(debtToCover, maxLiquidatableDebt)
 *   3. _calculateAvailableCollateralToLiquidate                             (collateral-amounts.ts)
 *   4. v3.3+: MustNotLeaveDust                                               (dust-rule.ts)
 *   5. burns, transfers, fee clamp, bad-debt burn → position after          (settlement.ts)
 *   6. health factor after: GenericLogic.calculateUserAccountData on it     (health.ts)
 *
 * A call that would revert is never returned as a plan: it is a `skip` with the revert's reason; when the
 * revert comes after the amounts are known (MustNotLeaveDust, InvalidBurnAmount) the refused plan comes along
 * so sizing can see what it would have done.
 */
import { assessLiquidation, type CloseFactorRule, type IneligibleReason, type LiquidationPair } from './close-factor';
import { calculateCollateralAmounts } from './collateral-amounts';
import { checkDustRule } from './dust-rule';
import { type AccountData, calculateAccountData } from './health';
import { assertUint256, minUint } from './math';
import { assertValidPosition, type RuleSet, type UserPosition } from './position';
import { type BurnedToken, type Deficit, settleLiquidation } from './settlement';
import { withPoolBalances } from './token-balance';

export interface LiquidationRequest extends LiquidationPair {
  /** The `debtToCover` argument, in debt-asset units; MAX_UINT256 means "as much as allowed". */
  debtToCoverUnits: bigint;
  /** The caller; v3.4+ refuses to let a borrower liquidate itself. */
  liquidator?: string;
  /** Take aTokens instead of the underlying (default false: the aTokens are burned). */
  receiveAToken?: boolean;
}

/**
 * What bounded the repaid debt. `planLiquidation` answers one of the first three; `dust-rule` marks a plan that
 * sizing backed off to a smaller repay because the Pool would refuse the larger one with MustNotLeaveDust (v3.3+).
 */
export type LiquidationLimit = 'requested' | 'close-factor' | 'collateral-balance' | 'dust-rule';

export interface LiquidationPlan {
  ruleSet: RuleSet;
  user: string;
  collateralAsset: string;
  debtAsset: string;
  /** Prices and decimals the plan was computed with, so its value can be assessed on its own (profit.ts). */
  collateralPriceBase8: bigint;
  debtPriceBase8: bigint;
  collateralDecimals: bigint;
  debtDecimals: bigint;
  /** The argument to pass to liquidationCall. */
  debtToCoverUnits: bigint;
  receiveAToken: boolean;
  closeFactor: CloseFactorRule;
  maxLiquidatableDebtUnits: bigint;
  limitedBy: LiquidationLimit;
  /** Debt the liquidator pays (LiquidationCall.debtToCover). */
  debtRepaidUnits: bigint;
  /** Collateral leaving the borrower, protocol fee included. */
  collateralSeizedUnits: bigint;
  /** Collateral the liquidator receives (LiquidationCall.liquidatedCollateralAmount). */
  liquidatorCollateralUnits: bigint;
  /** Bonus part of the seized collateral: seized − seized.percentDiv(bonus). */
  bonusCollateralUnits: bigint;
  /**
   * The protocol fee the treasury receives (aTokens). LiquidationLogic.executeLiquidationCall clamps the computed
   * fee when its scaled amount exceeds what the borrower holds after the liquidator's share ("1 wei imprecision",
   * all collateral taken): the treasury then gets the borrower's remaining scaled balance, valued as
   * `scaledBalance.getATokenBalance(index)` (v3.5+, floor) or `rayMul` (earlier). Exact with scaled balances
   * (settlement.ts); without them it is the computed fee.
   */
  protocolFeeUnits: bigint;
  /** `liquidationProtocolFeeAmount` as computed, before that clamp: bonus part × protocol fee bps. */
  computedProtocolFeeUnits: bigint;
  /** v3.3+: the liquidation takes the last collateral; remaining debt becomes deficit. */
  hasNoCollateralLeft: boolean;
  /** Bad debt written off (v3.3+ DeficitCreated), liquidated debt reserve first. Empty on v3.0. */
  deficits: readonly Deficit[];
  collateralDisabled: boolean;
  accountBefore: AccountData;
  accountAfter: AccountData;
  healthFactorBeforeWad: bigint;
  healthFactorAfterWad: bigint;
  positionAfter: UserPosition;
}

export type LiquidationOutcome =
  | { kind: 'liquidate'; plan: LiquidationPlan }
  | { kind: 'skip'; reason: IneligibleReason }
  | {
      kind: 'skip';
      reason: 'must-not-leave-dust';
      /** The liquidation the Pool would refuse (its numbers are what it would have done without the rule). */
      refusedPlan: LiquidationPlan;
      debtLeftBase: bigint;
      collateralLeftBase: bigint;
    }
  | {
      kind: 'skip';
      reason: 'invalid-burn-amount';
      token: BurnedToken;
      /** The liquidation the token would refuse to burn (the call reverts; the numbers are what it computed). */
      refusedPlan: LiquidationPlan;
    };

export type LiquidationSkipReason = Extract<LiquidationOutcome, { kind: 'skip' }>['reason'];

/**
 * Predicts one liquidationCall on `input` (read at one block) to the wei, from the balances the Pool computes
 * out of scaled balances and indexes (withPoolBalances), as LiquidationLogic does.
 */
export function planLiquidation(input: UserPosition, request: LiquidationRequest): LiquidationOutcome {
  assertValidPosition(input);
  const position = withPoolBalances(input);
  assertUint256('debtToCoverUnits', request.debtToCoverUnits);
  const receiveAToken = request.receiveAToken ?? false;

  const eligibility = assessLiquidation(position, request, { liquidator: request.liquidator });
  if (eligibility.kind === 'ineligible') return { kind: 'skip', reason: eligibility.reason };
  const { collateral, debt, accountData, maxLiquidatableDebtUnits, closeFactor } = eligibility;
  const { ruleSet } = position;

  const cappedDebtUnits = minUint(request.debtToCoverUnits, maxLiquidatableDebtUnits);
  const amounts = calculateCollateralAmounts(ruleSet, collateral, debt, cappedDebtUnits);
  const limitedBy: LiquidationLimit = amounts.limitedByCollateralBalance
    ? 'collateral-balance'
    : request.debtToCoverUnits > maxLiquidatableDebtUnits
      ? 'close-factor'
      : 'requested';

  const dust = checkDustRule(ruleSet, collateral, debt, amounts.debtRepaidUnits, amounts.collateralSeizedUnits);

  const hasNoCollateralLeft = ruleSet !== 'v3.0' && accountData.totalCollateralBase === amounts.collateralSeizedBase;
  const settlement = settleLiquidation({ position, collateral, debt, amounts, hasNoCollateralLeft, receiveAToken });

  const accountAfter = calculateAccountData(settlement.positionAfter);
  const plan: LiquidationPlan = {
    ruleSet,
    user: position.user,
    collateralAsset: collateral.asset,
    debtAsset: debt.asset,
    collateralPriceBase8: collateral.priceBase8,
    debtPriceBase8: debt.priceBase8,
    collateralDecimals: collateral.decimals,
    debtDecimals: debt.decimals,
    debtToCoverUnits: request.debtToCoverUnits,
    receiveAToken,
    closeFactor,
    maxLiquidatableDebtUnits,
    limitedBy,
    debtRepaidUnits: amounts.debtRepaidUnits,
    collateralSeizedUnits: amounts.collateralSeizedUnits,
    liquidatorCollateralUnits: amounts.liquidatorCollateralUnits,
    bonusCollateralUnits: amounts.bonusCollateralUnits,
    protocolFeeUnits: settlement.protocolFeeTransferredUnits,
    computedProtocolFeeUnits: amounts.protocolFeeUnits,
    hasNoCollateralLeft,
    deficits: settlement.deficits,
    collateralDisabled: settlement.collateralDisabled,
    accountBefore: accountData,
    accountAfter,
    healthFactorBeforeWad: accountData.healthFactorWad,
    healthFactorAfterWad: accountAfter.healthFactorWad,
    positionAfter: settlement.positionAfter,
  };

  // Same order as the Solidity: the dust require runs before any token is burned.
  if (dust.kind === 'leaves-dust') {
    return { kind: 'skip', reason: 'must-not-leave-dust', refusedPlan: plan, debtLeftBase: dust.debtLeftBase, collateralLeftBase: dust.collateralLeftBase };
  }
  if (settlement.burnCheck.kind === 'zero-scaled-burn') {
    return { kind: 'skip', reason: 'invalid-burn-amount', token: settlement.burnCheck.token, refusedPlan: plan };
  }
  return { kind: 'liquidate', plan };
}
