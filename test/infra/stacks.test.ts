/**
 * Intent of the stateful and pipeline stacks, asserted on the synthesized templates. The tables and queues are
 * compared with what the local world builds from the same definitions in lib/resources.ts, so the two runtimes
 * cannot drift apart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type DeploymentConfig, parseDeploymentConfig } from '../../lib/config';
import { PipelineStack } from '../../lib/pipeline-stack';
import { deadLetterOf, physicalQueueName, physicalTableName, QUEUES, type QueueName, TABLES, type TableDefinition, type TableName } from '../../lib/resources';
import { StatefulStack } from '../../lib/stateful-stack';
import { createTableInput } from '../../local/world/resources';

const PROJECT_ROOT = join(__dirname, '..', '..');

/** `new App()` does not read cdk.json, so its feature flags are passed in: tests see what `cdk synth` emits. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;

const CONFIG: DeploymentConfig = parseDeploymentConfig({
  name: 'test-keeper',
  chainId: 1,
  market: { protocol: 'aave-v3', pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2' },
  rpcUrlSecretName: 'test-keeper/rpc-url',
  alertEmail: 'oncall@example.com',
});

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
}

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Builds the app as bin/app.ts does (stacks + cdk-nag) and synthesizes it in memory. */
function synthesize(config: DeploymentConfig, addToPipeline?: (stack: Stack) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'keeper-infra-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, `${config.name}-stateful`, { config });
  const pipeline = new PipelineStack(app, `${config.name}-pipeline`, { config });
  addToPipeline?.(pipeline);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let synthError: Error | undefined;
  try {
    app.synth();
  } catch (err) {
    synthError = err as Error;
  }
  const readJson = (file: string) => JSON.parse(readFileSync(join(outdir, file), 'utf8'));
  const report: ValidationReport = readJson('validation-report.json');
  const nagViolations = report.pluginReports
    .filter((r) => r.pluginName === 'AwsSolutions')
    .flatMap((r) => r.violations.map((v) => `${v.severity} ${v.ruleName}`));
  // Read from disk: templates are written before validation runs, so a cdk-nag failure leaves them assertable.
  return {
    stateful,
    pipeline,
    statefulTemplate: Template.fromJSON(readJson(stateful.templateFile)),
    pipelineTemplate: Template.fromJSON(readJson(pipeline.templateFile)),
    synthError,
    nagViolations,
  };
}

const keeper = synthesize(CONFIG);
const { statefulTemplate, pipelineTemplate } = keeper;

const tableKeys = Object.keys(TABLES) as TableName[];
const queueKeys = Object.keys(QUEUES) as QueueName[];

function tableResource(key: TableName) {
  const found = statefulTemplate.findResources('AWS::DynamoDB::GlobalTable', {
    Properties: { TableName: physicalTableName(CONFIG.name, key) },
  });
  const resources = Object.values(found);
  expect(resources).toHaveLength(1);
  return resources[0];
}

function queueLogicalId(key: QueueName): string {
  const found = pipelineTemplate.findResources('AWS::SQS::Queue', {
    Properties: { QueueName: physicalQueueName(CONFIG.name, key) },
  });
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  return ids[0];
}

const byAttributeName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
  (a.AttributeName ?? '').localeCompare(b.AttributeName ?? '');

