import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './config';
import { type KeyDefinition, physicalTableName, TABLES, type TableDefinition, type TableName } from './resources';

export interface StatefulStackProps extends StackProps {
  config: DeploymentConfig;
}

/**
 * The keeper's durable state: one DynamoDB table per entry of TABLES. Kept apart from the pipeline so the
 * pipeline stack can be replaced or destroyed freely while the data stays.
 */
export class StatefulStack extends Stack {
  readonly tables: Record<TableName, dynamodb.ITableV2>;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    const tables = {} as Record<TableName, dynamodb.ITableV2>;
    for (const key of Object.keys(TABLES) as TableName[]) {
      const def: TableDefinition = TABLES[key];
      tables[key] = new dynamodb.TableV2(this, def.id, {
        // A fixed name makes CloudFormation refuse any change that would replace the table (and with it the
        // data) instead of silently creating a new, empty one; it is also the name the local world uses.
        tableName: physicalTableName(config.name, key),
        partitionKey: attribute(def.partitionKey),
        sortKey: def.sortKey && attribute(def.sortKey),
        globalSecondaryIndexes: def.globalSecondaryIndexes?.map((gsi) => ({
          indexName: gsi.indexName,
          partitionKey: attribute(gsi.partitionKey),
          sortKey: gsi.sortKey && attribute(gsi.sortKey),
          projectionType: dynamodb.ProjectionType.ALL,
        })),
        timeToLiveAttribute: def.timeToLiveAttribute,
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    this.tables = tables;
  }
}

function attribute(key: KeyDefinition): dynamodb.Attribute {
  const types = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER } as const;
  return { name: key.name, type: types[key.type] };
}
