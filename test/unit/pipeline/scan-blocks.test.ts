/**
 * The block-following scanner against in-memory fakes on virtual time: a 2 s chain, a 60 s invocation with a
 * 10 s margin (so blocks 100…124 are handled), three reserves (WETH id 0, WBTC id 1, USDC id 2).
 */
import { DEFAULT_READ_POLICY } from '../../../functions/domain/read-policy';
import { DEFAULT_WATCH_TIER_POLICY } from '../../../functions/domain/watch-tier';
import { AccountReads } from '../../../functions/pipeline/account-reads';
import { type CandidateMessage, deduplicationIdOf } from '../../../functions/pipeline/candidate-message';
import type { BestEffort, BestEffortStep } from '../../../functions/pipeline/best-effort';
import { type BlockSource, type PendingOracleUpdate, type PendingUpdateWatch, ScanBlockError, type ScanBlocksSettings, type ScanEvent, scanBlocks, type BlockProgress } from '../../../functions/pipeline/scan-blocks';
import type { CandidateQueue } from '../../../functions/ports/candidate-queue';
import type { TrackedBorrower } from '../../../functions/ports/borrower-store';
import {
  address,
  blockTimestampSec,
  type FakeAccount,
  FakeAccountScanner,
  FakeChain,
  FakeOracle,
  FakePositionChanges,
  FifoQueueFake,
  hf,
  InMemoryBorrowerStore,
  tracked,
  usage,
  USDC,
  VirtualTime,
  WBTC,
  WETH,
} from './scanner-fakes';

const POOL = '0x00000000000000000000000000000000000000a0';
const MARKET = `31337#${POOL}`;
const FIRST_BLOCK = 100;
const BLOCK_MS = 2_000;
const INVOCATION_MS = 60_000;

const A = address(0xa);
const B = address(0xb);
const C = address(0xc);
const D = address(0xd);

/** The production read mode; tests of other concerns read every account at every block (their health is scripted per block). */
const CHANGE_DRIVEN: Partial<ScanBlocksSettings> = { reads: { mode: 'changes', policy: DEFAULT_READ_POLICY, maxGapBlocks: 100 } };

function defaultSettings(overrides: Partial<ScanBlocksSettings> = {}): ScanBlocksSettings {
  return {
    chainId: 31337,
    pool: POOL,
    marketKey: MARKET,
    deadlineMarginMs: 10_000,
    pollIntervalMs: 500,
    reads: { mode: 'every-block' },
    reenqueueAfterBlocks: 10,
    snapshotRetentionSec: 3_600,
    breaker: { maxAgeSec: 3_900n, maxDeviationBps: 3_000n },
    tiers: DEFAULT_WATCH_TIER_POLICY,
    materialChangeBps: 100n,
    maxConsecutiveBlockFailures: 3,
    ...overrides,
  };
}

interface HarnessOptions {
  borrowers: TrackedBorrower[];
  healthAt: (user: string, block: number) => FakeAccount;
  settings?: Partial<ScanBlocksSettings>;
  msPerAccount?: number;
  /** Virtual time each record or snapshot write takes (a slow table). */
  writeMsPerItem?: number;
}

function harness(options: HarnessOptions) {
  const time = new VirtualTime();
  const chain = new FakeChain(time, FIRST_BLOCK, BLOCK_MS);
  const store = new InMemoryBorrowerStore(time, options.writeMsPerItem ?? 0);
  store.seed(MARKET, options.borrowers);
  const queue = new FifoQueueFake();
  const oracle = new FakeOracle(new Map([[WETH.asset, 3_000_00000000n], [WBTC.asset, 60_000_00000000n], [USDC.asset, 1_00000000n]]));
  const accounts = new FakeAccountScanner(options.healthAt, time, options.msPerAccount ?? 0);
  const changes = new FakePositionChanges();
  const events: ScanEvent[] = [];
  const settings = defaultSettings(options.settings);
  /** The execution breaker's answer per block (kill switch …); closed unless a test sets it. */
  const execution: { openUntilBlock?: number } = {};
  const breakers = {
    check: async () =>
      execution.openUntilBlock !== undefined && chain.blockAt(time.nowMs()) < execution.openUntilBlock
        ? ({ kind: 'open', reason: 'kill-switch', detail: 'on by ops: drill' } as const)
        : ({ kind: 'closed' } as const),
  };
  const run = (
    invocationMs = INVOCATION_MS,
    deps: {
      store?: InMemoryBorrowerStore;
      queue?: CandidateQueue;
      onEvent?: (e: ScanEvent) => void;
      blocks?: BlockSource;
      bestEffort?: BestEffort;
      reads?: AccountReads;
      pendingUpdates?: PendingUpdateWatch;
    } = {},
  ) =>
    scanBlocks(
      {
        settings,
        store: deps.store ?? store,
        queue: deps.queue ?? queue,
        accounts,
        oracle,
        blocks: deps.blocks ?? chain,
        changes,
        ...(deps.reads ? { reads: deps.reads } : {}),
        ...(deps.pendingUpdates ? { pendingUpdates: deps.pendingUpdates } : {}),
        breakers,
        clock: time,
        sleep: time.sleep,
        onEvent: deps.onEvent ?? ((e) => events.push(e)),
        bestEffort: deps.bestEffort,
      },
      { deadlineAtMs: time.nowMs() + invocationMs },
    );
  const progress = () => events.flatMap((e) => (e.kind === 'block' ? [e.progress] : []));
  return { time, chain, store, queue, oracle, accounts, changes, events, run, progress, execution };
}

const liquidatableFrom =
  (from: number, healthy = hf('1.01'), sick = hf('0.95'), userConfiguration?: bigint) =>
  (block: number): FakeAccount => ({ healthFactorWad: block >= from ? sick : healthy, ...(userConfiguration === undefined ? {} : { userConfiguration }) });

const messagesFor = (messages: CandidateMessage[], borrower: string) => messages.filter((m) => m.borrower === borrower).map((m) => m.detectedBlock);

