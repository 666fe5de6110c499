/**
 * Exactly-once execution under faults, on the local world (anvil + Aave v3.6, DynamoDB Local, fauxqs), with the
 * worker wired from the environment as on Lambda. Each test asserts on chain (LiquidationCall events, nonces)
 * and in the ledger:
 *   1. every candidate delivered 3 times to 8 concurrent workers → one liquidation per opportunity;
 *   2. a worker killed after broadcast, before its ledger write → the retry signs nothing new, ends `mined`;
 *   3. a transaction stuck while mining is paused → replaced by nonce with a fee bump, recorded in the ledger;
 *   4. the kill switch on → nothing is sent; off → the pipeline resumes;
 *   5. 20 % of RPC calls failing or dropped (scanner and worker behind a fault proxy) → every liquidatable
 *      account liquidated, no duplicate, no stuck nonce (pending = latest).
 */
import type { SQSRecord } from 'aws-lambda';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { DynamoDbExecutionBreakers } from '../../functions/adapters/store/dynamodb-execution-breakers';
import type { RecordOutcome } from '../../functions/handlers/worker';
import { deduplicationIdOf } from '../../functions/pipeline/candidate-message';
import { crashAt } from '../../local/chaos/crash-points';
import { type RpcFaultProxy, startRpcFaultProxy } from '../../local/chaos/rpc-fault-proxy';
import { startLocalPipeline } from '../../local/runtime/local-pipeline';
import { startKmsStandin } from '../../local/kms-standin/kms-standin';
import { LOCAL_LIQUIDATOR_KEYS } from '../../local/world/seed';
import { RecordingMetrics } from './support';
import { candidate, expectNoStuckNonce, harness, type Harness, invoke, liquidatableAt, liquidationsOf, quietWorker, recordOf, sleep } from './worker-harness';

jest.setTimeout(300_000);

