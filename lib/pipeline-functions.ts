/**
 * The pipeline's Lambda functions as plain data: handler, size, timeout, the tables and queues each one uses
 * and how, and the environment each one gets from the deployment config. The pipeline stack builds the
 * functions and their least-privilege grants from these definitions; the cost estimate reads their memory and
 * timeouts. No CDK import here, so tests and scripts load it without aws-cdk-lib.
 *
 * lib/ never imports functions/: the names the functions share with the infrastructure (metrics namespace,
 * service names, environment variables) are repeated here, and test/infra checks that both sides agree.
 */
import type { DeploymentConfig } from './config';
import { deadLetterOf, type QueueName, type TableName } from './resources';

/** Powertools Metrics namespace of every function (functions/handlers/observability.ts, METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'LiquidationPipeline';

export type PipelineFunctionName = 'indexer' | 'scanner' | 'worker' | 'trigger';

/** `read`: Get/Query/Scan; `write`: Put/Update/Delete/BatchWrite; conditional writes need no read grant. */
export type TableAccess = 'read' | 'write' | 'readWrite';
/** `send`: SendMessage(Batch); `consume`: the SQS event source (Receive/Delete/ChangeVisibility). */
/** `consume-and-send`: the worker consumes candidates and queues the rest of a chunked liquidation as a new one. */
export type QueueAccess = 'send' | 'consume' | 'consume-and-send';

export interface PipelineFunctionDefinition {
  /** Construct id and suffix of the function name (`<config name>-<name>`). */
  id: string;
  /** Handler module, relative to the project root; it exports `handler`. */
  entry: string;
  /**
   * The service name the handler gives Powertools (`createObservability(serviceName, …)`): the `service`
   * dimension of its metrics, which the alarms must name exactly.
   */
  serviceName: string;
  memoryMb: number;
  /** Fixed timeout; the scanner's follows its schedule (`timeoutSecOf`). */
  timeoutSec: number;
  tables: Partial<Record<TableName, TableAccess>>;
  queues: Partial<Record<QueueName, QueueAccess>>;
  /** Signs and sends transactions: the KMS signing key, the private RPC endpoint and the execution settings. */
  sends: boolean;
  /**
   * Tells our liquidations from others' (the capture rate): knows the signer key's address (kms:GetPublicKey, no
   * Sign) and reads the liquidator contract's address parameter.
   */
  recognisesOwnLiquidations?: boolean;
  description: string;
}

/**
 * Memory: the worker simulates and signs; 1 GB gives it about 0.6 vCPU on arm64. The indexer mostly waits on
 * eth_getLogs. The scanner's is chosen from its measured CPU time per block (scanner below).
 */
export const PIPELINE_FUNCTIONS: Record<PipelineFunctionName, PipelineFunctionDefinition> = {
  indexer: {
    id: 'indexer',
    entry: 'functions/handlers/indexer.ts',
    serviceName: 'indexer',
    memoryMb: 512,
    // A run stops starting log windows shortly before its deadline; overlapping runs are harmless.
    timeoutSec: 300,
    tables: { borrowers: 'readWrite', keeperState: 'readWrite' },
    queues: {},
    sends: false,
    recognisesOwnLiquidations: true,
    description: 'Indexes the market\'s borrowers from Pool events, records liquidations and deficits (scheduled)',
  },
  scanner: {
    id: 'scanner',
    entry: 'functions/handlers/scanner.ts',
    serviceName: 'scanner',
    // From bench/rpc-calls.ts (the change-driven scanner alone, 10,000 borrowers, 2026-12-06): 20.8 ms of CPU per
    // quiet block (39 ms max), 99–115 ms for a block that reads every account (the hourly re-read, a new
    // environment's first block). Lambda gives memory / 1,769 MB of a vCPU: at 192 MB (10.9 %) that is 0.19 s
    // (0.36 s max) of a 12 s block and ~1.1 s for a full read; 128 MB (7.2 %) would still fit the CPU (0.29 s,
    // 1.6 s), but not the memory with headroom: the bundle loaded with its AWS SDK clients is 66 MB RSS and the
    // state of 10,000 accounts added 24 MB of heap. Billed for wall time (it follows blocks continuously), the
    // scanner's GB-seconds are the largest AWS cost: bench/cost-estimate.ts. Check "Max Memory Used" after a deploy.
    memoryMb: 192,
    timeoutSec: 90,
    // keeperState, read-only: the market's kill switch and execution breakers.
    tables: { borrowers: 'readWrite', snapshots: 'write', keeperState: 'read' },
    queues: { candidates: 'send' },
    sends: false,
    description: 'Follows blocks, reads the health of accounts whose prices, positions or interest changed, enqueues liquidatable ones (scheduled)',
  },
  worker: {
    id: 'worker',
    entry: 'functions/handlers/worker.ts',
    serviceName: 'liquidation-worker',
    memoryMb: 1024,
    // At most a sixth of the candidates queue's visibility timeout (checked by the stack).
    timeoutSec: 60,
    // borrowers: only the conditional UpdateItem that clears the scanner's enqueue mark.
    tables: { ledger: 'readWrite', nonceLeases: 'readWrite', keeperState: 'readWrite', idempotency: 'readWrite', borrowers: 'write' },
    queues: { candidates: 'consume-and-send', candidatesDlq: 'send' },
    sends: true,
    description: 'Executes liquidation candidates from the FIFO queue (SQS event source)',
  },
  trigger: {
    id: 'trigger',
    entry: 'functions/handlers/trigger.ts',
    serviceName: 'liquidation-trigger',
    memoryMb: 1024,
    // One scanner pass or one liquidation with its receipt wait (30 s) fits; `aws lambda invoke` waits for it.
    timeoutSec: 120,
    // The scanner's use case (scan) and the worker's (liquidate, pause, resume, status): not the worker's
    // idempotency table or dead-letter queue, which belong to its SQS records.
    tables: { borrowers: 'readWrite', snapshots: 'write', ledger: 'readWrite', nonceLeases: 'readWrite', keeperState: 'readWrite' },
    queues: { candidates: 'send' },
    sends: true,
    description: 'Manual trigger for operators: scan, liquidate, pause, resume, status (aws lambda invoke)',
  },
};

