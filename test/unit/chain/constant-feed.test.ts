import { Interface } from 'ethers';
import { CONSTANT_FEED_RUNTIME_BYTECODE } from '../../../functions/adapters/chain/constant-feed';
import { loadArtifact } from '../../../local/world/artifacts';

describe('constant feed', () => {
  it('embeds exactly the runtime bytecode of a fresh compile of contracts/src/ConstantFeed.sol', () => {
    expect(CONSTANT_FEED_RUNTIME_BYTECODE).toBe(loadArtifact('own', 'ConstantFeed').deployedBytecode);
  });

  it('answers the Chainlink aggregator functions AaveOracle and the keeper call, and nothing that writes', () => {
    const abi = new Interface(loadArtifact('own', 'ConstantFeed').abi as string[]);
    const functions = abi.fragments.filter((f) => f.type === 'function').map((f) => abi.getFunction(f.format('sighash'))!);

    expect(functions.map((f) => f.format('sighash')).sort()).toEqual([
      'decimals()',
      'description()',
      'getRoundData(uint80)',
      'latestAnswer()',
      'latestRound()',
      'latestRoundData()',
      'latestTimestamp()',
    ]);
    expect(functions.every((f) => f.stateMutability === 'view' || f.stateMutability === 'pure')).toBe(true);
    expect(abi.getFunction('latestRoundData')!.outputs.map((o) => o.type)).toEqual(['uint80', 'int256', 'uint256', 'uint256', 'uint80']);
  });
});
