/**
 * The worker Lambda: SQS FIFO event source (ReportBatchItemFailures) → one liquidation per candidate, at most.
 *
 * The records of a batch are processed concurrently (`processInParallel: true`; FIFO groups are per borrower, so
 * no order between them matters). They share one signer: numbering, signing and broadcasting go through one send
 * lane (execute-candidate.ts), so reads, simulations and receipt waits overlap while nonces stay in sequence.
 * One worker instance per signer (reserved concurrency 1) keeps that sequence across invocations. Per record:
 *   - decode; a malformed body or a candidate for another market goes to the DLQ with `rejectReason` and is
 *     acknowledged (its batch-mates are unaffected); if the DLQ send fails, the record fails and SQS retries it;
 *   - Powertools idempotency on the SQS deduplication id (a re-delivered record returns the stored result);
 *   - executeCandidate (functions/pipeline/execute-candidate.ts): the ledger claim makes two different messages
 *     for the same opportunity one transaction;
 *   - a thrown error is retryable by construction (the use case returns permanent failures): batch item failure.
 * Then metrics, and the scanner's enqueue mark is cleared (best effort: it also expires by block).
 *
 * `createWorkerHandler(deps)` takes everything as dependencies (tests pass fakes or local adapters);
 * `workerFromEnvironment` wires config → adapters; `handler` is the Lambda entry.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type JsonRpcProvider, toQuantity } from 'ethers';
import { createDocumentClient, createDynamoDbClient, createSqsClient } from '../adapters/aws/clients';
import { AaveV3LiquidationExecutor } from '../adapters/chain/aave-v3-liquidation-executor';
import { AaveV3PositionReader, UnsupportedPositionError } from '../adapters/chain/aave-v3-position-reader';
import { LocalKeySigner } from '../adapters/chain/local-signer';
import { latestBlockNumber, pollReceipt, ReceiptTimeoutError } from '../adapters/chain/provider';
import { providerFromConfig } from '../adapters/chain/rpc';
import { type DeadLetterQueue, SqsDeadLetter } from '../adapters/queue/sqs-dead-letter';
import { DynamoDbBorrowerStore } from '../adapters/store/dynamodb-borrower-store';
import { DynamoDbLiquidationLedger } from '../adapters/store/dynamodb-liquidation-ledger';
import { loadPipelineConfig, type PipelineConfig } from '../config/pipeline-config';
import { sameAddress } from '../domain';
import type { BorrowerStore } from '../ports/borrower-store';
import { type Clock, systemClock } from '../ports/clock';
import {
  type CandidateMessage,
  decodeCandidateMessage,
  deduplicationIdOf,
  MalformedMessageError,
  marketKeyOf,
} from '../pipeline/candidate-message';
import {
  type BroadcastResult,
  type CandidatePositionSource,
  type ChainGateway,
  createSendLane,
  executeCandidate,
  type ExecuteCandidateDeps,
  type ExecuteCandidateInput,
  type ExecutionResult,
  type FailureClass,
  type NativePriceSource,
  type Signer,
  sizingStrategyFor,
} from '../pipeline/execute-candidate';
import { createObservability } from './observability';

export const WORKER_SERVICE_NAME = 'liquidation-worker';

/** What one record came to; `replayed`: returned from the idempotency store, not executed again. */
export type RecordOutcome = (ExecutionResult & { replayed?: true }) | { kind: 'rejected'; reason: string };

export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface WorkerDependencies {
  /** `chainId#pool` (PipelineConfig.marketKey): candidates for another market are rejected. */
  marketKey: string;
  execute(input: ExecuteCandidateInput): Promise<ExecutionResult>;
  deadLetter: DeadLetterQueue;
  /** Used by this handler's idempotent function only (Powertools: one persistence layer per function). */
  idempotencyStore: BasePersistenceLayer;
  /** Clears the scanner's enqueue mark; optional until the DynamoDB borrower store is wired. */
  borrowers?: Pick<BorrowerStore, 'clearEnqueued'>;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** Longest wait for one receipt (ms), also bounded by the invocation's remaining time; default 30 s. */
  receiptTimeoutMs?: number;
  /** Called with every record's outcome (tests, local demo). */
  onOutcome?: (outcome: RecordOutcome, record: SQSRecord) => void;
}