/**
 * How long a scanner's timeout outlives its schedule period: room for a slow last block and the final write. It
 * follows blocks only for the period and SCANNER_HANDOVER_SEC (SCANNER_FOLLOW_SEC), so two overlap that long.
 */
export const SCANNER_OVERLAP_SEC = 30;
/** How long consecutive scanner invocations both follow blocks: enough for the next one to start and take over. */
export const SCANNER_HANDOVER_SEC = 5;

export function timeoutSecOf(name: PipelineFunctionName, config: Pick<DeploymentConfig, 'schedule'>): number {
  if (name === 'scanner') return config.schedule.scannerEveryMinutes * 60 + SCANNER_OVERLAP_SEC;
  return PIPELINE_FUNCTIONS[name].timeoutSec;
}

/** The `market` dimension of the functions' metrics (MARKET_NAME): the instance's name. */
export function marketNameOf(config: Pick<DeploymentConfig, 'name'>): string {
  return config.name;
}

/**
 * SSM parameter holding the address of the instance's liquidator contract: the trigger's `deploy-liquidator`
 * writes it, the worker and the trigger read it (LIQUIDATOR_ADDRESS_PARAMETER).
 */
export function liquidatorParameterNameOf(config: Pick<DeploymentConfig, 'name'>): string {
  return `/${config.name}/liquidator-address`;
}

