// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @dev ReserveData (core-v3 V3.0) / DataTypes.ReserveDataLegacy (aave-v3-origin v3.6): the same 15 fields in the
///      same order and types, so one interface reads both. Only `id` and `currentVariableBorrowRate` are used.
struct OracleLensReserveData {
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

interface IOracleLensPool {
  function ADDRESSES_PROVIDER() external view returns (address);

  function getReservesList() external view returns (address[] memory);

  function getReserveData(address asset) external view returns (OracleLensReserveData memory);
}

interface IOracleLensAddressesProvider {
  function getPriceOracle() external view returns (address);
}

interface IOracleLensAaveOracle {
  function getSourceOfAsset(address asset) external view returns (address);

  function getAssetPrice(address asset) external view returns (uint256);
}

interface IOracleLensFeed {
  function latestRoundData()
    external
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

/// @title OracleLens
/// @notice What an Aave V3 Pool prices each reserve at, and the feed behind each price, in one eth_call. Meant to be
///         passed as an eth_call state override (its runtime code placed at any address), so no deployment is needed.
/// @dev `observe(pool)` returns a flat uint256[] (cheap to decode without an ABI coder):
///      - word 0: block.timestamp;
///      - word 1: the AaveOracle the Pool uses (`ADDRESSES_PROVIDER().getPriceOracle()`, as PoolLogic does);
///      - word 2: N, the length of `pool.getReservesList()`;
///      - then 9 words per reserve, in getReservesList order:
///        0 asset; 1 `getReserveData(asset).id`; 2 `getReserveData(asset).currentVariableBorrowRate` (ray, per year);
///        3 source (`oracle.getSourceOfAsset(asset)`);
///        4 price status; 5 price (`oracle.getAssetPrice(asset)`, base-currency units; 0 unless status is OK);
///        6 feed status; 7 `latestRoundData().answer` (int256 as its two's complement uint256);
///        8 `latestRoundData().updatedAt` (7 and 8 are 0 unless the feed status is OK).
///      Statuses: 1 OK, 2 REVERTED, 3 NO_CODE (source has no code), 4 SHORT_RETURN (less return data than the
///      function's static return size: 32 bytes for a price, 160 for a round), 5 NO_SOURCE (source is address(0)).
///      Prices and rounds are read with low-level staticcalls: a high-level try/catch does not catch a call to an
///      address without code nor a return-data decoding failure, and one bad asset must not hide the others.
///      Failures of the Pool, the provider or getSourceOfAsset revert the whole call (the market is unreadable).
contract OracleLens {
  uint256 internal constant HEADER_WORDS = 3;
  uint256 internal constant WORDS_PER_RESERVE = 9;

  uint256 internal constant OK = 1;
  uint256 internal constant REVERTED = 2;
  uint256 internal constant NO_CODE = 3;
  uint256 internal constant SHORT_RETURN = 4;
  uint256 internal constant NO_SOURCE = 5;

  function observe(IOracleLensPool pool) external view returns (uint256[] memory out) {
    IOracleLensAaveOracle oracle = IOracleLensAaveOracle(
      IOracleLensAddressesProvider(pool.ADDRESSES_PROVIDER()).getPriceOracle()
    );
    address[] memory assets = pool.getReservesList();
    out = new uint256[](HEADER_WORDS + assets.length * WORDS_PER_RESERVE);
    out[0] = block.timestamp;
    out[1] = uint256(uint160(address(oracle)));
    out[2] = assets.length;
    for (uint256 i = 0; i < assets.length; i++) {
      _observeReserve(pool, oracle, assets[i], out, HEADER_WORDS + i * WORDS_PER_RESERVE);
    }
  }

  function _observeReserve(
    IOracleLensPool pool,
    IOracleLensAaveOracle oracle,
    address asset,
    uint256[] memory out,
    uint256 o
  ) private view {
    OracleLensReserveData memory data = pool.getReserveData(asset);
    address source = oracle.getSourceOfAsset(asset);
    out[o] = uint256(uint160(asset));
    out[o + 1] = data.id;
    out[o + 2] = data.currentVariableBorrowRate;
    out[o + 3] = uint256(uint160(source));
    (out[o + 4], out[o + 5]) = _price(oracle, asset);
    (out[o + 6], out[o + 7], out[o + 8]) = _round(source);
  }

  function _price(IOracleLensAaveOracle oracle, address asset) private view returns (uint256 status, uint256 price) {
    (bool ok, bytes memory ret) = address(oracle).staticcall(
      abi.encodeCall(IOracleLensAaveOracle.getAssetPrice, (asset))
    );
    if (!ok) return (REVERTED, 0);
    if (ret.length < 32) return (SHORT_RETURN, 0);
    return (OK, abi.decode(ret, (uint256)));
  }

  function _round(address source) private view returns (uint256 status, uint256 answer, uint256 updatedAt) {
    if (source == address(0)) return (NO_SOURCE, 0, 0);
    if (source.code.length == 0) return (NO_CODE, 0, 0);
    (bool ok, bytes memory ret) = source.staticcall(abi.encodeCall(IOracleLensFeed.latestRoundData, ()));
    if (!ok) return (REVERTED, 0, 0);
    if (ret.length < 160) return (SHORT_RETURN, 0, 0);
    // Decoded as five uint256 so that no value can fail ABI validation (a uint80 with dirty high bits would);
    // the int256 answer keeps its bits.
    (, answer, , updatedAt, ) = abi.decode(ret, (uint256, uint256, uint256, uint256, uint256));
    return (OK, answer, updatedAt);
  }
}
