/**
 * Nonce leases on the NonceLeases table (lib/resources.ts: pk `signer` S = `chainId#address`, sk `nonce` N,
 * TTL attribute `expiresAt`). Two kinds of item per signer:
 *
 *   nonce = -1 (the head)   { next, updatedAtMs }   the lowest nonce never reserved by an allocation
 *   nonce = n ≥ 0           { state, owner, expiresAtMs, updatedAtMs, txHash?, rawTransaction?, expiresAt? }
 *
 * allocate: (1) reuse — the lowest lease at a nonce ≥ chainNonce that is `released` or `leased` past its expiry,
 * taken by one conditional update (of two allocators, one wins; the other tries the next one); (2) otherwise
 * reserve a fresh nonce from the head with an atomic increment (`SET next = next + 1`, the old value comes back)
 * and put its lease conditional on no item being there. The increment never contends: concurrent allocators get
 * consecutive nonces in one round each. Only when the head is absent or below the floor (the chain nonce, or a
 * lease above the head) is it moved up by a compare-and-set, which one allocator wins per value.
 *
 * Reserving and writing the lease are two writes: an allocation that stops between them leaves a nonce below the
 * head with no item at all. Allocation does not reuse such a hole (a slow allocator may be about to write it);
 * gap repair (functions/pipeline/nonce-gaps.ts) fills it through `takeOver` once a signed transaction above it
 * has waited long enough. Either way the item is created by a conditional write, so the slow allocator's put
 * fails and it reserves another nonce.
 *
 * `expiresAtMs` is when a `leased` lease may be taken over (clock ms); `expiresAt` is DynamoDB's TTL (epoch
 * seconds), written on confirmed leases only, so a lease that may still matter is never deleted.
 *
 * Nonces are DynamoDB numbers; the document client returns them as exact integers.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../zod';
import {
  type LeaseRecord,
  type LeaseState,
  type NonceLease,
  NonceLeaseLostError,
  type NonceLeases,
  type NonceLeaseTakeover,
  type SignerKey,
  type TakeOverResult,
} from '../../ports/nonce-leases';

/** Sort key of the head item: below every nonce, so a query from a chain nonce never returns it. */
export const HEAD_NONCE = -1;
/** The table's TTL attribute (lib/resources.ts `TABLES.nonceLeases.timeToLiveAttribute`). */
export const CONFIRMED_EXPIRY_ATTRIBUTE = 'expiresAt';

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_CONFIRMED_RETENTION_SEC = 7 * 24 * 3600;
const DEFAULT_MAX_ALLOCATION_ROUNDS = 8;

export interface DynamoDbNonceLeasesOptions {
  /** How long a lease stays the holder's before it may be taken over; default 60 s. */
  leaseMs?: number;
  /** How long a confirmed lease is kept before DynamoDB's TTL deletes it; default 7 days. */
  confirmedRetentionSec?: number;
  /** Allocation rounds (read, reuse or reserve, write) before giving up on a contended signer; default 8. */
  maxAllocationRounds?: number;
}

const count = z.number().check(z.int(), z.nonnegative());
const leaseItemSchema = z.object({
  signer: z.string(),
  nonce: count,
  owner: z.string(),
  state: z.enum(['leased', 'signed', 'confirmed', 'released']),
  expiresAtMs: count,
  updatedAtMs: count,
  txHash: z.optional(z.string()),
  rawTransaction: z.optional(z.string()),
});
const headSchema = z.object({ next: count });