/** Time kept back from the Lambda deadline when waiting for a receipt (ledger write, metrics flush). */
const DEADLINE_MARGIN_MS = 3_000;
/** Below this much remaining time a record is not started: it is left to SQS rather than claimed and cut off. */
const MIN_TIME_PER_RECORD_MS = 8_000;
/** Queue retention is one hour (lib/resources.ts): no delivery can come later than that. */
const IDEMPOTENCY_EXPIRY_SEC = 3_600;

/** Thrown for records the invocation has no time left to start; retryable (SQS redelivers them). */
export class InvocationDeadlineError extends Error {
  readonly retryable = true;
  constructor(remainingMs: number) {
    super(`only ${remainingMs} ms left in the invocation: left for redelivery`);
    this.name = 'InvocationDeadlineError';
  }
}

type Decoded = { kind: 'candidate'; message: CandidateMessage } | { kind: 'rejected'; reason: string };

function decodeForMarket(body: string, marketKey: string): Decoded {
  let message: CandidateMessage;
  try {
    message = decodeCandidateMessage(body);
  } catch (error) {
    if (error instanceof MalformedMessageError) return { kind: 'rejected', reason: error.message };
    throw error;
  }
  const market = marketKeyOf(message);
  if (market !== marketKey) return { kind: 'rejected', reason: `chainId/pool: candidate for market ${market}, this worker serves ${marketKey}` };
  return { kind: 'candidate', message };
}

/** USD with cent precision, for the ProfitUsd metric only (EMF values are numbers); amounts stay bigint. */
function baseToUsd(valueBase8: bigint): number {
  return Number(valueBase8 / 1_000_000n) / 100;
}

