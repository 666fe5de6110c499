/**
 * The worker's ChainGateway over ethers JSON-RPC providers: fees from eth_feeHistory, the confirmed nonce,
 * broadcast (through a private submission endpoint first when one is configured) and receipts.
 */
import { type JsonRpcProvider, toQuantity } from 'ethers';
import type { Eip1559GasPrice } from '../../domain';
import type { BroadcastResult, ChainGateway, ReceiptSummary } from '../../ports/transactions';
import { BlockMemo } from './block-memo';
import { latestBlockNumber } from './provider';

/** Percentile of the read block's priority fees offered as tip (eth_feeHistory reward percentile). */
const PRIORITY_FEE_PERCENTILE = 50;
/** A tip floor (0.1 gwei) so that an empty block's zero median does not send a tip-less transaction. */
const MIN_PRIORITY_FEE_WEI = 100_000_000n;

/**
 * The node's JSON-RPC error inside an ethers error: `error` on UNKNOWN_ERROR, `info.error` on the codes ethers
 * recognises (INSUFFICIENT_FUNDS, NONCE_EXPIRED, REPLACEMENT_UNDERPRICED). Absent: the node never answered.
 */
function rpcErrorOf(error: unknown): { code: number; message: string } | undefined {
  type Inner = { code?: unknown; message?: unknown };
  const e = error as { error?: Inner; info?: { error?: Inner } };
  const inner = e.error ?? e.info?.error;
  return inner && typeof inner.code === 'number' ? { code: inner.code, message: String(inner.message ?? '') } : undefined;
}

/** eth_sendRawTransaction's failure: refused by the node (and why), or a transport failure (maybe sent). */
export function classifyBroadcastError(error: unknown): BroadcastResult {
  const code = (error as { code?: unknown }).code;
  const rpc = rpcErrorOf(error);
  const reason = rpc?.message ?? (error as Error).message ?? String(error);
  if (rpc && /already known|known transaction|already imported/i.test(rpc.message)) return { kind: 'accepted' };
  if (code === 'NONCE_EXPIRED' || (rpc && /nonce too low/i.test(rpc.message))) return { kind: 'rejected', reason, retryable: true, nonceUsed: true };
  if (code === 'REPLACEMENT_UNDERPRICED') return { kind: 'rejected', reason, retryable: true };
  if (code === 'INSUFFICIENT_FUNDS') return { kind: 'rejected', reason, retryable: false };
  // -32005: rate limited (EIP-1474 "limit exceeded"): refused now, fine later.
  if (rpc) return { kind: 'rejected', reason, retryable: rpc.code === -32005 };
  return { kind: 'unknown', reason };
}

async function sendRaw(provider: JsonRpcProvider, rawTransaction: string): Promise<BroadcastResult> {
  try {
    await provider.send('eth_sendRawTransaction', [rawTransaction]);
    return { kind: 'accepted' };
  } catch (error) {
    return classifyBroadcastError(error);
  }
}

export interface EthersChainGatewayOptions {
  /** Private submission (Flashbots-Protect style): tried first; the public RPC is the fallback. */
  privateProvider?: JsonRpcProvider;
  /** Receipt polling interval; default 200 ms. */
  receiptPollMs?: number;
  /** Called when the private endpoint fails and the public RPC takes the transaction (logs, metrics). */
  onPrivateFallback?: (reason: string) => void;
}

export function ethersChainGateway(provider: JsonRpcProvider, options: EthersChainGatewayOptions = {}): ChainGateway {
  const pollMs = options.receiptPollMs ?? 200;
  const feesByBlock = new BlockMemo<Eip1559GasPrice>();
  const readFeesAfter = async (block: number): Promise<Eip1559GasPrice> => {
    // eth_feeHistory(1 block, newest = block): baseFeePerGas = [fee of block, fee of block + 1], the second
    // computed by the node from block's gas use (EIP-1559); reward = [[percentile tip paid in block]].
    const history = (await provider.send('eth_feeHistory', [toQuantity(1), toQuantity(block), [PRIORITY_FEE_PERCENTILE]])) as {
      baseFeePerGas: string[];
      reward?: string[][];
    };
    const nextBaseFee = BigInt(history.baseFeePerGas[history.baseFeePerGas.length - 1]);
    const observedTip = BigInt(history.reward?.[0]?.[0] ?? 0);
    const tip = observedTip > MIN_PRIORITY_FEE_WEI ? observedTip : MIN_PRIORITY_FEE_WEI;
    // 2 × base fee + tip (ethers' own default) stays valid through six full blocks of base-fee rises.
    return { baseFeePerGasWei: nextBaseFee, maxPriorityFeePerGasWei: tip, maxFeePerGasWei: 2n * nextBaseFee + tip };
  };
  return {
    latestBlock: () => latestBlockNumber(provider),
    // One eth_feeHistory per block, shared by every decision made at it (the answer is fixed once the block is).
    feesAfter: (block) => feesByBlock.get(block, 'fees', () => readFeesAfter(block)),
    confirmedNonce: (address) => provider.getTransactionCount(address, 'latest'),
    async broadcast(rawTransaction) {
      if (options.privateProvider) {
        const viaPrivate = await sendRaw(options.privateProvider, rawTransaction);
        // A refusal about the nonce is the chain's answer, not the endpoint's: the public RPC would say the same.
        if (viaPrivate.kind === 'accepted' || (viaPrivate.kind === 'rejected' && viaPrivate.nonceUsed)) return viaPrivate;
        options.onPrivateFallback?.(viaPrivate.reason);
      }
      return sendRaw(provider, rawTransaction);
    },
    async receiptOfAny(txHashes, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const txHash of txHashes) {
          // A failed read is a "not yet": the loop asks again until the deadline.
          const receipt = await provider.getTransactionReceipt(txHash).catch(() => null);
          if (receipt) {
            const summary: ReceiptSummary = {
              txHash,
              status: receipt.status === 1 ? 'success' : 'reverted',
              blockNumber: receipt.blockNumber,
              gasUsed: receipt.gasUsed,
              effectiveGasPriceWei: receipt.gasPrice,
            };
            return summary;
          }
        }
        if (Date.now() >= deadline) return undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
      }
    },
  };
}
