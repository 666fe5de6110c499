/**
 * How an execution fails. Failures are classified once (`classifyFailure`, implemented beside the adapters):
 * a retryable one is thrown so SQS redelivers the message; a permanent one is recorded (once claimed) and
 * returned as `failed`. From the ledger's `signed` on, a failure never leads to a new signature for the same
 * nonce except a replacement: the retry re-broadcasts what the ledger holds.
 */
import type { FinalOutcome, LiquidationLedger } from '../ports/liquidation-ledger';
import type { ExecutionPlan } from './execution-plan';

export type FailureClass = 'retryable' | 'permanent';

/** Where a permanent failure happened. */
export type FailureStage = 'decide' | 'claim' | 'simulate' | 'prepare' | 'broadcast';

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failure after the claim and before anything was signed: recorded as `failed`, then thrown or returned by class. */
export class ClaimedFailure<Stage extends 'simulate' | 'prepare' = 'simulate' | 'prepare'> extends Error {
  constructor(
    readonly stage: Stage,
    cause: unknown,
  ) {
    super(`${stage}: ${messageOf(cause)}`, { cause });
    this.name = 'ClaimedFailure';
  }
}

/**
 * Ends a claimed attempt `failed` after `failure`: thrown again if retryable, else returned. `failed` frees the
 * position and lets this attempt's redelivery take its claim again; if even this write fails, the claim stays
 * `claimed`, which the redelivery may also take again.
 */
export async function failClaimedAttempt<Stage extends 'simulate' | 'prepare'>(
  deps: { ledger: Pick<LiquidationLedger<ExecutionPlan>, 'finish'>; classifyFailure(error: unknown): FailureClass },
  at: { opportunity: string; attempt: string; block: number; nowIso: string },
  failure: ClaimedFailure<Stage>,
): Promise<{ kind: 'failed'; stage: Stage; reason: string }> {
  const retryable = deps.classifyFailure(failure.cause) === 'retryable';
  const reason = `${retryable ? 'retryable' : 'permanent'} ${failure.message}`;
  const outcome: FinalOutcome<ExecutionPlan> = { kind: 'failed', reason, block: at.block };
  await deps.ledger.finish(at.opportunity, at.attempt, outcome, at.nowIso);
  if (retryable) throw failure;
  return { kind: 'failed', stage: failure.stage, reason };
}

/** Thrown when the node refused the transaction for a reason a later attempt can fix (nonce, fee, rate limit). */
export class RetryableBroadcastError extends Error {
  readonly retryable = true;
  constructor(reason: string) {
    super(`broadcast rejected, retryable: ${reason}`);
    this.name = 'RetryableBroadcastError';
  }
}

/**
 * The attempt's transaction is out and not mined before the deadline (or its state could not be written):
 * retryable, so the redelivery of the same message resumes it from the ledger.
 */
export class PendingTransactionError extends Error {
  readonly retryable = true;
  constructor(
    readonly opportunity: string,
    readonly txHash: string,
    detail: string,
  ) {
    super(`transaction ${txHash} of ${opportunity} still pending: ${detail}`);
    this.name = 'PendingTransactionError';
  }
}
