/**
 * The worker Lambda: SQS FIFO event source (ReportBatchItemFailures) → one liquidation per candidate, at most.
 *
 * The records of a batch are processed concurrently (`processInParallel: true`; FIFO groups are per borrower, so
 * no order between them matters). Nonces come from DynamoDB leases per signer, so any number of instances share
 * the configured keys; within an instance each key's leasing, signing and broadcasting go through one send lane
 * (functions/pipeline/send-lane.ts) while reads, simulations and receipt waits overlap. Per record:
 *   - decode; a malformed body or a candidate for another market goes to the DLQ with `rejectReason` and is
 *     acknowledged (its batch-mates are unaffected); if the DLQ send fails, the record fails and SQS retries it;
 *   - Powertools idempotency on the SQS deduplication id (a re-delivered record returns the stored result);
 *   - executeCandidate (functions/pipeline/execute-candidate.ts): the ledger claim makes two different messages
 *     for the same opportunity one transaction;
 *   - a thrown error is retryable by construction (the use case returns permanent failures): batch item failure.
 * Then metrics, and the scanner's enqueue mark is cleared (best effort: it also expires by block). After the
 * batch: nonce gap repair for every signer and the signers' balances as a metric (SignerBalanceEth).
 * Best-effort steps of the execution and the gap repair that fail (breaker update, lease updates, receipt polls)
 * are logged as warnings and counted (functions/pipeline/best-effort.ts: BreakerUpdateFailures, …).
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
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { BaseWallet, type JsonRpcProvider, SigningKey } from 'ethers';
import { createDocumentClient, createDynamoDbClient, createKmsClient, createSqsClient } from '../adapters/aws/clients';
import { NoLiquidatorContractError, liquidatorAddressFromConfig } from '../adapters/chain/liquidator-address';
import { EthersLiquidatorContract } from '../adapters/chain/liquidator-contract';
import { UniswapV3Quoter } from '../adapters/chain/uniswap-v3-quoter';
import { FlashbotsBundleRelay } from '../adapters/chain/flashbots-bundle-relay';
import { oracleUpdateFollower } from '../adapters/chain/oracle-update-follower';
import type { BundleRelay } from '../ports/bundle-relay';
import type { LiquidatorContract } from '../ports/liquidator-contract';
import { aaveV3ExecutionProtocol } from '../adapters/chain/aave-v3-protocol';
import { ethersChainGateway } from '../adapters/chain/ethers-chain-gateway';
import { KmsSigner } from '../adapters/chain/kms-signer';
import { EthersSignerAdapter, LocalKeySigner } from '../adapters/chain/local-signer';
import { privateProviderFromConfig, providerFromConfig } from '../adapters/chain/rpc';
import { ethersStartupChain } from '../adapters/chain/startup-chain';
import { checkStartupOrClose, marketExpectations } from '../config/startup-check';
import { type DeadLetterQueue, SqsDeadLetter } from '../adapters/queue/sqs-dead-letter';
import { type Redelivery, redeliveryDelaySec, SqsRedelivery } from '../adapters/queue/sqs-redelivery';
import { DynamoDbEnqueueMarks } from '../adapters/store/dynamodb-enqueue-marks';
import { DynamoDbExecutionBreakers } from '../adapters/store/dynamodb-execution-breakers';
import { DynamoDbLiquidationLedger } from '../adapters/store/dynamodb-liquidation-ledger';
import { DynamoDbNonceLeases } from '../adapters/store/dynamodb-nonce-leases';
import { loadWorkerConfig, type WorkerConfig } from '../config/pipeline-config';
import type { BorrowerStore } from '../ports/borrower-store';
import { type Clock, systemClock } from '../ports/clock';
import {
  type CandidateMessage,
  decodeCandidateMessage,
  deduplicationIdOf,
  MalformedMessageError,
  marketKeyOf,
  type OracleUpdateRef,
} from '../pipeline/candidate-message';
import { type BestEffort, reportingBestEffort } from '../pipeline/best-effort';
import {
  executeCandidate,
  followerDeps,
  type ExecuteCandidateDeps,
  type ExecuteCandidateInput,
  type ExecutionResult,
  sizingStrategyFor,
} from '../pipeline/execute-candidate';
import { type ExecutionBatchSession, executionBatchSession } from '../pipeline/batch-execution';
import { notYetDue, restCandidateOf } from '../pipeline/chunk-rest';
import { saleRecheckBlock } from '../pipeline/sale-recheck';
import { messageOf } from '../pipeline/execution-failures';
import { SqsCandidateQueue } from '../adapters/queue/sqs-candidate-queue';
import type { CandidateQueue } from '../ports/candidate-queue';
import type { ExecutionFaults } from '../pipeline/execution-faults';
import { decodePlan } from '../pipeline/execution-plan';
import { type GapChain, type NonceGapRepair, repairNonceGaps } from '../pipeline/nonce-gaps';
import { createSendLane } from '../pipeline/send-lane';
import type { ExecutionBreakers } from '../ports/circuit-breakers';
import type { ChainGateway, Signer } from '../ports/transactions';
import { classifyWorkerFailure } from '../adapters/failure-classification';
import { createObservability } from './observability';

export const WORKER_SERVICE_NAME = 'liquidation-worker';

/** What one record came to; `replayed`: returned from the idempotency store, not executed again. */
export type RecordOutcome = (ExecutionResult & { replayed?: true }) | { kind: 'rejected'; reason: string };

