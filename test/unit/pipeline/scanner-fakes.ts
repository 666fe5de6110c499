/**
 * In-memory fakes of the scanner's ports, on a virtual clock. Every fake is a plain class passed to the use case
 * (no jest.mock); time only moves when some task sleeps, so a minute-long invocation runs in milliseconds and
 * several scanners can run side by side deterministically.
 */
import type { FeedRound, OracleObservation, OracleReading } from '../../../functions/domain/oracle-breaker';
import type { PositionChangeSource, PositionChanges } from '../../../functions/pipeline/account-reads';
import { deduplicationIdOf, type CandidateMessage } from '../../../functions/pipeline/candidate-message';
import type { AccountScanner, BlockSource, OracleSource, ScannedAccount } from '../../../functions/pipeline/scan-blocks';
import type { AccountSnapshot, BorrowerStore, EnqueueMark, TrackedBorrower } from '../../../functions/ports/borrower-store';
import type { CandidateQueue } from '../../../functions/ports/candidate-queue';
import type { Clock } from '../../../functions/ports/clock';

export const WAD = 10n ** 18n;
/** HF as a WAD from a decimal string, without floats: hf('0.98') = 0.98e18. */
export function hf(decimal: string): bigint {
  const [whole, fraction = ''] = decimal.split('.');
  return BigInt(whole) * WAD + BigInt(fraction.padEnd(18, '0'));
}

/**
 * Virtual time. `sleep` parks the caller; once every task is parked (the event loop reached its check phase
 * with no microtask left), the earliest sleeper is woken and the clock jumps to its wake time.
 */
export class VirtualTime implements Clock {
  private now: number;
  private readonly sleepers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;
  readonly sleeps: number[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  /** Moves time forward without yielding (work that takes time, e.g. a slow scan). */
  spend(ms: number): void {
    this.now += ms;
  }

  sleep = (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    return new Promise<void>((resolve) => {
      this.sleepers.push({ at: this.now + ms, seq: this.seq++, wake: resolve });
      setImmediate(() => this.wakeEarliest());
    });
  };

  private wakeEarliest(): void {
    if (this.sleepers.length === 0) return;
    this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = this.sleepers.shift()!;
    this.now = Math.max(this.now, next.at);
    next.wake();
  }
}

/** A chain producing a block every `blockTimeMs` of virtual time, starting at `firstBlock`. */
export class FakeChain implements BlockSource {
  polls = 0;
  constructor(
    private readonly time: VirtualTime,
    readonly firstBlock: number,
    readonly blockTimeMs: number,
    private readonly startMs = time.nowMs(),
  ) {}

  blockAt(ms: number): number {
    return this.firstBlock + Math.floor((ms - this.startMs) / this.blockTimeMs);
  }

  /** Virtual time at which `block` appears. */
  timeOf(block: number): number {
    return this.startMs + (block - this.firstBlock) * this.blockTimeMs;
  }

  async latestBlockNumber(): Promise<number> {
    this.polls++;
    return this.blockAt(this.time.nowMs());
  }
}

export interface FakeReserve {
  asset: string;
  reserveId: number;
}

export const WETH: FakeReserve = { asset: '0x00000000000000000000000000000000000000e1', reserveId: 0 };
export const WBTC: FakeReserve = { asset: '0x00000000000000000000000000000000000000b1', reserveId: 1 };
export const USDC: FakeReserve = { asset: '0x00000000000000000000000000000000000000c1', reserveId: 2 };

/** A configuration bitmap: bit 2·id borrowing, bit 2·id+1 collateral (Aave UserConfiguration). */
export function usage(spec: { collateral?: FakeReserve[]; borrowing?: FakeReserve[] }): bigint {
  let bits = 0n;
  for (const r of spec.borrowing ?? []) bits |= 1n << BigInt(2 * r.reserveId);
  for (const r of spec.collateral ?? []) bits |= 1n << BigInt(2 * r.reserveId + 1);
  return bits;
}

/** Block timestamps of the fake chain: 2 s apart. */
export const blockTimestampSec = (block: number) => 1_700_000_000n + BigInt(block) * 2n;

/**
 * Oracle readings per block. By default every reserve has a fresh round (updated at the block) at its initial
 * price; `script(block, reading)` may change any reading of any block.
 */
export class FakeOracle implements OracleSource {
  reads = 0;
  /** Block → how many reads of it still fail. */
  readonly failAt = new Map<number, number>();
  constructor(
    private readonly prices: Map<string, bigint>,
    private readonly reserves: FakeReserve[] = [WETH, WBTC, USDC],
    public script: (block: number, reading: OracleReading) => OracleReading = (_block, reading) => reading,
  ) {}

