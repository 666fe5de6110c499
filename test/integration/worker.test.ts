/**
 * The worker on the local world (anvil + a real Aave v3.6 market, DynamoDB Local, fauxqs), wired from the
 * environment exactly as on Lambda (`workerFromEnvironment`), fed by the local SQS event source emulation:
 *   1. after a price shock, a candidate per liquidatable borrower → each liquidated on chain, `mined` in the ledger;
 *   2. one candidate delivered twice (two dedup ids) → one transaction; a transaction still pending at the
 *      deadline → the record fails, its redelivery resumes it from the ledger; the same record again → replayed;
 *   3. a malformed message among good ones → DLQ with a `rejectReason` naming the field, the others succeed;
 *   4. a candidate that is healthy by the time the worker reads it → `stale`, nothing sent.
 * Also the adapters on their own: the ledger's claim and transaction rules, the chain gateway's broadcast
 * answers, the candidate queue's batching, and a DLQ that cannot be reached failing only the rejected record.
 */
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import { Contract } from 'ethers';
import { LocalKeySigner } from '../../functions/adapters/chain/local-signer';
import { createJsonRpcProvider, latestBlockNumber } from '../../functions/adapters/chain/provider';
import { SqsCandidateQueue } from '../../functions/adapters/queue/sqs-candidate-queue';
import { DynamoDbBorrowerStore } from '../../functions/adapters/store/dynamodb-borrower-store';
import { ethersChainGateway } from '../../functions/adapters/chain/ethers-chain-gateway';
import {
  CLAIM_SORT_KEY,
  DynamoDbLiquidationLedger,
  LedgerOwnershipError,
  type LedgerItem,
  type LedgerTransactionItem,
  LOCK_SORT_KEY,
  positionLockKey,
} from '../../functions/adapters/store/dynamodb-liquidation-ledger';
import { createWorkerHandler, type RecordOutcome, type WorkerHandler, workerFromEnvironment } from '../../functions/handlers/worker';
import { SqsDeadLetter } from '../../functions/adapters/queue/sqs-dead-letter';
import { SqsRedelivery } from '../../functions/adapters/queue/sqs-redelivery';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { type CandidateMessage, deduplicationIdOf, encodeCandidateMessage, marketKeyOf, messageGroupIdOf } from '../../functions/pipeline/candidate-message';
import { encodePlan, type ExecutionPlan } from '../../functions/pipeline/execution-plan';
import { LocalSqsEventSource, localLambdaContext } from '../../local/runtime/sqs-event-source';
import { localDynamoDbClient, localSqsClient } from '../../local/world/resources';
import { POOL_ABI, RecordingMetrics } from './support';
import { recordOf } from './worker-harness';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { LOCAL_LIQUIDATOR_KEYS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const WAD = 10n ** 18n;
describe('worker on the local world (Aave v3.6)', () => {
  const scenario: Scenario = { ...loadScenario('default'), aave: 'v3.6' };
  let world: World;
  let sqs: SQSClient;
  let ddb: DynamoDBDocumentClient;
  let pool: Contract;
  let env: Record<string, string>;
  let worker: WorkerHandler;
  let source: LocalSqsEventSource;
  let metrics: RecordingMetrics;
  const outcomes: { outcome: RecordOutcome; record: SQSRecord }[] = [];
  let liquidator: string;

  beforeAll(async () => {
    // The cold-start metric is published by a separate Metrics instance: keep it off stdout.
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    world = await startWorld({ scenario, blockTimeSec: 0, services: true, resourcePrefix: 'it-worker' });
    const { dynamodb, sqs: queues } = world.info;
    if (!dynamodb || !queues) throw new Error('the world started without services');
    sqs = localSqsClient(queues.endpoint);
    ddb = DynamoDBDocumentClient.from(localDynamoDbClient(dynamodb.endpoint));
    pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    liquidator = world.info.accounts.liquidators[0];
    env = {
      CHAIN_ID: world.info.chainId,
      MARKET_NAME: 'local',
      POOL_ADDRESS: world.info.market.pool,
      AAVE_POOL_VERSION: world.info.market.version,
      RPC_URL: world.info.rpcUrl,
      LEDGER_TABLE: dynamodb.tables.ledger,
      NONCE_LEASES_TABLE: dynamodb.tables.nonceLeases,
      KEEPER_STATE_TABLE: dynamodb.tables.keeperState,
      BORROWERS_TABLE: dynamodb.tables.borrowers,
      IDEMPOTENCY_TABLE: dynamodb.tables.idempotency,
      CANDIDATES_QUEUE_URL: queues.queues.candidates,
      CANDIDATES_DLQ_URL: queues.queues.candidatesDlq,
      DYNAMODB_ENDPOINT: dynamodb.endpoint,
      SQS_ENDPOINT: queues.endpoint,
      SIGNER_MODE: 'local',
      SIGNER_PRIVATE_KEY: LOCAL_LIQUIDATOR_KEYS[0],
      NATIVE_PRICE_ASSET: world.info.tokens.WETH,
      LIQUIDATOR_ADDRESS: world.info.liquidatorContract,
      SWAP_QUOTER_ADDRESS: world.info.dex.quoter,
    };
    metrics = new RecordingMetrics({ namespace: 'LiquidationPipeline', serviceName: 'liquidation-worker' });
    worker = await workerFromEnvironment(env, {
      logger: new Logger({ serviceName: 'liquidation-worker', logLevel: (process.env.WORKER_LOG_LEVEL ?? 'SILENT') as 'SILENT' }),
      metrics,
      // Receipts come at once on this automining chain; a short wait keeps the in-flight test (2) quick.
      receiptTimeoutMs: 2_000,
      onOutcome: (outcome, record) => outcomes.push({ outcome, record }),
    });
    source = new LocalSqsEventSource({
      sqs,
      queueUrl: queues.queues.candidates,
      handler: worker,
      functionName: 'liquidation-worker',
      batchSize: 10,
      functionTimeoutMs: 60_000,
      retryDelaySec: 1,
      waitTimeSec: 1,
    });
  });

  afterAll(async () => {
    sqs?.destroy();
    ddb?.destroy();
    await world?.stop();
    delete process.env.POWERTOOLS_METRICS_DISABLED;
  });

  const healthFactorOf = async (borrower: string, block: number): Promise<bigint> =>
    (await pool.getUserAccountData(borrower, { blockTag: block })).healthFactor as bigint;

  async function borrowersBy(predicate: (healthFactorWad: bigint) => boolean, block: number): Promise<string[]> {
    const found: string[] = [];
    for (const { address } of world.info.borrowers) if (predicate(await healthFactorOf(address, block))) found.push(address);
    return found;
  }

  function candidate(borrower: string, block: number, healthFactorWad = WAD - 1n): CandidateMessage {
    return {
      version: 1,
      chainId: world.info.chainId,
      pool: world.info.market.pool,
      borrower,
      detectedBlock: block,
      healthFactorWad: healthFactorWad.toString(),
      firstLiquidatableBlock: block,
      source: 'scanner',
    };
  }

  /** Sends a body as the scanner would (market group), or in another group (see the malformed-message test). */
  async function send(message: CandidateMessage | string, deduplicationId: string, groupId = `${world.info.chainId}#${world.info.market.pool.toLowerCase()}`): Promise<string> {
    const body = typeof message === 'string' ? message : encodeCandidateMessage(message);
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: env.CANDIDATES_QUEUE_URL, MessageBody: body, MessageGroupId: groupId, MessageDeduplicationId: deduplicationId }),
    );
    return sent.MessageId!;
  }

  /** Runs the event source until `count` more records have an outcome (retries included). */
  async function drain(count: number): Promise<{ outcome: RecordOutcome; record: SQSRecord }[]> {
    const start = outcomes.length;
    const deadline = Date.now() + 120_000;
    while (outcomes.length < start + count) {
      if (Date.now() > deadline) throw new Error(`only ${outcomes.length - start} of ${count} records handled in 120 s`);
      await source.pollOnce();
    }
    return outcomes.slice(start);
  }

  async function liquidationEvents(user: string, fromBlock: number) {
    return pool.queryFilter(pool.filters.LiquidationCall(null, null, user), fromBlock, 'latest');
  }

  async function ledgerItem(message: CandidateMessage): Promise<LedgerItem | undefined> {
    const got = await ddb.send(new GetCommand({ TableName: env.LEDGER_TABLE, Key: { opportunity: deduplicationIdOf(message), attempt: CLAIM_SORT_KEY } }));
    return got.Item as LedgerItem | undefined;
  }

  it('liquidates every borrower made liquidatable by a price shock and records each as mined', async () => {
    await world.setPrice('WETH', 2_550n * 10n ** 8n);
    const block = await latestBlockNumber(world.provider);
    const targets = await borrowersBy((hf) => hf < WAD, block);
    expect(targets.length).toBeGreaterThanOrEqual(3);
    const messages = targets.map((borrower) => candidate(borrower, block));

    const published = await new SqsCandidateQueue(sqs, env.CANDIDATES_QUEUE_URL).publish(messages);
    expect(published).toEqual({ sent: targets.length, failed: [] });
    const handled = await drain(targets.length);

    expect(handled.map(({ outcome }) => outcome.kind)).toEqual(targets.map(() => 'mined'));
    for (const message of messages) {
      const events = await liquidationEvents(message.borrower, block + 1);
      expect(events).toHaveLength(1);
      const event = events[0] as unknown as { args: { liquidator: string }; transactionHash: string; blockNumber: number };
      // Through our contract (the Pool's caller), sent by the keeper's key, which held no tokens.
      expect(event.args.liquidator).toBe(world.info.liquidatorContract);
      expect((await world.provider.getTransaction(event.transactionHash))!.from).toBe(liquidator);
      // Liquidated by the worker: the health factor rose (a partial liquidation may leave it below 1).
      expect(await healthFactorOf(message.borrower, event.blockNumber)).toBeGreaterThan(await healthFactorOf(message.borrower, block));
      const item = await ledgerItem(message);
      expect(item).toMatchObject({ state: 'mined', txHash: event.transactionHash, minedBlock: event.blockNumber, claims: 1 });
      // Read at the latest block when its turn came: after the detection, before its own transaction.
      expect(item!.block).toBeGreaterThanOrEqual(block);
      expect(item!.block).toBeLessThan(event.blockNumber);
    }
    const mined = await ddb.send(
      new QueryCommand({ TableName: env.LEDGER_TABLE, IndexName: 'byState', KeyConditionExpression: '#s = :mined', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':mined': 'mined' } }),
    );
    // One attempt per candidate, and the batch attempts that carried their transactions (one per invocation here).
    const [batches, members] = [mined.Items!.filter((i) => String(i.opportunity).startsWith('batch#')), mined.Items!.filter((i) => !String(i.opportunity).startsWith('batch#'))];
    expect(members).toHaveLength(targets.length);
    expect(batches.map((b) => b.txHash).sort()).toEqual([...new Set(members.map((m) => m.txHash))].sort());
    const item = members[0] as LedgerItem;
    expect(typeof item.gasUsed).toBe('string');
    expect(Object.values(item.plan!).every((value) => typeof value === 'string')).toBe(true);
    expect(metrics.total('LiquidationsSent')).toBe(targets.length);
    expect(metrics.total('LiquidationsMined')).toBe(targets.length);
    expect(metrics.total('ProfitUsd')).toBeGreaterThan(0);
    // Every candidate was detected at `block` and mined in a later block of this automining chain.
    expect(metrics.total('DetectionLatencyBlocks')).toBeGreaterThanOrEqual(targets.length);
  });

  it('sends one transaction for a candidate delivered twice, and replays the stored result for a repeated record', async () => {
    await world.setPrice('WBTC', 51_000n * 10n ** 8n);
    const block = await latestBlockNumber(world.provider);
    const [borrower] = await borrowersBy((hf) => hf < WAD, block);
    expect(borrower).toBeDefined();
    const message = candidate(borrower, block);
    const [duplicatesBefore, sentBefore, minedBefore] = ['DuplicateCandidates', 'LiquidationsSent', 'LiquidationsMined'].map((n) => metrics.total(n));

    // Two dedup ids: SQS delivers both (as after its 5-minute deduplication window, or a manual re-send), here in
    // one batch (two groups: fauxqs hands out one message per FIFO group per receive). Blocks are held back, so
    // the account still looks liquidatable to both and only the ledger's claim stands between it and a second
    // transaction; the winner's transaction has no receipt before the worker's deadline.
    const ids = [await send(message, 'twice-a', 'twice-group-a'), await send(message, 'twice-b', 'twice-group-b')];
    await world.provider.send('evm_setAutomine', [false]);
    let batch: Awaited<ReturnType<LocalSqsEventSource['pollOnce']>>;
    const handledBefore = outcomes.length;
    try {
      batch = await source.pollOnce();
    } finally {
      await world.provider.send('evm_setAutomine', [true]);
    }
    await world.provider.send('evm_mine', []);

    // The pending one failed (left to SQS), the other was a duplicate.
    expect(batch).toEqual({ received: 2, succeeded: 1, failed: 1 });
    const [duplicate] = outcomes.slice(handledBefore);
    expect(duplicate.outcome.kind).toBe('duplicate');
    const winnerId = ids.find((id) => id !== duplicate.record.messageId)!;
    expect(await ledgerItem(message)).toMatchObject({ state: 'sent', claims: 1, attemptId: winnerId });
    const events = await liquidationEvents(borrower, block + 1);
    expect(events).toHaveLength(1);

    // The redelivery resumes the attempt from the ledger: the receipt is there now, nothing is signed again.
    const nonceBefore = await world.provider.getTransactionCount(liquidator, 'latest');
    const [resumed] = await drain(1);
    expect(resumed.record.messageId).toBe(winnerId);
    expect(resumed.outcome).toMatchObject({ kind: 'mined', txHash: events[0].transactionHash });
    expect(await ledgerItem(message)).toMatchObject({ state: 'mined', claims: 1, txHash: events[0].transactionHash });
    expect(await world.provider.getTransactionCount(liquidator, 'latest')).toBe(nonceBefore);
    expect(metrics.total('DuplicateCandidates') - duplicatesBefore).toBe(1);
    expect(metrics.total('LiquidationsSent') - sentBefore).toBe(1);
    expect(metrics.total('LiquidationsMined') - minedBefore).toBe(1);

    // The winner's record again (a redelivery after a lost acknowledgement): Powertools returns the stored result.
    const response = await worker({ Records: [resumed.record] }, localLambdaContext('liquidation-worker', 60_000));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(outcomes.at(-1)!.outcome).toMatchObject({ kind: 'mined', replayed: true, txHash: events[0].transactionHash });
    expect(await world.provider.getTransactionCount(liquidator, 'latest')).toBe(nonceBefore);
    expect(await liquidationEvents(borrower, block + 1)).toHaveLength(1);
    expect(metrics.total('DuplicateCandidates') - duplicatesBefore).toBe(2);
  });

  it('sends a malformed message to the DLQ with a reason naming the field, without failing its batch-mates', async () => {
    await world.setPrice('WETH', 2_300n * 10n ** 8n);
    const block = await latestBlockNumber(world.provider);
    const targets = (await borrowersBy((hf) => hf < WAD, block)).slice(0, 2);
    expect(targets).toHaveLength(2);
    const [first, second] = targets.map((borrower) => candidate(borrower, block));
    const malformedBody = JSON.stringify({ ...candidate(targets[0], block), borrower: '0x1234', healthFactorWad: 0.97 });

    // fauxqs hands out one message per FIFO group per receive (SQS gives up to 10 of a group), so the three
    // go in three groups to arrive in one batch; the worker reads the market from the body, not the group.
    const firstId = await send(first, 'batch-first', 'batch-group-1');
    const malformedId = await send(malformedBody, 'batch-malformed', 'batch-group-2');
    const secondId = await send(second, 'batch-second', 'batch-group-3');
    const batch = await source.pollOnce();

    expect(batch).toEqual({ received: 3, succeeded: 3, failed: 0 });
    const handled = outcomes.slice(-3);
    // Records of a batch run concurrently: compare outcomes by message, not by completion order.
    expect(Object.fromEntries(handled.map(({ record, outcome }) => [record.messageId, outcome.kind]))).toEqual({
      [firstId]: 'mined',
      [malformedId]: 'rejected',
      [secondId]: 'mined',
    });

    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: env.CANDIDATES_DLQ_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
    );
    expect(dead.Messages).toHaveLength(1);
    const [rejected] = dead.Messages!;
    expect(rejected.Body).toBe(malformedBody);
    expect(rejected.MessageAttributes?.sourceMessageId?.StringValue).toBe(malformedId);
    const reason = rejected.MessageAttributes?.rejectReason?.StringValue;
    expect(reason).toContain('borrower: must be a 0x-prefixed 20-byte hex address');
    expect(reason).toContain('healthFactorWad:');
    expect(metrics.total('MalformedMessages')).toBe(1);
    for (const message of [first, second]) expect(await ledgerItem(message)).toMatchObject({ state: 'mined' });
  });

  it('lets one of two instances handling the same record at once execute it; the other finds it in progress, and the redelivery resumes it', async () => {
    await world.setPrice('WBTC', 45_000n * 10n ** 8n);
    const block = await latestBlockNumber(world.provider);
    const [borrower] = await borrowersBy((hf) => hf < WAD, block);
    expect(borrower).toBeDefined();
    // The record as two Lambda instances would see it when a visibility timeout expires mid-invocation.
    await send(candidate(borrower, block), 'concurrent-one');
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: env.CANDIDATES_QUEUE_URL, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    const [message] = received.Messages!;
    const record: SQSRecord = {
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body!,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        MessageGroupId: message.Attributes!.MessageGroupId,
        MessageDeduplicationId: message.Attributes!.MessageDeduplicationId,
      },
      messageAttributes: {},
      md5OfBody: message.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:it-worker-liquidation-candidates.fifo',
      awsRegion: 'us-east-1',
    };
    try {
      const second = await workerFromEnvironment(env, { logger: new Logger({ logLevel: 'SILENT' }), metrics: new RecordingMetrics({ namespace: 'LiquidationPipeline' }), receiptTimeoutMs: 2_000 });

      // Blocks held back: the first instance is still waiting for its receipt when the second one starts.
      await world.provider.send('evm_setAutomine', [false]);
      let results: PromiseSettledResult<unknown>[];
      try {
        const first = worker({ Records: [record] }, localLambdaContext('liquidation-worker', 60_000));
        await new Promise((resolve) => setTimeout(resolve, 300));
        results = await Promise.allSettled([first, second({ Records: [record] }, localLambdaContext('liquidation-worker', 60_000))]);
    } finally {
      await world.provider.send('evm_setAutomine', [true]);
    }
    await world.provider.send('evm_mine', []);

    // A batch whose every record failed is thrown whole (Powertools' default): SQS redelivers it. The first
    // instance's transaction had no receipt before its deadline; the second found the record in progress.
    const failures = results.map((result) => (result as PromiseRejectedResult).reason as { name: string; recordErrors?: Error[] });
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(failures.map((failure) => failure.name)).toEqual(['FullBatchFailureError', 'FullBatchFailureError']);
    expect(failures.map((failure) => failure.recordErrors?.map((e) => e.name))).toEqual([['PendingTransactionError'], ['IdempotencyAlreadyInProgressError']]);
    expect(await liquidationEvents(borrower, block + 1)).toHaveLength(1);

    // The redelivery resumes the first instance's attempt from the ledger: still one transaction.
    const events: { outcome: RecordOutcome }[] = [];
    const retry = await workerFromEnvironment(env, {
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new RecordingMetrics({ namespace: 'LiquidationPipeline' }),
      onOutcome: (outcome) => events.push({ outcome }),
    });
    expect(await retry({ Records: [record] }, localLambdaContext('liquidation-worker', 60_000))).toEqual({ batchItemFailures: [] });
    expect(events.map(({ outcome }) => outcome)).toEqual([expect.objectContaining({ kind: 'mined' })]);
    expect(events[0].outcome).not.toHaveProperty('replayed');
    expect(await liquidationEvents(borrower, block + 1)).toHaveLength(1);
    } finally {
      // Received by hand: delete it, or the market's FIFO group stays locked for the visibility timeout.
      await sqs.send(new DeleteMessageCommand({ QueueUrl: env.CANDIDATES_QUEUE_URL, ReceiptHandle: record.receiptHandle }));
    }
  });

  it('answers stale for a candidate that is healthy by the time the worker reads it, and sends nothing', async () => {
    const block = await latestBlockNumber(world.provider);
    const [borrower] = await borrowersBy((hf) => hf >= WAD, block);
    // As if the scanner had seen it below 1 a few blocks earlier.
    const message = candidate(borrower, block - 1, WAD - 10n ** 15n);
    const nonceBefore = await world.provider.getTransactionCount(liquidator, 'latest');
    const staleBefore = metrics.total('StaleCandidates');
    // The scanner's mark on the borrower, which the worker clears whatever the outcome.
    const marketKey = marketKeyOf(message);
    const borrowers = new DynamoDbBorrowerStore(ddb, { borrowers: env.BORROWERS_TABLE });
    await borrowers.upsertSeen(marketKey, [{ borrower, block: 1 }]);
    const [tracked] = await borrowers.listTracked(marketKey);
    await borrowers.recordScan(marketKey, [{ ...tracked, enqueuedUntilBlock: block + 10 }]);
    expect((await borrowers.listTracked(marketKey))[0].enqueuedUntilBlock).toBe(block + 10);

    await send(message, 'stale-one');
    const [{ outcome }] = await drain(1);

    expect(outcome).toEqual({ kind: 'stale', opportunity: deduplicationIdOf(message), block, healthFactorWad: (await healthFactorOf(borrower, block)).toString() });
    expect(await world.provider.getTransactionCount(liquidator, 'latest')).toBe(nonceBefore);
    expect(await ledgerItem(message)).toBeUndefined();
    expect(metrics.total('StaleCandidates') - staleBefore).toBe(1);
    expect((await borrowers.listTracked(marketKey)).find((b) => b.borrower === borrower.toLowerCase())?.enqueuedUntilBlock).toBeUndefined();
  });

  it('refuses to start without the queue URLs or the native price asset, naming each', async () => {
    const { CANDIDATES_DLQ_URL: _dlq, CANDIDATES_QUEUE_URL: _queue, ...withoutQueues } = env;

    await expect(workerFromEnvironment({ ...withoutQueues, NATIVE_PRICE_ASSET: 'WETH' })).rejects.toThrow(
      'invalid configuration:\n' +
        '  - NATIVE_PRICE_ASSET: must be a 0x-prefixed 20-byte hex address\n' +
        '  - CANDIDATES_QUEUE_URL: required by this function\n' +
        '  - CANDIDATES_DLQ_URL: required by this function',
    );
  });

  it('fails only the rejected record when the DLQ cannot take it, so SQS retries and redrives it', async () => {
    const broken = await workerFromEnvironment(
      { ...env, CANDIDATES_DLQ_URL: `${env.CANDIDATES_DLQ_URL.replace(/[^/]+$/, '')}no-such-queue.fifo` },
      { logger: new Logger({ logLevel: 'SILENT' }), metrics: new RecordingMetrics({ namespace: 'LiquidationPipeline' }) },
    );
    const block = await latestBlockNumber(world.provider);
    const [healthy] = await borrowersBy((hf) => hf >= WAD, block);
    const record = (messageId: string, body: string, deduplicationId: string): SQSRecord => ({
      messageId,
      receiptHandle: messageId,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        MessageGroupId: messageGroupIdOf(candidate(healthy, block)),
        MessageDeduplicationId: deduplicationId,
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test.fifo',
      awsRegion: 'us-east-1',
    });

    const response = await broken(
      { Records: [record('bad-1', '{"version":1}', 'dlq-down-bad'), record('good-1', encodeCandidateMessage(candidate(healthy, block)), 'dlq-down-good')] },
      localLambdaContext('liquidation-worker', 60_000),
    );

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-1' }] });
  });

  describe('a record that keeps failing', () => {
    const cleared: string[] = [];
    let failing: WorkerHandler;
    let retryQueueUrl: string;
    let message: CandidateMessage;

    beforeAll(async () => {
      const block = await latestBlockNumber(world.provider);
      const [borrower] = await borrowersBy(() => true, block);
      message = candidate(borrower, block);
      // Visibility as long as the candidates queue's: a record comes back sooner only if the worker says so.
      const created = await sqs.send(
        new CreateQueueCommand({ QueueName: 'it-worker-retry.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '360' } }),
      );
      retryQueueUrl = created.QueueUrl!;
      failing = createWorkerHandler({
        marketKey: marketKeyOf(message),
        execute: () => Promise.reject(new Error('rpc down')),
        deadLetter: new SqsDeadLetter(sqs, env.CANDIDATES_DLQ_URL),
        idempotencyStore: new DynamoDBPersistenceLayer({ tableName: env.IDEMPOTENCY_TABLE, awsSdkV3Client: localDynamoDbClient(world.info.dynamodb!.endpoint) }),
        borrowers: { clearEnqueued: async (_market, who) => void cleared.push(who) },
        redelivery: new SqsRedelivery(sqs, retryQueueUrl),
        maxReceiveCount: 5,
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics: new RecordingMetrics({ namespace: 'LiquidationPipeline' }),
      });
    });

    /** Sends the candidate to the retry queue and receives it: the record as the event source would build it. */
    async function delivered(receiveCount: number): Promise<SQSRecord> {
      const id = `retry-${receiveCount}-${Date.now()}`;
      await sqs.send(new SendMessageCommand({ QueueUrl: retryQueueUrl, MessageBody: encodeCandidateMessage(message), MessageGroupId: messageGroupIdOf(message), MessageDeduplicationId: id }));
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: retryQueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 2 }));
      const received = Messages![0]!;
      return {
        messageId: received.MessageId!,
        receiptHandle: received.ReceiptHandle!,
        body: received.Body!,
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: String(Date.now()),
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
          MessageGroupId: messageGroupIdOf(message),
          MessageDeduplicationId: id,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:it-worker-retry.fifo',
        awsRegion: 'us-east-1',
      };
    }

    it('comes back after a short back-off (2 s after the first failure), not after the visibility timeout', async () => {
      const record = await delivered(1);

      // A batch whose every record failed fails the invocation (Powertools' FullBatchFailureError).
      await expect(failing({ Records: [record] }, localLambdaContext('liquidation-worker', 60_000))).rejects.toThrow('All records failed processing');

      const started = Date.now();
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: retryQueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 10 }));
      expect(Messages?.map((m) => m.MessageId)).toEqual([record.messageId]);
      expect(Date.now() - started).toBeLessThan(9_000);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: retryQueueUrl, ReceiptHandle: Messages![0]!.ReceiptHandle! }));
      expect(cleared).toEqual([]);
    });

    it('clears the enqueue mark on its last delivery (dead-lettered), so the scanner offers the borrower again', async () => {
      const record = await delivered(5);

      // Still a failure: SQS moves it to the DLQ.
      await expect(failing({ Records: [record] }, localLambdaContext('liquidation-worker', 60_000))).rejects.toThrow('All records failed processing');
      expect(cleared).toEqual([message.borrower]);
    });
  });

  describe('the enqueue mark after a skip', () => {
    /** Runs one record whose execution answers `skipped` (with `extra`) through a worker with `borrowers`. */
    const runSkip = async (
      message: CandidateMessage,
      block: number,
      skip: { reason: 'market-moved' | 'unprofitable'; pricedOutBySale?: true },
      borrowers: NonNullable<Parameters<typeof createWorkerHandler>[0]['borrowers']>,
      tag: string,
    ) => {
      const handler = createWorkerHandler({
        marketKey: marketKeyOf(message),
        execute: async ({ message: m }) => ({ kind: 'skipped', opportunity: deduplicationIdOf(m), block, detail: 'test', ...skip }),
        deadLetter: new SqsDeadLetter(sqs, env.CANDIDATES_DLQ_URL),
        idempotencyStore: new DynamoDBPersistenceLayer({ tableName: env.IDEMPOTENCY_TABLE, awsSdkV3Client: localDynamoDbClient(world.info.dynamodb!.endpoint) }),
        borrowers,
        reenqueueAfterBlocks: 150,
        maxReceiveCount: 5,
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics: new RecordingMetrics({ namespace: 'LiquidationPipeline' }),
      });
      const record = recordOf(message, `skip-${tag}-${Date.now()}`);
      expect(await handler({ Records: [record] }, localLambdaContext('liquidation-worker', 60_000))).toEqual({ batchItemFailures: [] });
    };

    const skippedFor = async (reason: 'market-moved' | 'unprofitable', tag: string): Promise<string[]> => {
      const cleared: string[] = [];
      const block = await latestBlockNumber(world.provider);
      const [borrower] = await borrowersBy(() => true, block);
      await runSkip(candidate(borrower, block), block, { reason }, { clearEnqueued: async (_market, who) => void cleared.push(who) }, tag);
      return cleared.map((b) => b.toLowerCase()).filter((b) => b === borrower.toLowerCase());
    };

    it('is cleared when the market moved under the plan, so the next detection offers the account again', async () => {
      expect(await skippedFor('market-moved', 'moved')).toHaveLength(1);
    });

    it('is kept for an unprofitable account, which comes back when the mark expires rather than every block', async () => {
      expect(await skippedFor('unprofitable', 'unprofitable')).toEqual([]);
    });

    /**
     * The mark in the Borrowers table (DynamoDB Local) after an unprofitable skip, the scanner's mark set at
     * `markedUntil`, the account liquidatable for 40 blocks.
     */
    const markAfterUnprofitable = async (pricedOutBySale: boolean, markedUntil: (block: number) => number, tag: string) => {
      const block = await latestBlockNumber(world.provider);
      const [borrower] = await borrowersBy(() => true, block);
      const message = { ...candidate(borrower, block), firstLiquidatableBlock: block - 40 };
      const marketKey = marketKeyOf(message);
      const borrowers = new DynamoDbBorrowerStore(ddb, { borrowers: env.BORROWERS_TABLE });
      await borrowers.upsertSeen(marketKey, [{ borrower, block: 1 }]);
      const tracked = (await borrowers.listTracked(marketKey)).find((b) => b.borrower === borrower.toLowerCase())!;
      await borrowers.recordScan(marketKey, [{ ...tracked, lastScannedBlock: block, enqueuedUntilBlock: markedUntil(block), enqueuedAtBlock: block }]);
      await runSkip(message, block, { reason: 'unprofitable', ...(pricedOutBySale ? { pricedOutBySale: true as const } : {}) }, borrowers, tag);
      const after = (await borrowers.listTracked(marketKey)).find((b) => b.borrower === borrower.toLowerCase())!;
      return { block, until: after.enqueuedUntilBlock };
    };

    it('is brought forward when only the pool\'s price made it unprofitable: a quarter of the 40 blocks it has been liquidatable', async () => {
      const { block, until } = await markAfterUnprofitable(true, (b) => b + 150, 'sale');
      expect(until).toBe(block + 10);
    });

    it('is never pushed back by that: a mark expiring sooner stays', async () => {
      const { block, until } = await markAfterUnprofitable(true, (b) => b + 2, 'sale-sooner');
      expect(until).toBe(block + 2);
    });

    it('is kept whole when gas or size made it unprofitable', async () => {
      const { block, until } = await markAfterUnprofitable(false, (b) => b + 150, 'costs');
      expect(until).toBe(block + 150);
    });
  });

  // The adapters on their own, after the worker tests (the first one counts every `mined` item of the table).
  describe('adapters', () => {
    const item = async (opportunity: string) =>
      (await ddb.send(new GetCommand({ TableName: env.LEDGER_TABLE, Key: { opportunity, attempt: CLAIM_SORT_KEY } }))).Item as LedgerItem | undefined;

    const transaction = (index: number, extra: { replaces?: number } = {}) => ({
      index,
      txHash: `0xfeed${index}`,
      rawTransaction: `0x02raw${index}`,
      from: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
      nonce: 12,
      gasLimit: 375_000n,
      maxFeePerGasWei: 21_000_000_000n + BigInt(index) * 3_000_000_000n,
      maxPriorityFeePerGasWei: 1_000_000_000n,
      ...extra,
    });
    const plan: ExecutionPlan = {
      sizing: 'max',
      steps: 1,
      collateralAsset: '0x0000000000000000000000000000000000000002',
      debtAsset: '0x0000000000000000000000000000000000000001',
      debtToCoverUnits: 8_500_000_000n,
      debtRepaidUnits: 8_500_000_000n,
      liquidatorCollateralUnits: 4_462_500_000_000_000_000n,
      protocolFeeUnits: 0n,
      closeFactor: 'half-of-total-debt',
      limitedBy: 'requested',
      healthFactorBeforeWad: 970_588_235_294_117_647n,
      healthFactorAfterWad: 1_001_000_000_000_000_000n,
      nativePriceBase8: 200_000_000_000n,
      baseFeePerGasWei: 10_000_000_000n,
      maxFeePerGasWei: 21_000_000_000n,
      maxPriorityFeePerGasWei: 1_000_000_000n,
      valueReceivedBase: 892_500_000_000n,
      valueRepaidBase: 850_000_000_000n,
      gasCostWei: 4_125_000_000_000_000n,
      gasCostBase: 825_000_000n,
      swapCostBase: 2_677_500_000n,
      profitBase: 38_997_500_000n,
      gasEstimate: 300_000n,
      gasLimit: 375_000n,
    };

    it('lets one attempt claim an opportunity; only that attempt may take it again, and only before signing', async () => {
      const ledger = new DynamoDbLiquidationLedger(ddb, env.LEDGER_TABLE);
      const opportunity = '31337#0xpool#0xborrower#100';
      const position = '31337#0xpool#0xborrower#0xusdc';
      expect(await ledger.claim(opportunity, 'message-a', position, 100, '2026-11-01T00:00:00.000Z')).toEqual({ kind: 'claimed' });
      expect(await ledger.claim(opportunity, 'message-b', position, 100, '2026-11-01T00:00:01.000Z')).toEqual({ kind: 'duplicate' });
      // A redelivery of message-a that crashed before recording anything.
      expect(await ledger.claim(opportunity, 'message-a', position, 100, '2026-11-01T00:00:02.000Z')).toEqual({ kind: 'claimed' });

      await ledger.finish(opportunity, 'message-a', { kind: 'failed', reason: 'retryable simulate: timeout', block: 100 }, '2026-11-01T00:00:03.000Z');
      expect(await ledger.claim(opportunity, 'message-b', position, 100, '2026-11-01T00:00:04.000Z')).toEqual({ kind: 'duplicate' });
      expect(await ledger.claim(opportunity, 'message-a', position, 100, '2026-11-01T00:00:05.000Z')).toEqual({ kind: 'claimed' });

      await ledger.recordSigned(opportunity, 'message-a', transaction(0), plan, '2026-11-01T00:00:06.000Z');
      expect(await ledger.claim(opportunity, 'message-a', position, 100, '2026-11-01T00:00:07.000Z')).toEqual({ kind: 'duplicate' });
      await expect(ledger.finish(opportunity, 'message-b', { kind: 'failed', reason: 'x', block: 100 }, '2026-11-01T00:00:08.000Z')).rejects.toThrow(
        new LedgerOwnershipError(opportunity, 'message-b'),
      );
      // Out of order: a second "first" transaction, or a replacement with the wrong index.
      await expect(ledger.recordSigned(opportunity, 'message-a', transaction(0), plan, '2026-11-01T00:00:08.000Z')).rejects.toThrow(LedgerOwnershipError);
      await expect(ledger.recordSigned(opportunity, 'message-a', transaction(5, { replaces: 0 }), plan, '2026-11-01T00:00:08.000Z')).rejects.toThrow(LedgerOwnershipError);

      await ledger.recordSent(opportunity, 'message-a', 0, '2026-11-01T00:00:09.000Z');
      await ledger.recordSigned(opportunity, 'message-a', transaction(1, { replaces: 0 }), plan, '2026-11-01T00:00:10.000Z');
      await ledger.recordSent(opportunity, 'message-a', 1, '2026-11-01T00:00:11.000Z');
      await ledger.finish(opportunity, 'message-a', { kind: 'mined', txHash: '0xfeed1', minedBlock: 101, gasUsed: 280_123n, plan }, '2026-11-01T00:00:12.000Z');

      expect(await item(opportunity)).toEqual({
        opportunity,
        attempt: CLAIM_SORT_KEY,
        attemptId: 'message-a',
        position,
        state: 'mined',
        claimedAt: '2026-11-01T00:00:00.000Z',
        updatedAt: '2026-11-01T00:00:12.000Z',
        claims: 3,
        block: 100,
        transactionCount: 2,
        txHash: '0xfeed1',
        minedBlock: 101,
        gasUsed: '280123',
        // Stored encoded (functions/pipeline/execution-plan.ts): flat, decimal strings.
        plan: encodePlan(plan),
      });
      const found = await ledger.find(opportunity);
      expect(found?.transactions.map((tx) => [tx.index, tx.txHash, tx.nonce, tx.maxFeePerGasWei, tx.state])).toEqual([
        [0, '0xfeed0', 12, 21_000_000_000n, 'replaced'],
        [1, '0xfeed1', 12, 24_000_000_000n, 'mined'],
      ]);
      const replacement = (await ddb.send(new GetCommand({ TableName: env.LEDGER_TABLE, Key: { opportunity, attempt: 'tx#0001' } }))).Item as LedgerTransactionItem & { replaces: number };
      expect(replacement).toMatchObject({ rawTransaction: '0x02raw1', replaces: 0, txState: 'mined', gasLimit: '375000' });
      // The position is free again.
      expect((await ddb.send(new GetCommand({ TableName: env.LEDGER_TABLE, Key: { opportunity: positionLockKey(position), attempt: LOCK_SORT_KEY } }))).Item).toBeUndefined();
    });

    it('keeps one attempt in flight per position: another opportunity of the same position waits until it ends', async () => {
      const ledger = new DynamoDbLiquidationLedger(ddb, env.LEDGER_TABLE);
      const position = '31337#0xpool#0xother#0xusdc';
      expect(await ledger.claim('31337#0xpool#0xother#200', 'message-c', position, 100, '2026-11-01T00:01:00.000Z')).toEqual({ kind: 'claimed' });
      await ledger.recordSigned('31337#0xpool#0xother#200', 'message-c', transaction(0), plan, '2026-11-01T00:01:01.000Z');

      expect(await ledger.claim('31337#0xpool#0xother#201', 'message-d', position, 100, '2026-11-01T00:01:02.000Z')).toEqual({ kind: 'in-flight', heldBy: '31337#0xpool#0xother#200' });
      // Another debt asset of the same borrower is another position.
      expect(await ledger.claim('31337#0xpool#0xother#201', 'message-d', '31337#0xpool#0xother#0xweth', 100, '2026-11-01T00:01:03.000Z')).toEqual({ kind: 'claimed' });
      await ledger.finish('31337#0xpool#0xother#201', 'message-d', { kind: 'skipped', reason: 'unprofitable', block: 201 }, '2026-11-01T00:01:04.000Z');

      await ledger.finish('31337#0xpool#0xother#200', 'message-c', { kind: 'dropped', reason: 'nonce 12 used by another transaction' }, '2026-11-01T00:01:05.000Z');
      expect(await ledger.claim('31337#0xpool#0xother#202', 'message-e', position, 100, '2026-11-01T00:01:06.000Z')).toEqual({ kind: 'claimed' });
      expect((await ledger.find('31337#0xpool#0xother#200'))?.transactions.map((tx) => tx.state)).toEqual(['dropped']);
    });

    it('refuses to read an attempt whose stored plan lacks a field, naming it; the attempt can still be finished', async () => {
      const ledger = new DynamoDbLiquidationLedger(ddb, env.LEDGER_TABLE);
      const opportunity = '31337#0xpool#0xmalformed#300';
      expect(await ledger.claim(opportunity, 'message-f', '31337#0xpool#0xmalformed#0xusdc', 300, '2026-11-01T00:02:00.000Z')).toEqual({ kind: 'claimed' });
      await ledger.recordSigned(opportunity, 'message-f', transaction(0), plan, '2026-11-01T00:02:01.000Z');
      const { nativePriceBase8: _lost, ...damaged } = encodePlan(plan);
      await ddb.send(
        new UpdateCommand({
          TableName: env.LEDGER_TABLE,
          Key: { opportunity, attempt: CLAIM_SORT_KEY },
          UpdateExpression: 'SET #plan = :plan',
          ExpressionAttributeNames: { '#plan': 'plan' },
          ExpressionAttributeValues: { ':plan': damaged },
        }),
      );

      await expect(ledger.find(opportunity)).rejects.toThrow(
        `malformed execution plan (ledger ${opportunity}): nativePriceBase8: required (a non-negative integer as a decimal string)`,
      );
      await ledger.finish(opportunity, 'message-f', { kind: 'dropped', reason: 'ended by an operator' }, '2026-11-01T00:02:02.000Z');
      expect(await item(opportunity)).toMatchObject({ state: 'dropped', reason: 'ended by an operator' });
    });

      it('tells a refused broadcast (retryable or not) from one that may have gone out, on anvil', async () => {
      const gateway = ethersChainGateway(world.provider);
      const signer = new LocalKeySigner(LOCAL_LIQUIDATOR_KEYS[1]);
      const unfunded = new LocalKeySigner('0x0000000000000000000000000000000000000000000000000000000000000001');
      const fees = await gateway.feesAfter(await latestBlockNumber(world.provider));
      const transfer = (nonce: number) => ({
        chainId: BigInt(world.info.chainId),
        nonce,
        to: world.info.accounts.deployer,
        data: '0x',
        valueWei: 1n,
        gasLimit: 21_000n,
        maxFeePerGasWei: fees.maxFeePerGasWei,
        maxPriorityFeePerGasWei: fees.maxPriorityFeePerGasWei,
      });
      const nonce = await gateway.confirmedNonce(signer.address);
      const first = await signer.signTransaction(transfer(nonce));
      expect(await gateway.broadcast(first.raw)).toEqual({ kind: 'accepted' });
      expect(await gateway.receiptOfAny(['0x' + '00'.repeat(32), first.hash], 10_000)).toMatchObject({ txHash: first.hash, status: 'success', gasUsed: 21_000n });
      // The same bytes again: the node knows them (mined), so the nonce is used.
      expect(await gateway.broadcast(first.raw)).toMatchObject({ kind: 'rejected', nonceUsed: true });

      expect(await gateway.broadcast((await signer.signTransaction(transfer(nonce))).raw)).toMatchObject({ kind: 'rejected', retryable: true, nonceUsed: true });
      expect(await gateway.broadcast((await unfunded.signTransaction(transfer(0))).raw)).toMatchObject({ kind: 'rejected', retryable: false });
      const closed = createJsonRpcProvider('http://127.0.0.1:1', Number(world.info.chainId));
      expect(await ethersChainGateway(closed).broadcast(first.raw)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('ECONNREFUSED') });
      closed.destroy();
    });

  it('publishes candidates in batches of 10 with FIFO group and dedup ids, reporting what does not encode', async () => {
      const created = await sqs.send(
        new CreateQueueCommand({ QueueName: 'it-worker-publish.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' } }),
      );
      const queueUrl = created.QueueUrl!;
      const messages: CandidateMessage[] = Array.from({ length: 23 }, (_, i) => ({
        version: 1,
        chainId: '31337',
        pool: world.info.market.pool,
        borrower: `0x${(i + 1).toString(16).padStart(40, '0')}`,
        detectedBlock: 500,
        healthFactorWad: '990000000000000000',
        firstLiquidatableBlock: 499,
        source: 'scanner',
      }));
      const invalid = { ...messages[0], borrower: 'nobody' };
      // The last one repeats the first: same dedup id, accepted by SQS but not delivered twice.
      const result = await new SqsCandidateQueue(sqs, queueUrl).publish([...messages, invalid, messages[0]]);

      expect(result.sent).toBe(24);
      expect(result.failed).toEqual([{ message: invalid, reason: expect.stringContaining('does not encode') }]);
      const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('23');
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['All'] }));
      expect(received.Messages?.[0].Attributes).toMatchObject({
        MessageGroupId: messageGroupIdOf(messages[0]),
        MessageDeduplicationId: deduplicationIdOf(messages[0]),
      });
    });
  });
});
