// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title SettablePriceFeed
/// @notice A Chainlink-style aggregator for local markets. Answers both the legacy `latestAnswer()` that
///         AaveOracle reads and `latestRoundData()` with `updatedAt`, which the keeper checks for staleness.
///         Only the owner may move the price; `setRoundData` lets tests back-date `updatedAt` to simulate a
///         feed that stopped updating.
contract SettablePriceFeed {
  address public immutable owner;
  uint8 public immutable decimals;
  string public description;

  int256 private _answer;
  uint80 private _roundId;
  uint256 private _updatedAt;

  event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

  error NotOwner();

  constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
    owner = msg.sender;
    decimals = decimals_;
    description = description_;
    _set(initialAnswer, block.timestamp);
  }

  function setPrice(int256 answer) external {
    if (msg.sender != owner) revert NotOwner();
    _set(answer, block.timestamp);
  }

  function setRoundData(int256 answer, uint256 updatedAt) external {
    if (msg.sender != owner) revert NotOwner();
    _set(answer, updatedAt);
  }

  function latestAnswer() external view returns (int256) {
    return _answer;
  }

  function latestTimestamp() external view returns (uint256) {
    return _updatedAt;
  }

  function latestRound() external view returns (uint256) {
    return _roundId;
  }

  function latestRoundData()
    external
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
  {
    return (_roundId, _answer, _updatedAt, _updatedAt, _roundId);
  }

  function _set(int256 answer, uint256 updatedAt) private {
    _roundId += 1;
    _answer = answer;
    _updatedAt = updatedAt;
    emit AnswerUpdated(answer, _roundId, updatedAt);
  }
}
