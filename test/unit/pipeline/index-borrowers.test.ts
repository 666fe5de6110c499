/**
 * The borrower indexer's use case against in-memory fakes of its ports (a chain with forks, a borrower store,
 * a compare-and-set checkpoint store, a manual clock): windows and their halving, which accounts get tracked,
 * checkpoint movement, reorg re-reads, deadlines and concurrent indexers. Then the Aave V3 event source on canned
 * JSON-RPC answers: its topics against the Solidity in node_modules, decoding, and how node errors are classified.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { id, Interface, makeError } from 'ethers';
import { AAVE_V3_ACCOUNT_EVENTS, AaveV3EventSource, EventSourceError, type JsonRpcSend, POOL_DETAIL_EVENTS } from '../../../functions/adapters/chain/aave-v3-event-source';
import {
  type AccountEvent,
  type AccountEventKind,
  type AccountEventRead,
  type AccountEventSource,
  CheckpointWriteError,
  type IndexBorrowersDeps,
  indexBorrowers,
  type IndexerSettings,
  LogWindowError,
} from '../../../functions/pipeline/index-borrowers';
import { emptyCaptureTally } from '../../../functions/pipeline/record-liquidations';
import type { BorrowerStore, CheckpointStore, IndexerCheckpoint, TrackedBorrower } from '../../../functions/ports/borrower-store';

const MARKET = '31337#0x00000000000000000000000000000000000000aa';
const addr = (c: string) => `0x${c.repeat(40)}`;
const A = addr('a');
const B = addr('b');
const C = addr('c');
const D = addr('d');
const E = addr('e');
const SUPPLIER = addr('5');

/** A chain whose blocks carry a fork number in their hash, so a reorg changes the hashes from its first block on. */
class FakeChain implements AccountEventSource {
  private readonly blocks: { fork: number; events: AccountEvent[] }[] = [];
  readonly calls = { head: 0, hash: 0, logs: 0, refused: 0 };
  /** Refuses a window holding more events than this, in Infura's words. */
  maxEventsPerCall = Number.POSITIVE_INFINITY;
  onRead: () => void = () => undefined;
  /** The next eth_getLogs calls fail with these errors, one each, as a flaky node would. */
  readFailures: Error[] = [];

  constructor(head: number) {
    this.mineTo(head);
  }

  mineTo(head: number): void {
    while (this.blocks.length <= head) this.blocks.push({ fork: 0, events: [] });
  }

  add(block: number, kind: AccountEventKind, account: string): void {
    this.blocks[block].events.push({ kind, account, block });
  }

  /** Replaces blocks from `block` on with a new fork (same numbers, new hashes). */
  reorgFrom(block: number): void {
    for (let b = block; b < this.blocks.length; b++) this.blocks[b] = { fork: this.blocks[b].fork + 1, events: [...this.blocks[b].events] };
  }

  hashOf(block: number): string {
    return `0x${(this.blocks[block].fork * 1_000_000 + block).toString(16).padStart(64, '0')}`;
  }

  async headBlock(): Promise<number> {
    this.calls.head++;
    return this.blocks.length - 1;
  }

  async blockHash(block: number): Promise<string> {
    this.calls.hash++;
    if (!this.blocks[block]) throw new Error(`no block ${block}`);
    return this.hashOf(block);
  }

  async readEvents(fromBlock: number, toBlock: number): Promise<AccountEventRead> {
    this.calls.logs++;
    this.onRead();
    const failure = this.readFailures.shift();
    if (failure) throw failure;
    const events = this.blocks.slice(fromBlock, toBlock + 1).flatMap((b) => b.events);
    if (events.length > this.maxEventsPerCall) {
      this.calls.refused++;
      return { kind: 'range-too-large', reason: `query returned more than ${this.maxEventsPerCall} results` };
    }
    return { kind: 'events', events };
  }
}

/** The indexer's half of BorrowerStore, with the port's semantics: keeps firstSeenBlock, raises lastEventBlock. */
class MemoryBorrowerStore implements Pick<BorrowerStore, 'upsertSeen' | 'listTracked'> {
  readonly items = new Map<string, TrackedBorrower>();
  readonly calls = { upsert: 0, list: 0 };
  /** The borrowers of each upsertSeen call, in order. */
  readonly upserted: string[][] = [];

