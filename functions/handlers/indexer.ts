/**
 * The borrower indexer Lambda: fired every minute by EventBridge Scheduler (or invoked by hand), it indexes the
 * market's account events from its checkpoint to the head and stops in time before the invocation's deadline
 * (functions/pipeline/index-borrowers.ts). The event's content is ignored.
 *
 * Metrics (EMF, namespace LiquidationPipeline, dimension market), per run:
 * - BorrowersIndexed: distinct tracked accounts with events in the run;
 * - NewBorrowers: accounts tracked for the first time;
 * - BlocksBehindHead: head − checkpoint after the run (0 when caught up; during a backfill, what is left of it),
 *   the one indexer metric every run sends (an alarm and the dashboard read it). Borrowers seen, new borrowers,
 *   RPC calls, window retries, refused windows and the window in use are in the run's log line.
 *
 * Capture rate and bad debt (functions/pipeline/record-liquidations.ts says why the indexer records them): each
 * LiquidationCall and DeficitCreated log is recorded once, and what a run recorded for the first time is emitted,
 * only when not zero (no data = none happened; each metric is paid per hour it is sent):
 * - LiquidationsByOthers: liquidations by anyone but our liquidator contract and signers (Count);
 * - LiquidatedDebtUsdByUs / LiquidatedDebtUsdByOthers: debt repaid by them, USD at the block's oracle price. The
 *   dashboard's capture rate is ours ÷ (ours + others) over its period, a CloudWatch math expression;
 * - BadDebtUsd: deficits created (Aave v3.3+; a V3.0 Pool has no DeficitCreated event, so it is never sent there).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createDocumentClient } from '../adapters/aws/clients';
import { AaveV3AssetPrices } from '../adapters/chain/aave-v3-asset-prices';
import { AaveV3EventSource } from '../adapters/chain/aave-v3-event-source';
import { RefusalClassifyingEventSource } from '../adapters/log-window-refusals';
import { ConfiguredOurLiquidators } from '../adapters/chain/configured-our-liquidators';
import { providerFromConfig } from '../adapters/chain/rpc';
import { ethersStartupChain } from '../adapters/chain/startup-chain';
import { checkStartupOrClose, marketExpectations } from '../config/startup-check';
import { DynamoDbBorrowerStore } from '../adapters/store/dynamodb-borrower-store';
import { DynamoDbCheckpointStore } from '../adapters/store/dynamodb-checkpoint-store';
import { DynamoDbMarketEventRecords } from '../adapters/store/dynamodb-market-event-records';
import { loadPipelineConfig, type PipelineConfig } from '../config/pipeline-config';
import {
  type AccountEventSource,
  type IndexBorrowersSummary,
  indexBorrowers,
  type IndexerSettings,
  type WindowFailure,
} from '../pipeline/index-borrowers';
import { type CaptureTally, DEFAULT_CAPTURE_LOOKBACK_BLOCKS } from '../pipeline/record-liquidations';
import type { BorrowerStore, CheckpointStore } from '../ports/borrower-store';
import { type Clock, systemClock } from '../ports/clock';
import type { AssetPrices, MarketEventRecords, OurLiquidators } from '../ports/market-liquidations';
import { createObservability } from './observability';

/**
 * Stop starting windows this long before the invocation's deadline. One window is an eth_getLogs, a few hundred
 * conditional updates at most and a checkpoint write: a few seconds even on a slow RPC endpoint.
 */
export const DEFAULT_DEADLINE_MARGIN_MS = 5_000;

/** What records the market's liquidations and deficits (capture rate, bad debt). */
export interface CaptureAdapters {
  prices: AssetPrices;
  records: MarketEventRecords;
  ours: OurLiquidators;
}

export interface IndexerAdapters {
  source: AccountEventSource;
  borrowers: BorrowerStore;
  checkpoints: CheckpointStore;
  /** Absent: liquidations and deficits are not recorded (and no capture metric is emitted). */
  capture?: CaptureAdapters;
}

/** USD with 8 decimals as a metric value: the one place a bigint amount becomes a float (CloudWatch takes doubles). */
const usd = (base8: bigint): number => Number(base8) / 1e8;

/** The capture metrics of a run, each only when not zero (see the file comment). */
function addCaptureMetrics(metrics: Metrics, tally: CaptureTally): void {
  if (tally.liquidationsByOthers > 0) metrics.addMetric('LiquidationsByOthers', MetricUnit.Count, tally.liquidationsByOthers);
  if (tally.debtRepaidUsdBase8ByUs > 0n) metrics.addMetric('LiquidatedDebtUsdByUs', MetricUnit.NoUnit, usd(tally.debtRepaidUsdBase8ByUs));
  if (tally.debtRepaidUsdBase8ByOthers > 0n) metrics.addMetric('LiquidatedDebtUsdByOthers', MetricUnit.NoUnit, usd(tally.debtRepaidUsdBase8ByOthers));
  if (tally.badDebtUsdBase8 > 0n) metrics.addMetric('BadDebtUsd', MetricUnit.NoUnit, usd(tally.badDebtUsdBase8));
}

