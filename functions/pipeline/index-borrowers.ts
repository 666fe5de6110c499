/**
 * The borrower indexer: reads the market's account events from the checkpoint (minus a reorg margin) to the
 * chain head, in block windows, tracks every account that has or had debt, and moves the checkpoint after each
 * window. One run per scheduled invocation; a run that meets its deadline stops between windows and the next
 * run continues from the checkpoint.
 *
 * Which accounts are tracked: only debt can be liquidated, and debt in Aave V3 (and Morpho Blue) only appears
 * through a Borrow event (borrow(), flash loan into debt, credit delegation — all emit Borrow with onBehalfOf).
 * Repay and liquidation also prove the account had debt. Supply, withdraw and collateral switches of an
 * account not tracked yet are not enough (most suppliers never borrow); for a tracked account they still raise
 * `lastEventBlock`, so the scanner can tell its position changed.
 *
 * Windows adapt to the provider: a window the node refuses as too large (too many results, too wide a range, too
 * large a response) is halved and read again, and so is one refused by a rate limit (after a pause: some providers
 * answer an oversized query with their rate-limit code, -32005). After `logWindowGrowthAfter` windows in a row go
 * through, the window doubles again, up to `logWindow`. The window in use is stored with the checkpoint, so the next
 * run, warm or cold, starts where this one left off instead of re-learning the provider's limit.
 *
 * Backfill: a run stops starting windows at its deadline, or earlier when its slowest window so far would not end
 * before it; every window moves the checkpoint, so a backfill of millions of blocks progresses over invocations.
 *
 * Reorgs: the last `reorgDepth` blocks below the checkpoint are read again on every run that has new blocks,
 * which also repairs logs a load-balanced RPC endpoint missed on its freshest blocks. The checkpoint's block
 * hash tells whether anything at or below it changed: unchanged and no new block → the run does nothing.
 * Upserts are idempotent, so reading a block twice is harmless.
 */
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import type { BorrowerStore, CheckpointStore, IndexerCheckpoint } from '../ports/borrower-store';
import type { Clock } from '../ports/clock';
import type { DeficitLog, LiquidationLog } from '../ports/market-liquidations';
import { type CaptureTally, emptyCaptureTally, recordMarketEvents, type RecordMarketEventsDeps } from './record-liquidations';

/** What happened to an account, in protocol-neutral verbs (Morpho Blue has the same ones). */
export type AccountEventKind =
  | 'supply'
  | 'withdraw'
  | 'borrow'
  | 'repay'
  | 'liquidation'
  | 'collateral-enabled'
  | 'collateral-disabled';

export interface AccountEvent {
  kind: AccountEventKind;
  /** The account whose position changed (lowercase 0x address): onBehalfOf / user, never the caller. */
  account: string;
  block: number;
}

/**
 * A window either reads, or the node refuses it as too large (and a smaller one may pass). A source that reads
 * the details of LiquidationCall and DeficitCreated logs returns them too (record-liquidations.ts).
 */
export type AccountEventRead =
  | { kind: 'events'; events: AccountEvent[]; liquidations?: LiquidationLog[]; deficits?: DeficitLog[] }
  | { kind: 'range-too-large'; reason: string }
  /** The provider's rate limit refused the request: try again after a pause, with a smaller window. */
  | { kind: 'rate-limited'; reason: string };

/**
 * The market's account events on chain. Every method is exactly one JSON-RPC request, so the indexer can count
 * what a run costs (RPC providers bill per call). Belongs in functions/ports/ beside the other ports.
 */
export interface AccountEventSource {
  headBlock(): Promise<number>;
  /** Hash (lowercase 0x) of a block the node has; throws if it does not have it. */
  blockHash(block: number): Promise<string>;
  /** Events in [fromBlock, toBlock], both inclusive. Other node failures throw. */
  readEvents(fromBlock: number, toBlock: number): Promise<AccountEventRead>;
}

