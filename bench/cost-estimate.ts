/**
 * npx tsx bench/cost-estimate.ts [--json] [--measured bench/out/rpc-calls.json] [--accounts 10000] [--block-sec 12]
 *                                [--reserves 50] [--shock-blocks-per-month 2160] [--material-changes-per-day 2]
 *                                [--candidates-per-day 50] [--liquidations-per-day 20]
 *
 * Monthly AWS cost of one keeper instance (us-east-1, list prices, no free tier) following every block with the
 * change-driven scanner, and the RPC calls it makes. The scanner's counts are MEASURED, read from the figures
 * `npx tsx bench/run.ts --only rpc-calls` writes (bench/out/rpc-calls.json, `--measured FILE`): RPC calls per
 * block, store writes per block (borrower records, health snapshots) in the steady state and after a price shock,
 * and the scanner's CPU time per block. Without that file the script stops (exit 2) and says how to make it:
 * an estimate from assumptions alone is what this script used to be, and it was off by 10×.
 * What the code decides is read from the code:
 * - the scanner's settings are the defaults of functions/config/pipeline-config.ts (loaded, not copied);
 * - memory, timeouts and schedules come from lib/pipeline-functions.ts and deploy/config.example.json;
 * - the custom metrics are the metric names the handlers pass to Powertools (read from their source).
 * What neither the bench nor the code can tell (how many blocks a month look like the bench's shock, how often
 * health moves, how many candidates a day) are assumptions, printed with the result and settable by flag.
 *
 * From the bench's 2 s blocks to `--block-sec`: the change-driven scanner's calls per block do not depend on the
 * block time. Head polls are paced by it (SCANNER_BLOCK_TIME_MS: the scanner sleeps until one poll interval
 * before the next block is due, then polls), so a block costs about two polls at 2 s or 12 s; the oracle lens and
 * the change log are one call each per block. The measured per-block figures are used as they are, per block.
 * Nor do they depend on the reserve count (one lens call reads every reserve's price). Health reads scale with the
 * accounts: a full read is ⌈accounts / chunk⌉ lens calls, and the shock's reads scale with accounts / the bench's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BEST_EFFORT_METRICS } from '../functions/pipeline/best-effort';
import { loadPipelineConfig } from '../functions/config/pipeline-config';
import { loadDeploymentConfig } from '../lib/config';
import { PIPELINE_FUNCTIONS, type PipelineFunctionName, SCANNER_HANDOVER_SEC, timeoutSecOf } from '../lib/pipeline-functions';
import { cliArgs } from '../local/cli-args';
import { type PhaseFigures, RPC_CALLS_JSON_PATH, readRpcCallsFigures, type RpcCallsFigures } from './rpc-calls';

const PROJECT_ROOT = join(__dirname, '..');

/**
 * us-east-1 list prices as published in 2026 on the services' pricing pages (on-demand, first tier, free tier
 * not applied). Re-check them before relying on the total.
 */
const PRICES = {
  /** https://aws.amazon.com/lambda/pricing/ — Arm, first 7.5 billion GB-s per month. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** https://aws.amazon.com/lambda/pricing/ — requests. */
  lambdaPerMillionRequests: 0.2,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — on-demand write request units (after the Nov 2024 cut). */
  dynamoDbPerMillionWrites: 0.625,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — on-demand read request units. */
  dynamoDbPerMillionReads: 0.125,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — Standard table class storage, per GB-month. */
  dynamoDbStoragePerGbMonth: 0.25,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — continuous backups (PITR), per GB-month. */
  dynamoDbPitrPerGbMonth: 0.2,
  /** https://aws.amazon.com/sqs/pricing/ — FIFO requests (per 64 KB chunk). */
  sqsFifoPerMillionRequests: 0.5,
  /**
   * https://aws.amazon.com/cloudwatch/pricing/ — custom metrics, first 10,000, per metric-month; prorated by the
   * hour and metered only in hours the metric is sent.
   */
  cloudWatchPerMetricMonth: 0.3,
  /** https://aws.amazon.com/cloudwatch/pricing/ — standard-resolution alarm, per alarm metric-month. */
  cloudWatchPerAlarmMetricMonth: 0.1,
  /** https://aws.amazon.com/cloudwatch/pricing/ — dashboard, per month. */
  cloudWatchPerDashboardMonth: 3,
  /** https://aws.amazon.com/cloudwatch/pricing/ — Logs ingestion (Standard class), per GB. */
  cloudWatchLogsIngestPerGb: 0.5,
  /** https://aws.amazon.com/cloudwatch/pricing/ — Logs storage, per GB-month. */
  cloudWatchLogsStoragePerGbMonth: 0.03,
  /** https://aws.amazon.com/kms/pricing/ — customer managed key, per month (symmetric or asymmetric). */
  kmsPerKeyMonth: 1,
  /** https://aws.amazon.com/kms/pricing/ — asymmetric requests other than RSA 2048 (ECC Sign), per 10,000. */
  kmsAsymmetricPer10kRequests: 0.15,
  /** https://aws.amazon.com/secrets-manager/pricing/ — per secret-month. */
  secretsManagerPerSecretMonth: 0.4,
  /** https://aws.amazon.com/secrets-manager/pricing/ — API calls, per 10,000. */
  secretsManagerPer10kCalls: 0.05,
  /** https://aws.amazon.com/eventbridge/pricing/ — Scheduler invocations, per million. */
  schedulerPerMillionInvocations: 1,
} as const;