export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface WorkerDependencies {
  /** `chainId#pool` (WorkerConfig.marketKey): candidates for another market are rejected. */
  marketKey: string;
  execute(input: ExecuteCandidateInput): Promise<ExecutionResult>;
  /**
   * A batch session per invocation (functions/pipeline/batch-execution.ts): the invocation's candidates that are
   * claimed and planned at about the same time go out as one `liquidateBatch` transaction. Absent: one each.
   */
  /**
   * A batch session for `participants` records of one invocation; with `follows`, for records following that
   * pending oracle update (undefined when the update is no longer pending: those records join the plain session).
   */
  openBatch?: (participants: number, follows?: OracleUpdateRef) => Promise<ExecutionBatchSession | undefined>;
  deadLetter: DeadLetterQueue;
  /** Used by this handler's idempotent function only (Powertools: one persistence layer per function). */
  idempotencyStore: BasePersistenceLayer;
  /** Clears the scanner's enqueue mark, or brings it forward; optional until the DynamoDB borrower store is wired. */
  borrowers?: Pick<BorrowerStore, 'clearEnqueued' | 'shortenEnqueued'>;
  /** The enqueue mark's full length (SCANNER_REENQUEUE_AFTER_BLOCKS): the longest a sale-priced-out skip waits. */
  reenqueueAfterBlocks?: number;
  /** The queue's maxReceiveCount: a record failing on this delivery is dead-lettered by SQS. */
  maxReceiveCount: number;
  /** Brings a failed record back after a short back-off instead of the queue's visibility timeout. */
  redelivery?: Redelivery;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** Longest wait for one receipt (ms), also bounded by the invocation's remaining time; default 30 s. */
  receiptTimeoutMs?: number;
  /** Called with every record's outcome (tests, local demo). */
  onOutcome?: (outcome: RecordOutcome, record: SQSRecord) => void;
  /**
   * Where the rest of a chunked liquidation goes (functions/pipeline/chunk-rest.ts): a candidate due a block
   * after the chunk. Absent: the scanner offers the account again at its next detection.
   */
  candidates?: CandidateQueue;
  /** The chain's head: a candidate due at a later block (`notBeforeBlock`) is left to the queue until then. */
  latestBlock?: () => Promise<number>;
  /** The chain's block time (ms): how long such a candidate waits per block; default 12 s. */
  blockTimeMs?: number;
  /** Upkeep after each batch (nonce gap repair, signer balance metrics); its failure is logged, never fails the batch. */
  afterBatch?: () => Promise<void>;
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

/** A candidate due at a later block (the rest of a chunk): left to the queue, nothing read or claimed. */
export class NotYetDueError extends Error {
  readonly retryable = true;
  constructor(
    readonly notBeforeBlock: number,
    readonly blocksLeft: number,
  ) {
    super(`due at block ${notBeforeBlock}, ${blocksLeft} block(s) from now: left to the queue`);
    this.name = 'NotYetDueError';
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
  const { maxReceiveCount } = deps;
  /**
   * Best effort: the mark also expires after SCANNER_REENQUEUE_AFTER_BLOCKS, so failing here only delays the next
   * candidate for this borrower; it must not turn a finished liquidation into a retry.
   */
  const clearEnqueueMark = (borrower: string): Promise<void> | undefined =>
    deps.borrowers?.clearEnqueued(deps.marketKey, borrower).catch((error: unknown) => {
      logger.warn('could not clear the enqueue mark', { error: error as Error });
    });
  /** Best effort as well: without it the borrower is offered again when the full mark expires. */
  const shortenEnqueueMark = (borrower: string, untilBlock: number): Promise<void> | undefined =>
    deps.borrowers?.shortenEnqueued?.(deps.marketKey, borrower, untilBlock).catch((error: unknown) => {
      logger.warn('could not bring the enqueue mark forward', { error: error as Error, untilBlock });
    });

  const idempotency = new IdempotencyConfig({
    // The FIFO deduplication id (chain#pool#borrower#block as the scanner sets it, or whatever the sender set).
    eventKeyJmesPath: 'attributes.MessageDeduplicationId',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: IDEMPOTENCY_EXPIRY_SEC,
    // Only runs for a result read back from the store: marks it so it is not counted twice.
    responseHook: (response) => ({ ...(response as object), replayed: true }),
  });
  const executeOnce = makeIdempotent(
    // The key is the record's (argument 0); the batch session only says whom the candidate may share a transaction with.
    (record: SQSRecord, message: CandidateMessage, receiptDeadlineMs: number, batch: ExecutionBatchSession | undefined): Promise<ExecutionResult> =>
      deps.execute({ message, attempt: record.messageId, receiptDeadlineMs, ...(batch ? { batch } : {}) }),
    { persistenceStore: deps.idempotencyStore, config: idempotency },
  );

  const blockTimeMs = deps.blockTimeMs ?? 12_000;
  /**
   * A mined chunk (incremental reduction): the rest goes back on the queue as a candidate due a block later. Best
   * effort: if it cannot be published, the scanner offers the account again at its next detection.
   */
  const offerTheRest = async (message: CandidateMessage, outcome: RecordOutcome): Promise<void> => {
    if (outcome.kind !== 'mined') return;
    const rest = restCandidateOf(message, outcome);
    if (!rest) return;
    const published = await deps.candidates?.publish([rest]).catch((error: unknown) => ({ sent: 0, failed: [{ message: rest, reason: messageOf(error) }] }));
    if (published && published.failed.length > 0) {
      metrics.addMetric('ChunkRestPublishFailures', MetricUnit.Count, 1);
      logger.warn('the rest of a chunked liquidation could not be queued: the scanner will offer the account again', { reason: published.failed[0].reason });
    } else if (published) {
      logger.info('chunk mined: the rest is queued', { notBeforeBlock: rest.notBeforeBlock, detectedBlock: rest.detectedBlock });
    }
  };

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
        // Other skip reasons are in the log line only (no alarm or graph reads them).
        if (outcome.reason === 'unprofitable') count('SkippedUnprofitable');
        logger.info('candidate skipped', { block: outcome.block, reason: outcome.reason, detail: outcome.detail });
        return;
      case 'dry-run':
        logger.info('dry run: liquidation planned and simulated, not sent', { block: outcome.block, plan: outcome.plan });
        return;
      case 'in-flight':
        logger.info('another attempt holds this position: nothing sent', { heldBy: outcome.heldBy });
        return;
      case 'paused':
        count('CircuitBreakerOpen');
        logger.warn('execution paused by a circuit breaker: nothing sent', { reason: outcome.reason, detail: outcome.detail });
        return;
      case 'dropped':
        count('LiquidationsDropped');
        logger.warn('liquidation dropped: its nonce was used by another transaction', { txHash: outcome.txHash, detail: outcome.detail });
        return;
      case 'mined':
        count('LiquidationsSent');
        count('LiquidationsMined');
        metrics.addMetric('ProfitUsd', MetricUnit.NoUnit, baseToUsd(decodePlan(outcome.plan, `result of ${outcome.opportunity}`).profitBase));
        metrics.addMetric('DetectionLatencyBlocks', MetricUnit.Count, Math.max(0, outcome.minedBlock - message.firstLiquidatableBlock));
        logger.info('liquidation mined', { txHash: outcome.txHash, minedBlock: outcome.minedBlock, gasUsed: outcome.gasUsed, plan: outcome.plan, realized: outcome.realized });
        return;
      case 'reverted':
        count('LiquidationsSent');
        if (outcome.revertClass === 'market-moved') {
          // Someone moved the market between the plan and the block: not our sizing (the revert-rate alarm ignores it).
          count('LiquidationsRevertedByMarket');
          logger.warn('liquidation reverted: the market moved before it landed', { txHash: outcome.txHash, minedBlock: outcome.minedBlock, reason: outcome.reason });
          return;
        }
        count('LiquidationsReverted');
        logger.error('liquidation reverted on chain', { txHash: outcome.txHash, minedBlock: outcome.minedBlock, reason: outcome.reason, plan: outcome.plan });
        return;
      case 'failed':
        count('FailedCandidates');
        logger.error('candidate failed permanently', { stage: outcome.stage, reason: outcome.reason });
        return;
    }
  };

  const processRecord = async (record: SQSRecord, decoded: Decoded, context: Context, batch: ExecutionBatchSession | undefined): Promise<RecordOutcome> => {
    try {
      return await processCandidate(record, decoded, context, batch);
    } finally {
      // However the record ended (rejected, replayed, no liquidation, failed), the batch no longer waits for it.
      batch?.leave(record.messageId);
    }
  };

  const processCandidate = async (record: SQSRecord, decoded: Decoded, context: Context, batch: ExecutionBatchSession | undefined): Promise<RecordOutcome> => {
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
      if (message.notBeforeBlock !== undefined && deps.latestBlock) {
        const due = notYetDue(message, await deps.latestBlock());
        if (due.kind === 'not-yet-due') throw new NotYetDueError(due.notBeforeBlock, due.blocksLeft);
      }
      const receiptDeadlineMs = clock.nowMs() + Math.min(receiptTimeoutMs, remainingMs - DEADLINE_MARGIN_MS);
      const outcome: RecordOutcome = await executeOnce(record, message, receiptDeadlineMs, batch);
      report(outcome, message);
      deps.onOutcome?.(outcome, record);
      // The scanner enqueues a borrower again once its mark is cleared. Kept: an in-flight position (the attempt
      // that holds it clears the mark when it ends) and a lasting skip (unprofitable, or not liquidatable as the
      // protocol stands: offered again when the mark expires, not every block). A skip because the market moved
      // under the plan (the pool past its bound, the account touched in between) clears it: the next detection
      // offers the account again, instead of leaving it liquidatable until the mark expires.
      // An unprofitable skip that only the pool's price made so (pricedOutBySale) keeps its mark, brought forward
      // to a second look within a few blocks (sale-recheck.ts).
      const keepsMark = outcome.kind === 'in-flight' || (outcome.kind === 'skipped' && outcome.reason !== 'market-moved');
      if (!keepsMark) await clearEnqueueMark(message.borrower);
      else if (outcome.kind === 'skipped' && outcome.pricedOutBySale && deps.reenqueueAfterBlocks !== undefined) {
        await shortenEnqueueMark(message.borrower, saleRecheckBlock(outcome.block, message.firstLiquidatableBlock, deps.reenqueueAfterBlocks));
      }
      if (!('replayed' in outcome && outcome.replayed)) await offerTheRest(message, outcome);
      return outcome;
    } catch (error) {
      if (error instanceof NotYetDueError) {
        // Not a failure: the message waits in the queue until its block (best effort: else the visibility timeout).
        logger.info('candidate not yet due: left to the queue', { notBeforeBlock: error.notBeforeBlock, blocksLeft: error.blocksLeft });
        await deps.redelivery?.retryAfter(record.receiptHandle, Math.max(1, Math.ceil((error.blocksLeft * blockTimeMs) / 1000))).catch((visibilityError: unknown) => {
          logger.warn('could not shorten the redelivery delay', { error: visibilityError as Error });
        });
        throw error;
      }
      const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
      if (receiveCount < maxReceiveCount) {
        const retryAfterSec = redeliveryDelaySec(receiveCount);
        logger.warn('candidate failed, left to SQS for redelivery', { error: error as Error, receiveCount, retryAfterSec });
        // Best effort: without it the record comes back when the visibility timeout ends.
        await deps.redelivery?.retryAfter(record.receiptHandle, retryAfterSec).catch((visibilityError: unknown) => {
          logger.warn('could not shorten the redelivery delay', { error: visibilityError as Error });
        });
        throw error;
      }
      // The last delivery: SQS dead-letters this record. The borrower may still be liquidatable, so the enqueue
      // mark is cleared and the scanner offers a fresh candidate at its next block instead of after the mark's
      // expiry. Only here, not on every failure: that would add a message per failed delivery while a fault lasts.
      logger.error('candidate failed on its last delivery: dead-lettered, the scanner will offer the borrower again', {
        error: error as Error,
        receiveCount,
      });
      metrics.addMetric('DeadLetteredCandidates', MetricUnit.Count, 1);
      await clearEnqueueMark(message.borrower);
      throw error;
    } finally {
      logger.removeKeys(['borrower', 'opportunity']);
    }
  };

  const handle = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // The in-progress idempotency record expires with the invocation, so a crashed attempt can be redone.
    idempotency.registerLambdaContext(context);
    const processor = new BatchProcessor(EventType.SQS);
    // Records following the same pending oracle update share a session whose batches are read and priced with
    // it applied; the others (and those whose update is no longer pending) share the plain one.
    const follows = new Map<string, { update: OracleUpdateRef; records: string[] }>();
    const decodedOf = new Map(event.Records.map((record) => [record.messageId, decodeForMarket(record.body, deps.marketKey)]));
    for (const record of event.Records) {
      const decoded = decodedOf.get(record.messageId)!;
      const update = decoded.kind === 'candidate' ? decoded.message.oracleUpdate : undefined;
      if (!update) continue;
      const group = follows.get(update.txHash) ?? { update, records: [] };
      group.records.push(record.messageId);
      follows.set(update.txHash, group);
    }
    const sessionOf = new Map<string, ExecutionBatchSession | undefined>();
    let plain = event.Records.length;
    for (const { update, records } of follows.values()) {
      const session = await deps.openBatch?.(records.length, update).catch((error: unknown) => {
        logger.warn('could not open a batch following the oracle update: its candidates go alone', { txHash: update.txHash, error: error as Error });
        return undefined;
      });
      if (!session) continue;
      plain -= records.length;
      for (const id of records) sessionOf.set(id, session);
    }
    const plainBatch = plain > 0 ? await deps.openBatch?.(plain) : undefined;
    const response = await processPartialResponse(
      event,
      (record: SQSRecord) => processRecord(record, decodedOf.get(record.messageId)!, context, sessionOf.has(record.messageId) ? sessionOf.get(record.messageId) : plainBatch),
      processor,
      { context, processInParallel: true },
    );
    await deps.afterBatch?.().catch((error: unknown) => logger.warn('upkeep after the batch failed', { error: error as Error }));
    return response;
  };

  return middy(handle)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

