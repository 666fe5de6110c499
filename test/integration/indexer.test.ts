/**
 * The borrower indexer on the real local world (anvil with an Aave market, DynamoDB Local), on v3.6 and V3.0:
 * through the handler, with the adapters wired from a pipeline configuration. The first run tracks exactly the
 * seeded borrowers; a run with no new block changes nothing; five positions opened afterwards are tracked by the
 * next run. Behind a provider that refuses eth_getLogs over 3 blocks, the indexer halves its window down to the
 * limit and still tracks every borrower, and a cold invocation starts with the window stored with the checkpoint;
 * an invocation that overruns its timeout fails as the local runtime's schedule sees it (logged, not thrown) and
 * the next ones carry on. Then the DynamoDB stores' other methods (the scanner's and worker's) against DynamoDB Local.
 *
 * The tests of one describe run in order and build on each other, as the runs of a deployed indexer do.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { setTimeout as sleep } from 'node:timers/promises';
import { FetchRequest, getAddress, type GetUrlResponse, JsonRpcProvider, JsonRpcSigner, Network, parseUnits } from 'ethers';
import { AaveV3EventSource } from '../../functions/adapters/chain/aave-v3-event-source';
import { RefusalClassifyingEventSource } from '../../functions/adapters/log-window-refusals';
import {
  DynamoDbBorrowerStore,
  marketTierOf,
  snapshotKeyOf,
} from '../../functions/adapters/store/dynamodb-borrower-store';
import { CheckpointConflictError, CheckpointRegressionError, DynamoDbCheckpointStore } from '../../functions/adapters/store/dynamodb-checkpoint-store';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { loadPipelineConfig, type PipelineConfig } from '../../functions/config/pipeline-config';
import { connectFromConfig, createIndexerHandler, type IndexerAdapters } from '../../functions/handlers/indexer';
import type { AccountEventSource, IndexBorrowersSummary } from '../../functions/pipeline/index-borrowers';
import { systemClock } from '../../functions/ports/clock';
import { type Invocation, invokeScheduled } from '../../local/runtime/scheduled-invocation';
import { localLambdaContext } from '../../local/runtime/sqs-event-source';
import { loadArtifact } from '../../local/world/artifacts';
import { Deployer } from '../../local/world/deployer';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/world/dynamodb-local';
import { createTables, localDynamoDbClient, type TableNames } from '../../local/world/resources';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(180_000);

/** Small windows, so a run over the world's ~70 blocks takes several of them. */
const LOG_WINDOW = 16;
const REORG_DEPTH = 4;

function indexerConfig(world: World, aave: Scenario['aave'], overrides: Record<string, string> = {}): PipelineConfig {
  const { tables, endpoint } = world.info.dynamodb!;
  return loadPipelineConfig(
    {
      CHAIN_ID: world.info.chainId,
      MARKET_NAME: 'local',
      POOL_ADDRESS: world.info.market.pool,
      AAVE_POOL_VERSION: aave === 'v3.6' ? '3.6' : '3.0.2',
      RPC_URL: world.info.rpcUrl,
      BORROWERS_TABLE: tables.borrowers,
      SNAPSHOTS_TABLE: tables.snapshots,
      KEEPER_STATE_TABLE: tables.keeperState,
      DYNAMODB_ENDPOINT: endpoint,
      INDEXER_LOG_WINDOW: String(LOG_WINDOW),
      INDEXER_REORG_DEPTH: String(REORG_DEPTH),
      ...overrides,
    },
    ['borrowers', 'keeperState'],
  );
}

/** The metrics of each flush, by name (EMF as Powertools serialises it), instead of printing them. */
function captureMetrics(metrics: Metrics): Record<string, unknown>[] {
  const flushed: Record<string, unknown>[] = [];
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    const emf = metrics.serializeMetrics();
    flushed.push(Object.fromEntries(emf._aws.CloudWatchMetrics[0].Metrics.map((m) => [m.Name, emf[m.Name]])));
    metrics.clearMetrics();
    return metrics;
  });
  return flushed;
}

/**
 * Opens `count` positions of 1 WETH against 1,000 USDC (HF = 3,000 × 0.825 / 1,000 ≈ 2.5, inside the restored
 * LTV) through a fresh PositionOpener, as local/world/seed.ts does. Returns the borrowers, lowercase.
 */
