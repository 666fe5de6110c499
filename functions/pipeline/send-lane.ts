/**
 * Serialises the sections of executions that lease a nonce, sign and broadcast for one signer in one process,
 * so concurrent records of a batch do not race each other for the lease table's head. Across processes the
 * nonce leases (DynamoDB) keep nonces apart.
 */
export interface SendLane {
  run<T>(section: () => Promise<T>): Promise<T>;
}

/** No lane: sections run as they come. */
export const DIRECT_LANE: SendLane = { run: (section) => section() };

/** A send lane for one process: sections run one at a time, in arrival order, whatever each one's outcome. */
export function createSendLane(): SendLane {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(section: () => Promise<T>): Promise<T> {
      const result = tail.then(section);
      // Not a best-effort step: the section's failure reaches its caller through `result`; this only keeps the
      // lane's chain alive so the next section runs after a failed one.
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
