/**
 * Oracle breakers: an asset's own staleness limit, and feeds that cannot be dated (a source without
 * `latestRoundData`, as Aave's CAPO adapters). Values hand-checked: market-wide maxAge 3,900 s (a one-hour heartbeat
 * + 5 min), USDT's own limit 86,700 s (a 24 h heartbeat + 5 min), block timestamp 1,700,000,000, USD prices with 8
 * decimals.
 */
import {
  type BreakerThresholds,
  type BreakerVerdict,
  evaluateOracleBreakers,
  type FeedRound,
  isUndatable,
  type OracleObservation,
  type OracleReading,
  type PoolPrice,
  undatedFeeds,
} from '../../../functions/domain/oracle-breaker';

const NOW = 1_700_000_000n;
const ETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
const WSTETH = '0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0';
const FEED = '0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419';
const CAPO = '0xe1D97bF61901B075E9626c8A2340a7De385861Ef';
const NO_SOURCE = '0x0000000000000000000000000000000000000000';

const price = (priceBase: bigint): PoolPrice => ({ kind: 'price', priceBase });
const round = (updatedAtSec: bigint, answer = 1_00000000n): FeedRound => ({ kind: 'round', source: FEED, answer, updatedAtSec });
const noRoundData = (source = CAPO): FeedRound => ({ kind: 'unavailable', source, reason: 'latestRoundData failed: reverted' });
const reading = (asset: string, p: PoolPrice, feed: FeedRound, reserveId = 0): OracleReading => ({ asset, reserveId, price: p, feed });
const observe = (readings: OracleReading[], blockTimestampSec = NOW, block = 100): OracleObservation => ({ block, blockTimestampSec, readings });
/** A reading whose round is `ageSec` old at NOW. */
const agedBy = (asset: string, ageSec: bigint) => reading(asset, price(1_00000000n), round(NOW - ageSec));

const MARKET_WIDE: BreakerThresholds = { maxAgeSec: 3_900n, maxDeviationBps: 3_000n };

describe('evaluateOracleBreakers: an asset\'s own staleness limit', () => {
  it.each<[string, BreakerThresholds, OracleReading, BreakerVerdict]>([
    // Without its own limit a 24 h feed trips at the market-wide 3,900 s.
    [
      'no per-asset limit: a round 80,000 s old is stale at the market-wide 3,900 s',
      MARKET_WIDE,
      agedBy(USDT, 80_000n),
      { asset: USDT, state: 'open', reason: 'stale', detail: 'round is 80000 s old (max 3900 s)' },
    ],
    ['its own 86,700 s: 80,000 s old is fresh', { ...MARKET_WIDE, maxAgeSecByAsset: { [USDT]: 86_700n } }, agedBy(USDT, 80_000n), { asset: USDT, state: 'ok' }],
    ['its own 86,700 s: exactly 86,700 s old is not stale', { ...MARKET_WIDE, maxAgeSecByAsset: { [USDT]: 86_700n } }, agedBy(USDT, 86_700n), { asset: USDT, state: 'ok' }],
    [
      'its own 86,700 s: 86,701 s old is stale, the detail naming the limit used',
      { ...MARKET_WIDE, maxAgeSecByAsset: { [USDT]: 86_700n } },
      agedBy(USDT, 86_701n),
      { asset: USDT, state: 'open', reason: 'stale', detail: 'round is 86701 s old (max 86700 s, per-asset limit)' },
    ],
    // An asset's own limit can be tighter than the market's: 601 s passes 3,900 s but not 600 s.
    [
      'a tighter own limit (600 s) trips where the market-wide one would not',
      { ...MARKET_WIDE, maxAgeSecByAsset: { [ETH]: 600n } },
      agedBy(ETH, 601n),
      { asset: ETH, state: 'open', reason: 'stale', detail: 'round is 601 s old (max 600 s, per-asset limit)' },
    ],
    [
      'another asset\'s limit does not apply: ETH keeps the market-wide 3,900 s',
      { ...MARKET_WIDE, maxAgeSecByAsset: { [USDT]: 86_700n } },
      agedBy(ETH, 3_901n),
      { asset: ETH, state: 'open', reason: 'stale', detail: 'round is 3901 s old (max 3900 s)' },
    ],
    [
      'the map\'s address in lower case matches a checksummed reading',
      { ...MARKET_WIDE, maxAgeSecByAsset: { [USDT.toLowerCase()]: 86_700n } },
      agedBy(USDT, 80_000n),
      { asset: USDT, state: 'ok' },
    ],
    [
      'the map\'s address in upper case matches a lower-case reading',
      { ...MARKET_WIDE, maxAgeSecByAsset: { [`0x${USDT.slice(2).toUpperCase()}`]: 86_700n } },
      agedBy(USDT.toLowerCase(), 86_701n),
      { asset: USDT.toLowerCase(), state: 'open', reason: 'stale', detail: 'round is 86701 s old (max 86700 s, per-asset limit)' },
    ],
  ])('%s', (_name, thresholds, current, expected) => {
    expect(evaluateOracleBreakers(undefined, observe([current]), thresholds)).toEqual([expected]);
  });
});

