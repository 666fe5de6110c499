/**
 * Oracle breakers, table-driven. Values hand-checked: thresholds maxAge 3,600 s and maxDeviation 500 bps (5 %),
 * block timestamp 1,700,000,000, prices in USD with 8 decimals.
 */
import {
  type BreakerVerdict,
  breakerTransitions,
  evaluateOracleBreakers,
  type FeedRound,
  type OracleObservation,
  type OracleReading,
  openBreakersAffecting,
  type PoolPrice,
  repricedReadings,
  reserveIdsUsedBy,
  roundAgeSec,
  usageMaskOf,
} from '../../../functions/domain/oracle-breaker';

const T = { maxAgeSec: 3_600n, maxDeviationBps: 500n };
const NOW = 1_700_000_000n;
const ETH = '0x00000000000000000000000000000000000000E1';
const BTC = '0x00000000000000000000000000000000000000b1';
const SOURCE = '0x000000000000000000000000000000000000fEED';

const usd = (dollars: string) => {
  const [whole, cents = ''] = dollars.split('.');
  return BigInt(whole) * 100_000_000n + BigInt(cents.padEnd(8, '0'));
};
const price = (priceBase: bigint): PoolPrice => ({ kind: 'price', priceBase });
const round = (answer: bigint, updatedAtSec: bigint): FeedRound => ({ kind: 'round', source: SOURCE, answer, updatedAtSec });
const reading = (p: PoolPrice, feed: FeedRound, asset = ETH, reserveId = 0): OracleReading => ({ asset, reserveId, price: p, feed });
const fresh = (dollars: string, asset = ETH) => reading(price(usd(dollars)), round(usd(dollars), NOW), asset);
const observe = (readings: OracleReading[], blockTimestampSec = NOW, block = 100): OracleObservation => ({ block, blockTimestampSec, readings });

