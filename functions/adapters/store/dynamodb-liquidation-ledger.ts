/**
 * The liquidation ledger on the Ledger table (lib/resources.ts: pk `opportunity`, sk `attempt`, GSI `byState`
 * on `state` / `updatedAt`).
 *
 * One item per opportunity, at the fixed sort key `claim`; the owning attempt is the `attemptId` attribute.
 * Why a fixed key: a DynamoDB condition sees only the item being written, so "no attempt exists for this
 * opportunity" can only be checked on a key every attempt writes to. A per-attempt sort key would need a
 * transaction with a lock item (two writes per claim) to say the same thing, and the port allows one claimed
 * attempt per opportunity anyway, so the partition would never hold more than one attempt item.
 *
 * claim: conditional upsert. It succeeds when the item does not exist, or when the same attempt (a redelivery
 * of the same SQS message) finds its own claim in a state that proves nothing was broadcast (`claimed`: it
 * stopped before deciding; `failed`: it recorded a failure before any broadcast). Any other attempt, and any
 * state from `sent` on, is refused: that is what makes a twice-delivered candidate one transaction.
 *
 * record: update conditional on `attemptId`, so an attempt that lost the claim can never overwrite the
 * winner. The item reflects the latest outcome; fields of an earlier outcome are removed. bigint values are
 * stored as decimal strings; `updatedAt` is an ISO-8601 string, so the GSI sorts by time.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AttemptOutcome, LiquidationLedger } from '../../ports/liquidation-ledger';

export const CLAIM_SORT_KEY = 'claim';

/** Ledger states: `claimed` until the attempt records an outcome, then the outcome's kind. */
export type LedgerState = 'claimed' | AttemptOutcome['kind'];

/** The stored item, as read back (e.g. by a reconciler querying `byState` for `sent`). */
export interface LedgerItem {
  opportunity: string;
  attempt: typeof CLAIM_SORT_KEY;
  attemptId: string;
  state: LedgerState;
  claimedAt: string;
  updatedAt: string;
  /** How many times the opportunity was claimed (1, or more after retakes by a redelivered message). */
  claims: number;
  block?: number;
  txHash?: string;
  minedBlock?: number;
  /** Decimal string (gas units). */
  gasUsed?: string;
  /** Decimal string (WAD). */
  healthFactorWad?: string;
  reason?: string;
  plan?: Record<string, string>;
}

/** Attributes an outcome may set; those an outcome does not set are removed from the item. */
const OUTCOME_FIELDS = ['txHash', 'minedBlock', 'gasUsed', 'healthFactorWad', 'reason', 'plan'] as const;
type OutcomeField = (typeof OUTCOME_FIELDS)[number];

function outcomeFields(outcome: AttemptOutcome): Partial<Record<OutcomeField, string | number | Record<string, string>>> {
  switch (outcome.kind) {
    case 'stale':
      return { healthFactorWad: outcome.healthFactorWad.toString() };
    case 'skipped':
    case 'failed':
      return { reason: outcome.reason };
    case 'dry-run':
      return { plan: outcome.plan };
    case 'sent':
      return { txHash: outcome.txHash, plan: outcome.plan };
    case 'mined':
      return { txHash: outcome.txHash, minedBlock: outcome.minedBlock, gasUsed: outcome.gasUsed.toString(), plan: outcome.plan };
    case 'reverted':
      return { txHash: outcome.txHash, minedBlock: outcome.minedBlock, reason: outcome.reason, plan: outcome.plan };
  }
}

/** A ledger write failed for a reason other than its condition; `cause` holds the SDK error. */
export class LedgerWriteError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(`${message}: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'LedgerWriteError';
  }
}

/** `record` by an attempt that does not own the opportunity: a bug (it must have claimed first), never retried. */
export class LedgerOwnershipError extends Error {
  readonly retryable = false;
  constructor(
    readonly opportunity: string,
    readonly attempt: string,
  ) {
    super(`attempt ${attempt} does not hold the claim on ${opportunity}`);
    this.name = 'LedgerOwnershipError';
  }
}

export class DynamoDbLiquidationLedger implements LiquidationLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(opportunity: string, attempt: string, nowIso: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { opportunity, attempt: CLAIM_SORT_KEY },
          UpdateExpression: 'SET attemptId = :attempt, #state = :claimed, updatedAt = :now, claimedAt = if_not_exists(claimedAt, :now) ADD claims :one',
          ConditionExpression: 'attribute_not_exists(opportunity) OR (attemptId = :attempt AND #state IN (:claimed, :failed))',
          // STATE is a DynamoDB reserved word.
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':attempt': attempt, ':claimed': 'claimed', ':failed': 'failed', ':now': nowIso, ':one': 1 },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new LedgerWriteError(`claiming ${opportunity}`, { cause: error });
    }
  }

  async record(opportunity: string, attempt: string, outcome: AttemptOutcome, nowIso: string): Promise<void> {
    const fields = outcomeFields(outcome);
    const names: Record<string, string> = { '#state': 'state', '#block': 'block' };
    const values: Record<string, unknown> = { ':attempt': attempt, ':state': outcome.kind, ':now': nowIso, ':block': outcome.block };
    const set = ['#state = :state', 'updatedAt = :now', '#block = :block'];
    const remove: string[] = [];
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
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { opportunity, attempt: CLAIM_SORT_KEY },
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attemptId = :attempt',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new LedgerOwnershipError(opportunity, attempt);
      throw new LedgerWriteError(`recording ${outcome.kind} for ${opportunity}`, { cause: error });
    }
  }
}
