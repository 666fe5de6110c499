/**
 * The scanner Lambda: invoked every minute by EventBridge Scheduler (or by hand), it follows new blocks until
 * `deadlineMarginMs` before its deadline (functions/pipeline/scan-blocks.ts) and reports what it saw as logs and
 * EMF metrics. The event carries nothing the scanner needs.
 *
 * Metrics (namespace LiquidationPipeline, dimension market):
 * - per block: AccountsScanned, AtRiskAccounts (debt and HF < 1), CandidatesEnqueued, CandidatesBlockedByBreaker,
 *   ScanLagBlocks, OracleAgeSeconds (oldest feed round of the market), RpcCalls;
 * - BreakerOpen (dimensions market + asset): 1 when a breaker opens and at the end of every invocation while it
 *   is open, 0 when it closes (alarm on Maximum ≥ 1);
 * - UndatedFeeds: the number of assets at the block whose source answers no round data (Aave's CAPO adapters),
 *   sent when an invocation first sees one (each is also logged once per invocation, with ORACLE_UNDATED_FEEDS);
 * - per invocation: BlocksFollowed, ScannerHeartbeat (1; alarm when missing);
 * - HeadPollFailures: the head poll after a block failed (functions/pipeline/best-effort.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { latestBlockNumber } from '../adapters/chain/provider';
import { providerFromConfig } from '../adapters/chain/rpc';
import { aaveV3ScannerProtocol } from '../adapters/chain/aave-v3-scanner-protocol';
import { ethersStartupChain } from '../adapters/chain/startup-chain';
import { checkStartupOrClose, marketExpectations } from '../config/startup-check';
import { createDocumentClient, createSqsClient } from '../adapters/aws/clients';
import { DynamoDbBorrowerStore } from '../adapters/store/dynamodb-borrower-store';
import { DynamoDbExecutionBreakers } from '../adapters/store/dynamodb-execution-breakers';
import { SqsCandidateQueue } from '../adapters/queue/sqs-candidate-queue';
import { loadPipelineConfig, type PipelineConfig } from '../config/pipeline-config';
import { DEFAULT_WATCH_TIER_POLICY, type WatchTierPolicy } from '../domain/watch-tier';
import { DEFAULT_READ_POLICY } from '../domain/read-policy';
import { AccountReads, type PositionChangeSource } from '../pipeline/account-reads';
import { reportingBestEffort } from '../pipeline/best-effort';
import {
  type AccountScanner,
  type BlockSource,
  type OracleSource,
  type PendingUpdateWatch,
  type ReadMode,
  type ScanBlocksDeps,
  type ScanBlocksSettings,
  type ScanEvent,
  scanBlocks,
  type ScanSummary,
} from '../pipeline/scan-blocks';
import type { BorrowerStore } from '../ports/borrower-store';
import type { CandidateQueue } from '../ports/candidate-queue';
import { type Clock, systemClock } from '../ports/clock';
import { createObservability } from './observability';

/** The adapters a scanner invocation works with; built once per Lambda instance. */
export interface ScannerRuntime {
  store: BorrowerStore;
  queue: CandidateQueue;
  accounts: AccountScanner;
  oracle: OracleSource;
  blocks: BlockSource;
  /** Position and risk-parameter changes (the change-driven read mode needs them). */
  changes?: PositionChangeSource;
  /** Pending oracle updates (SCANNER_FOLLOW_PENDING_UPDATES). */
  pendingUpdates?: PendingUpdateWatch;
  /** The market's execution breakers (kill switch …); absent without KEEPER_STATE_TABLE. */
  breakers?: ScanBlocksDeps['breakers'];
}

export interface ScannerHandlerDeps {
  config: Pick<PipelineConfig, 'chainId' | 'pool' | 'marketKey' | 'scanner'>;
  logger: Logger;
  metrics: Metrics;
  /** Builds the adapters; called on the first invocation (its failure fails that invocation, and is retried). */
  runtime: () => Promise<ScannerRuntime>;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  tiers?: WatchTierPolicy;
  /** Also told every scan event (the local demo prints block progress). */
  onEvent?: (event: ScanEvent) => void;
}

/**
 * A health factor change of 1 % (of the last stored value) is worth a store write and a snapshot; smaller moves
 * (interest accrual, small price ticks) are not, whatever the account's tier.
 */
