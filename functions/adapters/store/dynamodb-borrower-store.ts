/**
 * Tracked borrowers in the Borrowers table (pk `market`, sk `borrower`, GSI `byWatchTier` on `marketTier` =
 * `${market}#${tier}`), and account snapshots in the Snapshots table (pk `marketBorrower`, sk `block`, TTL
 * `expiresAt`); keys from lib/resources.ts. Addresses are stored lowercase, whatever case the caller uses, so the
 * indexer, the scanner and the worker always name the same item. bigint values are decimal strings.
 *
 * Three writers share a borrower item: the indexer (firstSeenBlock, lastEventBlock), the scanner (tier, health,
 * episode, enqueue mark) and the worker (clears the mark); the scanner reads the marks back with a consistent
 * BatchGetItem (100 keys per request) to learn that a worker is done. Each writes its own attributes with a conditional
 * UpdateItem, so a scanner holding an older copy of the item never lowers the indexer's lastEventBlock. Batches
 * would not do: BatchWriteItem only replaces whole items (no conditions), and TransactWriteItems cancels all of
 * its 100 items when one conflicts (overlapping scanners, by design) and costs two write units per item.
 * Updates run `UPDATE_CONCURRENCY` at a time; throttling is retried by the SDK client. Snapshots are immutable,
 * so they go out with BatchWriteItem (25 per request), unprocessed items sent again a bounded number of times.
 */
import { mapWithConcurrency } from '../concurrency';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../zod';
import { DynamoDbEnqueueMarks, unlessConditionFails } from './dynamodb-enqueue-marks';
import type { AccountSnapshot, BorrowerStore, EnqueueMark, TrackedBorrower, WatchTier } from '../../ports/borrower-store';

/** BatchWriteItem accepts at most 25 put/delete requests. */
const BATCH_WRITE_LIMIT = 25;
/** BatchGetItem accepts at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** BatchGetItem calls in flight per store call (a consistent read of 100 small items costs 100 read units). */
const BATCH_GET_CONCURRENCY = 4;
/** UpdateItem calls in flight per store call: well under the SDK's 50 sockets, enough to hide ~10 ms latency. */
const UPDATE_CONCURRENCY = 16;
/** Rounds of re-sending UnprocessedItems (the SDK retries throttled requests, not partial batch results). */
const MAX_BATCH_ROUNDS = 6;
/** Pause before re-sending unprocessed items: 50, 100, 200… ms, as AWS recommends (exponential backoff). */
const BATCH_BACKOFF_BASE_MS = 50;

/**
 * A borrower seen for the first time has unknown health: `hot` makes the scanner read it at the next block,
 * and the scan then gives it its real tier.
 */
export const NEW_BORROWER_TIER: WatchTier = 'hot';

/** Physical table names, shaped like `PipelineConfig['tables']` so callers pass `config.tables`. */
export interface DynamoDbBorrowerStoreTables {
  /** Required. */
  borrowers?: string;
  /** Needed only by `putSnapshots` (the scanner); the indexer runs without it. */
  snapshots?: string;
}

export class UnprocessedItemsError extends Error {
  constructor(
    readonly table: string,
    readonly unprocessed: number,
    readonly operation: 'BatchWriteItem' | 'BatchGetItem' = 'BatchWriteItem',
  ) {
    super(`${unprocessed} items were still unprocessed by ${table} after ${MAX_BATCH_ROUNDS} rounds of ${operation}`);
    this.name = 'UnprocessedItemsError';
  }
}

export class MalformedBorrowerItemError extends Error {
  constructor(
    readonly market: string,
    readonly problems: string,
  ) {
    super(`malformed borrower item in market ${market}: ${problems}`);
    this.name = 'MalformedBorrowerItemError';
  }
}

const block = z.number().check(z.int(), z.nonnegative());
const decimal = z.string().check(z.regex(/^\d+$/, 'must be a non-negative integer as a decimal string'));
const itemSchema = z.object({
  borrower: z.string(),
  tier: z.enum(['hot', 'warm', 'cold']),
  firstSeenBlock: block,
  lastEventBlock: block,
  lastHealthFactorWad: z.optional(decimal),
  lastScannedBlock: z.optional(block),
  liquidatableSinceBlock: z.optional(block),
  enqueuedUntilBlock: z.optional(block),
  enqueuedAtBlock: z.optional(block),
});
const markSchema = z.object({ borrower: z.string(), enqueuedUntilBlock: z.optional(block), enqueuedAtBlock: z.optional(block) });

