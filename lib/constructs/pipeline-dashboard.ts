/**
 * One CloudWatch dashboard per keeper instance: detection (scanner), execution (worker), the queues and the
 * functions, plus the state of every alarm.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config';
import type { PipelineFunctionName } from '../pipeline-functions';
import type { QueueName } from '../resources';
import { indexerBlocksBehindMaxOf } from './pipeline-alarms';
import { BEST_EFFORT_FAILURE_METRICS, PipelineMetrics } from './pipeline-metrics';

export interface PipelineDashboardProps {
  config: DeploymentConfig;
  functions: Record<PipelineFunctionName, lambda.IFunction>;
  queues: Record<QueueName, sqs.IQueue>;
  alarms: cloudwatch.IAlarm[];
}

const WIDTH = 8;
const HEIGHT = 6;

export class PipelineDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const { config, functions, queues, alarms } = props;
    const m = new PipelineMetrics(config);
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: WIDTH, height: HEIGHT });
    const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.IMetric) =>
      (Object.keys(functions) as PipelineFunctionName[]).map((name) => metric(functions[name]));

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.name}-keeper`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 3 * WIDTH, height: 3 }),
    );
    dashboard.addWidgets(
      graph(
        'Scanner: accounts per minute',
        [m.custom('scanner', 'AccountsScanned', { statistic: 'Sum', period: minute, label: 'scanned' })],
        [
          m.custom('scanner', 'AtRiskAccounts', { statistic: 'Maximum', period: minute, label: 'at risk (HF < 1)' }),
          m.custom('scanner', 'CandidatesEnqueued', { statistic: 'Sum', period: minute, label: 'enqueued' }),
          m.custom('scanner', 'CandidatesBlockedByBreaker', { statistic: 'Sum', period: minute, label: 'blocked by a breaker' }),
        ],
      ),
      graph(
        'Scanner: lag and oracles',
        [m.custom('scanner', 'ScanLagBlocks', { statistic: 'Maximum', period: minute, label: 'scan lag (blocks)' })],
        [
          m.custom('scanner', 'OracleAgeSeconds', { statistic: 'Maximum', period: minute, label: 'oldest oracle round (s)' }),
          m.custom('scanner', 'BreakerOpen', { statistic: 'Maximum', period: minute, label: 'oracle breakers open' }),
        ],
      ),
      graph(
        'Scanner: heartbeats, blocks and RPC calls',
        [
          m.custom('scanner', 'ScannerHeartbeat', { statistic: 'Sum', period: fiveMinutes, label: 'heartbeats / 5 min' }),
          m.custom('scanner', 'BlocksFollowed', { statistic: 'Sum', period: fiveMinutes, label: 'blocks / 5 min' }),
        ],
        [m.custom('scanner', 'RpcCalls', { statistic: 'Sum', period: fiveMinutes, label: 'RPC calls / 5 min' })],
      ),
    );
    dashboard.addWidgets(
      graph('Worker: outcomes per 5 minutes', [
        m.custom('worker', 'LiquidationsSent', { statistic: 'Sum', period: fiveMinutes, label: 'sent' }),
        m.custom('worker', 'LiquidationsMined', { statistic: 'Sum', period: fiveMinutes, label: 'mined' }),
        m.custom('worker', 'LiquidationsReverted', { statistic: 'Sum', period: fiveMinutes, label: 'reverted' }),
        m.custom('worker', 'LiquidationsRevertedByMarket', { statistic: 'Sum', period: fiveMinutes, label: 'reverted: market moved' }),
        m.custom('worker', 'FailedCandidates', { statistic: 'Sum', period: fiveMinutes, label: 'failed' }),
        m.custom('worker', 'StaleCandidates', { statistic: 'Sum', period: fiveMinutes, label: 'stale' }),
        m.custom('worker', 'SkippedUnprofitable', { statistic: 'Sum', period: fiveMinutes, label: 'unprofitable' }),
        m.custom('worker', 'DuplicateCandidates', { statistic: 'Sum', period: fiveMinutes, label: 'duplicates' }),
        m.custom('worker', 'CircuitBreakerOpen', { statistic: 'Sum', period: fiveMinutes, label: 'paused by a breaker' }),
        m.custom('worker', 'LiquidationsDropped', { statistic: 'Sum', period: fiveMinutes, label: 'dropped (nonce used)' }),
      ]),
      graph(
        'Worker: profit and detection latency',
        [m.custom('worker', 'ProfitUsd', { statistic: 'Sum', period: Duration.hours(1), label: 'profit (USD / hour)' })],
        [
          m.custom('worker', 'DetectionLatencyBlocks', { statistic: 'p50', period: fiveMinutes, label: 'latency p50 (blocks)' }),
          m.custom('worker', 'DetectionLatencyBlocks', { statistic: 'p95', period: fiveMinutes, label: 'latency p95 (blocks)' }),
          m.custom('worker', 'DetectionLatencyBlocks', { statistic: 'Maximum', period: fiveMinutes, label: 'latency max (blocks)' }),
        ],
      ),
      graph('Signer balance (native token)', [
        m.custom('worker', 'SignerBalanceEth', { statistic: 'Minimum', period: fiveMinutes, label: 'balance' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Best-effort failures per 5 minutes (any function)',
        BEST_EFFORT_FAILURE_METRICS.map((name) => m.bestEffortFailures(name, fiveMinutes)),
      ),
      graph('Other failures and fallbacks per 5 minutes', [
        m.custom('scanner', 'UnreadableAccounts', { statistic: 'Sum', period: fiveMinutes, label: 'unreadable accounts (scanner)' }),
        m.custom('scanner', 'OracleLensFallbacks', { statistic: 'Sum', period: fiveMinutes, label: 'oracle lens refused (scanner)' }),
        m.custom('scanner', 'UndatedFeeds', { statistic: 'Maximum', period: fiveMinutes, label: 'undatable oracle feeds (scanner)' }),
        m.circuitBreakerOpen(fiveMinutes),
        m.custom('worker', 'MalformedMessages', { statistic: 'Sum', period: fiveMinutes, label: 'malformed candidates' }),
        m.custom('worker', 'DeadLetteredCandidates', { statistic: 'Sum', period: fiveMinutes, label: 'dead-lettered candidates' }),
        m.custom('worker', 'ChunkRestPublishFailures', { statistic: 'Sum', period: fiveMinutes, label: 'chunk rest not queued' }),
        m.custom('worker', 'PrivateSubmissionFallbacks', { statistic: 'Sum', period: fiveMinutes, label: 'private submission → public' }),
        m.custom('worker', 'LensFallbacks', { statistic: 'Sum', period: fiveMinutes, label: 'position / quote lens refused (worker)' }),
      ]),
      new cloudwatch.GraphWidget({
        title: 'Indexer: blocks behind the head after each run (max per 5 minutes)',
        left: [m.custom('indexer', 'BlocksBehindHead', { statistic: 'Maximum', period: fiveMinutes, label: 'blocks behind head' })],
        leftAnnotations: [{ value: indexerBlocksBehindMaxOf(config), label: 'indexer-behind alarm' }],
        width: WIDTH,
        height: HEIGHT,
      }),
    );
    const hour = Duration.hours(1);
    dashboard.addWidgets(
      graph(
        'Captures: liquidated debt per hour (USD), ours vs others',
        [
          m.custom('indexer', 'LiquidatedDebtUsdByUs', { statistic: 'Sum', period: hour, label: 'ours (USD)' }),
          m.custom('indexer', 'LiquidatedDebtUsdByOthers', { statistic: 'Sum', period: hour, label: 'others (USD)' }),
        ],
        [m.custom('indexer', 'LiquidationsByOthers', { statistic: 'Sum', period: hour, label: 'liquidations by others' })],
      ),
      new cloudwatch.GraphWidget({
        title: 'Capture rate per hour (% of liquidated debt, USD; no data = no liquidation)',
        left: [m.captureRatePercent(hour)],
        leftYAxis: { min: 0, max: 100, showUnits: false },
        width: WIDTH,
        height: HEIGHT,
      }),
      graph('Bad debt created per hour (USD, Aave v3.3+ DeficitCreated)', [
        m.custom('indexer', 'BadDebtUsd', { statistic: 'Sum', period: hour, label: 'bad debt (USD)' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Queues',
        [queues.candidates.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum', label: 'candidates waiting' })],
        [
          queues.candidates.metricApproximateAgeOfOldestMessage({ period: minute, statistic: 'Maximum', label: 'oldest candidate (s)' }),
          queues.candidatesDlq.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum', label: 'dead letters' }),
        ],
      ),
      graph('Lambda errors', perFunction((fn) => fn.metricErrors({ period: fiveMinutes, statistic: 'Sum', label: `${fn.node.id} errors` }))),
      graph(
        'Lambda duration (p95)',
        perFunction((fn) => fn.metricDuration({ period: fiveMinutes, statistic: 'p95', label: `${fn.node.id} p95` })),
        perFunction((fn) => fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum', label: `${fn.node.id} throttles` })),
      ),
    );
    this.dashboard = dashboard;
  }
}
