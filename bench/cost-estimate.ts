/**
 * npx tsx bench/cost-estimate.ts [--json] [--accounts 10000] [--block-sec 12] [--reserves 50] [--hot-share 0.02]
 *                                [--material-changes-per-day 2] [--candidates-per-day 50] [--liquidations-per-day 20]
 *
 * Monthly AWS cost of one keeper instance (us-east-1, list prices, no free tier) scanning `accounts` borrowers at
 * every block. Every count is derived from the code, cited where it is read:
 * - the scanner's settings are the defaults of functions/config/pipeline-config.ts (loaded, not copied);
 * - memory, timeouts and schedules come from lib/pipeline-functions.ts and deploy/config.example.json;
 * - the RPC calls per block follow functions/pipeline/scan-blocks.ts (head polls), the HealthLens chunks of
 *   functions/adapters/chain/health-scan.ts and the per-block reads of aave-v3-oracle-reader.ts. The formula is
 *   checked against the one measured figure there is: the block-following scanner's RPC calls per minute in the
 *   detection-latency benchmark (bench-results.json, or BENCHMARKS.md);
 * - the custom metrics are the metric names the handlers pass to Powertools (read from their source).
 * What the code cannot tell (how many accounts sit near liquidation, how often health moves, how many
 * candidates a day) are assumptions, printed with the result and settable by flag.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipelineConfig } from '../functions/config/pipeline-config';
import { loadDeploymentConfig } from '../lib/config';
import { PIPELINE_FUNCTIONS, type PipelineFunctionName, timeoutSecOf } from '../lib/pipeline-functions';
import { cliArgs } from '../local/cli-args';

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
  /** https://aws.amazon.com/cloudwatch/pricing/ — custom metrics, first 10,000, per metric-month. */
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
  /** Reserves of the market: one latestRoundData per reserve and block; one BreakerOpen series per asset at most. */
  reserves: number;
  /** Accounts with HF below 1.05 (watch tier `hot`): a snapshot at every block they are read. */
  hotShare: number;
  /** Health-factor moves of ≥ 1 % per account and day: a borrower record (and GSI) write plus a snapshot. */
  materialChangesPerDay: number;
  candidatesPerDay: number;
  liquidationsPerDay: number;
}

/** What the code does not decide; each is printed with the result. */
const ASSUMPTION_NOTES: Record<keyof Assumptions, string> = {
  accounts: 'tracked borrowers, every one read at every block (the upper bound: watch tiers read warm/cold accounts every 5/30 blocks)',
  blockSec: 'seconds per block (Ethereum: 12)',
  reserves: 'reserves of the market (Aave V3 Ethereum core lists about 50)',
  hotShare: 'share of accounts with HF < 1.05 (written as a snapshot at every block)',
  materialChangesPerDay: 'health-factor moves of at least 1 % per account and day',
  candidatesPerDay: 'candidates the worker handles per day',
  liquidationsPerDay: 'transactions sent per day (one KMS Sign each, plus replacements)',
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
  /** Assets whose oracle breaker opens within a month (BreakerOpen is emitted per asset, only once it opened). */
  breakerAssetsPerMonth: 5,
} as const;

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

/**
 * JSON-RPC requests per scanned block (scan-blocks.ts handleBlock and its loop):
 * - oracle (aave-v3-oracle-reader.ts readAt): eth_getBlockByNumber, getReservesList, getPriceOracle,
 *   getAssetsPrices, and one latestRoundData per reserve;
 * - health (health-scan.ts scanWithLens): one eth_call per chunk of `chunkSize` accounts;
 * - head (scan-blocks.ts pollHead): one eth_blockNumber per poll interval while waiting, plus one after the block.
 * The reserve layout (ADDRESSES_PROVIDER, getReserveData and getSourceOfAsset per reserve) is read once per
 * execution environment and counted apart.
 */
function rpcCallsPerBlock(accountsPerBlock: number, reserves: number, blockSec: number, chunkSize: number, pollIntervalMs: number) {
  const oracle = 4 + reserves;
  const health = Math.ceil(accountsPerBlock / chunkSize);
  const head = Math.max(1, Math.floor((blockSec * 1000) / pollIntervalMs)) + 1;
  return { oracle, health, head, total: oracle + health + head };
}

/**
 * The measured RpcCalls of the block-following scanner: from bench-results.json when the last `npm run bench`
 * ran detection-latency, else the figure of record in BENCHMARKS.md (same benchmark). Its scenario, crash-30:
 * 300 borrowers, 2 s blocks, three reserves (WETH, USDC, WBTC).
 */
