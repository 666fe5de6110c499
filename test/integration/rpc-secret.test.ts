/**
 * The RPC URL is a secret: a hosted provider's URL carries its API key. Here the public and the private
 * (transaction submission) endpoints are the chaos proxy (local/chaos/rpc-fault-proxy.ts) served under
 * `/v2/MARKER-KEY-7f3a9c`, in front of the `default` Aave v3.6 world with DynamoDB Local and fauxqs. The four
 * functions, wired from the environment as on Lambda, with Powertools' own logger and metrics printing to stdout,
 * run while the proxy fails in every way it can, one way at a time and then all at once: JSON-RPC errors and HTTP
 * 503, connection resets, node errors (header not found, HTTP 429 with a rate-limit body, execution reverted
 * without data), garbage answers, timeouts (held past the provider's 15 s), and eth_chainId failing at cold start.
 * Then candidates fail through the queue until SQS dead-letters them.
 *
 * The marker must appear in no log line or EMF metric (everything written to stdout and stderr), no item of any
 * DynamoDB table, no dead-letter message, no worker outcome and no trigger answer (result or error: message,
 * stack and every property). And the faults must really have reached the functions: the URL's redacted form
 * (scheme and host) shows up in what they logged.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { REDACTED } from '../../functions/adapters/chain/redact-url';
import { indexerHandlerFromEnvironment } from '../../functions/handlers/indexer';
import { scannerHandlerFromEnvironment } from '../../functions/handlers/scanner';
import { triggerHandlerFromEnvironment } from '../../functions/handlers/trigger';
import { type RecordOutcome, type WorkerHandler, workerFromEnvironment } from '../../functions/handlers/worker';
import { deduplicationIdOf, encodeCandidateMessage, messageGroupIdOf } from '../../functions/pipeline/candidate-message';
import { type RpcFaultProxy, type RpcFaults, startRpcFaultProxy } from '../../local/chaos/rpc-fault-proxy';
import { localLambdaContext, LocalSqsEventSource } from '../../local/runtime/sqs-event-source';
import { localSqsClient } from '../../local/world/resources';
import { leaksOf } from '../unit/chain/redact-leaks';
import { candidate, harness, type Harness, invoke, liquidatableAt, recordOf, sleep } from './worker-harness';

jest.setTimeout(600_000);

const MARKER = 'MARKER-KEY-7f3a9c';
const NO_FAULTS: Partial<RpcFaults> = { errorRate: 0, dropRate: 0, delayRate: 0, nodeErrorRate: 0, garbageRate: 0, methods: undefined, dropAfterMs: 100 };

/** Each way the proxy fails, alone, then all together; timeouts last (each costs the provider's 15 s). */
const PHASES: { name: string; faults: Partial<RpcFaults> }[] = [
  { name: 'JSON-RPC errors and HTTP 503', faults: { errorRate: 0.6 } },
  { name: 'connection resets', faults: { dropRate: 0.5, dropAfterMs: 20 } },
  { name: 'node errors: header not found, HTTP 429 rate limited, execution reverted without data', faults: { nodeErrorRate: 0.6 } },
  { name: 'garbage answers', faults: { garbageRate: 0.5 } },
  { name: 'all of them at once', faults: { errorRate: 0.2, dropRate: 0.1, dropAfterMs: 20, nodeErrorRate: 0.2, garbageRate: 0.2 } },
  { name: 'timeouts', faults: { dropRate: 1, dropAfterMs: 16_000 } },
];