describe('scanBlocks: following blocks within one invocation', () => {
  it('handles every new block until deadline − margin, sleeping one poll interval between polls', async () => {
    // Arrange
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: CHANGE_DRIVEN });
    const started = h.time.nowMs();

    // Act
    const summary = await h.run();

    // Assert: blocks 100…124 appear before the stop time (50 s); block 125 appears exactly at it.
    expect(summary).toMatchObject({ blocks: 25, firstBlock: 100, lastBlock: 124, maxBlockLagBlocks: 0, failedBlocks: 0 });
    expect(h.progress().map((p) => p.block)).toEqual(Array.from({ length: 25 }, (_, i) => 100 + i));
    expect(h.time.nowMs() - started).toBe(50_000);
    // No busy loop: every wait is one poll interval, and polls are bounded by stop time / interval + blocks.
    expect(new Set(h.time.sleeps)).toEqual(new Set([500]));
    expect(h.chain.polls).toBeLessThanOrEqual(50_000 / 500 + 25 + 1);
    // Head polls + six oracle calls per block, and six for the block before the first (its price baseline) + one
    // change-log call per block after the first + one scan call (A at HF 1.5 with no price move is read on the
    // first block only).
    expect(summary.rpcCalls).toBe(h.chain.polls + 26 * 6 + 24 + 1);
  });

  it('does nothing when the deadline is already within the margin', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('0.9') }) });

    const summary = await h.run(9_999);

    expect(summary).toEqual({ blocks: 0, accountsScanned: 0, candidatesEnqueued: 0, blockedByBreaker: 0, breakerOpen: [], rpcCalls: 0, maxBlockLagBlocks: 0, failedBlocks: 0 });
    expect(h.chain.polls).toBe(0);
    expect(h.queue.published).toEqual([]);
  });

  it('jumps to the newest block when a block takes longer than the block time, and reports the lag', async () => {
    // 1,000 hot accounts at 5 ms each: 5 s per block on a 2 s chain.
    const borrowers = Array.from({ length: 1_000 }, (_, i) => tracked(address(i + 1)));
    const h = harness({ borrowers, healthAt: () => ({ healthFactorWad: hf('1.01') }), msPerAccount: 5 });
    const started = h.time.nowMs();

    const summary = await h.run();

    const handled = h.progress().map((p) => p.block);
    // 100 ends at 5 s (head 102), 102 ends at 10 s (head 105), 105 at 15 s (head 107) …
    expect(handled.slice(0, 4)).toEqual([100, 102, 105, 107]);
    expect(h.progress().slice(0, 3).map((p) => p.lagBlocks)).toEqual([2, 3, 2]);
    expect(summary.maxBlockLagBlocks).toBe(3);
    // A block is started only if one as long as the last (5 s) ends before the stop time (50 s): the run ends
    // within one block of it and never eats into the margin.
    expect(h.time.nowMs() - started).toBeGreaterThanOrEqual(45_000);
    expect(h.time.nowMs() - started).toBeLessThanOrEqual(50_000);
  });

  it('every-block mode reads every account at every block', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt: () => ({ healthFactorWad: hf('1.5') }) });

    await h.run(20_000);

    const readAt = (user: string) => h.accounts.scans.filter((s) => s.users.includes(user)).map((s) => s.block);
    expect(readAt(A)).toEqual([100, 101, 102, 103, 104]);
    expect(readAt(B)).toEqual(readAt(A));
    expect(h.changes.ranges).toEqual([]);
  });
});

