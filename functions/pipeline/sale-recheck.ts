/**
 * When to offer again a borrower whose liquidation the pool's price alone made unprofitable (`pricedOutBySale`:
 * profitable at the assumed swap cost, or alone before its batch's earlier sales moved the pool). Its enqueue mark
 * would otherwise keep it off the queue for the mark's whole length (SCANNER_REENQUEUE_AFTER_BLOCKS, 150 by
 * default: 5 minutes at 2 s blocks, 30 at 12 s), although after a crash, or after the keeper's own sales, arbitrage
 * brings the pool back within a few blocks.
 *
 * The wait is a quarter of the time the account has been liquidatable, at least SALE_RECHECK_MIN_BLOCKS and at
 * most the mark's length: early in an episode the account is looked at again within a few blocks; a pool that
 * stays below the oracle (a thin market nobody arbitrages) is looked at less and less often, reaching the mark's
 * own pace after about 20 looks, so a lasting case costs a bounded number of reads.
 */

/** The shortest wait, in blocks: the world's (and mainnet's) arbitrage needs a block or two. */
export const SALE_RECHECK_MIN_BLOCKS = 3;

/** The block from which the scanner may offer the borrower again. */
export function saleRecheckBlock(readBlock: number, firstLiquidatableBlock: number, reenqueueAfterBlocks: number): number {
  const age = Math.max(0, readBlock - firstLiquidatableBlock);
  const wait = Math.min(reenqueueAfterBlocks, Math.max(SALE_RECHECK_MIN_BLOCKS, Math.ceil(age / 4)));
  return readBlock + wait;
}
