/**
 * The scanner's use case: follow new blocks inside one invocation until shortly before its deadline, and turn
 * liquidatable accounts into candidate messages.
 *
 * EventBridge fires at most once a minute, which on a 2 s chain is ~30 blocks of delay; so each invocation keeps
 * polling for new blocks and handles each one as it appears (skipping to the newest when it falls behind).
 * Per block, every read pinned to that block:
 *   1. oracle readings → circuit breaker per asset (previous readings carried from block to block);
 *   2. health of the borrowers due at this block. Two read modes:
 *      - `every-block`: every tracked account at every block;
 *      - `changes` (change-driven): an account is read when it has no reading yet, when its position or a risk
 *        parameter of a reserve it uses changed (one eth_getLogs per block, PositionChangeSource), when its last
 *        reading no longer proves it above 1 + a margin under the prices and interest since (read-policy.ts),
 *        and at least every `maxReadIntervalSec`. Readings outlive the invocation when the caller keeps an
 *        AccountReads (a warm Lambda container does), so a new invocation reads only what is due;
 *   3. HF < 1 with debt → candidate message, unless an asset it uses has an open breaker or it holds an enqueue
 *      mark: its record is written with the mark, then the message published (a worker can only clear a mark
 *      that is already stored);
 *   4. accounts whose mark this invocation still holds from an earlier block are checked against the store: a
 *      mark the worker cleared (it is done: liquidated, partly liquidated, skipped or failed for good) or that
 *      expired makes the account a candidate again at once;
 *   5. watch tier, episode and snapshot per account: only material changes are written, behind the block loop
 *      (one write in flight at a time), so the next block's candidates never wait for this block's writes.
 * The mark still expires `reenqueueAfterBlocks` after it was set: a message that is dead-lettered, dropped or
 * otherwise lost never reaches a worker, so nothing else would ever clear its mark.
 * Overlapping invocations are harmless: the FIFO deduplication id (chain#pool#borrower#block) collapses the same
 * borrower seen at the same block by two scanners.
 */
import type { OracleObservation, OracleReading, BreakerReason, BreakerThresholds, BreakerVerdict, UndatedFeed, UndatedFeedPolicy } from '../domain/oracle-breaker';
import { breakerTransitions, evaluateOracleBreakers, openBreakersAffecting, repricedReadings, roundAgeSec, undatedFeeds } from '../domain/oracle-breaker';
import { WAD } from '../domain/math';
import { assertReadPolicy, type ReadPolicy, type ReadReason } from '../domain/read-policy';
import { assertWatchTierPolicy, healthChangedMaterially, watchTierOf, type WatchTierPolicy } from '../domain/watch-tier';
import type { AccountSnapshot, BorrowerStore, EnqueueMark, TrackedBorrower } from '../ports/borrower-store';
import type { CandidateQueue } from '../ports/candidate-queue';
import type { Clock } from '../ports/clock';
import { type BestEffort, runBestEffort, UNREPORTED } from './best-effort';
import type { CandidateMessage, OracleUpdateRef } from './candidate-message';
import { AccountReads, type PositionChangeSource } from './account-reads';

/** The chain head (never a cached block number: a stale head pins reads to the block before a price update). */
export interface BlockSource {
  latestBlockNumber(): Promise<number>;
}

/** One account's health at a block (base currency: USD, 8 decimals; HF in WAD, 2^256 − 1 without debt). */
export interface ScannedAccount {
  user: string;
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  healthFactorWad: bigint;
  /** Reserve usage bitmap (Aave UserConfiguration: bit 2·id borrowing, bit 2·id+1 collateral). */
  userConfiguration: bigint;
}

/** Health of many accounts at one block (AaveV3HealthScanner fits this role). */
export interface AccountScanner {
  /** `unreadable`: accounts whose health read reverted at this block; they are reported, never silently dropped. */
  scan(
    users: readonly string[],
    block: number,
  ): Promise<{ accounts: ScannedAccount[]; rpcCalls: number; unreadable?: { user: string; reason: string }[] }>;
}

/** Prices and feeds of every reserve at one block (AaveV3OracleReader fits this role). */
export interface OracleSource {
  readAt(block: number): Promise<OracleObservation & { rpcCalls: number }>;
}

export interface ScanBlocksSettings {
  chainId: number;
  pool: string;
  /** `chainId#pool`: the market's key in the BorrowerStore. */
  marketKey: string;
  /** Stop following blocks this long (ms) before the invocation's deadline. */
  deadlineMarginMs: number;
  /** How long (ms) to wait between two polls of the head while no new block has appeared. */
  pollIntervalMs: number;
  /**
   * The chain's block time (ms), when it is regular (Ethereum's 12 s slots, an L2's fixed interval): after a block,
   * the head is next asked one poll interval before the following block is due, instead of every poll interval.
   * Absent: polled every `pollIntervalMs`.
   */
  blockTimeMs?: number;
  /** Which accounts are read at a block (see the header). */
  reads: ReadMode;
  /**
   * How long an enqueue mark holds (blocks) when no worker clears it: long enough to cover the queue wait and
   * redeliveries of a candidate, since it only matters for one that was lost.
   */
  reenqueueAfterBlocks: number;
  snapshotRetentionSec: number;
  breaker: BreakerThresholds;
  /** Labels stored with each record (hot / warm / cold, for operators and snapshots); reads follow `reads`. */
  tiers: WatchTierPolicy;
  /** A health factor change (bps of the last stored value) worth a store write and a snapshot. */
  materialChangeBps: bigint;
  /** Consecutive failed blocks (RPC, store or queue errors) after which the invocation gives up and throws. */
  maxConsecutiveBlockFailures: number;
}