async function openPositions(world: World, count: number): Promise<string[]> {
  const deployer = new Deployer(world.provider, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
  const opener = await deployer.deploy(loadArtifact('own', 'PositionOpener'));
  const positions = Array.from({ length: count }, (_, i) => ({
    salt: `0x${(1_000 + i).toString(16).padStart(64, '0')}`,
    collateralAssets: [world.info.tokens.WETH],
    collateralAmounts: [parseUnits('1', 18)],
    debtAssets: [world.info.tokens.USDC],
    debtAmounts: [parseUnits('1000', 6)],
    eModeCategory: 0,
  }));
  const receipt = await deployer.send(opener, 'open', [world.info.market.pool, positions], { gasLimit: 1_500_000n * BigInt(count) });
  return receipt.logs
    .map((entry) => opener.interface.parseLog(entry))
    .filter((parsed) => parsed?.name === 'PositionOpened')
    .map((parsed) => (parsed!.args.borrower as string).toLowerCase());
}

describe.each(['v3.6', 'v3.0'] as const)('borrower indexer on Aave %s', (aave) => {
  const scenario: Scenario = { ...loadScenario('default'), aave };
  let world: World;
  let config: PipelineConfig;
  let adapters: IndexerAdapters & { close(): void };
  let invoke: () => Promise<IndexBorrowersSummary>;
  let flushed: Record<string, unknown>[];
  let seeded: string[];

  const tracked = async () => (await adapters.borrowers.listTracked(config.marketKey)).map((b) => b.borrower).sort();

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: true, resourcePrefix: `it-indexer-${aave.replace('.', '')}` });
    config = indexerConfig(world, aave);
    adapters = await connectFromConfig(config);
    const metrics = new Metrics({ namespace: 'LiquidationPipeline', serviceName: 'indexer', defaultDimensions: { market: config.marketKey } });
    flushed = captureMetrics(metrics);
    const handler = createIndexerHandler({
      market: config.marketKey,
      settings: config.indexer,
      clock: systemClock,
      logger: new Logger({ serviceName: 'indexer', logLevel: 'SILENT' }),
      metrics,
      connect: async () => adapters,
    });
    invoke = () => handler({}, localLambdaContext('indexer', 60_000));
    seeded = world.info.borrowers.map((b) => b.address.toLowerCase()).sort();
  });

  afterAll(async () => {
    adapters?.close();
    await world?.stop();
  });

  it('tracks exactly the seeded borrowers on the first run', async () => {
    const head = await latestBlockNumber(world.provider);

    const summary = await invoke();

    expect(summary).toMatchObject({
      outcome: { kind: 'caught-up' },
      fromBlock: 0,
      toBlock: head,
      headBlock: head,
      windows: Math.ceil((head + 1) / LOG_WINDOW),
      borrowersSeen: seeded.length,
      newBorrowers: seeded.length,
      reorg: { kind: 'first-run' },
    });
    expect(await tracked()).toEqual(seeded);
    // The liquidity provider supplied to the pool but never borrowed: not a borrower.
    expect(await tracked()).not.toContain(ACCOUNTS.liquidityProvider.toLowerCase());
    for (const b of await adapters.borrowers.listTracked(config.marketKey)) {
      expect(b).toMatchObject({ tier: 'hot' });
      expect(b.firstSeenBlock).toBeLessThanOrEqual(b.lastEventBlock);
      expect(b.lastEventBlock).toBeLessThanOrEqual(head);
    }
    const block = await world.provider.getBlock(head);
    await expect(adapters.checkpoints.getCheckpoint(config.marketKey)).resolves.toEqual({ block: head, blockHash: block!.hash, logWindowBlocks: LOG_WINDOW });
    // The one indexer metric (the dashboard graphs it); the rest of the summary is in the run's log line.
    expect(flushed.at(-1)).toEqual({ BlocksBehindHead: 0 });
  });

  it('changes nothing on a run with no new block', async () => {
    const before = await adapters.borrowers.listTracked(config.marketKey);
    const checkpoint = await adapters.checkpoints.getCheckpoint(config.marketKey);

    const summary = await invoke();

    expect(summary).toMatchObject({ outcome: { kind: 'up-to-date' }, windows: 0, logs: 0, newBorrowers: 0, rpcCalls: 2, reorg: { kind: 'unchanged' } });
    expect(await adapters.borrowers.listTracked(config.marketKey)).toEqual(before);
    await expect(adapters.checkpoints.getCheckpoint(config.marketKey)).resolves.toEqual(checkpoint);
    expect(flushed.at(-1)).toEqual({ BlocksBehindHead: 0 });
  });

  it('tracks five positions opened after the first run, re-reading the last blocks', async () => {
    const previous = await adapters.checkpoints.getCheckpoint(config.marketKey);
    const opened = await openPositions(world, 5);
    expect(opened).toHaveLength(5);
    const head = await latestBlockNumber(world.provider);

    const summary = await invoke();

    expect(summary).toMatchObject({
      outcome: { kind: 'caught-up' },
      fromBlock: previous!.block + 1 - REORG_DEPTH,
      toBlock: head,
      newBorrowers: 5,
    });
    expect(await tracked()).toEqual([...seeded, ...opened].sort());
    expect(flushed.at(-1)).toEqual({ BlocksBehindHead: 0 });

    const again = await invoke();

    expect(again).toMatchObject({ outcome: { kind: 'up-to-date' }, windows: 0 });
  });
});

