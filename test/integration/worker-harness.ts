/**
 * The worker on the local world, as the chaos and batch tests drive it: a world with services, the worker wired
 * from the environment as on Lambda, candidates and SQS records built as the scanner and the event source build
 * them, and checks on chain (not a test file: Jest matches *.test.ts only).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { Contract, type EventLog } from 'ethers';
import { DynamoDbLiquidationLedger } from '../../functions/adapters/store/dynamodb-liquidation-ledger';
import { type WorkerHandler, workerFromEnvironment, type WorkerOverrides } from '../../functions/handlers/worker';
import { type CandidateMessage, deduplicationIdOf, encodeCandidateMessage, messageGroupIdOf } from '../../functions/pipeline/candidate-message';
import { localPipelineEnv } from '../../local/runtime/pipeline-env';
import { localLambdaContext } from '../../local/runtime/sqs-event-source';
import { localDynamoDbClient } from '../../local/world/resources';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';
import { POOL_ABI, RecordingMetrics } from './support';

export const WAD = 10n ** 18n;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Harness {
  world: World;
  env: Record<string, string>;
  pool: Contract;
  ledger: DynamoDbLiquidationLedger;
  liquidator: string;
  documents: DynamoDBDocumentClient;
}

export async function harness(prefix: string, blockTimeSec: number, overrides: Record<string, string> = {}, scenario = 'default'): Promise<Harness> {
  const world = await startWorld({ scenario: { ...loadScenario(scenario), aave: 'v3.6' }, blockTimeSec, services: true, resourcePrefix: prefix });
  const env = localPipelineEnv(world.info, { overrides });
  const documents = DynamoDBDocumentClient.from(localDynamoDbClient(world.info.dynamodb!.endpoint));
  return {
    world,
    env,
    pool: new Contract(world.info.market.pool, POOL_ABI, world.provider),
    ledger: new DynamoDbLiquidationLedger(documents, env.LEDGER_TABLE),
    liquidator: world.info.accounts.liquidators[0],
    documents,
  };
}

export function quietWorker(h: Harness, overrides: WorkerOverrides = {}, env: Record<string, string> = h.env): Promise<WorkerHandler> {
  return workerFromEnvironment(env, {
    logger: new Logger({ serviceName: 'liquidation-worker', logLevel: (process.env.WORKER_LOG_LEVEL ?? 'SILENT') as 'SILENT' }),
    metrics: new RecordingMetrics({ namespace: 'LiquidationPipeline', serviceName: 'liquidation-worker' }),
    ...overrides,
  });
}

/**
 * Borrowers with HF < 1 and collateral left at `block`. An account whose getUserAccountData reverts (an
 * arithmetic panic seen on a few accounts after deep price drops; the scanner isolates such accounts the same
 * way, health-scan.ts) cannot be liquidated either and is left out.
 */
export async function liquidatableAt(h: Harness, block: number): Promise<string[]> {
  const found: string[] = [];
  for (const { address } of h.world.info.borrowers) {
    const data = await h.pool.getUserAccountData(address, { blockTag: block }).catch(() => undefined);
    if (data && (data.healthFactor as bigint) < WAD && (data.totalCollateralBase as bigint) > 0n) found.push(address);
  }
  return found;
}

export function candidate(h: Harness, borrower: string, block: number): CandidateMessage {
  return { version: 1, chainId: h.world.info.chainId, pool: h.world.info.market.pool, borrower, detectedBlock: block, healthFactorWad: (WAD - 1n).toString(), firstLiquidatableBlock: block, source: 'scanner' };
}

/** A record as the event source builds it; `copy` makes a distinct delivery (message id and dedup id) of the same opportunity. */
export function recordOf(message: CandidateMessage, copy: string): SQSRecord {
  return {
    messageId: `${message.borrower}-${message.detectedBlock}-${copy}`,
    receiptHandle: copy,
    body: encodeCandidateMessage(message),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'chaos',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: messageGroupIdOf(message),
      MessageDeduplicationId: `${deduplicationIdOf(message)}#${copy}`,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:chaos.fifo',
    awsRegion: 'us-east-1',
  };
}

/** Invokes, and returns the records that failed (a batch that failed whole fails every record). */
export async function invoke(worker: WorkerHandler, records: SQSRecord[]): Promise<SQSRecord[]> {
  let response: SQSBatchResponse;
  try {
    response = await worker({ Records: records }, localLambdaContext('liquidation-worker', 60_000));
  } catch {
    return records;
  }
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  return records.filter((r) => failed.has(r.messageId));
}

/** Liquidations of `user` after the shock mined in `shockBlock` (the shock's own block holds none of ours). */
export async function liquidationsOf(h: Harness, user: string, shockBlock: number): Promise<EventLog[]> {
  return (await h.pool.queryFilter(h.pool.filters.LiquidationCall(null, null, user), shockBlock, 'latest')) as EventLog[];
}

export async function expectNoStuckNonce(h: Harness, address: string): Promise<void> {
  const [pending, latest] = await Promise.all([h.world.provider.getTransactionCount(address, 'pending'), h.world.provider.getTransactionCount(address, 'latest')]);
  expect({ address, pending }).toEqual({ address, pending: latest });
}