export const marketTierOf = (market: string, tier: WatchTier): string => `${market}#${tier}`;
export const snapshotKeyOf = (market: string, borrower: string): string => `${market}#${borrower.toLowerCase()}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DynamoDbBorrowerStore implements BorrowerStore {
  private readonly borrowersTable: string;
  private readonly snapshotsTable: string | undefined;
  /** The worker's writes to the marks (dynamodb-enqueue-marks.ts), here for the other functions and the tests. */
  private readonly marks: DynamoDbEnqueueMarks;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: DynamoDbBorrowerStoreTables,
  ) {
    if (!tables.borrowers) throw new Error('DynamoDbBorrowerStore needs the borrowers table (BORROWERS_TABLE)');
    this.borrowersTable = tables.borrowers;
    this.snapshotsTable = tables.snapshots;
    this.marks = new DynamoDbEnqueueMarks(client, tables.borrowers);
  }

  /**
   * One UpdateItem per distinct borrower: creates the item (tier `hot`) or raises `lastEventBlock`. The condition
   * keeps a re-read of older blocks (reorg margin, smaller windows) from lowering it.
   */
  async upsertSeen(market: string, seen: readonly { borrower: string; block: number }[]): Promise<void> {
    const span = new Map<string, { first: number; last: number }>();
    for (const { borrower, block } of seen) {
      const key = borrower.toLowerCase();
      const known = span.get(key);
      span.set(key, known ? { first: Math.min(known.first, block), last: Math.max(known.last, block) } : { first: block, last: block });
    }
    await mapWithConcurrency([...span], UPDATE_CONCURRENCY, ([borrower, { first, last }]) =>
      unlessConditionFails(
        this.client.send(
          new UpdateCommand({
            TableName: this.borrowersTable,
            Key: { market, borrower },
            UpdateExpression:
              'SET firstSeenBlock = if_not_exists(firstSeenBlock, :first), lastEventBlock = :last, tier = if_not_exists(tier, :tier), marketTier = if_not_exists(marketTier, :marketTier)',
            ConditionExpression: 'attribute_not_exists(lastEventBlock) OR lastEventBlock < :last',
            ExpressionAttributeValues: {
              ':first': first,
              ':last': last,
              ':tier': NEW_BORROWER_TIER,
              ':marketTier': marketTierOf(market, NEW_BORROWER_TIER),
            },
          }),
        ),
      ),
    );
  }

  /** Every tracked borrower of the market (a paginated Query of its partition). */
  async listTracked(market: string): Promise<TrackedBorrower[]> {
    const tracked: TrackedBorrower[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.borrowersTable,
          KeyConditionExpression: 'market = :market',
          ExpressionAttributeValues: { ':market': market },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) tracked.push(this.decode(market, item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return tracked;
  }

  /**
   * Writes the scanner's attributes only (never the indexer's, except to complete an item that does not exist).
   * - `liquidatableSinceBlock` / `enqueuedUntilBlock` undefined removes them: the episode, and its mark, ended.
   * - A mark is written only when new (`enqueuedAtBlock` absent or not before `lastScannedBlock`); a mark from an
   *   earlier block is left as the item holds it, so this write never puts back a mark the worker cleared.
   * - An update older than the stored `lastScannedBlock` (an overlapping, slower scanner) is dropped, so it cannot
   *   put back an episode or a mark that a newer scan ended.
   */
  async recordScan(market: string, updates: readonly TrackedBorrower[]): Promise<void> {
    await mapWithConcurrency(updates, UPDATE_CONCURRENCY, (u) => {
      const set = [
        'tier = :tier',
        'marketTier = :marketTier',
        'firstSeenBlock = if_not_exists(firstSeenBlock, :firstSeen)',
        'lastEventBlock = if_not_exists(lastEventBlock, :lastEvent)',
      ];
      const remove: string[] = [];
      const values: Record<string, unknown> = {
        ':tier': u.tier,
        ':marketTier': marketTierOf(market, u.tier),
        ':firstSeen': u.firstSeenBlock,
        ':lastEvent': u.lastEventBlock,
      };
      if (u.lastHealthFactorWad !== undefined) {
        set.push('lastHealthFactorWad = :hf');
        values[':hf'] = u.lastHealthFactorWad.toString();
      }
      let condition: string | undefined;
      if (u.lastScannedBlock !== undefined) {
        set.push('lastScannedBlock = :scanned');
        values[':scanned'] = u.lastScannedBlock;
        condition = 'attribute_not_exists(lastScannedBlock) OR lastScannedBlock <= :scanned';
      }
      if (u.liquidatableSinceBlock !== undefined) {
        set.push('liquidatableSinceBlock = :since');
        values[':since'] = u.liquidatableSinceBlock;
      } else {
        remove.push('liquidatableSinceBlock');
      }
      const newMark = u.enqueuedAtBlock === undefined || u.lastScannedBlock === undefined || u.enqueuedAtBlock >= u.lastScannedBlock;
      if (u.enqueuedUntilBlock === undefined) {
        remove.push('enqueuedUntilBlock', 'enqueuedAtBlock');
      } else if (newMark) {
        set.push('enqueuedUntilBlock = :until');
        values[':until'] = u.enqueuedUntilBlock;
        if (u.enqueuedAtBlock !== undefined) {
          set.push('enqueuedAtBlock = :at');
          values[':at'] = u.enqueuedAtBlock;
        } else {
          remove.push('enqueuedAtBlock');
        }
      }
      return unlessConditionFails(
        this.client.send(
          new UpdateCommand({
            TableName: this.borrowersTable,
            Key: { market, borrower: u.borrower.toLowerCase() },
            UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
            ConditionExpression: condition,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    });
  }

  /** Removes the enqueue mark (dynamodb-enqueue-marks.ts, the worker's own copy of this one write). */
  clearEnqueued(market: string, borrower: string): Promise<void> {
    return this.marks.clearEnqueued(market, borrower);
  }

  /** Brings the enqueue mark's expiry forward (dynamodb-enqueue-marks.ts). */
  shortenEnqueued(market: string, borrower: string, untilBlock: number): Promise<void> {
    return this.marks.shortenEnqueued(market, borrower, untilBlock);
  }

  /**
   * The marks held now, by consistent BatchGetItem: an eventually consistent read could miss a mark written a
   * moment ago and have the scanner enqueue the borrower a second time. Unprocessed keys are asked again like
   * unprocessed writes.
   */
  async readEnqueueMarks(market: string, borrowers: readonly string[]): Promise<ReadonlyMap<string, EnqueueMark>> {
    const keys = [...new Set(borrowers.map((b) => b.toLowerCase()))];
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) chunks.push(keys.slice(i, i + BATCH_GET_LIMIT));
    const marks = new Map<string, EnqueueMark>();
    await mapWithConcurrency(chunks, BATCH_GET_CONCURRENCY, async (chunk) => {
      for (const item of await this.batchGet(market, chunk)) {
        const parsed = markSchema.safeParse(item);
        if (!parsed.success) {
          const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; ');
          throw new MalformedBorrowerItemError(market, `${String(item.borrower)}: ${problems}`);
        }
        const { borrower, enqueuedUntilBlock, enqueuedAtBlock } = parsed.data;
        if (enqueuedUntilBlock === undefined) continue;
        marks.set(borrower, { enqueuedUntilBlock, ...(enqueuedAtBlock === undefined ? {} : { enqueuedAtBlock }) });
      }
    });
    return marks;
  }

  private async batchGet(market: string, borrowers: readonly string[]): Promise<Record<string, unknown>[]> {
    const table = this.borrowersTable;
    const items: Record<string, unknown>[] = [];
    let keys: Record<string, unknown>[] = borrowers.map((borrower) => ({ market, borrower }));
    for (let round = 0; round < MAX_BATCH_ROUNDS; round++) {
      if (round > 0) await sleep(BATCH_BACKOFF_BASE_MS * 2 ** (round - 1));
      const result = await this.client.send(
        new BatchGetCommand({
          RequestItems: { [table]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'borrower, enqueuedUntilBlock, enqueuedAtBlock' } },
        }),
      );
      items.push(...(result.Responses?.[table] ?? []));
      keys = result.UnprocessedKeys?.[table]?.Keys ?? [];
      if (keys.length === 0) return items;
    }
    throw new UnprocessedItemsError(table, keys.length, 'BatchGetItem');
  }

  /** One item per (borrower, block); expires `retentionSec` after `nowSec` (TTL, epoch seconds). */
  async putSnapshots(market: string, snapshots: readonly AccountSnapshot[], retentionSec: number, nowSec: number): Promise<void> {
    const table = this.snapshotsTable;
    if (!table) throw new Error('DynamoDbBorrowerStore was built without a snapshots table (SNAPSHOTS_TABLE)');
    // BatchWriteItem rejects a batch that names one key twice: the last snapshot of a (borrower, block) wins.
    const byKey = new Map<string, Record<string, unknown>>();
    for (const s of snapshots) {
      const marketBorrower = snapshotKeyOf(market, s.borrower);
      byKey.set(`${marketBorrower}@${s.block}`, {
        marketBorrower,
        block: s.block,
        market,
        borrower: s.borrower.toLowerCase(),
        healthFactorWad: s.healthFactorWad.toString(),
        totalCollateralBase: s.totalCollateralBase.toString(),
        totalDebtBase: s.totalDebtBase.toString(),
        expiresAt: nowSec + retentionSec,
      });
    }
    const items = [...byKey.values()];
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) batches.push(items.slice(i, i + BATCH_WRITE_LIMIT));
    await mapWithConcurrency(batches, 4, (batch) => this.batchPut(table, batch));
  }

  private async batchPut(table: string, items: Record<string, unknown>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; round < MAX_BATCH_ROUNDS; round++) {
      if (round > 0) await sleep(BATCH_BACKOFF_BASE_MS * 2 ** (round - 1));
      const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      const unprocessed = result.UnprocessedItems?.[table] ?? [];
      if (unprocessed.length === 0) return;
      requests = unprocessed.flatMap((r) => (r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : []));
    }
    throw new UnprocessedItemsError(table, requests.length);
  }

  private decode(market: string, item: Record<string, unknown>): TrackedBorrower {
    const parsed = itemSchema.safeParse(item);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; ');
      throw new MalformedBorrowerItemError(market, `${String(item.borrower)}: ${problems}`);
    }
    const { lastHealthFactorWad, ...rest } = parsed.data;
    return { ...rest, ...(lastHealthFactorWad !== undefined ? { lastHealthFactorWad: BigInt(lastHealthFactorWad) } : {}) };
  }
}