function measuredRpcCalls(): { callsPerMinute: number; source: string; accounts: number; blockSec: number; reserves: number } | undefined {
  const scenario = { accounts: 300, blockSec: 2, reserves: 3 };
  const resultsPath = join(PROJECT_ROOT, 'bench-results.json');
  if (existsSync(resultsPath)) {
    const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as { name: string; rows: { label: string; value: number }[] }[];
    const row = results.find((r) => r.name.startsWith('detection-latency'))?.rows.find((r) => r.label === 'block loop: RPC calls per minute');
    if (row) return { callsPerMinute: row.value, source: 'bench-results.json', ...scenario };
  }
  const benchmarksPath = join(PROJECT_ROOT, 'BENCHMARKS.md');
  if (!existsSync(benchmarksPath)) return undefined;
  // | **block loop** (…) | p50 | p95 | max | missed | RPC calls / min |
  const row = readFileSync(benchmarksPath, 'utf8')
    .split('\n')
    .find((line) => line.startsWith('| **block loop**'));
  const calls = row && Number(row.split('|').map((cell) => cell.trim()).filter((cell) => cell.length > 0).at(-1));
  return calls ? { callsPerMinute: calls, source: 'BENCHMARKS.md (detection-latency)', ...scenario } : undefined;
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

export function estimate(a: Assumptions) {
  const deployment = loadDeploymentConfig(join(PROJECT_ROOT, 'deploy', 'config.example.json'));
  const scanner = scannerDefaults();
  const lines: Line[] = [];
  const add = (service: string, item: string, quantity: number, unit: string, usd: number) => lines.push({ service, item, quantity, unit, usd });

  // ── Time line ──
  const scannerRateSec = deployment.schedule.scannerEveryMinutes * 60;
  const scannerTimeoutSec = timeoutSecOf('scanner', deployment);
  const scannerRunSec = scannerTimeoutSec - scanner.deadlineMarginMs / 1000;
  /** Invocations overlap: while two run, both scan every block (their writes are conditional, not skipped). */
  const overlap = scannerRunSec / scannerRateSec;
  const scannerInvocations = SECONDS_PER_MONTH / scannerRateSec;
  const indexerInvocations = SECONDS_PER_MONTH / (deployment.schedule.indexerEveryMinutes * 60);
  const blocks = SECONDS_PER_MONTH / a.blockSec;
  const scannedBlocks = blocks * overlap;
  const days = SECONDS_PER_MONTH / 86_400;

  // ── RPC (not billed by AWS; what the RPC provider bills) ──
  const perBlock = rpcCallsPerBlock(a.accounts, a.reserves, a.blockSec, scanner.chunkSize, scanner.pollIntervalMs);
  const environmentStarts = MODEL.environmentStartsPerHour * 24 * days;
  const layoutCalls = environmentStarts * (1 + 2 * a.reserves);
  const rpcCallsPerMonth = scannedBlocks * perBlock.total + layoutCalls;
  const measured = measuredRpcCalls();
  const check = measured && {
    source: measured.source,
    measuredPerMinute: measured.callsPerMinute,
    formulaPerMinute: (60 / measured.blockSec) * rpcCallsPerBlock(measured.accounts, measured.reserves, measured.blockSec, scanner.chunkSize, scanner.pollIntervalMs).total,
  };

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
  add('Lambda', 'requests', requests, 'requests', (requests / 1e6) * PRICES.lambdaPerMillionRequests);

  // ── DynamoDB ──
  const hotPerBlock = a.accounts * a.hotShare;
  const materialPerBlock = (a.accounts * a.materialChangesPerDay) / (86_400 / a.blockSec);
  const snapshotWrites = scannedBlocks * (hotPerBlock + materialPerBlock);
  // A borrower record write also rewrites its byWatchTier index entry (projection ALL): two write units.
  const recordWrites = scannedBlocks * materialPerBlock * 2;
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
  // BreakerOpen has an asset dimension: one series per asset whose breaker opened.
  const metricCount = metricsPerFunction.reduce((sum, f) => sum + f.metrics.length + (f.metrics.includes('BreakerOpen') ? MODEL.breakerAssetsPerMonth - 1 : 0), 0);
  add('CloudWatch', 'custom metrics (EMF, dimensions service + market)', metricCount, 'metrics', metricCount * PRICES.cloudWatchPerMetricMonth);
  // Seven single-metric alarms; the oracle alarm's Metrics Insights query analyzes one series per asset.
  const alarmMetrics = 7 + MODEL.breakerAssetsPerMonth;
  add('CloudWatch', 'alarms (7 standard + Metrics Insights over BreakerOpen per asset)', alarmMetrics, 'alarm metrics', alarmMetrics * PRICES.cloudWatchPerAlarmMetricMonth);
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
  return {
    region: 'us-east-1',
    totalUsdPerMonth: totalUsd,
    lines,
    assumptions: Object.fromEntries((Object.keys(a) as (keyof Assumptions)[]).map((k) => [k, { value: a[k], meaning: ASSUMPTION_NOTES[k] }])),
    model: MODEL,
    derived: {
      scanner: { rateSec: scannerRateSec, timeoutSec: scannerTimeoutSec, runSec: scannerRunSec, overlap, chunkSize: scanner.chunkSize, pollIntervalMs: scanner.pollIntervalMs },
      blocksPerMonth: blocks,
      rpcCallsPerBlock: perBlock,
      rpcCallsPerMonth: Math.round(rpcCallsPerMonth),
      rpcCallsCheck: check ?? 'no measured RpcCalls found (bench-results.json, BENCHMARKS.md): the formula is derived from the code only',
      customMetrics: Object.fromEntries(metricsPerFunction.map((f) => [f.name, f.metrics])),
    },
    notes: [
      'List prices, no free tier, no Savings Plans; data transfer is not billed (RPC responses are inbound, Lambdas run outside a VPC).',
      'The RPC provider bills the JSON-RPC calls above separately; they are the largest running cost outside AWS.',
      'DynamoDB writes grow with the share of hot accounts: a market under stress writes a snapshot of each at every block.',
    ],
  };
}

function main(): void {
  const values = cliArgs({
    name: 'cost-estimate',
    usage: `usage: npx tsx bench/cost-estimate.ts [--json] [--accounts 10000] [--block-sec 12] [--reserves 50] [--hot-share 0.02]
                                      [--material-changes-per-day 2] [--candidates-per-day 50] [--liquidations-per-day 20]
  --json                       print the estimate as JSON instead of a table
${Object.entries(ASSUMPTION_NOTES)
  .map(([key, note]) => `  --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).padEnd(27)}${note}`)
  .join('\n')}
  -h, --help                   print this help
Each assumption is a non-negative number; its default is shown above.`,
    options: {
      json: { type: 'boolean', default: false },
      accounts: { type: 'string', default: '10000' },
      'block-sec': { type: 'string', default: '12' },
      reserves: { type: 'string', default: '50' },
      'hot-share': { type: 'string', default: '0.02' },
      'material-changes-per-day': { type: 'string', default: '2' },
      'candidates-per-day': { type: 'string', default: '50' },
      'liquidations-per-day': { type: 'string', default: '20' },
    },
  });
  const num = (flag: string, value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got ${value}`);
    return n;
  };
  const result = estimate({
    accounts: num('accounts', values.accounts),
    blockSec: num('block-sec', values['block-sec']),
    reserves: num('reserves', values.reserves),
    hotShare: num('hot-share', values['hot-share']),
    materialChangesPerDay: num('material-changes-per-day', values['material-changes-per-day']),
    candidatesPerDay: num('candidates-per-day', values['candidates-per-day']),
    liquidationsPerDay: num('liquidations-per-day', values['liquidations-per-day']),
  });
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));
  console.log(`Monthly AWS cost of one keeper instance, ${result.region} list prices\n`);
  console.log(`${'service'.padEnd(22)} ${'item'.padEnd(92)} ${'quantity'.padStart(14)} ${'unit'.padEnd(13)} ${'USD'.padStart(9)}`);
  for (const l of result.lines) {
    console.log(`${l.service.padEnd(22)} ${l.item.slice(0, 92).padEnd(92)} ${fmt(l.quantity).padStart(14)} ${l.unit.padEnd(13)} ${l.usd.toFixed(2).padStart(9)}`);
  }
  console.log(`${'total'.padEnd(22)} ${''.padEnd(92)} ${''.padStart(14)} ${''.padEnd(13)} ${result.totalUsdPerMonth.toFixed(2).padStart(9)}\n`);
  const d = result.derived;
  console.log(
    `RPC calls per scanned block: ${d.rpcCallsPerBlock.total} (oracle ${d.rpcCallsPerBlock.oracle}, health ${d.rpcCallsPerBlock.health}, head polls ${d.rpcCallsPerBlock.head}); ` +
      `${d.rpcCallsPerMonth.toLocaleString('en-US')} per month (scanner overlap ×${d.scanner.overlap.toFixed(2)})`,
  );
  if (typeof d.rpcCallsCheck === 'string') console.log(`check: ${d.rpcCallsCheck}`);
  else {
    console.log(
      `check: at the benchmark's scale (300 borrowers, 3 reserves, 2 s blocks) the formula gives ${d.rpcCallsCheck.formulaPerMinute.toFixed(0)} calls/min; ` +
        `measured ${d.rpcCallsCheck.measuredPerMinute.toFixed(0)} (${d.rpcCallsCheck.source})`,
    );
  }
  console.log('\nassumptions:');
  for (const [key, { value, meaning }] of Object.entries(result.assumptions)) console.log(`  ${key.padEnd(22)} ${String(value).padStart(8)}  ${meaning}`);
  console.log('\nnotes:');
  for (const note of result.notes) console.log(`  - ${note}`);
}

if (require.main === module) main();