describe('evaluateOracleBreakers: feeds without round data', () => {
  const wstEthPrice = price(4_000_00000000n);

  it.each<[string, BreakerThresholds, OracleReading | undefined, OracleReading, BreakerVerdict]>([
    ['allow (the default): price checks only, the breaker stays closed', MARKET_WIDE, undefined, reading(WSTETH, wstEthPrice, noRoundData()), { asset: WSTETH, state: 'ok' }],
    ['allow, said explicitly: the same', { ...MARKET_WIDE, undatedFeeds: 'allow' }, undefined, reading(WSTETH, wstEthPrice, noRoundData()), { asset: WSTETH, state: 'ok' }],
    // 4,000 → 2,000: 2,000 / 4,000 = 5,000 bps > 3,000.
    [
      'allow: a jump is still caught by the deviation check',
      MARKET_WIDE,
      reading(WSTETH, wstEthPrice, noRoundData()),
      reading(WSTETH, price(2_000_00000000n), noRoundData()),
      { asset: WSTETH, state: 'open', reason: 'deviation', detail: 'price 400000000000 → 200000000000 moved 5000 bps (max 3000)' },
    ],
    [
      'block: the breaker opens with reason undated, naming the source and why',
      { ...MARKET_WIDE, undatedFeeds: 'block' },
      undefined,
      reading(WSTETH, wstEthPrice, noRoundData()),
      { asset: WSTETH, state: 'open', reason: 'undated', detail: `source ${CAPO} has no round data to date the price (latestRoundData failed: reverted)` },
    ],
    [
      'block: an asset without a source (zero address) has nothing to date and stays closed',
      { ...MARKET_WIDE, undatedFeeds: 'block' },
      undefined,
      reading(WSTETH, wstEthPrice, { kind: 'unavailable', source: NO_SOURCE, reason: 'no source (base currency or fallback oracle only)' }),
      { asset: WSTETH, state: 'ok' },
    ],
    [
      'block: an unreadable Pool price is invalid before it is undated',
      { ...MARKET_WIDE, undatedFeeds: 'block' },
      undefined,
      reading(WSTETH, { kind: 'unavailable', reason: 'getAssetPrice reverted' }, noRoundData()),
      { asset: WSTETH, state: 'open', reason: 'invalid', detail: 'pool price unreadable: getAssetPrice reverted' },
    ],
    ['block: a feed with round data is dated as usual', { ...MARKET_WIDE, undatedFeeds: 'block' }, undefined, agedBy(ETH, 60n), { asset: ETH, state: 'ok' }],
  ])('%s', (_name, thresholds, previous, current, expected) => {
    expect(evaluateOracleBreakers(previous && observe([previous], NOW - 12n, 99), observe([current]), thresholds)).toEqual([expected]);
  });
});

describe('isUndatable / undatedFeeds', () => {
  it.each<[string, OracleReading, boolean]>([
    ['a source whose latestRoundData reverts, with a Pool price', reading(WSTETH, price(1n), noRoundData()), true],
    ['a feed with round data', agedBy(ETH, 0n), false],
    ['no source (zero address)', reading(WSTETH, price(1n), noRoundData(NO_SOURCE)), false],
    ['no source, the zero address in any case', reading(WSTETH, price(1n), noRoundData('0X0000000000000000000000000000000000000000')), false],
    ['a Pool price of 0 (invalid, not undated)', reading(WSTETH, price(0n), noRoundData()), false],
    ['an unreadable Pool price (invalid, not undated)', reading(WSTETH, { kind: 'unavailable', reason: 'x' }, noRoundData()), false],
  ])('%s: %p', (_name, r, expected) => {
    expect(isUndatable(r)).toBe(expected);
  });

  it('lists the undatable readings of a block with their source and reason, in reading order', () => {
    const observation = observe([
      agedBy(ETH, 10n),
      reading(WSTETH, price(4_000_00000000n), noRoundData()),
      reading(USDT, price(1_00000000n), { kind: 'unavailable', source: FEED, reason: 'latestRoundData failed: returned too little data' }),
      reading(NO_SOURCE, price(1_00000000n), noRoundData(NO_SOURCE)),
    ]);

    expect(undatedFeeds(observation)).toEqual([
      { asset: WSTETH, source: CAPO, reason: 'latestRoundData failed: reverted' },
      { asset: USDT, source: FEED, reason: 'latestRoundData failed: returned too little data' },
    ]);
  });
});
