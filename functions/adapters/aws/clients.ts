/**
 * AWS SDK clients built from the pipeline configuration. On AWS the endpoints are unset and the SDK finds
 * region and credentials itself; locally they point at DynamoDB Local and fauxqs.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PipelineConfig } from '../../config/pipeline-config';

/** Emulators accept any credentials; fixed ones stop the SDK from searching the machine for a profile. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const LOCAL_REGION = 'us-east-1';

export function createDynamoDbClient(config: Pick<PipelineConfig, 'endpoints'>): DynamoDBClient {
  const endpoint = config.endpoints.dynamodb;
  return new DynamoDBClient(endpoint ? { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS } : {});
}

/** bigint-safe document client: numbers come back as NumberValue-free JS numbers, so amounts are stored as strings. */
export function createDocumentClient(config: Pick<PipelineConfig, 'endpoints'>): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(createDynamoDbClient(config), { marshallOptions: { removeUndefinedValues: true } });
}

/** `useQueueUrlAsEndpoint: false`: fauxqs queue URLs name a host that does not resolve (harmless on AWS). */
export function createSqsClient(config: Pick<PipelineConfig, 'endpoints'>): SQSClient {
  const endpoint = config.endpoints.sqs;
  return new SQSClient(
    endpoint
      ? { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, useQueueUrlAsEndpoint: false }
      : { useQueueUrlAsEndpoint: false },
  );
}

/** KMS for the signer; locally the KMS stand-in (local/kms-standin). */
export function createKmsClient(config: Pick<PipelineConfig, 'endpoints'>): KMSClient {
  const endpoint = config.endpoints.kms;
  return new KMSClient(endpoint ? { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS } : {});
}