export function createWorkerHandler(deps: WorkerDependencies): WorkerHandler {
  const { logger, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const receiptTimeoutMs = deps.receiptTimeoutMs ?? 30_000;

  const idempotency = new IdempotencyConfig({
    // The FIFO deduplication id (chain#pool#borrower#block as the scanner sets it, or whatever the sender set).
    eventKeyJmesPath: 'attributes.MessageDeduplicationId',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: IDEMPOTENCY_EXPIRY_SEC,
    // Only runs for a result read back from the store: marks it so it is not counted twice.
    responseHook: (response) => ({ ...(response as object), replayed: true }),
  });
  const executeOnce = makeIdempotent(
    (record: SQSRecord, message: CandidateMessage, receiptDeadlineMs: number): Promise<ExecutionResult> =>
      deps.execute({ message, attempt: record.messageId, receiptDeadlineMs }),
    { persistenceStore: deps.idempotencyStore, config: idempotency },
  );

  const report = (outcome: RecordOutcome, message: CandidateMessage): void => {
    const count = (name: string) => metrics.addMetric(name, MetricUnit.Count, 1);
    if (outcome.kind === 'rejected') return;
    if (outcome.replayed || outcome.kind === 'duplicate') {
      count('DuplicateCandidates');
      logger.info('duplicate candidate: nothing sent', { outcome: outcome.kind, replayed: outcome.replayed ?? false });
      return;
    }
    switch (outcome.kind) {
      case 'stale':
        count('StaleCandidates');
        logger.info('stale candidate: healthy at the latest block', { block: outcome.block, healthFactorWad: outcome.healthFactorWad });
        return;
      case 'skipped':
        count(outcome.reason === 'unprofitable' ? 'SkippedUnprofitable' : 'SkippedCandidates');
        logger.info('candidate skipped', { block: outcome.block, reason: outcome.reason, detail: outcome.detail });
        return;
      case 'dry-run':
        count('DryRunPlans');
        logger.info('dry run: liquidation planned and simulated, not sent', { block: outcome.block, plan: outcome.plan });
        return;
      case 'sent':
        count('LiquidationsSent');
        logger.warn('liquidation sent, no receipt: the ledger keeps it as sent', { txHash: outcome.txHash, detail: outcome.detail });
        return;
      case 'mined':
        count('LiquidationsSent');
        count('LiquidationsMined');
        metrics.addMetric('ProfitUsd', MetricUnit.NoUnit, baseToUsd(BigInt(outcome.plan.profitBase ?? '0')));
        metrics.addMetric('DetectionLatencyBlocks', MetricUnit.Count, Math.max(0, outcome.minedBlock - message.firstLiquidatableBlock));
        logger.info('liquidation mined', { txHash: outcome.txHash, minedBlock: outcome.minedBlock, gasUsed: outcome.gasUsed, plan: outcome.plan });
        return;
      case 'reverted':
        count('LiquidationsSent');
        count('LiquidationsReverted');
        logger.error('liquidation reverted on chain', { txHash: outcome.txHash, minedBlock: outcome.minedBlock, plan: outcome.plan });
        return;
      case 'failed':
        count('FailedCandidates');
        logger.error('candidate failed permanently', { stage: outcome.stage, reason: outcome.reason });
        return;
    }
  };

  const processRecord = async (record: SQSRecord, context: Context): Promise<RecordOutcome> => {
    const decoded = decodeForMarket(record.body, deps.marketKey);
    if (decoded.kind === 'rejected') {
      // A failure here fails the record: SQS redelivers it and, after maxReceiveCount, redrives it itself.
      await deps.deadLetter.reject({ body: record.body, reason: decoded.reason, sourceMessageId: record.messageId, groupId: record.attributes.MessageGroupId });
      metrics.addMetric('MalformedMessages', MetricUnit.Count, 1);
      logger.warn('candidate rejected to the dead-letter queue', { messageId: record.messageId, reason: decoded.reason });
      const outcome: RecordOutcome = { kind: 'rejected', reason: decoded.reason };
      deps.onOutcome?.(outcome, record);
      return outcome;
    }
    const { message } = decoded;
    logger.appendKeys({ borrower: message.borrower, opportunity: deduplicationIdOf(message) });
    try {
      const remainingMs = context.getRemainingTimeInMillis();
      if (remainingMs < MIN_TIME_PER_RECORD_MS) throw new InvocationDeadlineError(remainingMs);
      const receiptDeadlineMs = clock.nowMs() + Math.min(receiptTimeoutMs, remainingMs - DEADLINE_MARGIN_MS);
      const outcome: RecordOutcome = await executeOnce(record, message, receiptDeadlineMs);
      report(outcome, message);
      deps.onOutcome?.(outcome, record);
      if (deps.borrowers) {
        // Best effort: the mark also expires after SCANNER_REENQUEUE_AFTER_BLOCKS, so failing here only delays
        // the next candidate for this borrower; it must not turn a finished liquidation into a retry.
        await deps.borrowers.clearEnqueued(deps.marketKey, message.borrower).catch((error: unknown) => {
          logger.warn('could not clear the enqueue mark', { error: error as Error });
        });
      }
      return outcome;
    } catch (error) {
      logger.warn('candidate failed, left to SQS for redelivery', { error: error as Error });
      throw error;
    } finally {
      logger.removeKeys(['borrower', 'opportunity']);
    }
  };

  const handle = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // The in-progress idempotency record expires with the invocation, so a crashed attempt can be redone.
    idempotency.registerLambdaContext(context);
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, (record: SQSRecord) => processRecord(record, context), processor, { context, processInParallel: true });
  };

  return middy(handle)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

// ── Wiring: ethers adapters of the worker's chain ports (to move to functions/adapters/chain/) ────────────────

