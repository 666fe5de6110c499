/**
 * Runs the pipeline's real Lambda handlers against a local world, with the AWS glue emulated:
 * - the EventBridge schedule: indexer and scanner are invoked every `scheduleSec` (first at start), each with a
 *   context whose deadline is the function timeout, so scanner invocations overlap as they do on AWS. A scheduled
 *   invocation that fails or overruns its timeout is logged and the next one carries on (scheduled-invocation.ts):
 *   the indexer's next run continues from its checkpoint, as on AWS;
 * - the SQS event source mapping of the worker (local/runtime/sqs-event-source.ts).
 * Nothing in functions/ knows it runs here: the handlers get the same environment variables as on AWS,
 * pointing at anvil, DynamoDB Local and fauxqs (local/runtime/pipeline-env.ts).
 */
import { createScannerHandler, scannerRuntimeFromConfig } from '../../functions/handlers/scanner';
import { indexerHandlerFromEnvironment } from '../../functions/handlers/indexer';
import { createObservability } from '../../functions/handlers/observability';
import { type RecordOutcome, workerFromEnvironment, type WorkerOverrides } from '../../functions/handlers/worker';
import { loadPipelineConfig } from '../../functions/config/pipeline-config';
import { type Clock, systemClock } from '../../functions/ports/clock';
import type { ScanEvent, ScanSummary } from '../../functions/pipeline/scan-blocks';
import type { IndexBorrowersSummary } from '../../functions/pipeline/index-borrowers';
import { localSqsClient } from '../world/resources';
import type { World } from '../world/world';
import { localPipelineEnv, type LocalPipelineOptions } from './pipeline-env';
import { type Invocation, invokeScheduled } from './scheduled-invocation';
import { localLambdaContext, LocalSqsEventSource } from './sqs-event-source';
import type { SQSRecord } from 'aws-lambda';

export interface LocalPipelineRunOptions extends LocalPipelineOptions {
  /** EventBridge rate (seconds); AWS's finest is 60. */
  scheduleSec?: number;
  /** Scanner function timeout; its loop stops SCANNER_DEADLINE_MARGIN_MS before it. */
  scannerTimeoutMs?: number;
  /** Indexer function timeout (default 60 s; 300 s on AWS): a run stops starting windows shortly before it. */
  indexerTimeoutMs?: number;
  /** Concurrent worker invocations (the event source mapping's maximum concurrency); default 2. */
  workerConcurrency?: number;
  /** Fault injection for the worker (chaos tests). */
  workerFaults?: WorkerOverrides['faults'];
  onScanEvent?: (event: ScanEvent) => void;
  onIndexed?: (summary: IndexBorrowersSummary) => void;
  onScanned?: (summary: ScanSummary) => void;
  onOutcome?: (outcome: RecordOutcome, record: SQSRecord) => void;
  log?: (line: string) => void;
}

export interface LocalPipeline {
  env: Record<string, string>;
  /** Runs one indexer invocation now (also runs on the schedule); rejects if it fails, as a manual invocation reports. */
  indexNow(): Promise<IndexBorrowersSummary>;
  /** Runs one indexer invocation now, as the schedule does: a failure (a timeout too) is logged and returned. */
  invokeIndexer(): Promise<Invocation<IndexBorrowersSummary>>;
  /**
   * Invokes the indexer at once, again and again (the schedule would wait `scheduleSec`), until a run has caught
   * up with the head; failed invocations are logged and the next carries on from the checkpoint. Throws the last
   * error after `maxFailuresInARow` (default 3) failures in a row: an indexer that cannot make progress.
   */
  indexUntilCaughtUp(maxFailuresInARow?: number): Promise<Invocation<IndexBorrowersSummary>[]>;
  stop(): Promise<void>;
}

export async function startLocalPipeline(world: World, options: LocalPipelineRunOptions = {}): Promise<LocalPipeline> {
  const log = options.log ?? (() => undefined);
  const env = localPipelineEnv(world.info, options);
  const scheduleMs = (options.scheduleSec ?? 60) * 1000;
  const scannerTimeoutMs = options.scannerTimeoutMs ?? scheduleMs + 15_000;

  const indexer = indexerHandlerFromEnvironment(env);
  const scannerConfig = loadPipelineConfig(env, ['borrowers', 'snapshots', 'candidatesQueue']);
  const scannerObservability = createObservability('scanner', scannerConfig.marketName);
  // On stop, running scanner invocations must end before the world goes away: their clock jumps past any
  // deadline, so each loop returns at its next check as it would at its Lambda deadline.
  let stopped = false;
  const scannerClock: Clock = { nowMs: () => (stopped ? Number.MAX_SAFE_INTEGER : systemClock.nowMs()) };
  const scanner = createScannerHandler({
    config: scannerConfig,
    ...scannerObservability,
    clock: scannerClock,
    runtime: () => scannerRuntimeFromConfig(scannerConfig),
    onEvent: options.onScanEvent,
  });
  const worker = await workerFromEnvironment(env, { onOutcome: options.onOutcome, faults: options.workerFaults });

  const sqs = localSqsClient(world.info.sqs!.endpoint);
  const eventSource = new LocalSqsEventSource({
    sqs,
    queueUrl: env.CANDIDATES_QUEUE_URL,
    handler: worker,
    functionName: 'worker',
    functionTimeoutMs: 60_000,
    retryDelaySec: 1,
    concurrency: options.workerConcurrency ?? 2,
    log,
  });

  const running = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    running.add(promise);
    void promise.finally(() => running.delete(promise)).catch(() => undefined);
    return promise;
  };
  const indexerTimeoutMs = options.indexerTimeoutMs ?? 60_000;
  const indexNow = () => track(indexer({}, localLambdaContext('indexer', indexerTimeoutMs)));
  const invokeIndexer = async (): Promise<Invocation<IndexBorrowersSummary>> => {
    const invocation = await track(invokeScheduled('indexer', indexer, indexerTimeoutMs, log));
    if (invocation.kind === 'succeeded') options.onIndexed?.(invocation.result);
    return invocation;
  };
  const indexUntilCaughtUp = async (maxFailuresInARow = 3): Promise<Invocation<IndexBorrowersSummary>[]> => {
    const invocations: Invocation<IndexBorrowersSummary>[] = [];
    for (let failuresInARow = 0; ; ) {
      const invocation = await invokeIndexer();
      invocations.push(invocation);
      if (invocation.kind === 'succeeded') {
        failuresInARow = 0;
        if (['caught-up', 'up-to-date'].includes(invocation.result.outcome.kind)) return invocations;
      } else if (++failuresInARow >= maxFailuresInARow) {
        throw new Error(`the indexer failed ${failuresInARow} invocations in a row: ${invocation.error.message}`, { cause: invocation.error });
      }
    }
  };
  const fire = () => {
    void invokeIndexer().catch((err: Error) => log(`indexer: onIndexed failed: ${err.message}`));
    track(
      scanner({}, localLambdaContext('scanner', scannerTimeoutMs)).then(options.onScanned, (err: Error) => log(`scanner failed: ${err.message}`)),
    );
  };

  // The indexer runs first so the scanner's first invocation has borrowers to scan. Like any scheduled invocation
  // it may fail or time out (a large world on a busy machine): logged, and the schedule's next run carries on.
  await invokeIndexer();
  eventSource.start();
  fire();
  const timer = setInterval(fire, scheduleMs);

  return {
    env,
    indexNow,
    invokeIndexer,
    indexUntilCaughtUp,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await eventSource.stop();
      await Promise.allSettled([...running]);
      sqs.destroy();
    },
  };
}