// ── Wiring ─────────────────────────────────────────────────────────────────────────────────────────────────

/** The configured keys as Signer ports: local keys (chain 31337 only, see pipeline-config.ts) or AWS KMS keys. */
async function signersFor(config: WorkerConfig): Promise<Signer[]> {
  const signer = config.worker.signer!;
  if (signer.mode === 'local') return signer.privateKeys.map((key) => new LocalKeySigner(key));
  const client = createKmsClient(config);
  // The address comes from GetPublicKey once per key and execution environment (KmsSigner caches it).
  return Promise.all(
    signer.keyIds.map(async (keyId) => {
      const kms = new KmsSigner({ client, keyId });
      return new EthersSignerAdapter(await kms.getAddress(), kms);
    }),
  );
}

export interface WorkerOverrides {
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
  borrowers?: Pick<BorrowerStore, 'clearEnqueued'>;
  /** Gas of the contract call assumed before simulation; default 500k. */
  assumedGasPerStep?: bigint;
  receiptTimeoutMs?: number;
  onOutcome?: WorkerDependencies['onOutcome'];
  /** Fault injection (chaos tests): stops an execution at a named step. */
  faults?: ExecutionFaults;
}

export interface ExecutionOverrides {
  /**
   * Start without a liquidator contract (the trigger, which deploys one): executions then fail with
   * NoLiquidatorContractError. The worker always needs one and fails at start-up without it.
   */
  liquidatorOptional?: boolean;
  clock?: Clock;
  /** Gas of the contract call assumed before simulation; default 500k. */
  assumedGasPerStep?: bigint;
  faults?: ExecutionFaults;
  /** Receives the reason whenever the private endpoint fails and the public RPC takes a transaction. */
  onPrivateFallback?: (reason: string) => void;
  /** Receives the reason whenever the bundle relay refuses a bundle and the liquidation goes public. */
  onBundleRefused?: (reason: string) => void;
  /** Receives each problem the start-up check reports without refusing the start (a signer without gas money). */
  onStartupWarning?: (warning: string) => void;
  /** Receives the node's refusal when a lens (positions, quotes) falls back to one eth_call per read (once per lens). */
  onLensFallback?: (reason: string) => void;
}