describe('scanBlocks: change-driven reads', () => {
  const NEAR = address(0x1);
  const WARM = address(0x2);
  const FAR = address(0x3);
  const WARM_WETH = address(0x21);
  const FAR_WETH = address(0x22);
  const FAR_WBTC = address(0x23);
  const wethUser = usage({ collateral: [WETH], borrowing: [USDC] });
  const wbtcUser = usage({ collateral: [WBTC], borrowing: [USDC] });
  const readAt = (h: ReturnType<typeof harness>, user: string) => h.accounts.scans.filter((s) => s.users.includes(user)).map((s) => s.block);
  // ETH −10 % (1,000 bps: below the 3,000 bps breaker) from `from` on.
  const ethDropsAt = (from: number) => (block: number, reading: Parameters<FakeOracle['script']>[1]) =>
    reading.asset === WETH.asset && block >= from
      ? { ...reading, price: { kind: 'price' as const, priceBase: 2_700_00000000n }, feed: { ...reading.feed, answer: 2_700_00000000n } as typeof reading.feed }
      : reading;
  // Health consistent with the prices: a 10 % fall of the collateral takes HF h to at least 0.9 h.
  const healthAt = (from: number) => (user: string, block: number): FakeAccount => {
    const after = block >= from;
    if (user === WARM_WETH) return { healthFactorWad: after ? hf('0.98') : hf('1.08'), userConfiguration: wethUser };
    if (user === FAR_WETH) return { healthFactorWad: after ? hf('1.4') : hf('1.5'), userConfiguration: wethUser };
    return { healthFactorWad: hf('1.5'), userConfiguration: wbtcUser };
  };

  it('reads everyone on the first block, then only accounts whose bound is within the margin of 1', async () => {
    const factors: Record<string, bigint> = { [NEAR]: hf('1.004'), [WARM]: hf('1.1'), [FAR]: hf('1.5') };
    const h = harness({ borrowers: [tracked(NEAR), tracked(WARM), tracked(FAR)], healthAt: (user) => ({ healthFactorWad: factors[user] }), settings: CHANGE_DRIVEN });

    await h.run();

    expect(readAt(h, NEAR)).toHaveLength(25);
    expect(readAt(h, WARM)).toEqual([100]);
    expect(readAt(h, FAR)).toEqual([100]);
    // One change-log call per block after the first, each for the blocks since the last one handled.
    expect(h.changes.ranges).toEqual(Array.from({ length: 24 }, (_, i) => ({ fromBlock: 101 + i, toBlock: 101 + i })));
    expect(h.progress()[0].readsBy).toEqual({ unread: 3 });
    expect(h.progress()[1].readsBy).toEqual({ 'near-liquidation': 1 });
    // Tiers are still stored as labels.
    expect(h.store.get(MARKET, NEAR)?.tier).toBe('hot');
    expect(h.store.get(MARKET, WARM)?.tier).toBe('warm');
    expect(h.store.get(MARKET, FAR)?.tier).toBe('cold');
  });

  it('re-reads, at the block of a price move, only the accounts the move can take near 1', async () => {
    const h = harness({ borrowers: [tracked(WARM_WETH), tracked(FAR_WETH), tracked(FAR_WBTC)], healthAt: healthAt(107), settings: CHANGE_DRIVEN });
    h.oracle.script = ethDropsAt(107);

    await h.run();

    // 1.08 × 0.9 = 0.972 < 1.005: read at 107 (liquidatable, read every block from then on, enqueued again when
    // the 10-block window has passed); 1.5 × 0.9 = 1.35: not read; WBTC did not move.
    expect(messagesFor(h.queue.published, WARM_WETH)).toEqual([107, 117]);
    expect(readAt(h, WARM_WETH)).toEqual([100, ...Array.from({ length: 18 }, (_, i) => 107 + i)]);
    expect(readAt(h, FAR_WETH)).toEqual([100]);
    expect(readAt(h, FAR_WBTC)).toEqual([100]);
    expect(h.progress().find((p) => p.block === 107)?.repricedAssets).toEqual([WETH.asset]);
  });

  it('at an instance\'s first block, an account whose health was answered from before a price move and its prices after is read again at the next', async () => {
    // ETH −10 % at block 100, the first block this instance handles; the health call answered from block 99's
    // state (HF 1.08, which is 0.97 at the new price), the oracle call from block 100's.
    const h = harness({ borrowers: [tracked(WARM_WETH), tracked(FAR_WBTC)], healthAt: healthAt(101), settings: CHANGE_DRIVEN });
    h.oracle.script = ethDropsAt(100);

    await h.run();

    // The block before (99) was read first: WETH moved at 100, so the reading of 100 proves nothing for it.
    expect(readAt(h, WARM_WETH).slice(0, 2)).toEqual([100, 101]);
    expect(messagesFor(h.queue.published, WARM_WETH)[0]).toBe(101);
    expect(h.progress()[1].readsBy).toEqual({ 'unknown-price': 1 });
    // WBTC did not move: that account's reading stands.
    expect(readAt(h, FAR_WBTC)).toEqual([100]);
  });

  it('without a price baseline (the oracle at the block before failed), reads every account of its first block once more, and reports it', async () => {
    const h = harness({ borrowers: [tracked(FAR_WETH), tracked(FAR_WBTC)], healthAt: healthAt(1_000), settings: CHANGE_DRIVEN });
    h.oracle.failAt.set(99, 1);
    const reported: { step: string; context?: unknown }[] = [];

    const summary = await h.run(INVOCATION_MS, { bestEffort: { failed: (step, _error, context) => void reported.push({ step, context }) } });

    expect(reported).toEqual([{ step: 'price-baseline', context: { block: 100 } }]);
    expect(summary).toMatchObject({ firstBlock: 100, failedBlocks: 0 });
    expect(readAt(h, FAR_WETH)).toEqual([100, 101]);
    expect(readAt(h, FAR_WBTC)).toEqual([100, 101]);
    expect(h.progress()[1].readsBy).toEqual({ 'unknown-price': 2 });
  });

  it('bounds by the debt price too: a rise of the borrowed asset brings the account forward', async () => {
    const borrowsWeth = usage({ collateral: [USDC], borrowing: [WETH] });
    const h = harness({
      borrowers: [tracked(A)],
      // HF 1.08 at ETH 3,000; ETH +10 % from 105 (HF 1.08 / 1.1 ≈ 0.98).
      healthAt: (_user, block) => ({ healthFactorWad: block >= 105 ? hf('0.98') : hf('1.08'), userConfiguration: borrowsWeth }),
      settings: CHANGE_DRIVEN,
    });
    h.oracle.script = (block, reading) =>
      reading.asset === WETH.asset && block >= 105 ? { ...reading, price: { kind: 'price', priceBase: 3_300_00000000n }, feed: { ...reading.feed, answer: 3_300_00000000n } as typeof reading.feed } : reading;

    await h.run(30_000);

    expect(readAt(h, A)).toEqual([100, 105, 106, 107, 108, 109]);
    expect(messagesFor(h.queue.published, A)).toEqual([105]);
  });

  it('compares prices with the last reading, so a move at a failed block is not lost', async () => {
    const h = harness({
      borrowers: [tracked(WARM_WETH), tracked(FAR_WETH), tracked(FAR_WBTC)],
      healthAt: healthAt(102),
      settings: { ...CHANGE_DRIVEN, maxConsecutiveBlockFailures: 5 },
    });
    h.oracle.script = ethDropsAt(102);
    // Block 102 appears at 4 s; its health reads fail at 4, 4.5, 5 and 5.5 s; block 103 (6 s) succeeds.
    h.accounts.failAt.set(102, 4);

    const summary = await h.run(20_000);

    expect(summary.failedBlocks).toBe(4);
    expect(h.progress().map((p) => p.block)).toEqual([100, 101, 103, 104]);
    expect(readAt(h, WARM_WETH).filter((b) => b > 100)).toEqual([103, 104]);
    expect(messagesFor(h.queue.published, WARM_WETH)).toEqual([103]);
    // The failed block's changes are asked for again with the next one.
    expect(h.changes.ranges).toEqual([
      { fromBlock: 101, toBlock: 101 },
      { fromBlock: 102, toBlock: 102 },
      { fromBlock: 102, toBlock: 102 },
      { fromBlock: 102, toBlock: 102 },
      { fromBlock: 102, toBlock: 102 },
      { fromBlock: 102, toBlock: 103 },
      { fromBlock: 104, toBlock: 104 },
    ]);
  });

  it('re-reads an account whose position changed, every user of a reserve whose parameters changed, and everyone on a market-wide change', async () => {
    const users = [address(0x31), address(0x32), address(0x33)];
    const config: Record<string, bigint> = { [users[0]]: wethUser, [users[1]]: wbtcUser, [users[2]]: wbtcUser };
    const h = harness({ borrowers: users.map((u) => tracked(u)), healthAt: (user) => ({ healthFactorWad: hf('1.5'), userConfiguration: config[user] }), settings: CHANGE_DRIVEN });
    h.changes.accountsAt.set(102, [users[1].toUpperCase().replace('0X', '0x')]);
    h.changes.reservesAt.set(104, [WETH.asset]);
    h.changes.everyoneAt.add(106);

    await h.run(30_000);

    expect(readAt(h, users[0])).toEqual([100, 104, 106]);
    expect(readAt(h, users[1])).toEqual([100, 102, 106]);
    expect(readAt(h, users[2])).toEqual([100, 106]);
    expect(h.progress().find((p) => p.block === 104)?.forgotten).toBe(1);
  });

  it('reads everyone again after maxReadIntervalSec, whatever the bound', async () => {
    const h = harness({
      borrowers: [tracked(A), tracked(B)],
      healthAt: () => ({ healthFactorWad: hf('1.5') }),
      settings: { reads: { mode: 'changes', policy: { ...DEFAULT_READ_POLICY, maxReadIntervalSec: 10n }, maxGapBlocks: 100 } },
    });

    await h.run(40_000);

    // Block timestamps are 2 s apart: read at 100, 105, 110.
    expect(readAt(h, A)).toEqual([100, 105, 110]);
    expect(h.progress().find((p) => p.block === 105)?.readsBy).toEqual({ interval: 2 });
  });

  it('reads an account again at the next block when its read was refused (unreadable)', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: CHANGE_DRIVEN });
    const scan = h.accounts.scan.bind(h.accounts);
    h.accounts.scan = async (users, block) => {
      const result = await scan(users, block);
      return block === 100 ? { accounts: [], rpcCalls: result.rpcCalls, unreadable: users.map((user) => ({ user, reason: 'reverted' })) } : result;
    };

    await h.run(16_000);

    expect(readAt(h, A)).toEqual([100, 101]);
  });

  it('keeps its readings across invocations: the next one reads only what is due and asks for the gap’s changes', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: CHANGE_DRIVEN });
    const reads = new AccountReads(DEFAULT_READ_POLICY, 100);
    h.changes.accountsAt.set(110, [B]);

    await h.run(14_000, { reads });
    // Blocks 100–101; the next invocation starts at 20 s (block 110).
    await h.time.sleep(20_000 - (h.time.nowMs() - h.chain.timeOf(100)));
    await h.run(14_000, { reads });

    expect(readAt(h, A)).toEqual([100]);
    expect(readAt(h, B)).toEqual([100, 110]);
    expect(h.changes.ranges[1]).toEqual({ fromBlock: 102, toBlock: 110 });
  });

  it('a warm invocation starting while its predecessor\'s last block is still the head waits for the next block', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: CHANGE_DRIVEN });
    const reads = new AccountReads(DEFAULT_READ_POLICY, 100);

    // Blocks 100 and 101 (0–2 s), then the next invocation at 3 s: block 101 is still the head.
    await h.run(12_500, { reads });
    await h.time.sleep(3_000 - (h.time.nowMs() - h.chain.timeOf(100)));
    await h.run(12_500, { reads });

    expect(h.progress().map((p) => p.block)).toEqual([100, 101, 102]);
    // One read per block, and block 99 once, as the first invocation's price baseline: the warm one needs none.
    expect(h.oracle.reads).toBe(4);
  });

  it('forgets every reading when the gap since its last block is longer than maxGapBlocks', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: { reads: { mode: 'changes', policy: DEFAULT_READ_POLICY, maxGapBlocks: 5 } } });
    const reads = new AccountReads(DEFAULT_READ_POLICY, 5);

    await h.run(14_000, { reads });
    await h.time.sleep(20_000 - (h.time.nowMs() - h.chain.timeOf(100)));
    await h.run(14_000, { reads });

    expect(readAt(h, A)).toEqual([100, 110]);
    expect(h.changes.ranges).toEqual([{ fromBlock: 101, toBlock: 101 }, { fromBlock: 111, toBlock: 111 }]);
  });

  it('refuses the change-driven mode without a change source', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: CHANGE_DRIVEN });
    await expect(
      scanBlocks(
        { settings: defaultSettings(CHANGE_DRIVEN), store: h.store, queue: h.queue, accounts: h.accounts, oracle: h.oracle, blocks: h.chain, clock: h.time, sleep: h.time.sleep },
        { deadlineAtMs: h.time.nowMs() + INVOCATION_MS },
      ),
    ).rejects.toThrow('position change source');
  });
});