/** A lease write failed for a reason other than its condition; `cause` holds the SDK error (classified there). */
export class NonceLeaseWriteError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(`${message}: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'NonceLeaseWriteError';
  }
}

/** Every allocation round lost a race to other allocators of the same signer: try again later. */
export class NonceAllocationContendedError extends Error {
  readonly retryable = true;
  constructor(
    readonly signer: SignerKey,
    readonly owner: string,
    rounds: number,
  ) {
    super(`no nonce of ${signer} leased to ${owner}: lost the race to other allocators ${rounds} times`);
    this.name = 'NonceAllocationContendedError';
  }
}

/** A stored lease the schema rejects: the table was written by something else. Never retried. */
export class MalformedNonceLeaseError extends Error {
  readonly retryable = false;
  constructor(signer: SignerKey, detail: string) {
    super(`malformed nonce lease of ${signer}: ${detail}`);
    this.name = 'MalformedNonceLeaseError';
  }
}

function assertNonce(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${value}`);
}

/** The `state` of the item a failed condition saw (ReturnValuesOnConditionCheckFailure: ALL_OLD), if reported. */
function stateSeenBy(error: ConditionalCheckFailedException): LeaseState | undefined {
  const state = error.Item?.state;
  return state && 'S' in state ? (state.S as LeaseState) : undefined;
}