/**
 * A provider in front of the world's anvil that refuses eth_getLogs over more than `maxBlocks` blocks, in words the
 * event source's own pattern does not know (so the refusal classifier at the adapter edge is what catches it), as
 * a free RPC tier does. Every other request goes through. `stats` counts the refusals and lists the ranges it served.
 */
function rangeLimitedProvider(upstreamUrl: string, maxBlocks: number): JsonRpcProvider & { stats: { answered: [number, number][]; refused: number } } {
  const stats = { answered: [] as [number, number][], refused: 0 };
  const request = new FetchRequest(upstreamUrl);
  request.getUrlFunc = async (req): Promise<GetUrlResponse> => {
    const payload = JSON.parse(new TextDecoder().decode(req.body!)) as { id: number; method: string; params: unknown[] };
    if (payload.method === 'eth_getLogs') {
      const { fromBlock, toBlock } = payload.params[0] as { fromBlock: string; toBlock: string };
      const [from, to] = [Number(fromBlock), Number(toBlock)];
      if (to - from + 1 > maxBlocks) {
        stats.refused++;
        const error = { code: -32600, message: `requested range exceeds the range limit of ${maxBlocks} blocks` };
        return { statusCode: 200, statusMessage: 'OK', headers: {}, body: new TextEncoder().encode(JSON.stringify({ jsonrpc: '2.0', id: payload.id, error })) };
      }
      stats.answered.push([from, to]);
    }
    const response = await fetch(upstreamUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: req.body! });
    return { statusCode: response.status, statusMessage: response.statusText, headers: {}, body: new Uint8Array(await response.arrayBuffer()) };
  };
  const network = Network.from(31_337n);
  const provider = new JsonRpcProvider(request, network, { staticNetwork: network, batchMaxCount: 1 });
  return Object.assign(provider, { stats });
}