describe('scanBlocks: head polls paced by the block time', () => {
  it('asks for the head one poll interval before the next block is due, and handles each block as early as unpaced', async () => {
    const paced = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: { blockTimeMs: BLOCK_MS } });
    const unpaced = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }) });

    await paced.run();
    await unpaced.run();

    expect(paced.progress().map((p) => p.block)).toEqual(unpaced.progress().map((p) => p.block));
    // Two polls per block (one early by a poll interval, one when it is there) against five.
    expect(paced.chain.polls).toBeLessThanOrEqual(2 * 25 + 1);
    expect(unpaced.chain.polls).toBeGreaterThanOrEqual(4 * 25);
    expect(paced.events.some((e) => e.kind === 'pacing-off')).toBe(false);
  });

  it('stops pacing when blocks come faster than the configured block time', async () => {
    // Configured 6 s on a 2 s chain: the first paced wait sees two blocks more than expected.
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }), settings: { blockTimeMs: 6_000 } });

    await h.run(30_000);

    const off = h.events.filter((e) => e.kind === 'pacing-off');
    expect(off).toEqual([{ kind: 'pacing-off', block: 102, skippedBlocks: 1, blockTimeMs: 6_000 }]);
    // From then on every block is handled.
    expect(h.progress().map((p) => p.block)).toEqual([100, 102, 103, 104, 105, 106, 107, 108, 109]);
  });
});

describe('scanBlocks: candidates', () => {
  it('enqueues HF < 1 accounts with debt, with the episode start as firstLiquidatableBlock', async () => {
    const NO_DEBT = address(0x5);
    const h = harness({
      borrowers: [tracked(A, { liquidatableSinceBlock: 90, tier: 'hot' }), tracked(B), tracked(NO_DEBT)],
      healthAt: (user) =>
        user === NO_DEBT ? { healthFactorWad: 2n ** 256n - 1n, totalDebtBase: 0n } : { healthFactorWad: hf('0.97') },
    });

    const summary = await h.run(20_000);

    expect(h.queue.published.filter((m) => m.detectedBlock === 100)).toEqual([
      { version: 1, chainId: '31337', pool: POOL, borrower: A, detectedBlock: 100, healthFactorWad: hf('0.97').toString(), firstLiquidatableBlock: 90, source: 'scanner' },
      { version: 1, chainId: '31337', pool: POOL, borrower: B, detectedBlock: 100, healthFactorWad: hf('0.97').toString(), firstLiquidatableBlock: 100, source: 'scanner' },
    ]);
    expect(summary.candidatesEnqueued).toBe(2);
    expect(h.store.get(MARKET, B)).toMatchObject({ liquidatableSinceBlock: 100, enqueuedUntilBlock: 110, tier: 'hot' });
    expect(h.store.get(MARKET, NO_DEBT)?.liquidatableSinceBlock).toBeUndefined();
  });

  it('does not enqueue again within reenqueueAfterBlocks, and respects the mark across invocations', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: (_u, block) => liquidatableFrom(103)(block) });

    const first = await h.run();
    const second = await h.run();

    // First invocation: blocks 100…124; second: 125…149 (starts where the first stopped).
    expect(first.lastBlock).toBe(124);
    expect(second.firstBlock).toBe(125);
    expect(messagesFor(h.queue.published, A)).toEqual([103, 113, 123, 133, 143]);
    expect(h.queue.published.every((m) => m.firstLiquidatableBlock === 103)).toBe(true);
    const skipped = h.progress().filter((p) => p.block >= 104 && p.block <= 112);
    expect(skipped.every((p) => p.liquidatable === 1 && p.alreadyEnqueued === 1 && p.candidatesEnqueued === 0)).toBe(true);
  });

  it('ends the episode when the account is healthy again, and starts a new one (and enqueues) when it falls back', async () => {
    const sick = (block: number) => (block >= 102 && block < 105) || block >= 108;
    const h = harness({ borrowers: [tracked(A)], healthAt: (_u, block) => ({ healthFactorWad: sick(block) ? hf('0.99') : hf('1.01') }) });

    await h.run(30_000);

    expect(h.queue.published.map((m) => [m.detectedBlock, m.firstLiquidatableBlock])).toEqual([
      [102, 102],
      [108, 108],
    ]);
  });

  it('leaves a message the queue refused unmarked, and enqueues it at the next block', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt: () => ({ healthFactorWad: hf('0.9') }) });
    h.queue.refuse.add(A);
    const events: ScanEvent[] = [];

    await h.run(15_000, {
      onEvent: (e) => {
        events.push(e);
        if (e.kind === 'block') h.queue.refuse.clear();
      },
    });

    expect(events.filter((e) => e.kind === 'publish-failed')).toEqual([{ kind: 'publish-failed', block: 100, borrower: A, reason: 'InternalError' }]);
    expect(messagesFor(h.queue.published, A)).toEqual([101]);
    expect(messagesFor(h.queue.published, B)).toEqual([100]);
  });
});

