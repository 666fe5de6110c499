/**
 * Alarms and dashboard, checked against what the functions really emit: metric names are looked up in the
 * handlers' source, and dimensions are taken from the EMF that Powertools writes when configured as the
 * handlers configure it (functions/handlers/observability.ts). lib/ cannot import functions/, so this is where
 * the two sides meet.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createObservability, METRICS_NAMESPACE as FUNCTIONS_METRICS_NAMESPACE } from '../../functions/handlers/observability';
import { BEST_EFFORT_METRICS } from '../../functions/pipeline/best-effort';
import { BEST_EFFORT_FAILURE_METRICS, CUSTOM_METRICS, type MetricSource } from '../../lib/constructs/pipeline-metrics';
import { METRICS_NAMESPACE, PIPELINE_FUNCTIONS, type PipelineFunctionName } from '../../lib/pipeline-functions';
import { CONFIG, functionResource, PROJECT_ROOT, synthesizeKeeper } from './keeper-synth';

const keeper = synthesizeKeeper(CONFIG);
const { pipelineTemplate: template } = keeper;
const names = Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[];
const handlerSource = (name: PipelineFunctionName) => readFileSync(join(PROJECT_ROOT, PIPELINE_FUNCTIONS[name].entry), 'utf8');

/** `createObservability(<service>, config.<field>)` in a handler, the service resolved if it is a constant. */
function observabilityCall(name: PipelineFunctionName): { service: string; marketField: string } {
  const source = handlerSource(name);
  const call = /createObservability\(\s*(?:'([^']+)'|([A-Z_][A-Z0-9_]*))\s*,\s*config\.(\w+)\s*\)/.exec(source);
  if (!call) throw new Error(`${PIPELINE_FUNCTIONS[name].entry} does not call createObservability(<service>, config.<field>)`);
  const [, literal, constant, marketField] = call;
  const service = literal ?? new RegExp(`export const ${constant} = '([^']+)'`).exec(source)?.[1];
  if (!service) throw new Error(`cannot resolve ${constant} in ${PIPELINE_FUNCTIONS[name].entry}`);
  return { service, marketField };
}

/** The EMF documents Powertools prints while `emit` runs. */
function captureEmf(emit: () => void): { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }; [key: string]: unknown }[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    emit();
  } finally {
    spy.mockRestore();
  }
  return lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
}

function alarmsByName() {
  return new Map(Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => [a.Properties.AlarmName as string, a.Properties]));
}

describe('what the functions emit', () => {
  it('lib/ repeats the metrics namespace of functions/handlers/observability.ts', () => {
    expect(METRICS_NAMESPACE).toBe(FUNCTIONS_METRICS_NAMESPACE);
  });

  it.each(names)('%s: the handler names the service of its definition (POWERTOOLS_SERVICE_NAME)', (name) => {
    expect(observabilityCall(name).service).toBe(PIPELINE_FUNCTIONS[name].serviceName);
  });

  it.each(Object.keys(CUSTOM_METRICS) as MetricSource[])('%s: its market dimension is MARKET_NAME, which the stack sets to the config name', (source) => {
    expect(observabilityCall(source).marketField).toBe('marketName');
    expect(functionResource(keeper, source).properties.Environment.Variables.MARKET_NAME).toBe(CONFIG.name);
  });

  it.each(
    (Object.keys(CUSTOM_METRICS) as MetricSource[]).flatMap((source) => CUSTOM_METRICS[source].map((metric) => [source, metric] as const)),
  )('%s emits %s', (source, metric) => {
    expect(handlerSource(source)).toContain(`'${metric}'`);
  });

  it('lib/ names exactly the best-effort failure metrics that functions/pipeline/best-effort.ts counts', () => {
    expect([...BEST_EFFORT_FAILURE_METRICS].sort()).toEqual([...new Set(Object.values(BEST_EFFORT_METRICS))].sort());
  });

  it.each(['worker', 'trigger', 'scanner'] as const)('%s wires best-effort failures to its logger and metrics', (name) => {
    expect(handlerSource(name)).toContain('reportingBestEffort(logger, metrics)');
  });

  it('Powertools emits { service, market } for the handlers\' metrics, BreakerOpen included', () => {
    const { metrics } = createObservability(PIPELINE_FUNCTIONS.scanner.serviceName, CONFIG.name);

    const [plain] = captureEmf(() => {
      metrics.addMetric('ScannerHeartbeat', MetricUnit.Count, 1);
      metrics.addMetric('BreakerOpen', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    });

    expect(plain._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'market']] });
    expect(plain).toMatchObject({ service: 'scanner', market: CONFIG.name, BreakerOpen: 1 });
  });

  /** Metric names a handler passes to Powertools (addMetric('…') or the worker's count('…')). */
  const emittedBy = (name: PipelineFunctionName): string[] =>
    [...new Set([...handlerSource(name).matchAll(/(?:addMetric|\bcount)\(\s*'([A-Za-z]+)'/g)].map((m) => m[1]))].sort();

  it.each(['scanner', 'worker', 'indexer'] as const)('%s emits only what an alarm or the dashboard reads (each metric costs $0.30 a month)', (name) => {
    const read = new Set<string>([...CUSTOM_METRICS[name], ...BEST_EFFORT_FAILURE_METRICS]);

    expect(emittedBy(name).filter((metric) => !read.has(metric))).toEqual([]);
  });

  it.each(names)('%s does not capture the ColdStart metric (no alarm or graph reads it; REPORT lines carry Init Duration)', (name) => {
    expect(handlerSource(name)).not.toMatch(/captureColdStartMetric:\s*true/);
  });
});