  async upsertSeen(market: string, seen: readonly { borrower: string; block: number }[]): Promise<void> {
    this.calls.upsert++;
    this.upserted.push([...new Set(seen.map((s) => s.borrower))]);
    for (const { borrower, block } of seen) {
      const key = `${market}|${borrower}`;
      const known = this.items.get(key);
      this.items.set(
        key,
        known
          ? { ...known, lastEventBlock: Math.max(known.lastEventBlock, block), firstSeenBlock: known.firstSeenBlock }
          : { borrower, firstSeenBlock: block, lastEventBlock: block, tier: 'hot' },
      );
    }
  }

  async listTracked(market: string): Promise<TrackedBorrower[]> {
    this.calls.list++;
    return [...this.items].filter(([key]) => key.startsWith(`${market}|`)).map(([, b]) => b);
  }

  spans(): Record<string, [number, number]> {
    return Object.fromEntries([...this.items.values()].map((b) => [b.borrower, [b.firstSeenBlock, b.lastEventBlock]]));
  }
}

/** Compare-and-set like the DynamoDB store; `interloper` is written by "another indexer" just before the next put. */
class MemoryCheckpointStore implements CheckpointStore {
  stored: IndexerCheckpoint | undefined;
  readonly writes: number[] = [];
  interloper: IndexerCheckpoint | undefined;
  /** The next puts fail with this error (as a store outage would), `failPuts` times in a row. */
  failNextPut: Error | undefined;
  failPuts = 1;

  async getCheckpoint(): Promise<IndexerCheckpoint | undefined> {
    return this.stored;
  }

  async putCheckpoint(_id: string, next: IndexerCheckpoint, previous: IndexerCheckpoint | undefined): Promise<void> {
    if (this.interloper) {
      this.stored = this.interloper;
      this.writes.push(this.interloper.block);
      this.interloper = undefined;
    }
    if (this.failNextPut) {
      const err = this.failNextPut;
      if (--this.failPuts <= 0) this.failNextPut = undefined;
      throw err;
    }
    if (this.stored?.block !== previous?.block || this.stored?.blockHash !== previous?.blockHash) throw new Error('conditional check failed');
    this.stored = next;
    this.writes.push(next.block);
  }
}

class ManualClock {
  now = 1_000_000;
  nowMs(): number {
    return this.now;
  }
}

const SETTINGS: IndexerSettings = { startBlock: 10, logWindow: 20, reorgDepth: 5 };
const FAR = Number.MAX_SAFE_INTEGER;

/** Blocks 10–60 of a market: A borrows, supplies and is liquidated; B supplies then borrows; C only repays; a supplier only supplies. */
function marketHistory(): FakeChain {
  const chain = new FakeChain(60);
  chain.add(12, 'borrow', A);
  chain.add(15, 'supply', SUPPLIER);
  chain.add(15, 'supply', A);
  chain.add(33, 'supply', B);
  chain.add(35, 'borrow', B);
  chain.add(50, 'repay', C);
  chain.add(55, 'liquidation', A);
  return chain;
}

function setup(chain = marketHistory(), settings: IndexerSettings = SETTINGS) {
  const borrowers = new MemoryBorrowerStore();
  const checkpoints = new MemoryCheckpointStore();
  const clock = new ManualClock();
  const pauses: number[] = [];
  const failures: { fromBlock: number; toBlock: number; consecutiveFailures: number; error: unknown }[] = [];
  const sleep = async (ms: number) => {
    pauses.push(ms);
    clock.now += ms;
  };
  const deps: IndexBorrowersDeps = { market: MARKET, settings, source: chain, borrowers, checkpoints, clock, sleep, onWindowFailed: (f) => failures.push(f) };
  return { chain, borrowers, checkpoints, clock, deps, pauses, failures };
}

