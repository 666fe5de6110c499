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

describe('batch gas with every item failing at its last guard', () => {
  // Ten items on the v3.6 world (liquidator-batch.test.ts): 3.54M gas when all succeed, 5.66M (limit 7.07M) when
  // every one fails at its profit guard, each failed item leaving the next to pay for cold storage again.
  const measured = { gasEstimate: 3_537_794n, gasLimit: 4_422_242n };

  it('limits the batch to what it costs if its items fail in their block, when that is more than half again', () => {
    expect(batchGasOf(measured, measured, undefined, { gasLimit: 7_072_246n })).toEqual({ gasEstimate: 3_537_794n, gasLimit: 7_072_246n });
  });

  it('keeps the estimate of the batch that succeeds, and half again it when the worst case costs less', () => {
    expect(batchGasOf(measured, measured, undefined, { gasLimit: 4_000_000n })).toEqual({ gasEstimate: 3_537_794n, gasLimit: 5_306_691n });
    expect(batchGasOf(measured, measured, undefined, undefined)).toEqual(batchGasOf(measured, measured));
  });
});