describe('alarms', () => {
  it('every alarm notifies the alarm topic', () => {
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));

    expect(alarms.length).toBe(12);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it('custom-metric alarms name exactly the dimensions the emitting function writes', () => {
    const custom = [...alarmsByName().values()].filter((a) => a.Namespace === METRICS_NAMESPACE);

    expect(custom.length).toBe(6);
    for (const alarm of custom) {
      const source = (Object.keys(CUSTOM_METRICS) as MetricSource[]).find((s) => (CUSTOM_METRICS[s] as readonly string[]).includes(alarm.MetricName))!;
      // CloudWatch matches the set of dimensions; their order is irrelevant.
      expect([...alarm.Dimensions].sort((a: { Name: string }, b: { Name: string }) => a.Name.localeCompare(b.Name))).toEqual([
        { Name: 'market', Value: CONFIG.name },
        { Name: 'service', Value: PIPELINE_FUNCTIONS[source].serviceName },
      ]);
    }
  });

  it.each([
    ['scanner-heartbeat-missing', { MetricName: 'ScannerHeartbeat', Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' }],
    ['oracle-breaker-open', { MetricName: 'BreakerOpen', Statistic: 'Maximum', Period: 300, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' }],
    ['signer-balance-low', { MetricName: 'SignerBalanceEth', Statistic: 'Minimum', Threshold: 0.05, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'ignore' }],
    ['revert-rate', { MetricName: 'LiquidationsReverted', Statistic: 'Sum', Period: 3600, Threshold: 2, ComparisonOperator: 'GreaterThanThreshold' }],
    // Any bad debt by default; sent only when a deficit was recorded, so no data is no bad debt.
    ['bad-debt', { MetricName: 'BadDebtUsd', Statistic: 'Sum', Period: 300, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' }],
  ])('%s', (suffix, expected) => {
    expect(alarmsByName().get(`${CONFIG.name}-${suffix}`)).toMatchObject({ Namespace: METRICS_NAMESPACE, EvaluationPeriods: 1, ...expected });
  });

  it.each([
    ['breaker-update-failed', 'BreakerUpdateFailures'],
    ['nonce-lease-update-failed', 'NonceLeaseUpdateFailures'],
    ['worker-breaker-open', 'CircuitBreakerOpen'],
  ])('%s: any count of %s in any function of the market, through a Metrics Insights query', (suffix, metric) => {
    const alarm = alarmsByName().get(`${CONFIG.name}-${suffix}`)!;

    expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    expect(alarm.Metrics).toEqual([
      {
        Id: expect.any(String),
        Expression: `SELECT SUM(${metric}) FROM SCHEMA("LiquidationPipeline", market, service) WHERE market = '${CONFIG.name}'`,
        Label: expect.any(String),
        Period: 300,
        ReturnData: true,
      },
    ]);
  });

  it.each([
    ['worker-errors', 'worker', 1],
    ['indexer-errors', 'indexer', 3],
  ] as const)('%s: Lambda Errors of the %s', (suffix, name, periods) => {
    expect(alarmsByName().get(`${CONFIG.name}-${suffix}`)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionResource(keeper, name).logicalId } }],
      Statistic: 'Sum',
      Threshold: 0,
      EvaluationPeriods: periods,
    });
  });

  it('thresholds follow the config', () => {
    const custom = synthesizeKeeper({ ...CONFIG, name: 'alarm-keeper', alarms: { signerBalanceMinEth: 0.5, maxRevertsPerHour: 7, badDebtUsdMax: 1_000 } });
    const alarms = Object.values(custom.pipelineTemplate.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);

    expect(alarms).toEqual(expect.arrayContaining([
      expect.objectContaining({ AlarmName: 'alarm-keeper-signer-balance-low', Threshold: 0.5 }),
      expect.objectContaining({ AlarmName: 'alarm-keeper-revert-rate', Threshold: 7 }),
      expect.objectContaining({ AlarmName: 'alarm-keeper-bad-debt', Threshold: 1_000 }),
    ]));
  });
});

describe('the indexer-behind alarm', () => {
  it('fires after 15 minutes more than ten minutes of blocks behind (50 at 12 s), ignoring periods without a finished run', () => {
    expect(alarmsByName().get(`${CONFIG.name}-indexer-behind`)).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'BlocksBehindHead',
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 50,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      TreatMissingData: 'ignore',
      AlarmDescription: expect.stringContaining('borrowers who opened positions since are not scanned'),
    });
  });

  it.each([
    ['a 2 s chain', { blockTimeSec: 2 }, 300],
    ['a configured threshold', { alarms: { ...CONFIG.alarms, indexerBlocksBehindMax: 7_200 } }, 7_200],
  ])('takes its threshold from %s, and the dashboard marks it', (_case, change, threshold) => {
    const custom = synthesizeKeeper({ ...CONFIG, ...change, name: 'behind-keeper' });
    const alarms = Object.values(custom.pipelineTemplate.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const [dashboard] = Object.values(custom.pipelineTemplate.findResources('AWS::CloudWatch::Dashboard'));

    expect(alarms).toEqual(expect.arrayContaining([expect.objectContaining({ AlarmName: 'behind-keeper-indexer-behind', Threshold: threshold })]));
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain(`{\\"value\\":${threshold},\\"label\\":\\"indexer-behind alarm\\"`);
  });

  it('the indexer gets its log window settings from the deployment config', () => {
    const custom = synthesizeKeeper({ ...CONFIG, name: 'window-keeper', indexer: { logWindowBlocks: 10, logWindowGrowthAfter: 32 } });

    expect(functionResource(custom, 'indexer').properties.Environment.Variables).toMatchObject({ INDEXER_LOG_WINDOW: '10', INDEXER_LOG_WINDOW_GROWTH_AFTER: '32' });
    expect(functionResource(keeper, 'indexer').properties.Environment.Variables).toMatchObject({ INDEXER_LOG_WINDOW: '2000', INDEXER_LOG_WINDOW_GROWTH_AFTER: '16' });
  });
});

describe('dashboard', () => {
  const body = (): string => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard.Properties.DashboardName).toBe(`${CONFIG.name}-keeper`);
    // The body is an Fn::Join of JSON fragments and references; the fragments carry the metric names.
    return JSON.stringify(dashboard.Properties.DashboardBody);
  };

  it.each([
    'AccountsScanned',
    'AtRiskAccounts',
    'CandidatesEnqueued',
    'StaleCandidates',
    'LiquidationsSent',
    'LiquidationsMined',
    'LiquidationsReverted',
    'LiquidationsRevertedByMarket',
    'FailedCandidates',
    'ProfitUsd',
    'DetectionLatencyBlocks',
    'OracleAgeSeconds',
    'ScanLagBlocks',
    'SignerBalanceEth',
    'BreakerOpen',
    'LiquidationsDropped',
    'UnreadableAccounts',
    'OracleLensFallbacks',
    'MalformedMessages',
    'DeadLetteredCandidates',
    'ChunkRestPublishFailures',
    'PrivateSubmissionFallbacks',
    'BlocksBehindHead',
    'LiquidationsByOthers',
    'LiquidatedDebtUsdByUs',
    'LiquidatedDebtUsdByOthers',
    'BadDebtUsd',
    'ApproximateNumberOfMessagesVisible',
    'Errors',
    'Duration',
  ])('graphs %s', (metric) => {
    expect(body()).toContain(`\\"${metric}\\"`);
  });

  it.each([...BEST_EFFORT_FAILURE_METRICS, 'CircuitBreakerOpen'])('graphs %s over every function of the market', (metric) => {
    // The query's quotes are escaped once per level of JSON; the rest is as pipeline-metrics.ts writes it.
    expect(body()).toMatch(new RegExp(`SELECT SUM\\(${metric}\\) FROM SCHEMA\\([^)]*LiquidationPipeline[^)]*, market, service\\) WHERE market = '${CONFIG.name}'`));
  });

  it('graphs the capture rate as ours ÷ all of the period\'s USD sums, with no data when nothing was liquidated', () => {
    const widgets = body();
    const expression = 'IF((FILL(us, 0) + FILL(others, 0)) > 0, 100 * FILL(us, 0) / (FILL(us, 0) + FILL(others, 0)))';

    expect(widgets).toContain(expression);
    expect(widgets).toContain('CaptureRate');
    expect(widgets).toContain('no data = no liquidation');
    // Both sums feed it under the ids it names, hidden from the graph.
    expect(widgets).toMatch(/LiquidatedDebtUsdByUs[^\]]*id\W+us\W[^\]]*visible\W+false/);
    expect(widgets).toMatch(/LiquidatedDebtUsdByOthers[^\]]*id\W+others\W[^\]]*visible\W+false/);
  });

  it('shows every alarm', () => {
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));

    for (const id of alarmIds) expect(body()).toContain(`"Fn::GetAtt":["${id}","Arn"]`);
  });
});