/** A price update of one of the market's feeds, still in the mempool. */
export interface PendingOracleUpdate {
  txHash: string;
  /** Reserves whose Pool price it sets (lower-case asset addresses). */
  assets: readonly string[];
  /** new answer ÷ the feed's answer at the observation polled with: the factor the Pool prices of `assets` move by. */
  ratio: { numerator: bigint; denominator: bigint };
  /** What the worker needs to follow it. */
  follow: OracleUpdateRef;
}

/**
 * The oracle-update path: price updates seen in the mempool, and the health of accounts as if one had landed (the
 * feed's answer set by a state override). Only where the node shows pending transactions (an L1 public mempool,
 * anvil).
 */
export interface PendingUpdateWatch {
  /** Updates of the market's feeds that appeared in the mempool since the last poll. */
  poll(observation: OracleObservation): Promise<{ updates: PendingOracleUpdate[]; rpcCalls: number }>;
  /** Health of `users` at `block` with `update` applied. */
  scanWithUpdate(users: readonly string[], block: number, update: PendingOracleUpdate): Promise<{ accounts: ScannedAccount[]; rpcCalls: number }>;
}

export type ReadMode =
  | { mode: 'every-block' }
  | {
      mode: 'changes';
      policy: ReadPolicy;
      /** A longer gap in the change log (blocks since the last block handled) forgets every reading instead. */
      maxGapBlocks: number;
    };

export type ScanStage = 'load-borrowers' | 'head' | 'oracle' | 'changes' | 'breakers' | 'health' | 'queue' | 'store';

export class ScanBlockError extends Error {
  constructor(
    readonly stage: ScanStage,
    /** The block being handled (for `head`: the last block handled); undefined before the first block. */
    readonly block: number | undefined,
    options: { cause: unknown },
  ) {
    const cause = options.cause as { message?: string } | undefined;
    super(`scanner ${stage} failed${block === undefined ? '' : ` at block ${block}`}: ${cause?.message ?? String(options.cause)}`, options);
    this.name = 'ScanBlockError';
  }
}

/** What happened at one block; the demo prints it and the handler turns it into metrics. */
export interface BlockProgress {
  block: number;
  /** Head seen right after the block was handled, minus the block: how far behind the chain the scanner ended. */
  lagBlocks: number;
  firstOfInvocation: boolean;
  accountsScanned: number;
  /** Why the accounts scanned were read (change-driven mode), or `every-block`. */
  readsBy: Partial<Record<ReadReason | 'every-block', number>>;
  /** Readings forgotten at this block because of position or risk-parameter changes (change-driven mode). */
  forgotten: number;
  /** Accounts with debt and HF < 1 among those scanned. */
  liquidatable: number;
  candidatesEnqueued: number;
  blockedByBreaker: number;
  /** Liquidatable accounts skipped because their candidate is still waiting or being worked on (live mark). */
  alreadyEnqueued: number;
  breakerOpen: string[];
  /** Reserves whose Pool price changed since the previous block: their users were read whatever their tier. */
  repricedAssets: string[];
  /** Oldest feed round among the reserves at this block (seconds); absent when no feed has round data. */
  maxOracleAgeSec?: bigint;
  /**
   * Records and snapshots this block sent to the store: the candidates' records before their messages, the rest
   * with the write that starts after the block (0 when the previous one is still in flight: they go with the
   * next).
   */
  recordsWritten: number;
  snapshotsWritten: number;
  /** JSON-RPC requests for this block, head polls since the previous block included. */
  rpcCalls: number;
  durationMs: number;
}

export type ScanEvent =
  | { kind: 'block'; progress: BlockProgress }
  | { kind: 'breaker-opened'; block: number; asset: string; reason: BreakerReason; detail: string }
  | { kind: 'breaker-closed'; block: number; asset: string }
  /**
   * Assets whose source answers no round data (an adapter such as Aave's CAPO), reported the first time this
   * invocation sees each: `feeds` are those new at this block, `undatedAssets` how many the block has in all, and
   * `policy` whether their breakers are held open (`block`) or only their prices checked (`allow`).
   */
  | { kind: 'undated-feeds'; block: number; feeds: UndatedFeed[]; undatedAssets: number; policy: UndatedFeedPolicy }
  | { kind: 'blocked-by-breaker'; block: number; borrower: string; healthFactorWad: bigint; assets: string[] }
  /** An execution breaker (kill switch, revert streak, gas budget) is open: the block's candidates were held back. */
  | { kind: 'execution-paused'; block: number; reason: string; detail: string; heldBack: number }
  | { kind: 'enqueued'; block: number; message: CandidateMessage }
  | { kind: 'unreadable'; block: number; borrower: string; reason: string }
  | { kind: 'publish-failed'; block: number; borrower: string; reason: string }
  | { kind: 'block-failed'; error: ScanBlockError; consecutiveFailures: number }
  /** A pending oracle update was simulated; `enqueued` accounts go to the worker to follow it in its block. */
  | { kind: 'oracle-update'; block: number; txHash: string; assets: readonly string[]; simulated: number; liquidatable: number; enqueued: number; rpcCalls: number }
  /** Blocks came faster than the configured block time (several appeared during one paced wait): polling every interval again. */
  | { kind: 'pacing-off'; block: number; skippedBlocks: number; blockTimeMs: number };