describe('evaluateOracleBreakers', () => {
  it.each<[string, OracleReading | undefined, OracleReading, BreakerVerdict]>([
    ['fresh round, same price', fresh('2000'), fresh('2000'), { asset: ETH, state: 'ok' }],
    ['age exactly maxAge (3,600 s) is not stale', undefined, reading(price(usd('2000')), round(usd('2000'), NOW - 3_600n)), { asset: ETH, state: 'ok' }],
    [
      'age 3,601 s is stale',
      undefined,
      reading(price(usd('2000')), round(usd('2000'), NOW - 3_601n)),
      { asset: ETH, state: 'open', reason: 'stale', detail: 'round is 3601 s old (max 3600 s)' },
    ],
    ['updatedAt after the block counts as age 0', undefined, reading(price(usd('2000')), round(usd('2000'), NOW + 30n)), { asset: ETH, state: 'ok' }],
    ['feed answer 0 is invalid', undefined, reading(price(usd('2000')), round(0n, NOW)), { asset: ETH, state: 'open', reason: 'invalid', detail: 'feed answer 0 ≤ 0' }],
    ['negative feed answer is invalid', undefined, reading(price(usd('2000')), round(-1n, NOW)), { asset: ETH, state: 'open', reason: 'invalid', detail: 'feed answer -1 ≤ 0' }],
    [
      'updatedAt 0 (incomplete round) is invalid',
      undefined,
      reading(price(usd('2000')), round(usd('2000'), 0n)),
      { asset: ETH, state: 'open', reason: 'invalid', detail: 'feed updatedAt is 0 (incomplete round)' },
    ],
    ['pool price 0 is invalid', undefined, reading(price(0n), round(usd('2000'), NOW)), { asset: ETH, state: 'open', reason: 'invalid', detail: 'pool price 0 ≤ 0' }],
    [
      'unreadable pool price is invalid',
      undefined,
      reading({ kind: 'unavailable', reason: 'execution reverted' }, round(usd('2000'), NOW)),
      { asset: ETH, state: 'open', reason: 'invalid', detail: 'pool price unreadable: execution reverted' },
    ],
    // 2000 → 2100: |Δ| 100 · 10,000 = 1,000,000 = 500 · 2000: not above the limit.
    ['+5.00 % exactly is within 500 bps', fresh('2000'), fresh('2100'), { asset: ETH, state: 'ok' }],
    // 2000 → 2100.02: 100.02 / 2000 = 500.1 bps > 500; reported rounded up.
    [
      '+5.001 % exceeds 500 bps',
      fresh('2000'),
      fresh('2100.02'),
      { asset: ETH, state: 'open', reason: 'deviation', detail: 'price 200000000000 → 210002000000 moved 501 bps (max 500)' },
    ],
    // 2000 → 1899: 101 / 2000 = 505 bps.
    [
      '−5.05 % exceeds 500 bps',
      fresh('2000'),
      fresh('1899'),
      { asset: ETH, state: 'open', reason: 'deviation', detail: 'price 200000000000 → 189900000000 moved 505 bps (max 500)' },
    ],
    ['no previous reading: no deviation check', undefined, fresh('1'), { asset: ETH, state: 'ok' }],
    ['previous price unreadable: no deviation check', reading({ kind: 'unavailable', reason: 'x' }, round(1n, NOW)), fresh('1'), { asset: ETH, state: 'ok' }],
    [
      'feed without round data: price checks only',
      undefined,
      reading(price(usd('2000')), { kind: 'unavailable', source: SOURCE, reason: 'latestRoundData failed: could not decode result data' }),
      { asset: ETH, state: 'ok' },
    ],
    [
      'stale and jumped: stale is reported',
      fresh('2000'),
      reading(price(usd('1000')), round(usd('1000'), NOW - 7_200n)),
      { asset: ETH, state: 'open', reason: 'stale', detail: 'round is 7200 s old (max 3600 s)' },
    ],
    [
      'invalid and stale: invalid is reported',
      undefined,
      reading(price(usd('2000')), round(0n, NOW - 7_200n)),
      { asset: ETH, state: 'open', reason: 'invalid', detail: 'feed answer 0 ≤ 0' },
    ],
  ])('%s', (_name, previous, current, expected) => {
    const verdicts = evaluateOracleBreakers(previous && observe([previous], NOW - 2n, 99), observe([current]), T);
    expect(verdicts).toEqual([expected]);
  });

  it('matches previous readings by asset, whatever the address case and order', () => {
    const previous = observe([fresh('60000', BTC.toUpperCase().replace('0X', '0x')), fresh('2000', ETH.toLowerCase())]);
    const current = observe([fresh('2000', ETH), fresh('40000', BTC)]);

    expect(evaluateOracleBreakers(previous, current, T)).toEqual([
      { asset: ETH, state: 'ok' },
      { asset: BTC, state: 'open', reason: 'deviation', detail: 'price 6000000000000 → 4000000000000 moved 3334 bps (max 500)' },
    ]);
  });
});

describe('roundAgeSec', () => {
  it.each<[string, OracleReading, bigint | undefined]>([
    ['block.timestamp − updatedAt', reading(price(1n), round(1n, NOW - 61n)), 61n],
    ['0 when updatedAt is after the block', reading(price(1n), round(1n, NOW + 5n)), 0n],
    ['undefined without round data', reading(price(1n), { kind: 'unavailable', source: SOURCE, reason: 'no source' }), undefined],
  ])('%s', (_name, r, expected) => {
    expect(roundAgeSec(r, NOW)).toBe(expected);
  });
});

describe('breakerTransitions', () => {
  const ok = (asset: string): BreakerVerdict => ({ asset, state: 'ok' });
  const open = (asset: string): BreakerVerdict => ({ asset, state: 'open', reason: 'stale', detail: 'old' });

  it.each<[string, BreakerVerdict[], BreakerVerdict[], ReturnType<typeof breakerTransitions>]>([
    ['ok → ok: nothing', [ok(ETH)], [ok(ETH)], []],
    ['open → open: nothing', [open(ETH)], [open(ETH)], []],
    ['ok → open: opened', [ok(ETH)], [open(ETH)], [{ asset: ETH, change: 'opened', reason: 'stale', detail: 'old' }]],
    ['open → ok: closed', [open(ETH)], [ok(ETH)], [{ asset: ETH, change: 'closed' }]],
    ['first block (no previous): every open breaker opened', [], [ok(ETH), open(BTC)], [{ asset: BTC, change: 'opened', reason: 'stale', detail: 'old' }]],
    ['open asset no longer listed: closed', [open(BTC)], [ok(ETH)], [{ asset: BTC, change: 'closed' }]],
    ['address case does not matter', [open(ETH.toLowerCase())], [open(ETH)], []],
  ])('%s', (_name, previous, current, expected) => {
    expect(breakerTransitions(previous, current)).toEqual(expected);
  });
});

