/**
 * The functions' custom CloudWatch metrics, named as the handlers emit them. Powertools Metrics writes EMF with
 * one dimension set: `service` (the serviceName the handler passes, which wins over POWERTOOLS_SERVICE_NAME)
 * followed by the default dimensions, here `{ market: MARKET_NAME }`. An alarm only sees a metric whose
 * dimensions match exactly, so every metric here carries exactly `{ service, market }`.
 *
 * BreakerOpen is the exception: the scanner emits it per asset (`{ service, market, asset }`), and the assets
 * are the market's reserves, unknown at deploy time. It is read with a CloudWatch Metrics Insights query that
 * takes the maximum over every asset.
 *
 * Best-effort failures (BEST_EFFORT_FAILURE_METRICS) are counted by whichever function ran the step (worker,
 * trigger, scanner), so they too are read with a Metrics Insights query, summed over every service of the market.
 */
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { DeploymentConfig } from '../config';
import { marketNameOf, METRICS_NAMESPACE, PIPELINE_FUNCTIONS, type PipelineFunctionName } from '../pipeline-functions';

/** The metric names the alarms and the dashboard read, per emitting function (grep the handler for each). */
export const CUSTOM_METRICS = {
  scanner: [
    'AccountsScanned',
    'AtRiskAccounts',
    'CandidatesEnqueued',
    'CandidatesBlockedByBreaker',
    'ScanLagBlocks',
    'OracleAgeSeconds',
    'RpcCalls',
    'BlocksFollowed',
    'ScannerHeartbeat',
    'BreakerOpen',
  ],
  worker: [
    'LiquidationsSent',
    'LiquidationsMined',
    'LiquidationsReverted',
    'LiquidationsRevertedByMarket',
    'FailedCandidates',
    'StaleCandidates',
    'SkippedUnprofitable',
    'DuplicateCandidates',
    'CircuitBreakerOpen',
    'ProfitUsd',
    'DetectionLatencyBlocks',
    'SignerBalanceEth',
  ],
} as const satisfies Partial<Record<PipelineFunctionName, readonly string[]>>;

/**
 * Failures of best-effort steps, as functions/pipeline/best-effort.ts (BEST_EFFORT_METRICS) names them; each is
 * a Count of 1 per failure with `{ service, market }`. README.md (Watching it) says what each one costs.
 */
export const BEST_EFFORT_FAILURE_METRICS = ['BreakerUpdateFailures', 'NonceLeaseUpdateFailures', 'ReceiptPollFailures', 'HeadPollFailures', 'ClaimReleaseFailures', 'PendingUpdateFailures'] as const;

export type BestEffortFailureMetric = (typeof BEST_EFFORT_FAILURE_METRICS)[number];

export type MetricSource = keyof typeof CUSTOM_METRICS;
export type CustomMetricName<S extends MetricSource> = (typeof CUSTOM_METRICS)[S][number];

export class PipelineMetrics {
  constructor(private readonly config: Pick<DeploymentConfig, 'name'>) {}

  /** The dimensions Powertools gives every metric of `source` (see the file comment). */
  dimensionsOf(source: MetricSource): { service: string; market: string } {
    return { service: PIPELINE_FUNCTIONS[source].serviceName, market: marketNameOf(this.config) };
  }

  custom<S extends MetricSource>(
    source: S,
    metricName: Exclude<CustomMetricName<S>, 'BreakerOpen'>,
    options: { statistic: string; period: Duration; label?: string },
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: this.dimensionsOf(source),
      statistic: options.statistic,
      period: options.period,
      // A label makes an alarm render the metric as a query (Metrics[]); alarms leave it out.
      label: options.label,
    });
  }

  /**
   * The highest BreakerOpen over every asset of the market: 1 while any oracle breaker is open. Metrics Insights
   * queries the latest 3 hours only, which an alarm and a short dashboard window never exceed.
   */
  breakerOpen(period: Duration): cloudwatch.MathExpression {
    const { service, market } = this.dimensionsOf('scanner');
    return new cloudwatch.MathExpression({
      expression:
        `SELECT MAX(BreakerOpen) FROM SCHEMA("${METRICS_NAMESPACE}", asset, market, service) ` +
        `WHERE market = '${market}' AND service = '${service}'`,
      usingMetrics: {},
      period,
      label: 'BreakerOpen (any asset)',
    });
  }

  /** The sum of a best-effort failure metric over every function of the market (Metrics Insights, latest 3 hours). */
  bestEffortFailures(metricName: BestEffortFailureMetric, period: Duration): cloudwatch.MathExpression {
    const { market } = this.dimensionsOf('worker');
    return new cloudwatch.MathExpression({
      expression: `SELECT SUM(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", market, service) WHERE market = '${market}'`,
      usingMetrics: {},
      period,
      label: `${metricName} (any function)`,
    });
  }
}
