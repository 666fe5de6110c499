// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @dev ReserveData (core-v3 V3.0) / DataTypes.ReserveDataLegacy (aave-v3-origin v3.6): the same 15 fields in the
///      same order and types, so one interface reads both.
struct PositionLensReserveData {
  uint256 configuration;
  uint128 liquidityIndex;
  uint128 currentLiquidityRate;
  uint128 variableBorrowIndex;
  uint128 currentVariableBorrowRate;
  uint128 currentStableBorrowRate;
  uint40 lastUpdateTimestamp;
  uint16 id;
  address aTokenAddress;
  address stableDebtTokenAddress;
  address variableDebtTokenAddress;
  address interestRateStrategyAddress;
  uint128 accruedToTreasury;
  uint128 unbacked;
  uint128 isolationModeTotalDebt;
}

/// @dev DataTypes.EModeCategory of V3.0–3.1 (`getEModeCategoryData`).
struct PositionLensEModeCategory {
  uint16 ltv;
  uint16 liquidationThreshold;
  uint16 liquidationBonus;
  address priceSource;
  string label;
}

/// @dev DataTypes.CollateralConfig of 3.2+ (`getEModeCategoryCollateralConfig`).
struct PositionLensCollateralConfig {
  uint16 ltv;
  uint16 liquidationThreshold;
  uint16 liquidationBonus;
}

interface IPositionLensPool {
  function ADDRESSES_PROVIDER() external view returns (address);

  function getReservesList() external view returns (address[] memory);

  function getReserveData(address asset) external view returns (PositionLensReserveData memory);

  function getReserveNormalizedIncome(address asset) external view returns (uint256);

  function getReserveNormalizedVariableDebt(address asset) external view returns (uint256);

  /// @dev v3.1+ only.
  function getLiquidationGracePeriod(address asset) external view returns (uint40);

  /// @dev v3.1+ only.
  function getVirtualUnderlyingBalance(address asset) external view returns (uint128);

  /// @dev core-v3 returns UserConfigurationMap (a struct of one uint256): the same encoding.
  function getUserConfiguration(address user) external view returns (uint256);

  function getUserEMode(address user) external view returns (uint256);

  function getEModeCategoryData(uint8 id) external view returns (PositionLensEModeCategory memory);

  function getEModeCategoryCollateralConfig(uint8 id) external view returns (PositionLensCollateralConfig memory);

  function getEModeCategoryCollateralBitmap(uint8 id) external view returns (uint128);
}

interface IPositionLensAddressesProvider {
  function getPriceOracle() external view returns (address);

  function getPriceOracleSentinel() external view returns (address);
}

interface IPositionLensOracle {
  function getAssetsPrices(address[] calldata assets) external view returns (uint256[] memory);

  function getAssetPrice(address asset) external view returns (uint256);
}

interface IPositionLensSentinel {
  function isLiquidationAllowed() external view returns (bool);
}

interface IPositionLensToken {
  function balanceOf(address account) external view returns (uint256);

  function scaledBalanceOf(address account) external view returns (uint256);
}