describe('indexBorrowers', () => {
  describe('a first run', () => {
    it('reads from the start block to the head in windows and tracks the accounts that have or had debt', async () => {
      const { chain, borrowers, checkpoints, deps } = setup();

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toEqual({
        outcome: { kind: 'caught-up' },
        fromBlock: 10,
        toBlock: 60,
        headBlock: 60,
        windows: 3, // 10–29, 30–49, 50–60
        windowBlocks: 20,
        refusedWindows: 0,
        logs: 7,
        borrowersSeen: 3,
        newBorrowers: 3,
        rpcCalls: 7, // head + 3 × (eth_getLogs + block hash for the checkpoint)
        failedWindows: 0,
        capture: emptyCaptureTally(),
        reorg: { kind: 'first-run' },
      });
      // The supplier never borrowed: not tracked. B's supply in the window of its first borrow counts.
      expect(borrowers.spans()).toEqual({ [A]: [12, 55], [B]: [33, 35], [C]: [50, 50] });
      expect(checkpoints.writes).toEqual([29, 49, 60]);
      expect(checkpoints.stored).toEqual({ block: 60, blockHash: chain.hashOf(60), logWindowBlocks: 20 });
    });

    it('does nothing while the start block is not mined yet', async () => {
      const { chain, checkpoints, deps } = setup(marketHistory(), { ...SETTINGS, startBlock: 100 });

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({ outcome: { kind: 'up-to-date' }, fromBlock: 100, toBlock: 99, windows: 0, rpcCalls: 1 });
      expect(chain.calls.logs).toBe(0);
      expect(checkpoints.writes).toEqual([]);
    });
  });

  describe('window halving', () => {
    it('halves the window while the node says "too many results" and keeps the smaller window', async () => {
      const chain = marketHistory();
      chain.maxEventsPerCall = 2;
      const { borrowers, checkpoints, deps } = setup(chain);

      const summary = await indexBorrowers(deps, FAR);

      // 10–29 (3 events) refused, 10–19 (3) refused, then 5-block windows from 10 to 60: 11 windows.
      expect(chain.calls.refused).toBe(2);
      expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, windows: 11, windowBlocks: 5, logs: 7, rpcCalls: 1 + 13 + 11 });
      // B's supply (33) and first borrow (35) now fall in different windows: B is first seen at its borrow.
      expect(borrowers.spans()).toEqual({ [A]: [12, 55], [B]: [35, 35], [C]: [50, 50] });
      expect(checkpoints.stored?.block).toBe(60);
    });

    it('fails clearly when even a single block is refused, with the checkpoint at the last indexed block', async () => {
      const chain = marketHistory();
      chain.maxEventsPerCall = 1; // block 15 holds two events
      const { checkpoints, deps } = setup(chain);

      const run = indexBorrowers(deps, FAR);

      await expect(run).rejects.toThrow(new LogWindowError(15, 'query returned more than 1 results'));
      await expect(run).rejects.toThrow('the node refuses eth_getLogs even for the single block 15: query returned more than 1 results');
      expect(checkpoints.stored?.block).toBe(14);
    });
  });

  describe('the next runs', () => {
    it('does nothing when no block was mined and the checkpoint block is unchanged', async () => {
      const { chain, borrowers, checkpoints, deps } = setup();
      await indexBorrowers(deps, FAR);
      const callsBefore = { ...borrowers.calls };
      const logsBefore = chain.calls.logs;

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toEqual({
        outcome: { kind: 'up-to-date' },
        fromBlock: 61,
        toBlock: 60,
        headBlock: 60,
        windows: 0,
        windowBlocks: 20,
        refusedWindows: 0,
        logs: 0,
        borrowersSeen: 0,
        newBorrowers: 0,
        rpcCalls: 2, // head + the checkpoint block's hash
        failedWindows: 0,
        capture: emptyCaptureTally(),
        reorg: { kind: 'unchanged' },
      });
      expect(chain.calls.logs).toBe(logsBefore);
      expect(borrowers.calls).toEqual(callsBefore);
      expect(checkpoints.writes).toEqual([29, 49, 60]);
    });

    it('writes only the borrowers whose latest event the store does not hold yet: a re-read of the reorg margin writes none again', async () => {
      const { chain, borrowers, deps } = setup(marketHistory(), { ...SETTINGS, reorgDepth: 10 });
      await indexBorrowers(deps, FAR);
      // Re-read from 51: A's liquidation at 55 is stored already. B supplies again, E borrows for the first time.
      chain.mineTo(70);
      chain.add(65, 'supply', B);
      chain.add(66, 'borrow', E);
      const upsertsBefore = borrowers.upserted.length;

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({ fromBlock: 51, toBlock: 70, logs: 3, borrowersSeen: 3, newBorrowers: 1 });
      expect(borrowers.upserted.slice(upsertsBefore).flat().sort()).toEqual([B, E]);
      expect(borrowers.spans()).toMatchObject({ [A]: [12, 55], [B]: [33, 65], [E]: [66, 66] });

      // Nothing new: the next run with a new block re-reads 61–71 and writes nothing.
      chain.mineTo(71);
      const upsertsNow = borrowers.upserted.length;
      expect(await indexBorrowers(deps, FAR)).toMatchObject({ fromBlock: 61, logs: 2, borrowersSeen: 2, newBorrowers: 0 });
      expect(borrowers.upserted.length).toBe(upsertsNow);
    });

    it('re-reads reorgDepth blocks below the checkpoint, so a log the node missed near the head is picked up', async () => {
      const { chain, borrowers, checkpoints, deps } = setup();
      await indexBorrowers(deps, FAR);
      // A lagging node answered the first run without block 58's log; the chain itself did not change.
      chain.add(58, 'borrow', D);
      chain.mineTo(70);

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({
        outcome: { kind: 'caught-up' },
        fromBlock: 56, // 60 + 1 − 5
        toBlock: 70,
        windows: 1,
        logs: 1,
        newBorrowers: 1,
        reorg: { kind: 'unchanged' },
      });
      expect(borrowers.spans()[D]).toEqual([58, 58]);
      expect(checkpoints.stored).toEqual({ block: 70, blockHash: chain.hashOf(70), logWindowBlocks: 20 });
    });

    it('notices a reorg that replaced the checkpoint block and indexes the new fork', async () => {
      const { chain, borrowers, checkpoints, deps } = setup();
      await indexBorrowers(deps, FAR);
      const indexedHash = chain.hashOf(60);
      chain.reorgFrom(58);
      chain.add(59, 'borrow', E);
      chain.mineTo(62);

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({
        outcome: { kind: 'caught-up' },
        fromBlock: 56,
        toBlock: 62,
        newBorrowers: 1,
        reorg: { kind: 'checkpoint-block-replaced', block: 60, indexedHash, currentHash: chain.hashOf(60) },
      });
      expect(chain.hashOf(60)).not.toBe(indexedHash);
      expect(borrowers.spans()[E]).toEqual([59, 59]);
      expect(checkpoints.stored).toEqual({ block: 62, blockHash: chain.hashOf(62), logWindowBlocks: 20 });
    });

    it('re-reads after a reorg even without a new block, and records the new hash at the same block', async () => {
      const { chain, borrowers, checkpoints, deps } = setup();
      await indexBorrowers(deps, FAR);
      chain.reorgFrom(59);
      chain.add(60, 'borrow', E);

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, fromBlock: 56, toBlock: 60, windows: 1, newBorrowers: 1 });
      expect(summary.reorg.kind).toBe('checkpoint-block-replaced');
      expect(borrowers.spans()[E]).toEqual([60, 60]);
      expect(checkpoints.stored).toEqual({ block: 60, blockHash: chain.hashOf(60), logWindowBlocks: 20 });
      expect(checkpoints.writes).toEqual([29, 49, 60, 60]);
    });

    it('leaves the checkpoint where it is during re-read windows below it', async () => {
      const { chain, checkpoints, deps } = setup(marketHistory(), { ...SETTINGS, logWindow: 2, reorgDepth: 5 });
      await indexBorrowers(deps, FAR);
      const writesAfterFirstRun = checkpoints.writes.length;
      chain.mineTo(63);

      await indexBorrowers(deps, FAR);

      // Windows 56–57, 58–59 re-read below 60; 60–61, 62–63 move it.
      expect(checkpoints.writes.slice(writesAfterFirstRun)).toEqual([61, 63]);
    });

    it('reads nothing when the node is behind the checkpoint', async () => {
      const { chain, checkpoints, deps } = setup();
      checkpoints.stored = { block: 70, blockHash: `0x${'7'.repeat(64)}` };

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({ outcome: { kind: 'node-behind', checkpointBlock: 70 }, headBlock: 60, toBlock: 70, windows: 0, rpcCalls: 1 });
      expect(chain.calls.logs).toBe(0);
      expect(checkpoints.writes).toEqual([]);
    });
  });

  describe('deadline', () => {
    it('stops between windows once the deadline is reached, and the next run continues from the checkpoint', async () => {
      const { chain, borrowers, checkpoints, clock, deps } = setup();
      chain.onRead = () => (clock.now += 1_000); // each eth_getLogs takes a second
      const deadline = clock.now + 2_500;

      const first = await indexBorrowers(deps, deadline);

      // Windows start at t = 0 and t = 1,000; one started at t = 2,000 would end at 3,000, past the deadline.
      expect(first).toMatchObject({ outcome: { kind: 'deadline', remainingBlocks: 11 }, fromBlock: 10, toBlock: 49, windows: 2 });
      expect(checkpoints.stored?.block).toBe(49);
      expect(borrowers.spans()).toEqual({ [A]: [12, 15], [B]: [33, 35] });

      const second = await indexBorrowers(deps, clock.now + 60_000);

      expect(second).toMatchObject({ outcome: { kind: 'caught-up' }, fromBlock: 45, toBlock: 60, windows: 1, newBorrowers: 1 });
      expect(borrowers.spans()).toEqual({ [A]: [12, 55], [B]: [33, 35], [C]: [50, 50] });
    });

    it('reads nothing when called after its deadline', async () => {
      const { chain, checkpoints, clock, deps } = setup();

      const summary = await indexBorrowers(deps, clock.now);

      expect(summary).toMatchObject({ outcome: { kind: 'deadline', remainingBlocks: 51 }, fromBlock: 10, toBlock: 9, windows: 0 });
      expect(chain.calls.logs).toBe(0);
      expect(checkpoints.stored).toBeUndefined();
    });
  });

  describe('overlapping indexers', () => {
    it('stops when another indexer moved the checkpoint to or past this run', async () => {
      const { checkpoints, deps } = setup();
      const ahead = { block: 55, blockHash: `0x${'5'.repeat(64)}` };
      checkpoints.interloper = ahead;

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({ outcome: { kind: 'superseded', current: ahead }, toBlock: 55, windows: 1 });
      expect(checkpoints.stored).toEqual(ahead);
    });

    it('overtakes a checkpoint another indexer left behind this run', async () => {
      const { chain, checkpoints, deps } = setup();
      checkpoints.interloper = { block: 20, blockHash: `0x${'2'.repeat(64)}` };

      const summary = await indexBorrowers(deps, FAR);

      expect(summary.outcome).toEqual({ kind: 'caught-up' });
      expect(checkpoints.writes).toEqual([20, 29, 49, 60]);
      expect(checkpoints.stored).toEqual({ block: 60, blockHash: chain.hashOf(60), logWindowBlocks: 20 });
    });

    it('reports a failed checkpoint write that was not a race, with its cause, once it failed five times in a row', async () => {
      const { checkpoints, deps, failures } = setup();
      const cause = new Error('connection reset');
      checkpoints.failNextPut = cause;
      checkpoints.failPuts = 5;

      const run = indexBorrowers(deps, FAR);

      await expect(run).rejects.toThrow(`moving the indexer checkpoint of ${MARKET} to block 29 failed`);
      await expect(run).rejects.toBeInstanceOf(CheckpointWriteError);
      await expect(run).rejects.toHaveProperty('cause', cause);
      expect(failures.map((f) => [f.fromBlock, f.toBlock, f.consecutiveFailures])).toEqual([
        [10, 29, 1],
        [10, 29, 2],
        [10, 29, 3],
        [10, 29, 4],
      ]);
      expect(checkpoints.stored).toBeUndefined();
    });
  });

  describe('a flaky node or store', () => {
    it('tries a failed window again after a pause and catches up, each window counted once', async () => {
      const { chain, borrowers, checkpoints, deps, pauses, failures } = setup();
      const dropped = new Error('socket hang up');
      chain.readFailures = [dropped, new Error('injected fault: service unavailable')];

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, toBlock: 60, windows: 3, logs: 7, newBorrowers: 3, failedWindows: 2 });
      expect(pauses).toEqual([1_000, 1_000]);
      expect(failures.map((f) => [f.fromBlock, f.toBlock, f.consecutiveFailures, f.error])).toEqual([
        [10, 29, 1, dropped],
        [10, 29, 2, expect.objectContaining({ message: 'injected fault: service unavailable' })],
      ]);
      expect(borrowers.spans()).toEqual({ [A]: [12, 55], [B]: [33, 35], [C]: [50, 50] });
      expect(checkpoints.writes).toEqual([29, 49, 60]);
    });

    it('retries a window whose checkpoint write failed, without counting its events twice', async () => {
      const { checkpoints, deps } = setup();
      checkpoints.failNextPut = new Error('connection reset');

      const summary = await indexBorrowers(deps, FAR);

      expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, toBlock: 60, windows: 3, logs: 7, newBorrowers: 3, failedWindows: 1 });
      expect(checkpoints.writes).toEqual([29, 49, 60]);
    });

    it('gives up after five failures in a row, with the checkpoint at the last window through', async () => {
      const { chain, checkpoints, deps } = setup();
      chain.onRead = () => {
        if (chain.calls.logs === 2) chain.readFailures = Array.from({ length: 5 }, (_, i) => new Error(`header not found (${i + 1})`));
      };

      await expect(indexBorrowers(deps, FAR)).rejects.toThrow('header not found (5)');
      expect(checkpoints.stored?.block).toBe(29);
    });

    it('does not retry a window the node refuses even for one block', async () => {
      const chain = marketHistory();
      chain.maxEventsPerCall = 1;
      const { deps, failures } = setup(chain);

      await expect(indexBorrowers(deps, FAR)).rejects.toBeInstanceOf(LogWindowError);
      expect(failures).toEqual([]);
    });

    it('stops at the deadline instead of pausing past it', async () => {
      const { chain, clock, deps, pauses } = setup();
      chain.readFailures = [new Error('socket hang up')];

      const summary = await indexBorrowers(deps, clock.now + 500);

      expect(summary).toMatchObject({ outcome: { kind: 'deadline', remainingBlocks: 51 }, toBlock: 9, windows: 0, failedWindows: 1 });
      expect(pauses).toEqual([]);
    });

    it('uses the configured retry budget and pause', async () => {
      const { chain, deps, pauses } = setup(marketHistory(), { ...SETTINGS, maxConsecutiveWindowFailures: 2, windowRetryPauseMs: 250 });
      chain.readFailures = [new Error('a'), new Error('b')];

      await expect(indexBorrowers(deps, FAR)).rejects.toThrow('b');
      expect(pauses).toEqual([250]);
    });
  });
});

