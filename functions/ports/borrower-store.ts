/**
 * Tracked borrowers of a market, the indexer's checkpoint, per-block snapshots, and the "already enqueued"
 * marks that keep the scanner from flooding the queue while a candidate is being worked on.
 */

/** How often the scanner re-reads an account: `hot` every block (HF near 1), `warm` every few, `cold` rarely. */
export type WatchTier = 'hot' | 'warm' | 'cold';

export interface TrackedBorrower {
  borrower: string;
  firstSeenBlock: number;
  lastEventBlock: number;
  tier: WatchTier;
  /** Last health factor seen (WAD, decimal string when stored); undefined before the first scan. */
  lastHealthFactorWad?: bigint;
  lastScannedBlock?: number;
  /** The block at which the current liquidatable episode began; cleared when the account is healthy again. */
  liquidatableSinceBlock?: number;
  /** Set when a candidate was enqueued; the scanner does not enqueue again before `enqueuedUntilBlock`. */
  enqueuedUntilBlock?: number;
}

export interface IndexerCheckpoint {
  /** Last block whose logs are fully indexed. */
  block: number;
  /** Hash of that block, to notice a reorg below the re-read depth. */
  blockHash: string;
}

export interface AccountSnapshot {
  borrower: string;
  block: number;
  healthFactorWad: bigint;
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
}

export interface BorrowerStore {
  /** Adds borrowers seen in events (idempotent; keeps firstSeenBlock, raises lastEventBlock). */
  upsertSeen(market: string, seen: readonly { borrower: string; block: number }[]): Promise<void>;
  listTracked(market: string): Promise<TrackedBorrower[]>;
  /** Writes the scan results of one block (tier, health, episode, enqueue marks) in batches. */
  recordScan(market: string, updates: readonly TrackedBorrower[]): Promise<void>;
  /** Clears the enqueue mark once a worker finished with the borrower (whatever the outcome). */
  clearEnqueued(market: string, borrower: string): Promise<void>;
  putSnapshots(market: string, snapshots: readonly AccountSnapshot[], retentionSec: number, nowSec: number): Promise<void>;
}

export interface CheckpointStore {
  getCheckpoint(id: string): Promise<IndexerCheckpoint | undefined>;
  /** Conditional on the previous value, so two overlapping indexers never move the checkpoint backwards. */
  putCheckpoint(id: string, next: IndexerCheckpoint, previous: IndexerCheckpoint | undefined): Promise<void>;
}