export interface IndexerSettings {
  /** First block ever read (the Pool's deployment block: nothing before it can concern the market). */
  startBlock: number;
  /**
   * Largest eth_getLogs window (blocks). The window in use is halved when the node refuses one as too large and
   * doubles back up to this after `logWindowGrowthAfter` windows in a row went through.
   */
  logWindow: number;
  /** Windows in a row that must go through before the window doubles (default 16: at most 1 refusal in 17 reads). */
  logWindowGrowthAfter?: number;
  /** Blocks below the checkpoint read again on every run. */
  reorgDepth: number;
  /**
   * A window that fails (node error, dropped connection, store error) is tried again after `windowRetryPauseMs`,
   * up to this many failures in a row; then the run fails and the next invocation continues from the checkpoint.
   * Without it one transient error in a flaky provider's 20 % cost the rest of the invocation (default 5).
   */
  maxConsecutiveWindowFailures?: number;
  /** Pause before a failed window is tried again (default 1,000 ms); never past the run's deadline. */
  windowRetryPauseMs?: number;
  /** Liquidation and deficit logs older than this below the head are not recorded (default 120, record-liquidations.ts). */
  captureLookbackBlocks?: number;
}

export interface IndexBorrowersDeps {
  /** The market key (`chainId#pool`): partition of the borrowers and id of the checkpoint. */
  market: string;
  settings: IndexerSettings;
  source: AccountEventSource;
  borrowers: Pick<BorrowerStore, 'upsertSeen' | 'listTracked'>;
  checkpoints: CheckpointStore;
  clock: Clock;
  /** Waits between a failed window and its retry (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Told of each failed window before it is tried again (the handler logs a warning and counts a metric). */
  onWindowFailed?: (failure: WindowFailure) => void;
  /**
   * Records each window's liquidations and deficits before the checkpoint moves past them (capture rate, bad
   * debt). Absent: they are not recorded.
   */
  capture?: RecordMarketEventsDeps;
  /** Aborted when the invocation is given up (middy's early timeout): the run starts no further window. */
  signal?: AbortSignal;
}

/** A window that failed and will be tried again. */
export interface WindowFailure {
  fromBlock: number;
  toBlock: number;
  consecutiveFailures: number;
  error: unknown;
}

/** What the checkpoint's block hash said about reorgs. */
export type ReorgCheck =
  | { kind: 'first-run' }
  | { kind: 'unchanged' }
  /** The block at the checkpoint is not the one indexed: a reorg reached it. Blocks below the re-read margin are not re-read. */
  | { kind: 'checkpoint-block-replaced'; block: number; indexedHash: string; currentHash: string };

export type IndexOutcome =
  /** Every block up to the head read at the start of the run is indexed. */
  | { kind: 'caught-up' }
  /** Nothing to do: no new block and the checkpoint's block is unchanged (or the start block is not mined yet). */
  | { kind: 'up-to-date' }
  /** Stopped between windows before the caller's deadline; the next run continues. */
  | { kind: 'deadline'; remainingBlocks: number }
  /** Another indexer moved the checkpoint to or past where this run was going; this run stopped. */
  | { kind: 'superseded'; current: IndexerCheckpoint | undefined }
  /** The node's head is below the checkpoint (a lagging node, or a chain that got shorter): nothing read. */
  | { kind: 'node-behind'; checkpointBlock: number };

export interface IndexBorrowersSummary {
  outcome: IndexOutcome;
  /** First block this run read (or would have read). */
  fromBlock: number;
  /** Last indexed block after the run: the checkpoint (fromBlock − 1 when nothing was ever indexed). */
  toBlock: number;
  /** The chain head read at the start of the run. */
  headBlock: number;
  /** eth_getLogs windows that returned logs (refused ones not counted). */
  windows: number;
  /** Final window size in blocks (below `logWindow` when the node refused larger ones); stored with the checkpoint. */
  windowBlocks: number;
  /** Windows the node refused as too large or by its rate limit (each halved the window). */
  refusedWindows: number;
  logs: number;
  /** Distinct tracked accounts with events in this run. */
  borrowersSeen: number;
  /** Accounts tracked for the first time in this run. */
  newBorrowers: number;
  /** JSON-RPC requests made, refused windows included. */
  rpcCalls: number;
  /** Windows that failed and were tried again in this run. */
  failedWindows: number;
  reorg: ReorgCheck;
  /** Liquidations and deficits recorded for the first time in this run (all zero without `capture`). */
  capture: CaptureTally;
}

/** The node refuses eth_getLogs even for a single block: smaller windows cannot help. */
export class LogWindowError extends Error {
  constructor(
    readonly block: number,
    readonly reason: string,
  ) {
    super(`the node refuses eth_getLogs even for the single block ${block}: ${reason}`);
    this.name = 'LogWindowError';
  }
}