export interface ScanBlocksDeps {
  settings: ScanBlocksSettings;
  store: BorrowerStore;
  queue: CandidateQueue;
  accounts: AccountScanner;
  oracle: OracleSource;
  blocks: BlockSource;
  clock: Clock;
  /** Waits `ms` (a timer in production; tests advance a fake clock). */
  sleep(ms: number): Promise<void>;
  /** Position and risk-parameter changes per block range: required by the change-driven read mode. */
  changes?: PositionChangeSource;
  /** Pending oracle updates (optional): accounts an update will make liquidatable are enqueued before it lands. */
  pendingUpdates?: PendingUpdateWatch;
  /**
   * Readings kept from earlier invocations (change-driven mode); absent: a fresh one, so every account is read at
   * the invocation's first block.
   */
  reads?: AccountReads;
  /**
   * The market's execution breakers: while one is open nothing is enqueued (the worker would send nothing), so
   * the accounts are enqueued at the first block after it closes. Absent: never paused.
   */
  breakers?: { check(nowMs: number): Promise<{ kind: 'closed' } | { kind: 'open'; reason: string; detail: string }> };
  onEvent?(event: ScanEvent): void;
  /** Where a failed head poll after a block is reported (the handlers wire a warning and HeadPollFailures); absent: UNREPORTED. */
  bestEffort?: BestEffort;
}

export interface ScanSummary {
  blocks: number;
  /** Absent when no block was handled (the deadline was already too close). */
  firstBlock?: number;
  lastBlock?: number;
  accountsScanned: number;
  candidatesEnqueued: number;
  blockedByBreaker: number;
  /** Assets whose breaker was open at the last block handled. */
  breakerOpen: string[];
  rpcCalls: number;
  maxBlockLagBlocks: number;
  failedBlocks: number;
}

interface BorrowerState {
  /** What this invocation believes now. */
  current: TrackedBorrower;
  /** What the store holds (as loaded or last written): the baseline for "did it change materially". */
  stored: TrackedBorrower;
}

const key = (address: string) => address.toLowerCase();

/** Aave: liquidationCall requires HF < HEALTH_FACTOR_LIQUIDATION_THRESHOLD = 1e18 (ValidationLogic.validateLiquidationCall). */
function isLiquidatable(account: ScannedAccount): boolean {
  return account.totalDebtBase > 0n && account.healthFactorWad < WAD;
}

function sameRecord(a: TrackedBorrower, b: TrackedBorrower): boolean {
  return (
    a.tier === b.tier &&
    a.liquidatableSinceBlock === b.liquidatableSinceBlock &&
    a.enqueuedUntilBlock === b.enqueuedUntilBlock &&
    a.enqueuedAtBlock === b.enqueuedAtBlock
  );
}

function markOf(record: TrackedBorrower): EnqueueMark | undefined {
  if (record.enqueuedUntilBlock === undefined) return undefined;
  return { enqueuedUntilBlock: record.enqueuedUntilBlock, ...(record.enqueuedAtBlock === undefined ? {} : { enqueuedAtBlock: record.enqueuedAtBlock }) };
}

/** Optional fields are left out rather than set to undefined, so a record compares and serialises cleanly. */
function withEpisode(record: TrackedBorrower, liquidatableSinceBlock: number | undefined, mark: EnqueueMark | undefined): TrackedBorrower {
  const { liquidatableSinceBlock: _since, enqueuedUntilBlock: _until, enqueuedAtBlock: _at, ...rest } = record;
  return {
    ...rest,
    ...(liquidatableSinceBlock === undefined ? {} : { liquidatableSinceBlock }),
    ...(mark === undefined ? {} : { enqueuedUntilBlock: mark.enqueuedUntilBlock }),
    ...(mark?.enqueuedAtBlock === undefined ? {} : { enqueuedAtBlock: mark.enqueuedAtBlock }),
  };
}

function withMark(record: TrackedBorrower, mark: EnqueueMark | undefined): TrackedBorrower {
  return withEpisode(record, record.liquidatableSinceBlock, mark);
}

/** A liquidatable account about to be enqueued: its record (episode, tier) and its message. */
interface Candidate {
  record: TrackedBorrower;
  message: CandidateMessage;
}

async function stage<T>(name: ScanStage, block: number | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw err instanceof ScanBlockError ? err : new ScanBlockError(name, block, { cause: err });
  }
}

export interface ScanBlocksInput {
  deadlineAtMs: number;
  /** Stop after this many blocks were handled (failed blocks do not count); default: follow until the deadline. */
  maxBlocks?: number;
}

