/**
 * The mempool counterpart of same-block.ts: transactions sent as ordinary pending transactions with explicit
 * EIP-1559 fees while anvil keeps mining on its interval, as an oracle update and the arbitrage behind it reach a
 * real block builder. Nothing pauses mining; where a transaction lands in the block is the builder's fee order
 * (anvil `--order fees`: by maxFeePerGas, then arrival, local/world/anvil.ts).
 */
import { type JsonRpcProvider, type TransactionReceipt, toQuantity } from 'ethers';
import { pollReceipt } from '../../../functions/adapters/chain/provider';
import { planPoolMoves, type PoolTarget, readPoolState } from './arbitrage';
import type { RawCall } from './same-block';

/** The fees a pending transaction offers, in wei per gas. */
export interface Eip1559Fees {
  maxFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
}

/** Rounds after the first when a pool did not reach its target (as arbitrage.ts MAX_EXTRA_ROUNDS). */
const MAX_EXTRA_ROUNDS = 3;

/**
 * Sends `call` from its unlocked anvil account as a type-2 transaction with `fees` and returns its hash at once
 * (anvil numbers the nonce after the sender's pending transactions).
 */
export async function sendPending(provider: JsonRpcProvider, call: RawCall, fees: Eip1559Fees): Promise<string> {
  return (await provider.send('eth_sendTransaction', [
    {
      type: '0x2',
      from: call.from,
      to: call.to,
      data: call.data,
      gas: toQuantity(call.gas),
      maxFeePerGas: toQuantity(fees.maxFeePerGasWei),
      maxPriorityFeePerGas: toQuantity(fees.maxPriorityFeePerGasWei),
    },
  ])) as string;
}

async function minedOrThrow(provider: JsonRpcProvider, sent: { call: RawCall; hash: string }[]): Promise<TransactionReceipt[]> {
  const receipts = await Promise.all(sent.map(({ hash }) => pollReceipt(provider, hash)));
  const fatal = receipts.findIndex((r, i) => r.status !== 1 && sent[i].call.mustSucceed);
  if (fatal >= 0) throw new Error(`${sent[fatal].call.label} reverted (tx ${receipts[fatal].hash})`);
  return receipts;
}

/**
 * Moves every target pool to its price with pending transactions at `fees`, planned on the latest mined state
 * (a pending oracle update does not change a pool). Each round waits for its transactions; a pool still off its
 * target after the block its last swap landed in (someone else's swap came first) gets another round. Resolves
 * with the block after which every pool is at its target; throws when one is not after the last round.
 */
export async function movePoolsThroughMempool(
  provider: JsonRpcProvider,
  targets: readonly PoolTarget[],
  options: { swapRouter: string; arbitrageur: string; fees: Eip1559Fees },
): Promise<{ settledBlock: number }> {
  let pending = [...targets];
  let settledBlock: number | undefined;
  for (let round = 0; round <= MAX_EXTRA_ROUNDS && pending.length > 0; round++) {
    const sent: { call: RawCall; hash: string }[] = [];
    for (const call of await planPoolMoves(provider, options.swapRouter, options.arbitrageur, pending)) {
      sent.push({ call, hash: await sendPending(provider, call, options.fees) });
    }
    const receipts = await minedOrThrow(provider, sent);
    const block = receipts.length > 0 ? Math.max(...receipts.map((r) => r.blockNumber)) : Number(await provider.send('eth_blockNumber', []));
    settledBlock = block;
    const states = await Promise.all(pending.map((t) => readPoolState(provider, t.pool.address, block)));
    pending = pending.filter((t, i) => states[i].sqrtPriceX96 !== t.sqrtPriceX96);
  }
  if (pending.length > 0) {
    throw new Error(`pools ${pending.map((t) => t.pool.pair).join(', ')} did not reach their target price after ${MAX_EXTRA_ROUNDS + 1} rounds`);
  }
  settledBlock ??= Number(await provider.send('eth_blockNumber', []));
  return { settledBlock };
}