/** Percentile of the read block's priority fees offered as tip (eth_feeHistory reward percentile). */
const PRIORITY_FEE_PERCENTILE = 50;
/** A tip floor (0.1 gwei) so that an empty block's zero median does not send a tip-less transaction. */
const MIN_PRIORITY_FEE_WEI = 100_000_000n;

/**
 * The node's JSON-RPC error inside an ethers error: `error` on UNKNOWN_ERROR, `info.error` on the codes ethers
 * recognises (INSUFFICIENT_FUNDS, NONCE_EXPIRED, REPLACEMENT_UNDERPRICED). Absent: the node never answered.
 */
function rpcErrorOf(error: unknown): { code: number; message: string } | undefined {
  type Inner = { code?: unknown; message?: unknown };
  const e = error as { error?: Inner; info?: { error?: Inner } };
  const inner = e.error ?? e.info?.error;
  return inner && typeof inner.code === 'number' ? { code: inner.code, message: String(inner.message ?? '') } : undefined;
}

/** eth_sendRawTransaction's failure: refused by the node (and why), or a transport failure (maybe sent). */
export function classifyBroadcastError(error: unknown): BroadcastResult {
  const code = (error as { code?: unknown }).code;
  const rpc = rpcErrorOf(error);
  const reason = rpc?.message ?? (error as Error).message ?? String(error);
  if (rpc && /already known|known transaction/i.test(rpc.message)) return { kind: 'accepted' };
  if (code === 'NONCE_EXPIRED' || code === 'REPLACEMENT_UNDERPRICED') return { kind: 'rejected', reason, retryable: true };
  if (code === 'INSUFFICIENT_FUNDS') return { kind: 'rejected', reason, retryable: false };
  // -32005: rate limited (EIP-1474 "limit exceeded"): refused now, fine later.
  if (rpc) return { kind: 'rejected', reason, retryable: rpc.code === -32005 };
  return { kind: 'unknown', reason };
}

export function ethersChainGateway(provider: JsonRpcProvider): ChainGateway {
  return {
    latestBlock: () => latestBlockNumber(provider),
    async feesAfter(block) {
      // eth_feeHistory(1 block, newest = block): baseFeePerGas = [fee of block, fee of block + 1], the second
      // computed by the node from block's gas use (EIP-1559); reward = [[percentile tip paid in block]].
      const history = (await provider.send('eth_feeHistory', [toQuantity(1), toQuantity(block), [PRIORITY_FEE_PERCENTILE]])) as {
        baseFeePerGas: string[];
        reward?: string[][];
      };
      const nextBaseFee = BigInt(history.baseFeePerGas[history.baseFeePerGas.length - 1]);
      const observedTip = BigInt(history.reward?.[0]?.[0] ?? 0);
      const tip = observedTip > MIN_PRIORITY_FEE_WEI ? observedTip : MIN_PRIORITY_FEE_WEI;
      // 2 × base fee + tip (ethers' own default) stays valid through six full blocks of base-fee rises.
      return { baseFeePerGasWei: nextBaseFee, maxPriorityFeePerGasWei: tip, maxFeePerGasWei: 2n * nextBaseFee + tip };
    },
    pendingNonce: (address) => provider.getTransactionCount(address, 'pending'),
    async broadcast(rawTransaction) {
      try {
        await provider.send('eth_sendRawTransaction', [rawTransaction]);
        return { kind: 'accepted' };
      } catch (error) {
        return classifyBroadcastError(error);
      }
    },
    async receipt(txHash, timeoutMs) {
      try {
        const receipt = await pollReceipt(provider, txHash, { timeoutMs });
        return { status: receipt.status === 1 ? 'success' : 'reverted', blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, effectiveGasPriceWei: receipt.gasPrice };
      } catch (error) {
        if (error instanceof ReceiptTimeoutError) return undefined;
        throw error;
      }
    },
  };
}

/** Positions from the Aave reader; eMode (which it refuses to approximate) becomes `unsupported`. */
export function aavePositionSource(reader: AaveV3PositionReader): CandidatePositionSource {
  return {
    async read(user, block) {
      try {
        return { kind: 'position', position: await reader.readPosition(user, block) };
      } catch (error) {
        if (error instanceof UnsupportedPositionError) return { kind: 'unsupported', reason: error.reason };
        throw error;
      }
    },
  };
}

