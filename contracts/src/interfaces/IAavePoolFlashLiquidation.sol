// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title IAavePoolFlashLiquidation
/// @notice The subset of the Aave V3 Pool our liquidator calls. Written here rather than imported (Aave's sources
///         are BUSL); the signatures are the same in V3.0 (npm aave/core-v3) and v3.6 (npm aave-dao/aave-v3-origin).
interface IAavePoolFlashLiquidation {
  /// @dev Sends `amount` of `asset` to `receiverAddress`, calls its `executeOperation` with initiator = msg.sender,
  ///      then pulls `amount + premium` from it. Premium: FLASHLOAN_PREMIUM_TOTAL bps of `amount`, rounded half up
  ///      (percentMul) up to 3.4 and up (percentMulCeil) from 3.5 on.
  function flashLoanSimple(
    address receiverAddress,
    address asset,
    uint256 amount,
    bytes calldata params,
    uint16 referralCode
  ) external;

  /// @dev Pulls the debt it repays from msg.sender with transferFrom and sends the collateral (underlying when
  ///      receiveAToken = false) to msg.sender.
  function liquidationCall(
    address collateralAsset,
    address debtAsset,
    address user,
    uint256 debtToCover,
    bool receiveAToken
  ) external;
}

/// @title IFlashLoanSimpleCallback
/// @notice What the Aave V3 Pool calls on a `flashLoanSimple` receiver (IFlashLoanSimpleReceiver.executeOperation).
interface IFlashLoanSimpleCallback {
  function executeOperation(
    address asset,
    uint256 amount,
    uint256 premium,
    address initiator,
    bytes calldata params
  ) external returns (bool);
}
