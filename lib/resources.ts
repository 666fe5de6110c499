/**
 * The tables and queues of the pipeline, as plain data. The CDK stateful/pipeline stacks and the local world
 * both build their resources from these definitions, so keys, indexes and queue settings have one source of
 * truth (a test asserts that the synthesized template and the local world agree). No CDK import here: the
 * local world loads this file without loading aws-cdk-lib.
 */

export type KeyType = 'S' | 'N';

export interface KeyDefinition {
  name: string;
  type: KeyType;
}

export interface TableDefinition {
  /** Stable id used for the CDK construct and the environment variable that carries the physical name. */
  id: string;
  /** Environment variable through which functions receive the table's physical name. */
  envVar: string;
  partitionKey: KeyDefinition;
  sortKey?: KeyDefinition;
  globalSecondaryIndexes?: { indexName: string; partitionKey: KeyDefinition; sortKey?: KeyDefinition }[];
  timeToLiveAttribute?: string;
  description: string;
}

export const TABLES = {
  borrowers: {
    id: 'Borrowers',
    envVar: 'BORROWERS_TABLE',
    description: 'Tracked borrowers per market, with their watch tier and last known health',
    partitionKey: { name: 'market', type: 'S' },
    sortKey: { name: 'borrower', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: 'byWatchTier',
        partitionKey: { name: 'marketTier', type: 'S' },
        sortKey: { name: 'borrower', type: 'S' },
      },
    ],
  },
  snapshots: {
    id: 'Snapshots',
    envVar: 'SNAPSHOTS_TABLE',
    description: 'Per-borrower account snapshots at scanned blocks (expire after a retention period)',
    partitionKey: { name: 'marketBorrower', type: 'S' },
    sortKey: { name: 'block', type: 'N' },
    timeToLiveAttribute: 'expiresAt',
  },
  ledger: {
    id: 'Ledger',
    envVar: 'LEDGER_TABLE',
    description: 'Liquidation attempts and their transaction states, every transition a conditional write',
    partitionKey: { name: 'opportunity', type: 'S' },
    sortKey: { name: 'attempt', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: 'byState',
        partitionKey: { name: 'state', type: 'S' },
        sortKey: { name: 'updatedAt', type: 'S' },
      },
    ],
  },
  nonceLeases: {
    id: 'NonceLeases',
    envVar: 'NONCE_LEASES_TABLE',
    description: 'Nonce leases per (chain, signer); confirmed leases expire after a retention period',
    partitionKey: { name: 'signer', type: 'S' },
    sortKey: { name: 'nonce', type: 'N' },
    // Epoch seconds, written on confirmed leases only (functions/adapters/store/dynamodb-nonce-leases.ts).
    timeToLiveAttribute: 'expiresAt',
  },
  keeperState: {
    id: 'KeeperState',
    envVar: 'KEEPER_STATE_TABLE',
    description: 'Indexer checkpoints, circuit breakers and the kill switch',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
  },
  idempotency: {
    id: 'Idempotency',
    envVar: 'IDEMPOTENCY_TABLE',
    description: 'Powertools idempotency records of the worker',
    // Powertools' DynamoDBPersistenceLayer defaults: key attribute `id`, expiry attribute `expiration`.
    partitionKey: { name: 'id', type: 'S' },
    timeToLiveAttribute: 'expiration',
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

export interface QueueDefinition {
  id: string;
  envVar: string;
  /** Base name; FIFO queues get the required `.fifo` suffix from `physicalQueueName`. */
  baseName: string;
  fifo: boolean;
  visibilityTimeoutSec: number;
  retentionSec: number;
  /** Key of the dead-letter queue in QUEUES. */
  deadLetter?: { queue: string; maxReceiveCount: number };
  description: string;
}

export const QUEUES = {
  candidatesDlq: {
    id: 'CandidatesDlq',
    envVar: 'CANDIDATES_DLQ_URL',
    baseName: 'liquidation-candidates-dlq',
    fifo: true,
    visibilityTimeoutSec: 30,
    retentionSec: 14 * 24 * 3600,
    description: 'Candidates that failed maxReceiveCount times or were malformed',
  },
  candidates: {
    id: 'Candidates',
    envVar: 'CANDIDATES_QUEUE_URL',
    baseName: 'liquidation-candidates',
    fifo: true,
    // Six times the worker timeout (60 s), as AWS recommends for SQS event sources.
    visibilityTimeoutSec: 360,
    // A candidate is only worth acting on for minutes; old ones are stale by construction.
    retentionSec: 3600,
    deadLetter: { queue: 'candidatesDlq', maxReceiveCount: 5 },
    description: 'Liquidatable accounts found by the scanner; dedup id = chain#market#borrower#block',
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueName = keyof typeof QUEUES;

/** The dead-letter queue key of a queue, checked against QUEUES. */
export function deadLetterOf(queue: QueueName): { queue: QueueName; maxReceiveCount: number } | undefined {
  const def: QueueDefinition = QUEUES[queue];
  if (!def.deadLetter) return undefined;
  const target = def.deadLetter.queue;
  if (!(target in QUEUES)) throw new Error(`queue ${queue} names an unknown dead-letter queue ${target}`);
  return { queue: target as QueueName, maxReceiveCount: def.deadLetter.maxReceiveCount };
}

/**
 * Queue keys in an order where every dead-letter queue comes before the queues that redrive into it, so a
 * redrive policy can always name an existing target (chains of dead-letter queues included).
 */
export function queuesInCreationOrder(): QueueName[] {
  const ordered: QueueName[] = [];
  const visit = (key: QueueName, path: QueueName[]) => {
    if (ordered.includes(key)) return;
    if (path.includes(key)) throw new Error(`dead-letter queues form a cycle: ${[...path, key].join(' → ')}`);
    const deadLetter = deadLetterOf(key);
    if (deadLetter) visit(deadLetter.queue, [...path, key]);
    ordered.push(key);
  };
  for (const key of Object.keys(QUEUES) as QueueName[]) visit(key, []);
  return ordered;
}

/** Physical names are `<prefix>-<id>`; FIFO queues end in `.fifo` as SQS requires. */
export function physicalTableName(prefix: string, table: TableName): string {
  return `${prefix}-${TABLES[table].id}`;
}

export function physicalQueueName(prefix: string, queue: QueueName): string {
  const def = QUEUES[queue];
  return `${prefix}-${def.baseName}${def.fifo ? '.fifo' : ''}`;
}
