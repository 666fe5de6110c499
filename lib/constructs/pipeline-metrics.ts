/**
 * The functions' custom CloudWatch metrics, named as the handlers emit them. Powertools Metrics writes EMF with
 * one dimension set: `service` (the serviceName the handler passes, which wins over POWERTOOLS_SERVICE_NAME)
 * followed by the default dimensions, here `{ market: MARKET_NAME }`. An alarm only sees a metric whose
 * dimensions match exactly, so every metric here carries exactly `{ service, market }`.
 *
 * BreakerOpen is one series too (the number of oracle breakers open, no asset dimension: one metric at $0.30 a
 * month instead of one per asset; the assets are in the scanner's log lines).
 *
 * Best-effort failures (BEST_EFFORT_FAILURE_METRICS) are counted by whichever function ran the step (worker,
 * trigger, scanner), and CircuitBreakerOpen by the scanner (candidates held back) and the worker (nothing sent),
 * so they are read with a Metrics Insights query, summed over every service of the market.
 *
 * Every custom metric (name × dimension set) costs $0.30 a month for each hour it is emitted, prorated: the
 * functions emit only what an alarm or the dashboard reads (CUSTOM_METRICS, BEST_EFFORT_FAILURE_METRICS), plus the
 * trigger's operator counts. README.md (Operating it → Watching it) lists the metrics dropped and where their
 * information went; test/infra/observability.test.ts checks that nothing else is emitted.
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
    'CircuitBreakerOpen',
    'UnreadableAccounts',
    'OracleLensFallbacks',
    'UndatedFeeds',
  ],
  // The capture metrics are sent only by runs that recorded a liquidation or deficit (functions/handlers/indexer.ts).
  indexer: ['BlocksBehindHead', 'LiquidationsByOthers', 'LiquidatedDebtUsdByUs', 'LiquidatedDebtUsdByOthers', 'BadDebtUsd'],
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
    'LiquidationsDropped',
    'MalformedMessages',
    'DeadLetteredCandidates',
    'ChunkRestPublishFailures',
    'PrivateSubmissionFallbacks',
    'LensFallbacks',
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
    metricName: CustomMetricName<S>,
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
   * Capture rate: debt repaid by us ÷ debt repaid by anyone, in USD at each block's oracle price, over each
   * `period`, in percent. A ratio of the period's sums, not an average of per-run ratios (a $10 liquidation would
   * weigh as much as a $1M one). The indexer sends each side only when not zero, so a missing side is 0; a period
   * without any liquidation has no rate (no data), rather than 0 % or 100 %.
   */
  captureRatePercent(period: Duration): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'IF((FILL(us, 0) + FILL(others, 0)) > 0, 100 * FILL(us, 0) / (FILL(us, 0) + FILL(others, 0)))',
      usingMetrics: {
        us: this.custom('indexer', 'LiquidatedDebtUsdByUs', { statistic: 'Sum', period }),
        others: this.custom('indexer', 'LiquidatedDebtUsdByOthers', { statistic: 'Sum', period }),
      },
      period,
      label: 'CaptureRate (% of liquidated debt, USD)',
    });
  }

  /** The sum of a best-effort failure metric over every function of the market (Metrics Insights, latest 3 hours). */
  bestEffortFailures(metricName: BestEffortFailureMetric, period: Duration): cloudwatch.MathExpression {
    return this.sumOverFunctions(metricName, period);
  }

  /** CircuitBreakerOpen of the scanner (candidates held back) and the worker (nothing sent), summed. */
  circuitBreakerOpen(period: Duration): cloudwatch.MathExpression {
    return this.sumOverFunctions('CircuitBreakerOpen', period);
  }

  /** The sum of a metric over every function of the market (Metrics Insights, latest 3 hours). */
  private sumOverFunctions(metricName: string, period: Duration): cloudwatch.MathExpression {
    const { market } = this.dimensionsOf('worker');
    return new cloudwatch.MathExpression({
      expression: `SELECT SUM(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", market, service) WHERE market = '${market}'`,
      usingMetrics: {},
      period,
      label: `${metricName} (any function)`,
    });
  }
}