export class DynamoDbNonceLeases implements NonceLeases, NonceLeaseTakeover {
  private readonly leaseMs: number;
  private readonly confirmedRetentionSec: number;
  private readonly maxAllocationRounds: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoDbNonceLeasesOptions = {},
  ) {
    if (!table) throw new Error('DynamoDbNonceLeases needs the nonce leases table (NONCE_LEASES_TABLE)');
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.confirmedRetentionSec = options.confirmedRetentionSec ?? DEFAULT_CONFIRMED_RETENTION_SEC;
    this.maxAllocationRounds = options.maxAllocationRounds ?? DEFAULT_MAX_ALLOCATION_ROUNDS;
    if (!Number.isSafeInteger(this.leaseMs) || this.leaseMs < 1) throw new Error(`leaseMs must be an integer ≥ 1, got ${this.leaseMs}`);
    if (!Number.isSafeInteger(this.confirmedRetentionSec) || this.confirmedRetentionSec < 0) {
      throw new Error(`confirmedRetentionSec must be an integer ≥ 0, got ${this.confirmedRetentionSec}`);
    }
    if (!Number.isSafeInteger(this.maxAllocationRounds) || this.maxAllocationRounds < 1) {
      throw new Error(`maxAllocationRounds must be an integer ≥ 1, got ${this.maxAllocationRounds}`);
    }
  }

  async allocate(signer: SignerKey, owner: string, chainNonce: number, nowMs: number): Promise<NonceLease> {
    assertNonce('chainNonce', chainNonce);
    for (let round = 0; round < this.maxAllocationRounds; round++) {
      const items = await this.leasesFrom(signer, chainNonce, { includeConfirmed: true });
      const reusable = items.filter((item) => item.state === 'released' || (item.state === 'leased' && item.expiresAtMs < nowMs));
      for (const item of reusable) {
        const result = await this.lease(signer, item.nonce, owner, nowMs, { holesToo: false });
        if (result.kind === 'taken') return result.lease;
      }
      // So does a lease at or above the head (the head item was lost): a fresh nonce is above every lease.
      const floor = items.reduce((highest, item) => Math.max(highest, item.nonce + 1), chainNonce);
      const nonce = await this.reserve(signer, floor, nowMs);
      if (nonce !== undefined && (await this.putFresh(signer, nonce, owner, nowMs))) return { signer, nonce, owner };
    }
    throw new NonceAllocationContendedError(signer, owner, this.maxAllocationRounds);
  }

  async takeOver(signer: SignerKey, nonce: number, owner: string, nowMs: number): Promise<TakeOverResult> {
    assertNonce('nonce', nonce);
    return this.lease(signer, nonce, owner, nowMs, { holesToo: true });
  }

  async markSigned(lease: NonceLease, tx: { txHash: string; rawTransaction: string }, nowMs: number): Promise<void> {
    await this.transition(lease, 'marking signed', {
      UpdateExpression: 'SET #state = :signed, txHash = :txHash, rawTransaction = :raw, updatedAtMs = :now',
      // Still ours and still within the lease (past it, an allocation may take the nonce at any moment), or
      // already signed by us: a replacement at the same nonce overwrites the stored transaction.
      ConditionExpression: '#owner = :owner AND ((#state = :leased AND expiresAtMs >= :now) OR #state = :signed)',
      ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': lease.owner, ':signed': 'signed', ':leased': 'leased', ':txHash': tx.txHash, ':raw': tx.rawTransaction, ':now': nowMs },
    });
  }

  async confirm(lease: NonceLease, nowMs: number): Promise<void> {
    const expiresAt = Math.floor(nowMs / 1000) + this.confirmedRetentionSec;
    await this.transition(lease, 'confirming', {
      UpdateExpression: 'SET #state = :confirmed, updatedAtMs = :now, #ttl = :expiresAt',
      // The nonce is used on chain whatever state the lease was in; only its holder records that (a repeat is
      // harmless), so a lease taken over by someone else keeps its own history.
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner', '#ttl': CONFIRMED_EXPIRY_ATTRIBUTE },
      ExpressionAttributeValues: { ':owner': lease.owner, ':confirmed': 'confirmed', ':now': nowMs, ':expiresAt': expiresAt },
    });
  }

  async release(lease: NonceLease, nowMs: number): Promise<void> {
    await this.transition(lease, 'releasing', {
      // The refused transaction is forgotten with the lease, so gap repair can never re-broadcast it.
      UpdateExpression: 'SET #state = :released, updatedAtMs = :now REMOVE txHash, rawTransaction',
      // Only the holder: it alone knows that nothing of its own is out (`signed` included: execute-candidate.ts
      // releases after the node refused the one transaction signed at the nonce). Never a confirmed lease: the
      // nonce is used on chain. `released` again: a retried release.
      ConditionExpression: '#owner = :owner AND #state IN (:leased, :signed, :released)',
      ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': lease.owner, ':leased': 'leased', ':signed': 'signed', ':released': 'released', ':now': nowMs },
    });
  }

  async open(signer: SignerKey, chainNonce: number): Promise<LeaseRecord[]> {
    assertNonce('chainNonce', chainNonce);
    return this.leasesFrom(signer, chainNonce, { includeConfirmed: false });
  }

  /** Every lease at nonces ≥ `from`, lowest first (the head sorts below every nonce, so it is never included). */
  private async leasesFrom(signer: SignerKey, from: number, options: { includeConfirmed: boolean }): Promise<LeaseRecord[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'signer = :signer AND nonce >= :from',
            ...(options.includeConfirmed
              ? {}
              : { FilterExpression: '#state <> :confirmed', ExpressionAttributeNames: { '#state': 'state' } }),
            ExpressionAttributeValues: { ':signer': signer, ':from': from, ...(options.includeConfirmed ? {} : { ':confirmed': 'confirmed' }) },
            // A lease written a moment ago by another worker must be seen, or its nonce would look free.
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new NonceLeaseWriteError(`reading the leases of ${signer} from nonce ${from}`, { cause: error });
    }
    return items.map((item) => {
      const parsed = leaseItemSchema.safeParse(item);
      if (!parsed.success) {
        throw new MalformedNonceLeaseError(signer, `nonce ${String(item.nonce)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
      return parsed.data;
    });
  }

  /**
   * Leases `nonce` to `owner` if nobody holds it: `released`, `leased` past its expiry or, with `holesToo`, no
   * item at all (gap repair only; see the file comment).
   */
  private async lease(signer: SignerKey, nonce: number, owner: string, nowMs: number, options: { holesToo: boolean }): Promise<TakeOverResult> {
    // Nothing was sent at a released nonce; a leased one past its expiry can no longer be marked signed by its
    // old holder (markSigned requires expiresAtMs ≥ now and the owner), so nothing will be. Signed and confirmed
    // leases never match: their transaction may be out or mined.
    const free = '#state = :released OR (#state = :leased AND expiresAtMs < :now)';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { signer, nonce },
          UpdateExpression: 'SET #state = :leased, #owner = :owner, expiresAtMs = :expiresAtMs, updatedAtMs = :now REMOVE txHash, rawTransaction, #ttl',
          ConditionExpression: options.holesToo ? `attribute_not_exists(#state) OR ${free}` : free,
          ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner', '#ttl': CONFIRMED_EXPIRY_ATTRIBUTE },
          ExpressionAttributeValues: { ':released': 'released', ':leased': 'leased', ':owner': owner, ':now': nowMs, ':expiresAtMs': nowMs + this.leaseMs },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'taken', lease: { signer, nonce, owner } };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { kind: 'held', state: stateSeenBy(error) };
      throw new NonceLeaseWriteError(`leasing nonce ${nonce} of ${signer}`, { cause: error });
    }
  }

  /**
   * Reserves the next never-reserved nonce ≥ floor from the head. `undefined`: another allocator moved the head
   * between this allocator's two writes (the round is lost; the next one reads again).
   */
  private async reserve(signer: SignerKey, floor: number, nowMs: number): Promise<number | undefined> {
    const key = { signer, nonce: HEAD_NONCE };
    let previous: Record<string, unknown> | undefined;
    try {
      ({ Attributes: previous } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET #next = #next + :one, updatedAtMs = :now',
          // Every nonce from the head on was never reserved; at or above the floor, none is used on chain
          // either. Unconditional otherwise: concurrent increments each get their own old value back.
          ConditionExpression: '#next >= :floor',
          ExpressionAttributeNames: { '#next': 'next' },
          ExpressionAttributeValues: { ':one': 1, ':floor': floor, ':now': nowMs },
          ReturnValues: 'UPDATED_OLD',
        }),
      ));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw new NonceLeaseWriteError(`reserving a nonce of ${signer}`, { cause: error });
    }
    if (previous) {
      const head = headSchema.safeParse(previous);
      if (!head.success) throw new MalformedNonceLeaseError(signer, `head: ${head.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return head.data.next;
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET #next = :after, updatedAtMs = :now',
          // The head is absent (a new signer) or below the floor (the chain moved on without the table, or a
          // lease sits above the head): jump to the floor, reserving it. Of concurrent jumpers one wins.
          ConditionExpression: 'attribute_not_exists(#next) OR #next < :floor',
          ExpressionAttributeNames: { '#next': 'next' },
          ExpressionAttributeValues: { ':after': floor + 1, ':floor': floor, ':now': nowMs },
        }),
      );
      return floor;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw new NonceLeaseWriteError(`moving the head of ${signer} to ${floor}`, { cause: error });
    }
  }

  /** Writes the lease of a freshly reserved nonce; false if an item is already there. */
  private async putFresh(signer: SignerKey, nonce: number, owner: string, nowMs: number): Promise<boolean> {
    const item: LeaseRecord = { signer, nonce, owner, state: 'leased', expiresAtMs: nowMs + this.leaseMs, updatedAtMs: nowMs };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          // The head reserved this nonce for us alone; an item already there was written by gap repair (it took
          // the nonce as an abandoned reservation) or predates a lost head, and may be signed: never overwrite.
          ConditionExpression: 'attribute_not_exists(nonce)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new NonceLeaseWriteError(`writing the lease of nonce ${nonce} of ${signer}`, { cause: error });
    }
  }

  /** A conditional update of a held lease; its condition failing means the lease is not (or no longer) ours. */
  private async transition(
    lease: NonceLease,
    action: string,
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<void> {
    try {
      await this.client.send(new UpdateCommand({ TableName: this.table, Key: { signer: lease.signer, nonce: lease.nonce }, ...update }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new NonceLeaseLostError(lease, { cause: error });
      throw new NonceLeaseWriteError(`${action} nonce ${lease.nonce} of ${lease.signer}`, { cause: error });
    }
  }
}
