/** Time, as a port: the pipeline never calls Date.now() itself, so tests and deadlines are deterministic. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
