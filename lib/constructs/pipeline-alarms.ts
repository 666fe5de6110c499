/**
 * The alarms of one keeper instance, all notifying the alarm topic. Custom metrics come from the functions'
 * EMF output (lib/constructs/pipeline-metrics.ts explains their dimensions).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config';
import type { PipelineFunctionName } from '../pipeline-functions';
import { PipelineMetrics } from './pipeline-metrics';

/** Seconds of blocks the indexer may be behind before the default threshold is crossed. */
const INDEXER_BEHIND_DEFAULT_SEC = 600;

/**
 * The indexer-behind threshold (blocks): the configured one, or ten minutes of blocks (50 at 12 s). A caught-up
 * indexer reports 0 (its run reads up to the head it read at its start); a run that ends at its deadline reports
 * what is left of the backfill.
 */
export function indexerBlocksBehindMaxOf(config: Pick<DeploymentConfig, 'alarms' | 'blockTimeSec'>): number {
  return config.alarms.indexerBlocksBehindMax ?? Math.ceil(INDEXER_BEHIND_DEFAULT_SEC / config.blockTimeSec);
}

export interface PipelineAlarmsProps {
  config: DeploymentConfig;
  functions: Record<PipelineFunctionName, lambda.IFunction>;
  topic: sns.ITopic;
}

export class PipelineAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const { config, functions, topic } = props;
    const metrics = new PipelineMetrics(config);
    const action = new cloudwatchActions.SnsAction(topic);
    const add = (alarmId: string, suffix: string, alarmProps: Omit<cloudwatch.AlarmProps, 'alarmName'>) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, { alarmName: `${config.name}-${suffix}`, ...alarmProps });
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };
    const fiveMinutes = Duration.minutes(5);

    add('WorkerErrors', 'worker-errors', {
      alarmDescription: 'The worker function failed (not a record it reported as a batch item failure): check its logs.',
      metric: functions.worker.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    add('IndexerErrors', 'indexer-errors', {
      alarmDescription: 'The indexer failed in three consecutive 5-minute periods: new borrowers are not being tracked.',
      metric: functions.indexer.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // BlocksBehindHead is sent by every run that ends (caught up, at its deadline, or behind a lagging node).
    // Missing data is ignored: no run ended in the period, so nothing is known about the lag. A failing indexer is
    // the indexer-errors alarm's (a timed-out invocation counts among Lambda Errors); treating missing as breaching
    // would also fire between the runs of an indexer scheduled less often than every 5 minutes.
    const indexerBehindMax = indexerBlocksBehindMaxOf(config);
    add('IndexerBehind', 'indexer-behind', {
      alarmDescription:
        `The indexer was more than ${indexerBehindMax} blocks behind the head after its runs for 15 minutes: borrowers who opened positions since are not scanned. ` +
        'Expected during a first backfill (README, "Backfill"); otherwise check the indexer logs for refused windows and retries, and the RPC provider\'s limits (indexer.logWindowBlocks).',
      metric: metrics.custom('indexer', 'BlocksBehindHead', { statistic: 'Maximum', period: fiveMinutes }),
      threshold: indexerBehindMax,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    // Every finished scanner invocation emits ScannerHeartbeat = 1. The window spans at least one schedule
    // period plus one invocation, so a healthy scanner always has a heartbeat in it.
    const heartbeatPeriod = Duration.minutes(Math.max(5, config.schedule.scannerEveryMinutes + 2));
    add('ScannerHeartbeatMissing', 'scanner-heartbeat-missing', {
      alarmDescription: `No scanner invocation finished in ${heartbeatPeriod.toMinutes()} minutes: nothing is being scanned.`,
      metric: metrics.custom('scanner', 'ScannerHeartbeat', { statistic: 'Sum', period: heartbeatPeriod }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No heartbeat at all is exactly the failure this alarm is for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    add('OracleBreakerOpen', 'oracle-breaker-open', {
      alarmDescription: 'An oracle circuit breaker is open (stale or jumping price): accounts using that asset are not enqueued.',
      metric: metrics.custom('scanner', 'BreakerOpen', { statistic: 'Maximum', period: fiveMinutes }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    add('WorkerBreakerOpen', 'worker-breaker-open', {
      alarmDescription: 'Execution is paused by a circuit breaker (kill switch, revert streak, daily gas budget or gas price cap).',
      // The scanner counts it while it holds candidates back, the worker when a queued one is not sent: a kill
      // switch with nothing queued is seen by the scanner only.
      metric: metrics.circuitBreakerOpen(fiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A failed breaker update is tolerated (the liquidation is mined), but the daily gas budget and the revert
    // streak miss that transaction: while updates fail, those breakers may stay closed when they should open.
    add('BreakerUpdateFailed', 'breaker-update-failed', {
      alarmDescription:
        'The execution breakers were not told a settled transaction (BreakerUpdateFailures): the daily gas budget and the revert streak are not counting; check the keeper-state table and the worker logs ("best-effort step failed: breaker-update").',
      metric: metrics.bestEffortFailures('BreakerUpdateFailures', fiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A lease left `signed` after its transaction was refused (a failed release) holds its nonce: gap repair
    // re-broadcasts the refused bytes instead of filling it, and the signer's later transactions queue behind it.
    add('NonceLeaseUpdateFailed', 'nonce-lease-update-failed', {
      alarmDescription:
        'A nonce lease was not confirmed or released (NonceLeaseUpdateFailures): a nonce held by a refused transaction blocks the signer\'s later ones; check the nonce-leases table and the logs ("best-effort step failed: nonce-lease-…").',
      metric: metrics.bestEffortFailures('NonceLeaseUpdateFailures', fiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    add('SignerBalanceLow', 'signer-balance-low', {
      alarmDescription: `The signer holds less than ${config.alarms.signerBalanceMinEth} of the native token: fund it before transactions fail.`,
      metric: metrics.custom('worker', 'SignerBalanceEth', { statistic: 'Minimum', period: Duration.minutes(15) }),
      threshold: config.alarms.signerBalanceMinEth,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // The balance is reported after each worker batch only: no batch, no news, keep the last state.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    // DeficitCreated exists from Aave v3.3 on: a V3.0 market never sends BadDebtUsd and this alarm stays OK there.
    add('BadDebt', 'bad-debt', {
      alarmDescription:
        `Liquidations left more than $${config.alarms.badDebtUsdMax} of bad debt (DeficitCreated) within 5 minutes: accounts went underwater before anyone liquidated them; see the deficit records in the keeper-state table (pk deficits#<market>) and the capture rate.`,
      metric: metrics.custom('indexer', 'BadDebtUsd', { statistic: 'Sum', period: fiveMinutes }),
      threshold: config.alarms.badDebtUsdMax,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // Sent only when a deficit was recorded: no data is no bad debt.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    add('RevertRate', 'revert-rate', {
      alarmDescription: `More than ${config.alarms.maxRevertsPerHour} liquidations reverted within an hour: sizing, gas or competition needs a look.`,
      metric: metrics.custom('worker', 'LiquidationsReverted', { statistic: 'Sum', period: Duration.hours(1) }),
      threshold: config.alarms.maxRevertsPerHour,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
