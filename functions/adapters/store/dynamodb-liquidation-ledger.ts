/**
 * The liquidation ledger on the Ledger table (lib/resources.ts: pk `opportunity`, sk `attempt`, GSI `byState`
 * on `state` / `updatedAt`). Three kinds of item:
 *
 *   pk = opportunity            sk = `claim`    the attempt: owner (`attemptId`), `state`, plan, outcome
 *   pk = opportunity            sk = `tx#0007`  one per signed transaction: raw bytes, hash, nonce, fees, `txState`
 *   pk = `position#<position>`  sk = `lock`     the position's in-flight lock: which opportunity holds it
 *
 * Why a fixed sort key for the claim: a DynamoDB condition sees only the item being written, so "no attempt
 * exists for this opportunity" can only be checked on a key every attempt writes to. Transaction items use
 * `txState`, not `state`, so the `byState` index lists attempts only (a reconciler queries it for `sent`).
 *
 * claim: one TransactWriteItems of (a) the claim item, conditional on not existing or on being this attempt's
 * own claim in a state that proves nothing was signed (`claimed`, `failed`), and (b) the position lock,
 * conditional on being free or already held by this opportunity. Which condition failed tells `duplicate`
 * from `in-flight`.
 *
 * recordBatched: the claim item claimed → `batched` with the batch's opportunity and the member's index.
 *
 * finish: one TransactWriteItems of the claim item (conditional on `attemptId`: a loser can never overwrite the
 * winner), every transaction item's final state, and the deletion of the lock if this opportunity holds it.
 *
 * bigint values are stored as decimal strings; times are ISO-8601 strings, so the GSI sorts by time. The plan is
 * stored as its codec encodes it (functions/pipeline/execution-plan.ts: flat, every value a string) and decoded by
 * `find`: a stored plan that does not decode fails the read with MalformedPlanError naming the field.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  AttemptRecord,
  BatchReference,
  AttemptState,
  AttemptTransaction,
  ClaimResult,
  FinalOutcome,
  LiquidationLedger,
  TransactionState,
} from '../../ports/liquidation-ledger';
import { decodePlan, type EncodedPlan, encodePlan, type ExecutionPlan } from '../../pipeline/execution-plan';

export const CLAIM_SORT_KEY = 'claim';
export const LOCK_SORT_KEY = 'lock';

/** Sort key of a transaction item; zero-padded so the items sort by index. */
export function transactionSortKey(index: number): string {
  return `tx#${String(index).padStart(4, '0')}`;
}

export function positionLockKey(position: string): string {
  return `position#${position}`;
}

/** The claim item, as stored. */
export interface LedgerItem {
  opportunity: string;
  attempt: typeof CLAIM_SORT_KEY;
  attemptId: string;
  position: string;
  state: AttemptState;
  claimedAt: string;
  updatedAt: string;
  /** How many times the opportunity was claimed (1, or more after retakes by a redelivered message). */
  claims: number;
  block?: number;
  txHash?: string;
  minedBlock?: number;
  /** Decimal string (gas units). */
  gasUsed?: string;
  reason?: string;
  /** Encoded (execution-plan.ts). */
  plan?: EncodedPlan;
  /** How many transactions were signed (the next transaction's index). */
  transactionCount?: number;
  /** A batch member: the batch attempt's opportunity and this member's item index. */
  batchOpportunity?: string;
  batchIndex?: number;
}

/** A transaction item, as stored (bigint fields as decimal strings). */
export interface LedgerTransactionItem {
  opportunity: string;
  attempt: string;
  index: number;
  txHash: string;
  rawTransaction: string;
  from: string;
  nonce: number;
  gasLimit: string;
  maxFeePerGasWei: string;
  maxPriorityFeePerGasWei: string;
  txState: TransactionState;
  signedAt: string;
  updatedAt: string;
}

