import { JsonRpcProvider, Network, type TransactionReceipt } from 'ethers';

/**
 * A JSON-RPC provider tuned for a keeper:
 * - `staticNetwork`: the chain id is given, so ethers never re-asks `eth_chainId` before calls;
 * - `batchMaxCount: 1`: ethers' default request batching waits `batchStallTime` (10 ms) before every call,
 *   which serialises a scan; callers that want batching do it explicitly (lens contract / Promise.all);
 * - `cacheTimeout: -1`: by default ethers answers an identical request from a 250 ms cache, so a nonce or a
 *   balance read at `latest` right after a receipt can be stale ("nonce too low").
 */
export function createJsonRpcProvider(url: string, chainId: bigint | number): JsonRpcProvider {
  const network = Network.from(BigInt(chainId));
  return new JsonRpcProvider(url, network, { staticNetwork: network, batchMaxCount: 1, pollingInterval: 250, cacheTimeout: -1 });
}

export class ReceiptTimeoutError extends Error {
  constructor(
    readonly txHash: string,
    readonly waitedMs: number,
  ) {
    super(`no receipt for ${txHash} after ${waitedMs} ms`);
    this.name = 'ReceiptTimeoutError';
  }
}

/**
 * Polls `eth_getTransactionReceipt` until the transaction is mined or the deadline passes. ethers'
 * `tx.wait()` can miss an automined anvil block and hang, so receipts are always polled explicitly.
 */
export async function pollReceipt(
  provider: JsonRpcProvider,
  txHash: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<TransactionReceipt> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 50;
  const started = Date.now();
  for (;;) {
    const receipt = await provider.getTransactionReceipt(txHash);
    if (receipt) return receipt;
    if (Date.now() - started > timeoutMs) throw new ReceiptTimeoutError(txHash, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The node's current block number. ethers' `getBlockNumber()` may answer from a cache up to a polling
 * interval old, which is enough to pin a read to the block before a price update.
 */
export async function latestBlockNumber(provider: JsonRpcProvider): Promise<number> {
  return Number(await provider.send('eth_blockNumber', []));
}