/** Everything written to stdout and stderr while it runs (Powertools' logger and EMF metrics write there). */
function captureOutput(): { chunks: string[]; stop(): void } {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  const echo = process.env.RPC_SECRET_TEST_ECHO === 'true';
  streams.forEach((stream, i) => {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      if (echo) return (originals[i] as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  });
  return {
    chunks,
    stop: () => streams.forEach((stream, i) => (stream.write = originals[i])),
  };
}

const json = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

async function settled<T>(run: () => Promise<T>): Promise<{ result?: T; error?: unknown }> {
  try {
    return { result: await run() };
  } catch (error) {
    return { error };
  }
}

describe('the RPC URL never leaves: no log line, metric, ledger item, DLQ message, outcome or trigger answer holds it', () => {
  let h: Harness;
  let proxy: RpcFaultProxy;
  let privateProxy: RpcFaultProxy;
  let env: Record<string, string>;
  let output: { chunks: string[]; stop(): void };
  const savedEnv = { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED, POWERTOOLS_DEV: process.env.POWERTOOLS_DEV };
  /** Trigger results and errors, worker outcomes, and what each invocation threw. */
  const answers: unknown[] = [];
  const outcomes: RecordOutcome[] = [];
  const faultsSeen: Record<string, number> = {};
  let deadLettered = 0;

  const context = (name: string, timeoutMs: number): Context => localLambdaContext(name, timeoutMs);

  beforeAll(async () => {
    // Powertools as on Lambda: every log level, EMF printed, its own Console on stdout (not Jest's console).
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    delete process.env.POWERTOOLS_DEV;
    h = await harness('rpc-secret', 1);
    proxy = await startRpcFaultProxy({ upstream: h.world.info.rpcUrl, seed: 20_261_206, path: `/v2/${MARKER}` });
    privateProxy = await startRpcFaultProxy({ upstream: h.world.info.rpcUrl, seed: 7, path: `/v2/${MARKER}` });
    env = { ...h.env, RPC_URL: proxy.url, PRIVATE_RPC_URL: privateProxy.url, POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_METRICS_DISABLED: 'false' };
    output = captureOutput();
  });

  afterAll(async () => {
    output?.stop();
    await proxy?.close();
    await privateProxy?.close();
    h?.documents.destroy();
    await h?.world.stop();
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('drives the indexer, scanner, worker and trigger through every fault of both endpoints', async () => {
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}/v2/${MARKER}`);
    const indexer = indexerHandlerFromEnvironment(env);
    const scanner = scannerHandlerFromEnvironment(env);
    const worker = await workerFromEnvironment(env, { receiptTimeoutMs: 10_000, onOutcome: (outcome) => outcomes.push(outcome) });
    const trigger = triggerHandlerFromEnvironment(env);

    // A healthy start through the marker URL: the borrowers are indexed, then WETH falls.
    for (let run = 0; run < 10; run++) {
      const summary = await indexer({}, context('indexer', 30_000));
      if (['caught-up', 'up-to-date'].includes(summary.outcome.kind)) break;
    }
    await h.world.setPrice('WETH', 2_300n * 10n ** 8n);
    const shockBlock = await latestBlockNumber(h.world.provider);
    const targets = await liquidatableAt(h, shockBlock);
    expect(targets.length).toBeGreaterThanOrEqual(4);

    const runAll = async (phase: string, handlers: { indexer: typeof indexer; scanner: typeof scanner; worker: WorkerHandler; trigger: typeof trigger }, slow: boolean) => {
      const block = await latestBlockNumber(h.world.provider);
      const records = targets.slice(0, 2).map((borrower) => recordOf(candidate(h, borrower, block), phase));
      const triggerActions = [{ action: 'scan' }, { action: 'status' }, { action: 'liquidate', account: targets[2], dryRun: true }, { action: 'liquidate', account: targets[3], dryRun: false }];
      const runs = await Promise.all([
        settled(() => handlers.indexer({}, context('indexer', slow ? 25_000 : 10_000))),
        settled(() => handlers.scanner({}, context('scanner', slow ? 20_000 : 5_000))),
        settled(() => invoke(handlers.worker, records)),
        ...triggerActions.map((payload) => settled(() => handlers.trigger(payload, context('trigger', 40_000)))),
      ]);
      answers.push(...runs.flatMap(({ result, error }) => [result, error]));
    };

    // Cold start with eth_chainId failing: every function's connection fails at start-up.
    proxy.setFaults({ ...NO_FAULTS, errorRate: 1, methods: ['eth_chainId'] });
    const coldStart = {
      indexer: indexerHandlerFromEnvironment(env),
      scanner: scannerHandlerFromEnvironment(env),
      worker: await settled(() => workerFromEnvironment(env, { receiptTimeoutMs: 10_000 })),
      trigger: triggerHandlerFromEnvironment(env),
    };
    answers.push(coldStart.worker.error);
    await runAll('cold start', { ...coldStart, worker: coldStart.worker.result ?? worker }, false);
    faultsSeen['cold start'] = proxy.stats().errors;

    for (const [i, phase] of PHASES.entries()) {
      const before = proxy.stats();
      proxy.setFaults({ ...NO_FAULTS, ...phase.faults });
      // The private endpoint fails the same way, for the transactions the worker and the trigger send.
      privateProxy.setFaults({ ...NO_FAULTS, ...phase.faults });
      await runAll(`phase-${i}`, { indexer, scanner, worker, trigger }, phase.name === 'timeouts');
      const after = proxy.stats();
      faultsSeen[phase.name] = after.errors + after.drops - before.errors - before.drops;
      // Work a handler's early timeout (middy) left running ends when its held requests do: wait for it, so
      // what it writes is captured too.
      if (phase.name === 'timeouts') {
        proxy.setFaults(NO_FAULTS);
        privateProxy.setFaults(NO_FAULTS);
        await sleep(17_000);
      }
    }

    // Dead letters: candidates through the queue with every call failing, until SQS redrives them to the DLQ.
    proxy.setFaults({ ...NO_FAULTS, errorRate: 0.5, nodeErrorRate: 0.25, garbageRate: 0.25 });
    const sqs = localSqsClient(h.world.info.sqs!.endpoint);
    try {
      const block = await latestBlockNumber(h.world.provider);
      for (const borrower of targets) {
        const message = candidate(h, borrower, block);
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: env.CANDIDATES_QUEUE_URL,
            MessageBody: encodeCandidateMessage(message),
            MessageGroupId: messageGroupIdOf(message),
            MessageDeduplicationId: `${deduplicationIdOf(message)}#dlq`,
          }),
        );
      }
      const source = new LocalSqsEventSource({ sqs, queueUrl: env.CANDIDATES_QUEUE_URL, handler: worker, functionName: 'worker', retryDelaySec: 0, waitTimeSec: 0 });
      // Each failed delivery is visible again at once (retryDelaySec 0); the sixth receive redrives to the DLQ.
      for (let poll = 0; poll < 14; poll++) await source.pollOnce();
      const dead = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: env.CANDIDATES_DLQ_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, AttributeNames: ['All'], MessageAttributeNames: ['All'] }),
      );
      deadLettered = dead.Messages?.length ?? 0;
      answers.push(dead.Messages);
    } finally {
      sqs.destroy();
    }

    expect(Object.entries(faultsSeen).filter(([, count]) => count === 0)).toEqual([]);
  });

  it('no log line and no EMF metric holds the marker; the redacted form of the URL does show up', () => {
    const written = output.chunks.join('');
    const lines = written.split('\n').filter((line) => line.includes(MARKER));
    expect(lines).toEqual([]);
    // The faults reached the functions, and what they logged named the endpoint the redacted way.
    expect(written).toContain(`http://127.0.0.1:${proxy.port}/${REDACTED}`);
    expect(written).toContain('"_aws"');
    expect(written).toContain('indexer run failed');
  });

  it('no item of any DynamoDB table holds the marker', async () => {
    const tables = Object.entries(env)
      .filter(([key]) => key.endsWith('_TABLE'))
      .map(([, name]) => name);
    const items: unknown[] = [];
    for (const table of tables) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await h.documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    expect(items.length).toBeGreaterThan(0);
    expect(items.map(json).filter((item) => item.includes(MARKER))).toEqual([]);
  });

  it('no dead-letter message, worker outcome or trigger answer (result or error, every property and the stack) holds the marker', () => {
    expect(deadLettered).toBeGreaterThan(0);
    expect(outcomes.length).toBeGreaterThan(0);
    expect(leaksOf(outcomes, MARKER)).toEqual([]);
    expect(answers.filter((answer) => answer !== undefined).length).toBeGreaterThan(0);
    expect(leaksOf(answers, MARKER)).toEqual([]);
  });
});