describe('reserveIdsUsedBy (UserConfiguration: bit 2·id borrowing, 2·id+1 collateral)', () => {
  it.each<[string, bigint, number[]]>([
    ['nothing', 0n, []],
    ['borrowing id 0', 0b1n, [0]],
    ['collateral id 0', 0b10n, [0]],
    ['both on id 1', 0b1100n, [1]],
    ['borrowing id 0, collateral id 2', 0b100001n, [0, 2]],
    ['collateral id 127 (the top bit of the word)', 1n << 255n, [127]],
  ])('%s', (_name, bitmap, expected) => {
    expect(reserveIdsUsedBy(bitmap)).toEqual(expected);
  });
});

describe('openBreakersAffecting', () => {
  const readings = [fresh('2000', ETH), { ...fresh('60000', BTC), reserveId: 1 }];
  const verdicts: BreakerVerdict[] = [
    { asset: ETH, state: 'ok' },
    { asset: BTC, state: 'open', reason: 'stale', detail: 'old' },
  ];

  it.each<[string, bigint, string[]]>([
    ['collateral on the open asset', 0b1000n, [BTC]],
    ['debt on the open asset', 0b0100n, [BTC]],
    ['only the healthy asset', 0b0011n, []],
    ['both', 0b1010n, [BTC]],
    ['a reserve with no reading (listed later) is not an open breaker', 0b110000n, []],
  ])('%s', (_name, bitmap, expected) => {
    expect(openBreakersAffecting(bitmap, readings, verdicts)).toEqual(expected);
  });
});

describe('repricedReadings', () => {
  const unreadable = (asset: string) => reading({ kind: 'unavailable', reason: 'reverted' }, round(1n, NOW), asset);

  it.each<[string, OracleReading[] | undefined, OracleReading[], string[]]>([
    ['no previous observation: nothing', undefined, [fresh('2000')], []],
    ['same prices (a new round at the same answer is no move)', [fresh('2000'), fresh('60000', BTC)], [fresh('2000'), fresh('60000', BTC)], []],
    ['one price moved by a cent', [fresh('2000'), fresh('60000', BTC)], [fresh('2000.01'), fresh('60000', BTC)], [ETH]],
    ['a newly listed reserve', [fresh('2000')], [fresh('2000'), fresh('60000', BTC)], [BTC]],
    ['price became unreadable', [fresh('2000')], [unreadable(ETH)], [ETH]],
    ['price readable again', [unreadable(ETH)], [fresh('2000')], [ETH]],
    ['still unreadable', [unreadable(ETH)], [unreadable(ETH)], []],
  ])('%s', (_name, previous, current, expected) => {
    expect(repricedReadings(previous && observe(previous), observe(current)).map((r) => r.asset)).toEqual(expected);
  });
});

describe('usageMaskOf', () => {
  it.each<[string, number[], bigint]>([
    ['no reserve', [], 0n],
    ['id 0: bits 0 and 1', [0], 0b11n],
    ['ids 1 and 2: bits 2–5', [1, 2], 0b111100n],
    ['id 127: the top two bits', [127], 3n << 254n],
  ])('%s', (_name, ids, expected) => {
    expect(usageMaskOf(ids)).toBe(expected);
  });

  it('selects exactly the accounts that borrow or post collateral in a masked reserve', () => {
    const mask = usageMaskOf([1]);
    expect([0b0100n, 0b1000n, 0b0011n, 0b110000n].map((config) => (config & mask) !== 0n)).toEqual([true, true, false, false]);
  });
});