  async readAt(block: number): Promise<OracleObservation & { rpcCalls: number }> {
    this.reads++;
    const failures = this.failAt.get(block) ?? 0;
    if (failures > 0) {
      this.failAt.set(block, failures - 1);
      throw new Error(`rpc timeout reading the oracle at ${block}`);
    }
    const blockTs = blockTimestampSec(block);
    const readings = this.reserves.map((r) => {
      const priceBase = this.prices.get(r.asset)!;
      const feed: FeedRound = { kind: 'round', source: `0xfeed${r.asset.slice(6)}`, answer: priceBase, updatedAtSec: blockTs };
      return this.script(block, { asset: r.asset, reserveId: r.reserveId, price: { kind: 'price', priceBase }, feed });
    });
    return { block, blockTimestampSec: blockTs, readings, rpcCalls: 3 + this.reserves.length };
  }
}

export interface FakeAccount {
  healthFactorWad: bigint;
  totalDebtBase?: bigint;
  totalCollateralBase?: bigint;
  userConfiguration?: bigint;
}

/** Account health per (user, block) from a function; records which users were read at which block. */
export class FakeAccountScanner implements AccountScanner {
  readonly scans: { block: number; users: string[] }[] = [];
  /** Block → how many scans at it still fail. */
  readonly failAt = new Map<number, number>();
  constructor(
    public healthAt: (user: string, block: number) => FakeAccount,
    private readonly time?: VirtualTime,
    private readonly msPerAccount = 0,
  ) {}

  async scan(users: readonly string[], block: number): Promise<{ accounts: ScannedAccount[]; rpcCalls: number }> {
    const failures = this.failAt.get(block) ?? 0;
    if (failures > 0) {
      this.failAt.set(block, failures - 1);
      throw new Error(`eth_call timed out at ${block}`);
    }
    this.scans.push({ block, users: [...users] });
    this.time?.spend(this.msPerAccount * users.length);
    const accounts = users.map((user) => {
      const a = this.healthAt(user, block);
      return {
        user,
        healthFactorWad: a.healthFactorWad,
        totalDebtBase: a.totalDebtBase ?? 1_000_00000000n,
        totalCollateralBase: a.totalCollateralBase ?? 2_000_00000000n,
        userConfiguration: a.userConfiguration ?? usage({ collateral: [WETH], borrowing: [USDC] }),
      };
    });
    return { accounts, rpcCalls: Math.ceil(users.length / 500) };
  }
}

/**
 * BorrowerStore in memory, counting what is written, with DynamoDbBorrowerStore's write rules: an update older
 * than the stored `lastScannedBlock` is dropped, and an enqueue mark from an earlier block is left as stored.
 * `writeMsPerItem` makes writes take virtual time (a slow table); `log` records every call in order.
 */
export class InMemoryBorrowerStore implements BorrowerStore {
  readonly borrowers = new Map<string, Map<string, TrackedBorrower>>();
  readonly snapshots: (AccountSnapshot & { market: string; expiresAtSec: number })[] = [];
  readonly recordScanCalls: TrackedBorrower[][] = [];
  readonly log: string[] = [];
  failRecordScan = 0;
  /** Fails the next recordScan calls whose updates match. */
  failRecordScanIf?: (updates: readonly TrackedBorrower[]) => boolean;
  failPutSnapshots = 0;

