/**
 * The crash-safe record of every liquidation attempt. An opportunity is (chain, market, borrower, detected
 * block); at most one attempt per opportunity is ever claimed (a conditional write), and at most one attempt
 * is in flight per position (chain, market, borrower, debt asset) across any number of workers.
 *
 * An attempt moves
 *
 *     claimed ─▶ signed ─▶ sent ─▶ mined | reverted | dropped
 *        │          │        │
 *        └──────────┴────────┴─▶ failed (nothing reached a mempool) · skipped · dry-run (decided after the claim)
 *
 * A member of a batch (several attempts sent as one `liquidateBatch` transaction) goes claimed ─▶ batched: the
 * transaction is the batch's own attempt (opportunity `batch#…`, which moves like any other), the member holds a
 * reference to it (`batch`: its opportunity and the member's item index) and ends with its own outcome once the
 * batch's receipt says what its item did: mined (its item succeeded), reverted (its item failed, or the whole
 * transaction), dropped, or failed (the batch never reached a mempool).
 *
 * and each of its transactions (the first and every fee-bumped replacement at the same nonce)
 *
 *     signed ─▶ sent ─▶ mined | replaced (another of the attempt's transactions was mined) | dropped
 *
 * Every transition is a conditional write. A transaction is recorded `signed`, with its raw bytes and hash,
 * before it is broadcast: a worker that dies anywhere after that leaves enough in the ledger for the retry to
 * re-broadcast the same bytes instead of signing anything new.
 *
 * `Plan` is what the attempt sends, as the use case types it (functions/pipeline/execution-plan.ts): the port
 * stores and returns it whole; an adapter encodes it for storage and decodes it on read, failing on a stored
 * plan that does not decode rather than making one up.
 */

export type AttemptState = 'claimed' | 'batched' | 'signed' | 'sent' | 'mined' | 'reverted' | 'dropped' | 'failed' | 'skipped' | 'dry-run';
export type TransactionState = 'signed' | 'sent' | 'mined' | 'replaced' | 'dropped';

/** States that end an attempt: its position is free for the next one. */
export const FINAL_ATTEMPT_STATES: readonly AttemptState[] = ['mined', 'reverted', 'dropped', 'failed', 'skipped', 'dry-run'];
/** States in which a transaction of the attempt may exist: only the claim's owner may continue them. */
export const IN_FLIGHT_ATTEMPT_STATES: readonly AttemptState[] = ['signed', 'sent'];

/** Where a batched member's transaction is: the batch attempt's opportunity, and the member's item index in it. */
export interface BatchReference {
  opportunity: string;
  index: number;
}

/** One signed transaction of an attempt. `index` 0 is the first; replacements count up. */
export interface AttemptTransaction {
  index: number;
  txHash: string;
  /** 0x-prefixed signed bytes, as eth_sendRawTransaction takes them. */
  rawTransaction: string;
  from: string;
  nonce: number;
  gasLimit: bigint;
  maxFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
  state: TransactionState;
  signedAt: string;
}

export interface AttemptRecord<Plan> {
  opportunity: string;
  /** The claim's owner (the SQS message id of the delivery that claimed it). */
  attemptId: string;
  /** `chain#pool#borrower#debtAsset`: the position this attempt holds while in flight. */
  position: string;
  state: AttemptState;
  /** Block the decision was made at. */
  block?: number;
  /** Written with the first signed transaction (or a dry run's outcome, or the settled outcome). */
  plan?: Plan;
  reason?: string;
  /** The mined transaction, once there is one. */
  txHash?: string;
  minedBlock?: number;
  /** Gas the mined transaction used, once there is one. */
  gasUsed?: bigint;
  /** Oldest first. */
  transactions: AttemptTransaction[];
  /** Set while `batched` and after: the batch attempt that carries this attempt's liquidation. */
  batch?: BatchReference;
}

export type ClaimResult =
  | { kind: 'claimed' }
  /** The opportunity is claimed by another attempt, or this attempt already finished it. */
  | { kind: 'duplicate' }
  /** Another opportunity's attempt holds the position (its transaction may still be pending). */
  | { kind: 'in-flight'; heldBy: string };

/** Outcomes that end an attempt (the attempt's position lock is released with them). */
export type FinalOutcome<Plan> =
  | { kind: 'skipped'; reason: string; block: number }
  | { kind: 'dry-run'; block: number; plan: Plan }
  | { kind: 'failed'; reason: string; block: number }
  /** `txHash`: the attempt's transaction that was mined; the attempt's other transactions become `replaced`. */
  | { kind: 'mined'; txHash: string; minedBlock: number; gasUsed: bigint; plan: Plan }
  | { kind: 'reverted'; txHash: string; minedBlock: number; reason: string; plan: Plan }
  /** None of the attempt's transactions was mined and their nonce is used by something else. */
  | { kind: 'dropped'; reason: string };

export interface LiquidationLedger<Plan> {
  /** The attempt and its transactions (strongly consistent), or undefined if the opportunity is unclaimed. */
  find(opportunity: string): Promise<AttemptRecord<Plan> | undefined>;
  /**
   * Claims the opportunity for `attempt` and the position for the opportunity, deciding at `block`. A
   * redelivery of the same attempt may claim again while nothing was signed (`claimed`, `failed`).
   */
  claim(opportunity: string, attempt: string, position: string, block: number, nowIso: string): Promise<ClaimResult>;
  /**
   * Records a signed transaction before it is broadcast: the claim's first (attempt claimed → `signed`) or a
   * replacement of transaction `replaces` (the attempt stays `signed`/`sent`). `tx.index` must be the next
   * index (transactions of an earlier, failed round of the same delivery keep theirs, `dropped`).
   */
  recordSigned(
    opportunity: string,
    attempt: string,
    tx: Omit<AttemptTransaction, 'state' | 'signedAt'> & { replaces?: number },
    plan: Plan,
    nowIso: string,
  ): Promise<void>;
  /**
   * The claimed attempt is an item of the batch attempt `batch.opportunity` (claimed → `batched`, with the
   * member's own plan). Written before the batch's transaction is signed: whoever finds the member later follows
   * the batch.
   */
  recordBatched(opportunity: string, attempt: string, batch: BatchReference, plan: Plan, nowIso: string): Promise<void>;
  /** The transaction was handed to a node (attempt and transaction → `sent`). */
  recordSent(opportunity: string, attempt: string, index: number, nowIso: string): Promise<void>;
  /** Ends the attempt, settles its transactions and frees its position. */
  finish(opportunity: string, attempt: string, outcome: FinalOutcome<Plan>, nowIso: string): Promise<void>;
}
