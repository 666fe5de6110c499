/**
 * The execution breakers of one market (kill switch, revert streak, daily gas budget), as the worker, the
 * scanner and the trigger see them. The rules are pure (functions/domain/execution-breakers.ts); an adapter keeps
 * the counters where every worker instance sees the same ones (DynamoDbExecutionBreakers, KeeperState table).
 */
import type { ExecutionBreakerReason, ExecutionBreakerState, ExecutionOutcome } from '../domain/execution-breakers';

export type BreakerReason = ExecutionBreakerReason;
export type BreakerState = ExecutionBreakerState;
export type BreakerOutcome = ExecutionOutcome;

export interface ExecutionBreakers {
  /** Open or closed at `nowMs` (strongly consistent: a kill switch set a moment ago is seen). */
  check(nowMs: number): Promise<BreakerState>;
  /** A transaction of the market was mined (`reverted`: mined with status 0); safe under concurrent workers. */
  recordOutcome(outcome: BreakerOutcome, nowMs: number): Promise<void>;
  /** Turns execution off (`on`) or back on; `by` and `reason` are kept with the switch for the status report. */
  setKillSwitch(on: boolean, by: string, reason: string, nowMs: number): Promise<void>;
}
