// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IAccountDataPool {
  function getUserAccountData(
    address user
  )
    external
    view
    returns (
      uint256 totalCollateralBase,
      uint256 totalDebtBase,
      uint256 availableBorrowsBase,
      uint256 currentLiquidationThreshold,
      uint256 ltv,
      uint256 healthFactor
    );

  function getUserConfiguration(address user) external view returns (uint256);
}

/// @title HealthLens
/// @notice Batched `getUserAccountData` for many users in one eth_call. Returns a flat uint256[] of seven words per
///         user: the six of getUserAccountData in the Pool's order, then the user's configuration bitmap (which
///         reserves it borrows or uses as collateral). Cheap to decode without an ABI coder. Meant to be passed
///         as an eth_call state override (its runtime code placed at any address), so no deployment is needed.
contract HealthLens {
  uint256 internal constant WORDS_PER_USER = 7;

  function accountData(IAccountDataPool pool, address[] calldata users) external view returns (uint256[] memory out) {
    out = new uint256[](users.length * WORDS_PER_USER);
    for (uint256 i = 0; i < users.length; i++) {
      (uint256 c, uint256 d, uint256 a, uint256 lt, uint256 ltv, uint256 hf) = pool.getUserAccountData(users[i]);
      uint256 o = i * WORDS_PER_USER;
      out[o] = c;
      out[o + 1] = d;
      out[o + 2] = a;
      out[o + 3] = lt;
      out[o + 4] = ltv;
      out[o + 5] = hf;
      out[o + 6] = pool.getUserConfiguration(users[i]);
    }
  }
}