/** The bundle relay of the configuration, with its auth key (local key, or from Secrets Manager). */
async function bundleRelayFromConfig(config: WorkerConfig): Promise<BundleRelay | undefined> {
  const relay = config.worker.bundleRelay;
  if (!relay) return undefined;
  const key = 'key' in relay.authKey ? relay.authKey.key : await getSecret(relay.authKey.secretName, { maxAge: 300 });
  if (typeof key !== 'string' || !/^(0x)?[0-9a-fA-F]{64}$/.test(key)) throw new Error('the bundle relay auth key secret is not a 32-byte hex private key');
  return new FlashbotsBundleRelay({ url: relay.url, authSigner: new BaseWallet(new SigningKey(key.startsWith('0x') ? key : `0x${key}`)) });
}

/** Everything but where best-effort failures go: each handler wires its own logger and metrics (reportingBestEffort). */
export type ExecutionDeps = Omit<ExecuteCandidateDeps, 'bestEffort'> & {
  /** The market's execution breakers and kill switch (also flipped and read by the trigger). */
  breakers: ExecutionBreakers;
  provider: JsonRpcProvider;
  /** Fills or re-broadcasts nonces left open by crashed attempts, for every signer (worker, after each batch). */
  repairNonceGaps(bestEffort: BestEffort): Promise<NonceGapRepair[]>;
  close(): void;
};

