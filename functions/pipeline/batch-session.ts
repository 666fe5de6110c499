/**
 * Gathers the candidates of one worker invocation that are ready to send at about the same time, so that they go
 * out as one `liquidateBatch` transaction (batch-execution.ts) instead of one transaction each.
 *
 * The invocation knows how many records it runs (`participants`). Each record either joins with its claimed,
 * planned liquidation or leaves (it ended without one: stale, skipped, duplicate, replayed, failed, rejected). A
 * round is flushed when every participant has joined or left, or `maxWaitMs` after the first join of the round
 * (so one slow record cannot hold the others back); members that join after a flush form the next round. A round
 * is cut into batches of at most `maxBatchSize`.
 *
 * `once(key, work)`: runs `work` once per key within the session (several members of one batch resuming it after
 * a crash follow one resume, not one each).
 */
export interface BatchSession<Member, Result> {
  join(member: Member): Promise<Result>;
  /** The participant ended without joining (or after joining: then nothing changes). Idempotent. */
  leave(participant: string): void;
  once<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export interface BatchSessionOptions<Member, Result> {
  participants: number;
  maxBatchSize: number;
  maxWaitMs: number;
  participantOf(member: Member): string;
  /** Executes one batch: a result (or an error) for every member, by participant. */
  flush(members: readonly Member[]): Promise<Map<string, Result | Error>>;
}

interface Waiting<Member, Result> {
  member: Member;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export function createBatchSession<Member, Result>(options: BatchSessionOptions<Member, Result>): BatchSession<Member, Result> {
  const done = new Set<string>();
  let round: Waiting<Member, Result>[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onceResults = new Map<string, Promise<unknown>>();

  const flushRound = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const members = round;
    round = [];
    for (let i = 0; i < members.length; i += options.maxBatchSize) {
      const batch = members.slice(i, i + options.maxBatchSize);
      options.flush(batch.map((w) => w.member)).then(
        (results) => {
          for (const w of batch) {
            const result = results.get(options.participantOf(w.member));
            if (result === undefined) w.reject(new Error(`the batch returned no result for ${options.participantOf(w.member)}`));
            else if (result instanceof Error) w.reject(result);
            else w.resolve(result);
          }
        },
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      );
    }
  };
  const maybeFlush = (): void => {
    if (round.length > 0 && done.size >= options.participants) flushRound();
  };

  return {
    join(member) {
      return new Promise<Result>((resolve, reject) => {
        done.add(options.participantOf(member));
        round.push({ member, resolve, reject });
        timer ??= setTimeout(flushRound, options.maxWaitMs);
        maybeFlush();
      });
    },
    leave(participant) {
      if (done.has(participant)) return;
      done.add(participant);
      maybeFlush();
    },
    once<T>(key: string, work: () => Promise<T>): Promise<T> {
      let running = onceResults.get(key) as Promise<T> | undefined;
      if (!running) {
        running = work();
        onceResults.set(key, running);
      }
      return running;
    },
  };
}
