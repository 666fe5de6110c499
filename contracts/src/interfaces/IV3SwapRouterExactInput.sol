// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title IV3SwapRouterExactInput
/// @notice `exactInput` of Uniswap's SwapRouter02 (npm @uniswap/swap-router-contracts, IV3SwapRouter): the struct
///         has no deadline field, unlike the original SwapRouter of v3-periphery (a different selector).
interface IV3SwapRouterExactInput {
  struct ExactInputParams {
    /// @dev tokenIn (20 bytes) | fee (uint24) | token | fee | … | tokenOut, packed.
    bytes path;
    address recipient;
    uint256 amountIn;
    uint256 amountOutMinimum;
  }

  /// @dev Reverts 'Too little received' when the output is below amountOutMinimum.
  function exactInput(ExactInputParams calldata params) external payable returns (uint256 amountOut);
}
