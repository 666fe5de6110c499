/**
 * What the scanner remembers of its reads between blocks and, in a warm Lambda container, between invocations:
 * per account the last reading (functions/domain/read-policy.ts decides from it whether the account must be read
 * again), and the block up to which position and risk-parameter changes were taken into account.
 *
 * Forgetting is always safe: an account without a reading is read at the next block. So a gap in the change log
 * (a block range the scanner never asked about, or too long a pause between invocations) forgets everything.
 */
import { type OracleObservation, usageMaskOf } from '../domain/oracle-breaker';
import { type AccountReading, type MarketNow, type PriceVector, type ReadPolicy, type ReadReason, rateBoundRay, readReason } from '../domain/read-policy';

/** Position and risk-parameter changes in a block range (AaveV3PositionChanges fits this role). */
export interface PositionChangeSource {
  changesIn(fromBlock: number, toBlock: number): Promise<PositionChanges>;
}

export interface PositionChanges {
  /** Accounts whose own position changed (lower-case addresses). */
  accounts: ReadonlySet<string>;
  /** Reserves (lower-case asset addresses) whose risk parameters changed: every user of them is read again. */
  reserves: ReadonlySet<string>;
  /** Something changed that can affect any account: everyone is read again. */
  everyone: boolean;
  rpcCalls: number;
}

/** How many accounts a block forgot, by cause. */
export interface Forgotten {
  accounts: number;
  reserves: number;
  everyone: boolean;
}

export class AccountReads {
  private readonly readings = new Map<string, AccountReading>();
  /** Position changes are accounted for up to this block; undefined: nothing is known (every account unread). */
  private changesThrough?: number;
  /** The highest variable borrow rate observed by this instance (ray): rates are bounded by what was seen. */
  private highestRateRay = 0n;
  /** The newest block's prices, and the prices of the block seen before it (see pricesToRemember). */
  private priceBlocks?: { block: number; prices: PriceVector; before?: PriceVector };

  constructor(
    private readonly policy: ReadPolicy,
    /** A change-log gap longer than this (blocks) forgets everything rather than asking the node for it. */
    private readonly maxGapBlocks: number,
  ) {}

  /** The range of blocks whose changes must be applied before deciding at `block`; undefined: none needed. */
  pendingRange(block: number): { fromBlock: number; toBlock: number } | undefined {
    if (this.changesThrough === undefined || block <= this.changesThrough) return undefined;
    if (block - this.changesThrough > this.maxGapBlocks) {
      this.forgetAll();
      return undefined;
    }
    return { fromBlock: this.changesThrough + 1, toBlock: block };
  }

  /** Forgets the accounts the changes touched; `assetIds` maps lower-case asset addresses to reserve ids. */
  apply(changes: PositionChanges, assetIds: ReadonlyMap<string, number>): Forgotten {
    if (changes.everyone) {
      const accounts = this.readings.size;
      this.readings.clear();
      return { accounts, reserves: 0, everyone: true };
    }
    let accounts = 0;
    for (const account of changes.accounts) if (this.readings.delete(account)) accounts++;
    let reserves = 0;
    const ids = [...changes.reserves].map((asset) => assetIds.get(asset));
    if (ids.some((id) => id === undefined)) {
      // A reserve the oracle does not list yet: nothing to match users by; forget everyone.
      const all = this.readings.size;
      this.readings.clear();
      return { accounts, reserves: all, everyone: true };
    }
    if (ids.length > 0) {
      const mask = usageMaskOf(ids as number[]);
      for (const [account, reading] of this.readings) {
        if ((reading.userConfiguration & mask) !== 0n) {
          this.readings.delete(account);
          reserves++;
        }
      }
    }
    return { accounts, reserves, everyone: false };
  }

  /** The last block handled with these readings (an earlier invocation's last, in a warm container). */
  get lastSettledBlock(): number | undefined {
    return this.changesThrough;
  }

  /** Changes up to `block` are accounted for (call once the block succeeded). */
  settled(block: number): void {
    this.changesThrough = block;
  }

  /** The market at this block: its prices, block time and the rate bound from every rate seen so far. */
  marketAt(observation: OracleObservation): MarketNow {
    for (const r of observation.readings) {
      if (r.variableBorrowRateRay !== undefined && r.variableBorrowRateRay > this.highestRateRay) this.highestRateRay = r.variableBorrowRateRay;
    }
    const prices = pricesOf(observation);
    if (this.priceBlocks === undefined || observation.block > this.priceBlocks.block) {
      this.priceBlocks = { block: observation.block, prices, before: this.priceBlocks?.prices };
    }
    return { prices, timestampSec: observation.blockTimestampSec, rateBoundRay: rateBoundRay([this.highestRateRay], this.policy) };
  }

  /**
   * The prices a reading taken with `market` (this block's) keeps: all but those that moved since the block this
   * instance saw before. Its first block has nothing to compare with, so the scanner first shows it the block
   * before (`needsPriceBaseline`); without one, all of them are kept. The health factor and the
   * oracle are two calls; a node that answered one of them from the next block's state (anvil while it seals that
   * block, a node behind a load balancer during a reorg) would pair an old health factor with the new prices, and
   * the new prices would then never look like a move: the account would wait out `maxReadIntervalSec` unread.
   * Without those prices the reading proves nothing for them, so the account is read again at the next block
   * (read-policy.ts `unknown-price`): one more read of the accounts a price update touches. Call it before the next
   * block's `marketAt`.
   */
  pricesToRemember(market: MarketNow): PriceVector {
    const seen = this.priceBlocks;
    if (seen?.prices !== market.prices || seen.before === undefined) return market.prices;
    const settled = new Map<number, bigint>();
    for (const [id, price] of market.prices) if (seen.before.get(id) === price) settled.set(id, price);
    return settled;
  }

  /** No block's prices seen yet: show `marketAt` the block before the first one handled (see pricesToRemember). */
  get needsPriceBaseline(): boolean {
    return this.priceBlocks === undefined;
  }

  /** No baseline could be read for the block after `block`: every price of that block counts as moved. */
  withoutPriceBaseline(block: number): void {
    if (this.priceBlocks === undefined) this.priceBlocks = { block, prices: new Map() };
  }

  /** Why `account` must be read now; undefined when its last reading proves it safe. */
  reasonToRead(account: string, now: MarketNow): ReadReason | undefined {
    return readReason(this.readings.get(account), now, this.policy);
  }

  remember(account: string, reading: AccountReading): void {
    this.readings.set(account, reading);
  }

  forget(account: string): void {
    this.readings.delete(account);
  }

  forgetAll(): void {
    this.readings.clear();
    this.changesThrough = undefined;
  }

  get size(): number {
    return this.readings.size;
  }
}

function pricesOf(observation: OracleObservation): PriceVector {
  const prices = new Map<number, bigint>();
  for (const r of observation.readings) if (r.price.kind === 'price') prices.set(r.reserveId, r.price.priceBase);
  return prices;
}
