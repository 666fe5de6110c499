/**
 * The block-following scanner on the real local world: anvil with the `default` Aave v3.6 market (automine, plus
 * a block every 250 ms mined by the test), DynamoDB Local and fauxqs, through the handler with the adapters
 * wired from a pipeline configuration (DynamoDbBorrowerStore, SqsCandidateQueue, AaveV3HealthScanner,
 * AaveV3OracleReader). The chain is the referee: every candidate is compared with getUserAccountData at its
 * block.
 *
 * The tests run in order and build on each other, as consecutive scanner invocations do: the first crashes ETH
 * during an invocation, the second makes the WBTC feed stale while those accounts are still liquidatable. The
 * last checks the oracle reader alone against AaveOracle and the feeds, through a change of USDC's source.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricsOptions } from '@aws-lambda-powertools/metrics/types';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { Contract, JsonRpcSigner, type JsonRpcProvider } from 'ethers';
import { AaveV3OracleReader } from '../../functions/adapters/chain/aave-v3-oracle-reader';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { DynamoDbBorrowerStore } from '../../functions/adapters/store/dynamodb-borrower-store';
import { createDocumentClient } from '../../functions/adapters/aws/clients';
import { loadPipelineConfig, type PipelineConfig } from '../../functions/config/pipeline-config';
import { createScannerHandler, type ScannerRuntime, scannerRuntimeFromConfig } from '../../functions/handlers/scanner';
import type { ScanEvent, ScanSummary } from '../../functions/pipeline/scan-blocks';
import { localLambdaContext } from '../../local/runtime/sqs-event-source';
import { loadArtifact } from '../../local/world/artifacts';
import { Deployer } from '../../local/world/deployer';
import { localSqsClient } from '../../local/world/resources';
import { drainCandidates } from './support';
import { loadScenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(120_000);

const WAD = 10n ** 18n;
const MARGIN_MS = 1_000;
const POLL_MS = 100;
const MAX_AGE_SEC = 3_900n;
const POOL_ABI = [
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
];
const FEED_ABI = [
  'function setPrice(int256 answer)',
  'function setRoundData(int256 answer, uint256 updatedAt)',
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
];
const ERC20_ABI = ['function balanceOf(address) view returns (uint256)'];
const AAVE_ORACLE_ABI = [
  'function getAssetPrice(address asset) view returns (uint256)',
  'function getSourceOfAsset(address asset) view returns (address)',
  'function setAssetSources(address[] assets, address[] sources)',
];

type Emf = Record<string, unknown>;

/** Metrics that keep each flush (EMF, as Powertools serialises it) instead of printing it; single metrics too. */
class CapturedMetrics extends Metrics {
  constructor(
    readonly flushed: Emf[],
    private readonly options: MetricsOptions,
  ) {
    super(options);
  }

  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) this.flushed.push(this.serializeMetrics() as Emf);
    this.clearMetrics();
    return this;
  }

  override singleMetric(): Metrics {
    return new CapturedMetrics(this.flushed, { ...this.options, singleMetric: true });
  }
}

function scannerConfig(world: World, extra: Record<string, string> = {}): PipelineConfig {
  const { tables, endpoint: dynamodb } = world.info.dynamodb!;
  return loadPipelineConfig(
    {
      CHAIN_ID: world.info.chainId,
      MARKET_NAME: 'local',
      POOL_ADDRESS: world.info.market.pool,
      AAVE_POOL_VERSION: '3.6',
      RPC_URL: world.info.rpcUrl,
      BORROWERS_TABLE: tables.borrowers,
      SNAPSHOTS_TABLE: tables.snapshots,
      CANDIDATES_QUEUE_URL: world.info.sqs!.queues.candidates,
      DYNAMODB_ENDPOINT: dynamodb,
      SQS_ENDPOINT: world.info.sqs!.endpoint,
      SCANNER_DEADLINE_MARGIN_MS: String(MARGIN_MS),
      SCANNER_POLL_INTERVAL_MS: String(POLL_MS),
      // One message per borrower per test: the re-enqueue window is covered by the unit tests.
      SCANNER_REENQUEUE_AFTER_BLOCKS: '1000',
      ORACLE_MAX_AGE_SEC: MAX_AGE_SEC.toString(),
      ...extra,
    },
    ['borrowers', 'snapshots', 'candidatesQueue'],
  );
}

