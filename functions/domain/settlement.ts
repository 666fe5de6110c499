/**
 * What a liquidation leaves behind: the borrower's balances after the Pool burns and transfers tokens, the
 * collateral flag, and (v3.3+) the debt written off as reserve deficit.
 *
 * Mirrors, in LiquidationLogic (core-v3 / aave-v3-origin `.../libraries/logic/LiquidationLogic.sol`):
 * - `_burnDebtTokens` — v3.0 burns variable debt first, then stable; v3.3+ burns `actualDebtToLiquidate`, or the
 *   whole reserve debt when no collateral is left, and books `borrowerReserveDebt − actualDebtToLiquidate` as
 *   deficit (`DeficitCreated`);
 * - `_burnCollateralATokens` / `_liquidateATokens` and the treasury transfer, including its clamp
 *   ("to avoid trying to send more aTokens than available on balance, due to 1 wei imprecision");
 * - `_burnBadDebt` (v3.3+) — every other active reserve the borrower owes is burned in full as deficit;
 * - `setUsingAsCollateral(collateral, false)` when `actualCollateralToLiquidate + fee == balance`.
 *
 * With scaled balances (ReservePosition.scaled) the token math is exact (token-balance.ts). Without them a
 * balance becomes `balance − amount`, which can be a wei off the on-chain result, and a burn whose scaled
 * amount rounds to zero (InvalidBurnAmount) is only detected when the amount itself is zero.
 */
import type { CollateralAmounts } from './collateral-amounts';
import { checkedSub, rayMul, rayMulFloor } from './math';
import { type ReservePosition, sameAddress, type UserPosition } from './position';
import { aTokenBalanceUnits, aTokenScaledOutflow, variableDebtBalanceUnits, variableDebtScaledBurn } from './token-balance';

export interface Deficit {
  asset: string;
  /** Debt burned without repayment and booked as the reserve's deficit (DeficitCreated.amountCreated). */
  amountUnits: bigint;
}

export interface SettledLiquidation {
  kind: 'settled';
  positionAfter: UserPosition;
  deficits: readonly Deficit[];
  /** The collateral reserve stops counting as collateral (ReserveUsedAsCollateralDisabled). */
  collateralDisabled: boolean;
  /** The fee the treasury actually receives: `protocolFeeUnits`, unless the 1-wei clamp lowered it. */
  protocolFeeTransferredUnits: bigint;
  /** A burn whose scaled amount is zero reverts (INVALID_BURN_AMOUNT / InvalidBurnAmount); the burn is a no-op here. */
  burnCheck: BurnCheck;
}

export type BurnedToken = 'variable-debt' | 'atoken';
export type BurnCheck = { kind: 'ok' } | { kind: 'zero-scaled-burn'; token: BurnedToken };

export interface SettlementInput {
  position: UserPosition;
  collateral: ReservePosition;
  debt: ReservePosition;
  amounts: CollateralAmounts;
  /** v3.3+: `totalCollateralInBaseCurrency == collateralToLiquidateInBaseCurrency`. */
  hasNoCollateralLeft: boolean;
  /** true: the liquidator takes aTokens (transfer); false: underlying (aToken burn, which rejects a zero amount). */
  receiveAToken: boolean;
}

/** Fields a liquidation changes on one reserve; collateral and debt changes merge when both hit the same asset. */
interface ReserveUpdate {
  collateralBalanceUnits?: bigint;
  debtBalanceUnits?: bigint;
  usageAsCollateralEnabled?: boolean;
  scaledATokenBalance?: bigint;
  scaledVariableDebt?: bigint;
}

function applyUpdate(reserve: ReservePosition, change: ReserveUpdate): ReservePosition {
  const { scaledATokenBalance, scaledVariableDebt, ...balances } = change;
  const scaled = reserve.scaled && {
    ...reserve.scaled,
    ...(scaledATokenBalance !== undefined ? { scaledATokenBalance } : {}),
    ...(scaledVariableDebt !== undefined ? { scaledVariableDebt } : {}),
  };
  return { ...reserve, ...balances, ...(scaled ? { scaled } : {}) };
}

