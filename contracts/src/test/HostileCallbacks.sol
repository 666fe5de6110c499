// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title HostileSwapRouter
/// @notice TEST ONLY (test/integration/liquidator-contract.test.ts): never deploy it anywhere but a local world.
///         Stands in for SwapRouter02 in a Liquidator under test. When that Liquidator calls `exactInput` (in the
///         middle of a liquidation, its lock held), it makes the call it was armed with — re-enter `liquidate`,
///         call `executeOperation` itself, start a flash loan to the Liquidator — and bubbles that call's revert,
///         so the test sees which check stopped it. If the call goes through, it reverts with AttackSucceeded.
contract HostileSwapRouter {
  struct ExactInputParams {
    bytes path;
    address recipient;
    uint256 amountIn;
    uint256 amountOutMinimum;
  }

  address public target;
  bytes public payload;

  error AttackSucceeded(bytes returned);

  function arm(address target_, bytes calldata payload_) external {
    target = target_;
    payload = payload_;
  }

  /// @dev Same selector as IV3SwapRouter.exactInput; never swaps.
  function exactInput(ExactInputParams calldata) external payable returns (uint256) {
    (bool ok, bytes memory returned) = target.call(payload);
    if (!ok) {
      assembly ('memory-safe') {
        revert(add(returned, 32), mload(returned))
      }
    }
    revert AttackSucceeded(returned);
  }
}
