/**
 * Oracle circuit breakers: per reserve asset, is the price the Pool uses right now trustworthy enough to act on?
 * Pure: readings come in, verdicts go out; the scanner reads the chain and carries the previous observation.
 *
 * What the Pool itself checks: nothing. AaveOracle.getAssetPrice (aave-v3-origin
 * `src/contracts/misc/AaveOracle.sol`, core-v3 `contracts/misc/AaveOracle.sol`) returns
 * `IChainlinkAggregator(source).latestAnswer()` when it is > 0, else the fallback oracle's price; it never looks
 * at `updatedAt`. A feed that stopped updating therefore still values positions, and a liquidation at that price
 * succeeds on-chain while the collateral it pays out may be worth less. Hence the keeper's own checks:
 * - `invalid`: the Pool's price or the feed's answer is ≤ 0 or cannot be read (Chainlink answers are int256;
 *   AaveOracle would fall through to its fallback oracle, which on most markets is unset);
 * - `stale`: block.timestamp − updatedAt > maxAge (Chainlink `latestRoundData().updatedAt` is the timestamp of
 *   the round; a feed is expected to update at least every heartbeat, see PERFORMANCE.md). maxAge is the asset's
 *   own limit where one is configured (a 24 h stablecoin feed next to 1 h ETH feeds), else the market-wide one;
 * - `undated` (only with `undatedFeeds: 'block'`): the asset has a source but it answers no `latestRoundData()`,
 *   while the Pool still reads its price. That is an adapter: Aave's price-cap (CAPO) adapters implement
 *   `latestAnswer()`, `decimals()` and `description()` only (aave-capo `IPriceCapAdapter` /
 *   `ICLSynchronicityPriceAdapter`), and AaveOracle reads nothing else. Its age cannot be known: `allow` (the
 *   default) applies the price checks alone, `block` keeps the breaker open. Either way `undatedFeeds()` names
 *   such assets so the caller can report them;
 * - `deviation`: the Pool's price moved more than maxDeviationBps since the previous reading of the same asset
 *   (a Chainlink feed moves in deviation-threshold steps of ~0.5 %, not tens of percent at once). The baseline is
 *   the previous block's reading, so a jump holds action for the block where it happens; if the new price holds,
 *   the breaker closes at the next block (a latched breaker would need a baseline that outlives the invocation).
 */
import { PERCENTAGE_FACTOR } from './math';

/** The feed behind an asset, as `latestRoundData()` reports it, or why it could not be read. */
export type FeedRound =
  | {
      kind: 'round';
      /** The aggregator AaveOracle reads (getSourceOfAsset). */
      source: string;
      /** `latestRoundData().answer`, in the feed's decimals (8 for USD feeds, equal to the Pool's base unit). */
      answer: bigint;
      /** `latestRoundData().updatedAt`, unix seconds. */
      updatedAtSec: bigint;
    }
  /**
   * No source (the zero address: the base-currency asset, or a fallback-only asset) or a source without
   * `latestRoundData` (an adapter; see `isUndatable`).
   */
  | { kind: 'unavailable'; source: string; reason: string };

/** The price the Pool values the reserve at (AaveOracle.getAssetsPrices), or why it could not be read. */
export type PoolPrice = { kind: 'price'; priceBase: bigint } | { kind: 'unavailable'; reason: string };

export interface OracleReading {
  asset: string;
  /** The reserve's id (ReserveData.id): its bit pair in a user's configuration bitmap. */
  reserveId: number;
  /** Base-currency units (USD with 8 decimals on every market we run). */
  price: PoolPrice;
  feed: FeedRound;
  /** ReserveData.currentVariableBorrowRate at the block: ray (1e27 = 100 %), per year; undefined if not read. */
  variableBorrowRateRay?: bigint;
}

/** Every reading of one block, with that block's timestamp (the clock staleness is measured against). */
export interface OracleObservation {
  block: number;
  /** block.timestamp, unix seconds. */
  blockTimestampSec: bigint;
  readings: readonly OracleReading[];
}

/** What to do with an asset whose feed cannot be dated: price checks only, or keep its breaker open. */
export type UndatedFeedPolicy = 'allow' | 'block';

export interface BreakerThresholds {
  /** A round older than this (seconds, against block.timestamp) is stale: the feed's heartbeat plus a margin. */
  maxAgeSec: bigint;
  /**
   * Per asset (address in any case → seconds): replaces `maxAgeSec` for that asset, for feeds whose heartbeat is
   * not the market's usual one. Absent or without the asset: `maxAgeSec`.
   */
  maxAgeSecByAsset?: Readonly<Record<string, bigint>>;
  /** A move larger than this between two consecutive readings (bps of the previous price) is suspect. */
  maxDeviationBps: bigint;
  /** An asset whose source answers no round data (see `isUndatable`). Absent: `allow`. */
  undatedFeeds?: UndatedFeedPolicy;
}

