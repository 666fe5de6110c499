import { Aws, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './config';
import { PipelineAlarms } from './constructs/pipeline-alarms';
import { PipelineDashboard } from './constructs/pipeline-dashboard';
import { PipelineFunctions } from './constructs/pipeline-functions';
import type { PipelineFunctionName } from './pipeline-functions';
import {
  deadLetterOf,
  physicalQueueName,
  QUEUES,
  type QueueDefinition,
  type QueueName,
  queuesInCreationOrder,
  type TableName,
} from './resources';

export interface PipelineStackProps extends StackProps {
  config: DeploymentConfig;
  /** The stateful stack's tables, one per entry of TABLES. */
  tables: Record<TableName, dynamodb.ITableV2>;
}

/**
 * The pipeline: the queues of QUEUES with their redrive, the four functions with their schedules and event
 * source, the signing key, the alarms with their topic, and the dashboard. Apart from the signing key (retained,
 * see `createSignerKey`) nothing here holds data worth keeping, so the stack can be destroyed and redeployed.
 */
export class PipelineStack extends Stack {
  readonly queues: Record<QueueName, sqs.IQueue>;
  readonly alarmTopic: sns.ITopic;
  readonly signerKey: kms.IKey;
  readonly functions: Record<PipelineFunctionName, lambda.IFunction>;
  readonly alarms: cloudwatch.IAlarm[];

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;

    const queues = {} as Record<QueueName, sqs.Queue>;
    const keys = queuesInCreationOrder();
    for (const key of keys) {
      const def: QueueDefinition = QUEUES[key];
      const deadLetter = deadLetterOf(key);
      queues[key] = new sqs.Queue(this, def.id, {
        queueName: physicalQueueName(config.name, key),
        fifo: def.fifo,
        // Deduplication is by the explicit MessageDeduplicationId (chain#market#borrower#block), never by body.
        contentBasedDeduplication: def.fifo ? false : undefined,
        visibilityTimeout: Duration.seconds(def.visibilityTimeoutSec),
        retentionPeriod: Duration.seconds(def.retentionSec),
        deadLetterQueue: deadLetter && { queue: queues[deadLetter.queue], maxReceiveCount: deadLetter.maxReceiveCount },
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
    }
    this.queues = queues;

    const alarmTopic = this.createAlarmTopic(config);
    this.alarmTopic = alarmTopic;

    const alarms: cloudwatch.IAlarm[] = [];
    const deadLetterQueues = new Set(keys.flatMap((key) => deadLetterOf(key)?.queue ?? []));
    for (const key of deadLetterQueues) {
      const def: QueueDefinition = QUEUES[key];
      const notEmpty = new cloudwatch.Alarm(this, `${def.id}NotEmpty`, {
        alarmName: `${config.name}-${def.baseName}-not-empty`,
        alarmDescription: `${physicalQueueName(config.name, key)} holds messages: ${def.description}. Inspect and redrive or purge.`,
        // SQS publishes queue metrics once a minute; Maximum catches a single message that stays for one period.
        metric: queues[key].metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // SQS stops publishing metrics for an empty, idle queue: no data means nothing is waiting.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      notEmpty.addAlarmAction(new cloudwatchActions.SnsAction(alarmTopic));
      alarms.push(notEmpty);
    }

    this.signerKey = this.createSignerKey(config);
    const { functions } = new PipelineFunctions(this, 'Functions', { config, tables: props.tables, queues, signerKey: this.signerKey });
    this.functions = functions;
    alarms.push(...new PipelineAlarms(this, 'Alarms', { config, functions, topic: alarmTopic }).alarms);
    this.alarms = alarms;
    new PipelineDashboard(this, 'Dashboard', { config, functions, queues, alarms });
  }

  /**
   * The keeper's signer: a secp256k1 key that never leaves KMS (Ethereum's curve; the address derives from its
   * public key). Retained when the stack is destroyed: the address may still hold funds, and a deleted key
   * cannot sign them away. Only the functions that send transactions may use it (PipelineFunctions grants
   * kms:Sign and kms:GetPublicKey to exactly those); the default key policy leaves administration to the account.
   */
  private createSignerKey(config: DeploymentConfig): kms.Key {
    return new kms.Key(this, 'SignerKey', {
      description: `Signs the transactions of the ${config.name} liquidation keeper (secp256k1)`,
      keySpec: kms.KeySpec.ECC_SECG_P256K1,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
      alias: `alias/${config.name}-signer`,
    });
  }

  /**
   * CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed `aws/sns` key (its key policy
   * cannot grant CloudWatch), so the topic gets its own key. `enforceSSL` replaces the topic's default access
   * policy, so CloudWatch's publish permission is stated explicitly, limited to this account's alarms.
   */
  private createAlarmTopic(config: DeploymentConfig): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: `Encrypts the ${config.name} alarm topic`,
      enableKeyRotation: true,
      // The key only protects notifications in flight; once the topic is gone it protects nothing.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    const topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: `${config.name}-alarms`,
      displayName: `${config.name} liquidation keeper alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );
    if (config.alertEmail) topic.addSubscription(new subscriptions.EmailSubscription(config.alertEmail));
    return topic;
  }
}
