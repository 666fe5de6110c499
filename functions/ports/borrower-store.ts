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
  /**
   * The enqueue mark: set when a candidate was enqueued, cleared by the worker once it is done with it. While it
   * is set the scanner does not enqueue the borrower again, until `enqueuedUntilBlock` at the latest.
   */
  enqueuedUntilBlock?: number;
  /** The block the marked candidate was enqueued at (absent on marks written without it). */
  enqueuedAtBlock?: number;
}

/** An enqueue mark as the store holds it now. */
export interface EnqueueMark {
  enqueuedUntilBlock: number;
  enqueuedAtBlock?: number;
}

export interface IndexerCheckpoint {
  /** Last block whose logs are fully indexed. */
  block: number;
  /** Hash of that block, to notice a reorg below the re-read depth. */
  blockHash: string;
  /**
   * The eth_getLogs window (blocks) the indexer was using when it wrote this checkpoint: the next run starts with
   * it, so a provider's limit learnt by halving is not learnt again by every invocation. Absent: the configured one.
   */
  logWindowBlocks?: number;
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
  /**
   * Writes the scan results of one block (tier, health, episode, enqueue marks) in batches. The enqueue mark is
   * written only when it is new, i.e. `enqueuedAtBlock` is this update's `lastScannedBlock` (or absent); an
   * older mark is left as stored, so a scanner never puts back a mark the worker cleared meanwhile. An update
   * without a mark removes it (the episode ended).
   */
  recordScan(market: string, updates: readonly TrackedBorrower[]): Promise<void>;
  /** Clears the enqueue mark once a worker finished with the borrower (whatever the outcome). */
  clearEnqueued(market: string, borrower: string): Promise<void>;
  /**
   * Brings the enqueue mark's expiry forward to `untilBlock`, never later and never back once cleared: the scanner
   * offers the borrower again from that block instead of at the mark's full expiry. A store without it keeps the
   * mark until it expires.
   */
  shortenEnqueued?(market: string, borrower: string, untilBlock: number): Promise<void>;
  /**
   * The enqueue marks held now for `borrowers`, by lowercase address, read consistently; a borrower missing
   * from the result has none (a worker cleared it). This is how a scanner learns within one invocation that a
   * worker is done with a borrower. A store that leaves it out (no worker ever clears its marks) keeps every
   * mark until it expires.
   */
  readEnqueueMarks?(market: string, borrowers: readonly string[]): Promise<ReadonlyMap<string, EnqueueMark>>;
  putSnapshots(market: string, snapshots: readonly AccountSnapshot[], retentionSec: number, nowSec: number): Promise<void>;
}

export interface CheckpointStore {
  getCheckpoint(id: string): Promise<IndexerCheckpoint | undefined>;
  /** Conditional on the previous value, so two overlapping indexers never move the checkpoint backwards. */
  putCheckpoint(id: string, next: IndexerCheckpoint, previous: IndexerCheckpoint | undefined): Promise<void>;
}
