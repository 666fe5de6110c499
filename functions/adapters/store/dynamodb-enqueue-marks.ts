/**
 * The worker's writes to the Borrowers table: it removes a borrower's enqueue mark once its candidate is handled,
 * so the scanner may enqueue the borrower again, or brings the mark's expiry forward for a second look within a few
 * blocks (dynamodb-borrower-store.ts describes the item and who writes which attribute). Apart from the borrower store so the worker's bundle does not carry the scanner's
 * and the indexer's reads, writes and item schemas for this one UpdateItem.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BorrowerStore } from '../../ports/borrower-store';

/** Runs a conditional write; a failed condition means "nothing to do" and is not an error. */
export async function unlessConditionFails(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
}

export class DynamoDbEnqueueMarks implements Required<Pick<BorrowerStore, 'clearEnqueued' | 'shortenEnqueued'>> {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly borrowersTable: string,
  ) {}

  /** Removes the enqueue mark; a borrower that is not tracked is left untracked (no item is created). */
  async clearEnqueued(market: string, borrower: string): Promise<void> {
    await unlessConditionFails(
      this.client.send(
        new UpdateCommand({
          TableName: this.borrowersTable,
          Key: { market, borrower: borrower.toLowerCase() },
          UpdateExpression: 'REMOVE enqueuedUntilBlock, enqueuedAtBlock',
          ConditionExpression: 'attribute_exists(borrower)',
        }),
      ),
    );
  }

  /** The mark expires at `untilBlock` if it expired later; a cleared mark, or one expiring sooner, is left as it is. */
  async shortenEnqueued(market: string, borrower: string, untilBlock: number): Promise<void> {
    await unlessConditionFails(
      this.client.send(
        new UpdateCommand({
          TableName: this.borrowersTable,
          Key: { market, borrower: borrower.toLowerCase() },
          UpdateExpression: 'SET enqueuedUntilBlock = :until',
          ConditionExpression: 'enqueuedUntilBlock > :until',
          ExpressionAttributeValues: { ':until': untilBlock },
        }),
      ),
    );
  }
}