export function settleLiquidation(input: SettlementInput): SettledLiquidation {
  const { position, collateral, debt, amounts, hasNoCollateralLeft } = input;
  const { ruleSet } = position;
  const updates = new Map<ReservePosition, ReserveUpdate>();
  const update = (reserve: ReservePosition, change: ReserveUpdate) =>
    updates.set(reserve, { ...updates.get(reserve), ...change });
  const deficits: Deficit[] = [];
  let burnCheck: BurnCheck = { kind: 'ok' };
  const flagZeroBurn = (token: BurnedToken) => {
    if (burnCheck.kind === 'ok') burnCheck = { kind: 'zero-scaled-burn', token };
  };

  // _burnDebtTokens on the liquidated debt reserve.
  const burnUnits = ruleSet !== 'v3.0' && hasNoCollateralLeft ? debt.debtBalanceUnits : amounts.debtRepaidUnits;
  const debtAfter = burnDebt(position, debt, burnUnits);
  if (debtAfter.zeroScaledBurn) flagZeroBurn('variable-debt');
  update(debt, debtAfter.update);
  if (ruleSet !== 'v3.0') {
    // `outstandingDebt = borrowerReserveDebt - actualDebtToLiquidate`, checked: it would revert (Panic 0x11) if the
    // repay exceeded the debt, which _calculateAvailableCollateralToLiquidate never returns (collateral-amounts.ts).
    const outstandingUnits = checkedSub(debt.debtBalanceUnits, amounts.debtRepaidUnits);
    if (hasNoCollateralLeft && outstandingUnits !== 0n) deficits.push({ asset: debt.asset, amountUnits: outstandingUnits });
  }

  // Collateral to the liquidator, then the protocol fee to the treasury.
  const collateralDisabled = amounts.liquidatorCollateralUnits + amounts.protocolFeeUnits === collateral.collateralBalanceUnits;
  const collateralAfter = moveCollateral(position, collateral, amounts, input.receiveAToken);
  if (collateralAfter.zeroScaledBurn) flagZeroBurn('atoken');
  update(collateral, { ...collateralAfter.update, ...(collateralDisabled ? { usageAsCollateralEnabled: false } : {}) });

  // _burnBadDebt: every other borrowed, active reserve is written off.
  if (ruleSet !== 'v3.0' && hasNoCollateralLeft) {
    for (const reserve of position.reserves) {
      if (sameAddress(reserve.asset, debt.asset) || reserve.debtBalanceUnits === 0n || !reserve.isActive) continue;
      const burned = burnDebt(position, reserve, reserve.debtBalanceUnits);
      if (burned.zeroScaledBurn) flagZeroBurn('variable-debt');
      update(reserve, burned.update);
      deficits.push({ asset: reserve.asset, amountUnits: reserve.debtBalanceUnits });
    }
  }

  const positionAfter: UserPosition = {
    ...position,
    reserves: position.reserves.map((reserve) => {
      const change = updates.get(reserve);
      return change ? applyUpdate(reserve, change) : reserve;
    }),
  };
  return {
    kind: 'settled',
    positionAfter,
    deficits,
    collateralDisabled,
    protocolFeeTransferredUnits: collateralAfter.protocolFeeTransferredUnits,
    burnCheck,
  };
}

interface DebtBurn {
  update: ReserveUpdate;
  zeroScaledBurn: boolean;
}

