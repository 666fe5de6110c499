/**
 * The indexer's checkpoint in the KeeperState table (pk `pk`, sk `sk`; lib/resources.ts), one item per id:
 * `{ pk: id, sk: 'indexer-checkpoint', block, blockHash, logWindowBlocks? }`. The id is the market key (`chainId#pool`); the
 * execution breakers and kill switch of the market have their own partition (dynamodb-execution-breakers.ts).
 *
 * Every write is a compare-and-set on the value the writer read, so of two overlapping indexers only one moves
 * the checkpoint from a given value, and a slower one can never put an older block back.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../zod';
import type { CheckpointStore, IndexerCheckpoint } from '../../ports/borrower-store';

export const CHECKPOINT_SORT_KEY = 'indexer-checkpoint';

const checkpointSchema = z.object({
  block: z.number().check(z.int(), z.nonnegative()),
  blockHash: z.string().check(z.regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hex hash')),
  logWindowBlocks: z.optional(z.number().check(z.int(), z.positive())),
});

/** The stored checkpoint is no longer the `previous` the writer read: another indexer moved it. */
export class CheckpointConflictError extends Error {
  constructor(
    readonly id: string,
    readonly next: IndexerCheckpoint,
    readonly previous: IndexerCheckpoint | undefined,
    cause: unknown,
  ) {
    super(
      `checkpoint ${id} was moved by someone else: expected ${previous ? `block ${previous.block} (${previous.blockHash})` : 'no checkpoint'}, not writing block ${next.block}`,
      { cause },
    );
    this.name = 'CheckpointConflictError';
  }
}

/** A write that would move the checkpoint below the value it replaces. */
export class CheckpointRegressionError extends Error {
  constructor(
    readonly id: string,
    readonly next: IndexerCheckpoint,
    readonly previous: IndexerCheckpoint,
  ) {
    super(`refusing to move checkpoint ${id} back from block ${previous.block} to ${next.block}`);
    this.name = 'CheckpointRegressionError';
  }
}

export class DynamoDbCheckpointStore implements CheckpointStore {
  private readonly table: string;

  /** `tables` is shaped like `PipelineConfig['tables']`, so callers pass `config.tables`. */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { keeperState?: string },
  ) {
    if (!tables.keeperState) throw new Error('DynamoDbCheckpointStore needs the keeper state table (KEEPER_STATE_TABLE)');
    this.table = tables.keeperState;
  }

  async getCheckpoint(id: string): Promise<IndexerCheckpoint | undefined> {
    // Strongly consistent: a checkpoint read just after another indexer's write must see it.
    const { Item } = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk: id, sk: CHECKPOINT_SORT_KEY }, ConsistentRead: true }));
    if (!Item) return undefined;
    const parsed = checkpointSchema.safeParse(Item);
    if (!parsed.success) throw new Error(`malformed checkpoint ${id} in ${this.table}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const { block, blockHash, logWindowBlocks } = parsed.data;
    return logWindowBlocks === undefined ? { block, blockHash } : { block, blockHash, logWindowBlocks };
  }

  /** Writes `next` only if the stored checkpoint is still `previous` (absent when `previous` is undefined). */
  async putCheckpoint(id: string, next: IndexerCheckpoint, previous: IndexerCheckpoint | undefined): Promise<void> {
    if (previous && next.block < previous.block) throw new CheckpointRegressionError(id, next, previous);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: id,
            sk: CHECKPOINT_SORT_KEY,
            block: next.block,
            blockHash: next.blockHash.toLowerCase(),
            ...(next.logWindowBlocks === undefined ? {} : { logWindowBlocks: next.logWindowBlocks }),
          },
          ...(previous
            ? {
                ConditionExpression: '#block = :previousBlock AND blockHash = :previousHash',
                // `block` is a DynamoDB reserved word.
                ExpressionAttributeNames: { '#block': 'block' },
                ExpressionAttributeValues: { ':previousBlock': previous.block, ':previousHash': previous.blockHash.toLowerCase() },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new CheckpointConflictError(id, next, previous, err);
      throw err;
    }
  }
}