export interface IndexerDeps {
  /** Market key (`chainId#pool`). */
  market: string;
  settings: IndexerSettings;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Builds the adapters; called on the first invocation (the RPC URL may be a secret) and reused after. */
  connect(): Promise<IndexerAdapters>;
  deadlineMarginMs?: number;
  /** Pause between a failed window and its retry (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
}

export function createIndexerHandler(deps: IndexerDeps) {
  const { market, settings, clock, logger, metrics } = deps;
  const marginMs = deps.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS;
  let adapters: Promise<IndexerAdapters> | undefined;
  const connect = (): Promise<IndexerAdapters> => {
    // A failed connection (secret not readable, wrong chain) is tried again by the next invocation.
    adapters ??= deps.connect().catch((err: unknown) => {
      adapters = undefined;
      throw err;
    });
    return adapters;
  };

  // middy passes an AbortSignal, aborted when it gives the invocation up at its early timeout: the run then starts
  // no further window (on AWS the sandbox is frozen anyway; locally the abandoned run would go on writing).
  const run = async (_event: unknown, context: Context, options?: { signal?: AbortSignal }): Promise<IndexBorrowersSummary> => {
    try {
      const { source, borrowers, checkpoints, capture: captureAdapters } = await connect();
      const deadlineMs = clock.nowMs() + context.getRemainingTimeInMillis() - marginMs;
      // A failed window is tried again within the run; each failure is a warning (and counts in failedWindows).
      const onWindowFailed = ({ fromBlock, toBlock, consecutiveFailures, error }: WindowFailure) =>
        logger.warn('indexer window failed; trying it again', { fromBlock, toBlock, consecutiveFailures, error: error instanceof Error ? error.message : String(error) });
      const capture = captureAdapters ? { market, lookbackBlocks: settings.captureLookbackBlocks ?? DEFAULT_CAPTURE_LOOKBACK_BLOCKS, ...captureAdapters } : undefined;
      const summary = await indexBorrowers(
        { market, settings, source, borrowers, checkpoints, clock, sleep: deps.sleep, onWindowFailed, capture, signal: options?.signal },
        deadlineMs,
      );

      // Blocks have no CloudWatch unit; Count it is. Clamped: a node behind the checkpoint is not negative lag.
      // The one indexer metric of every run (an alarm and the dashboard read it); the rest of the summary is in the
      // run's log line below (each custom metric costs $0.30 a month; README, Watching it).
      metrics.addMetric('BlocksBehindHead', MetricUnit.Count, Math.max(0, summary.headBlock - summary.toBlock));
      addCaptureMetrics(metrics, summary.capture);
      // Recent liquidations not recorded (beyond the lookback) are missing from the capture rate; on a first run
      // they are the market's history, before the keeper watched it.
      if (summary.capture.beyondLookback > 0 && summary.reorg.kind !== 'first-run') {
        logger.warn('liquidation or deficit logs older than the capture lookback were not recorded: the indexer lagged', { capture: summary.capture });
      }

      if (summary.reorg.kind === 'checkpoint-block-replaced') {
        logger.warn('a reorg replaced the checkpoint block: the last reorgDepth blocks were read again, older ones were not', { reorg: summary.reorg });
      }
      // An overlapping run that lost the checkpoint to a newer one is expected (schedule overlap); a lagging node is not.
      if (summary.outcome.kind === 'node-behind') {
        logger.warn(`indexer run ended: ${summary.outcome.kind}`, { summary });
      } else {
        logger.info(`indexer run ended: ${summary.outcome.kind}`, { summary });
      }
      return summary;
    } catch (err) {
      logger.error('indexer run failed', err instanceof Error ? err : String(err));
      throw err;
    }
  };

  return middy(run)
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/** The real adapters for a configuration; `close` releases the RPC provider (tests, scripts). */
export async function connectFromConfig(config: PipelineConfig, logger?: Logger): Promise<IndexerAdapters & { close(): void }> {
  const client = createDocumentClient(config);
  // Stores first: a missing table name fails before a provider is opened.
  const borrowers = new DynamoDbBorrowerStore(client, config.tables);
  const checkpoints = new DynamoDbCheckpointStore(client, config.tables);
  const records = new DynamoDbMarketEventRecords(client, config.tables);
  const provider = await providerFromConfig(config);
  await checkStartupOrClose(marketExpectations(config), ethersStartupChain(provider), () => provider.destroy());
  const ours = new ConfiguredOurLiquidators(config, provider, (error) =>
    logger?.warn('no liquidator contract yet: only the signers\' liquidations count as ours', { error: error.message }),
  );
  return {
    source: new RefusalClassifyingEventSource(new AaveV3EventSource(provider, config.pool)),
    borrowers,
    checkpoints,
    capture: { prices: new AaveV3AssetPrices(provider, config.pool), records, ours },
    close: () => provider.destroy(),
  };
}

/** Wiring from the environment: configuration → observability → adapters → handler. */
export function indexerHandlerFromEnvironment(env: Record<string, string | undefined>) {
  const config = loadPipelineConfig(env, ['borrowers', 'keeperState']);
  // The market dimension is MARKET_NAME, as in the other functions: the alarm and the dashboard read BlocksBehindHead by it.
  const { logger, metrics } = createObservability('indexer', config.marketName);
  return createIndexerHandler({
    market: config.marketKey,
    settings: config.indexer,
    clock: systemClock,
    logger,
    metrics,
    connect: () => connectFromConfig(config, logger),
  });
}

let fromEnvironment: ReturnType<typeof indexerHandlerFromEnvironment> | undefined;

/**
 * The Lambda entry. Configuration is read on the first invocation rather than at import, so tests can import
 * the factory without an environment; a bad configuration fails that invocation with every problem named.
 */
export const handler = (event: unknown, context: Context): Promise<IndexBorrowersSummary> => {
  fromEnvironment ??= indexerHandlerFromEnvironment(process.env);
  return fromEnvironment(event, context);
};
