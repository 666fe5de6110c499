/**
 * A node refusing a deployless lens call itself (the position lens, the quote lens), told apart from an outcome
 * of the call's reads, so that the adapter falls back to one eth_call per read instead of failing.
 */

/**
 * A node's refusal of the lens call itself, not an outcome of its reads: the gas asked for is above the node's cap
 * or the block gas limit, or the call ran out of gas under a cap the node applied silently (geth caps eth_call gas
 * at RPCGasCap), or the returned result is above EIP-170's code size. Matched on the node's message before
 * call-failure.ts classifies it (it would call most of these node errors).
 */
const LENS_REFUSED =
  /out ?of ?gas|gas required exceeds|exceeds (the )?(block )?gas limit|gas limit (is )?(too high|exceeded|above)|gas (cap|allowance)|intrinsic gas too high|code ?size|CreateContractSizeLimit/i;

/** The node's own words about a failed call: its JSON-RPC error, wherever ethers or our provider put it. */
function nodeMessagesOf(err: unknown): string[] {
  const e = (err ?? {}) as { info?: { error?: { message?: unknown }; responseBody?: unknown }; error?: { message?: unknown }; shortMessage?: unknown };
  const messages = [e.info?.error?.message, e.error?.message, e.shortMessage];
  // An HTTP failure (our provider reports a JSON-RPC error it retried as SERVER_ERROR) keeps the node's answer in its body.
  if (typeof e.info?.responseBody === 'string') {
    try {
      messages.push((JSON.parse(e.info.responseBody) as { error?: { message?: unknown } }).error?.message);
    } catch {
      // Not JSON: nothing the node said in words.
    }
  }
  return messages.filter((m): m is string => typeof m === 'string');
}

export function lensRefusal(err: unknown): string | undefined {
  return nodeMessagesOf(err).find((message) => LENS_REFUSED.test(message));
}
