/**
 * The revert bytes of an ethers JSON-RPC error: they travel in `data` (anvil, geth), sometimes nested under `error`
 * or `info.error`. Whether an error is a revert at all is call-failure.ts's classifyCallFailure.
 */

/** The revert data of a JSON-RPC error, if it carries any. */
export function revertDataOf(err: unknown): string | undefined {
  const e = err as { data?: unknown; error?: { data?: unknown }; info?: { error?: { data?: unknown } } };
  return [e.data, e.error?.data, e.info?.error?.data].find((c): c is string => typeof c === 'string' && c.startsWith('0x'));
}