describe('AaveV3EventSource', () => {
  const POOL = '0x000000000000000000000000000000000000Aa00';
  const EVENT_TOPIC = Object.fromEntries(AAVE_V3_ACCOUNT_EVENTS.map((e) => [e.kind, id(e.signature)])) as Record<AccountEventKind, string>;
  const pad = (address: string) => `0x${address.slice(2).toLowerCase().padStart(64, '0')}`;
  const RESERVE = pad(addr('1'));

  /**
   * Each event's declaration in an IPool.sol, as ethers sees it. `DataTypes.InterestRateMode` is an enum: uint8 in
   * the ABI. Comments are stripped first, since the NatSpec above each event mentions other events.
   */
  function declaredEvents(path: string): Interface {
    const source = readFileSync(join(__dirname, '../../../node_modules', path), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    const events = [...source.matchAll(/event\s+\w+\s*\([^)]*\)/g)].map((m) => m[0].replace(/DataTypes\.InterestRateMode/g, 'uint8').replace(/\s+/g, ' '));
    return new Interface(events);
  }

  describe.each([
    ['V3.0', '@aave/core-v3/contracts/interfaces/IPool.sol'],
    ['v3.6', '@aave-dao/aave-v3-origin/src/contracts/interfaces/IPool.sol'],
  ])('matches the Aave %s IPool.sol', (_version, path) => {
    const declared = declaredEvents(path);
    it.each(AAVE_V3_ACCOUNT_EVENTS.map((e) => [e.kind, e] as const))('%s: signature and account topic', (_kind, event) => {
      const fragment = declared.getEvent(event.signature.split('(')[0])!;
      expect(fragment.format('sighash')).toBe(event.signature);
      // The account is onBehalfOf for Supply and Borrow (user is the caller there), user otherwise.
      const accountName = event.kind === 'supply' || event.kind === 'borrow' ? 'onBehalfOf' : 'user';
      const indexed = fragment.inputs.filter((input) => input.indexed).map((input) => input.name);
      expect(1 + indexed.indexOf(accountName)).toBe(event.accountTopic);
    });
  });

  it.each([
    ['V3.0', '@aave/core-v3/contracts/interfaces/IPool.sol', ['LiquidationCall']],
    ['v3.6', '@aave-dao/aave-v3-origin/src/contracts/interfaces/IPool.sol', ['LiquidationCall', 'DeficitCreated']],
  ])('decodes LiquidationCall and DeficitCreated as the Aave %s IPool.sol declares them (V3.0 has no DeficitCreated)', (_version, path, names) => {
    const declared = declaredEvents(path);
    const present = ['LiquidationCall', 'DeficitCreated'].filter((name) => declared.getEvent(name) !== null);

    expect(present).toEqual(names);
    for (const name of names) expect(POOL_DETAIL_EVENTS.getEvent(name)!.format('full')).toBe(declared.getEvent(name)!.format('full'));
  });

  /** A JSON-RPC endpoint answering from a function, with ethers' own error objects for refusals. */
  function fakeRpc(answer: (method: string, params: unknown[]) => unknown): JsonRpcSend & { requests: { method: string; params: unknown[] }[] } {
    const requests: { method: string; params: unknown[] }[] = [];
    return {
      requests,
      send: async (method: string, params: unknown[] | Record<string, unknown>) => {
        const list = Array.isArray(params) ? params : [params];
        requests.push({ method, params: list });
        return answer(method, list);
      },
    };
  }

  const nodeError = (code: number, message: string) =>
    makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code, message }, payload: { method: 'eth_getLogs' } });

  it('asks for the pool, the seven topics and DeficitCreated, and decodes the account of each event and the details of liquidations and deficits', async () => {
    const log = (kind: AccountEventKind, topics: string[], block: number, address = POOL) => ({
      address: address.toLowerCase(),
      topics: [EVENT_TOPIC[kind], ...topics],
      blockNumber: `0x${block.toString(16)}`,
      data: '0x',
    });
    const caller = pad(addr('9'));
    const TX = `0x${'7'.repeat(64)}`;
    const liquidation = POOL_DETAIL_EVENTS.encodeEventLog('LiquidationCall', [addr('1'), addr('2'), E, 1_500_000000n, 6n * 10n ** 17n, addr('9'), false]);
    const deficit = POOL_DETAIL_EVENTS.encodeEventLog('DeficitCreated', [E, addr('2'), 42_000000n]);
    const rpc = fakeRpc(() => [
      log('supply', [RESERVE, pad(A), pad('0x0000000000000000000000000000000000000000')], 16),
      log('withdraw', [RESERVE, pad(B), caller], 17),
      log('borrow', [RESERVE, pad(C), pad('0x0000000000000000000000000000000000000000')], 18),
      log('repay', [RESERVE, pad(D), caller], 19),
      { ...log('liquidation', liquidation.topics.slice(1), 20), data: liquidation.data, transactionHash: TX, logIndex: '0x3' },
      { address: POOL.toLowerCase(), topics: deficit.topics, data: deficit.data, blockNumber: '0x14', transactionHash: TX, logIndex: '0x4' },
      log('collateral-enabled', [RESERVE, pad(A)], 21),
      log('collateral-disabled', [RESERVE, pad(B)], 22),
      { ...log('borrow', [RESERVE, pad(C), caller], 23), topics: [`0x${'f'.repeat(64)}`, RESERVE] }, // another event
      log('borrow', [RESERVE, pad(C), caller], 24, addr('3')), // another contract
    ]);
    const source = new AaveV3EventSource(rpc, POOL);

    const read = await source.readEvents(16, 24);

    expect(rpc.requests).toEqual([
      {
        method: 'eth_getLogs',
        params: [{ address: POOL.toLowerCase(), fromBlock: '0x10', toBlock: '0x18', topics: [[...Object.values(EVENT_TOPIC), id('DeficitCreated(address,address,uint256)')]] }],
      },
    ]);
    expect(read).toEqual({
      kind: 'events',
      events: [
        { kind: 'supply', account: A, block: 16 },
        { kind: 'withdraw', account: B, block: 17 },
        { kind: 'borrow', account: C, block: 18 },
        { kind: 'repay', account: D, block: 19 },
        { kind: 'liquidation', account: E, block: 20 },
        { kind: 'collateral-enabled', account: A, block: 21 },
        { kind: 'collateral-disabled', account: B, block: 22 },
      ],
      liquidations: [
        {
          txHash: TX,
          logIndex: 3,
          block: 20,
          borrower: E,
          liquidator: addr('9'),
          collateralAsset: addr('1'),
          debtAsset: addr('2'),
          debtRepaid: 1_500_000000n,
          collateralSeized: 6n * 10n ** 17n,
          receiveAToken: false,
        },
      ],
      deficits: [{ txHash: TX, logIndex: 4, block: 20, borrower: E, debtAsset: addr('2'), amount: 42_000000n }],
    });
  });

  it.each([
    ['Infura / geth', nodeError(-32005, 'query returned more than 10000 results')],
    ['Alchemy', nodeError(-32602, 'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size')],
    ['QuickNode', nodeError(-32614, 'eth_getLogs is limited to a 10,000 range')],
    ['Ankr', nodeError(-32600, 'block range is too wide')],
    ['BSC', nodeError(-32000, 'exceed maximum block range: 50000')],
    ['Chainstack', nodeError(-32000, 'Block range limit exceeded.')],
    ['an HTTP 413', makeError('server response 413 Payload Too Large', 'SERVER_ERROR', { info: { responseBody: 'block range too large', responseStatus: '413' } })],
  ])('classifies %s "ask for fewer blocks" as range-too-large', async (_node, error) => {
    const source = new AaveV3EventSource(
      fakeRpc(() => {
        throw error;
      }),
      POOL,
    );

    const read = await source.readEvents(0, 10_000);

    expect(read.kind).toBe('range-too-large');
  });

  it('throws other node failures with the node text and the cause', async () => {
    const error = nodeError(-32603, 'header not found');
    const source = new AaveV3EventSource(
      fakeRpc(() => {
        throw error;
      }),
      POOL,
    );

    const read = source.readEvents(5, 6);

    await expect(read).rejects.toThrow(`eth_getLogs for blocks 5–6 of pool ${POOL.toLowerCase()} failed: header not found`);
    await expect(read).rejects.toBeInstanceOf(EventSourceError);
    await expect(read).rejects.toHaveProperty('cause', error);
  });

  it('rejects a malformed answer instead of guessing', async () => {
    const source = new AaveV3EventSource(
      fakeRpc(() => [{ address: POOL, topics: ['0x1234'], blockNumber: '0x1' }]),
      POOL,
    );

    await expect(source.readEvents(1, 1)).rejects.toThrow(/^eth_getLogs for blocks 1–1 returned malformed logs: .*32-byte hex word/s);
  });

  it('reads the head and block hashes, and says when the node has no such block', async () => {
    const hash = `0x${'AB'.repeat(32)}`;
    const source = new AaveV3EventSource(
      fakeRpc((method, params) => {
        if (method === 'eth_blockNumber') return '0x2a';
        return params[0] === '0x2a' ? { hash, number: '0x2a' } : null;
      }),
      POOL,
    );

    await expect(source.headBlock()).resolves.toBe(42);
    await expect(source.blockHash(42)).resolves.toBe(hash.toLowerCase());
    await expect(source.blockHash(43)).rejects.toThrow('the node has no block 43');
  });

  it('halves windows end to end when the node refuses wide ranges in its own words', async () => {
    // A node that refuses more than 4 blocks per eth_getLogs, as QuickNode words it.
    const rpc = fakeRpc((method, params) => {
      if (method === 'eth_blockNumber') return '0x1e'; // 30
      if (method === 'eth_getBlockByNumber') return { hash: `0x${'0'.repeat(62)}${String(params[0]).slice(2).padStart(2, '0')}` };
      const { fromBlock, toBlock } = params[0] as { fromBlock: string; toBlock: string };
      if (Number(toBlock) - Number(fromBlock) + 1 > 4) throw nodeError(-32614, 'eth_getLogs is limited to a 4 range');
      const borrowAt = 22;
      return Number(fromBlock) <= borrowAt && borrowAt <= Number(toBlock)
        ? [{ address: POOL.toLowerCase(), topics: [EVENT_TOPIC.borrow, RESERVE, pad(A), RESERVE], blockNumber: '0x16', data: '0x' }]
        : [];
    });
    const { borrowers, checkpoints, deps } = setup(undefined, { startBlock: 10, logWindow: 16, reorgDepth: 3 });

    const summary = await indexBorrowers({ ...deps, source: new AaveV3EventSource(rpc, POOL) }, FAR);

    // 16 → 8 → 4 blocks: two refusals, then 10–13, 14–17, 18–21, 22–25, 26–29, 30–30.
    expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, windows: 6, windowBlocks: 4, logs: 1, rpcCalls: 1 + 8 + 6, toBlock: 30 });
    expect(borrowers.spans()).toEqual({ [A]: [22, 22] });
    expect(checkpoints.stored?.block).toBe(30);
  });
});
