/**
 * Intent of the stateful and pipeline stacks, asserted on the synthesized templates. The tables and queues are
 * compared with what the local world builds from the same definitions in lib/resources.ts, so the two runtimes
 * cannot drift apart.
 */
import { Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { deadLetterOf, physicalQueueName, physicalTableName, QUEUES, type QueueName, TABLES, type TableDefinition, type TableName } from '../../lib/resources';
import { createTableInput } from '../../local/world/resources';
import { CONFIG, synthesizeKeeper } from './keeper-synth';

const keeper = synthesizeKeeper(CONFIG);
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

  it.each(tableKeys)('%s: keys and global secondary indexes as lib/resources.ts defines them', (key) => {
    const def: TableDefinition = TABLES[key];
    const keySchema = (pk: { name: string }, sk?: { name: string }) => [
      { AttributeName: pk.name, KeyType: 'HASH' },
      ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : []),
    ];

    const { Properties: actual } = tableResource(key);

    expect(actual.KeySchema).toEqual(keySchema(def.partitionKey, def.sortKey));
    expect(actual.GlobalSecondaryIndexes ?? []).toEqual(
      (def.globalSecondaryIndexes ?? []).map((gsi) => ({
        IndexName: gsi.indexName,
        KeySchema: keySchema(gsi.partitionKey, gsi.sortKey),
        Projection: { ProjectionType: 'ALL' },
      })),
    );
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
    const [topicId, topic] = Object.entries(pipelineTemplate.findResources('AWS::SNS::Topic'))[0];
    const [keyId] = topic.Properties.KmsMasterKeyId['Fn::GetAtt'];

    expect(pipelineTemplate.toJSON().Resources[keyId].Properties).toMatchObject({
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: expect.arrayContaining([
          expect.objectContaining({
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
    const withoutEmail = synthesizeKeeper({ ...CONFIG, name: 'no-email', alertEmail: undefined });

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

  it('acknowledge each cdk-nag finding individually, with a reason', () => {
    const acknowledged = [keeper.stateful, keeper.pipeline].flatMap((stack) =>
      stack.node
        .findAll()
        .flatMap((construct) => construct.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id: id.replace(/^\w+::/, ''), reason }))),
    );

    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledged) {
      // IAM4/IAM5 findings are acknowledged one policy or resource at a time, never the whole rule.
      if (/AwsSolutions-IAM[45]/.test(id)) expect(id).toMatch(/^AwsSolutions-IAM[45]\[(Policy|Resource)::.+\]$/);
      expect(reason.length).toBeGreaterThanOrEqual(40);
    }
    expect(acknowledged.map((a) => a.id.replace(/\[.*$/, ''))).toEqual(expect.arrayContaining(['AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-L1']));
  });

  it('several keeper instances (chains, markets) deploy side by side from one app', () => {
    const base = synthesizeKeeper({ ...CONFIG, name: 'base-keeper', chainId: 8453 });
    const names = (template: typeof pipelineTemplate, type: string, property: string) =>
      Object.values(template.findResources(type)).map((r) => r.Properties[property] as string);

    for (const [type, property] of [
      ['AWS::Lambda::Function', 'FunctionName'],
      ['AWS::SQS::Queue', 'QueueName'],
      ['AWS::CloudWatch::Alarm', 'AlarmName'],
      ['AWS::Scheduler::Schedule', 'Name'],
    ] as const) {
      const mainnet = names(pipelineTemplate, type, property);
      const other = names(base.pipelineTemplate, type, property);
      expect(mainnet.every((n) => n.startsWith(`${CONFIG.name}-`))).toBe(true);
      expect(other.every((n) => n.startsWith('base-keeper-'))).toBe(true);
    }
    expect(base.nagViolations).toEqual([]);
  });

  it('would report a cdk-nag finding (the check above is not vacuous)', () => {
    const withPlainQueue = synthesizeKeeper({ ...CONFIG, name: 'nag-control' }, { addToPipeline: (stack) => new sqs.Queue(stack, 'PlainQueue') });

    expect(withPlainQueue.synthError?.message).toMatch(/AwsSolutions-SQS4/);
    expect(withPlainQueue.nagViolations).toEqual(expect.arrayContaining(['error AwsSolutions-SQS3', 'error AwsSolutions-SQS4']));
  });
});
