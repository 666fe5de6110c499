/**
 * The scanner's oracle-update path on an Aave V3 market (scan-blocks.ts PendingUpdateWatch): the price sources
 * the Pool's oracle uses (from the block's oracle observation) are resolved to the addresses their updates are
 * sent to (a Chainlink proxy's aggregator), watched in the mempool (PendingPriceUpdates), and an account's
 * health with an update applied is read by the health lens through a provider whose every eth_call carries a
 * state override: the source's code replaced by ConstantFeed answering the update's new price.
 *
 * What it cannot see: an update sent privately (a Chainlink SVR feed's update is auctioned, never public), one
 * to a price-cap adapter's underlying feed (the adapter is its own source here), a transaction type it does not
 * decode. Those are found a block later, when they land, by the block-following path.
 */
import type { JsonRpcProvider } from 'ethers';
import type { OracleObservation } from '../../domain/oracle-breaker';
import type { OracleUpdateRef } from '../../pipeline/candidate-message';
import type { PendingOracleUpdate, PendingUpdateWatch, ScannedAccount } from '../../pipeline/scan-blocks';
import { AaveV3HealthScanner } from './health-scan';
import { type PendingPriceUpdate, PendingPriceUpdates } from './pending-price-updates';
import { overrideOf } from './oracle-update-follower';
import { withStateOverride } from './price-override';

/** Where a watched update is sent, and what it prices. */
interface Watched {
  /** The source AaveOracle reads (overridden when simulating). */
  source: string;
  /** Reserve assets (lower-case) whose price comes from the source. */
  assets: string[];
  /** The source's answer at the last observation: the base of the update's ratio. */
  answer: bigint;
}

export interface PendingUpdateWatchOptions {
  /** Health lens chunk size (accounts per eth_call). */
  chunkSize?: number;
  /** Decimals of the market's feeds (USD feeds: 8); the constant feed answers them. */
  feedDecimals?: number;
}

export class AaveV3PendingUpdateWatch implements PendingUpdateWatch {
  private readonly mempool: PendingPriceUpdates;
  /** Watched targets (lower-case) for the current set of sources. */
  private targets = new Map<string, Watched>();
  private sourcesKey = '';

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly pool: string,
    private readonly options: PendingUpdateWatchOptions = {},
  ) {
    this.mempool = new PendingPriceUpdates(provider);
  }

  async poll(observation: OracleObservation): Promise<{ updates: PendingOracleUpdate[]; rpcCalls: number }> {
    let rpcCalls = 0;
    // Sources and their current answers, from the block's observation.
    const bySource = new Map<string, Watched>();
    for (const r of observation.readings) {
      if (r.feed.kind !== 'round') continue;
      const source = r.feed.source.toLowerCase();
      const watched = bySource.get(source) ?? { source: r.feed.source, assets: [], answer: r.feed.answer };
      watched.assets.push(r.asset.toLowerCase());
      bySource.set(source, watched);
    }
    const key = [...bySource.keys()].sort().join(',');
    if (key !== this.sourcesKey) {
      const { resolved, rpcCalls: calls } = await this.mempool.resolveAggregators([...bySource.values()].map((w) => w.source), observation.block);
      rpcCalls += calls;
      this.targets = new Map(resolved.map((r) => [r.target.toLowerCase(), bySource.get(r.source.toLowerCase())!]));
      this.mempool.watch(new Map([...this.targets].map(([target, w]) => [target, w.assets])));
      this.sourcesKey = key;
    } else {
      // Same sources: refresh the answers the ratios are taken against.
      for (const w of this.targets.values()) w.answer = bySource.get(w.source.toLowerCase())!.answer;
    }
    const polled = await this.mempool.poll();
    rpcCalls += polled.rpcCalls;
    const updates: PendingOracleUpdate[] = [];
    for (const u of polled.updates) {
      const watched = this.targets.get(u.to.toLowerCase());
      if (u.kind !== 'answer' || !watched || watched.answer <= 0n || u.answer <= 0n) continue;
      updates.push({
        txHash: u.txHash,
        assets: watched.assets,
        ratio: { numerator: u.answer, denominator: watched.answer },
        follow: followOf(u, watched.source, this.options.feedDecimals ?? 8),
      });
    }
    return { updates, rpcCalls };
  }

  async scanWithUpdate(users: readonly string[], block: number, update: PendingOracleUpdate): Promise<{ accounts: ScannedAccount[]; rpcCalls: number }> {
    const withUpdate = withStateOverride(this.provider, overrideOf(update.follow));
    // Its own scanner: a node that refuses the override must not switch the block-following scanner's mode.
    const scanner = new AaveV3HealthScanner(withUpdate, this.pool, { chunkSize: this.options.chunkSize ?? 500 });
    const { accounts, rpcCalls } = await scanner.scan(users, block);
    return { accounts, rpcCalls };
  }
}

function followOf(u: PendingPriceUpdate & { kind: 'answer' }, source: string, decimals: number): OracleUpdateRef {
  return {
    txHash: u.txHash,
    feed: source,
    answer: u.answer.toString(),
    decimals,
    ...(u.fees.kind === 'eip1559'
      ? { maxFeePerGas: u.fees.maxFeePerGas.toString(), maxPriorityFeePerGas: u.fees.maxPriorityFeePerGas.toString() }
      : { gasPrice: u.fees.gasPrice.toString() }),
    ...(u.raw.kind === 'signed' ? { raw: u.raw.serialized } : {}),
  };
}
