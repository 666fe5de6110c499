/**
 * When a borrower priced out by the pool's sale is offered again: a quarter of its time liquidatable, between the
 * minimum and the enqueue mark's full length.
 */
import { SALE_RECHECK_MIN_BLOCKS, saleRecheckBlock } from '../../../functions/pipeline/sale-recheck';

describe('saleRecheckBlock', () => {
  it.each([
    ['just liquidatable: the minimum', 1_000, 1_000, 1_000 + SALE_RECHECK_MIN_BLOCKS],
    ['8 blocks in: still the minimum', 1_008, 1_000, 1_008 + SALE_RECHECK_MIN_BLOCKS],
    ['40 blocks in: a quarter, 10', 1_040, 1_000, 1_050],
    ['41 blocks in: rounded up, 11', 1_041, 1_000, 1_052],
    ['a day of 12 s blocks in: the mark\'s full length', 8_200, 1_000, 8_350],
    ['a first block after the read (clock skew between functions): the minimum', 1_000, 1_005, 1_000 + SALE_RECHECK_MIN_BLOCKS],
  ])('%s', (_, readBlock, firstLiquidatableBlock, expected) => {
    expect(saleRecheckBlock(readBlock, firstLiquidatableBlock, 150)).toBe(expected);
  });

  it('looks at a pool that stays priced out about twenty times before the mark\'s own pace', () => {
    // Liquidatable from block 0; each look schedules the next, until a quarter of the age reaches the 150-block mark.
    let block = 0;
    let looks = 0;
    while (block < 600) {
      block = saleRecheckBlock(block, 0, 150);
      looks++;
    }
    expect(looks).toBeGreaterThan(10);
    expect(looks).toBeLessThan(30);
  });
});
