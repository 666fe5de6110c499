/**
 * The worker's side of the oracle-update path (execute-candidate.ts OracleUpdateFollower): whether the update a
 * candidate follows is still pending, the decision's readers with the update applied (a provider whose every
 * eth_call and eth_estimateGas carries the update's state override), and, when a bundle relay is configured, the
 * first broadcast sent as the bundle `[update, ours]` for the next two blocks.
 */
import type { JsonRpcProvider } from 'ethers';
import type { OracleUpdateRef } from '../../pipeline/candidate-message';
import type { ExecuteCandidateDeps, OracleUpdateFollower } from '../../pipeline/execute-candidate';
import type { BundleRelay } from '../../ports/bundle-relay';
import type { BroadcastResult, ChainGateway } from '../../ports/transactions';
import { priceOverride, type StateOverride, withStateOverride } from './price-override';

type Readers = Partial<Pick<ExecuteCandidateDeps, 'positions' | 'liquidator' | 'quoter' | 'flashTerms' | 'nativePrice'>>;

export interface OracleUpdateFollowerOptions {
  /** Builds the decision's readers on a provider (the worker's own construction). */
  readersOn(provider: JsonRpcProvider): Readers;
  relay?: BundleRelay;
  /** Told when a bundle is refused and the transaction goes public instead (logs, metrics). */
  onBundleRefused?(reason: string): void;
}

/** The state override that applies an update: its source answers the new price from a ConstantFeed. */
export function overrideOf(update: OracleUpdateRef): StateOverride {
  return priceOverride({
    feed: update.feed,
    answer: BigInt(update.answer),
    decimals: update.decimals,
    // Staleness checks through the override read the wall clock's now: the update lands in the next block.
    updatedAtSec: BigInt(Math.floor(Date.now() / 1000)),
    roundId: 1n,
  });
}

/** Blocks a bundle is offered for: the next one, and the one after in case the first is missed. */
const BUNDLE_BLOCKS = 2;

export function oracleUpdateFollower(provider: JsonRpcProvider, options: OracleUpdateFollowerOptions): OracleUpdateFollower {
  const statusOf = async (txHash: string): Promise<'pending' | 'landed' | 'gone'> => {
    const tx = (await provider.send('eth_getTransactionByHash', [txHash])) as { blockNumber?: string | null } | null;
    if (tx === null) return 'gone';
    return tx.blockNumber === null || tx.blockNumber === undefined ? 'pending' : 'landed';
  };
  return {
    statusOf,
    readersWith: (update) => options.readersOn(withStateOverride(provider, overrideOf(update))),
    ...(options.relay
      ? {
          bundleBroadcast: (update: OracleUpdateRef, chain: ChainGateway) => {
            const relay = options.relay!;
            return async (raw: string): Promise<BroadcastResult> => {
              if (!update.raw) return chain.broadcast(raw);
              let accepted = 0;
              let refusal: unknown;
              const head = await chain.latestBlock();
              for (let i = 1; i <= BUNDLE_BLOCKS && refusal === undefined; i++) {
                try {
                  await relay.sendBundle({ txs: [update.raw, raw], blockNumber: head + i });
                  accepted++;
                } catch (error) {
                  refusal = error;
                }
              }
              // Accepted for a block: the relay has it (a later block's refusal changes nothing).
              if (accepted > 0) return { kind: 'accepted' };
              const reason = (refusal as Error).message;
              options.onBundleRefused?.(reason);
              // Refused because the update has landed: the plan (made with it pending) is stale and nothing of
              // ours is out, so nothing is sent and the delivery plans again. Otherwise publicly, priced to follow.
              const status = await statusOf(update.txHash).catch((error: unknown) => {
                options.onBundleRefused?.(`the update's status is unknown (${(error as Error).message}): sent publicly`);
                return 'pending' as const;
              });
              if (status === 'landed') {
                return { kind: 'rejected', reason: `the oracle update landed before its bundle: ${reason}`, retryable: true };
              }
              return chain.broadcast(raw);
            };
          },
        }
      : {}),
  };
}
