import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbClient, createSqsClient } from '../../functions/adapters/aws/clients';
import {
  deadLetterOf,
  physicalQueueName,
  physicalTableName,
  QUEUES,
  type QueueName,
  queuesInCreationOrder,
  TABLES,
  type TableDefinition,
  type TableName,
} from '../../lib/resources';

/** DynamoDB Local client: the pipeline's own client factory, pointed at the emulator. */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return createDynamoDbClient({ endpoints: { dynamodb: endpoint } });
}

/** fauxqs client: the pipeline's own client factory, pointed at the emulator. */
export function localSqsClient(endpoint: string): SQSClient {
  return createSqsClient({ endpoints: { sqs: endpoint } });
}

export function createTableInput(def: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  const add = (key: { name: string; type: 'S' | 'N' } | undefined): void => {
    if (key) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  };
  add(def.partitionKey);
  add(def.sortKey);
  for (const gsi of def.globalSecondaryIndexes ?? []) {
    add(gsi.partitionKey);
    add(gsi.sortKey);
  }
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    GlobalSecondaryIndexes: def.globalSecondaryIndexes?.map((gsi) => ({
      IndexName: gsi.indexName,
      KeySchema: keySchema(gsi.partitionKey, gsi.sortKey),
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

export type TableNames = Record<TableName, string>;
export type QueueUrls = Record<QueueName, string>;

/** Creates every pipeline table (from lib/resources.ts) and returns their physical names. */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<TableNames> {
  const names = {} as TableNames;
  for (const [key, def] of Object.entries(TABLES) as [TableName, TableDefinition][]) {
    const tableName = physicalTableName(prefix, key);
    await client.send(new CreateTableCommand(createTableInput(def, tableName)));
    if (def.timeToLiveAttribute) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true },
        }),
      );
    }
    names[key] = tableName;
  }
  return names;
}

/** Creates every queue, dead-letter queues before the queues that redrive into them. */
export async function createQueues(client: SQSClient, prefix: string): Promise<QueueUrls> {
  const urls = {} as QueueUrls;
  const arns = {} as Record<QueueName, string>;
  for (const key of queuesInCreationOrder()) {
    const def = QUEUES[key];
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(def.visibilityTimeoutSec),
      MessageRetentionPeriod: String(def.retentionSec),
    };
    if (def.fifo) {
      attributes.FifoQueue = 'true';
      attributes.ContentBasedDeduplication = 'false';
    }
    const deadLetter = deadLetterOf(key);
    if (deadLetter) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: arns[deadLetter.queue],
        maxReceiveCount: deadLetter.maxReceiveCount,
      });
    }
    const created = await client.send(new CreateQueueCommand({ QueueName: physicalQueueName(prefix, key), Attributes: attributes }));
    if (!created.QueueUrl) throw new Error(`creating queue ${key} returned no URL`);
    urls[key] = created.QueueUrl;
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: created.QueueUrl, AttributeNames: ['QueueArn'] }));
    const arn = attrs.Attributes?.QueueArn;
    if (!arn) throw new Error(`queue ${key} has no ARN`);
    arns[key] = arn;
  }
  return urls;
}
