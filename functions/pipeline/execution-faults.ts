/**
 * Named steps where a fault-injection test may stop an execution dead, as if the Lambda were killed there
 * (local/chaos/crash-points.ts). The use case reaches `after-claim`; the transaction dispatcher the others.
 */
export type ExecutionStep = 'after-claim' | 'after-sign' | 'after-broadcast' | 'before-receipt' | 'after-receipt';

export interface ExecutionFaults {
  /** Throws to simulate the process dying at `step`. */
  reach(step: ExecutionStep): void;
}