/** Mines a block every `intervalMs` (on top of automine) until stopped. */
function startMiner(provider: JsonRpcProvider, intervalMs: number): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await provider.send('evm_mine', []);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('scanner on the local world (Aave v3.6)', () => {
  let world: World;
  let config: PipelineConfig;
  let runtime: ScannerRuntime & { close(): void };
  let store: DynamoDbBorrowerStore;
  let sqs: SQSClient;
  let pool: Contract;
  let flushed: Emf[];
  let events: ScanEvent[];
  let handler: ReturnType<typeof createScannerHandler>;
  let borrowers: string[];

  beforeAll(async () => {
    world = await startWorld({ scenario: loadScenario('default'), blockTimeSec: 0, services: true, resourcePrefix: 'it-scanner' });
    config = scannerConfig(world);
    runtime = await scannerRuntimeFromConfig(config);
    store = new DynamoDbBorrowerStore(createDocumentClient(config), config.tables);
    sqs = localSqsClient(world.info.sqs!.endpoint);
    pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    borrowers = world.info.borrowers.map((b) => b.address.toLowerCase());
    // What the indexer would have left: every seeded borrower, tracked from the world's first block.
    await store.upsertSeen(config.marketKey, borrowers.map((borrower) => ({ borrower, block: world.info.startBlock })));
    flushed = [];
    handler = createScannerHandler({
      config,
      logger: new Logger({ serviceName: 'scanner', logLevel: 'SILENT' }),
      metrics: new CapturedMetrics(flushed, { namespace: 'LiquidationPipeline', serviceName: 'scanner', defaultDimensions: { market: 'local' } }),
      runtime: async () => runtime,
      onEvent: (event) => events.push(event),
    });
  });

  beforeEach(() => {
    events = [];
    flushed.length = 0;
  });

  afterAll(async () => {
    runtime?.close();
    sqs?.destroy();
    await world?.stop();
  });

  /** One invocation with `timeoutMs` to its deadline, while a block is mined every 250 ms. */
  async function invoke(timeoutMs: number, during?: () => Promise<void>): Promise<{ summary: ScanSummary; remainingMs: number }> {
    const miner = startMiner(world.provider, 250);
    try {
      const context = localLambdaContext('scanner', timeoutMs);
      const [summary] = await Promise.all([handler({}, context), during?.()]);
      return { summary, remainingMs: context.getRemainingTimeInMillis() };
    } finally {
      await miner.stop();
    }
  }

  async function accountAt(borrower: string, block: number): Promise<{ healthFactorWad: bigint; debtBase: bigint }> {
    const data = await pool.getUserAccountData(borrower, { blockTag: block });
    return { healthFactorWad: data.healthFactor as bigint, debtBase: data.totalDebtBase as bigint };
  }

  /** Borrowers the chain says are liquidatable at `block` (debt and HF < 1), lowercase. */
  async function liquidatableAt(block: number): Promise<string[]> {
    const flags = await Promise.all(borrowers.map(async (b) => ({ b, a: await accountAt(b, block) })));
    return flags.filter(({ a }) => a.debtBase > 0n && a.healthFactorWad < WAD).map(({ b }) => b).sort();
  }

  const metric = (name: string, dimensions: Record<string, string> = {}) =>
    flushed.filter((emf) => name in emf && Object.entries(dimensions).every(([k, v]) => emf[k] === v)).map((emf) => emf[name]);

  it('follows blocks through an ETH crash and enqueues exactly the accounts the chain says are liquidatable', async () => {
    // Arrange: nobody is liquidatable before the crash.
    const before = await latestBlockNumber(world.provider);
    expect(await liquidatableAt(before)).toEqual([]);
    let shockBlock = 0;
    const crashEth = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const feed = new Contract(world.info.feeds.WETH, FEED_ABI, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
      const tx = await feed.getFunction('setPrice').send(2_550n * 10n ** 8n);
      shockBlock = (await pollReceipt(world.provider, tx.hash)).blockNumber;
    };

    // Act: a 7 s invocation (stops 1 s before its deadline); ETH falls 15 % after 1.5 s.
    const { summary, remainingMs } = await invoke(7_000, crashEth);
    const messages = await drainCandidates(sqs, config.candidatesQueueUrl!);

    // Assert: several blocks in one invocation, stopped before the deadline and within the margin and about one
    // block (a block is started only if one like the last, and its write, end before the margin).
    expect(summary.blocks).toBeGreaterThanOrEqual(5);
    expect(summary.lastBlock! - summary.firstBlock!).toBeGreaterThanOrEqual(summary.blocks - 1);
    expect(summary.firstBlock).toBeLessThan(shockBlock);
    expect(summary.lastBlock).toBeGreaterThanOrEqual(shockBlock);
    expect(remainingMs).toBeGreaterThan(0);
    expect(remainingMs).toBeLessThanOrEqual(MARGIN_MS + 1_500);
    expect(summary.breakerOpen).toEqual([]);
    expect(summary.failedBlocks).toBe(0);

    // Exactly the chain's liquidatable accounts, one message each, all found at the first block handled after the
    // crash: the price move makes every account using WETH due at once, whatever its watch tier.
    const handled = events.flatMap((e) => (e.kind === 'block' ? [e.progress.block] : []));
    const detection = handled.find((b) => b >= shockBlock)!;
    const liquidatable = await liquidatableAt(detection);
    expect(liquidatable.length).toBeGreaterThan(0);
    expect(await liquidatableAt(summary.lastBlock!)).toEqual(liquidatable);
    expect(messages.map((m) => m.borrower.toLowerCase()).sort()).toEqual(liquidatable);
    expect(new Set(messages.map((m) => m.detectedBlock))).toEqual(new Set([detection]));
    expect(summary.candidatesEnqueued).toBe(messages.length);
    for (const m of messages) {
      const onChain = await accountAt(m.borrower, m.detectedBlock);
      expect(m).toMatchObject({ version: 1, chainId: '31337', pool: world.info.market.pool, source: 'scanner' });
      expect(m.firstLiquidatableBlock).toBe(m.detectedBlock);
      expect(BigInt(m.healthFactorWad)).toBe(onChain.healthFactorWad);
      expect(onChain.healthFactorWad).toBeLessThan(WAD);
    }

    // The store remembers the episode and the enqueue mark; the metrics went out.
    const tracked = new Map((await store.listTracked(config.marketKey)).map((b) => [b.borrower, b]));
    for (const m of messages) {
      expect(tracked.get(m.borrower.toLowerCase())).toMatchObject({ tier: 'hot', liquidatableSinceBlock: m.detectedBlock, enqueuedUntilBlock: m.detectedBlock + 1_000 });
    }
    expect(metric('ScannerHeartbeat')).toEqual([1]);
    expect(metric('BlocksFollowed')).toEqual([summary.blocks]);
    // Per-block metrics carry one value per block (EMF value arrays), flushed once at the end.
    for (const name of ['AccountsScanned', 'AtRiskAccounts', 'CandidatesEnqueued', 'ScanLagBlocks', 'OracleAgeSeconds', 'RpcCalls']) {
      expect(metric(name)).toEqual([expect.any(Array)]);
      expect(metric(name)[0]).toHaveLength(summary.blocks);
    }
    expect((metric('CandidatesEnqueued')[0] as number[]).reduce((a, b) => a + b, 0)).toBe(messages.length);
    expect(events.filter((e) => e.kind === 'block')).toHaveLength(summary.blocks);
  });

  it('enqueues a borrower again within the invocation once a worker cleared its mark, and only that one', async () => {
    // Arrange: the crash's accounts are still liquidatable and marked for 1,000 blocks; a worker is done with one
    // of them (say, a partial liquidation) once the invocation has handled its first block.
    const marked = (await store.listTracked(config.marketKey)).filter((b) => b.enqueuedUntilBlock !== undefined);
    expect(marked.length).toBeGreaterThan(1);
    const done = marked[0].borrower;
    const handled = () => events.flatMap((e) => (e.kind === 'block' ? [e.progress.block] : []));
    let handledBeforeClear: number[] = [];
    const workerFinishes = async () => {
      while (handled().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      handledBeforeClear = handled();
      await store.clearEnqueued(config.marketKey, done);
    };

    // Act
    const { summary } = await invoke(3_500, workerFinishes);
    const messages = await drainCandidates(sqs, config.candidatesQueueUrl!);

    // Assert: one message, for that borrower, at one of the first two blocks handled after the clear (the clear
    // may land while a block is being handled); the others still wait for their workers.
    expect(summary.failedBlocks).toBe(0);
    expect(messages.map((m) => m.borrower.toLowerCase())).toEqual([done]);
    const after = handled().filter((b) => b > Math.max(...handledBeforeClear));
    expect(after.slice(0, 2)).toContain(messages[0].detectedBlock);
    expect(messages[0].firstLiquidatableBlock).toBeLessThan(messages[0].detectedBlock);
    const tracked = (await store.listTracked(config.marketKey)).find((b) => b.borrower === done);
    expect(tracked).toMatchObject({ enqueuedAtBlock: messages[0].detectedBlock, enqueuedUntilBlock: messages[0].detectedBlock + 1_000 });
  });

  it('holds back accounts that use a stale feed (WBTC) while enqueuing the others', async () => {
    // Arrange: the crash's accounts are still liquidatable; their enqueue marks are cleared (as the worker
    // does when it is done), and the WBTC feed's last round is back-dated past the maximum age.
    for (const borrower of borrowers) await store.clearEnqueued(config.marketKey, borrower);
    const head = await world.provider.getBlock(await latestBlockNumber(world.provider));
    const feed = new Contract(world.info.feeds.WBTC, FEED_ABI, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
    const [, answer] = (await feed.latestRoundData()) as [bigint, bigint];
    const tx = await feed.getFunction('setRoundData').send(answer, BigInt(head!.timestamp) - 2n * MAX_AGE_SEC);
    await pollReceipt(world.provider, tx.hash);

    // Act
    const { summary } = await invoke(3_500);
    const messages = await drainCandidates(sqs, config.candidatesQueueUrl!);

    // Assert: the chain's liquidatable accounts split by whether they hold WBTC (aToken or debt token).
    const block = summary.lastBlock!;
    const wbtc = world.info.market.reserves.WBTC;
    const aToken = new Contract(wbtc.aToken, ERC20_ABI, world.provider);
    const debtToken = new Contract(wbtc.variableDebtToken, ERC20_ABI, world.provider);
    const usesWbtc = async (b: string) =>
      ((await aToken.balanceOf(b, { blockTag: block })) as bigint) > 0n || ((await debtToken.balanceOf(b, { blockTag: block })) as bigint) > 0n;
    const liquidatable = await liquidatableAt(block);
    const withWbtc: string[] = [];
    const without: string[] = [];
    for (const b of liquidatable) ((await usesWbtc(b)) ? withWbtc : without).push(b);
    expect(withWbtc.length).toBeGreaterThan(0);
    expect(without.length).toBeGreaterThan(0);

    expect(messages.map((m) => m.borrower.toLowerCase()).sort()).toEqual(without);
    const blocked = new Set(events.flatMap((e) => (e.kind === 'blocked-by-breaker' ? [e.borrower.toLowerCase()] : [])));
    expect([...blocked].sort()).toEqual(withWbtc);
    for (const e of events) if (e.kind === 'blocked-by-breaker') expect(e.assets.map((a) => a.toLowerCase())).toEqual([wbtc.underlying.toLowerCase()]);
    for (const m of messages) {
      expect(BigInt(m.healthFactorWad)).toBe((await accountAt(m.borrower, m.detectedBlock)).healthFactorWad);
      // The episode began in the previous invocation.
      expect(m.firstLiquidatableBlock).toBeLessThan(m.detectedBlock);
    }
    expect(summary.breakerOpen.map((a) => a.toLowerCase())).toEqual([wbtc.underlying.toLowerCase()]);
    expect(summary.blockedByBreaker).toBeGreaterThanOrEqual(withWbtc.length * summary.blocks);
    const opened = events.filter((e) => e.kind === 'breaker-opened');
    expect(opened).toEqual([expect.objectContaining({ asset: expect.stringMatching(new RegExp(wbtc.underlying, 'i')), reason: 'stale' })]);
    // BreakerOpen (one series, no asset dimension) = 1 open breaker when WBTC's opened and again at the end of the
    // invocation; the asset is in the log line.
    expect(metric('BreakerOpen')).toEqual([[1, 1]]);
  });

  it('gives WBTC its own staleness limit (ORACLE_MAX_AGE_SEC_BY_ASSET): the same back-dated round no longer holds its accounts back', async () => {
    // Arrange: WBTC's round is still back-dated by twice the market-wide maximum; its own limit is three times it.
    for (const borrower of borrowers) await store.clearEnqueued(config.marketKey, borrower);
    const wbtc = world.info.market.reserves.WBTC.underlying;
    const perAsset = createScannerHandler({
      config: scannerConfig(world, { ORACLE_MAX_AGE_SEC_BY_ASSET: JSON.stringify({ [wbtc.toLowerCase()]: Number(3n * MAX_AGE_SEC) }) }),
      logger: new Logger({ serviceName: 'scanner', logLevel: 'SILENT' }),
      metrics: new CapturedMetrics(flushed, { namespace: 'LiquidationPipeline', serviceName: 'scanner', defaultDimensions: { market: 'local' } }),
      runtime: async () => runtime,
      onEvent: (event) => events.push(event),
    });
    const miner = startMiner(world.provider, 250);

    // Act
    let summary: ScanSummary;
    try {
      summary = await perAsset({}, localLambdaContext('scanner', 3_500));
    } finally {
      await miner.stop();
    }
    const messages = await drainCandidates(sqs, config.candidatesQueueUrl!);

    // Assert: no breaker, and every account the chain says is liquidatable is enqueued, WBTC users included.
    expect(events.filter((e) => e.kind === 'breaker-opened' || e.kind === 'blocked-by-breaker')).toEqual([]);
    expect(summary.breakerOpen).toEqual([]);
    const enqueued = [...new Set(messages.map((m) => m.borrower.toLowerCase()))].sort();
    expect(enqueued).toEqual(await liquidatableAt(summary.lastBlock!));
  });

  it('oracle reader: the prices the Pool uses and the feeds behind them, following a source change', async () => {
    // Arrange
    const reader = new AaveV3OracleReader(world.provider, world.info.market.pool);
    const oracle = new Contract(world.info.market.aaveOracle, AAVE_ORACLE_ABI, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
    const expectMatchesChain = async (read: Awaited<ReturnType<AaveV3OracleReader['readAt']>>) => {
      const header = await world.provider.getBlock(read.block);
      expect(read.blockTimestampSec).toBe(BigInt(header!.timestamp));
      expect(read.oracle.toLowerCase()).toBe(world.info.market.aaveOracle.toLowerCase());
      for (const r of read.readings) {
        const source = (await oracle.getSourceOfAsset(r.asset, { blockTag: read.block })) as string;
        const round = await new Contract(source, FEED_ABI, world.provider).latestRoundData({ blockTag: read.block });
        expect(r.price).toEqual({ kind: 'price', priceBase: await oracle.getAssetPrice(r.asset, { blockTag: read.block }) });
        expect(r.feed).toEqual({ kind: 'round', source, answer: round.answer, updatedAtSec: round.updatedAt });
      }
    };
    const reserves = Object.keys(world.info.market.reserves).length;

    // Act / Assert: the first read also learns ids and sources (1 + 2 per reserve); later reads cost 4 + 1 per reserve.
    const first = await reader.readAt(await latestBlockNumber(world.provider));
    expect(first.rpcCalls).toBe(1 + 3 + 2 * reserves + 1 + reserves);
    await expectMatchesChain(first);
    const ids = first.readings.map((r) => r.reserveId);
    expect([...ids].sort()).toEqual(Array.from({ length: reserves }, (_, i) => i));
    const second = await reader.readAt(first.block);
    expect(second.rpcCalls).toBe(3 + 1 + reserves);

    // USDC gets a new source at $0.99: the disagreement with the cached source is noticed and followed.
    const deployer = new Deployer(world.provider, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
    const newFeed = await deployer.deploy(loadArtifact('own', 'SettablePriceFeed'), [8, 'USDC / USD (new)', 99_000_000n]);
    const usdc = world.info.tokens.USDC;
    await deployer.send(oracle, 'setAssetSources', [[usdc], [await newFeed.getAddress()]]);
    const after = await reader.readAt(await latestBlockNumber(world.provider));
    const usdcReading = after.readings.find((r) => r.asset.toLowerCase() === usdc.toLowerCase())!;
    expect(usdcReading.price).toEqual({ kind: 'price', priceBase: 99_000_000n });
    expect(usdcReading.feed).toMatchObject({ kind: 'round', source: await newFeed.getAddress(), answer: 99_000_000n });
    // One getSourceOfAsset and one latestRoundData more than a plain read.
    expect(after.rpcCalls).toBe(3 + 1 + reserves + 2);
    await expectMatchesChain(after);
  });
  it('borrower store: a write carrying an older mark never puts back a mark the worker cleared', async () => {
    const market = config.marketKey;
    const borrower = `0x${'ab'.repeat(20)}`;
    const others = Array.from({ length: 250 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}`);
    await store.upsertSeen(market, [{ borrower, block: 1 }]);
    const base = { borrower, firstSeenBlock: 1, lastEventBlock: 1, tier: 'hot' as const, liquidatableSinceBlock: 10 };
    const marks = () => store.readEnqueueMarks(market, [...others, borrower.toUpperCase().replace('0X', '0x')]);

    // A new mark is written, and read back among 251 keys (three BatchGetItem requests).
    await store.recordScan(market, [{ ...base, lastScannedBlock: 10, enqueuedUntilBlock: 160, enqueuedAtBlock: 10 }]);
    expect(await marks()).toEqual(new Map([[borrower, { enqueuedUntilBlock: 160, enqueuedAtBlock: 10 }]]));

    // The worker clears it; the scanner's next write still carries the mark of block 10: it stays cleared.
    await store.clearEnqueued(market, borrower);
    await store.recordScan(market, [{ ...base, lastScannedBlock: 11, enqueuedUntilBlock: 160, enqueuedAtBlock: 10 }]);
    expect(await marks()).toEqual(new Map());
    const item = (await store.listTracked(market)).find((b) => b.borrower === borrower);
    expect(item).toMatchObject({ lastScannedBlock: 11, liquidatableSinceBlock: 10 });
    expect(item).not.toHaveProperty('enqueuedAtBlock');

    // A mark set at the block written is new; a record without a mark (the episode ended) removes it.
    await store.recordScan(market, [{ ...base, lastScannedBlock: 12, enqueuedUntilBlock: 162, enqueuedAtBlock: 12 }]);
    expect(await marks()).toEqual(new Map([[borrower, { enqueuedUntilBlock: 162, enqueuedAtBlock: 12 }]]));
    await store.recordScan(market, [{ borrower, firstSeenBlock: 1, lastEventBlock: 1, tier: 'cold', lastScannedBlock: 13 }]);
    expect(await marks()).toEqual(new Map());
  });
});
