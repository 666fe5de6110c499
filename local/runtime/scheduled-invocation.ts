/**
 * One invocation of a scheduled function, as EventBridge Scheduler and Lambda treat it: an invocation that throws
 * or overruns its timeout (middy's early timeout throws a TimeoutError "[AbortError]") is a failed invocation.
 * Lambda logs it and the schedule fires the next one as usual; nothing waits for, retries or re-throws it. So here:
 * the failure is logged and returned as an outcome, never thrown into the runtime that scheduled it.
 */
import type { Context } from 'aws-lambda';
import { localLambdaContext } from './sqs-event-source';

export type ScheduledHandler<T> = (event: unknown, context: Context) => Promise<T>;

export type Invocation<T> =
  | { kind: 'succeeded'; result: T; durationMs: number }
  /** `timedOut`: the handler gave up at its deadline (middy's TimeoutError), as Lambda's "Task timed out". */
  | { kind: 'failed'; error: Error; timedOut: boolean; durationMs: number };

/** middy's early-timeout error (`@middy/core` timeoutEarlyResponse): name TimeoutError, cause `{ package: '@middy/core' }`. */
export function isInvocationTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}

export async function invokeScheduled<T>(
  functionName: string,
  handler: ScheduledHandler<T>,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<Invocation<T>> {
  const started = Date.now();
  try {
    const result = await handler({}, localLambdaContext(functionName, timeoutMs));
    return { kind: 'succeeded', result, durationMs: Date.now() - started };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    const durationMs = Date.now() - started;
    const timedOut = isInvocationTimeout(error);
    log(
      timedOut
        ? `${functionName}: invocation timed out after ${durationMs} ms (timeout ${timeoutMs} ms); the next scheduled invocation carries on`
        : `${functionName}: invocation failed after ${durationMs} ms: ${error.message}; the next scheduled invocation carries on`,
    );
    return { kind: 'failed', error, timedOut, durationMs };
  }
}
