// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title QuoteLens
/// @notice Several Uniswap V3 QuoterV2 quotes in one eth_call, run "deployless": the call has no `to`, its data
///         is this contract's creation code and constructor arguments, and the constructor returns the result
///         (functions/adapters/chain/uniswap-v3-quoter.ts). Nothing is deployed: QuoterV2 runs each swap and
///         reverts with its result, and whatever a quote touches is discarded with the eth_call.
/// @dev Result: three words per path, in order: ok (1, or 0 where the quoter reverted: no pool or not enough
///      liquidity on that route), amountOut, the quoter's gasEstimate. A path that reverts costs only its own slot;
///      the call itself reverts only when it runs out of gas (the caller's gas allowance covers every path).
contract QuoteLens {
  bytes4 private constant QUOTE_EXACT_INPUT = bytes4(keccak256('quoteExactInput(bytes,uint256)'));

  constructor(address quoter, bytes[] memory paths, uint256 amountIn) {
    uint256[] memory out = new uint256[](paths.length * 3);
    for (uint256 i = 0; i < paths.length; i++) {
      (bool ok, bytes memory ret) = quoter.call(abi.encodeWithSelector(QUOTE_EXACT_INPUT, paths[i], amountIn));
      // quoteExactInput returns (uint256 amountOut, uint160[], uint32[], uint256 gasEstimate): at least 4 head words.
      if (!ok || ret.length < 128) continue;
      (uint256 amountOut, , , uint256 gasEstimate) = abi.decode(ret, (uint256, uint160[], uint32[], uint256));
      out[i * 3] = 1;
      out[i * 3 + 1] = amountOut;
      out[i * 3 + 2] = gasEstimate;
    }
    bytes memory encoded = abi.encode(out);
    assembly {
      return(add(encoded, 32), mload(encoded))
    }
  }
}
