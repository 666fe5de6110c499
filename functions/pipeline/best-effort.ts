/**
 * Steps a use case may let fail without failing its record (habit 13: nothing fails silently). Each failure is
 * reported to this port, which the handlers wire to a Powertools warning and a CloudWatch metric.
 *
 * Few metric names, not one per step: CloudWatch bills every custom metric, and the warning's `step` says which
 * step it was. README.md (Operating it → Watching it) documents each metric; lib/constructs/pipeline-metrics.ts
 * repeats the names for the alarm and the dashboard.
 */

/** A step whose failure is tolerated, and what its failure costs. */
export type BestEffortStep =
  /**
   * A settled transaction's gas and outcome not added to the execution breakers: the daily gas budget and the
   * revert streak do not count it, so they may stay closed when they should open. Alarmed.
   */
  | 'breaker-update'
  /** A nonce lease left `leased`/`signed` after its nonce was used: harmless, allocation starts at the chain's nonce. */
  | 'nonce-lease-confirm'
  /** A nonce lease not freed after nothing was sent: the nonce waits for its lease to expire or for gap repair. */
  | 'nonce-lease-release'
  /** A receipt lookup while following a transaction: the next round looks again. */
  | 'receipt-poll'
  /** The signer's confirmed nonce while following a transaction: a drop is noticed a round later. */
  | 'confirmed-nonce-read'
  /** The current fees before a replacement: this round replaces nothing, the next one tries again. */
  | 'replacement-fees-read'
  /** The scanner's head right after a block (its lag): the next iteration asks again. */
  | 'head-poll'
  /**
   * The oracle at the block before an instance's first (its price baseline, scan-blocks.ts): every price counts
   * as moved, so every account that block reads is read once more at the next.
   */
  | 'price-baseline'
  /**
   * Why a mined transaction reverted (replayed on the chain): unexplained, the revert is recorded without its
   * reason and counts towards the revert streak as if the plan were at fault (the safe side).
   */
  | 'revert-explain'
  /** What a mined liquidation did by our contract's events (realised amounts and profit): the result lacks them. */
  | 'realized-read'
  /**
   * A claim that sent nothing not ended `failed` (a batch member sent back to the queue, a batch attempt whose
   * members could not be recorded): the claim keeps its position, and later candidates for the account wait
   * `in-flight` until its own message comes back and takes it again.
   */
  | 'claim-release'
  /**
   * A pending oracle update not followed (the mempool poll or its simulation failed): its accounts are found when
   * the update is mined, a block later, by the block-following path.
   */
  | 'pending-update'
  /**
   * A batch not simulated on the pending block: its swap bounds come from the read block alone, and an item that
   * lands after another of our batches selling into the same pool may fail its bound (and is offered again).
   */
  | 'pending-bound'
  /**
   * A batch's gas not measured with every item failing at its last guard: its limit is then half again its estimate,
   * which a batch whose items mostly fail in their block can exceed (each failed item leaves the next one to pay
   * for cold storage again); the whole batch then reverts (ItemOutOfGas).
   */
  | 'worst-case-gas';

/** The metric each step counts (a Count of 1 per failure, with the function's `service` and `market` dimensions). */
export const BEST_EFFORT_METRICS = {
  'breaker-update': 'BreakerUpdateFailures',
  'nonce-lease-confirm': 'NonceLeaseUpdateFailures',
  'nonce-lease-release': 'NonceLeaseUpdateFailures',
  'receipt-poll': 'ReceiptPollFailures',
  'confirmed-nonce-read': 'ReceiptPollFailures',
  'replacement-fees-read': 'ReceiptPollFailures',
  'head-poll': 'HeadPollFailures',
  'price-baseline': 'HeadPollFailures',
  'revert-explain': 'ReceiptPollFailures',
  'realized-read': 'ReceiptPollFailures',
  'claim-release': 'ClaimReleaseFailures',
  'pending-update': 'PendingUpdateFailures',
  'pending-bound': 'ReceiptPollFailures',
  'worst-case-gas': 'ReceiptPollFailures',
} as const satisfies Record<BestEffortStep, string>;

export type BestEffortMetric = (typeof BEST_EFFORT_METRICS)[BestEffortStep];

/** What a report may carry besides the error, to find the attempt in the ledger (opportunity, nonce, txHash…). */
export type BestEffortContext = Record<string, string | number>;

export interface BestEffort {
  /** `step` failed with `error`; the caller carries on as the step's comment says. */
  failed(step: BestEffortStep, error: unknown, context?: BestEffortContext): void;
}

/**
 * Runs a best-effort step: its result, or `undefined` after reporting its failure. Replaces
 * `.catch(() => undefined)`, which hides exactly the failures operators need to see.
 */
export async function runBestEffort<T>(port: BestEffort, step: BestEffortStep, run: () => Promise<T>, context?: BestEffortContext): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    port.failed(step, error, context);
    return undefined;
  }
}

/**
 * Reports nothing. Only the default of optional ports in use cases that tests and benchmarks run without a
 * handler (nonce-gaps.ts, scan-blocks.ts); every handler wires reportingBestEffort.
 */
export const UNREPORTED: BestEffort = { failed: () => undefined };

/** The slice of a Powertools Logger this port writes to. */
export interface WarningLog {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** The slice of a Powertools Metrics this port counts with ('Count' is MetricUnit.Count). */
export interface FailureCounter {
  addMetric(name: string, unit: 'Count', value: number): void;
}

/** The handlers' wiring: each failure is one warning (with step, metric and error) and one count of its metric. */
export function reportingBestEffort(log: WarningLog, counter: FailureCounter): BestEffort {
  return {
    failed(step, error, context = {}) {
      const metric = BEST_EFFORT_METRICS[step];
      counter.addMetric(metric, 'Count', 1);
      log.warn(`best-effort step failed: ${step}`, { ...context, step, metric, error: error instanceof Error ? error : new Error(String(error)) });
    },
  };
}