describe('the indexer on a provider that refuses wide eth_getLogs ranges, and invocations that time out', () => {
  const LIMIT = 3;
  let world: World;
  let config: PipelineConfig;
  let adapters: IndexerAdapters & { close(): void };
  let limited: ReturnType<typeof rangeLimitedProvider>;
  let flushed: Record<string, unknown>[];
  let seeded: string[];
  /** A handler as the Lambda entry builds it (a cold start), over `source`. */
  let handlerOver: (source: AccountEventSource) => ReturnType<typeof createIndexerHandler>;

  const tracked = async () => (await adapters.borrowers.listTracked(config.marketKey)).map((b) => b.borrower).sort();

  beforeAll(async () => {
    world = await startWorld({ scenario: { ...loadScenario('default'), aave: 'v3.6' }, blockTimeSec: 0, services: true, resourcePrefix: 'it-indexer-limits' });
    // The deployed default window is far above the provider's limit; no growth, so the stored window is exact.
    config = indexerConfig(world, 'v3.6', { INDEXER_LOG_WINDOW: '64', INDEXER_LOG_WINDOW_GROWTH_AFTER: '1000' });
    adapters = await connectFromConfig(config);
    limited = rangeLimitedProvider(world.info.rpcUrl, LIMIT);
    const metrics = new Metrics({ namespace: 'LiquidationPipeline', serviceName: 'indexer', defaultDimensions: { market: config.marketKey } });
    flushed = captureMetrics(metrics);
    handlerOver = (source) =>
      createIndexerHandler({
        market: config.marketKey,
        settings: config.indexer,
        clock: systemClock,
        logger: new Logger({ serviceName: 'indexer', logLevel: 'SILENT' }),
        metrics,
        connect: async () => ({ ...adapters, source }),
        deadlineMarginMs: 1_000,
      });
    seeded = world.info.borrowers.map((b) => b.address.toLowerCase()).sort();
  });

  afterAll(async () => {
    limited?.destroy();
    adapters?.close();
    await world?.stop();
  });

  it('halves its window down to the provider\'s limit and indexes every borrower, storing the window with the checkpoint', async () => {
    const head = await latestBlockNumber(world.provider);
    const handler = handlerOver(new RefusalClassifyingEventSource(new AaveV3EventSource(limited, config.pool)));

    const summary = await handler({}, localLambdaContext('indexer', 60_000));

    // 64 → 32 → 16 → 8 → 4 → 2 blocks: five refusals, then windows of 2 blocks to the head.
    expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, toBlock: head, refusedWindows: 5, windowBlocks: 2, failedWindows: 0, newBorrowers: seeded.length });
    expect(limited.stats.refused).toBe(5);
    expect(limited.stats.answered.every(([from, to]) => to - from + 1 <= LIMIT)).toBe(true);
    expect(await tracked()).toEqual(seeded);
    await expect(adapters.checkpoints.getCheckpoint(config.marketKey)).resolves.toMatchObject({ block: head, logWindowBlocks: 2 });
    expect(flushed.at(-1)).toEqual({ BlocksBehindHead: 0 });
  });

  it('starts a cold invocation with the stored window: no refusal', async () => {
    const opened = await openPositions(world, 3);
    const handler = handlerOver(new RefusalClassifyingEventSource(new AaveV3EventSource(limited, config.pool)));
    const refusedBefore = limited.stats.refused;

    const summary = await handler({}, localLambdaContext('indexer', 60_000));

    expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, refusedWindows: 0, windowBlocks: 2, newBorrowers: 3 });
    expect(limited.stats.refused).toBe(refusedBefore);
    expect(await tracked()).toEqual([...seeded, ...opened].sort());
  });

  it('a run that overruns its invocation\'s timeout fails, is logged, and the next invocations carry on from the checkpoint', async () => {
    const opened = await openPositions(world, 4);
    const known = await tracked();
    // A provider that takes 3 s to answer eth_getLogs, in an invocation of 2 s: the first window overruns it.
    const source = new AaveV3EventSource(world.provider, config.pool);
    const slow: AccountEventSource = {
      headBlock: () => source.headBlock(),
      blockHash: (block) => source.blockHash(block),
      readEvents: async (from, to) => {
        await sleep(3_000);
        return source.readEvents(from, to);
      },
    };
    const logged: string[] = [];

    const failed = await invokeScheduled('indexer', handlerOver(slow), 2_000, (line) => logged.push(line));

    expect(failed).toMatchObject({ kind: 'failed', timedOut: true, error: { name: 'TimeoutError', message: '[AbortError]: The operation was aborted.' } });
    expect(logged).toEqual([expect.stringMatching(/^indexer: invocation timed out after \d+ ms \(timeout 2000 ms\); the next scheduled invocation carries on$/)]);

    // The next scheduled invocations, on a provider that answers again (the abandoned run may still write its one
    // window meanwhile: the compare-and-set checkpoint lets one of them win, and a superseded run ends early).
    const next: Invocation<IndexBorrowersSummary>[] = [];
    const handler = handlerOver(new RefusalClassifyingEventSource(new AaveV3EventSource(limited, config.pool)));
    do next.push(await invokeScheduled('indexer', handler, 60_000, (line) => logged.push(line)));
    while (next.length < 5 && !(next.at(-1)!.kind === 'succeeded' && ['caught-up', 'up-to-date'].includes((next.at(-1) as { result: IndexBorrowersSummary }).result.outcome.kind)));

    expect(next.at(-1)).toMatchObject({ kind: 'succeeded', result: { outcome: { kind: expect.stringMatching(/^(caught-up|up-to-date)$/) } } });
    expect(logged).toHaveLength(1);
    expect(await tracked()).toEqual([...known, ...opened].sort());
    // Let the abandoned run end (it stops after its one window: its invocation's signal was aborted).
    await sleep(1_500);
  });
});