const MATERIAL_CHANGE_BPS = 100n;
/** A few blocks in a row failing (RPC, DynamoDB, SQS) ends the invocation with an error; the next one retries. */
const MAX_CONSECUTIVE_BLOCK_FAILURES = 5;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * BreakerOpen, without an asset dimension (one series, not one per asset): the number of oracle breakers open
 * when it is emitted, so its Maximum is > 0 while any is open. The assets are in the log lines next to it.
 */
function breakerMetric(metrics: Metrics, openBreakers: number): void {
  metrics.addMetric('BreakerOpen', MetricUnit.Count, openBreakers);
}

function readModeOf(reads: PipelineConfig['scanner']['reads']): ReadMode {
  if (reads.mode === 'every-block') return reads;
  return {
    mode: 'changes',
    maxGapBlocks: reads.maxGapBlocks,
    policy: {
      ...DEFAULT_READ_POLICY,
      marginBps: BigInt(reads.marginBps),
      maxReadIntervalSec: BigInt(reads.maxReadIntervalSec),
      // bps a year → ray a year.
      assumedBorrowRateRay: BigInt(reads.assumedBorrowRateBps) * 10n ** 23n,
    },
  };
}

/** The use case's settings from the configuration; shared with the manual trigger (handlers/trigger.ts). */
export function scanSettingsFromConfig(
  config: Pick<PipelineConfig, 'chainId' | 'pool' | 'marketKey' | 'scanner'>,
  tiers: WatchTierPolicy = DEFAULT_WATCH_TIER_POLICY,
): ScanBlocksSettings {
  return {
    chainId: config.chainId,
    pool: config.pool,
    marketKey: config.marketKey,
    deadlineMarginMs: config.scanner.deadlineMarginMs,
    pollIntervalMs: config.scanner.pollIntervalMs,
    ...(config.scanner.blockTimeMs === undefined ? {} : { blockTimeMs: config.scanner.blockTimeMs }),
    reads: readModeOf(config.scanner.reads),
    reenqueueAfterBlocks: config.scanner.reenqueueAfterBlocks,
    snapshotRetentionSec: config.scanner.snapshotRetentionSec,
    breaker: {
      maxAgeSec: BigInt(config.scanner.oracleMaxAgeSec),
      maxAgeSecByAsset: Object.fromEntries(Object.entries(config.scanner.oracleMaxAgeSecByAsset).map(([asset, sec]) => [asset, BigInt(sec)])),
      maxDeviationBps: BigInt(config.scanner.oracleMaxDeviationBps),
      undatedFeeds: config.scanner.oracleUndatedFeeds,
    },
    tiers,
    materialChangeBps: MATERIAL_CHANGE_BPS,
    maxConsecutiveBlockFailures: MAX_CONSECUTIVE_BLOCK_FAILURES,
  };
}