  constructor(
    private readonly time?: VirtualTime,
    private readonly writeMsPerItem = 0,
  ) {}

  seed(market: string, records: TrackedBorrower[]): void {
    const table = this.table(market);
    for (const r of records) table.set(r.borrower.toLowerCase(), { ...r });
  }

  get(market: string, borrower: string): TrackedBorrower | undefined {
    return this.table(market).get(borrower.toLowerCase());
  }

  private table(market: string): Map<string, TrackedBorrower> {
    let table = this.borrowers.get(market);
    if (!table) this.borrowers.set(market, (table = new Map()));
    return table;
  }

  private async takeTime(items: number): Promise<void> {
    if (this.time && this.writeMsPerItem > 0 && items > 0) await this.time.sleep(this.writeMsPerItem * items);
  }

  async upsertSeen(market: string, seen: readonly { borrower: string; block: number }[]): Promise<void> {
    const table = this.table(market);
    for (const { borrower, block } of seen) {
      const existing = table.get(borrower.toLowerCase());
      table.set(borrower.toLowerCase(), existing ? { ...existing, lastEventBlock: Math.max(existing.lastEventBlock, block) } : { borrower, firstSeenBlock: block, lastEventBlock: block, tier: 'cold' });
    }
  }

  async listTracked(market: string): Promise<TrackedBorrower[]> {
    return [...this.table(market).values()].map((r) => ({ ...r }));
  }

  async recordScan(market: string, updates: readonly TrackedBorrower[]): Promise<void> {
    this.log.push(`recordScan ${updates.map((u) => u.borrower).join(',')}`);
    await this.takeTime(updates.length);
    if (this.failRecordScan > 0 || this.failRecordScanIf?.(updates)) {
      if (this.failRecordScan > 0) this.failRecordScan--;
      else this.failRecordScanIf = undefined;
      throw new Error('ProvisionedThroughputExceededException');
    }
    this.recordScanCalls.push(updates.map((u) => ({ ...u })));
    const table = this.table(market);
    for (const u of updates) {
      const existing = table.get(u.borrower.toLowerCase());
      if (existing?.lastScannedBlock !== undefined && u.lastScannedBlock !== undefined && u.lastScannedBlock < existing.lastScannedBlock) continue;
      const { enqueuedUntilBlock, enqueuedAtBlock, ...rest } = u;
      const oldMark = enqueuedUntilBlock !== undefined && enqueuedAtBlock !== undefined && u.lastScannedBlock !== undefined && enqueuedAtBlock < u.lastScannedBlock;
      const mark = oldMark
        ? { enqueuedUntilBlock: existing?.enqueuedUntilBlock, enqueuedAtBlock: existing?.enqueuedAtBlock }
        : { enqueuedUntilBlock, enqueuedAtBlock };
      table.set(u.borrower.toLowerCase(), {
        ...rest,
        ...(mark.enqueuedUntilBlock === undefined ? {} : { enqueuedUntilBlock: mark.enqueuedUntilBlock }),
        ...(mark.enqueuedUntilBlock === undefined || mark.enqueuedAtBlock === undefined ? {} : { enqueuedAtBlock: mark.enqueuedAtBlock }),
      });
    }
  }

  async clearEnqueued(market: string, borrower: string): Promise<void> {
    this.log.push(`clearEnqueued ${borrower}`);
    const record = this.table(market).get(borrower.toLowerCase());
    if (record) {
      delete record.enqueuedUntilBlock;
      delete record.enqueuedAtBlock;
    }
  }