describe('DynamoDB stores of borrowers and checkpoints', () => {
  const MARKET = '31337#0x00000000000000000000000000000000000000bb';
  // A checksummed address: the store keys lowercase, whatever case a caller uses.
  const BORROWER = getAddress(`0x${'ab'.repeat(20)}`);
  const KEY = BORROWER.toLowerCase();
  let ddb: DynamoDbLocal;
  let raw: ReturnType<typeof localDynamoDbClient>;
  let tables: TableNames;
  let store: DynamoDbBorrowerStore;
  let checkpoints: DynamoDbCheckpointStore;

  beforeAll(async () => {
    ddb = await startDynamoDbLocal();
    raw = localDynamoDbClient(ddb.endpoint);
    tables = await createTables(raw, 'it-stores');
    const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
    store = new DynamoDbBorrowerStore(client, tables);
    checkpoints = new DynamoDbCheckpointStore(client, tables);
  });

  afterAll(async () => {
    raw?.destroy();
    await ddb?.process.stop();
  });

  const one = async () => (await store.listTracked(MARKET)).find((b) => b.borrower === KEY);

  it('keeps firstSeenBlock and never lowers lastEventBlock', async () => {
    await store.upsertSeen(MARKET, [
      { borrower: BORROWER, block: 120 },
      { borrower: KEY, block: 100 },
    ]);
    await store.upsertSeen(MARKET, [{ borrower: BORROWER, block: 90 }]);
    await store.upsertSeen(MARKET, [{ borrower: BORROWER, block: 130 }]);

    expect(await one()).toEqual({ borrower: KEY, firstSeenBlock: 100, lastEventBlock: 130, tier: 'hot' });
  });

  it('records scans: tier and its index, health as a decimal, episodes, and drops an older scan', async () => {
    const maxHealthFactorWad = 2n ** 256n - 1n;
    await store.recordScan(MARKET, [
      { borrower: BORROWER, firstSeenBlock: 0, lastEventBlock: 0, tier: 'warm', lastHealthFactorWad: maxHealthFactorWad, lastScannedBlock: 200, liquidatableSinceBlock: 199 },
    ]);
    // An overlapping scanner that read block 150 writes after the one that read block 200.
    await store.recordScan(MARKET, [{ borrower: BORROWER, firstSeenBlock: 0, lastEventBlock: 0, tier: 'cold', lastScannedBlock: 150 }]);

    expect(await one()).toEqual({
      borrower: KEY,
      firstSeenBlock: 100,
      lastEventBlock: 130,
      tier: 'warm',
      lastHealthFactorWad: maxHealthFactorWad,
      lastScannedBlock: 200,
      liquidatableSinceBlock: 199,
    });
    const byTier = await raw.send(
      new QueryCommand({
        TableName: tables.borrowers,
        IndexName: 'byWatchTier',
        KeyConditionExpression: 'marketTier = :tier',
        ExpressionAttributeValues: { ':tier': { S: marketTierOf(MARKET, 'warm') } },
      }),
    );
    expect(byTier.Items?.map((item) => item.borrower.S)).toEqual([KEY]);

    await store.recordScan(MARKET, [{ borrower: BORROWER, firstSeenBlock: 0, lastEventBlock: 0, tier: 'cold', lastHealthFactorWad: 2n * 10n ** 18n, lastScannedBlock: 201 }]);

    expect(await one()).toEqual({ borrower: KEY, firstSeenBlock: 100, lastEventBlock: 130, tier: 'cold', lastHealthFactorWad: 2n * 10n ** 18n, lastScannedBlock: 201 });
  });

  it('writes and ends enqueue marks with the scan, clears them for the worker, and never creates an item to clear one', async () => {
    const base = { borrower: BORROWER, firstSeenBlock: 0, lastEventBlock: 0, tier: 'hot' as const };
    await store.recordScan(MARKET, [{ ...base, lastScannedBlock: 202, liquidatableSinceBlock: 202, enqueuedUntilBlock: 212 }]);
    expect(await one()).toMatchObject({ liquidatableSinceBlock: 202, enqueuedUntilBlock: 212 });
    // Healthy again at 203: the episode and its mark end.
    await store.recordScan(MARKET, [{ ...base, lastScannedBlock: 203 }]);
    expect(await one()).not.toHaveProperty('enqueuedUntilBlock');
    await store.recordScan(MARKET, [{ ...base, lastScannedBlock: 204, liquidatableSinceBlock: 204, enqueuedUntilBlock: 214 }]);

    await store.clearEnqueued(MARKET, BORROWER);
    await store.clearEnqueued(MARKET, `0x${'cd'.repeat(20)}`);

    expect(await one()).toMatchObject({ liquidatableSinceBlock: 204 });
    expect(await one()).not.toHaveProperty('enqueuedUntilBlock');
    expect((await store.listTracked(MARKET)).map((b) => b.borrower)).toEqual([KEY]);
  });

  it('puts snapshots in batches of 25, bigints as decimal strings, expiring after the retention', async () => {
    const snapshots = Array.from({ length: 60 }, (_, i) => ({
      borrower: BORROWER,
      block: 1_000 + i,
      healthFactorWad: 10n ** 18n + BigInt(i),
      totalCollateralBase: 123_456_789_012n,
      totalDebtBase: 98_765_432_109n,
    }));

    // Now, not a fixed past time: DynamoDB Local's TTL sweeper deletes items whose expiresAt has passed.
    const nowSec = Math.floor(Date.now() / 1000);
    await store.putSnapshots(MARKET, snapshots, 3_600, nowSec);

    const stored = await raw.send(
      new QueryCommand({
        TableName: tables.snapshots,
        KeyConditionExpression: 'marketBorrower = :key',
        ExpressionAttributeValues: { ':key': { S: snapshotKeyOf(MARKET, BORROWER) } },
      }),
    );
    expect(stored.Items).toHaveLength(60);
    expect(stored.Items?.[59]).toMatchObject({
      block: { N: '1059' },
      healthFactorWad: { S: '1000000000000000059' },
      totalCollateralBase: { S: '123456789012' },
      totalDebtBase: { S: '98765432109' },
      expiresAt: { N: String(nowSec + 3_600) },
    });
  });

  it('moves a checkpoint only from the value the writer read, and never backwards', async () => {
    const at = (block: number) => ({ block, blockHash: `0x${block.toString(16).padStart(64, '0')}` });
    await checkpoints.putCheckpoint('market-x', at(10), undefined);
    await checkpoints.putCheckpoint('market-x', at(20), at(10));

    const stale = checkpoints.putCheckpoint('market-x', at(30), at(10));
    await expect(stale).rejects.toThrow(`checkpoint market-x was moved by someone else: expected block 10 (${at(10).blockHash}), not writing block 30`);
    await expect(stale).rejects.toBeInstanceOf(CheckpointConflictError);
    await expect(stale).rejects.toHaveProperty('cause.name', 'ConditionalCheckFailedException');
    await expect(checkpoints.putCheckpoint('market-x', at(40), undefined)).rejects.toThrow(
      'checkpoint market-x was moved by someone else: expected no checkpoint, not writing block 40',
    );
    const backwards = checkpoints.putCheckpoint('market-x', at(15), at(20));
    await expect(backwards).rejects.toThrow('refusing to move checkpoint market-x back from block 20 to 15');
    await expect(backwards).rejects.toBeInstanceOf(CheckpointRegressionError);
    await expect(checkpoints.getCheckpoint('market-x')).resolves.toEqual(at(20));
    await expect(checkpoints.getCheckpoint('market-y')).resolves.toBeUndefined();
  });
});
