/**
 * The four Lambda functions of one keeper instance (lib/pipeline-functions.ts describes them), with their
 * schedules, the worker's SQS event source and least-privilege grants: each function gets exactly the tables
 * and queues its definition names, with the access it names, and the environment variable of each
 * (TABLES/QUEUES `envVar`) set to the physical name or URL.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NODE_MAJOR_VERSION } from '../bundling';
import type { DeploymentConfig } from '../config';
import {
  configEnvironment,
  liquidatorParameterNameOf,
  PIPELINE_FUNCTIONS,
  type PipelineFunctionName,
  type QueueAccess,
  type TableAccess,
  timeoutSecOf,
} from '../pipeline-functions';
import { QUEUES, type QueueDefinition, type QueueName, TABLES, type TableDefinition, type TableName } from '../resources';
import { handlerCode } from './handler-code';

/**
 * DynamoDB actions per access level. Transactions need the actions of their parts (TransactWriteItems: Put,
 * Update, Delete, ConditionCheck). DescribeTable and stream reads are left out: no function calls them.
 */
const TABLE_ACTIONS: Record<TableAccess, string[]> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:ConditionCheckItem'],
  write: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:Scan',
    'dynamodb:ConditionCheckItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ],
};

/**
 * One statement per table and function. Readers may also query the table's indexes, each named from TABLES
 * (`<table arn>/index/<name>`), so no statement holds a wildcard.
 */
function tableAccessStatement(key: TableName, table: dynamodb.ITableV2, access: TableAccess): iam.PolicyStatement {
  const def: TableDefinition = TABLES[key];
  const indexes = access === 'write' ? [] : (def.globalSecondaryIndexes ?? []).map((gsi) => `${table.tableArn}/index/${gsi.indexName}`);
  return new iam.PolicyStatement({ actions: TABLE_ACTIONS[access], resources: [table.tableArn, ...indexes] });
}

/** AWS's rule for SQS event sources: the queue's visibility timeout is at least six times the function timeout. */
const VISIBILITY_TO_TIMEOUT_RATIO = 6;

export interface PipelineFunctionsProps {
  config: DeploymentConfig;
  /** The stateful stack's tables (cross-stack references). */
  tables: Record<TableName, dynamodb.ITableV2>;
  queues: Record<QueueName, sqs.IQueue>;
  /** The secp256k1 key that signs the keeper's transactions. */
  signerKey: kms.IKey;
}

export class PipelineFunctions extends Construct {
  readonly functions: Record<PipelineFunctionName, lambda.Function>;

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const { config, tables, queues, signerKey } = props;

    const rpcUrlSecret = secretsmanager.Secret.fromSecretNameV2(this, 'RpcUrlSecret', config.rpcUrlSecretName);
    const privateRpcUrlSecret = config.privateRpcUrlSecretName
      ? secretsmanager.Secret.fromSecretNameV2(this, 'PrivateRpcUrlSecret', config.privateRpcUrlSecretName)
      : undefined;
    const bundleRelayKeySecret = config.execution.bundleRelay
      ? secretsmanager.Secret.fromSecretNameV2(this, 'BundleRelayAuthKeySecret', config.execution.bundleRelay.authKeySecretName)
      : undefined;