/** The provider's rate limit refused a window (the window was halved, and is tried again after a pause). */
export class RateLimitedError extends Error {
  constructor(
    readonly fromBlock: number,
    readonly toBlock: number,
    readonly reason: string,
  ) {
    super(`the provider's rate limit refused eth_getLogs for blocks ${fromBlock}–${toBlock}: ${reason}`);
    this.name = 'RateLimitedError';
  }
}

export class CheckpointWriteError extends Error {
  constructor(
    readonly market: string,
    readonly next: IndexerCheckpoint,
    cause: unknown,
  ) {
    super(`moving the indexer checkpoint of ${market} to block ${next.block} failed`, { cause });
    this.name = 'CheckpointWriteError';
  }
}

/** Events that prove the account has, or had, debt: only those start tracking an account. */
const DEBT_EVENTS: ReadonlySet<AccountEventKind> = new Set<AccountEventKind>(['borrow', 'repay', 'liquidation']);

const DEFAULT_MAX_CONSECUTIVE_WINDOW_FAILURES = 5;
const DEFAULT_WINDOW_RETRY_PAUSE_MS = 1_000;
export const DEFAULT_LOG_WINDOW_GROWTH_AFTER = 16;

/** The window a run starts with: the one stored with the checkpoint, within 1…logWindow (the setting may have changed). */
function startingWindow(settings: IndexerSettings, checkpoint: IndexerCheckpoint | undefined): number {
  const stored = checkpoint?.logWindowBlocks;
  return stored === undefined ? settings.logWindow : Math.min(settings.logWindow, Math.max(1, Math.floor(stored)));
}

/** Conflicting checkpoint writes retried with the newer stored value before giving up. */
const MAX_CHECKPOINT_ATTEMPTS = 3;

const sameCheckpoint = (a: IndexerCheckpoint | undefined, b: IndexerCheckpoint | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.block === b.block && a.blockHash.toLowerCase() === b.blockHash.toLowerCase());