describe('scanBlocks: enqueue marks and the worker', () => {
  it('enqueues a borrower still liquidatable once the worker cleared its mark (partial liquidation) at the next block', async () => {
    // Arrange: A stays liquidatable; the worker finishes with its candidate between blocks 103 and 104.
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('0.9') }), settings: { reenqueueAfterBlocks: 150 } });
    const onEvent = (e: ScanEvent) => {
      h.events.push(e);
      if (e.kind === 'block' && e.progress.block === 103) void h.store.clearEnqueued(MARKET, A);
    };

    // Act: blocks 100…107.
    await h.run(26_000, { onEvent });

    // Assert: enqueued at 100, held while the candidate waits, enqueued again at 104 (same episode), then held.
    expect(h.queue.published.map((m) => [m.detectedBlock, m.firstLiquidatableBlock])).toEqual([
      [100, 100],
      [104, 100],
    ]);
    expect(h.progress().map((p) => [p.block, p.candidatesEnqueued, p.alreadyEnqueued])).toEqual([
      [100, 1, 0],
      [101, 0, 1],
      [102, 0, 1],
      [103, 0, 1],
      [104, 1, 0],
      [105, 0, 1],
      [106, 0, 1],
      [107, 0, 1],
    ]);
    expect(h.store.get(MARKET, A)).toMatchObject({ enqueuedUntilBlock: 254, enqueuedAtBlock: 104 });
    // The store is asked about marks from the second block on (the first block's are as fresh as the load).
    expect(h.store.log.filter((l) => l.startsWith('readEnqueueMarks'))).toHaveLength(7);
  });

  it('holds a mark no worker clears (a lost or dead-lettered message) until it expires', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('0.9') }), settings: { reenqueueAfterBlocks: 12 } });

    await h.run();

    expect(messagesFor(h.queue.published, A)).toEqual([100, 112, 124]);
  });

  it('never puts back a mark the worker cleared while the record was being written', async () => {
    // A's health falls 1 % a block, so its record (with the mark of block 100) is written again every block.
    // Writes take 100 ms; the worker clears the mark while block 102's write is in flight.
    const h = harness({
      borrowers: [tracked(A)],
      healthAt: (_u, block) => ({ healthFactorWad: hf('0.95') - BigInt(block - 100) * 10n ** 16n }),
      settings: { reenqueueAfterBlocks: 150 },
      writeMsPerItem: 100,
    });
    const onEvent = (e: ScanEvent) => {
      h.events.push(e);
      if (e.kind === 'block' && e.progress.block === 102) void h.store.clearEnqueued(MARKET, A);
    };

    await h.run(18_000, { onEvent });

    expect(h.store.log.indexOf(`clearEnqueued ${A}`)).toBeLessThan(h.store.log.lastIndexOf(`recordScan ${A}`));
    // Had block 102's write restored the mark, the borrower would wait for it to expire (block 250).
    expect(messagesFor(h.queue.published, A)).toEqual([100, 103]);
  });

  it('writes the mark before publishing, and removes it when the queue refused the message and the account recovered', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: (_u, block) => ({ healthFactorWad: block === 100 ? hf('0.9') : hf('1.2') }) });
    const queue: CandidateQueue = {
      publish: async (messages) => {
        h.store.log.push(`publish ${messages.map((m) => m.borrower).join(',')}`);
        return { sent: 0, failed: messages.map((message) => ({ message, reason: 'InternalError' })) };
      },
    };

    await h.run(15_000, { queue });

    expect(h.store.log.slice(0, 2)).toEqual([`recordScan ${A}`, `publish ${A}`]);
    expect(h.store.get(MARKET, A)).not.toHaveProperty('enqueuedUntilBlock');
  });
});

describe('scanBlocks: writes behind the block loop', () => {
  it('first block: enqueues the candidates before the other records and snapshots are written', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt: (user) => ({ healthFactorWad: user === A ? hf('0.9') : hf('1.5') }) });
    const queue: CandidateQueue = {
      publish: async (messages) => {
        h.store.log.push(`publish ${messages.map((m) => m.borrower).join(',')}`);
        return h.queue.publish(messages);
      },
    };

    await h.run(12_500, { queue });

    expect(h.store.log.slice(0, 4)).toEqual([`recordScan ${A}`, `publish ${A}`, `recordScan ${B}`, 'putSnapshots 2']);
  });

  it("does not let a slow store delay the next block's candidates", async () => {
    // 1,000 healthy accounts and B (hot), which falls at block 101. Each write takes 20 ms per item: block 100's
    // 1,001 records and snapshots take 20 s, ten blocks.
    const others = Array.from({ length: 1_000 }, (_, i) => tracked(address(0x1000 + i)));
    const h = harness({
      borrowers: [...others, tracked(B)],
      // B within the read margin of 1 (read at every block); the others far from it (read once).
      healthAt: (user, block) => ({ healthFactorWad: user !== B ? hf('1.5') : block >= 101 ? hf('0.9') : hf('1.004') }),
      writeMsPerItem: 20,
      settings: CHANGE_DRIVEN,
    });

    const summary = await h.run(30_000);

    // B is enqueued at block 101, while block 100's writes are still running, and every block is followed.
    const enqueued = h.events.find((e): e is Extract<ScanEvent, { kind: 'enqueued' }> => e.kind === 'enqueued')!;
    expect(enqueued.message).toMatchObject({ borrower: B, detectedBlock: 101 });
    expect(h.progress().map((p) => p.block)).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
    expect(summary.maxBlockLagBlocks).toBe(0);
    // Everything is written by the end of the invocation.
    expect(others.every(({ borrower }) => h.store.get(MARKET, borrower)?.lastScannedBlock === 100)).toBe(true);
    expect(h.store.get(MARKET, B)).toMatchObject({ liquidatableSinceBlock: 101, enqueuedUntilBlock: 111 });
    expect(h.store.snapshots.filter((snap) => snap.block === 100)).toHaveLength(1_001);
  });

  it('reports a failed write as a failed store stage and writes it again, without a second enqueue', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt: (user) => ({ healthFactorWad: user === A ? hf('0.9') : hf('1.5') }), settings: CHANGE_DRIVEN });
    h.store.failPutSnapshots = 1;
    h.store.failRecordScanIf = (updates) => updates.some((u) => u.borrower === B);

    const summary = await h.run(15_000);

    expect(h.events.filter((e) => e.kind === 'block-failed').map((e) => [(e as { error: ScanBlockError }).error.stage, (e as { error: ScanBlockError }).error.block])).toEqual([
      ['store', 100],
    ]);
    expect(summary.failedBlocks).toBe(1);
    expect(messagesFor(h.queue.published, A)).toEqual([100]);
    expect(h.store.get(MARKET, B)).toMatchObject({ lastScannedBlock: 100, tier: 'cold' });
    expect(h.store.snapshots.filter((snap) => snap.block === 100).map((snap) => snap.borrower).sort()).toEqual([A, B]);
  });

  it('gives up after maxConsecutiveBlockFailures failed writes in a row', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.01') }) });
    h.store.failPutSnapshots = 99;

    const outcome = h.run();

    await expect(outcome).rejects.toMatchObject({ stage: 'store', cause: { message: 'InternalServerError' } });
    expect(h.events.filter((e) => e.kind === 'block-failed')).toHaveLength(3);
  });
});