/** A decimal for the environment, without exponent notation (functions parse it with Number()). */
function decimal(value: number): string {
  return Number.isInteger(value) ? value.toString() : value.toFixed(12).replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * The variables a function reads from the deployment config (functions/config/pipeline-config.ts names them).
 * Tables, queues and the KMS key are added by the stack, which knows their physical names.
 */
export function configEnvironment(name: PipelineFunctionName, config: DeploymentConfig): Record<string, string> {
  const fn = PIPELINE_FUNCTIONS[name];
  const env: Record<string, string> = {
    CHAIN_ID: config.chainId.toString(),
    MARKET_NAME: marketNameOf(config),
    POOL_ADDRESS: config.market.pool,
    AAVE_POOL_VERSION: config.market.poolVersion,
    RPC_URL_SECRET_NAME: config.rpcUrlSecretName,
    POWERTOOLS_SERVICE_NAME: fn.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // Stack traces point into the TypeScript sources (the bundles ship with source maps).
    NODE_OPTIONS: '--enable-source-maps',
  };
  // Checked at start-up against what the Pool reports (functions/config/startup-check.ts).
  if (config.market.addressesProvider) env.ADDRESSES_PROVIDER_ADDRESS = config.market.addressesProvider;
  if (config.market.oracle) env.PRICE_ORACLE_ADDRESS = config.market.oracle;
  if (config.market.dataProvider) env.DATA_PROVIDER_ADDRESS = config.market.dataProvider;
  if (name === 'indexer') {
    Object.assign(env, {
      INDEXER_START_BLOCK: config.market.indexerStartBlock.toString(),
      INDEXER_LOG_WINDOW: config.indexer.logWindowBlocks.toString(),
      INDEXER_LOG_WINDOW_GROWTH_AFTER: config.indexer.logWindowGrowthAfter.toString(),
    });
  }
  // The signer's key (SIGNER_MODE, KMS_KEY_ID) is added by the stack, which knows its ARN.
  if (fn.recognisesOwnLiquidations) env.LIQUIDATOR_ADDRESS_PARAMETER = liquidatorParameterNameOf(config);
  if (name === 'scanner') {
    Object.assign(env, {
      SCANNER_READ_MODE: config.scanner.readMode,
      SCANNER_MAX_READ_INTERVAL_SEC: config.scanner.maxReadIntervalSec.toString(),
      SCANNER_FOLLOW_PENDING_UPDATES: config.scanner.followPendingUpdates ? 'true' : 'false',
      SCANNER_FOLLOW_SEC: String(config.schedule.scannerEveryMinutes * 60 + SCANNER_HANDOVER_SEC),
      // Head polls paced by the chain's block time (the scanner stops pacing by itself if blocks come faster).
      SCANNER_BLOCK_TIME_MS: Math.max(100, Math.round(config.blockTimeSec * 1000)).toString(),
    });
  }
  // The oracle breakers: the scanner's, and the trigger's (its `scan` runs the scanner's use case).
  if (name === 'scanner' || name === 'trigger') {
    Object.assign(env, {
      ORACLE_MAX_AGE_SEC: config.oracle.maxAgeSec.toString(),
      ORACLE_MAX_DEVIATION_BPS: config.oracle.maxDeviationBps.toString(),
      ORACLE_UNDATED_FEEDS: config.oracle.undatedFeeds,
    });
    if (Object.keys(config.oracle.maxAgeSecByAsset).length > 0) env.ORACLE_MAX_AGE_SEC_BY_ASSET = JSON.stringify(config.oracle.maxAgeSecByAsset);
  }
  if (fn.sends) {
    const x = config.execution;
    Object.assign(env, {
      NATIVE_PRICE_ASSET: config.market.nativePriceAsset,
      SIZING_STRATEGY: x.sizingStrategy,
      MIN_PROFIT_USD: decimal(x.minProfitUsd),
      REVERT_STREAK_LIMIT: x.revertStreakLimit.toString(),
      REVERT_COOLDOWN_SEC: x.revertCooldownSec.toString(),
      REPLACE_AFTER_SEC: decimal(x.replaceAfterSec),
      MAX_REPLACEMENTS: x.maxReplacements.toString(),
      FEE_BUMP_BPS: x.feeBumpBps.toString(),
      FUNDING: x.funding,
      MAX_SLIPPAGE_BPS: x.maxSlippageBps.toString(),
      FOLLOWER_SLIPPAGE_BPS: x.followerSlippageBps.toString(),
      LIQUIDATOR_ADDRESS_PARAMETER: liquidatorParameterNameOf(config),
      SWAP_QUOTER_ADDRESS: config.market.dex.quoterV2,
      SWAP_ROUTER_ADDRESS: config.market.dex.swapRouter02,
      SWAP_FEE_TIERS: config.market.dex.feeTiers.join(','),
      DRY_RUN: x.dryRun ? 'true' : 'false',
      BATCH_BOUNDS_FROM_PENDING: x.batchBoundsFromPending ? 'true' : 'false',
    });
    if (name === 'worker') env.CANDIDATES_MAX_RECEIVE_COUNT = String(deadLetterOf('candidates')!.maxReceiveCount);
    if (name === 'worker') env.BLOCK_TIME_SEC = decimal(config.blockTimeSec);
    if (x.gasPriceCapGwei !== undefined) env.GAS_PRICE_CAP_GWEI = decimal(x.gasPriceCapGwei);
    if (x.dailyGasBudgetEth !== undefined) env.DAILY_GAS_BUDGET_ETH = decimal(x.dailyGasBudgetEth);
    if (x.maxPendingPerSigner !== undefined) env.MAX_PENDING_PER_SIGNER = x.maxPendingPerSigner.toString();
    if (x.maxPriceImpactBps !== undefined) env.MAX_PRICE_IMPACT_BPS = x.maxPriceImpactBps.toString();
    if (x.maxBatchSize !== undefined) env.MAX_BATCH_SIZE = x.maxBatchSize.toString();
    if (config.privateRpcUrlSecretName) env.PRIVATE_RPC_URL_SECRET_NAME = config.privateRpcUrlSecretName;
    if (x.bundleRelay) Object.assign(env, { BUNDLE_RELAY_URL: x.bundleRelay.url, BUNDLE_RELAY_AUTH_KEY_SECRET_NAME: x.bundleRelay.authKeySecretName });
    if (config.market.dex.routes.length > 0) env.SWAP_ROUTES = JSON.stringify(config.market.dex.routes);
    if (x.treasury !== undefined) env.TREASURY_ADDRESS = x.treasury;
  }
  return env;
}