/**
 * The gas token's price: the Aave oracle's price of the wrapped-native reserve at the block, from the reader's
 * per-block market snapshot (already read for the position, so no extra call).
 */
export function aaveOracleNativePrice(reader: AaveV3PositionReader, wrappedNativeAsset: string): NativePriceSource {
  return {
    async nativePriceBase8(block) {
      const reserve = (await reader.marketAt(block)).reserves.find((r) => sameAddress(r.asset, wrappedNativeAsset));
      if (!reserve) throw new Error(`NATIVE_PRICE_ASSET ${wrappedNativeAsset} is not a reserve of the market: its price prices gas`);
      return reserve.priceBase8;
    },
  };
}

const RETRYABLE_ETHERS_CODES = new Set(['NETWORK_ERROR', 'TIMEOUT', 'SERVER_ERROR', 'UNKNOWN_ERROR', 'BAD_DATA']);
const RETRYABLE_SYSTEM_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
const RETRYABLE_AWS_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

/**
 * The one place failures are classified. Walks the `cause` chain: an error that states `retryable` (or carries
 * its adapter's classification) decides; otherwise transport and throttling failures (ethers, AWS SDK, Node
 * sockets) are retryable and everything else — reverts, validation, bugs — is permanent: recorded and
 * acknowledged, since a retry would fail again.
 * (The scanner re-detects a still-liquidatable account as a new opportunity, sooner than a redelivery would.)
 */
export function classifyWorkerFailure(error: unknown): FailureClass {
  for (let current: unknown = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    const e = current as {
      retryable?: unknown;
      classification?: { kind?: unknown };
      code?: unknown;
      name?: unknown;
      $retryable?: unknown;
      $metadata?: { httpStatusCode?: number };
    };
    if (typeof e.retryable === 'boolean') return e.retryable ? 'retryable' : 'permanent';
    // Adapters that classify their own failures (kms-signer.ts: KmsRequestError.classification).
    if (e.classification?.kind === 'retryable' || e.classification?.kind === 'permanent') return e.classification.kind;
    if (typeof e.code === 'string' && (RETRYABLE_ETHERS_CODES.has(e.code) || RETRYABLE_SYSTEM_CODES.has(e.code))) return 'retryable';
    if (e.$metadata) {
      const status = e.$metadata.httpStatusCode ?? 0;
      return e.$retryable || status >= 500 || RETRYABLE_AWS_NAMES.has(String(e.name)) ? 'retryable' : 'permanent';
    }
  }
  return 'permanent';
}

function signerFor(signer: NonNullable<PipelineConfig['worker']['signer']>): Signer {
  if (signer.mode === 'local') return new LocalKeySigner(signer.privateKey);
  throw new Error('SIGNER_MODE=kms: the KMS signer is not implemented yet; only "local" (chain 31337) runs today');
}

/** Variables the worker needs that PipelineConfig does not read yet. */

export interface WorkerOverrides {
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
  borrowers?: Pick<BorrowerStore, 'clearEnqueued'>;
  /** Gas per liquidationCall assumed before simulation; default 400k. */
  assumedGasPerStep?: bigint;
  receiptTimeoutMs?: number;
  onOutcome?: WorkerDependencies['onOutcome'];
}

export interface ExecutionOverrides {
  clock?: Clock;
  /** Gas per liquidationCall assumed before simulation; default 400k. */
  assumedGasPerStep?: bigint;
}

/**
 * The use case's adapters for a configuration loaded with 'ledger' and 'signer'. Shared by the worker and the
 * manual trigger (handlers/trigger.ts): both claim in the same ledger and sign with the same key, so a
 * triggered liquidation and a queued candidate for the same opportunity can never both send.
 * `close` releases the RPC provider (tests, scripts).
 */