/** A ledger write failed for a reason other than its condition; `cause` holds the SDK error. */
export class LedgerWriteError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(`${message}: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'LedgerWriteError';
  }
}

/** A write by an attempt that does not own the opportunity (or out of order): a bug, never retried. */
export class LedgerOwnershipError extends Error {
  readonly retryable = false;
  constructor(
    readonly opportunity: string,
    readonly attempt: string,
    detail = 'does not hold the claim',
  ) {
    super(`attempt ${attempt} ${detail} on ${opportunity}`);
    this.name = 'LedgerOwnershipError';
  }
}

/** A claim item's fields an outcome may set; those it does not set are removed. */
const OUTCOME_FIELDS = ['txHash', 'minedBlock', 'gasUsed', 'reason', 'plan'] as const;
type OutcomeField = (typeof OUTCOME_FIELDS)[number];

function outcomeFields(outcome: FinalOutcome<ExecutionPlan>): Partial<Record<OutcomeField, string | number | EncodedPlan>> {
  switch (outcome.kind) {
    case 'skipped':
    case 'failed':
    case 'dropped':
      return { reason: outcome.reason };
    case 'dry-run':
      return { plan: encodePlan(outcome.plan) };
    case 'mined':
      return { txHash: outcome.txHash, minedBlock: outcome.minedBlock, gasUsed: outcome.gasUsed.toString(), plan: encodePlan(outcome.plan) };
    case 'reverted':
      return { txHash: outcome.txHash, minedBlock: outcome.minedBlock, reason: outcome.reason, plan: encodePlan(outcome.plan) };
  }
}

/** The final state of each transaction when the attempt ends with `outcome`. */
function settledTransactionState(outcome: FinalOutcome<ExecutionPlan>, tx: AttemptTransaction): TransactionState {
  if (outcome.kind === 'mined' || outcome.kind === 'reverted') return tx.txHash === outcome.txHash ? 'mined' : 'replaced';
  return 'dropped';
}

function fromTransactionItem(item: LedgerTransactionItem): AttemptTransaction {
  return {
    index: item.index,
    txHash: item.txHash,
    rawTransaction: item.rawTransaction,
    from: item.from,
    nonce: item.nonce,
    gasLimit: BigInt(item.gasLimit),
    maxFeePerGasWei: BigInt(item.maxFeePerGasWei),
    maxPriorityFeePerGasWei: BigInt(item.maxPriorityFeePerGasWei),
    state: item.txState,
    signedAt: item.signedAt,
  };
}

/** Reasons of a cancelled TransactWriteItems, in request order ('None' for an item whose condition held). */
function cancellationCodes(error: TransactionCanceledException): string[] {
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

/** The claim item and its transactions as stored (the plan still encoded). */
interface StoredAttempt {
  claim: LedgerItem;
  /** Oldest first. */
  transactions: AttemptTransaction[];
}

export class DynamoDbLiquidationLedger implements LiquidationLedger<ExecutionPlan> {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async find(opportunity: string): Promise<AttemptRecord<ExecutionPlan> | undefined> {
    const stored = await this.read(opportunity);
    if (!stored) return undefined;
    const { claim, transactions } = stored;
    return {
      opportunity,
      attemptId: claim.attemptId,
      position: claim.position,
      state: claim.state,
      block: claim.block,
      plan: claim.plan === undefined ? undefined : decodePlan(claim.plan, `ledger ${opportunity}`),
      reason: claim.reason,
      txHash: claim.txHash,
      minedBlock: claim.minedBlock,
      ...(claim.gasUsed === undefined ? {} : { gasUsed: BigInt(claim.gasUsed) }),
      transactions,
      ...(claim.batchOpportunity === undefined ? {} : { batch: { opportunity: claim.batchOpportunity, index: claim.batchIndex ?? 0 } }),
    };
  }

  /** Strongly consistent read of the attempt's items; `finish` needs no plan, so a malformed one cannot block it. */
  private async read(opportunity: string): Promise<StoredAttempt | undefined> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'opportunity = :opportunity',
            ExpressionAttributeValues: { ':opportunity': opportunity },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new LedgerWriteError(`reading ${opportunity}`, { cause: error });
    }
    const claim = items.find((item) => item.attempt === CLAIM_SORT_KEY) as LedgerItem | undefined;
    if (!claim) return undefined;
    const transactions = items
      .filter((item) => String(item.attempt).startsWith('tx#'))
      .map((item) => fromTransactionItem(item as unknown as LedgerTransactionItem))
      .sort((a, b) => a.index - b.index);
    return { claim, transactions };
  }

  async claim(opportunity: string, attempt: string, position: string, block: number, nowIso: string): Promise<ClaimResult> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { opportunity, attempt: CLAIM_SORT_KEY },
                UpdateExpression:
                  'SET attemptId = :attempt, #state = :claimed, #position = :position, #block = :block, updatedAt = :now, claimedAt = if_not_exists(claimedAt, :now) ADD claims :one',
                // A retake by the same delivery is safe only while nothing was signed.
                ConditionExpression: 'attribute_not_exists(opportunity) OR (attemptId = :attempt AND #state IN (:claimed, :failed))',
                // STATE, POSITION and BLOCK are DynamoDB reserved words.
                ExpressionAttributeNames: { '#state': 'state', '#position': 'position', '#block': 'block' },
                ExpressionAttributeValues: { ':attempt': attempt, ':claimed': 'claimed', ':failed': 'failed', ':now': nowIso, ':one': 1, ':position': position, ':block': block },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { opportunity: positionLockKey(position), attempt: LOCK_SORT_KEY },
                UpdateExpression: 'SET heldBy = :opportunity, since = if_not_exists(since, :now)',
                // Free, or already ours (a retake). Another opportunity's attempt may have a transaction pending.
                ConditionExpression: 'attribute_not_exists(heldBy) OR heldBy = :opportunity',
                ExpressionAttributeValues: { ':opportunity': opportunity, ':now': nowIso },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const [claimCode, lockCode] = cancellationCodes(error);
        if (claimCode === 'ConditionalCheckFailed') return { kind: 'duplicate' };
        if (lockCode === 'ConditionalCheckFailed') {
          const held = error.CancellationReasons?.[1]?.Item?.heldBy;
          return { kind: 'in-flight', heldBy: held && 'S' in held ? String(held.S) : 'another opportunity' };
        }
      }
      throw new LedgerWriteError(`claiming ${opportunity}`, { cause: error });
    }
  }

  async recordSigned(
    opportunity: string,
    attempt: string,
    tx: Omit<AttemptTransaction, 'state' | 'signedAt'> & { replaces?: number },
    plan: ExecutionPlan,
    nowIso: string,
  ): Promise<void> {
    const item: LedgerTransactionItem = {
      opportunity,
      attempt: transactionSortKey(tx.index),
      index: tx.index,
      txHash: tx.txHash,
      rawTransaction: tx.rawTransaction,
      from: tx.from,
      nonce: tx.nonce,
      gasLimit: tx.gasLimit.toString(),
      maxFeePerGasWei: tx.maxFeePerGasWei.toString(),
      maxPriorityFeePerGasWei: tx.maxPriorityFeePerGasWei.toString(),
      txState: 'signed',
      signedAt: nowIso,
      updatedAt: nowIso,
      ...(tx.replaces === undefined ? {} : { replaces: tx.replaces }),
    };
    // The claim's first transaction moves the attempt claimed → signed; a replacement keeps it `signed`/`sent`
    // (an earlier transaction may be out). Either way the index must be the next one, so two writers cannot
    // both add index n (a retaken claim continues after the dropped transactions of its failed round).
    const first = tx.replaces === undefined;
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { opportunity, attempt: CLAIM_SORT_KEY },
                UpdateExpression: `SET ${first ? '#state = :signed, ' : ''}#plan = :plan, updatedAt = :now, transactionCount = :next`,
                ConditionExpression: first
                  ? 'attemptId = :attempt AND #state = :claimed AND (attribute_not_exists(transactionCount) OR transactionCount = :index)'
                  : 'attemptId = :attempt AND #state IN (:signed, :sent) AND transactionCount = :index',
                // STATE and PLAN are DynamoDB reserved words.
                ExpressionAttributeNames: { '#state': 'state', '#plan': 'plan' },
                ExpressionAttributeValues: {
                  ':attempt': attempt,
                  ':plan': encodePlan(plan),
                  ':now': nowIso,
                  ':next': tx.index + 1,
                  ':index': tx.index,
                  ...(first ? { ':signed': 'signed', ':claimed': 'claimed' } : { ':signed': 'signed', ':sent': 'sent' }),
                },
              },
            },
            { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(opportunity)' } },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException && cancellationCodes(error).includes('ConditionalCheckFailed')) {
        throw new LedgerOwnershipError(opportunity, attempt, `cannot record transaction ${tx.index}: not the claim's owner or out of order`);
      }
      throw new LedgerWriteError(`recording transaction ${tx.index} of ${opportunity}`, { cause: error });
    }
  }

  async recordBatched(opportunity: string, attempt: string, batch: BatchReference, plan: ExecutionPlan, nowIso: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { opportunity, attempt: CLAIM_SORT_KEY },
          UpdateExpression: 'SET #state = :batched, #plan = :plan, batchOpportunity = :batch, batchIndex = :index, updatedAt = :now',
          ConditionExpression: 'attemptId = :attempt AND #state = :claimed',
          ExpressionAttributeNames: { '#state': 'state', '#plan': 'plan' },
          ExpressionAttributeValues: {
            ':attempt': attempt,
            ':claimed': 'claimed',
            ':batched': 'batched',
            ':plan': encodePlan(plan),
            ':batch': batch.opportunity,
            ':index': batch.index,
            ':now': nowIso,
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new LedgerOwnershipError(opportunity, attempt, `cannot join batch ${batch.opportunity}: not the claim's owner or not claimed`);
      }
      throw new LedgerWriteError(`recording ${opportunity} as item ${batch.index} of ${batch.opportunity}`, { cause: error });
    }
  }

  async recordSent(opportunity: string, attempt: string, index: number, nowIso: string): Promise<void> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { opportunity, attempt: CLAIM_SORT_KEY },
                UpdateExpression: 'SET #state = :sent, updatedAt = :now',
                ConditionExpression: 'attemptId = :attempt AND #state IN (:signed, :sent)',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':attempt': attempt, ':signed': 'signed', ':sent': 'sent', ':now': nowIso },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: { opportunity, attempt: transactionSortKey(index) },
                UpdateExpression: 'SET txState = :sent, updatedAt = :now',
                ConditionExpression: 'txState IN (:signed, :sent)',
                ExpressionAttributeValues: { ':signed': 'signed', ':sent': 'sent', ':now': nowIso },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException && cancellationCodes(error).includes('ConditionalCheckFailed')) {
        throw new LedgerOwnershipError(opportunity, attempt, `cannot mark transaction ${index} sent`);
      }
      throw new LedgerWriteError(`marking transaction ${index} of ${opportunity} sent`, { cause: error });
    }
  }

  async finish(opportunity: string, attempt: string, outcome: FinalOutcome<ExecutionPlan>, nowIso: string): Promise<void> {
    const stored = await this.read(opportunity);
    if (!stored || stored.claim.attemptId !== attempt) throw new LedgerOwnershipError(opportunity, attempt);
    const { claim, transactions: storedTransactions } = stored;

    const fields = outcomeFields(outcome);
    const names: Record<string, string> = { '#state': 'state' };
    const values: Record<string, unknown> = { ':attempt': attempt, ':state': outcome.kind, ':now': nowIso };
    const set = ['#state = :state', 'updatedAt = :now'];
    const remove: string[] = [];
    if ('block' in outcome) {
      names['#block'] = 'block';
      values[':block'] = outcome.block;
      set.push('#block = :block');
    }
    for (const field of OUTCOME_FIELDS) {
      names[`#${field}`] = field;
      const value = fields[field];
      if (value === undefined) {
        remove.push(`#${field}`);
      } else {
        set.push(`#${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    // Outcomes that need no transaction (skipped, dry-run, failed) are valid only while nothing is signed.
    const needsTransactions = outcome.kind === 'mined' || outcome.kind === 'reverted' || outcome.kind === 'dropped';
    // `failed` may also end a `signed` attempt whose bytes provably never left (its nonce lease was lost first).
    // A batch member (`batched`) ends with what the batch's transaction did for its item, or `failed` if the batch
    // never reached a mempool.
    const allowed = needsTransactions
      ? ['signed', 'sent', 'batched', outcome.kind]
      : outcome.kind === 'failed'
        ? ['claimed', 'signed', 'batched', 'failed']
        : ['claimed', 'failed', outcome.kind];
    allowed.forEach((state, i) => (values[`:allowed${i}`] = state));
    // Transactions of an earlier failed round are `dropped` already and stay so.
    const transactions = storedTransactions.filter((tx) => tx.state !== 'dropped' && tx.state !== settledTransactionState(outcome, tx));
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { opportunity, attempt: CLAIM_SORT_KEY },
                UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
                ConditionExpression: `attemptId = :attempt AND #state IN (${allowed.map((_, i) => `:allowed${i}`).join(', ')})`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              },
            },
            ...transactions.map((tx) => ({
              Update: {
                TableName: this.tableName,
                Key: { opportunity, attempt: transactionSortKey(tx.index) },
                UpdateExpression: 'SET txState = :txState, updatedAt = :now',
                ExpressionAttributeValues: { ':txState': settledTransactionState(outcome, tx), ':now': nowIso },
              },
            })),
            {
              Delete: {
                TableName: this.tableName,
                Key: { opportunity: positionLockKey(claim.position), attempt: LOCK_SORT_KEY },
                // Only our own lock; a lock already gone (or never taken by an old-format claim) is fine.
                ConditionExpression: 'attribute_not_exists(heldBy) OR heldBy = :opportunity',
                ExpressionAttributeValues: { ':opportunity': opportunity },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException && cancellationCodes(error).includes('ConditionalCheckFailed')) {
        throw new LedgerOwnershipError(opportunity, attempt, `cannot finish as ${outcome.kind} from ${claim.state}`);
      }
      throw new LedgerWriteError(`finishing ${opportunity} as ${outcome.kind}`, { cause: error });
    }
  }
}