export type BreakerReason = 'stale' | 'undated' | 'deviation' | 'invalid';

export type BreakerVerdict = { asset: string; state: 'ok' } | { asset: string; state: 'open'; reason: BreakerReason; detail: string };

export type BreakerTransition = { asset: string; change: 'opened'; reason: BreakerReason; detail: string } | { asset: string; change: 'closed' };

/**
 * Whether |current − previous| exceeds maxBps of `previous`, compared exactly by cross-multiplication
 * (|Δ| · 10,000 > maxBps · previous), and the move in bps rounded up for the message (a 500.1 bps move against a
 * 500 bps limit reads "501 bps", never "500").
 */
function deviation(previous: bigint, current: bigint, maxBps: bigint): { exceeds: boolean; movedBps: bigint } {
  const delta = current > previous ? current - previous : previous - current;
  const scaled = delta * PERCENTAGE_FACTOR;
  return { exceeds: scaled > maxBps * previous, movedBps: (scaled + previous - 1n) / previous };
}

/**
 * Age of the feed's latest round at the block, seconds (block.timestamp − updatedAt); undefined when the feed has
 * no round data. A round stamped after the block (an off-chain report time running ahead of the chain) is age 0.
 */
export function roundAgeSec(reading: OracleReading, blockTimestampSec: bigint): bigint | undefined {
  if (reading.feed.kind !== 'round') return undefined;
  return blockTimestampSec > reading.feed.updatedAtSec ? blockTimestampSec - reading.feed.updatedAtSec : 0n;
}

const ZERO_ADDRESS = /^0x0{40}$/i;

/**
 * Whether the asset's price comes from a source that cannot be dated: the source is set (not the zero address)
 * but `latestRoundData()` could not be read, while the Pool's price is readable and positive. A reading whose
 * Pool price is unreadable or ≤ 0 is `invalid` instead, and one without a source has nothing to date.
 */
export function isUndatable(reading: OracleReading): boolean {
  return reading.feed.kind === 'unavailable' && !ZERO_ADDRESS.test(reading.feed.source) && reading.price.kind === 'price' && reading.price.priceBase > 0n;
}

/** An asset whose price the Pool reads from a source that cannot be dated. */
export interface UndatedFeed {
  asset: string;
  source: string;
  /** Why `latestRoundData()` could not be read (the reader's words). */
  reason: string;
}

/** The readings of an observation whose feed cannot be dated (`isUndatable`), in reading order. */
export function undatedFeeds(observation: OracleObservation): UndatedFeed[] {
  return observation.readings.flatMap((r) => (isUndatable(r) && r.feed.kind === 'unavailable' ? [{ asset: r.asset, source: r.feed.source, reason: r.feed.reason }] : []));
}

/** The age limit applied to one asset: its own (`maxAgeSecByAsset`) or the market-wide `maxAgeSec`. */
interface AgeLimit {
  maxAgeSec: bigint;
  perAsset: boolean;
}

function judge(reading: OracleReading, previous: OracleReading | undefined, blockTimestampSec: bigint, t: BreakerThresholds, limit: AgeLimit): BreakerVerdict {
  const { asset } = reading;
  // Checked in order of severity: a reading that is both stale and jumped reports `invalid` before `stale`.
  if (reading.price.kind === 'unavailable') {
    return { asset, state: 'open', reason: 'invalid', detail: `pool price unreadable: ${reading.price.reason}` };
  }
  if (reading.price.priceBase <= 0n) {
    return { asset, state: 'open', reason: 'invalid', detail: `pool price ${reading.price.priceBase} ≤ 0` };
  }
  if (reading.feed.kind === 'round') {
    if (reading.feed.answer <= 0n) return { asset, state: 'open', reason: 'invalid', detail: `feed answer ${reading.feed.answer} ≤ 0` };
    // Chainlink: updatedAt = 0 means the round is not complete.
    if (reading.feed.updatedAtSec === 0n) return { asset, state: 'open', reason: 'invalid', detail: 'feed updatedAt is 0 (incomplete round)' };
    const ageSec = roundAgeSec(reading, blockTimestampSec)!;
    if (ageSec > limit.maxAgeSec) {
      return { asset, state: 'open', reason: 'stale', detail: `round is ${ageSec} s old (max ${limit.maxAgeSec} s${limit.perAsset ? ', per-asset limit' : ''})` };
    }
  } else if ((t.undatedFeeds ?? 'allow') === 'block' && isUndatable(reading)) {
    return { asset, state: 'open', reason: 'undated', detail: `source ${reading.feed.source} has no round data to date the price (${reading.feed.reason})` };
  }
  if (previous?.price.kind === 'price' && previous.price.priceBase > 0n) {
    const moved = deviation(previous.price.priceBase, reading.price.priceBase, t.maxDeviationBps);
    if (moved.exceeds) {
      return {
        asset,
        state: 'open',
        reason: 'deviation',
        detail: `price ${previous.price.priceBase} → ${reading.price.priceBase} moved ${moved.movedBps} bps (max ${t.maxDeviationBps})`,
      };
    }
  }
  // A feed without round data (no source, or an undatable one allowed by the policy): only the price checks apply.
  return { asset, state: 'ok' };
}