export async function executeCandidateDepsFromConfig(config: PipelineConfig, overrides: ExecutionOverrides = {}): Promise<ExecuteCandidateDeps & { close(): void }> {
  const ledgerTable = config.tables.ledger;
  const nativePriceAsset = config.worker.nativePriceAsset;
  if (!ledgerTable) throw new Error('executing candidates needs the ledger (LEDGER_TABLE)');
  if (!config.worker.signer || !nativePriceAsset) throw new Error('executing candidates needs a signer (SIGNER_MODE, NATIVE_PRICE_ASSET)');
  const signer = signerFor(config.worker.signer);
  const provider = await providerFromConfig(config);
  const reader = new AaveV3PositionReader(provider, config.pool, config.ruleSet);
  return {
    // One lane per process: concurrent records number their transactions one at a time.
    sendLane: createSendLane(),
    positions: aavePositionSource(reader),
    simulator: new AaveV3LiquidationExecutor(provider, config.pool, { gasHeadroomBps: config.worker.gasHeadroomBps }),
    nativePrice: aaveOracleNativePrice(reader, nativePriceAsset),
    chain: ethersChainGateway(provider),
    signer,
    ledger: new DynamoDbLiquidationLedger(createDocumentClient(config), ledgerTable),
    clock: overrides.clock ?? systemClock,
    classifyFailure: classifyWorkerFailure,
    settings: {
      chainId: BigInt(config.chainId),
      sizing: sizingStrategyFor(config.worker.sizing, config.worker.targetHealthFactorWad),
      swapCostBps: config.worker.swapCostBps,
      minProfitBase: config.worker.minProfitBase,
      assumedGasPerStep: overrides.assumedGasPerStep ?? 400_000n,
      dryRun: config.worker.dryRun,
    },
    close: () => provider.destroy(),
  };
}

/** Config → adapters → handler. Reads the environment once; fails with every missing or bad variable named. */
export async function workerFromEnvironment(env: Record<string, string | undefined>, overrides: WorkerOverrides = {}): Promise<WorkerHandler> {
  // 'signer' makes SIGNER_MODE (and with it NATIVE_PRICE_ASSET) required.
  const config = loadPipelineConfig(env, ['ledger', 'idempotency', 'candidatesDlq', 'signer']);
  const deadLetterQueueUrl = config.candidatesDlqUrl!;
  const clock = overrides.clock ?? systemClock;
  const executeDeps = await executeCandidateDepsFromConfig(config, { clock, assumedGasPerStep: overrides.assumedGasPerStep });
  const observability = overrides.logger && overrides.metrics ? undefined : createObservability(WORKER_SERVICE_NAME, config.marketName);
  const documents = createDocumentClient(config);
  // Optional: without BORROWERS_TABLE the scanner's enqueue mark simply expires by block.
  const borrowers = overrides.borrowers ?? (config.tables.borrowers ? new DynamoDbBorrowerStore(documents, { borrowers: config.tables.borrowers }) : undefined);
  return createWorkerHandler({
    marketKey: config.marketKey,
    execute: (input) => executeCandidate(executeDeps, input),
    deadLetter: new SqsDeadLetter(createSqsClient(config), deadLetterQueueUrl),
    idempotencyStore: new DynamoDBPersistenceLayer({ tableName: config.tables.idempotency!, awsSdkV3Client: createDynamoDbClient(config) }),
    borrowers,
    logger: overrides.logger ?? observability!.logger,
    metrics: overrides.metrics ?? observability!.metrics,
    clock,
    receiptTimeoutMs: overrides.receiptTimeoutMs,
    onOutcome: overrides.onOutcome,
  });
}

let worker: Promise<WorkerHandler> | undefined;

/** Lambda entry: wired once per execution environment; a failed start is retried on the next invocation. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  worker ??= workerFromEnvironment(process.env).catch((error: unknown) => {
    worker = undefined;
    throw error;
  });
  return (await worker)(event, context);
};
