import { batchGasOf } from '../../../functions/pipeline/batch-execution';

describe('batch gas', () => {
  it('takes the larger estimate of the two simulations: one made where an item failed early must not size the batch', () => {
    // Unguarded: two items liquidated (~0.7M). Guarded, estimated on a state where the pool had moved: item 1
    // tripped its bound after little work (~0.58M), as in a mass run whose batch then reverted ItemOutOfGas.
    const gas = batchGasOf({ gasEstimate: 710_000n, gasLimit: 781_000n }, { gasEstimate: 582_000n, gasLimit: 640_200n });
    expect(gas).toEqual({ gasEstimate: 710_000n, gasLimit: 1_065_000n });
    expect(batchGasOf({ gasEstimate: 582_000n, gasLimit: 640_200n }, { gasEstimate: 710_000n, gasLimit: 781_000n })).toEqual(gas);
  });

  it('gives at least half again the estimate, or the adapter limit when that is larger', () => {
    expect(batchGasOf({ gasEstimate: 1_000_000n, gasLimit: 1_100_000n }, { gasEstimate: 1_000_000n, gasLimit: 1_100_000n }).gasLimit).toBe(1_500_000n);
    expect(batchGasOf({ gasEstimate: 1_000_000n, gasLimit: 2_000_000n }, { gasEstimate: 1_000_000n, gasLimit: 1_100_000n }).gasLimit).toBe(2_000_000n);
  });
});

describe('batch gas with the pending block', () => {
  it('takes the pending simulation\'s estimate when its swaps, after the sales ahead, cost more', () => {
    const atBlock = { gasEstimate: 700_000n, gasLimit: 770_000n };
    expect(batchGasOf(atBlock, atBlock, { gasEstimate: 820_000n, gasLimit: 902_000n })).toEqual({ gasEstimate: 820_000n, gasLimit: 1_230_000n });
    expect(batchGasOf(atBlock, atBlock, { gasEstimate: 650_000n, gasLimit: 715_000n })).toEqual(batchGasOf(atBlock, atBlock));
  });
});