function burnDebt(position: UserPosition, reserve: ReservePosition, burnUnits: bigint): DebtBurn {
  const { ruleSet } = position;
  const scaled = reserve.scaled;
  if (!scaled) {
    return { update: { debtBalanceUnits: checkedSub(reserve.debtBalanceUnits, burnUnits) }, zeroScaledBurn: burnUnits === 0n };
  }
  const index = scaled.variableBorrowIndexRay;
  const variableUnits = variableDebtBalanceUnits(ruleSet, scaled.scaledVariableDebt, index);
  if (variableUnits > reserve.debtBalanceUnits) {
    throw new RangeError(`reserve ${reserve.asset}: scaled variable debt is worth more than debtBalanceUnits`);
  }
  // Stable debt exists only on v3.0 – 3.1; for later rule sets this is 0 when the inputs are consistent.
  let stableUnits = reserve.debtBalanceUnits - variableUnits;
  let variableBurnUnits = burnUnits;
  if (ruleSet === 'v3.0' && burnUnits > variableUnits) {
    // core-v3 _burnDebtTokens: burn all variable debt (skipped when there is none), the rest through
    // StableDebtToken.burn, which lowers the stable balance by exactly the amount.
    variableBurnUnits = variableUnits;
    stableUnits = checkedSub(stableUnits, burnUnits - variableUnits);
  }
  let scaledVariableDebt = scaled.scaledVariableDebt;
  let zeroScaledBurn = false;
  const skipVariableBurn = ruleSet === 'v3.0' && burnUnits > variableUnits && variableUnits === 0n;
  if (!skipVariableBurn) {
    const scaledBurn = variableDebtScaledBurn(ruleSet, variableBurnUnits, index);
    zeroScaledBurn = scaledBurn === 0n;
    scaledVariableDebt = checkedSub(scaledVariableDebt, scaledBurn);
  }
  return {
    update: { debtBalanceUnits: variableDebtBalanceUnits(ruleSet, scaledVariableDebt, index) + stableUnits, scaledVariableDebt },
    zeroScaledBurn,
  };
}

interface CollateralMove {
  update: ReserveUpdate;
  protocolFeeTransferredUnits: bigint;
  /** Only the burn path (receiveAToken = false) rejects a zero scaled amount. */
  zeroScaledBurn: boolean;
}

function moveCollateral(position: UserPosition, reserve: ReservePosition, amounts: CollateralAmounts, receiveAToken: boolean): CollateralMove {
  const { ruleSet } = position;
  const scaled = reserve.scaled;
  if (!scaled) {
    return {
      update: { collateralBalanceUnits: checkedSub(reserve.collateralBalanceUnits, amounts.collateralSeizedUnits) },
      protocolFeeTransferredUnits: amounts.protocolFeeUnits,
      zeroScaledBurn: !receiveAToken && amounts.liquidatorCollateralUnits === 0n,
    };
  }
  const index = scaled.liquidityIndexRay;
  const liquidatorScaled = aTokenScaledOutflow(ruleSet, amounts.liquidatorCollateralUnits, index);
  let scaledBalance = checkedSub(scaled.scaledATokenBalance, liquidatorScaled);

  let protocolFeeTransferredUnits = amounts.protocolFeeUnits;
  if (protocolFeeTransferredUnits !== 0n) {
    let feeScaled = aTokenScaledOutflow(ruleSet, protocolFeeTransferredUnits, index);
    if (feeScaled > scaledBalance) {
      if (ruleSet === 'v3.5') {
        // aave-v3-origin: scaledDownLiquidationProtocolFee = scaledDownBorrowerBalance; fee = getATokenBalance(it).
        feeScaled = scaledBalance;
        protocolFeeTransferredUnits = rayMulFloor(scaledBalance, index);
      } else {
        // core-v3: fee = scaledDownUserBalance.rayMul(index), then transferred as fee.rayDiv(index).
        protocolFeeTransferredUnits = rayMul(scaledBalance, index);
        feeScaled = aTokenScaledOutflow(ruleSet, protocolFeeTransferredUnits, index);
      }
    }
    scaledBalance = checkedSub(scaledBalance, feeScaled);
  }
  return {
    zeroScaledBurn: !receiveAToken && liquidatorScaled === 0n,
    update: {
      collateralBalanceUnits: aTokenBalanceUnits(ruleSet, scaledBalance, index),
      scaledATokenBalance: scaledBalance,
    },
    protocolFeeTransferredUnits,
  };
}