  async readEnqueueMarks(market: string, borrowers: readonly string[]): Promise<ReadonlyMap<string, EnqueueMark>> {
    this.log.push(`readEnqueueMarks ${borrowers.join(',')}`);
    const marks = new Map<string, EnqueueMark>();
    for (const borrower of borrowers) {
      const record = this.table(market).get(borrower.toLowerCase());
      if (record?.enqueuedUntilBlock === undefined) continue;
      marks.set(borrower.toLowerCase(), { enqueuedUntilBlock: record.enqueuedUntilBlock, ...(record.enqueuedAtBlock === undefined ? {} : { enqueuedAtBlock: record.enqueuedAtBlock }) });
    }
    return marks;
  }

  async putSnapshots(market: string, snapshots: readonly AccountSnapshot[], retentionSec: number, nowSec: number): Promise<void> {
    this.log.push(`putSnapshots ${snapshots.length}`);
    await this.takeTime(snapshots.length);
    if (this.failPutSnapshots > 0) {
      this.failPutSnapshots--;
      throw new Error('InternalServerError');
    }
    for (const s of snapshots) this.snapshots.push({ ...s, market, expiresAtSec: nowSec + retentionSec });
  }
}

/**
 * A FIFO queue with SQS's deduplication: a message whose deduplication id was seen before (within the 5-minute
 * window, which no test outlives) is accepted but not delivered again.
 */
export class FifoQueueFake implements CandidateQueue {
  readonly published: CandidateMessage[] = [];
  readonly delivered = new Map<string, CandidateMessage>();
  /** Borrowers (lower case) whose messages the queue refuses. */
  readonly refuse = new Set<string>();

  async publish(messages: readonly CandidateMessage[]): Promise<{ sent: number; failed: { message: CandidateMessage; reason: string }[] }> {
    const failed: { message: CandidateMessage; reason: string }[] = [];
    for (const message of messages) {
      if (this.refuse.has(message.borrower.toLowerCase())) {
        failed.push({ message, reason: 'InternalError' });
        continue;
      }
      this.published.push(message);
      const id = deduplicationIdOf(message);
      if (!this.delivered.has(id)) this.delivered.set(id, message);
    }
    return { sent: messages.length - failed.length, failed };
  }
}

/** A tracked borrower as the indexer leaves it (never scanned). */
export function tracked(borrower: string, extra: Partial<TrackedBorrower> = {}): TrackedBorrower {
  return { borrower, firstSeenBlock: 1, lastEventBlock: 1, tier: 'cold', ...extra };
}

/** Deterministic, distinct, checksum-free addresses. */
export function address(n: number): string {
  return `0x${n.toString(16).padStart(40, '0')}`;
}

/** Position and risk-parameter changes by block, set by a test; records every range asked for. */
export class FakePositionChanges implements PositionChangeSource {
  readonly ranges: { fromBlock: number; toBlock: number }[] = [];
  readonly accountsAt = new Map<number, string[]>();
  readonly reservesAt = new Map<number, string[]>();
  readonly everyoneAt = new Set<number>();
  /** Block ranges starting at this block fail this many times. */
  readonly failFrom = new Map<number, number>();

  async changesIn(fromBlock: number, toBlock: number): Promise<PositionChanges> {
    const failures = this.failFrom.get(fromBlock) ?? 0;
    if (failures > 0) {
      this.failFrom.set(fromBlock, failures - 1);
      throw new Error(`eth_getLogs timed out for ${fromBlock}..${toBlock}`);
    }
    this.ranges.push({ fromBlock, toBlock });
    const accounts = new Set<string>();
    const reserves = new Set<string>();
    let everyone = false;
    for (let b = fromBlock; b <= toBlock; b++) {
      for (const a of this.accountsAt.get(b) ?? []) accounts.add(a.toLowerCase());
      for (const r of this.reservesAt.get(b) ?? []) reserves.add(r.toLowerCase());
      everyone ||= this.everyoneAt.has(b);
    }
    return { accounts, reserves, everyone, rpcCalls: 1 };
  }
}