describe('exactly-once execution under faults (one world, shocks in turn)', () => {
  let h: Harness;

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    // 1 s blocks: receipts come quickly, and a paused miner is a deliberate act of a test.
    h = await harness('chaos', 1, { REPLACE_AFTER_SEC: '1.5' });
  });
  afterAll(async () => {
    h?.documents.destroy();
    await h?.world.stop();
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_LOG_LEVEL;
  });

  it('every candidate delivered 3 times to 8 concurrent workers: exactly one liquidation per opportunity', async () => {
    await h.world.setPrice('WETH', 2_550n * 10n ** 8n);
    const block = await latestBlockNumber(h.world.provider);
    const targets = await liquidatableAt(h, block);
    expect(targets.length).toBeGreaterThanOrEqual(3);
    const messages = targets.map((borrower) => candidate(h, borrower, block));
    // Three deliveries per opportunity with their own message and dedup ids, so neither Powertools idempotency
    // nor SQS deduplication stands in the way: only the ledger does. Dealt out to 8 worker instances at once.
    const records = messages.flatMap((m) => ['a', 'b', 'c'].map((copy) => recordOf(m, copy)));
    const workers = await Promise.all(Array.from({ length: 8 }, () => quietWorker(h, { receiptTimeoutMs: 15_000 })));
    const batches = workers.map((_, i) => records.filter((_, j) => j % workers.length === i));

    let failed = (await Promise.all(workers.map((worker, i) => (batches[i].length > 0 ? invoke(worker, batches[i]) : Promise.resolve([]))))).flat();
    // Failed records come back as SQS would redeliver them, to any instance.
    for (let round = 0; failed.length > 0 && round < 10; round++) failed = await invoke(workers[round % workers.length], failed);
    expect(failed).toEqual([]);

    for (const message of messages) {
      const events = await liquidationsOf(h, message.borrower, block);
      expect({ borrower: message.borrower, liquidations: events.length }).toEqual({ borrower: message.borrower, liquidations: 1 });
      const attempt = await h.ledger.find(deduplicationIdOf(message));
      expect(attempt).toMatchObject({ state: 'mined', txHash: events[0].transactionHash });
      // Sent alone, or as an item of a batch whose own attempt holds the transaction.
      const carrier = attempt!.batch ? await h.ledger.find(attempt!.batch.opportunity) : attempt;
      expect(carrier).toMatchObject({ state: 'mined', txHash: events[0].transactionHash });
      expect(carrier!.transactions.filter((tx) => tx.state !== 'dropped')).toHaveLength(1);
    }
    await expectNoStuckNonce(h, h.liquidator);
  });

  it('a worker killed after broadcast and before its ledger write: the retry signs nothing new and the ledger ends mined', async () => {
    await h.world.setPrice('WBTC', 51_000n * 10n ** 8n);
    const block = await latestBlockNumber(h.world.provider);
    const [borrower] = await liquidatableAt(h, block);
    expect(borrower).toBeDefined();
    const message = candidate(h, borrower, block);
    const record = recordOf(message, 'crash');
    const nonceBefore = await h.world.provider.getTransactionCount(h.liquidator, 'latest');
    const crash = crashAt('after-broadcast');

    const crashing = await quietWorker(h, { faults: crash });
    expect(await invoke(crashing, [record])).toEqual([record]);
    expect(crash.remaining()).toBe(0);
    expect(await h.ledger.find(deduplicationIdOf(message))).toMatchObject({ state: 'signed', transactions: [{ index: 0, state: 'signed' }] });

    // A new instance (the crashed one's memory is gone) handles the redelivery.
    const outcomes: RecordOutcome[] = [];
    const retry = await quietWorker(h, { onOutcome: (outcome) => outcomes.push(outcome) });
    expect(await invoke(retry, [record])).toEqual([]);

    const events = await liquidationsOf(h, borrower, block);
    expect(events).toHaveLength(1);
    const attempt = await h.ledger.find(deduplicationIdOf(message));
    expect(attempt).toMatchObject({ state: 'mined', txHash: events[0].transactionHash, transactions: [{ index: 0, state: 'mined', txHash: events[0].transactionHash }] });
    expect(outcomes).toEqual([expect.objectContaining({ kind: 'mined', txHash: events[0].transactionHash })]);
    // One transaction in all: the stored bytes were re-broadcast, nothing was signed again.
    expect(await h.world.provider.getTransactionCount(h.liquidator, 'latest')).toBe(nonceBefore + 1);
    await expectNoStuckNonce(h, h.liquidator);
  });

  it('a transaction stuck while mining is paused is replaced by nonce with a fee bump, and the ledger records the replacement', async () => {
    await h.world.setPrice('WETH', 2_300n * 10n ** 8n);
    const block = await latestBlockNumber(h.world.provider);
    const [borrower] = await liquidatableAt(h, block);
    expect(borrower).toBeDefined();
    const message = candidate(h, borrower, block);
    const worker = await quietWorker(h, { receiptTimeoutMs: 20_000 });

    await h.world.provider.send('evm_setIntervalMining', [0]);
    let failed: SQSRecord[];
    try {
      const handled = invoke(worker, [recordOf(message, 'stuck')]);
      // REPLACE_AFTER_SEC is 1.5: after 4 s the first transaction has been replaced at least once.
      await sleep(4_000);
      await h.world.provider.send('evm_mine', []);
      failed = await handled;
    } finally {
      await h.world.provider.send('evm_setIntervalMining', [1]);
    }

    expect(failed).toEqual([]);
    const attempt = (await h.ledger.find(deduplicationIdOf(message)))!;
    const events = await liquidationsOf(h, borrower, block);
    expect(events).toHaveLength(1);
    expect(attempt.state).toBe('mined');
    expect(attempt.transactions.length).toBeGreaterThanOrEqual(2);
    const [first, ...replacements] = attempt.transactions;
    expect(first.state).toBe('replaced');
    const mined = attempt.transactions.find((tx) => tx.state === 'mined')!;
    expect(mined.txHash).toBe(events[0].transactionHash);
    expect(replacements).toContainEqual(mined);
    // Same nonce, each fee at least 12.5 % over the one it replaced.
    for (const [previous, next] of attempt.transactions.slice(1).map((tx, i) => [attempt.transactions[i], tx])) {
      expect(next.nonce).toBe(first.nonce);
      expect(next.maxFeePerGasWei * 10_000n).toBeGreaterThanOrEqual(previous.maxFeePerGasWei * 11_250n);
      expect(next.maxPriorityFeePerGasWei * 10_000n).toBeGreaterThanOrEqual(previous.maxPriorityFeePerGasWei * 11_250n);
    }
    await expectNoStuckNonce(h, h.liquidator);
  });

  it('signs through AWS KMS (the local stand-in) and submits privately, falling back to the public RPC when the private endpoint fails', async () => {
    // The KMS key holds the second liquidator account's private key: an authorised caller of the world's contract.
    const standin = await startKmsStandin({ keys: { keeper: { privateKey: LOCAL_LIQUIDATOR_KEYS[1] } } });
    const privateEndpoint = await startRpcFaultProxy({ upstream: h.world.info.rpcUrl, seed: 1, faults: { errorRate: 1, methods: ['eth_sendRawTransaction'] } });
    try {
      const { SIGNER_PRIVATE_KEY: _local, ...rest } = h.env;
      const env = { ...rest, SIGNER_MODE: 'kms', KMS_KEY_ID: 'keeper', KMS_ENDPOINT: standin.endpoint, PRIVATE_RPC_URL: privateEndpoint.url };
      const metrics = new RecordingMetrics({ namespace: 'LiquidationPipeline', serviceName: 'liquidation-worker' });
      const outcomes: RecordOutcome[] = [];
      const worker = await quietWorker(h, { metrics, onOutcome: (outcome) => outcomes.push(outcome) }, env);
      const kmsAddress = h.world.info.accounts.liquidators[1];

      await h.world.setPrice('WETH', 2_200n * 10n ** 8n);
      const block = await latestBlockNumber(h.world.provider);
      const targets = await liquidatableAt(h, block);
      expect(targets.length).toBeGreaterThanOrEqual(2);
      // First through a private endpoint that refuses every transaction: the public RPC takes it.
      expect(await invoke(worker, [recordOf(candidate(h, targets[0], block), 'kms-fallback')])).toEqual([]);
      expect(privateEndpoint.stats().byMethod.eth_sendRawTransaction?.errors).toBeGreaterThanOrEqual(1);
      expect(metrics.total('PrivateSubmissionFallbacks')).toBeGreaterThanOrEqual(1);
      // Then with the private endpoint healthy: it takes the transaction.
      privateEndpoint.setFaults({ errorRate: 0 });
      const privateCallsBefore = privateEndpoint.stats().byMethod.eth_sendRawTransaction?.calls ?? 0;
      expect(await invoke(worker, [recordOf(candidate(h, targets[1], block), 'kms-private')])).toEqual([]);
      expect(privateEndpoint.stats().byMethod.eth_sendRawTransaction!.calls).toBeGreaterThan(privateCallsBefore);

      expect(outcomes.map((o) => o.kind)).toEqual(['mined', 'mined']);
      for (const borrower of targets.slice(0, 2)) {
        const [event] = await liquidationsOf(h, borrower, block);
        // Through the contract (the Pool's caller), signed by the KMS key.
        expect(event.args.liquidator).toBe(h.world.info.liquidatorContract);
        expect((await h.world.provider.getTransaction(event.transactionHash))!.from).toBe(kmsAddress);
      }
      expect(standin.requests.filter((r) => r.operation === 'Sign').length).toBeGreaterThanOrEqual(2);
      await expectNoStuckNonce(h, kmsAddress);
    } finally {
      await privateEndpoint.close();
      await standin.stop();
    }
  });

  it('kill switch on: nothing is sent; off: the pipeline resumes and liquidates', async () => {
    const breakers = new DynamoDbExecutionBreakers(h.documents, h.env.KEEPER_STATE_TABLE, {
      scope: `${h.world.info.chainId}#${h.world.info.market.pool.toLowerCase()}`,
      revertStreakLimit: 3,
      revertCooldownMs: 900_000,
    });
    await breakers.setKillSwitch(true, 'chaos-test', 'drill', Date.now());
    const outcomes: RecordOutcome[] = [];
    const pipeline = await startLocalPipeline(h.world, { scheduleSec: 60, onOutcome: (outcome) => outcomes.push(outcome) });
    try {
      await h.world.setPrice('WBTC', 40_000n * 10n ** 8n);
      const block = await latestBlockNumber(h.world.provider);
      const targets = await liquidatableAt(h, block);
      expect(targets.length).toBeGreaterThanOrEqual(1);
      const nonceBefore = await h.world.provider.getTransactionCount(h.liquidator, 'latest');

      await sleep(6_000);
      expect(await h.world.provider.getTransactionCount(h.liquidator, 'latest')).toBe(nonceBefore);
      for (const borrower of targets) expect(await liquidationsOf(h, borrower, block)).toEqual([]);
      expect(outcomes.filter((o) => o.kind === 'mined')).toEqual([]);

      await breakers.setKillSwitch(false, 'chaos-test', 'drill over', Date.now());
      const deadline = Date.now() + 60_000;
      const allLiquidated = async () => (await Promise.all(targets.map((b) => liquidationsOf(h, b, block)))).every((events) => events.length > 0);
      while (!(await allLiquidated()) && Date.now() < deadline) await sleep(1_000);
      for (const borrower of targets) expect((await liquidationsOf(h, borrower, block)).length).toBeGreaterThanOrEqual(1);
    } finally {
      await pipeline.stop();
    }
    await expectNoStuckNonce(h, h.liquidator);
  });
});

