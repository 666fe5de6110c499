/**
 * Telling a revert from node trouble in an ethers JSON-RPC error: the revert bytes travel in `data` (anvil, geth),
 * sometimes nested under `error` or `info.error`; a revert without data still says so in its message. Transport
 * errors, timeouts and rate limits are neither, and stay the caller's to retry.
 */

/** The revert data of a JSON-RPC error, if it carries any. */
export function revertDataOf(err: unknown): string | undefined {
  const e = err as { data?: unknown; error?: { data?: unknown }; info?: { error?: { data?: unknown } } };
  return [e.data, e.error?.data, e.info?.error?.data].find((c): c is string => typeof c === 'string' && c.startsWith('0x'));
}

/** A node error that is a revert (carries revert data or says so), as opposed to transport or node trouble. */
export function isRevertError(err: unknown): boolean {
  return revertDataOf(err) !== undefined || /revert/i.test((err as Error).message ?? '');
}