/// @title PositionLens
/// @notice What functions/adapters/chain/aave-v3-position-reader.ts reads of an Aave V3 market (per block) or of one
///         borrower, in ONE eth_call, run "deployless": the eth_call has no `to` and its data is this contract's
///         creation code followed by the ABI-encoded constructor arguments. The constructor makes the reads and
///         returns their ABI-encoded `uint256[]` with assembly `return`, so the node answers it as the call's
///         result. No deployment, no state override: any node runs it. Nothing is written; a read that reverts
///         reverts the whole call (as it fails the per-call read).
/// @dev Constructor `(pool, user, flags, firstReserve)`. `flags`: USER (1, else the market), GRACE_PERIOD (2:
///      getLiquidationGracePeriod exists, 3.1+), VIRTUAL_ACCOUNTING (4: getVirtualUnderlyingBalance, 3.1+),
///      STABLE_DEBT (8: read stable debt balances, up to 3.1), LIQUID_EMODE (16: 3.2+ eMode getters, else
///      getEModeCategoryData with its price source).
///
///      Market (`user` ignored): header of 6 words, then 10 words per reserve of getReservesList[firstReserve ..
///      firstReserve + count), count = min(MAX_RESERVES_PER_CALL, N − firstReserve) (the returned code must stay
///      under EIP-170's 24,576 bytes, which nodes also apply to eth_call creations):
///      - header: block.timestamp; the AaveOracle (`ADDRESSES_PROVIDER().getPriceOracle()`); the price-oracle
///        sentinel (0 none, 1 allows liquidations, 2 blocks them); N; firstReserve; count;
///      - reserve: 0 asset | id << 160 | liquidationGracePeriod << 176 (0 without GRACE_PERIOD); 1 configuration;
///        2 aToken; 3 stable debt token; 4 variable debt token; 5 price (`getAssetsPrices` of the slice);
///        6 getReserveNormalizedIncome; 7 getReserveNormalizedVariableDebt; 8 `asset.balanceOf(aToken)`;
///        9 getVirtualUnderlyingBalance (0 without VIRTUAL_ACCOUNTING).
///      User: header of 7 words, then 7 words per reserve the user holds or owes anything of:
///      - header: getUserConfiguration; getUserEMode; the category's liquidation threshold; its bonus; with
///        LIQUID_EMODE its collateral bitmap, else its price source; the price source's `getAssetPrice` (0 without
///        a source or with LIQUID_EMODE); N, the reserve count; then (implicit) the entries (category words are 0
///        for category 0);
///      - entry: index in getReservesList; asset; aToken balanceOf; aToken scaledBalanceOf; variable debt
///        balanceOf and scaledBalanceOf (0 unless the user borrows the reserve); stable debt balanceOf (0 unless
///        STABLE_DEBT, a stable debt token and borrowing).
contract PositionLens {
  uint256 internal constant USER = 1;
  uint256 internal constant GRACE_PERIOD = 2;
  uint256 internal constant VIRTUAL_ACCOUNTING = 4;
  uint256 internal constant STABLE_DEBT = 8;
  uint256 internal constant LIQUID_EMODE = 16;

  uint256 internal constant MARKET_HEADER_WORDS = 6;
  uint256 internal constant WORDS_PER_RESERVE = 10;
  /// @dev 72 reserves: (2 + 6 + 72·10) words = 23,296 bytes, under EIP-170's 24,576.
  uint256 internal constant MAX_RESERVES_PER_CALL = 72;
  uint256 internal constant USER_HEADER_WORDS = 7;
  uint256 internal constant WORDS_PER_ENTRY = 7;

  error PositionLensPricesLength(uint256 expected, uint256 got);
  error PositionLensEModeCategoryId(uint256 id);

  constructor(IPositionLensPool pool, address user, uint256 flags, uint256 firstReserve) {
    uint256[] memory out = flags & USER != 0 ? _user(pool, user, flags) : _market(pool, flags, firstReserve);
    bytes memory encoded = abi.encode(out);
    assembly {
      return(add(encoded, 0x20), mload(encoded))
    }
  }

  function _market(IPositionLensPool pool, uint256 flags, uint256 first) private view returns (uint256[] memory out) {
    IPositionLensAddressesProvider provider = IPositionLensAddressesProvider(pool.ADDRESSES_PROVIDER());
    address oracle = provider.getPriceOracle();
    address sentinel = provider.getPriceOracleSentinel();
    address[] memory assets = pool.getReservesList();
    uint256 count = first >= assets.length ? 0 : assets.length - first;
    if (count > MAX_RESERVES_PER_CALL) count = MAX_RESERVES_PER_CALL;
    address[] memory slice = new address[](count);
    for (uint256 i = 0; i < count; i++) slice[i] = assets[first + i];
    uint256[] memory prices = IPositionLensOracle(oracle).getAssetsPrices(slice);
    if (prices.length != count) revert PositionLensPricesLength(count, prices.length);

    out = new uint256[](MARKET_HEADER_WORDS + count * WORDS_PER_RESERVE);
    out[0] = block.timestamp;
    out[1] = uint256(uint160(oracle));
    if (sentinel != address(0)) out[2] = IPositionLensSentinel(sentinel).isLiquidationAllowed() ? 1 : 2;
    out[3] = assets.length;
    out[4] = first;
    out[5] = count;
    for (uint256 i = 0; i < count; i++) {
      _reserve(pool, flags, slice[i], out, MARKET_HEADER_WORDS + i * WORDS_PER_RESERVE);
      out[MARKET_HEADER_WORDS + i * WORDS_PER_RESERVE + 5] = prices[i];
    }
  }

  function _reserve(IPositionLensPool pool, uint256 flags, address asset, uint256[] memory out, uint256 o) private view {
    PositionLensReserveData memory data = pool.getReserveData(asset);
    uint256 grace = flags & GRACE_PERIOD != 0 ? pool.getLiquidationGracePeriod(asset) : 0;
    out[o] = uint256(uint160(asset)) | (uint256(data.id) << 160) | (grace << 176);
    out[o + 1] = data.configuration;
    out[o + 2] = uint256(uint160(data.aTokenAddress));
    out[o + 3] = uint256(uint160(data.stableDebtTokenAddress));
    out[o + 4] = uint256(uint160(data.variableDebtTokenAddress));
    out[o + 6] = pool.getReserveNormalizedIncome(asset);
    out[o + 7] = pool.getReserveNormalizedVariableDebt(asset);
    out[o + 8] = IPositionLensToken(asset).balanceOf(data.aTokenAddress);
    if (flags & VIRTUAL_ACCOUNTING != 0) out[o + 9] = pool.getVirtualUnderlyingBalance(asset);
  }

  function _user(IPositionLensPool pool, address user, uint256 flags) private view returns (uint256[] memory out) {
    uint256 config = pool.getUserConfiguration(user);
    uint256 category = pool.getUserEMode(user);
    address[] memory assets = pool.getReservesList();
    // Entries first into a buffer as long as the worst case, then copied behind the header.
    uint256[] memory entries = new uint256[](assets.length * WORDS_PER_ENTRY);
    uint256 used = 0;
    for (uint256 i = 0; i < assets.length; i++) {
      if (_entry(pool, user, flags, config, i, assets[i], entries, used)) used += WORDS_PER_ENTRY;
    }
    out = new uint256[](USER_HEADER_WORDS + used);
    out[0] = config;
    out[1] = category;
    if (category != 0) _category(pool, flags, category, out);
    out[6] = assets.length;
    for (uint256 j = 0; j < used; j++) out[USER_HEADER_WORDS + j] = entries[j];
  }

  /// @dev Header words 2–5: the category's threshold, bonus, bitmap or price source, and the source's price.
  function _category(IPositionLensPool pool, uint256 flags, uint256 category, uint256[] memory out) private view {
    if (category > type(uint8).max) revert PositionLensEModeCategoryId(category);
    uint8 id = uint8(category);
    if (flags & LIQUID_EMODE != 0) {
      PositionLensCollateralConfig memory config = pool.getEModeCategoryCollateralConfig(id);
      out[2] = config.liquidationThreshold;
      out[3] = config.liquidationBonus;
      out[4] = pool.getEModeCategoryCollateralBitmap(id);
      return;
    }
    PositionLensEModeCategory memory data = pool.getEModeCategoryData(id);
    out[2] = data.liquidationThreshold;
    out[3] = data.liquidationBonus;
    out[4] = uint256(uint160(data.priceSource));
    if (data.priceSource != address(0)) {
      // EModeLogic.getEModeConfiguration: the source is priced by the AaveOracle as an asset.
      IPositionLensOracle oracle = IPositionLensOracle(
        IPositionLensAddressesProvider(pool.ADDRESSES_PROVIDER()).getPriceOracle()
      );
      out[5] = oracle.getAssetPrice(data.priceSource);
    }
  }

  /// @dev Writes the user's entry for reserve `index` at `entries[o..]`; false (to be overwritten) when the user holds
  ///      and owes nothing of it.
  function _entry(
    IPositionLensPool pool,
    address user,
    uint256 flags,
    uint256 config,
    uint256 index,
    address asset,
    uint256[] memory entries,
    uint256 o
  ) private view returns (bool) {
    PositionLensReserveData memory data = pool.getReserveData(asset);
    entries[o] = index;
    entries[o + 1] = uint256(uint160(asset));
    entries[o + 2] = IPositionLensToken(data.aTokenAddress).balanceOf(user);
    entries[o + 3] = IPositionLensToken(data.aTokenAddress).scaledBalanceOf(user);
    entries[o + 4] = 0;
    entries[o + 5] = 0;
    entries[o + 6] = 0;
    // UserConfiguration: bit 2·id = borrowing.
    if ((config >> (uint256(data.id) * 2)) & 1 == 1) {
      entries[o + 4] = IPositionLensToken(data.variableDebtTokenAddress).balanceOf(user);
      entries[o + 5] = IPositionLensToken(data.variableDebtTokenAddress).scaledBalanceOf(user);
      if (flags & STABLE_DEBT != 0 && data.stableDebtTokenAddress != address(0)) {
        entries[o + 6] = IPositionLensToken(data.stableDebtTokenAddress).balanceOf(user);
      }
    }
    return entries[o + 2] != 0 || entries[o + 4] != 0 || entries[o + 6] != 0;
  }
}