const SECONDS_PER_MONTH = 30 * 24 * 3600;

interface Assumptions {
  accounts: number;
  blockSec: number;
  /** Reserves of the market: the reserve layout read per execution environment (the lens reads prices in one call). */
  reserves: number;
  /** Blocks a month priced at the bench's shock figures (accounts under 1 + margin read at every block). */
  shockBlocksPerMonth: number;
  /** Health-factor moves of ≥ 1 % per account and day: a borrower record (and GSI) write plus a snapshot. */
  materialChangesPerDay: number;
  candidatesPerDay: number;
  liquidationsPerDay: number;
  /** Liquidations on the market by anyone else: the hours in which the indexer sends its capture-rate metrics. */
  marketLiquidationsPerDay: number;
}

/** What the code does not decide; each is printed with the result. */
const ASSUMPTION_NOTES: Record<keyof Assumptions, string> = {
  accounts: 'tracked borrowers (the bench measured 10,000)',
  blockSec: 'seconds per block (Ethereum: 12)',
  reserves: 'reserves of the market (Aave V3 Ethereum core lists about 50): the layout read per new environment',
  shockBlocksPerMonth: 'blocks a month like the bench\'s shock (~1,300 accounts under 1 + margin read each block); 2,160 = 1 % of 12 s blocks',
  materialChangesPerDay: 'health-factor moves of at least 1 % per account and day, seen by the hourly re-read',
  candidatesPerDay: 'candidates the worker handles per day',
  liquidationsPerDay: 'transactions sent per day (one KMS Sign each, plus replacements)',
  marketLiquidationsPerDay: 'liquidations by others on the market per day (the indexer sends its capture metrics in hours with one)',
};

/** Fixed modelling figures, with their reasons. */
const MODEL = {
  /** Bytes per stored snapshot / borrower item, attribute names included (DynamoDB bills per byte stored + 100 B). */
  snapshotItemBytes: 260,
  borrowerItemBytes: 300,
  /** Execution environments that start per hour and function (a new environment reads its layout and secret again). */
  environmentStartsPerHour: 2,
  /** Functions polling Secrets Manager (Powertools caches the URL for 5 minutes per environment): scanner ×2, indexer, worker. */
  environmentsReadingSecrets: 4,
  secretCacheSec: 300,
  /** Lambda's SQS event source starts with five pollers, each long-polling (20 s) when the queue is empty. */
  sqsPollers: 5,
  sqsLongPollSec: 20,
  /** Indexer: about 2 s per run (one eth_getLogs window and a checkpoint), measured locally as well under that. */
  indexerRunSec: 2,
  /** Worker: one candidate per invocation, waiting for its receipt (one to two blocks). */
  workerRunSec: 20,
  /** Per candidate: idempotency record (put + update), ledger transactions (claim, signed, sent, finished), nonce lease, breakers. */
  workerWritesPerCandidate: 16,
  workerReadsPerCandidate: 8,
  signsPerLiquidation: 1.5,
  /** Log bytes per invocation: Lambda's START/END/REPORT lines, the EMF document and the handler's INFO lines. */
  scannerLogBytesPerInvocation: 4_000,
  indexerLogBytesPerInvocation: 1_500,
  workerLogBytesPerCandidate: 3_000,
  /**
   * Hours a month an event-only metric is sent (a failure counter, an oracle breaker, an operator's action): it
   * is billed for those hours only. A day's worth each.
   */
  eventMetricHoursPerMonth: 24,
  /** RPC calls of the scanner's start-up check per new environment (functions/config/startup-check.ts). */
  startupCheckCalls: 8,
  /** Lambda CPU share: 1,769 MB is one vCPU, and the share is proportional to memory. */
  mbPerVcpu: 1_769,
} as const;

/**
 * Metrics sent only when something happens that should not (a failure, an open breaker, a revert) or when an
 * operator acts (the trigger): billed for the hours they are sent (MODEL.eventMetricHoursPerMonth). Every other
 * metric a handler emits is billed for the month (the scanner's and indexer's per run) or for the hours with a
 * candidate (the worker's). Best-effort failure metrics (functions/pipeline/best-effort.ts) are added below.
 */