/**
 * The use case's adapters for a configuration loaded with 'ledger', 'nonceLeases' and 'signer'. Shared by the
 * worker and the manual trigger (handlers/trigger.ts): both claim in the same ledger, lease nonces from the same
 * table and sign with the same keys, so a triggered liquidation and a queued candidate for the same
 * opportunity can never both send. `close` releases the RPC providers (tests, scripts).
 */
export async function executeCandidateDepsFromConfig(config: WorkerConfig, overrides: ExecutionOverrides = {}): Promise<ExecutionDeps> {
  const { ledger: ledgerTable, nonceLeases: nonceTable, keeperState: keeperStateTable } = config.tables;
  const nativePriceAsset = config.worker.nativePriceAsset;
  if (!ledgerTable) throw new Error('executing candidates needs the ledger (LEDGER_TABLE)');
  if (!nonceTable) throw new Error('executing candidates needs the nonce leases (NONCE_LEASES_TABLE)');
  if (!keeperStateTable) throw new Error('executing candidates needs the kill switch and breakers (KEEPER_STATE_TABLE)');
  if (!config.worker.signer || !nativePriceAsset) throw new Error('executing candidates needs a signer (SIGNER_MODE, NATIVE_PRICE_ASSET)');
  const [signers, provider, privateProvider] = await Promise.all([signersFor(config), providerFromConfig(config), privateProviderFromConfig(config)]);
  // The lending protocol's reads, wired once (functions/ports/lending-protocol.ts); a lens the node refuses falls
  // back to per-call reads, said once.
  const market = { pool: config.pool, ruleSet: config.ruleSet, version: config.poolVersion };
  const readOptions = { nativePriceAsset, onLensFallback: overrides.onLensFallback };
  const protocolReads = aaveV3ExecutionProtocol(provider, market).executionReads(readOptions);
  const quoterOptions = { feeTiers: config.worker.swap.feeTiers, routes: config.worker.swap.routes, onFallback: overrides.onLensFallback };
  const liquidator = await liquidatorAddressFromConfig(config, provider).then(
    (address): LiquidatorContract => new EthersLiquidatorContract(provider, address, { gasHeadroomBps: config.worker.gasHeadroomBps }),
    (error: unknown) => {
      if (overrides.liquidatorOptional && error instanceof NoLiquidatorContractError) return missingLiquidatorContract(error);
      provider.destroy();
      privateProvider?.destroy();
      throw error;
    },
  );
  const closeProviders = () => {
    provider.destroy();
    privateProvider?.destroy();
  };
  const liquidatorSource = config.worker.liquidator && 'address' in config.worker.liquidator ? 'LIQUIDATOR_ADDRESS' : 'LIQUIDATOR_ADDRESS_PARAMETER';
  // The trigger may start before a contract is deployed (liquidatorOptional): nothing to check then.
  const hasLiquidator = ((): string | undefined => {
    try {
      return liquidator.address;
    } catch {
      return undefined;
    }
  })();
  const startup = await checkStartupOrClose(
    {
      ...marketExpectations(config),
      nativePriceAsset,
      quoter: config.worker.swap.quoter,
      router: config.worker.swap.router,
      ...(hasLiquidator ? { liquidator: { address: hasLiquidator, source: liquidatorSource } } : {}),
      signers: signers.map((s) => s.address),
      // The trigger authorises signers (deploy-liquidator): it must be able to start to do so.
      unauthorisedSigners: overrides.liquidatorOptional ? 'warn' : 'refuse',
      dryRun: config.worker.dryRun,
    },
    ethersStartupChain(provider),
    closeProviders,
  );
  for (const warning of startup.warnings) overrides.onStartupWarning?.(warning);
  const documents = createDocumentClient(config);
  const clock = overrides.clock ?? systemClock;
  const chain = ethersChainGateway(provider, { privateProvider, onPrivateFallback: overrides.onPrivateFallback });
  const nonces = new DynamoDbNonceLeases(documents, nonceTable, { leaseMs: config.worker.nonceLeaseMs });
  const lanes = new Map(signers.map((signer) => [signer.address, createSendLane()]));
  const chainId = BigInt(config.chainId);
  const relay = await bundleRelayFromConfig(config);
  // A candidate following a pending oracle update reads through the same adapters on a provider that applies it.
  const readersOn = (on: JsonRpcProvider) => ({
    ...aaveV3ExecutionProtocol(on, market).executionReads(readOptions),
    liquidator: new EthersLiquidatorContract(on, liquidator.address, { gasHeadroomBps: config.worker.gasHeadroomBps }),
    quoter: new UniswapV3Quoter(on, config.worker.swap.quoter!, quoterOptions),
  });
  return {
    oracleUpdates: oracleUpdateFollower(provider, { readersOn, ...(relay ? { relay } : {}), onBundleRefused: overrides.onBundleRefused }),
    // One lane per signer and process: concurrent records lease, sign and broadcast one at a time per key.
    sendLane: (address) => lanes.get(address) ?? createSendLane(),
    ...protocolReads,
    liquidator,
    quoter: new UniswapV3Quoter(provider, config.worker.swap.quoter!, quoterOptions),
    explainRevert: (txHash) => liquidator.revertOf(txHash),
    chain,
    signers,
    ledger: new DynamoDbLiquidationLedger(documents, ledgerTable),
    nonces,
    breakers: new DynamoDbExecutionBreakers(documents, keeperStateTable, { scope: config.marketKey, ...config.worker.breakers }),
    clock,
    classifyFailure: classifyWorkerFailure,
    settings: {
      chainId,
      sizing: sizingStrategyFor(config.worker.sizing, config.worker.targetHealthFactorWad, config.worker.maxPriceImpactBps),
      ruleSet: config.ruleSet,
      funding: config.worker.funding,
      maxSlippageBps: config.worker.maxSlippageBps,
      followerSlippageBps: config.worker.followerSlippageBps,
      swapCostBps: config.worker.swapCostBps,
      minProfitBase: config.worker.minProfitBase,
      assumedGasPerStep: overrides.assumedGasPerStep ?? 500_000n,
      fees: config.worker.fees,
      maxPendingPerSigner: config.worker.maxPendingPerSigner,
      batchBoundsFromPending: config.worker.batchBoundsFromPending,
      dryRun: config.worker.dryRun,
    },
    faults: overrides.faults,
    provider,
    repairNonceGaps: (bestEffort) =>
      Promise.all(
        signers.map((signer) =>
          lanes.get(signer.address)!.run(() =>
            repairNonceGaps(
              { chain: gapChain(chain, provider), signer, nonces, clock, settings: { chainId, staleAfterMs: config.worker.fees.replaceAfterMs }, bestEffort },
              signer.address,
            ),
          ),
        ),
      ),
    close: () => {
      provider.destroy();
      privateProvider?.destroy();
    },
  };
}

