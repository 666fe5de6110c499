/**
 * The rest of a chunked liquidation (funded-plan.ts, incremental reduction): after a chunk is mined, the rest of the
 * position is offered again as an ordinary candidate message, due a few blocks later so that arbitrage can bring the
 * pool back first. Pure: the worker wires it (a mined chunk → `restCandidateOf` → CandidateQueue.publish; a message
 * `notYetDue` → back to the queue with Redelivery.retryAfter and a batch item failure).
 *
 * Why this never duplicates an attempt. The follow-up's `detectedBlock` is the chunk's mined block, so its FIFO
 * deduplication id (`chain#pool#borrower#minedBlock`, candidate-message.ts) is a new opportunity — and exactly the
 * one a scanner detection of the account at that block would carry. SQS drops the second of the two within its
 * 5-minute deduplication window; outside it, the ledger's conditional claim on the opportunity makes them one
 * attempt (the later delivery finds the claim and returns `duplicate`). A redelivered follow-up is the same message
 * with the same id. The worker plans the rest anew at its own read block: the marker's `restRepayUnits` only says
 * that something is left, not how much to repay then.
 */
import { decodePlan } from './execution-plan';
import type { CandidateMessage } from './candidate-message';
import type { ExecutionResult } from './execute-candidate';

/** Blocks between a mined chunk and its rest: one block for arbitrageurs to refill the pool after ours. */
export const REST_DELAY_BLOCKS = 1;

/**
 * The candidate message for the rest of a mined chunk, or undefined when `result` is not one (not mined, not a
 * chunk, or nothing left to repay):
 *
 *   borrower, chain, pool, firstLiquidatableBlock   the original message's (same account, same episode)
 *   detectedBlock                                    the chunk's mined block (a fresh opportunity, see the file comment)
 *   healthFactorWad                                  the plan's predicted health factor after the chunk
 *   notBeforeBlock                                   mined block + `delayBlocks` (default REST_DELAY_BLOCKS)
 *   source                                           the original's
 *
 * Throws MalformedPlanError when the result's plan does not decode (a result the worker itself produced always does).
 */
export function restCandidateOf(message: CandidateMessage, result: ExecutionResult, delayBlocks: number = REST_DELAY_BLOCKS): CandidateMessage | undefined {
  if (result.kind !== 'mined') return undefined;
  if (!Number.isInteger(delayBlocks) || delayBlocks < 0) throw new RangeError(`delayBlocks must be a whole number of blocks, got ${delayBlocks}`);
  const plan = decodePlan(result.plan, `result ${result.opportunity}`);
  if (!plan.chunk || plan.chunk.restRepayUnits === 0n) return undefined;
  return {
    version: 1,
    chainId: message.chainId,
    pool: message.pool,
    borrower: message.borrower,
    detectedBlock: result.minedBlock,
    healthFactorWad: plan.healthFactorAfterWad.toString(),
    firstLiquidatableBlock: message.firstLiquidatableBlock,
    source: message.source,
    notBeforeBlock: result.minedBlock + delayBlocks,
  };
}

export type Due = { kind: 'due' } | { kind: 'not-yet-due'; notBeforeBlock: number; blocksLeft: number };

/**
 * Whether `message` may be worked on at `latestBlock`: due without `notBeforeBlock`, or once the chain has reached
 * it. Not yet due: the worker leaves the message to the queue (Redelivery.retryAfter ≈ blocksLeft × block time, and
 * a batch item failure) without reading, claiming or recording anything.
 */
export function notYetDue(message: CandidateMessage, latestBlock: number): Due {
  const notBeforeBlock = message.notBeforeBlock;
  if (notBeforeBlock === undefined || latestBlock >= notBeforeBlock) return { kind: 'due' };
  return { kind: 'not-yet-due', notBeforeBlock, blocksLeft: notBeforeBlock - latestBlock };
}
