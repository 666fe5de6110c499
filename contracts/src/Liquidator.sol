// SPDX-License-Identifier: Apache-2.0
// ^0.8.24, not ^0.8.20 like the rest of contracts/src: the lock and the callback's results live in transient
// storage (EIP-1153, tstore/tload), which solc accepts from 0.8.24 on (built with 0.8.30, evm cancun).
pragma solidity ^0.8.24;

import {IERC20} from '@openzeppelin/contracts/token/ERC20/IERC20.sol';
import {SafeERC20} from '@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol';
import {SafeCast} from '@openzeppelin/contracts/utils/math/SafeCast.sol';
import {TransientSlot} from '@openzeppelin/contracts/utils/TransientSlot.sol';
import {IAavePoolFlashLiquidation, IFlashLoanSimpleCallback} from './interfaces/IAavePoolFlashLiquidation.sol';
import {IV3SwapRouterExactInput} from './interfaces/IV3SwapRouterExactInput.sol';

/// @title Liquidator
/// @notice Liquidates an Aave V3 position in one call and keeps the profit in the debt asset:
///
///           flash loan:  Pool.flashLoanSimple(debtToCover of the debt asset) → executeOperation:
///                        liquidationCall(receiveAToken = false) → sell exactly the seized collateral on Uniswap V3
///                        (SwapRouter02.exactInput) → approve loan + premium → the Pool pulls it
///           inventory:   the same, paid from the contract's own balance, no loan
///
///         and reverts unless its debt-asset balance grew by at least `minProfit` over the whole call. A pair with
///         the same asset on both sides skips the swap. Works with V3.0 and v3.6 Pools (same signatures).
///
///         Only the owner (the deployer) and the callers it authorises may liquidate; only the owner withdraws.
///         Approvals are exact (forceApprove) and none is left standing after a call. A lock held for the whole
///         of `liquidate` refuses re-entry, and `executeOperation` is honoured only from the Pool, for a loan this
///         contract initiated, while that lock awaits exactly one callback.
///
///         `liquidateBatch` runs several liquidations (any borrowers, pairs and funding, a flash loan per item) in one
///         transaction. Each item runs in a call of the contract to itself (`liquidateItem`) inside try/catch, so an
///         item that fails (liquidated by someone else first, recovered, the pool moved past its bounds, its profit
///         guard) rolls back alone — its liquidation, swap, loan and approvals — and the others go through. Every
///         item reports its outcome in an event and in the returned results (what an eth_call simulation reads).
contract Liquidator is IFlashLoanSimpleCallback {
  using SafeERC20 for IERC20;
  using TransientSlot for *;

  struct LiquidationParams {
    address collateralAsset;
    address debtAsset;
    address user;
    /// @dev Passed to liquidationCall as is; with a flash loan, also the amount borrowed.
    uint256 debtToCover;
    /// @dev Uniswap V3 exactInput path collateral → … → debt; empty iff collateral == debt.
    bytes swapPath;
    /// @dev The swap's bound (SwapRouter02 reverts 'Too little received' below it).
    uint256 amountOutMinimum;
    /// @dev Debt-asset units the contract must gain by the call, after loan + premium.
    uint256 minProfit;
  }

  /// @dev What one liquidation did, debt-asset units except `collateralSeized` (collateral units).
  struct Outcome {
    uint256 debtRepaid;
    uint256 collateralSeized;
    uint256 swapAmountOut;
    uint256 flashPremium;
  }

  /// @notice One liquidation of a batch and how it is funded (the arguments of `liquidate`).
  struct BatchItem {
    LiquidationParams params;
    bool flashLoan;
  }

  /// @notice What one item of a batch did. ok: the Outcome's amounts and the profit the item left in the contract
  ///         (net of its own flash-loan premium), `reason` empty. Not ok: the amounts are zero and `reason` is the
  ///         revert data of the item's rolled-back call (a custom error, Error(string), or empty).
  struct ItemResult {
    bool ok;
    uint256 debtRepaid;
    uint256 collateralSeized;
    uint256 swapAmountOut;
    uint256 flashPremium;
    uint256 profit;
    bytes reason;
  }

  /// @notice debtRepaid / collateralSeized: what liquidationCall took and gave (measured, see _liquidateAndSwap);
  ///         swapAmountOut: the swap's output (0 for a same-asset pair); flashPremium: as the Pool passed it (0 in
  ///         inventory mode); profit: the contract's debt-asset balance after the call minus before it.
  event Liquidated(
    address indexed user,
    address indexed collateralAsset,
    address indexed debtAsset,
    uint256 debtRepaid,
    uint256 collateralSeized,
    uint256 swapAmountOut,
    uint256 flashPremium,
    uint256 profit
  );
  /// @notice Item `index` of a batch went through: the same amounts as `Liquidated` (whose assets are the item's).
  event BatchItemLiquidated(
    uint256 indexed index,
    address indexed user,
    uint256 debtRepaid,
    uint256 collateralSeized,
    uint256 swapAmountOut,
    uint256 flashPremium,
    uint256 profit
  );
  /// @notice Item `index` of a batch was rolled back, with its revert data; the rest of the batch went on.
  event BatchItemFailed(uint256 indexed index, address indexed user, bytes reason);
  event CallerSet(address indexed caller, bool allowed);
  event Withdrawn(address indexed token, address indexed to, uint256 amount);

  error Unauthorized(address caller);
  error InvalidCallback(address caller, address initiator);
  error ProfitBelowMinimum(int256 profit, uint256 minProfit);
  error InvalidSwapPath();
  error Reentrancy();
  error ZeroAddress();
  error EmptyBatch();
  /// @dev Item `index` reverted without data, as running out of gas does: the transaction's gas limit, not the
  ///      item, is at fault.
  error ItemOutOfGas(uint256 index);

  /// @dev Phases of the lock (transient): no call running; inside a liquidation in inventory mode; inside a
  ///      liquidation waiting for the Pool's one callback; inside (or past) that callback; inside `liquidateBatch`
  ///      between items (the only phase in which `liquidateItem` runs; an item takes the lock through the phases
  ///      above and hands it back as BATCH, or its revert restores BATCH: transient storage rolls back too).
  uint256 private constant IDLE = 0;
  uint256 private constant INVENTORY = 1;
  uint256 private constant AWAITING_CALLBACK = 2;
  uint256 private constant IN_CALLBACK = 3;
  uint256 private constant BATCH = 4;

  bytes32 private constant PHASE_SLOT = keccak256('Liquidator.phase');
  /// @dev The callback's Outcome, handed back to `liquidate` (which alone can measure the profit: the Pool pulls
  ///      the repayment after the callback returns). Four consecutive transient slots from here.
  bytes32 private constant OUTCOME_SLOT = keccak256('Liquidator.outcome');

  /// @dev Uniswap V3 path layout (v3-periphery libraries/Path.sol): 20-byte address, 3-byte fee, 20-byte address …
  uint256 private constant ADDR_SIZE = 20;
  uint256 private constant HOP_SIZE = 23;

  address public immutable owner;
  address public immutable pool;
  address public immutable swapRouter;

  mapping(address => bool) private _callers;

  constructor(address pool_, address swapRouter_) {
    if (pool_ == address(0) || swapRouter_ == address(0)) revert ZeroAddress();
    owner = msg.sender;
    pool = pool_;
    swapRouter = swapRouter_;
  }

  /// @notice The owner is always an authorised caller, whatever `setCaller` recorded for it.
  function isCaller(address account) public view returns (bool) {
    return account == owner || _callers[account];
  }

  function setCaller(address caller, bool allowed) external {
    if (msg.sender != owner) revert Unauthorized(msg.sender);
    if (caller == address(0)) revert ZeroAddress();
    _callers[caller] = allowed;
    emit CallerSet(caller, allowed);
  }

  /// @notice Sends `amount` of `token` (the whole balance for type(uint256).max) to `to`.
  function withdraw(address token, address to, uint256 amount) external {
    if (msg.sender != owner) revert Unauthorized(msg.sender);
    if (_phase() != IDLE) revert Reentrancy();
    if (to == address(0)) revert ZeroAddress();
    if (amount == type(uint256).max) amount = IERC20(token).balanceOf(address(this));
    IERC20(token).safeTransfer(to, amount);
    emit Withdrawn(token, to, amount);
  }

  /// @notice Liquidates `p.user` and returns the profit kept in the contract (debt-asset units).
  /// @param flashLoan true: borrow `p.debtToCover` from the Pool; false: pay from the contract's own balance.
  function liquidate(LiquidationParams calldata p, bool flashLoan) external returns (uint256 profit) {
    if (_phase() != IDLE) revert Reentrancy();
    if (!isCaller(msg.sender)) revert Unauthorized(msg.sender);
    Outcome memory outcome;
    (outcome, profit) = _liquidate(p, flashLoan);
    _setPhase(IDLE);
    emit Liquidated(
      p.user,
      p.collateralAsset,
      p.debtAsset,
      outcome.debtRepaid,
      outcome.collateralSeized,
      outcome.swapAmountOut,
      outcome.flashPremium,
      profit
    );
  }

  /// @notice Liquidates every item in order, each as `liquidate` would (its own flash loan, swap and profit guard:
  ///         `minProfit` net of its own premium), and returns each item's result. A failed item is rolled back
  ///         alone and reported; the call itself reverts only for an empty batch, an unauthorised caller, re-entry,
  ///         or an item that ran out of gas (ItemOutOfGas: so that gas estimation, which looks for the lowest limit
  ///         at which the call succeeds, never settles on one at which items fail for want of gas).
  /// @dev One loan per item, not one per debt asset. Measured (bench/batch-gas.ts, BENCHMARKS.md): at ten items a
  ///      liquidation costs 59.8 % of a single `liquidate`, within the target of 60 %; a loan inside a batch costs
  ///      about 48k gas (v3.6), the most one loan per asset could save per item, at the price of attributing the
  ///      premium across items and repaying a failed item's share. Per-item loans keep both exact.
  function liquidateBatch(BatchItem[] calldata items) external returns (ItemResult[] memory results) {
    if (_phase() != IDLE) revert Reentrancy();
    if (!isCaller(msg.sender)) revert Unauthorized(msg.sender);
    if (items.length == 0) revert EmptyBatch();
    _setPhase(BATCH);
    results = new ItemResult[](items.length);
    for (uint256 i; i < items.length; ++i) {
      address user = items[i].params.user;
      try this.liquidateItem(items[i].params, items[i].flashLoan) returns (Outcome memory outcome, uint256 profit) {
        results[i] = _itemLiquidated(i, user, outcome, profit);
      } catch (bytes memory reason) {
        // Running out of gas, at any depth, reverts without data (a deeper frame's caller keeps 1/64 of its gas,
        // EIP-150, and bubbles the empty revert): the batch's gas limit is at fault, not the item. Every revert the
        // market causes carries data (the Pool's and our errors, the router's Error(string)).
        if (reason.length == 0) revert ItemOutOfGas(i);
        results[i].reason = reason;
        emit BatchItemFailed(i, user, reason);
      }
    }
    _setPhase(IDLE);
  }

  /// @notice One item of `liquidateBatch`. External only so that a revert rolls back this item alone: honoured
  ///         only from the contract itself, while a batch holds the lock between items.
  function liquidateItem(LiquidationParams calldata p, bool flashLoan) external returns (Outcome memory outcome, uint256 profit) {
    if (msg.sender != address(this)) revert Unauthorized(msg.sender);
    if (_phase() != BATCH) revert Reentrancy();
    (outcome, profit) = _liquidate(p, flashLoan);
    _setPhase(BATCH);
  }

  /// @dev The body of `liquidate` and of a batch item, called with the lock idle or between items (the caller
  ///      restores its phase after): funding, liquidation, swap, profit guard. Returns what it did and the rise of
  ///      the contract's debt-asset balance.
  function _liquidate(LiquidationParams calldata p, bool flashLoan) private returns (Outcome memory outcome, uint256 profit) {
    _checkSwapPath(p.collateralAsset, p.debtAsset, p.swapPath);

    IERC20 debt = IERC20(p.debtAsset);
    uint256 debtBefore = debt.balanceOf(address(this));
    if (flashLoan) {
      _setPhase(AWAITING_CALLBACK);
      IAavePoolFlashLiquidation(pool).flashLoanSimple(address(this), p.debtAsset, p.debtToCover, abi.encode(p), 0);
      // The Pool pulled amount + premium after executeOperation returned; the approval must be spent exactly.
      _clearAllowance(debt, pool);
      outcome = _loadOutcome();
    } else {
      _setPhase(INVENTORY);
      outcome = _liquidateAndSwap(p);
    }

    uint256 debtAfter = debt.balanceOf(address(this));
    if (debtAfter < debtBefore + p.minProfit) {
      int256 signedProfit = debtAfter >= debtBefore
        ? SafeCast.toInt256(debtAfter - debtBefore)
        : -SafeCast.toInt256(debtBefore - debtAfter);
      revert ProfitBelowMinimum(signedProfit, p.minProfit);
    }
    profit = debtAfter - debtBefore;
  }

  function _itemLiquidated(uint256 index, address user, Outcome memory o, uint256 profit) private returns (ItemResult memory) {
    emit BatchItemLiquidated(index, user, o.debtRepaid, o.collateralSeized, o.swapAmountOut, o.flashPremium, profit);
    return ItemResult(true, o.debtRepaid, o.collateralSeized, o.swapAmountOut, o.flashPremium, profit, '');
  }

  /// @notice The Pool's flash-loan callback. Honoured only from the Pool, for a loan this contract initiated from
  ///         `liquidate` or a batch item (so `params` are the ones it encoded, and `asset`/`amount` the ones it asked
  ///         for).
  function executeOperation(
    address asset,
    uint256 amount,
    uint256 premium,
    address initiator,
    bytes calldata params
  ) external returns (bool) {
    if (msg.sender != pool || initiator != address(this)) revert InvalidCallback(msg.sender, initiator);
    if (_phase() != AWAITING_CALLBACK) revert Reentrancy();
    _setPhase(IN_CALLBACK);

    Outcome memory outcome = _liquidateAndSwap(abi.decode(params, (LiquidationParams)));
    outcome.flashPremium = premium;
    // Exactly what the Pool pulls once this returns; `liquidate` checks that nothing of it remains.
    IERC20(asset).forceApprove(pool, amount + premium);
    _storeOutcome(outcome);
    return true;
  }

  /// @dev liquidationCall, then the swap of exactly the collateral it gave. Measured, not assumed:
  ///      - cross-asset pair: debtRepaid = the fall of our debt-asset balance across liquidationCall,
  ///        collateralSeized = the rise of our collateral balance across it, swapAmountOut = the rise of our
  ///        debt-asset balance across the swap;
  ///      - same-asset pair: one balance moves both ways (collateral in, then debt out), so debtRepaid is what the
  ///        Pool spent of our exact approval (allowance before − after: the Pool pulls the debt with one
  ///        transferFrom, LiquidationLogic.executeLiquidationCall) and collateralSeized = the balance change +
  ///        debtRepaid. Both equal the Pool's LiquidationCall event (debtToCover, liquidatedCollateralAmount).
  ///      The approval is min(debtToCover, balance): all the contract can pay, and never type(uint256).max, which
  ///      ERC-20s do not decrease (that would hide debtRepaid).
  function _liquidateAndSwap(LiquidationParams memory p) private returns (Outcome memory outcome) {
    IERC20 debt = IERC20(p.debtAsset);
    IERC20 collateral = IERC20(p.collateralAsset);
    uint256 debtBefore = debt.balanceOf(address(this));
    uint256 approval = p.debtToCover < debtBefore ? p.debtToCover : debtBefore;
    debt.forceApprove(pool, approval);

    if (p.collateralAsset == p.debtAsset) {
      IAavePoolFlashLiquidation(pool).liquidationCall(p.collateralAsset, p.debtAsset, p.user, p.debtToCover, false);
      uint256 unspent = debt.allowance(address(this), pool);
      outcome.debtRepaid = approval - unspent;
      outcome.collateralSeized = debt.balanceOf(address(this)) + outcome.debtRepaid - debtBefore;
      if (unspent != 0) debt.forceApprove(pool, 0);
      return outcome;
    }

    uint256 collateralBefore = collateral.balanceOf(address(this));
    IAavePoolFlashLiquidation(pool).liquidationCall(p.collateralAsset, p.debtAsset, p.user, p.debtToCover, false);
    uint256 debtAfterLiquidation = debt.balanceOf(address(this));
    outcome.debtRepaid = debtBefore - debtAfterLiquidation;
    outcome.collateralSeized = collateral.balanceOf(address(this)) - collateralBefore;
    _clearAllowance(debt, pool);

    collateral.forceApprove(swapRouter, outcome.collateralSeized);
    IV3SwapRouterExactInput(swapRouter).exactInput(
      IV3SwapRouterExactInput.ExactInputParams({
        path: p.swapPath,
        recipient: address(this),
        amountIn: outcome.collateralSeized,
        amountOutMinimum: p.amountOutMinimum
      })
    );
    outcome.swapAmountOut = debt.balanceOf(address(this)) - debtAfterLiquidation;
    // A pool that runs out of liquidity takes less than amountIn without reverting: clear what is left.
    _clearAllowance(collateral, swapRouter);
  }

  /// @dev Same asset: the path must be empty. Otherwise a well-formed path from the collateral to the debt asset.
  function _checkSwapPath(address collateralAsset, address debtAsset, bytes calldata path) private pure {
    if (collateralAsset == debtAsset) {
      if (path.length != 0) revert InvalidSwapPath();
      return;
    }
    if (path.length < ADDR_SIZE + HOP_SIZE || (path.length - ADDR_SIZE) % HOP_SIZE != 0) revert InvalidSwapPath();
    if (address(bytes20(path[:ADDR_SIZE])) != collateralAsset) revert InvalidSwapPath();
    if (address(bytes20(path[path.length - ADDR_SIZE:])) != debtAsset) revert InvalidSwapPath();
  }

  function _clearAllowance(IERC20 token, address spender) private {
    if (token.allowance(address(this), spender) != 0) token.forceApprove(spender, 0);
  }

  function _phase() private view returns (uint256) {
    return PHASE_SLOT.asUint256().tload();
  }

  function _setPhase(uint256 phase) private {
    PHASE_SLOT.asUint256().tstore(phase);
  }

  function _storeOutcome(Outcome memory outcome) private {
    uint256 slot = uint256(OUTCOME_SLOT);
    bytes32(slot).asUint256().tstore(outcome.debtRepaid);
    bytes32(slot + 1).asUint256().tstore(outcome.collateralSeized);
    bytes32(slot + 2).asUint256().tstore(outcome.swapAmountOut);
    bytes32(slot + 3).asUint256().tstore(outcome.flashPremium);
  }

  function _loadOutcome() private view returns (Outcome memory outcome) {
    uint256 slot = uint256(OUTCOME_SLOT);
    outcome.debtRepaid = bytes32(slot).asUint256().tload();
    outcome.collateralSeized = bytes32(slot + 1).asUint256().tload();
    outcome.swapAmountOut = bytes32(slot + 2).asUint256().tload();
    outcome.flashPremium = bytes32(slot + 3).asUint256().tload();
  }
}
