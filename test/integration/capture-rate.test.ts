/**
 * Capture rate on the real local world (anvil with an Aave v3.6 market, DynamoDB Local), through the indexer's
 * handler wired from a pipeline configuration that knows our signer and liquidator contract: a tracked borrower
 * made liquidatable by a price drop is liquidated directly by someone else; the indexer records that liquidation
 * once (a second run re-reads its block and records nothing), with the rival as liquidator and the debt repaid
 * in USD at the block's oracle price, and its metrics say LiquidationsByOthers = 1 and a capture rate of 0 %
 * (computed as the dashboard's expression computes it from the two USD sums).
 */
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Contract, JsonRpcSigner, MaxUint256, parseUnits } from 'ethers';
import { POOL_DETAIL_EVENTS } from '../../functions/adapters/chain/aave-v3-event-source';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { liquidationsPartitionOf } from '../../functions/adapters/store/dynamodb-market-event-records';
import { loadPipelineConfig, type PipelineConfig } from '../../functions/config/pipeline-config';
import { connectFromConfig, createIndexerHandler, type IndexerAdapters } from '../../functions/handlers/indexer';
import type { IndexBorrowersSummary } from '../../functions/pipeline/index-borrowers';
import { systemClock } from '../../functions/ports/clock';
import { localLambdaContext } from '../../local/runtime/sqs-event-source';
import { loadArtifact } from '../../local/world/artifacts';
import { Deployer } from '../../local/world/deployer';
import { localDynamoDbClient } from '../../local/world/resources';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { ACCOUNTS, LOCAL_LIQUIDATOR_KEYS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(180_000);

/** Every run re-reads this many blocks below its checkpoint: the second run reads the liquidation's block again. */
const REORG_DEPTH = 32;
/** Someone else: a dev account that is none of the keeper's signers. */
const RIVAL = ACCOUNTS.dexLiquidityProvider;
const POOL_ABI = ['function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)'];

function captureConfig(world: World): PipelineConfig {
  const { tables, endpoint } = world.info.dynamodb!;
  return loadPipelineConfig(
    {
      CHAIN_ID: world.info.chainId,
      MARKET_NAME: 'local',
      POOL_ADDRESS: world.info.market.pool,
      AAVE_POOL_VERSION: '3.6',
      RPC_URL: world.info.rpcUrl,
      BORROWERS_TABLE: tables.borrowers,
      KEEPER_STATE_TABLE: tables.keeperState,
      DYNAMODB_ENDPOINT: endpoint,
      INDEXER_REORG_DEPTH: String(REORG_DEPTH),
      // Ours: the keeper's first signer and the world's liquidator contract.
      SIGNER_MODE: 'local',
      SIGNER_PRIVATE_KEY: LOCAL_LIQUIDATOR_KEYS[0],
      LIQUIDATOR_ADDRESS: world.info.liquidatorContract,
    },
    ['borrowers', 'keeperState'],
  );
}

/** The metrics of each flush, by name (EMF as Powertools serialises it), as test/integration/indexer.test.ts does. */
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

/** The dashboard's capture rate (lib/constructs/pipeline-metrics.ts captureRatePercent) over one run's metrics. */
function captureRatePercent(run: Record<string, unknown>): number | undefined {
  const us = (run.LiquidatedDebtUsdByUs as number | undefined) ?? 0;
  const others = (run.LiquidatedDebtUsdByOthers as number | undefined) ?? 0;
  return us + others > 0 ? (100 * us) / (us + others) : undefined;
}

describe('capture rate on Aave v3.6', () => {
  const scenario: Scenario = { ...loadScenario('default'), aave: 'v3.6' };
  let world: World;
  let config: PipelineConfig;
  let adapters: IndexerAdapters & { close(): void };
  let invoke: () => Promise<IndexBorrowersSummary>;
  let flushed: Record<string, unknown>[];

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: true, resourcePrefix: 'it-capture-rate' });
    config = captureConfig(world);
    adapters = await connectFromConfig(config);
    const metrics = new Metrics({ namespace: 'LiquidationPipeline', serviceName: 'indexer', defaultDimensions: { market: config.marketName } });
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
  });

  /** The market's liquidation records, read straight from the keeper-state table. */
  const recorded = () =>
    DynamoDBDocumentClient.from(localDynamoDbClient(world.info.dynamodb!.endpoint)).send(
      new QueryCommand({
        TableName: world.info.dynamodb!.tables.keeperState,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': liquidationsPartitionOf(config.marketKey) },
      }),
    );

  afterAll(async () => {
    adapters?.close();
    await world?.stop();
  });

  it('records a rival\'s liquidation of a tracked borrower once, with the rival as liquidator and its USD value, and counts it once', async () => {
    const { tokens } = world.info;
    // A tracked borrower of 1 WETH against 1,000 USDC (HF ≈ 2.5 at $3,000), opened as the indexer test does.
    const deployer = new Deployer(world.provider, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
    const opener = await deployer.deploy(loadArtifact('own', 'PositionOpener'));
    const opened = await deployer.send(opener, 'open', [
      world.info.market.pool,
      [{ salt: `0x${'c0'.padStart(64, '0')}`, collateralAssets: [tokens.WETH], collateralAmounts: [parseUnits('1', 18)], debtAssets: [tokens.USDC], debtAmounts: [parseUnits('1000', 6)], eModeCategory: 0 }],
    ], { gasLimit: 1_500_000n });
    const borrower = opened.logs.map((log) => opener.interface.parseLog(log)).find((parsed) => parsed?.name === 'PositionOpened')!.args.borrower as string;
    await invoke();
    const trackedBefore = (await adapters.borrowers.listTracked(config.marketKey)).map((b) => b.borrower);
    expect(trackedBefore).toContain(borrower.toLowerCase());

    // WETH at $1,150: HF = 1,150 × 0.825 / 1,000 ≈ 0.949, below 0.95, so the whole debt may be repaid (v3.6 would
    // refuse a part that leaves less than $1,000), and the collateral covers it with its bonus: no deficit.
    await world.setPrice('WETH', 1_150_00000000n);
    await world.fundAccount(RIVAL);
    const pool = new Contract(world.info.market.pool, POOL_ABI, new JsonRpcSigner(world.provider, RIVAL));
    const tx = await pool.liquidationCall(tokens.WETH, tokens.USDC, borrower, MaxUint256, false);
    const receipt = await pollReceipt(world.provider, tx.hash);
    expect(receipt.status).toBe(1);
    const liquidationLog = receipt.logs.find((log) => log.topics[0] === POOL_DETAIL_EVENTS.getEvent('LiquidationCall')!.topicHash)!;
    const debtRepaid = POOL_DETAIL_EVENTS.parseLog(liquidationLog)!.args.debtToCover as bigint;
    // USDC's oracle price is the scenario's (only WETH moved): debt × price / 10^6, rounded down.
    const expectedUsdBase8 = (debtRepaid * scenario.assets.USDC!.priceUsd) / 10n ** 6n;

    const first = await invoke();
    const head = await latestBlockNumber(world.provider);

    expect(first.capture).toMatchObject({ liquidationsByOthers: 1, liquidationsByUs: 0, debtRepaidUsdBase8ByOthers: expectedUsdBase8, deficits: 0 });
    const { Items } = await recorded();
    expect(Items).toEqual([
      expect.objectContaining({
        sk: `${receipt.hash.toLowerCase()}#${liquidationLog.index}`,
        by: 'others',
        borrower: borrower.toLowerCase(),
        liquidator: RIVAL.toLowerCase(),
        debtAsset: tokens.USDC.toLowerCase(),
        collateralAsset: tokens.WETH.toLowerCase(),
        debtRepaid: debtRepaid.toString(),
        debtRepaidUsdBase8: expectedUsdBase8.toString(),
        block: receipt.blockNumber,
      }),
    ]);
    expect(flushed.at(-1)).toEqual({ BlocksBehindHead: Math.max(0, head - first.toBlock), LiquidationsByOthers: 1, LiquidatedDebtUsdByOthers: Number(expectedUsdBase8) / 1e8 });
    expect(captureRatePercent(flushed.at(-1)!)).toBe(0);

    // A new block, so the next run reads again from REORG_DEPTH below its checkpoint: the liquidation's block too.
    await world.provider.send('evm_mine', []);
    const second = await invoke();

    expect(second.fromBlock).toBeLessThanOrEqual(receipt.blockNumber);
    expect(second.capture).toMatchObject({ liquidationsByOthers: 0, alreadyRecorded: 1 });
    expect(flushed.at(-1)).toEqual({ BlocksBehindHead: 0 });
    expect((await recorded()).Items).toHaveLength(1);
  });
});