/** Indexes from the checkpoint to the head, stopping between windows once `deadlineMs` (clock time) is reached. */
export async function indexBorrowers(deps: IndexBorrowersDeps, deadlineMs: number): Promise<IndexBorrowersSummary> {
  const { market, settings, source, borrowers, checkpoints, clock } = deps;
  let rpcCalls = 0;
  const headBlock = await source.headBlock();
  rpcCalls++;
  let checkpoint = await checkpoints.getCheckpoint(market);
  let reorg: ReorgCheck = { kind: 'first-run' };
  // Added to as logs are recorded, so what a failed window recorded before failing is counted (once).
  const capture = emptyCaptureTally();

  const summary = (outcome: IndexOutcome, fromBlock: number, counts: Partial<IndexBorrowersSummary> = {}): IndexBorrowersSummary => ({
    outcome,
    fromBlock,
    toBlock: checkpoint?.block ?? fromBlock - 1,
    headBlock,
    windows: 0,
    windowBlocks: startingWindow(settings, checkpoint),
    refusedWindows: 0,
    logs: 0,
    borrowersSeen: 0,
    newBorrowers: 0,
    rpcCalls,
    failedWindows: 0,
    reorg,
    capture,
    ...counts,
  });

  if (checkpoint) {
    if (checkpoint.block > headBlock) return summary({ kind: 'node-behind', checkpointBlock: checkpoint.block }, checkpoint.block + 1);
    const currentHash = await source.blockHash(checkpoint.block);
    rpcCalls++;
    if (currentHash.toLowerCase() === checkpoint.blockHash.toLowerCase()) {
      reorg = { kind: 'unchanged' };
      if (headBlock === checkpoint.block) return summary({ kind: 'up-to-date' }, checkpoint.block + 1);
    } else {
      reorg = { kind: 'checkpoint-block-replaced', block: checkpoint.block, indexedHash: checkpoint.blockHash, currentHash };
    }
  }

  const fromBlock = checkpoint ? Math.max(settings.startBlock, checkpoint.block + 1 - settings.reorgDepth) : settings.startBlock;
  if (fromBlock > headBlock) return summary({ kind: 'up-to-date' }, fromBlock);

  let windowBlocks = startingWindow(settings, checkpoint);
  const growthAfter = settings.logWindowGrowthAfter ?? DEFAULT_LOG_WINDOW_GROWTH_AFTER;
  let windowsSinceResize = 0;
  let refusedWindows = 0;
  /** The longest a window took in this run (clock ms): no window is started that would not end before the deadline. */
  let slowestWindowMs = 0;
  let windows = 0;
  let logs = 0;
  let newBorrowers = 0;
  const seen = new Set<string>();
  // Accounts already tracked and the latest event block the store holds for each, loaded once on the first window
  // with events (see the file comment: events that do not prove debt only count for tracked accounts, and new
  // accounts are counted against these), then raised by this run's own upserts.
  let known: Map<string, number> | undefined;
  let failedWindows = 0;
  let consecutiveFailures = 0;
  const maxConsecutiveFailures = settings.maxConsecutiveWindowFailures ?? DEFAULT_MAX_CONSECUTIVE_WINDOW_FAILURES;
  const retryPauseMs = settings.windowRetryPauseMs ?? DEFAULT_WINDOW_RETRY_PAUSE_MS;
  const sleep = deps.sleep ?? ((ms: number) => setTimeoutPromise(ms));
  const counts = () => ({ windows, windowBlocks, refusedWindows, logs, borrowersSeen: seen.size, newBorrowers, rpcCalls, failedWindows });
  /** Half the refused window, kept until enough windows went through (dense blocks tend to cluster: a busy period). */
  const halveWindow = (cursor: number, to: number) => {
    refusedWindows++;
    windowsSinceResize = 0;
    windowBlocks = Math.max(1, Math.floor((to - cursor + 1) / 2));
  };

  const track = async (events: readonly AccountEvent[]): Promise<void> => {
    if (events.length === 0) return;
    known ??= new Map((await borrowers.listTracked(market)).map((b) => [b.borrower.toLowerCase(), b.lastEventBlock]));
    const debtors = new Set(events.filter((e) => DEBT_EVENTS.has(e.kind)).map((e) => e.account));
    const tracked = events.filter((e) => debtors.has(e.account) || known!.has(e.account));
    if (tracked.length === 0) return;
    const latest = new Map<string, number>();
    for (const { account, block } of tracked) latest.set(account, Math.max(latest.get(account) ?? block, block));
    // An upsert only ever raises lastEventBlock (its condition), so a borrower the store already holds at or past
    // its latest event here (the reorg margin read again, a window read twice) is not written: that write would
    // fail its condition, and still cost a write.
    const raised = tracked.filter((e) => (known!.get(e.account) ?? -1) < latest.get(e.account)!);
    if (raised.length > 0) await borrowers.upsertSeen(market, raised.map((e) => ({ borrower: e.account, block: e.block })));
    for (const [account, block] of latest) {
      seen.add(account);
      const stored = known.get(account);
      if (stored === undefined) newBorrowers++;
      known.set(account, Math.max(stored ?? block, block));
    }
  };

  /** Compare-and-set on the stored checkpoint; a concurrent indexer behind us is overtaken, one ahead wins. */
  const moveCheckpoint = async (next: IndexerCheckpoint): Promise<{ kind: 'moved' } | { kind: 'superseded'; current: IndexerCheckpoint | undefined }> => {
    let previous = checkpoint;
    for (let attempt = 1; ; attempt++) {
      try {
        await checkpoints.putCheckpoint(market, next, previous);
        return { kind: 'moved' };
      } catch (err) {
        // The port reports a lost race only as a failed write: look at what is stored now to tell a race (someone
        // moved it) from a failure (nothing changed), and a lost response (our value is there) from both.
        const current = await checkpoints.getCheckpoint(market);
        if (sameCheckpoint(current, next)) return { kind: 'moved' };
        if (sameCheckpoint(current, previous)) throw new CheckpointWriteError(market, next, err);
        // This run read every block from `fromBlock` ≤ previous + 1 ≤ current + 1 up to `next`: a checkpoint
        // behind `next` may be overtaken. One at or past it belongs to an indexer that is further along.
        if (!current || current.block >= next.block || attempt >= MAX_CHECKPOINT_ATTEMPTS) return { kind: 'superseded', current };
        previous = current;
      }
    }
  };

  /**
   * One window: read, track, move the checkpoint. `refused`: the node said the range is too large. A window that
   * went through reports its log count, added to the run's counts only then, so a retried window counts once.
   */
  const indexWindow = async (
    cursor: number,
    to: number,
  ): Promise<{ kind: 'refused' } | { kind: 'rate-limited'; reason: string } | { kind: 'done'; logs: number } | { kind: 'superseded'; logs: number; current: IndexerCheckpoint | undefined }> => {
    const read = await source.readEvents(cursor, to);
    rpcCalls++;
    if (read.kind === 'range-too-large') {
      if (to === cursor) throw new LogWindowError(cursor, read.reason);
      halveWindow(cursor, to);
      return { kind: 'refused' };
    }
    if (read.kind === 'rate-limited') {
      halveWindow(cursor, to);
      return { kind: 'rate-limited', reason: read.reason };
    }
    // Grown before the checkpoint write, so the checkpoint stores the window the next read will use.
    if (++windowsSinceResize >= growthAfter && windowBlocks < settings.logWindow) {
      windowBlocks = Math.min(settings.logWindow, windowBlocks * 2);
      windowsSinceResize = 0;
    }
    await track(read.events);
    // Every liquidated account is tracked by now (a LiquidationCall proves debt): these are tracked borrowers'.
    if (deps.capture) await recordMarketEvents(deps.capture, { liquidations: read.liquidations ?? [], deficits: read.deficits ?? [] }, headBlock, capture);
    // Windows below the checkpoint re-read it for reorgs and leave it where it is.
    if (!checkpoint || to >= checkpoint.block) {
      const blockHash = (await source.blockHash(to)).toLowerCase();
      rpcCalls++;
      const next: IndexerCheckpoint = { block: to, blockHash, logWindowBlocks: windowBlocks };
      if (!sameCheckpoint(checkpoint, next)) {
        const moved = await moveCheckpoint(next);
        if (moved.kind === 'superseded') return { kind: 'superseded', logs: read.events.length, current: moved.current };
        checkpoint = next;
      }
    }
    return { kind: 'done', logs: read.events.length };
  };

  let cursor = fromBlock;
  const stopAtDeadline = () => summary({ kind: 'deadline', remainingBlocks: headBlock - cursor + 1 }, fromBlock, counts());
  /** A failed window: tried again after a pause, unless the failures in a row reached the budget. */
  const windowFailed = async (to: number, err: unknown): Promise<'retry' | 'deadline'> => {
    consecutiveFailures++;
    if (consecutiveFailures >= maxConsecutiveFailures) throw err;
    failedWindows++;
    deps.onWindowFailed?.({ fromBlock: cursor, toBlock: to, consecutiveFailures, error: err });
    // The same window again (what it wrote is idempotent: upserts and a compare-and-set checkpoint).
    if (clock.nowMs() + retryPauseMs >= deadlineMs) return 'deadline';
    await sleep(retryPauseMs);
    return 'retry';
  };
  while (cursor <= headBlock) {
    if (deps.signal?.aborted || clock.nowMs() + slowestWindowMs >= deadlineMs) return stopAtDeadline();
    const to = Math.min(headBlock, cursor + windowBlocks - 1);
    const startedMs = clock.nowMs();
    let result: Awaited<ReturnType<typeof indexWindow>>;
    try {
      result = await indexWindow(cursor, to);
    } catch (err) {
      // A node that refuses even one block will refuse it again: no retry.
      if (err instanceof LogWindowError) throw err;
      if ((await windowFailed(to, err)) === 'deadline') return stopAtDeadline();
      continue;
    }
    if (result.kind === 'refused') continue;
    if (result.kind === 'rate-limited') {
      if ((await windowFailed(to, new RateLimitedError(cursor, to, result.reason))) === 'deadline') return stopAtDeadline();
      continue;
    }
    consecutiveFailures = 0;
    slowestWindowMs = Math.max(slowestWindowMs, clock.nowMs() - startedMs);
    windows++;
    logs += result.logs;
    if (result.kind === 'superseded') {
      checkpoint = result.current;
      return summary({ kind: 'superseded', current: result.current }, fromBlock, counts());
    }
    cursor = to + 1;
  }
  return summary({ kind: 'caught-up' }, fromBlock, counts());
}