/** Stands in for the contract until one is deployed (trigger only): every use fails with the reason. */
function missingLiquidatorContract(error: NoLiquidatorContractError): LiquidatorContract {
  const fail = (): never => {
    throw error;
  };
  return {
    get address(): string {
      return fail();
    },
    buildTransaction: fail,
    simulate: fail,
    liquidationsIn: fail,
    revertOf: fail,
  };
}

/** The gap repair's view of the chain: the worker's gateway plus the node's pending nonce. */
function gapChain(chain: ChainGateway, provider: JsonRpcProvider): GapChain {
  return {
    confirmedNonce: (address) => chain.confirmedNonce(address),
    pendingNonce: (address) => provider.getTransactionCount(address, 'pending'),
    broadcast: (raw) => chain.broadcast(raw),
    feesNow: async () => chain.feesAfter(await chain.latestBlock()),
  };
}

/** Config → adapters → handler. Reads the environment once; fails with every missing or bad variable named. */
export async function workerFromEnvironment(env: Record<string, string | undefined>, overrides: WorkerOverrides = {}): Promise<WorkerHandler> {
  // 'signer' makes SIGNER_MODE (and with it NATIVE_PRICE_ASSET) required.
  const config = loadWorkerConfig(env, ['ledger', 'nonceLeases', 'keeperState', 'idempotency', 'candidatesQueue', 'candidatesDlq', 'signer']);
  const deadLetterQueueUrl = config.candidatesDlqUrl!;
  const clock = overrides.clock ?? systemClock;
  const observability = overrides.logger && overrides.metrics ? undefined : createObservability(WORKER_SERVICE_NAME, config.marketName);
  const logger = overrides.logger ?? observability!.logger;
  const metrics = overrides.metrics ?? observability!.metrics;
  const bestEffort = reportingBestEffort(logger, metrics);
  const executeDeps = await executeCandidateDepsFromConfig(config, {
    clock,
    assumedGasPerStep: overrides.assumedGasPerStep,
    faults: overrides.faults,
    onPrivateFallback: (reason) => {
      metrics.addMetric('PrivateSubmissionFallbacks', MetricUnit.Count, 1);
      logger.warn('private submission failed: sent through the public RPC', { reason });
    },
    onBundleRefused: (reason) => {
      metrics.addMetric('PrivateSubmissionFallbacks', MetricUnit.Count, 1);
      logger.warn('bundle relay refused the bundle: the liquidation following the oracle update went through the public RPC', { reason });
    },
    // The low-balance alarm reads SignerBalanceEth, emitted after every batch.
    onStartupWarning: (warning) => logger.warn('start-up check', { warning }),
    onLensFallback: (reason) => {
      metrics.addMetric('LensFallbacks', MetricUnit.Count, 1);
      logger.warn('the node refused a lens call: read with one eth_call per item from now on', { reason });
    },
  });
  const documents = createDocumentClient(config);
  const sqs = createSqsClient(config);
  // Optional: without BORROWERS_TABLE the scanner's enqueue mark simply expires by block.
  const borrowers = overrides.borrowers ?? (config.tables.borrowers ? new DynamoDbEnqueueMarks(documents, config.tables.borrowers) : undefined);
  return createWorkerHandler({
    marketKey: config.marketKey,
    execute: (input) => executeCandidate({ ...executeDeps, bestEffort }, input),
    ...(config.worker.maxBatchSize > 1
      ? {
          openBatch: async (participants: number, follows?: OracleUpdateRef) => {
            const base = { ...executeDeps, bestEffort };
            if (!follows) return executionBatchSession(base, { participants, maxBatchSize: config.worker.maxBatchSize });
            const following = await followerDeps(base, { oracleUpdate: follows });
            return following && executionBatchSession(following, { participants, maxBatchSize: config.worker.maxBatchSize, follows: follows.txHash });
          },
        }
      : {}),
    deadLetter: new SqsDeadLetter(sqs, deadLetterQueueUrl),
    redelivery: new SqsRedelivery(sqs, config.candidatesQueueUrl!),
    candidates: new SqsCandidateQueue(sqs, config.candidatesQueueUrl!),
    latestBlock: () => executeDeps.chain.latestBlock(),
    blockTimeMs: config.worker.blockTimeSec * 1000,
    idempotencyStore: new DynamoDBPersistenceLayer({ tableName: config.tables.idempotency!, awsSdkV3Client: createDynamoDbClient(config) }),
    borrowers,
    reenqueueAfterBlocks: config.scanner.reenqueueAfterBlocks,
    maxReceiveCount: config.worker.maxReceiveCount,
    logger,
    metrics,
    clock,
    receiptTimeoutMs: overrides.receiptTimeoutMs,
    onOutcome: overrides.onOutcome,
    afterBatch: async () => {
      const repairs = await executeDeps.repairNonceGaps(bestEffort);
      for (const repair of repairs) {
        const repaired = repair.rebroadcast.length + repair.filled.length;
        if (repaired > 0) {
          logger.warn('nonce gaps repaired', { rebroadcast: repair.rebroadcast, filled: repair.filled, skipped: repair.skipped });
        }
      }
      for (const signer of executeDeps.signers) {
        const balanceWei = await executeDeps.provider.getBalance(signer.address);
        // For the low-balance alarm only (EMF values are numbers); milli-ether precision is plenty.
        metrics.addMetric('SignerBalanceEth', MetricUnit.NoUnit, Number(balanceWei / 10n ** 15n) / 1000);
      }
    },
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