const EVENT_ONLY_METRICS = new Set([
  'BreakerOpen',
  'CircuitBreakerOpen',
  'UnreadableAccounts',
  'OracleLensFallbacks',
  'LiquidationsDropped',
  'LiquidationsReverted',
  'LiquidationsRevertedByMarket',
  'FailedCandidates',
  'MalformedMessages',
  'DeadLetteredCandidates',
  'ChunkRestPublishFailures',
  'PrivateSubmissionFallbacks',
  'LensFallbacks',
  ...Object.values(BEST_EFFORT_METRICS),
  // The indexer's capture tally (functions/handlers/indexer.ts): a deficit is an event of its own.
  'BadDebtUsd',
]);

/**
 * The indexer's other capture metrics, sent only in runs that saw such a liquidation: billed for the hours with one
 * (Poisson arrivals), ours at `liquidationsPerDay`, the others' at `marketLiquidationsPerDay`.
 */
const LIQUIDATION_HOUR_METRICS: Record<string, 'ours' | 'others'> = {
  LiquidatedDebtUsdByUs: 'ours',
  LiquidationsByOthers: 'others',
  LiquidatedDebtUsdByOthers: 'others',
};

interface Line {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

/** The scanner's defaults, as the functions read them (a minimal environment, everything else defaulted). */
function scannerDefaults() {
  const config = loadPipelineConfig({
    CHAIN_ID: '1',
    MARKET_NAME: 'estimate',
    POOL_ADDRESS: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2',
    AAVE_POOL_VERSION: '3.6',
    RPC_URL_SECRET_NAME: 'estimate',
  });
  return config.scanner;
}

/** The change-driven scanner's measured figures, or why there are none. */
export interface MeasuredScanner {
  source: string;
  measuredAt: string;
  borrowers: number;
  blockTimeSec: number;
  steady: Required<PhaseFigures>;
  shock: Required<PhaseFigures>;
  cpu: NonNullable<RpcCallsFigures['cpu']>;
}

export class MissingMeasurementError extends Error {
  constructor(path: string, what: string) {
    super(`${path}: ${what}. Produce it with \`npx tsx bench/run.ts --only rpc-calls\` (about 3 minutes: the \`large\` world, 10,000 borrowers), then run this again.`);
    this.name = 'MissingMeasurementError';
  }
}

export function readMeasuredScanner(path: string = RPC_CALLS_JSON_PATH): MeasuredScanner {
  if (!existsSync(path)) throw new MissingMeasurementError(path, 'no measured RPC calls and store writes per block');
  const figures = readRpcCallsFigures(path);
  const scanner = figures.scanners.find((s) => s.key === 'change-driven');
  if (!scanner) throw new MissingMeasurementError(path, 'no change-driven scanner in the figures');
  const complete = (p: PhaseFigures): p is Required<PhaseFigures> => p.recordsWrittenPerBlock !== undefined && p.snapshotsWrittenPerBlock !== undefined;
  if (!complete(scanner.phases.steady) || !complete(scanner.phases.shock) || !figures.cpu) {
    throw new MissingMeasurementError(path, 'figures from an older bench (no store writes or CPU per block)');
  }
  return {
    source: path,
    measuredAt: figures.measuredAt,
    borrowers: figures.borrowers,
    blockTimeSec: figures.blockTimeSec,
    steady: scanner.phases.steady,
    shock: scanner.phases.shock,
    cpu: figures.cpu,
  };
}

/** Custom metrics per handler: the names passed to Powertools, plus ColdStart where the handler captures it. */
function customMetricsOf(name: PipelineFunctionName): string[] {
  const source = readFileSync(join(PROJECT_ROOT, PIPELINE_FUNCTIONS[name].entry), 'utf8');
  const names = new Set<string>();
  for (const line of source.split('\n')) {
    if (!/addMetric\(|\bcount\(/.test(line)) continue;
    for (const match of line.matchAll(/'([A-Z][A-Za-z]+)'/g)) names.add(match[1]);
  }
  if (/captureColdStartMetric:\s*true/.test(source)) names.add('ColdStart');
  return [...names].sort();
}

export function estimate(a: Assumptions, measured: MeasuredScanner) {
  const deployment = loadDeploymentConfig(join(PROJECT_ROOT, 'deploy', 'config.example.json'));
  const scanner = scannerDefaults();
  const lines: Line[] = [];
  const add = (service: string, item: string, quantity: number, unit: string, usd: number) => lines.push({ service, item, quantity, unit, usd });

  // ── Time line ──
  const scannerRateSec = deployment.schedule.scannerEveryMinutes * 60;
  const scannerTimeoutSec = timeoutSecOf('scanner', deployment);
  // It follows blocks for its period and a short handover (SCANNER_FOLLOW_SEC), then writes and returns: billed
  // for about that long, not for its whole timeout.
  const scannerRunSec = Math.min(scannerTimeoutSec - scanner.deadlineMarginMs / 1000, scannerRateSec + SCANNER_HANDOVER_SEC);
  /** Invocations overlap: while two run, both scan every block (their writes are conditional, not skipped). */
  const overlap = scannerRunSec / scannerRateSec;
  const scannerInvocations = SECONDS_PER_MONTH / scannerRateSec;
  const indexerInvocations = SECONDS_PER_MONTH / (deployment.schedule.indexerEveryMinutes * 60);
  const blocks = SECONDS_PER_MONTH / a.blockSec;
  const days = SECONDS_PER_MONTH / 86_400;

  // ── RPC (not billed by AWS; what the RPC provider bills), from the measured figures ──
  if (scanner.reads.mode !== 'changes') throw new Error('the scanner default read mode is no longer `changes`: the measured figures are of the change-driven scanner');
  const chunks = (accounts: number) => Math.ceil(accounts / scanner.chunkSize);
  const environmentStarts = MODEL.environmentStartsPerHour * 24 * days;
  /** Warm environments following blocks at once: two while invocations overlap. */
  const environments = Math.ceil(overlap);
  const steadyCallsPerBlock = measured.steady.callsPerBlock;
  // The shock's reads scale with the accounts; its other calls (head, oracle, change log) are per block.
  const shockHealthCalls = measured.shock.accountsReadPerBlock === 0 ? 0 : chunks((measured.shock.accountsReadPerBlock * a.accounts) / measured.borrowers);
  const shockCallsPerBlock = measured.shock.callsPerBlock - measured.shock.callsPerBlockByRole.health + shockHealthCalls;
  const shockBlocks = Math.min(a.shockBlocksPerMonth, blocks);
  /** Every account read at once: each warm environment every maxReadIntervalSec, and each new environment's first block. */
  const fullReads = environments * (SECONDS_PER_MONTH / scanner.reads.maxReadIntervalSec) + environmentStarts;
  const rpc = {
    steady: (blocks - shockBlocks) * overlap * steadyCallsPerBlock,
    shock: shockBlocks * overlap * shockCallsPerBlock,
    fullReads: fullReads * chunks(a.accounts),
    // The reserve layout (ADDRESSES_PROVIDER, getReserveData and getSourceOfAsset per reserve) and the change
    // log's market addresses, once per execution environment: counted as the per-call layout read, an upper bound.
    // + the start-up check (functions/config/startup-check.ts): chain id, code at the Pool, addresses provider,
    // oracle and data provider, POOL_REVISION, ADDRESSES_PROVIDER and getPriceOracle.
    layout: environmentStarts * (1 + 2 * a.reserves + MODEL.startupCheckCalls),
  };
  const rpcCallsPerMonth = rpc.steady + rpc.shock + rpc.fullReads + rpc.layout;

  // ── Lambda ──
  const gbSeconds = (name: PipelineFunctionName, invocations: number, seconds: number) => invocations * seconds * (PIPELINE_FUNCTIONS[name].memoryMb / 1024);
  const candidates = a.candidatesPerDay * days;
  const lambda = [
    { name: 'scanner' as const, invocations: scannerInvocations, seconds: scannerRunSec },
    { name: 'indexer' as const, invocations: indexerInvocations, seconds: MODEL.indexerRunSec },
    { name: 'worker' as const, invocations: candidates, seconds: MODEL.workerRunSec },
  ];
  for (const { name, invocations, seconds } of lambda) {
    const gbs = gbSeconds(name, invocations, seconds);
    add('Lambda', `${name}: ${Math.round(invocations).toLocaleString('en-US')} invocations × ${seconds} s × ${PIPELINE_FUNCTIONS[name].memoryMb} MB`, gbs, 'GB-s', gbs * PRICES.lambdaArmPerGbSecond);
  }
  const requests = lambda.reduce((sum, l) => sum + l.invocations, 0);
  const lambdaGbs = lambda.reduce((sum, l) => sum + gbSeconds(l.name, l.invocations, l.seconds), 0);
  add('Lambda', 'requests', requests, 'requests', (requests / 1e6) * PRICES.lambdaPerMillionRequests);

  // The scanner's memory against its measured CPU per block: Lambda gives memory / 1,769 MB of a vCPU.
  const scannerMemoryMb = PIPELINE_FUNCTIONS.scanner.memoryMb;
  const vcpu = scannerMemoryMb / MODEL.mbPerVcpu;
  const fullReadCpuMs = Math.max(measured.cpu.coldFirstBlock.cpuMs, measured.cpu.fullReread.cpuMs) * (a.accounts / measured.borrowers);
  const scannerCpu = {
    memoryMb: scannerMemoryMb,
    vcpu,
    quietBlockCpuMs: measured.cpu.steady.cpuMsPerBlock,
    quietBlockSec: measured.cpu.steady.cpuMsPerBlock / 1000 / vcpu,
    maxQuietBlockSec: measured.cpu.steady.maxCpuMs / 1000 / vcpu,
    fullReadCpuMs,
    fullReadSec: fullReadCpuMs / 1000 / vcpu,
    blockSec: a.blockSec,
  };

  // ── DynamoDB (writes: measured per block in the bench's steady and shock phases, plus the hourly re-read) ──
  // Records written with a material change (and the candidates' marks), snapshots on a material change only.
  const recordsWritten = (blocks - shockBlocks) * overlap * measured.steady.recordsWrittenPerBlock + shockBlocks * overlap * measured.shock.recordsWrittenPerBlock * (a.accounts / measured.borrowers);
  const snapshotsWritten = (blocks - shockBlocks) * overlap * measured.steady.snapshotsWrittenPerBlock + shockBlocks * overlap * measured.shock.snapshotsWrittenPerBlock * (a.accounts / measured.borrowers);
  // A quiet chain moves no health factor (the bench's steady phase and re-read wrote nothing); a real one does:
  // each material move is written once, by the read that sees it (a record and a snapshot).
  const materialMoves = a.accounts * a.materialChangesPerDay * days;
  const snapshotWrites = snapshotsWritten + materialMoves;
  // A borrower record write also rewrites its byWatchTier index entry (projection ALL): two write units.
  const recordWrites = (recordsWritten + materialMoves) * 2;
  const indexerWrites = indexerInvocations * 1;
  const workerWrites = candidates * MODEL.workerWritesPerCandidate;
  const writes = snapshotWrites + recordWrites + indexerWrites + workerWrites;
  add('DynamoDB', `writes: snapshots ${Math.round(snapshotWrites).toLocaleString('en-US')}, records+GSI ${Math.round(recordWrites).toLocaleString('en-US')}, indexer, worker`, writes, 'WRU', (writes / 1e6) * PRICES.dynamoDbPerMillionWrites);
  // listTracked: one eventually consistent Query of the market's partition per scanner invocation (4 KB per half unit).
  const listReads = scannerInvocations * Math.ceil((a.accounts * MODEL.borrowerItemBytes) / 4096) * 0.5;
  const reads = listReads + indexerInvocations * 1 + candidates * MODEL.workerReadsPerCandidate;
  add('DynamoDB', 'reads: the borrower list per scanner invocation, checkpoints, worker', reads, 'RRU', (reads / 1e6) * PRICES.dynamoDbPerMillionReads);
  const retentionDays = scanner.snapshotRetentionSec / 86_400;
  const snapshotGb = ((snapshotWrites / days) * retentionDays * (MODEL.snapshotItemBytes + 100)) / 1e9;
  const borrowerGb = (a.accounts * (MODEL.borrowerItemBytes + 100) * 2) / 1e9;
  const storedGb = snapshotGb + borrowerGb;
  add('DynamoDB', `storage: snapshots kept ${retentionDays} days, borrowers + index`, storedGb, 'GB-month', storedGb * PRICES.dynamoDbStoragePerGbMonth);
  add('DynamoDB', 'point-in-time recovery of every table', storedGb, 'GB-month', storedGb * PRICES.dynamoDbPitrPerGbMonth);

  // ── SQS (FIFO) ──
  const emptyReceives = MODEL.sqsPollers * (SECONDS_PER_MONTH / MODEL.sqsLongPollSec);
  // Per candidate: SendMessageBatch (share), ReceiveMessage, DeleteMessage.
  const sqsRequests = emptyReceives + candidates * 3;
  add('SQS', `event source long polling (${MODEL.sqsPollers} pollers) + send/receive/delete per candidate`, sqsRequests, 'requests', (sqsRequests / 1e6) * PRICES.sqsFifoPerMillionRequests);

  // ── CloudWatch ──
  const metricsPerFunction = (Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[]).map((name) => ({ name, metrics: customMetricsOf(name) }));
  /** Hours a month with at least one candidate (Poisson arrivals): when the worker's outcome metrics are sent. */
  const candidateHourShare = 1 - Math.exp(-a.candidatesPerDay / 24);
  const metricMonths = metricsPerFunction.flatMap(({ name, metrics }) =>
    metrics.map((metric) => {
      if (name === 'trigger' || EVENT_ONLY_METRICS.has(metric)) return { name, metric, kind: 'event' as const, months: MODEL.eventMetricHoursPerMonth / (days * 24) };
      if (name === 'worker') return { name, metric, kind: 'per-candidate' as const, months: candidateHourShare };
      const liquidations = LIQUIDATION_HOUR_METRICS[metric];
      if (liquidations) return { name, metric, kind: 'per-liquidation' as const, months: 1 - Math.exp(-(liquidations === 'ours' ? a.liquidationsPerDay : a.marketLiquidationsPerDay) / 24) };
      return { name, metric, kind: 'every-run' as const, months: 1 };
    }),
  );
  const monthsOf = (kind: string) => metricMonths.filter((m) => m.kind === kind).reduce((sum, m) => sum + m.months, 0);
  const countOf = (kind: string) => metricMonths.filter((m) => m.kind === kind).length;
  add('CloudWatch', `custom metrics sent every run (scanner, indexer): ${countOf('every-run')}`, monthsOf('every-run'), 'metric-months', monthsOf('every-run') * PRICES.cloudWatchPerMetricMonth);
  add('CloudWatch', `custom metrics per candidate (worker): ${countOf('per-candidate')}, in hours with one`, monthsOf('per-candidate'), 'metric-months', monthsOf('per-candidate') * PRICES.cloudWatchPerMetricMonth);
  add('CloudWatch', `capture metrics (indexer): ${countOf('per-liquidation')}, in hours with a liquidation`, monthsOf('per-liquidation'), 'metric-months', monthsOf('per-liquidation') * PRICES.cloudWatchPerMetricMonth);
  add('CloudWatch', `event-only metrics (failures, breakers, trigger): ${countOf('event')}, ${MODEL.eventMetricHoursPerMonth} h each`, monthsOf('event'), 'metric-months', monthsOf('event') * PRICES.cloudWatchPerMetricMonth);
  // Seven single-metric alarms; the three Metrics Insights alarms analyse one series per function that sends it.
  const alarmMetrics = 7 + 3 * 2;
  add('CloudWatch', 'alarms (7 standard + 3 Metrics Insights sums over the functions)', alarmMetrics, 'alarm metrics', alarmMetrics * PRICES.cloudWatchPerAlarmMetricMonth);
  add('CloudWatch', 'dashboard', 1, 'dashboards', PRICES.cloudWatchPerDashboardMonth);
  const logGb = (scannerInvocations * MODEL.scannerLogBytesPerInvocation + indexerInvocations * MODEL.indexerLogBytesPerInvocation + candidates * MODEL.workerLogBytesPerCandidate) / 1e9;
  add('CloudWatch', 'logs ingested (EMF + INFO logs)', logGb, 'GB', logGb * PRICES.cloudWatchLogsIngestPerGb);
  add('CloudWatch', 'logs stored (30-day retention)', logGb, 'GB-month', logGb * PRICES.cloudWatchLogsStoragePerGbMonth);

  // ── KMS ──
  add('KMS', 'keys: the signer (secp256k1) and the alarm topic key', 2, 'keys', 2 * PRICES.kmsPerKeyMonth);
  const kmsRequests = a.liquidationsPerDay * days * MODEL.signsPerLiquidation + environmentStarts;
  add('KMS', 'Sign per transaction (+ replacements), GetPublicKey per worker environment', kmsRequests, 'requests', (kmsRequests / 1e4) * PRICES.kmsAsymmetricPer10kRequests);

  // ── Secrets Manager ──
  add('Secrets Manager', 'the RPC URL secret', 1, 'secrets', PRICES.secretsManagerPerSecretMonth);
  const secretCalls = MODEL.environmentsReadingSecrets * (SECONDS_PER_MONTH / MODEL.secretCacheSec);
  add('Secrets Manager', 'GetSecretValue (Powertools caches 5 min per environment)', secretCalls, 'calls', (secretCalls / 1e4) * PRICES.secretsManagerPer10kCalls);

  // ── EventBridge Scheduler ──
  const schedules = scannerInvocations + indexerInvocations;
  add('EventBridge Scheduler', 'scanner + indexer invocations', schedules, 'invocations', (schedules / 1e6) * PRICES.schedulerPerMillionInvocations);

  const totalUsd = lines.reduce((sum, l) => sum + l.usd, 0);
  const largest = [...lines].sort((x, y) => y.usd - x.usd).slice(0, 5).map((l) => ({ service: l.service, item: l.item, usd: l.usd }));
  return {
    region: 'us-east-1',
    totalUsdPerMonth: totalUsd,
    lines,
    largest,
    targets: {
      awsUsdPerMonth: { target: TARGETS.awsUsdPerMonth, value: totalUsd, met: totalUsd <= TARGETS.awsUsdPerMonth },
      rpcCallsPerMonth: { target: TARGETS.rpcCallsPerMonth, value: Math.round(rpcCallsPerMonth), met: rpcCallsPerMonth <= TARGETS.rpcCallsPerMonth },
    },
    measured: {
      source: measured.source,
      measuredAt: measured.measuredAt,
      benchBorrowers: measured.borrowers,
      benchBlockTimeSec: measured.blockTimeSec,
      steadyCallsPerBlock: measured.steady.callsPerBlock,
      steadyCallsPerBlockByRole: measured.steady.callsPerBlockByRole,
      shockCallsPerBlock: measured.shock.callsPerBlock,
      shockAccountsReadPerBlock: measured.shock.accountsReadPerBlock,
      steadyWritesPerBlock: { records: measured.steady.recordsWrittenPerBlock, snapshots: measured.steady.snapshotsWrittenPerBlock },
      shockWritesPerBlock: { records: measured.shock.recordsWrittenPerBlock, snapshots: measured.shock.snapshotsWrittenPerBlock },
      cpu: measured.cpu,
    },
    assumptions: Object.fromEntries((Object.keys(a) as (keyof Assumptions)[]).map((k) => [k, { value: a[k], meaning: ASSUMPTION_NOTES[k] }])),
    model: MODEL,
    derived: {
      scanner: { rateSec: scannerRateSec, timeoutSec: scannerTimeoutSec, runSec: scannerRunSec, overlap, chunkSize: scanner.chunkSize, maxReadIntervalSec: scanner.reads.maxReadIntervalSec },
      scannerCpu,
      blocksPerMonth: blocks,
      rpcCallsPerBlock: { steady: steadyCallsPerBlock, shock: shockCallsPerBlock, fullRead: chunks(a.accounts) },
      rpcCallsPerMonthBySource: Object.fromEntries(Object.entries(rpc).map(([k, v]) => [k, Math.round(v)])),
      rpcCallsPerMonth: Math.round(rpcCallsPerMonth),
      dynamoDbWrites: { records: Math.round(recordWrites), snapshots: Math.round(snapshotWrites), materialMoves: Math.round(materialMoves) },
      customMetrics: metricMonths,
    },
    notes: [
      'List prices, no free tier, no Savings Plans; data transfer is not billed (RPC responses are inbound, Lambdas run outside a VPC).',
      'The RPC provider bills the JSON-RPC calls above separately.',
      'The scanner is billed for wall time, waits included: it follows blocks continuously, two environments at once for the schedule overlap.',
      `Always-free tier (per account, not per instance) would take off about ${freeTierUsd(lines, { lambdaGbSeconds: lambdaGbs, lambdaRequests: requests }).toFixed(2)} USD: ${FREE_TIER_NOTE}.`,
    ],
  };
}

/** The targets of issue 13 (PERFORMANCE.md): 10,000 accounts at 12 s blocks. */
const TARGETS = { awsUsdPerMonth: 10, rpcCallsPerMonth: 3_000_000 } as const;

const FREE_TIER_NOTE = 'Lambda 400,000 GB-s and 1M requests, CloudWatch 10 metrics, 10 alarms and 3 dashboards, SQS 1M requests, KMS 20,000 requests a month';

/** What the always-free tier would take off (it is the account's, shared by everything in it: not applied above). */
function freeTierUsd(lines: readonly Line[], lambda: { lambdaGbSeconds: number; lambdaRequests: number }): number {
  const sumOf = (service: string, pattern: RegExp) => lines.filter((l) => l.service === service && pattern.test(l.item)).reduce((s, l) => s + l.usd, 0);
  const metricMonths = lines.filter((l) => l.service === 'CloudWatch' && /metrics/.test(l.item)).reduce((s, l) => s + l.quantity, 0);
  return (
    Math.min(lambda.lambdaGbSeconds, 400_000) * PRICES.lambdaArmPerGbSecond +
    (Math.min(lambda.lambdaRequests, 1e6) / 1e6) * PRICES.lambdaPerMillionRequests +
    Math.min(metricMonths, 10) * PRICES.cloudWatchPerMetricMonth +
    sumOf('CloudWatch', /^alarms/) +
    sumOf('CloudWatch', /^dashboard/) +
    sumOf('SQS', /./) +
    Math.min(sumOf('KMS', /^Sign/), (20_000 / 1e4) * PRICES.kmsAsymmetricPer10kRequests)
  );
}

function main(): void {
  const values = cliArgs({
    name: 'cost-estimate',
    usage: `usage: npx tsx bench/cost-estimate.ts [--json] [--measured FILE] [--accounts 10000] [--block-sec 12] [--reserves 50]
                                      [--shock-blocks-per-month 2160] [--material-changes-per-day 2]
                                      [--candidates-per-day 50] [--liquidations-per-day 20] [--market-liquidations-per-day 50]
  --json                       print the estimate as JSON instead of a table
  --measured FILE              the change-driven scanner's measured figures (default bench/out/rpc-calls.json,
                               written by \`npx tsx bench/run.ts --only rpc-calls\`); missing: exit 2
${Object.entries(ASSUMPTION_NOTES)
  .map(([key, note]) => `  --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).padEnd(27)}${note}`)
  .join('\n')}
  -h, --help                   print this help
Each assumption is a non-negative number; its default is shown above.`,
    options: {
      json: { type: 'boolean', default: false },
      measured: { type: 'string', default: RPC_CALLS_JSON_PATH },
      accounts: { type: 'string', default: '10000' },
      'block-sec': { type: 'string', default: '12' },
      reserves: { type: 'string', default: '50' },
      'shock-blocks-per-month': { type: 'string', default: '2160' },
      'material-changes-per-day': { type: 'string', default: '2' },
      'candidates-per-day': { type: 'string', default: '50' },
      'liquidations-per-day': { type: 'string', default: '20' },
      'market-liquidations-per-day': { type: 'string', default: '50' },
    },
  });
  const num = (flag: string, value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got ${value}`);
    return n;
  };
  let measured: MeasuredScanner;
  try {
    measured = readMeasuredScanner(values.measured);
  } catch (err) {
    if (!(err instanceof MissingMeasurementError)) throw err;
    console.error(`cost-estimate: ${err.message}`);
    process.exit(2);
  }
  const result = estimate(
    {
      accounts: num('accounts', values.accounts),
      blockSec: num('block-sec', values['block-sec']),
      reserves: num('reserves', values.reserves),
      shockBlocksPerMonth: num('shock-blocks-per-month', values['shock-blocks-per-month']),
      materialChangesPerDay: num('material-changes-per-day', values['material-changes-per-day']),
      candidatesPerDay: num('candidates-per-day', values['candidates-per-day']),
      liquidationsPerDay: num('liquidations-per-day', values['liquidations-per-day']),
      marketLiquidationsPerDay: num('market-liquidations-per-day', values['market-liquidations-per-day']),
    },
    measured,
  );
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));
  const m = result.measured;
  console.log(`Monthly AWS cost of one keeper instance, ${result.region} list prices`);
  console.log(`measured: ${m.source} (${m.measuredAt}; ${m.benchBorrowers.toLocaleString('en-US')} borrowers, ${m.benchBlockTimeSec} s blocks)\n`);
  console.log(`${'service'.padEnd(22)} ${'item'.padEnd(92)} ${'quantity'.padStart(14)} ${'unit'.padEnd(13)} ${'USD'.padStart(9)}`);
  for (const l of result.lines) {
    console.log(`${l.service.padEnd(22)} ${l.item.slice(0, 92).padEnd(92)} ${fmt(l.quantity).padStart(14)} ${l.unit.padEnd(13)} ${l.usd.toFixed(2).padStart(9)}`);
  }
  console.log(`${'total'.padEnd(22)} ${''.padEnd(92)} ${''.padStart(14)} ${''.padEnd(13)} ${result.totalUsdPerMonth.toFixed(2).padStart(9)}\n`);
  const d = result.derived;
  const r = d.rpcCallsPerMonthBySource;
  console.log(
    `RPC calls per month: ${d.rpcCallsPerMonth.toLocaleString('en-US')} = steady blocks ${r.steady.toLocaleString('en-US')} (${d.rpcCallsPerBlock.steady.toFixed(2)}/block measured × overlap ×${d.scanner.overlap.toFixed(2)}) ` +
      `+ shock blocks ${r.shock.toLocaleString('en-US')} (${d.rpcCallsPerBlock.shock.toFixed(2)}/block) + full reads ${r.fullReads.toLocaleString('en-US')} (${d.rpcCallsPerBlock.fullRead} calls each: hourly per environment and each new one) ` +
      `+ reserve layout ${r.layout.toLocaleString('en-US')}`,
  );
  console.log(
    `store writes per block, measured: steady ${m.steadyWritesPerBlock.records.toFixed(2)} records + ${m.steadyWritesPerBlock.snapshots.toFixed(2)} snapshots; ` +
      `shock ${m.shockWritesPerBlock.records.toFixed(1)} + ${m.shockWritesPerBlock.snapshots.toFixed(1)}; month: ${d.dynamoDbWrites.records.toLocaleString('en-US')} record WRU (GSI included), ${d.dynamoDbWrites.snapshots.toLocaleString('en-US')} snapshots`,
  );
  const c = d.scannerCpu;
  console.log(
    `scanner CPU, measured alone: ${c.quietBlockCpuMs.toFixed(1)} ms per quiet block, ${c.fullReadCpuMs.toFixed(0)} ms per full read; at ${c.memoryMb} MB (${(c.vcpu * 100).toFixed(1)} % of a vCPU) ` +
      `a quiet block takes ${c.quietBlockSec.toFixed(2)} s (max ${c.maxQuietBlockSec.toFixed(2)} s) and a full read ${c.fullReadSec.toFixed(2)} s of a ${c.blockSec} s block`,
  );
  const t = result.targets;
  console.log(
    `targets: AWS ≤ $${t.awsUsdPerMonth.target}/month: ${t.awsUsdPerMonth.met ? 'met' : 'NOT met'} ($${t.awsUsdPerMonth.value.toFixed(2)}); ` +
      `RPC ≤ ${t.rpcCallsPerMonth.target.toLocaleString('en-US')} calls/month: ${t.rpcCallsPerMonth.met ? 'met' : 'NOT met'} (${t.rpcCallsPerMonth.value.toLocaleString('en-US')})`,
  );
  console.log(`largest items: ${result.largest.map((l) => `${l.service} ${l.item.split(':')[0]} $${l.usd.toFixed(2)}`).join('; ')}`);
  console.log('\nassumptions:');
  for (const [key, { value, meaning }] of Object.entries(result.assumptions)) console.log(`  ${key.padEnd(22)} ${String(value).padStart(8)}  ${meaning}`);
  console.log('\nnotes:');
  for (const note of result.notes) console.log(`  - ${note}`);
}

if (require.main === module) main();