describe('scanBlocks: oracle breakers', () => {
  // A: WETH collateral, USDC debt. B: WBTC collateral. C: WETH collateral, WBTC debt. D: WBTC collateral, healthy.
  const configs: Record<string, bigint> = {
    [A]: usage({ collateral: [WETH], borrowing: [USDC] }),
    [B]: usage({ collateral: [WBTC], borrowing: [USDC] }),
    [C]: usage({ collateral: [WETH], borrowing: [WBTC] }),
    [D]: usage({ collateral: [WBTC], borrowing: [USDC] }),
  };
  const healthAt = (user: string): FakeAccount => ({ healthFactorWad: user === D ? hf('1.3') : hf('0.95'), userConfiguration: configs[user] });
  const staleWbtcUntil = (untilBlock: number) => (block: number, reading: Parameters<FakeOracle['script']>[1]) =>
    reading.asset === WBTC.asset && block < untilBlock && reading.feed.kind === 'round'
      ? { ...reading, feed: { ...reading.feed, updatedAtSec: blockTimestampSec(block) - 4_000n } }
      : reading;

  it('blocks enqueueing only for accounts that use the asset of an open breaker', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B), tracked(C), tracked(D)], healthAt });
    h.oracle.script = staleWbtcUntil(Number.MAX_SAFE_INTEGER);

    const summary = await h.run(20_000);

    // Blocks 100…104: A is enqueued once; B and C are blocked at every block (hot, read each block).
    expect(h.queue.published.map((m) => m.borrower)).toEqual([A]);
    expect(summary).toMatchObject({ blocks: 5, candidatesEnqueued: 1, blockedByBreaker: 10, breakerOpen: [WBTC.asset] });
    const opened = h.events.filter((e) => e.kind === 'breaker-opened');
    expect(opened).toEqual([{ kind: 'breaker-opened', block: 100, asset: WBTC.asset, reason: 'stale', detail: 'round is 4000 s old (max 3900 s)' }]);
    const blocked = h.events.filter((e) => e.kind === 'blocked-by-breaker' && e.block === 100);
    expect(blocked).toEqual([
      { kind: 'blocked-by-breaker', block: 100, borrower: B, healthFactorWad: hf('0.95'), assets: [WBTC.asset] },
      { kind: 'blocked-by-breaker', block: 100, borrower: C, healthFactorWad: hf('0.95'), assets: [WBTC.asset] },
    ]);
    // Blocked accounts are not marked: they are enqueued as soon as the breaker closes.
    expect(h.store.get(MARKET, B)?.enqueuedUntilBlock).toBeUndefined();
  });

  it('enqueues the blocked accounts at the block where the breaker closes', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B), tracked(C), tracked(D)], healthAt });
    h.oracle.script = staleWbtcUntil(103);

    const summary = await h.run(20_000);

    expect(h.queue.published.map((m) => [m.borrower, m.detectedBlock])).toEqual([
      [A, 100],
      [B, 103],
      [C, 103],
    ]);
    expect(h.events.filter((e) => e.kind === 'breaker-closed')).toEqual([{ kind: 'breaker-closed', block: 103, asset: WBTC.asset }]);
    expect(summary.breakerOpen).toEqual([]);
  });

  it('enqueues nothing while an execution breaker is open, and everything liquidatable at the block it closes', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt: (user, block) => (user === A ? liquidatableFrom(100)(block) : liquidatableFrom(102)(block)) });
    h.execution.openUntilBlock = 105;

    await h.run(30_000);

    expect(h.queue.published.map((m) => [m.borrower, m.detectedBlock])).toEqual([
      [A, 105],
      [B, 105],
    ]);
    const paused = h.events.flatMap((e) => (e.kind === 'execution-paused' ? [[e.block, e.heldBack]] : []));
    expect(paused).toEqual([
      [100, 1],
      [101, 1],
      [102, 2],
      [103, 2],
      [104, 2],
    ]);
  });

  it('holds a price jump beyond maxDeviationBps for the block it happens, compared with the previous block', async () => {
    // WETH 3000 → 1900 at block 103 (−36.67 %, 3,667 bps rounded up): A becomes liquidatable at that very block.
    const h = harness({ borrowers: [tracked(A)], healthAt: (_u, block) => liquidatableFrom(103, hf('1.04'), hf('0.8'), configs[A])(block) });
    h.oracle.script = (block, reading) =>
      reading.asset === WETH.asset && block >= 103 ? { ...reading, price: { kind: 'price', priceBase: 1_900_00000000n }, feed: { ...reading.feed, answer: 1_900_00000000n } as typeof reading.feed } : reading;

    await h.run(20_000);

    expect(h.events.filter((e) => e.kind === 'breaker-opened' || e.kind === 'breaker-closed')).toEqual([
      { kind: 'breaker-opened', block: 103, asset: WETH.asset, reason: 'deviation', detail: 'price 300000000000 → 190000000000 moved 3667 bps (max 3000)' },
      { kind: 'breaker-closed', block: 104, asset: WETH.asset },
    ]);
    expect(messagesFor(h.queue.published, A)).toEqual([104]);
  });
});