describe('stateful stack', () => {
  it('has exactly one table per entry of TABLES', () => {
    statefulTemplate.resourceCountIs('AWS::DynamoDB::GlobalTable', tableKeys.length);
  });

  it.each(tableKeys)('%s: keys and indexes equal what the local world creates', (key) => {
    const expected = createTableInput(TABLES[key], physicalTableName(CONFIG.name, key));
    const { Properties: actual } = tableResource(key);

    expect(actual.KeySchema).toEqual(expected.KeySchema);
    expect([...actual.AttributeDefinitions].sort(byAttributeName)).toEqual([...expected.AttributeDefinitions!].sort(byAttributeName));
    expect(actual.GlobalSecondaryIndexes).toEqual(expected.GlobalSecondaryIndexes);
    expect(actual.BillingMode).toBe(expected.BillingMode);
  });

  it.each(tableKeys)('%s: point-in-time recovery, AWS-managed encryption, retained', (key) => {
    const table = tableResource(key);

    expect(table.Properties.Replicas).toEqual([
      expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
    ]);
    // SSEType KMS without a key id is the AWS-managed key `aws/dynamodb`.
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it.each(tableKeys)('%s: TTL exactly where the definition names an attribute', (key) => {
    const def: TableDefinition = TABLES[key];

    const { Properties: actual } = tableResource(key);

    expect(actual.TimeToLiveSpecification).toEqual(
      def.timeToLiveAttribute ? { AttributeName: def.timeToLiveAttribute, Enabled: true } : undefined,
    );
  });

  it('exposes every table by its TABLES key', () => {
    expect(Object.keys(keeper.stateful.tables).sort()).toEqual([...tableKeys].sort());
  });
});

describe('pipeline stack', () => {
  it('has exactly one queue per entry of QUEUES', () => {
    pipelineTemplate.resourceCountIs('AWS::SQS::Queue', queueKeys.length);
  });

  it.each(queueKeys)('%s: FIFO, timeouts and SSE from the definition', (key) => {
    const def = QUEUES[key];

    pipelineTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: physicalQueueName(CONFIG.name, key),
      FifoQueue: def.fifo ? true : Match.absent(),
      VisibilityTimeout: def.visibilityTimeoutSec,
      MessageRetentionPeriod: def.retentionSec,
      SqsManagedSseEnabled: true,
    });
  });

  it('candidates: FIFO with explicit deduplication ids and a redrive to its DLQ', () => {
    const deadLetter = deadLetterOf('candidates');
    expect(deadLetter).toBeDefined();

    pipelineTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: physicalQueueName(CONFIG.name, 'candidates'),
      FifoQueue: true,
      ContentBasedDeduplication: false,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [queueLogicalId(deadLetter!.queue), 'Arn'] },
        maxReceiveCount: deadLetter!.maxReceiveCount,
      },
    });
  });

  it.each(queueKeys)('%s: queue policy denies requests without TLS', (key) => {
    pipelineTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueLogicalId(key) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('DLQ-not-empty alarm watches the DLQ and notifies the alarm topic', () => {
    const topicId = Object.keys(pipelineTemplate.findResources('AWS::SNS::Topic'))[0];
    const dlqId = queueLogicalId(deadLetterOf('candidates')!.queue);

    pipelineTemplate.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    pipelineTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('alarm topic is encrypted with a key CloudWatch may use, and denies publishing without TLS', () => {
    const keyId = Object.keys(pipelineTemplate.findResources('AWS::KMS::Key'))[0];
    const topicId = Object.keys(pipelineTemplate.findResources('AWS::SNS::Topic'))[0];

    pipelineTemplate.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    pipelineTemplate.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    pipelineTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('subscribes the alert email only when the config has one', () => {
    const withoutEmail = synthesize({ ...CONFIG, name: 'no-email', alertEmail: undefined });

    pipelineTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: CONFIG.alertEmail });
    withoutEmail.pipelineTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('both stacks', () => {
  it('are environment-agnostic', () => {
    expect(keeper.stateful.environment).toBe('aws://unknown-account/unknown-region');
    expect(keeper.pipeline.environment).toBe('aws://unknown-account/unknown-region');
  });

  it('synthesize with zero cdk-nag AwsSolutions findings', () => {
    expect(keeper.synthError).toBeUndefined();
    expect(keeper.nagViolations).toEqual([]);
  });

  it('would report a cdk-nag finding (the check above is not vacuous)', () => {
    const withPlainQueue = synthesize({ ...CONFIG, name: 'nag-control' }, (stack) => new sqs.Queue(stack, 'PlainQueue'));

    expect(withPlainQueue.synthError?.message).toMatch(/AwsSolutions-SQS4/);
    expect(withPlainQueue.nagViolations).toEqual(expect.arrayContaining(['error AwsSolutions-SQS3', 'error AwsSolutions-SQS4']));
  });
});
