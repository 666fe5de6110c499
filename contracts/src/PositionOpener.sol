// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @dev The subset of the Aave V3 Pool used to open positions; identical in V3.0 and V3.6.
interface IAavePoolMinimal {
  function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;

  function borrow(
    address asset,
    uint256 amount,
    uint256 interestRateMode,
    uint16 referralCode,
    address onBehalfOf
  ) external;

  function setUserEMode(uint8 categoryId) external;
}

interface IMintable {
  function mint(address to, uint256 amount) external;

  function approve(address spender, uint256 amount) external returns (bool);
}

/// @notice One borrower account. Its constructor mints and supplies the collateral, enters its eMode category
///         (if any), then borrows the debt at a variable rate, so the account is a real Aave position owned by
///         this contract's address.
contract SeededBorrower {
  constructor(
    IAavePoolMinimal pool,
    address[] memory collateralAssets,
    uint256[] memory collateralAmounts,
    address[] memory debtAssets,
    uint256[] memory debtAmounts,
    uint8 eModeCategory
  ) {
    for (uint256 i = 0; i < collateralAssets.length; i++) {
      IMintable(collateralAssets[i]).mint(address(this), collateralAmounts[i]);
      IMintable(collateralAssets[i]).approve(address(pool), collateralAmounts[i]);
      pool.supply(collateralAssets[i], collateralAmounts[i], address(this), 0);
    }
    if (eModeCategory != 0) pool.setUserEMode(eModeCategory);
    for (uint256 i = 0; i < debtAssets.length; i++) {
      pool.borrow(debtAssets[i], debtAmounts[i], 2, 0, address(this));
    }
  }
}

/// @title PositionOpener
/// @notice Opens many borrower positions in one transaction (each a SeededBorrower created with CREATE2), so a
///         local market with thousands of borrowers is seeded in a few hundred blocks instead of tens of
///         thousands of transactions.
contract PositionOpener {
  struct Position {
    bytes32 salt;
    address[] collateralAssets;
    uint256[] collateralAmounts;
    address[] debtAssets;
    uint256[] debtAmounts;
    uint8 eModeCategory;
  }

  event PositionOpened(bytes32 indexed salt, address indexed borrower);

  function open(IAavePoolMinimal pool, Position[] calldata positions) external returns (address[] memory borrowers) {
    borrowers = new address[](positions.length);
    for (uint256 i = 0; i < positions.length; i++) {
      Position calldata p = positions[i];
      SeededBorrower b = new SeededBorrower{salt: p.salt}(
        pool,
        p.collateralAssets,
        p.collateralAmounts,
        p.debtAssets,
        p.debtAmounts,
        p.eModeCategory
      );
      borrowers[i] = address(b);
      emit PositionOpened(p.salt, address(b));
    }
  }
}