describe('20 % of RPC calls failing or dropped, scanner and worker behind a fault proxy', () => {
  let h: Harness;
  let proxy: RpcFaultProxy;

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    h = await harness('chaos-rpc', 1);
    proxy = await startRpcFaultProxy({ upstream: h.world.info.rpcUrl, seed: 20_261_122, faults: { errorRate: 0.15, dropRate: 0.05, dropAfterMs: 100 } });
  });
  afterAll(async () => {
    await proxy?.close();
    h?.documents.destroy();
    await h?.world.stop();
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_LOG_LEVEL;
  });

  it('liquidates every liquidatable account, with no duplicate and no stuck nonce', async () => {
    const outcomes: RecordOutcome[] = [];
    // One transaction per candidate: batches under 20 % RPC faults do not yet clear every account within the
    // deadline here (issue 11's progress note); this test keeps proving the single path.
    const pipeline = await startLocalPipeline(h.world, { scheduleSec: 20, overrides: { RPC_URL: proxy.url, MAX_BATCH_SIZE: '1' }, onOutcome: (outcome) => outcomes.push(outcome) });
    let shockBlock: number;
    let targets: string[];
    try {
      await h.world.setPrice('WETH', 2_400n * 10n ** 8n);
      shockBlock = await latestBlockNumber(h.world.provider);
      targets = await liquidatableAt(h, shockBlock);
      expect(targets.length).toBeGreaterThanOrEqual(3);
      const deadline = Date.now() + 150_000;
      while ((await liquidatableAt(h, await latestBlockNumber(h.world.provider))).length > 0 && Date.now() < deadline) await sleep(1_000);
    } finally {
      await pipeline.stop();
    }

    expect(await liquidatableAt(h, await latestBlockNumber(h.world.provider))).toEqual([]);
    const stats = proxy.stats();
    // The faults really happened, at about the configured share.
    expect(stats.errors + stats.drops).toBeGreaterThan(stats.calls * 0.1);
    // Every liquidation on chain is the mined transaction of exactly one ledger attempt, and no attempt has two.
    const minedByHash = new Map<string, string>();
    for (const outcome of outcomes) if (outcome.kind === 'mined') minedByHash.set(outcome.txHash, outcome.opportunity);
    for (const borrower of targets) {
      const events = await liquidationsOf(h, borrower, shockBlock);
      expect(events.length).toBeGreaterThanOrEqual(1);
      for (const event of events) {
        const attempt = await h.ledger.find(minedByHash.get(event.transactionHash) ?? '(none)');
        expect({ tx: event.transactionHash, state: attempt?.state, txHash: attempt?.txHash }).toEqual({ tx: event.transactionHash, state: 'mined', txHash: event.transactionHash });
      }
    }
    const opportunities = [...minedByHash.values()];
    expect(new Set(opportunities).size).toBe(opportunities.length);
    await expectNoStuckNonce(h, h.liquidator);
  });
});
