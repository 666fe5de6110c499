/**
 * Named places where a chaos test makes an execution die, as if the Lambda was killed there (timeout, OOM, a
 * host lost). The execution use case calls `faults.reach('after-broadcast')` and so on at each step; `crashAt`
 * makes one step throw `SimulatedCrash` the first `times` times it is reached and pass afterwards, so the test
 * can redeliver the message and watch the retry recover from what the ledger and the nonce leases hold.
 *
 * The steps, in the order an execution reaches them:
 * - `after-claim`: the opportunity is claimed in the ledger, nothing is signed;
 * - `after-sign`: the transaction is signed and recorded, not broadcast;
 * - `after-broadcast`: a node accepted it, the ledger does not say `sent` yet;
 * - `before-receipt`: recorded `sent`, waiting for the receipt;
 * - `after-receipt`: mined, the outcome is not recorded yet.
 */

export const CRASH_STEPS = ['after-claim', 'after-sign', 'after-broadcast', 'before-receipt', 'after-receipt'] as const;

export type CrashStep = (typeof CRASH_STEPS)[number];

/** The process "died" at `step`. Nothing after the step ran; everything before it did. */
export class SimulatedCrash extends Error {
  constructor(
    readonly step: CrashStep,
    /** 1 for the first crash at this step. */
    readonly occurrence: number,
  ) {
    super(`simulated crash at ${step} (#${occurrence})`);
    this.name = 'SimulatedCrash';
  }
}

export interface CrashPoints {
  /** Called by the code under test at each step; throws SimulatedCrash while crashes remain for the step. */
  reach(step: CrashStep): void;
  /** How many times `step` was reached (crashed or not). */
  reached(step: CrashStep): number;
  /** Crashes still to come. */
  remaining(): number;
}

/** Crashes the first `times` (default 1) times `step` is reached; every other step passes. */
export function crashAt(step: CrashStep, options: { times?: number } = {}): CrashPoints {
  const times = options.times ?? 1;
  if (!Number.isInteger(times) || times < 0) throw new RangeError(`times must be a non-negative integer, got ${times}`);
  if (!CRASH_STEPS.includes(step)) throw new RangeError(`unknown crash step ${String(step)}: expected one of ${CRASH_STEPS.join(', ')}`);
  const reachedCount = new Map<CrashStep, number>();
  let crashes = 0;
  return {
    reach(reachedStep) {
      reachedCount.set(reachedStep, (reachedCount.get(reachedStep) ?? 0) + 1);
      if (reachedStep === step && crashes < times) {
        crashes += 1;
        throw new SimulatedCrash(step, crashes);
      }
    },
    reached: (reachedStep) => reachedCount.get(reachedStep) ?? 0,
    remaining: () => times - crashes,
  };
}