    const functions = {} as Record<PipelineFunctionName, lambda.Function>;
    for (const name of Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[]) {
      const def = PIPELINE_FUNCTIONS[name];
      const scheduled = name === 'indexer' || name === 'scanner';
      const fn = new lambda.Function(this, def.id, {
        functionName: `${config.name}-${def.id}`,
        description: def.description,
        // esbuild's bundle of the handler (lib/bundling.ts), built during synth.
        code: handlerCode(def.entry),
        handler: 'index.handler',
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: def.memoryMb,
        timeout: Duration.seconds(timeoutSecOf(name, config)),
        environment: configEnvironment(name, config),
        logGroup: new logs.LogGroup(this, `${def.id}Logs`, {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        // A failed scheduled run is not retried: the next one starts within the schedule period anyway.
        ...(scheduled ? { retryAttempts: 0, maxEventAge: Duration.minutes(1) } : {}),
      });
      functions[name] = fn;

      for (const [table, access] of Object.entries(def.tables) as [TableName, TableAccess][]) {
        fn.addEnvironment(TABLES[table].envVar, tables[table].tableName);
        fn.addToRolePolicy(tableAccessStatement(table, tables[table], access));
      }
      for (const [queue, access] of Object.entries(def.queues) as [QueueName, QueueAccess][]) {
        const target = queues[queue];
        fn.addEnvironment(QUEUES[queue].envVar, target.queueUrl);
        if (access === 'send' || access === 'consume-and-send') target.grantSendMessages(fn);
        if (access === 'consume' || access === 'consume-and-send') this.consume(fn, queue, target, config);
      }

      rpcUrlSecret.grantRead(fn);
      if (def.recognisesOwnLiquidations && !def.sends) {
        // The signer's address only: GetPublicKey, never Sign. SIGNER_MODE names the keys; nothing here signs.
        fn.addEnvironment('SIGNER_MODE', 'kms');
        fn.addEnvironment('KMS_KEY_ID', signerKey.keyArn);
        signerKey.grant(fn, 'kms:GetPublicKey');
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['ssm:GetParameter'],
            resources: [Stack.of(this).formatArn({ service: 'ssm', resource: 'parameter', resourceName: liquidatorParameterNameOf(config).slice(1) })],
          }),
        );
      }
      if (def.sends) {
        fn.addEnvironment('SIGNER_MODE', 'kms');
        fn.addEnvironment('KMS_KEY_ID', signerKey.keyArn);
        // Exactly what the KMS signer calls: the address once per key (GetPublicKey), then one Sign per transaction.
        signerKey.grant(fn, 'kms:Sign', 'kms:GetPublicKey');
        privateRpcUrlSecret?.grantRead(fn);
        bundleRelayKeySecret?.grantRead(fn);
        // The liquidator contract's address: read by both, written by the trigger's deploy-liquidator.
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: name === 'trigger' ? ['ssm:GetParameter', 'ssm:PutParameter'] : ['ssm:GetParameter'],
            resources: [
              Stack.of(this).formatArn({ service: 'ssm', resource: 'parameter', resourceName: liquidatorParameterNameOf(config).slice(1) }),
            ],
          }),
        );
      }
      this.acknowledgeFunctionFindings(fn);
    }
    this.functions = functions;

    this.schedule('indexer', config.schedule.indexerEveryMinutes, config);
    this.schedule('scanner', config.schedule.scannerEveryMinutes, config);
  }

  /** The worker's event source: batches with partial failures, at most `maxConcurrency` invocations at once. */
  private consume(fn: lambda.Function, key: QueueName, queue: sqs.IQueue, config: DeploymentConfig): void {
    const def: QueueDefinition = QUEUES[key];
    const timeoutSec = fn.timeout!.toSeconds();
    if (timeoutSec * VISIBILITY_TO_TIMEOUT_RATIO > def.visibilityTimeoutSec) {
      throw new Error(
        `${fn.node.id}: timeout ${timeoutSec} s exceeds a sixth of ${def.baseName}'s visibility timeout (${def.visibilityTimeoutSec} s): ` +
          'a record could become visible again while it is being processed',
      );
    }
    fn.addEventSource(
      new SqsEventSource(queue, {
        batchSize: config.worker.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: config.worker.maxConcurrency,
      }),
    );
  }

  private schedule(name: 'indexer' | 'scanner', everyMinutes: number, config: DeploymentConfig): void {
    const fn = this.functions[name];
    const id = PIPELINE_FUNCTIONS[name].id;
    // Scheduler assumes this role to invoke the function; only schedules of this account may assume it.
    const role = new iam.Role(this, `${id}ScheduleRole`, {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `Lets EventBridge Scheduler invoke ${config.name}-${id}`,
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The wildcard is the version/alias qualifier of this one function (lambda:InvokeFunction on <function arn>:*)',
    });
    new scheduler.Schedule(this, `${id}Schedule`, {
      scheduleName: `${config.name}-${PIPELINE_FUNCTIONS[name].id}`,
      description: `Invokes ${config.name}-${id} every ${everyMinutes} minute(s)`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(everyMinutes)),
      target: new schedulerTargets.LambdaInvoke(fn, {
        role,
        // An invocation that could not start within a minute is superseded by the next one.
        maxEventAge: Duration.minutes(1),
        retryAttempts: 0,
      }),
    });
  }

  private acknowledgeFunctionFindings(fn: lambda.Function): void {
    Validations.of(fn.role!).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWSLambdaBasicExecutionRole only lets the function create log streams and put log events',
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: `The bundles target Node.js ${NODE_MAJOR_VERSION} (lib/bundling.ts), the version the code is built and tested with; the runtime moves with the toolchain`,
    });
  }
}