export async function scanBlocks(deps: ScanBlocksDeps, input: ScanBlocksInput): Promise<ScanSummary> {
  const { settings, clock } = deps;
  const maxBlocks = input.maxBlocks ?? Number.POSITIVE_INFINITY;
  assertWatchTierPolicy(settings.tiers);
  const readMode = settings.reads;
  let reads: AccountReads | undefined;
  if (readMode.mode === 'changes') {
    assertReadPolicy(readMode.policy);
    if (!deps.changes) throw new Error('the change-driven read mode needs a position change source (deps.changes)');
    reads = deps.reads ?? new AccountReads(readMode.policy, readMode.maxGapBlocks);
  }
  const emit = (event: ScanEvent) => deps.onEvent?.(event);
  const stopAtMs = input.deadlineAtMs - settings.deadlineMarginMs;

  const summary: ScanSummary = {
    blocks: 0,
    accountsScanned: 0,
    candidatesEnqueued: 0,
    blockedByBreaker: 0,
    breakerOpen: [],
    rpcCalls: 0,
    maxBlockLagBlocks: 0,
    failedBlocks: 0,
  };
  if (clock.nowMs() >= stopAtMs) return summary;

  let tracked: TrackedBorrower[];
  try {
    tracked = await deps.store.listTracked(settings.marketKey);
  } catch (err) {
    throw new ScanBlockError('load-borrowers', undefined, { cause: err });
  }
  const states = new Map<string, BorrowerState>(tracked.map((b) => [key(b.borrower), { current: b, stored: b }]));
  /** Borrowers whose `current` differs from `stored` and still needs writing (a failed write is retried). */
  const dirty = new Set<string>();
  /** Snapshots not written yet (a failed write puts them back). */
  const pendingSnapshots: AccountSnapshot[] = [];
  /** The write running behind the block loop, if any; at most one at a time, so records land in block order. */
  let flushing: Promise<void> | undefined;
  /** How long the last background write and the last block took: a block is only started if both fit before the stop time. */
  let lastWriteMs = 0;
  let lastBlockMs = 0;
  /** A failed write, reported (and counted) by the block loop at its next turn. */
  let writeFailure: ScanBlockError | undefined;
  let consecutiveWriteFailures = 0;
  let previousObservation: OracleObservation | undefined;
  /** Breaker states already reported (opened / closed events), so a retried block does not report them twice. */
  let announcedVerdicts: BreakerVerdict[] = [];
  /** Assets already reported as undatable in this invocation (lower-case), so each is reported once. */
  const announcedUndated = new Set<string>();
  const readEnqueueMarks = deps.store.readEnqueueMarks?.bind(deps.store);

  /** Head polls since the last block was reported: part of that block's RPC cost. */
  let pollsSinceLastBlock = 0;
  /** The highest head seen, and when it was first seen (the clock of block-time pacing). */
  let highestHead = -1;
  let highestHeadSeenAtMs = 0;
  const pollHead = async (): Promise<number> => {
    summary.rpcCalls++;
    pollsSinceLastBlock++;
    const polled = await deps.blocks.latestBlockNumber();
    if (polled > highestHead) {
      highestHead = polled;
      highestHeadSeenAtMs = clock.nowMs();
    }
    return polled;
  };

  /** Compares what this invocation believes with what the store holds, and queues a write if they differ. */
  const noteChange = (k: string): void => {
    const state = states.get(k)!;
    const { current, stored } = state;
    const material = current.lastHealthFactorWad !== undefined && healthChangedMaterially(stored.lastHealthFactorWad, current.lastHealthFactorWad, settings.materialChangeBps);
    if (material || !sameRecord(current, stored)) dirty.add(k);
  };

  /** The store now holds `written`: it becomes the baseline, unless a newer record was written meanwhile. */
  const settleWritten = (written: readonly TrackedBorrower[]): void => {
    for (const record of written) {
      const state = states.get(key(record.borrower))!;
      if ((state.stored.lastScannedBlock ?? -1) <= (record.lastScannedBlock ?? -1)) state.stored = record;
      if (state.current === record) dirty.delete(key(record.borrower));
    }
  };

  /** Starts writing every dirty record and pending snapshot behind the block loop, unless a write is running. */
  const startWrite = (block: number): { records: number; snapshots: number } => {
    if (flushing !== undefined) return { records: 0, snapshots: 0 };
    const records = [...dirty].map((k) => states.get(k)!.current);
    const snapshots = pendingSnapshots.splice(0, pendingSnapshots.length);
    if (records.length === 0 && snapshots.length === 0) return { records: 0, snapshots: 0 };
    const nowSec = Math.floor(clock.nowMs() / 1000);
    const write = async (): Promise<void> => {
      const writeStartedMs = clock.nowMs();
      const [recordsWrite, snapshotsWrite] = await Promise.allSettled([
        records.length > 0 ? deps.store.recordScan(settings.marketKey, records) : Promise.resolve(),
        snapshots.length > 0 ? deps.store.putSnapshots(settings.marketKey, snapshots, settings.snapshotRetentionSec, nowSec) : Promise.resolve(),
      ]);
      if (recordsWrite.status === 'fulfilled') settleWritten(records);
      if (snapshotsWrite.status === 'rejected') pendingSnapshots.unshift(...snapshots);
      const failed = recordsWrite.status === 'rejected' ? recordsWrite : snapshotsWrite.status === 'rejected' ? snapshotsWrite : undefined;
      if (failed) writeFailure = new ScanBlockError('store', block, { cause: failed.reason });
      else consecutiveWriteFailures = 0;
      lastWriteMs = clock.nowMs() - writeStartedMs;
    };
    flushing = write().finally(() => {
      flushing = undefined;
    });
    return { records: records.length, snapshots: snapshots.length };
  };

  /** Reports a failed background write as a failed store stage; gives up after too many in a row. */
  const reportWriteFailure = async (): Promise<void> => {
    if (writeFailure === undefined) return;
    const error = writeFailure;
    writeFailure = undefined;
    consecutiveWriteFailures++;
    summary.failedBlocks++;
    emit({ kind: 'block-failed', error, consecutiveFailures: consecutiveWriteFailures });
    if (consecutiveWriteFailures >= settings.maxConsecutiveBlockFailures) {
      await flushing;
      throw error;
    }
  };

  /**
   * 3. Writes the candidates' records with a new mark (set at `block`), then publishes their messages. Returns
   * how many records were written and messages accepted.
   */
  const enqueueAt = async (block: number, batch: readonly Candidate[]): Promise<{ records: number; enqueued: number }> => {
    if (batch.length === 0) return { records: 0, enqueued: 0 };
    const mark: EnqueueMark = { enqueuedUntilBlock: block + settings.reenqueueAfterBlocks, enqueuedAtBlock: block };
    const marked = batch.map((c) => withMark(c.record, mark));
    await stage('store', block, () => deps.store.recordScan(settings.marketKey, marked));
    // The store holds the marks now; until a message is accepted this invocation does not, so a refused (or
    // unsent) one is enqueued again at the next block, or its mark removed by the next write.
    for (const record of marked) {
      states.get(key(record.borrower))!.stored = record;
      noteChange(key(record.borrower));
    }
    const result = await stage('queue', block, () => deps.queue.publish(batch.map((c) => c.message)));
    const failed = new Set(result.failed.map((f) => key(f.message.borrower)));
    for (const f of result.failed) emit({ kind: 'publish-failed', block, borrower: f.message.borrower, reason: f.reason });
    let enqueued = 0;
    batch.forEach((c, i) => {
      const k = key(c.message.borrower);
      if (failed.has(k)) return;
      states.get(k)!.current = marked[i];
      dirty.delete(k);
      enqueued++;
      emit({ kind: 'enqueued', block, message: c.message });
    });
    return { records: marked.length, enqueued };
  };

  /** The candidate message for a liquidatable account seen at `block`, its episode from its record. */
  const messageOf = (record: TrackedBorrower, account: ScannedAccount, block: number, source: CandidateMessage['source']): CandidateMessage => ({
    version: 1,
    chainId: settings.chainId.toString(),
    pool: settings.pool,
    borrower: record.borrower,
    detectedBlock: block,
    healthFactorWad: account.healthFactorWad.toString(),
    firstLiquidatableBlock: record.liquidatableSinceBlock ?? block,
    source,
  });

  /** Updates already simulated (a transaction stays in the mempool for several polls). */
  const followedUpdates = new Set<string>();
  /** The last block's oracle verdicts and execution breaker: what gates a candidate found from a pending update. */
  let lastVerdicts: BreakerVerdict[] = [];
  let lastExecutionOpen = false;

  /**
   * The oracle-update path, between blocks: each new pending update of a feed the market uses is simulated at
   * `block` (the head) on the accounts it can take under 1, and those it makes liquidatable are enqueued now,
   * with what the worker needs to land their liquidation right behind the update.
   */
  const followPendingUpdates = async (block: number): Promise<void> => {
    const observation = previousObservation;
    if (!deps.pendingUpdates || observation === undefined || observation.block !== block) return;
    const polled = await deps.pendingUpdates.poll(observation);
    summary.rpcCalls += polled.rpcCalls;
    for (const update of polled.updates) {
      if (followedUpdates.has(update.txHash)) continue;
      followedUpdates.add(update.txHash);
      let users: string[];
      if (reads === undefined) {
        users = [...states.values()].map((s) => s.current.borrower);
      } else {
        // The accounts whose last reading does not prove them safe at the prices the update brings.
        const market = reads.marketAt(observation);
        const repriced = new Set(update.assets.map((a) => a.toLowerCase()));
        const prices = new Map(market.prices);
        for (const r of observation.readings) {
          const price = prices.get(r.reserveId);
          if (price !== undefined && repriced.has(r.asset.toLowerCase())) prices.set(r.reserveId, (price * update.ratio.numerator) / update.ratio.denominator);
        }
        const after = { ...market, prices };
        users = [...states.keys()].filter((k) => reads.reasonToRead(k, after) !== undefined).map((k) => states.get(k)!.current.borrower);
      }
      const scanned = users.length === 0 ? { accounts: [], rpcCalls: 0 } : await deps.pendingUpdates.scanWithUpdate(users, block, update);
      summary.rpcCalls += scanned.rpcCalls;
      const candidates: Candidate[] = [];
      let liquidatable = 0;
      for (const account of scanned.accounts) {
        if (!isLiquidatable(account)) continue;
        liquidatable++;
        const state = states.get(key(account.user));
        if (!state || lastExecutionOpen) continue;
        const record = state.current;
        if (record.enqueuedUntilBlock !== undefined && block < record.enqueuedUntilBlock) continue;
        if (openBreakersAffecting(account.userConfiguration, observation.readings, lastVerdicts).length > 0) continue;
        // Liquidatable from the block the update lands in (the next one, if it is followed in time).
        const since = record.liquidatableSinceBlock ?? block + 1;
        const followed = withEpisode(record, since, markOf(record));
        candidates.push({ record: followed, message: { ...messageOf(followed, account, block, 'oracle-update'), oracleUpdate: update.follow } });
      }
      const done = await enqueueAt(block, candidates);
      emit({ kind: 'oracle-update', block, txHash: update.txHash, assets: update.assets, simulated: users.length, liquidatable, enqueued: done.enqueued, rpcCalls: scanned.rpcCalls + polled.rpcCalls });
    }
  };

  /** Handles one block; returns its progress (lag filled in by the caller). */
  const handleBlock = async (block: number, firstOfInvocation: boolean): Promise<Omit<BlockProgress, 'lagBlocks' | 'durationMs'>> => {
    let rpcCalls = 0;

    // 1. Oracle breakers.
    const observation = await stage('oracle', block, () => deps.oracle.readAt(block));
    rpcCalls += observation.rpcCalls;
    summary.rpcCalls += observation.rpcCalls;
    const verdicts = evaluateOracleBreakers(previousObservation, observation, settings.breaker);
    for (const t of breakerTransitions(announcedVerdicts, verdicts)) {
      emit(t.change === 'opened' ? { kind: 'breaker-opened', block, asset: t.asset, reason: t.reason, detail: t.detail } : { kind: 'breaker-closed', block, asset: t.asset });
    }
    announcedVerdicts = verdicts;
    const undated = undatedFeeds(observation);
    const newlyUndated = undated.filter((f) => !announcedUndated.has(key(f.asset)));
    if (newlyUndated.length > 0) {
      for (const f of newlyUndated) announcedUndated.add(key(f.asset));
      emit({ kind: 'undated-feeds', block, feeds: newlyUndated, undatedAssets: undated.length, policy: settings.breaker.undatedFeeds ?? 'allow' });
    }
    const repriced = repricedReadings(previousObservation, observation);
    const breakerOpen = verdicts.filter((v) => v.state === 'open').map((v) => v.asset);
    const ages = observation.readings.flatMap((r: OracleReading) => roundAgeSec(r, observation.blockTimestampSec) ?? []);
    const maxOracleAgeSec = ages.length > 0 ? ages.reduce((a, b) => (a > b ? a : b)) : undefined;

    // 2. Health of the borrowers due at this block.
    const readsBy: BlockProgress['readsBy'] = {};
    let forgotten = 0;
    let due: string[];
    let market: ReturnType<AccountReads['marketAt']> | undefined;
    if (reads === undefined) {
      due = [...states.values()].map((s) => s.current.borrower);
      if (due.length > 0) readsBy['every-block'] = due.length;
    } else {
      const range = reads.pendingRange(block);
      if (range !== undefined) {
        const changes = await stage('changes', block, () => deps.changes!.changesIn(range.fromBlock, range.toBlock));
        rpcCalls += changes.rpcCalls;
        summary.rpcCalls += changes.rpcCalls;
        const assetIds = new Map(observation.readings.map((r) => [r.asset.toLowerCase(), r.reserveId]));
        const dropped = reads.apply(changes, assetIds);
        forgotten = dropped.accounts + dropped.reserves;
      }
      if (reads.needsPriceBaseline && block > 0) {
        // The block before, so that this block's price moves are known (AccountReads.pricesToRemember): once per
        // instance, one oracle call. Without it every price counts as moved (one more read of each account).
        const baseline = await runBestEffort(deps.bestEffort ?? UNREPORTED, 'price-baseline', () => deps.oracle.readAt(block - 1), { block });
        if (baseline === undefined) {
          reads.withoutPriceBaseline(block - 1);
        } else {
          rpcCalls += baseline.rpcCalls;
          summary.rpcCalls += baseline.rpcCalls;
          reads.marketAt(baseline);
        }
      }
      market = reads.marketAt(observation);
      due = [];
      for (const [k, s] of states) {
        const reason = reads.reasonToRead(k, market);
        if (reason === undefined) continue;
        readsBy[reason] = (readsBy[reason] ?? 0) + 1;
        due.push(s.current.borrower);
      }
    }
    const [scanned, execution] = await Promise.all([
      due.length === 0 ? { accounts: [], rpcCalls: 0 } : stage('health', block, () => deps.accounts.scan(due, block)),
      deps.breakers ? stage('breakers', block, () => deps.breakers!.check(clock.nowMs())) : ({ kind: 'closed' } as const),
    ]);
    rpcCalls += scanned.rpcCalls;
    summary.rpcCalls += scanned.rpcCalls;
    for (const { user, reason } of 'unreadable' in scanned ? (scanned.unreadable ?? []) : []) {
      reads?.forget(key(user));
      deps.onEvent?.({ kind: 'unreadable', block, borrower: user, reason });
    }

    // Tier, episode and snapshot per account; what this invocation believes moves on now (the store follows
    // behind), so a failure later in the block never causes a second enqueue.
    const candidates: Candidate[] = [];
    let heldBack = 0;
    /** Liquidatable accounts holding a mark from an earlier block (or the store's list), maybe cleared since. */
    const toRecheck: Candidate[] = [];
    let liquidatable = 0;
    let blockedByBreaker = 0;
    let alreadyEnqueued = 0;
    for (const account of scanned.accounts) {
      const k = key(account.user);
      const state = states.get(k);
      if (!state) continue;
      const { current, stored } = state;
      reads?.remember(k, {
        block,
        timestampSec: observation.blockTimestampSec,
        healthFactorWad: account.healthFactorWad,
        totalDebtBase: account.totalDebtBase,
        userConfiguration: account.userConfiguration,
        prices: reads.pricesToRemember(market!),
      });
      const isLiq = isLiquidatable(account);
      const tier = watchTierOf(account.healthFactorWad, settings.tiers);
      // The episode ends when the account is healthy again; so does its enqueue mark (a new episode is new work).
      const record = withEpisode(
        { ...current, tier, lastHealthFactorWad: account.healthFactorWad, lastScannedBlock: block },
        isLiq ? (current.liquidatableSinceBlock ?? block) : undefined,
        isLiq ? markOf(current) : undefined,
      );
      state.current = record;
      noteChange(k);
      // A snapshot only for a material move from the stored health factor (which the record write then moves):
      // a hot account read at every block writes as often as its health moves, not once per block.
      if (healthChangedMaterially(stored.lastHealthFactorWad, account.healthFactorWad, settings.materialChangeBps)) {
        pendingSnapshots.push({
          borrower: current.borrower,
          block,
          healthFactorWad: account.healthFactorWad,
          totalCollateralBase: account.totalCollateralBase,
          totalDebtBase: account.totalDebtBase,
        });
      }
      if (!isLiq) continue;
      liquidatable++;
      const blocking = openBreakersAffecting(account.userConfiguration, observation.readings, verdicts);
      const candidate: Candidate = { record, message: messageOf(record, account, block, 'scanner') };
      if (blocking.length > 0) {
        blockedByBreaker++;
        emit({ kind: 'blocked-by-breaker', block, borrower: current.borrower, healthFactorWad: account.healthFactorWad, assets: blocking });
      } else if (execution.kind === 'open') {
        heldBack++;
      } else if (record.enqueuedUntilBlock === undefined || block >= record.enqueuedUntilBlock) {
        candidates.push(candidate);
      } else if (readEnqueueMarks !== undefined && !firstOfInvocation) {
        // On the first block the marks are as fresh as the list just loaded from the store.
        toRecheck.push(candidate);
      } else {
        alreadyEnqueued++;
      }
    }

    let recordsWritten = 0;
    let candidatesEnqueued = 0;
    /** 3. Writes the candidates' records with a new mark, then publishes their messages. */
    const enqueue = async (batch: readonly Candidate[]): Promise<void> => {
      const done = await enqueueAt(block, batch);
      recordsWritten += done.records;
      candidatesEnqueued += done.enqueued;
    };
    if (execution.kind === 'open' && heldBack > 0) emit({ kind: 'execution-paused', block, reason: execution.reason, detail: execution.detail, heldBack });
    await enqueue(candidates);

    // 4. Marks set at an earlier block: cleared by a worker, or expired in the store → enqueued again now.
    if (toRecheck.length > 0 && readEnqueueMarks !== undefined) {
      const marks = await stage('store', block, () => readEnqueueMarks(settings.marketKey, toRecheck.map((c) => c.record.borrower)));
      const again: Candidate[] = [];
      for (const c of toRecheck) {
        const k = key(c.record.borrower);
        const state = states.get(k)!;
        const mark = marks.get(k);
        // Both copies follow the store, so no write is needed (and none puts a cleared mark back).
        state.current = withMark(state.current, mark);
        state.stored = withMark(state.stored, mark);
        noteChange(k);
        if (mark === undefined || block >= mark.enqueuedUntilBlock) again.push({ ...c, record: state.current });
        else alreadyEnqueued++;
      }
      await enqueue(again);
    }

    // 5. Everything else is written behind the block loop.
    const started = startWrite(block);
    // The baseline for the next block's deviation and repricing checks moves only once a block succeeded: after
    // a failure, the retry compares with the last good block and still sees a price move of the failed one.
    previousObservation = observation;
    lastVerdicts = verdicts;
    lastExecutionOpen = execution.kind === 'open';
    reads?.settled(block);

    return {
      block,
      firstOfInvocation,
      accountsScanned: scanned.accounts.length,
      readsBy,
      forgotten,
      liquidatable,
      candidatesEnqueued,
      blockedByBreaker,
      alreadyEnqueued,
      breakerOpen,
      repricedAssets: repriced.map((r) => r.asset),
      ...(maxOracleAgeSec === undefined ? {} : { maxOracleAgeSec }),
      recordsWritten: recordsWritten + started.records,
      snapshotsWritten: started.snapshots,
      rpcCalls,
    };
  };

  let lastBlock: number | undefined;
  /** The head as last polled; undefined when it must be asked again. */
  let head: number | undefined;
  let consecutiveFailures = 0;
  // Watching the mempool needs a poll every interval: no pacing then.
  let pacing = settings.blockTimeMs !== undefined && deps.pendingUpdates === undefined;
  /** The block after which the last paced wait started. */
  let pacedAfter: number | undefined;
  const waitOnePoll = () => deps.sleep(Math.min(settings.pollIntervalMs, Math.max(0, stopAtMs - clock.nowMs())));
  try {
    // A block is started only if one more like the last, and the final write, still end before the stop time:
    // with thousands of accounts a block and its write take seconds, more than a fixed margin allows for.
    while (clock.nowMs() + lastBlockMs + lastWriteMs < stopAtMs && summary.blocks < maxBlocks) {
      await reportWriteFailure();
      let block: number;
      let progress: Omit<BlockProgress, 'lagBlocks' | 'durationMs'>;
      const startedMs = clock.nowMs();
      let blockSeenAtMs = startedMs;
      try {
        head ??= await stage('head', lastBlock, pollHead);
        if (pacedAfter !== undefined && head > pacedAfter + 1) {
          // More than one block appeared while paced: the configured block time is too long for this chain.
          pacing = false;
          emit({ kind: 'pacing-off', block: head, skippedBlocks: head - pacedAfter - 1, blockTimeMs: settings.blockTimeMs! });
        }
        pacedAfter = undefined;
        // A warm container's readings were taken up to the previous invocation's last block: that block is done.
        const handledThrough = lastBlock ?? reads?.lastSettledBlock;
        if (handledThrough !== undefined && head <= handledThrough) {
          // No new block yet: look at the mempool, wait one poll interval (never past the stop time), ask again.
          if (deps.pendingUpdates && lastBlock !== undefined) {
            const at = lastBlock;
            await runBestEffort(deps.bestEffort ?? UNREPORTED, 'pending-update', () => followPendingUpdates(at), { block: at });
          }
          await waitOnePoll();
          head = undefined;
          continue;
        }
        block = head;
        blockSeenAtMs = highestHead === block ? highestHeadSeenAtMs : startedMs;
        progress = await handleBlock(block, lastBlock === undefined);
        consecutiveFailures = 0;
      } catch (err) {
        // Only the stages' own failures (RPC, store, queue) are retried at the next block; anything else is a bug.
        if (!(err instanceof ScanBlockError)) throw err;
        consecutiveFailures++;
        summary.failedBlocks++;
        emit({ kind: 'block-failed', error: err, consecutiveFailures });
        if (consecutiveFailures >= settings.maxConsecutiveBlockFailures) throw err;
        await waitOnePoll();
        head = undefined;
        continue;
      }
      const durationMs = clock.nowMs() - startedMs;
      lastBlockMs = durationMs;
      // Paced by the block time: a block handled well before the next one is due leaves nothing behind it, so
      // the head is next asked one poll interval before that block is due.
      const wakeAtMs = !pacing ? undefined : blockSeenAtMs + settings.blockTimeMs! - settings.pollIntervalMs;
      const paced = wakeAtMs !== undefined && clock.nowMs() < wakeAtMs;
      // Otherwise the head right after the block was handled: blocks that appeared meanwhile are the scanner's
      // lag. Best effort: if this poll fails, the next iteration asks again (and reports a failure if it persists).
      head = paced ? undefined : await runBestEffort(deps.bestEffort ?? UNREPORTED, 'head-poll', pollHead, { block });
      const lagBlocks = head === undefined ? 0 : Math.max(0, head - block);

      summary.blocks++;
      summary.firstBlock ??= block;
      summary.lastBlock = block;
      summary.accountsScanned += progress.accountsScanned;
      summary.candidatesEnqueued += progress.candidatesEnqueued;
      summary.blockedByBreaker += progress.blockedByBreaker;
      summary.breakerOpen = progress.breakerOpen;
      summary.maxBlockLagBlocks = Math.max(summary.maxBlockLagBlocks, lagBlocks);
      lastBlock = block;
      emit({ kind: 'block', progress: { ...progress, rpcCalls: progress.rpcCalls + pollsSinceLastBlock, lagBlocks, durationMs } });
      pollsSinceLastBlock = 0;
      if (paced) pacedAfter = block;
      if (paced) await deps.sleep(Math.max(0, Math.min(wakeAtMs! - clock.nowMs(), stopAtMs - clock.nowMs())));
    }
  } catch (err) {
    // Giving up: the write in flight is left to finish, not abandoned.
    await flushing;
    throw err;
  }
  // What the last blocks left unwritten goes out before the invocation ends.
  await flushing;
  await reportWriteFailure();
  if (lastBlock !== undefined) {
    startWrite(lastBlock);
    await flushing;
    await reportWriteFailure();
  }
  return summary;
}