export function createScannerHandler(deps: ScannerHandlerDeps) {
  const { config, logger, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const bestEffort = reportingBestEffort(logger, metrics);
  let runtime: Promise<ScannerRuntime> | undefined;
  const settings = scanSettingsFromConfig(config, deps.tiers);
  // Readings outlive the invocation: a warm container reads only what changed since its last block.
  const reads = settings.reads.mode === 'changes' ? new AccountReads(settings.reads.policy, settings.reads.maxGapBlocks) : undefined;

  const connect = (): Promise<ScannerRuntime> => {
    // A failed start (secret not readable, wrong chain) is tried again by the next invocation.
    runtime ??= deps.runtime().catch((err: unknown) => {
      runtime = undefined;
      throw err;
    });
    return runtime;
  };

  const follow = async (adapters: ScannerRuntime, context: Context): Promise<ScanSummary> => {
    // Deadline on the Clock's time line, so the pipeline never needs the Lambda context.
    // The follow window (SCANNER_FOLLOW_SEC) ends the block loop before the timeout's margin when it comes first.
    const remainingMs = context.getRemainingTimeInMillis();
    const followMs = config.scanner.followMs;
    const deadlineAtMs = clock.nowMs() + (followMs === undefined ? remainingMs : Math.min(remainingMs, followMs + config.scanner.deadlineMarginMs));
    /** Borrowers already logged as blocked by a breaker in this invocation (one line each, not one per block). */
    const loggedBlocked = new Set<string>();

    const loggedUnreadable = new Set<string>();
    /** Assets whose oracle breaker this invocation saw open (BreakerOpen counts them). */
    const openBreakers = new Set<string>();
    const onEvent = (event: ScanEvent): void => {
      switch (event.kind) {
        case 'block': {
          const p = event.progress;
          metrics.addMetric('AccountsScanned', MetricUnit.Count, p.accountsScanned);
          metrics.addMetric('AtRiskAccounts', MetricUnit.Count, p.liquidatable);
          metrics.addMetric('CandidatesEnqueued', MetricUnit.Count, p.candidatesEnqueued);
          metrics.addMetric('CandidatesBlockedByBreaker', MetricUnit.Count, p.blockedByBreaker);
          metrics.addMetric('ScanLagBlocks', MetricUnit.Count, p.lagBlocks);
          metrics.addMetric('RpcCalls', MetricUnit.Count, p.rpcCalls);
          if (p.maxOracleAgeSec !== undefined) metrics.addMetric('OracleAgeSeconds', MetricUnit.Seconds, Number(p.maxOracleAgeSec));
          logger.debug('block scanned', { ...p, maxOracleAgeSec: p.maxOracleAgeSec?.toString() });
          break;
        }
        case 'breaker-opened':
          logger.warn('oracle breaker opened', { block: event.block, asset: event.asset, reason: event.reason, detail: event.detail });
          openBreakers.add(event.asset.toLowerCase());
          breakerMetric(metrics, openBreakers.size);
          break;
        case 'breaker-closed':
          logger.info('oracle breaker closed', { block: event.block, asset: event.asset });
          openBreakers.delete(event.asset.toLowerCase());
          breakerMetric(metrics, openBreakers.size);
          break;
        case 'undated-feeds':
          // Once per asset and invocation (scanBlocks dedups): an adapter feed is no failure, but its age is unknown.
          for (const feed of event.feeds) {
            logger.warn(
              event.policy === 'block'
                ? 'oracle feed has no round data: its price cannot be dated, breaker held open (ORACLE_UNDATED_FEEDS=block)'
                : 'oracle feed has no round data: its price cannot be dated, price checks only (ORACLE_UNDATED_FEEDS=allow)',
              { block: event.block, asset: feed.asset, source: feed.source, reason: feed.reason, policy: event.policy },
            );
          }
          metrics.addMetric('UndatedFeeds', MetricUnit.Count, event.undatedAssets);
          break;
        case 'blocked-by-breaker':
          if (!loggedBlocked.has(event.borrower.toLowerCase())) {
            loggedBlocked.add(event.borrower.toLowerCase());
            logger.warn('liquidatable borrower not enqueued: oracle breaker open', {
              block: event.block,
              borrower: event.borrower,
              healthFactorWad: event.healthFactorWad.toString(),
              assets: event.assets,
            });
          }
          break;
        case 'enqueued':
          logger.info('candidate enqueued', { ...event.message });
          break;
        case 'unreadable':
          // The Pool reverted on this account (its chunk was split so the rest of the market was read).
          if (!loggedUnreadable.has(event.borrower.toLowerCase())) {
            loggedUnreadable.add(event.borrower.toLowerCase());
            logger.error('account health unreadable: getUserAccountData reverted', { block: event.block, borrower: event.borrower, reason: event.reason });
          }
          metrics.addMetric('UnreadableAccounts', MetricUnit.Count, 1);
          break;
        case 'publish-failed':
          logger.error('candidate not accepted by the queue', { block: event.block, borrower: event.borrower, reason: event.reason });
          break;
        case 'execution-paused':
          // Counted per block; the breaker alarm sums CircuitBreakerOpen over the scanner and the worker.
          metrics.addMetric('CircuitBreakerOpen', MetricUnit.Count, 1);
          logger.warn('execution breaker open: liquidatable borrowers not enqueued', { block: event.block, reason: event.reason, detail: event.detail, heldBack: event.heldBack });
          break;
        case 'oracle-update':
          logger.info('pending oracle update followed', { ...event, assets: [...event.assets] });
          metrics.addMetric('CandidatesEnqueued', MetricUnit.Count, event.enqueued);
          break;
        case 'pacing-off':
          logger.warn('blocks come faster than SCANNER_BLOCK_TIME_MS: polling every interval for the rest of the invocation', {
            block: event.block,
            skippedBlocks: event.skippedBlocks,
            blockTimeMs: event.blockTimeMs,
          });
          break;
        case 'block-failed':
          logger.error('block failed', { stage: event.error.stage, block: event.error.block, consecutiveFailures: event.consecutiveFailures, error: event.error });
          break;
      }
      deps.onEvent?.(event);
    };

    const summary = await scanBlocks(
      {
        settings,
        store: adapters.store,
        queue: adapters.queue,
        accounts: adapters.accounts,
        oracle: adapters.oracle,
        blocks: adapters.blocks,
        ...(adapters.changes ? { changes: adapters.changes } : {}),
        ...(adapters.pendingUpdates ? { pendingUpdates: adapters.pendingUpdates } : {}),
        ...(reads ? { reads } : {}),
        breakers: adapters.breakers,
        clock,
        sleep: deps.sleep ?? defaultSleep,
        onEvent,
        bestEffort,
      },
      { deadlineAtMs },
    );

    if (summary.breakerOpen.length > 0) breakerMetric(metrics, summary.breakerOpen.length);
    metrics.addMetric('BlocksFollowed', MetricUnit.Count, summary.blocks);
    metrics.addMetric('ScannerHeartbeat', MetricUnit.Count, 1);
    logger.info('scan finished', { ...summary });
    return summary;
  };

  const scan = async (_event: unknown, context: Context): Promise<ScanSummary> => {
    try {
      return await follow(await connect(), context);
    } catch (err) {
      logger.error('scanner run failed', err as Error);
      throw err;
    }
  };

  return middy(scan)
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/**
 * The real adapters for a configuration; `close` releases the RPC provider (tests, scripts). `marketChecked`: the
 * caller has already run the market's start-up check on this configuration (the trigger, whose execution side
 * checks a superset of the scanner's), so it is not run twice.
 */
export async function scannerRuntimeFromConfig(
  config: PipelineConfig,
  options: { onOracleFallback?: (reason: string) => void; marketChecked?: boolean } = {},
): Promise<ScannerRuntime & { close(): void }> {
  // Store and queue first: a missing table or queue fails before a provider is opened.
  const store = new DynamoDbBorrowerStore(createDocumentClient(config), config.tables);
  if (!config.candidatesQueueUrl) throw new Error('the scanner needs the candidate queue (CANDIDATES_QUEUE_URL)');
  const queue = new SqsCandidateQueue(createSqsClient(config), config.candidatesQueueUrl);
  const provider = await providerFromConfig(config);
  if (!options.marketChecked) await checkStartupOrClose(marketExpectations(config), ethersStartupChain(provider), () => provider.destroy());
  return {
    store,
    queue,
    // The lending protocol's reads, wired once (functions/ports/lending-protocol.ts).
    ...aaveV3ScannerProtocol(provider, { pool: config.pool }).scannerReads({
      chunkSize: config.scanner.chunkSize,
      followPendingUpdates: config.scanner.followPendingUpdates,
      onOracleFallback: options.onOracleFallback,
    }),
    blocks: { latestBlockNumber: () => latestBlockNumber(provider) },
    breakers: config.tables.keeperState
      ? new DynamoDbExecutionBreakers(createDocumentClient(config), config.tables.keeperState, { scope: config.marketKey, ...config.worker.breakers })
      : undefined,
    close: () => provider.destroy(),
  };
}

/** Wiring from the environment: configuration → observability → adapters → handler. */
export function scannerHandlerFromEnvironment(env: Record<string, string | undefined>) {
  const config = loadPipelineConfig(env, ['borrowers', 'snapshots', 'candidatesQueue']);
  const { logger, metrics } = createObservability('scanner', config.marketName);
  const onOracleFallback = (reason: string) => {
    logger.warn('the node refused a state override: oracle read per call from now on (4 + N eth_calls per block)', { reason });
    metrics.addMetric('OracleLensFallbacks', MetricUnit.Count, 1);
  };
  return createScannerHandler({ config, logger, metrics, runtime: () => scannerRuntimeFromConfig(config, { onOracleFallback }) });
}

let fromEnvironment: ReturnType<typeof scannerHandlerFromEnvironment> | undefined;

/**
 * The Lambda entry. Configuration is read on the first invocation rather than at import, so tests can import
 * createScannerHandler without a pipeline environment; a bad configuration fails that invocation with every
 * problem named.
 */
export const handler = (event: unknown, context: Context): Promise<ScanSummary> => {
  fromEnvironment ??= scannerHandlerFromEnvironment(process.env);
  return fromEnvironment(event, context);
};