describe('scanBlocks: overlapping invocations', () => {
  /** Forwards to a shared FIFO queue and remembers what this scanner published. */
  class ScannerQueue implements CandidateQueue {
    readonly published: CandidateMessage[] = [];
    constructor(private readonly fifo: FifoQueueFake) {}
    async publish(messages: readonly CandidateMessage[]) {
      this.published.push(...messages);
      return this.fifo.publish(messages);
    }
  }
  const healthAt = (user: string, block: number): FakeAccount => liquidatableFrom(user === A ? 105 : 118)(block);

  it('two scanners over the same blocks, each with its own memory, publish identical messages and dedup ids', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt });
    const storeOfSecond = new InMemoryBorrowerStore();
    storeOfSecond.seed(MARKET, [tracked(A), tracked(B)]);
    const [q1, q2] = [new ScannerQueue(h.queue), new ScannerQueue(h.queue)];

    const [s1, s2] = await Promise.all([h.run(INVOCATION_MS, { queue: q1 }), h.run(INVOCATION_MS, { queue: q2, store: storeOfSecond })]);

    expect(s1).toEqual(s2);
    expect(q1.published.length).toBeGreaterThan(0);
    expect(q2.published).toEqual(q1.published);
    expect(q2.published.map(deduplicationIdOf)).toEqual(q1.published.map(deduplicationIdOf));
    // The FIFO queue delivers each (borrower, block) once.
    expect([...h.queue.delivered.values()]).toEqual(q1.published);
  });

  it('a scanner starting 30 s into another, sharing the store, adds no delivered message for the blocks both handled', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt });
    const [q1, q2] = [new ScannerQueue(h.queue), new ScannerQueue(h.queue)];

    const [s1, s2] = await Promise.all([
      h.run(INVOCATION_MS, { queue: q1 }),
      h.time.sleep(30_000).then(() => h.run(INVOCATION_MS, { queue: q2 })),
    ]);

    expect(s2.firstBlock).toBe(115);
    expect(s1.lastBlock).toBe(124);
    const overlap = q2.published.filter((m) => m.detectedBlock <= s1.lastBlock!);
    expect(overlap.length).toBeGreaterThan(0);
    const firstIds = new Set(q1.published.map(deduplicationIdOf));
    expect(overlap.filter((m) => !firstIds.has(deduplicationIdOf(m)))).toEqual([]);
    // Every (borrower, block) is delivered once, and a borrower at most once per reenqueue window.
    const delivered = [...h.queue.delivered.values()];
    for (const borrower of [A, B]) {
      const blocks = messagesFor(delivered, borrower);
      expect(blocks.every((b, i) => i === 0 || b - blocks[i - 1] >= 10)).toBe(true);
    }
  });
});

describe('scanBlocks: writes', () => {
  it('writes records and snapshots only for new accounts and material changes, hot accounts included', async () => {
    const COLD = Array.from({ length: 200 }, (_, i) => address(0x1000 + i));
    const HOT = address(0x1);
    const DRIFT = address(0x2);
    const driftAt = (block: number) => (block < 101 ? hf('1.1') : block < 105 ? hf('1.105') : hf('1.13'));
    // HOT is read at every block: 1.020 until block 102, 1.021 (+0.1 %, not material), then 1.04 from 104 (+1.9 %).
    const hotAt = (block: number) => (block < 102 ? hf('1.02') : block < 104 ? hf('1.021') : hf('1.04'));
    const h = harness({
      borrowers: [...COLD, HOT, DRIFT].map((b) => tracked(b)),
      healthAt: (user, block) => ({ healthFactorWad: user === HOT ? hotAt(block) : user === DRIFT ? driftAt(block) : hf('1.5') }),
    });

    // Blocks 100…104, then a second invocation over 105…108.
    await h.run(20_000);
    await h.run(18_000);

    const writes = h.progress().map((p) => [p.block, p.recordsWritten, p.snapshotsWritten]);
    expect(writes).toEqual([
      // First invocation: every account is new to the store. Then only HOT is read each block; it writes only when
      // its health factor moved materially from the stored one (block 104: 1.02 → 1.04).
      [100, 202, 202],
      [101, 0, 0],
      [102, 0, 0],
      [103, 0, 0],
      [104, 1, 1],
      // Second invocation: everyone is read again; only DRIFT moved materially (1.10 → 1.13, +2.7 %).
      [105, 1, 1],
      [106, 0, 0],
      [107, 0, 0],
      [108, 0, 0],
    ]);
    // Snapshots expire `snapshotRetentionSec` after the clock's time of writing.
    expect(h.store.snapshots[0]).toMatchObject({ block: 100, expiresAtSec: 1_700_000_000 + 3_600 });
  });
});

describe('scanBlocks: failures', () => {
  it('reports a failed head poll after a block (head-poll, counted as HeadPollFailures) and asks again at the next iteration', async () => {
    // Arrange: the second poll (the lag after block 100) fails.
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }) });
    let polls = 0;
    const blocks: BlockSource = {
      latestBlockNumber: async () => {
        polls++;
        if (polls === 2) throw new Error('socket hang up');
        return h.chain.latestBlockNumber();
      },
    };
    const reported: { step: BestEffortStep; error: unknown }[] = [];

    // Act
    const summary = await h.run(INVOCATION_MS, { blocks, bestEffort: { failed: (step, error) => void reported.push({ step, error }) } });

    // Assert
    expect(reported).toEqual([{ step: 'head-poll', error: new Error('socket hang up') }]);
    expect(summary).toMatchObject({ blocks: 25, firstBlock: 100, lastBlock: 124, failedBlocks: 0 });
  });

  it('retries a block whose oracle read failed, then carries on', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }) });
    h.oracle.failAt.set(101, 1);

    const summary = await h.run(20_000);

    expect(summary).toMatchObject({ blocks: 5, firstBlock: 100, lastBlock: 104, failedBlocks: 1 });
    const failed = h.events.filter((e): e is Extract<ScanEvent, { kind: 'block-failed' }> => e.kind === 'block-failed');
    expect(failed.map((e) => [e.error.stage, e.error.block, e.error.message])).toEqual([
      ['oracle', 101, 'scanner oracle failed at block 101: rpc timeout reading the oracle at 101'],
    ]);
  });

  it('gives up with a ScanBlockError (with its cause) after maxConsecutiveBlockFailures', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('1.5') }) });
    h.oracle.failAt.set(100, 99);

    const outcome = h.run();

    await expect(outcome).rejects.toThrow(new ScanBlockError('oracle', 100, { cause: new Error('rpc timeout reading the oracle at 100') }));
    await expect(outcome).rejects.toMatchObject({ stage: 'oracle', block: 100, cause: { message: 'rpc timeout reading the oracle at 100' } });
    expect(h.events.filter((e) => e.kind === 'block-failed')).toHaveLength(3);
  });

  it('after a failed store write, does not enqueue again and writes the mark with the next block', async () => {
    const h = harness({ borrowers: [tracked(A)], healthAt: () => ({ healthFactorWad: hf('0.9') }) });
    h.store.failRecordScan = 1;

    await h.run(15_000);

    expect(messagesFor(h.queue.published, A)).toEqual([100]);
    expect(h.events.filter((e) => e.kind === 'block-failed').map((e) => (e as { error: ScanBlockError }).error.stage)).toEqual(['store']);
    expect(h.store.get(MARKET, A)).toMatchObject({ enqueuedUntilBlock: 110, liquidatableSinceBlock: 100 });
  });
});

