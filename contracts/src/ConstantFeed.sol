// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title ConstantFeed
/// @notice A Chainlink aggregator stand-in with no constructor and no setters, meant only to be placed at a feed's
///         address through an eth_call state override (`code` = this runtime code, `state` = the four slots below,
///         replacing the feed's whole storage). Simulates "the pending price update has landed" without a
///         deployment: AaveOracle reads `latestAnswer()`, the keeper's oracle lens reads `latestRoundData()`.
/// @dev Storage layout (every value a full 32-byte word; unset slots read as zero):
///      - slot 0: answer, int256 (two's complement);
///      - slot 1: updatedAt, seconds since the epoch (also reported as startedAt and latestTimestamp);
///      - slot 2: decimals, returned as uint8 (the low byte of the word);
///      - slot 3: roundId, returned as uint80 (the low 80 bits of the word; also answeredInRound and latestRound).
///      functions/adapters/chain/price-override.ts writes exactly these slots.
contract ConstantFeed {
  uint256 internal constant ANSWER_SLOT = 0;
  uint256 internal constant UPDATED_AT_SLOT = 1;
  uint256 internal constant DECIMALS_SLOT = 2;
  uint256 internal constant ROUND_ID_SLOT = 3;

  /// @notice The one round this feed knows is `latestRound()`; any other id has no data (as a Chainlink aggregator
  ///         reports a round it never saw).
  error NoDataPresent(uint80 roundId);

  function latestAnswer() external view returns (int256) {
    return int256(_word(ANSWER_SLOT));
  }

  function latestTimestamp() external view returns (uint256) {
    return _word(UPDATED_AT_SLOT);
  }

  function latestRound() external view returns (uint256) {
    return uint256(_roundId());
  }

  function decimals() external view returns (uint8) {
    return uint8(_word(DECIMALS_SLOT));
  }

  /// @notice Empty: the override carries no description.
  function description() external pure returns (string memory) {
    return '';
  }

  function latestRoundData()
    external
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
  {
    return _round();
  }

  function getRoundData(
    uint80 roundId_
  ) external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) {
    if (roundId_ != _roundId()) revert NoDataPresent(roundId_);
    return _round();
  }

  function _round()
    private
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
  {
    roundId = _roundId();
    answer = int256(_word(ANSWER_SLOT));
    updatedAt = _word(UPDATED_AT_SLOT);
    return (roundId, answer, updatedAt, updatedAt, roundId);
  }

  function _roundId() private view returns (uint80) {
    return uint80(_word(ROUND_ID_SLOT));
  }

  function _word(uint256 slot) private view returns (uint256 value) {
    assembly {
      value := sload(slot)
    }
  }
}