const key = (asset: string) => asset.toLowerCase();

/**
 * One verdict per reading of `current`, in its order. `previous` is the observation of the last block the caller
 * read (undefined on the first block of an invocation: no deviation check is possible yet).
 */
export function evaluateOracleBreakers(
  previous: OracleObservation | undefined,
  current: OracleObservation,
  thresholds: BreakerThresholds,
): BreakerVerdict[] {
  const before = new Map((previous?.readings ?? []).map((r) => [key(r.asset), r]));
  const ownLimits = new Map(Object.entries(thresholds.maxAgeSecByAsset ?? {}).map(([asset, sec]) => [key(asset), sec]));
  return current.readings.map((reading) => {
    const own = ownLimits.get(key(reading.asset));
    const limit: AgeLimit = own === undefined ? { maxAgeSec: thresholds.maxAgeSec, perAsset: false } : { maxAgeSec: own, perAsset: true };
    return judge(reading, before.get(key(reading.asset)), current.blockTimestampSec, thresholds, limit);
  });
}

/**
 * Breakers that changed state between two sets of verdicts. An asset absent from `previous` counts as closed, so
 * the first block of an invocation reports every open breaker as opened (each invocation logs what it sees).
 */
export function breakerTransitions(previous: readonly BreakerVerdict[], current: readonly BreakerVerdict[]): BreakerTransition[] {
  const wasOpen = new Set(previous.filter((v) => v.state === 'open').map((v) => key(v.asset)));
  const isOpen = new Set(current.filter((v) => v.state === 'open').map((v) => key(v.asset)));
  const opened: BreakerTransition[] = current.flatMap((v) =>
    v.state === 'open' && !wasOpen.has(key(v.asset)) ? [{ asset: v.asset, change: 'opened' as const, reason: v.reason, detail: v.detail }] : [],
  );
  const closed: BreakerTransition[] = previous.flatMap((v) =>
    v.state === 'open' && !isOpen.has(key(v.asset)) ? [{ asset: v.asset, change: 'closed' as const }] : [],
  );
  return [...opened, ...closed];
}

/**
 * Reserve ids an account uses, from its configuration bitmap (UserConfiguration.sol: bit 2·id = borrowing,
 * bit 2·id+1 = using as collateral; `isUsingAsCollateralOrBorrowing` tests the pair). Ascending.
 */
export function reserveIdsUsedBy(userConfiguration: bigint): number[] {
  const ids: number[] = [];
  for (let id = 0, bits = userConfiguration; bits > 0n; id++, bits >>= 2n) {
    if ((bits & 3n) !== 0n) ids.push(id);
  }
  return ids;
}

/**
 * Reserves whose Pool price changed between two observations (or became / stopped being readable), in `current`
 * order. A health factor moves with prices (and slowly with interest), so an account that uses one of these must
 * be read again at once, whatever its watch tier: a 15 % drop takes a "warm" account at HF 1.15 straight below 1.
 * Empty without a previous observation.
 */
export function repricedReadings(previous: OracleObservation | undefined, current: OracleObservation): OracleReading[] {
  if (!previous) return [];
  const before = new Map(previous.readings.map((r) => [key(r.asset), r.price]));
  return current.readings.filter((reading) => {
    const was = before.get(key(reading.asset));
    if (!was) return true;
    if (was.kind !== reading.price.kind) return true;
    return was.kind === 'price' && reading.price.kind === 'price' && was.priceBase !== reading.price.priceBase;
  });
}

/**
 * A configuration-bitmap mask covering both bits (borrowing, collateral) of each reserve id:
 * `(userConfiguration & mask) !== 0n` tells whether an account uses any of them, in one operation.
 */
export function usageMaskOf(reserveIds: readonly number[]): bigint {
  return reserveIds.reduce((mask, id) => mask | (3n << BigInt(2 * id)), 0n);
}

/**
 * The open-breaker assets an account depends on (borrowed or used as collateral), in reading order. An account
 * that depends on none of them may be acted on.
 */
export function openBreakersAffecting(
  userConfiguration: bigint,
  readings: readonly OracleReading[],
  verdicts: readonly BreakerVerdict[],
): string[] {
  const used = new Set(reserveIdsUsedBy(userConfiguration));
  const open = new Set(verdicts.filter((v) => v.state === 'open').map((v) => key(v.asset)));
  return readings.flatMap((reading) => (open.has(key(reading.asset)) && used.has(reading.reserveId) ? [reading.asset] : []));
}