describe('scanBlocks: progress', () => {
  it('reports per block what was read, found and enqueued', async () => {
    const h = harness({ borrowers: [tracked(A), tracked(B)], healthAt: (user) => ({ healthFactorWad: user === A ? hf('0.9') : hf('1.5') }) });

    await h.run(12_500);

    const [first] = h.progress();
    expect(first).toEqual<BlockProgress>({
      block: 100,
      firstOfInvocation: true,
      accountsScanned: 2,
      readsBy: { 'every-block': 2 },
      forgotten: 0,
      liquidatable: 1,
      candidatesEnqueued: 1,
      blockedByBreaker: 0,
      alreadyEnqueued: 0,
      breakerOpen: [],
      repricedAssets: [],
      maxOracleAgeSec: 0n,
      recordsWritten: 2,
      snapshotsWritten: 2,
      // Two head polls, six oracle calls, one scan call.
      rpcCalls: 9,
      lagBlocks: 0,
      durationMs: 0,
    });
  });
});

describe('scanBlocks: pending oracle updates', () => {
  const NEAR_WETH = address(0x41);
  const FAR_WETH = address(0x42);
  const WBTC_USER = address(0x43);
  const wethUser = usage({ collateral: [WETH], borrowing: [USDC] });
  const wbtcUser = usage({ collateral: [WBTC], borrowing: [USDC] });
  const TX = `0x${'ab'.repeat(32)}`;
  const follow = { txHash: TX, feed: address(0xfeed), answer: '270000000000', decimals: 8, maxFeePerGas: '3000000000', maxPriorityFeePerGas: '2000000000' };

  /** A mempool that shows one ETH −10 % update from `at` ms on, and health as if it had landed. */
  class FakePending implements PendingUpdateWatch {
    polls = 0;
    simulated: { users: string[]; block: number }[] = [];
    constructor(
      private readonly time: VirtualTime,
      private readonly at: number,
      private readonly healthAfter: (user: string) => bigint,
    ) {}
    async poll() {
      this.polls++;
      const updates: PendingOracleUpdate[] =
        this.time.nowMs() >= this.at ? [{ txHash: TX, assets: [WETH.asset], ratio: { numerator: 9n, denominator: 10n }, follow }] : [];
      return { updates, rpcCalls: 1 };
    }
    async scanWithUpdate(users: readonly string[], block: number) {
      this.simulated.push({ users: [...users], block });
      return {
        accounts: users.map((user) => ({ user, healthFactorWad: this.healthAfter(user), totalDebtBase: 1_000_00000000n, totalCollateralBase: 2_000_00000000n, userConfiguration: user === WBTC_USER ? wbtcUser : wethUser })),
        rpcCalls: 1,
      };
    }
  }

  const before: Record<string, bigint> = { [NEAR_WETH]: hf('1.08'), [FAR_WETH]: hf('1.5'), [WBTC_USER]: hf('1.02') };
  const after: Record<string, bigint> = { [NEAR_WETH]: hf('0.972'), [FAR_WETH]: hf('1.35'), [WBTC_USER]: hf('1.02') };

  function pendingHarness(settings: Partial<ScanBlocksSettings>) {
    const h = harness({
      borrowers: [tracked(NEAR_WETH), tracked(FAR_WETH), tracked(WBTC_USER)],
      healthAt: (user) => ({ healthFactorWad: before[user], userConfiguration: user === WBTC_USER ? wbtcUser : wethUser }),
      settings,
    });
    // The update appears 2.6 s in: after block 101 (2 s), before block 102 (4 s).
    const pending = new FakePending(h.time, h.time.nowMs() + 2_600, (user) => after[user]);
    const run = (bestEffort?: BestEffort) => h.run(20_000, { pendingUpdates: pending, ...(bestEffort ? { bestEffort } : {}) });
    return { h, pending, run };
  }

  it('enqueues, before the update lands, the accounts it makes liquidatable, with what the worker needs to follow it', async () => {
    const { h, pending, run } = pendingHarness(CHANGE_DRIVEN);

    await run();

    const messages = h.queue.published.filter((m) => m.source === 'oracle-update');
    expect(messages).toEqual([
      expect.objectContaining({ borrower: NEAR_WETH, detectedBlock: 101, firstLiquidatableBlock: 102, healthFactorWad: hf('0.972').toString(), oracleUpdate: follow }),
    ]);
    // Simulated once, at the head, on the accounts the update's prices can take near 1: not the far one, not WBTC's.
    expect(pending.simulated).toEqual([{ users: [NEAR_WETH], block: 101 }]);
    const event = h.events.find((e) => e.kind === 'oracle-update');
    expect(event).toMatchObject({ block: 101, txHash: TX, simulated: 1, liquidatable: 1, enqueued: 1 });
    // The mark holds: the block-following path does not enqueue it again.
    expect(h.store.get(MARKET, NEAR_WETH)).toMatchObject({ enqueuedAtBlock: 101, liquidatableSinceBlock: 102 });
  });

  it('every-block mode simulates every account; an execution breaker holds the candidates back', async () => {
    const { h, pending, run } = pendingHarness({});
    h.execution.openUntilBlock = 1_000;

    await run();

    expect(pending.simulated[0].users.sort()).toEqual([NEAR_WETH, FAR_WETH, WBTC_USER].sort());
    expect(h.queue.published.filter((m) => m.source === 'oracle-update')).toEqual([]);
    expect(h.events.find((e) => e.kind === 'oracle-update')).toMatchObject({ liquidatable: 1, enqueued: 0 });
  });

  it('reports a failed mempool poll as a best-effort failure and keeps following blocks', async () => {
    const { pending, run } = pendingHarness(CHANGE_DRIVEN);
    const failures: string[] = [];
    pending.poll = async () => {
      throw new Error('eth_getFilterChanges: filter not found');
    };
    const summary = await run({ failed: (step) => failures.push(step) });

    expect(summary.failedBlocks).toBe(0);
    expect(summary.blocks).toBe(5);
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures)).toEqual(new Set(['pending-update']));
  });
});
