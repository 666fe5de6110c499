/** Watch tiers, table-driven, with the default policy: hot < 1.05, warm < 1.2. */
import {
  assertWatchTierPolicy,
  DEFAULT_WATCH_TIER_POLICY as P,
  healthChangedMaterially,
  type WatchTier,
  watchTierOf,
} from '../../../functions/domain/watch-tier';

const WAD = 10n ** 18n;
const MAX_UINT256 = (1n << 256n) - 1n;
/** WAD from a decimal string: wad('1.05') = 1.05e18. */
const wad = (decimal: string) => {
  const [whole, fraction = ''] = decimal.split('.');
  return BigInt(whole) * WAD + BigInt(fraction.padEnd(18, '0'));
};

describe('watchTierOf', () => {
  it.each<[string, bigint, WatchTier]>([
    ['liquidatable (0.5)', wad('0.5'), 'hot'],
    ['just below 1.05', wad('1.05') - 1n, 'hot'],
    ['exactly 1.05', wad('1.05'), 'warm'],
    ['just below 1.2', wad('1.2') - 1n, 'warm'],
    ['exactly 1.2', wad('1.2'), 'cold'],
    ['no debt (2^256 − 1)', MAX_UINT256, 'cold'],
  ])('%s → %s', (_name, healthFactorWad, expected) => {
    expect(watchTierOf(healthFactorWad, P)).toBe(expected);
  });

  it('takes its thresholds from the policy', () => {
    const tight = { ...P, hotBelowWad: wad('1.01'), warmBelowWad: wad('1.02') };
    expect([wad('1.005'), wad('1.015'), wad('1.03')].map((h) => watchTierOf(h, tight))).toEqual(['hot', 'warm', 'cold']);
  });
});

describe('healthChangedMaterially (100 bps)', () => {
  it.each<[string, bigint | undefined, bigint, boolean]>([
    ['never recorded', undefined, wad('1.5'), true],
    ['unchanged', wad('1.5'), wad('1.5'), false],
    // |Δ| · 10,000 = 0.01e18 · 10,000 = 100 · 1e18: not above.
    ['+1.00 % exactly', wad('1'), wad('1.01'), false],
    ['+1.01 %', wad('1'), wad('1.0101'), true],
    ['−1.00 % exactly', wad('1'), wad('0.99'), false],
    ['−1.01 %', wad('1'), wad('0.9899'), true],
    ['debt repaid (HF → 2^256 − 1)', wad('1.5'), MAX_UINT256, true],
    ['new debt (HF from 2^256 − 1)', MAX_UINT256, wad('3'), true],
    ['still no debt', MAX_UINT256, MAX_UINT256, false],
    ['0 → 0', 0n, 0n, false],
    ['0 → anything', 0n, 1n, true],
  ])('%s', (_name, previous, current, expected) => {
    expect(healthChangedMaterially(previous, current, 100n)).toBe(expected);
  });
});

describe('assertWatchTierPolicy', () => {
  it('accepts the default policy', () => {
    expect(() => assertWatchTierPolicy(P)).not.toThrow();
  });

  it.each<[string, Partial<typeof P>, string]>([
    ['hot above warm', { hotBelowWad: wad('1.3') }, 'invalid watch tier policy: hotBelowWad (1300000000000000000) exceeds warmBelowWad (1200000000000000000)'],
  ])('rejects %s', (_name, change, message) => {
    expect(() => assertWatchTierPolicy({ ...P, ...change })).toThrow(message);
  });
});
