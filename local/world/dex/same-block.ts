/**
 * Sends several transactions so that anvil mines them in ONE block, in the order given per sender: mining is
 * paused (automine off, or interval mining off), the transactions are sent with explicit gas (no estimate against
 * a state the earlier ones are about to change), one block is mined with `evm_mine`, and the mining mode is
 * restored — also when sending fails. Transactions other processes send meanwhile land in the same block.
 * anvil assigns nonces of `eth_sendTransaction` counting the sender's pending transactions.
 */
import { type JsonRpcProvider, type TransactionReceipt, toQuantity } from 'ethers';
import { pollReceipt } from '../../../functions/adapters/chain/provider';

/** A transaction from an unlocked anvil account, with a label for error messages. */
export interface RawCall {
  label: string;
  from: string;
  to: string;
  data: string;
  /** Gas limit, set explicitly (see the header). */
  gas: bigint;
  /** Whether a revert of this call fails the whole step (false: the caller checks the outcome another way). */
  mustSucceed: boolean;
}

/** How the anvil mines when left alone: a block per transaction, or a block every `blockTimeSec`. */
export type MiningMode = { kind: 'automine' } | { kind: 'interval'; blockTimeSec: number };

export function miningModeOf(blockTimeSec: number): MiningMode {
  return blockTimeSec === 0 ? { kind: 'automine' } : { kind: 'interval', blockTimeSec };
}

export interface MinedCall {
  call: RawCall;
  receipt: TransactionReceipt;
}

/**
 * Pauses mining, asks `build` for the calls (so it reads the chain while no block can land), sends them, mines
 * one block and restores `mining`. Resolves with the block number and every call's receipt (reverted ones too:
 * the caller decides which reverts are fatal).
 *
 * `beforeBlock` runs once mining is paused, before anything is sent, and again right after the block, before
 * mining resumes: the world pins the next block's base fee there (World.holdBaseFee). anvil prices an
 * `eth_sendTransaction` without fees at the next block's base fee + 1 gwei, with no headroom, so a call sent
 * before the pin would be priced under the held fee and left out of the block.
 */
export async function sendInOneBlock(
  provider: JsonRpcProvider,
  mining: MiningMode,
  build: () => Promise<RawCall[]>,
  beforeBlock?: () => Promise<void>,
): Promise<{ blockNumber: number; mined: MinedCall[] }> {
  if (mining.kind === 'automine') await provider.send('evm_setAutomine', [false]);
  else await provider.send('evm_setIntervalMining', [0]);
  const sent: { call: RawCall; hash: string }[] = [];
  try {
    await beforeBlock?.();
    for (const call of await build()) {
      const hash = (await provider.send('eth_sendTransaction', [
        { from: call.from, to: call.to, data: call.data, gas: toQuantity(call.gas) },
      ])) as string;
      sent.push({ call, hash });
    }
  } finally {
    await provider.send('evm_mine', []);
    await beforeBlock?.();
    if (mining.kind === 'automine') await provider.send('evm_setAutomine', [true]);
    else await provider.send('evm_setIntervalMining', [mining.blockTimeSec]);
  }
  const mined = await Promise.all(sent.map(async ({ call, hash }) => ({ call, receipt: await pollReceipt(provider, hash) })));
  const blocks = new Set(mined.map((m) => m.receipt.blockNumber));
  if (blocks.size > 1) throw new Error(`transactions meant for one block landed in blocks ${[...blocks].join(', ')}`);
  const blockNumber = mined[0]?.receipt.blockNumber ?? Number(await provider.send('eth_blockNumber', []));
  return { blockNumber, mined };
}
