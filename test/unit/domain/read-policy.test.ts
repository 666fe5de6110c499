/**
 * The change-driven read policy's lower bound of the health factor, against the Pool's own arithmetic
 * (calculateAccountData, differential-tested against the contracts elsewhere): for random positions and random
 * price moves the bound never exceeds the health factor at the new prices by more than Aave's rounding, which
 * the policy's margin (50 bps) covers many times over.
 */
import { calculateAccountData, type ReservePosition, type RuleSet } from '../../../functions/domain';
import { RAY, WAD } from '../../../functions/domain/math';
import {
  type AccountReading,
  assertReadPolicy,
  DEFAULT_READ_POLICY,
  healthLowerBoundWad,
  type MarketNow,
  rateBoundRay,
  readReason,
  ReadPolicyError,
  reservesOf,
} from '../../../functions/domain/read-policy';
import { mulberry32 } from '../../../local/chaos/rpc-fault-proxy';
import { type AssetSymbol, ASSETS, position, reserve } from './fixtures';

const SYMBOLS: AssetSymbol[] = ['USDC', 'WETH', 'WBTC', 'DAI'];
const BASE_PRICES: Record<AssetSymbol, bigint> = { USDC: 1_00000000n, WETH: 3_000_00000000n, WBTC: 60_000_00000000n, DAI: 1_00010000n };
const ID: Record<AssetSymbol, number> = { USDC: 0, WETH: 1, WBTC: 2, DAI: 3 };

function configOf(reserves: ReservePosition[]): bigint {
  let bits = 0n;
  for (const r of reserves) {
    const id = BigInt(ID[(Object.keys(ASSETS) as AssetSymbol[]).find((s) => ASSETS[s].asset === r.asset)!]);
    if (r.debtBalanceUnits > 0n) bits |= 1n << (2n * id);
    if (r.collateralBalanceUnits > 0n && r.usageAsCollateralEnabled) bits |= 1n << (2n * id + 1n);
  }
  return bits;
}

const vector = (prices: Record<AssetSymbol, bigint>) => new Map(SYMBOLS.map((s) => [ID[s], prices[s]]));

describe('healthLowerBoundWad', () => {
  it.each<RuleSet>(['v3.0', 'v3.3', 'v3.5'])('never exceeds the Pool health factor after random price moves by more than its rounding (%s)', (ruleSet) => {
    // Deterministic, so a failure names a reproducible case.
    const random = mulberry32(ruleSet.length * 7919);
    let checked = 0;
    let tightest = Infinity;
    for (let i = 0; i < 2_000; i++) {
      // Two or three reserves, each collateral, debt or both, with random sizes.
      const chosen = SYMBOLS.filter(() => random() < 0.6);
      if (chosen.length < 2) continue;
      const prices = { ...BASE_PRICES };
      const reserves = chosen.map((s, k) => {
        const decimals = ASSETS[s].decimals;
        const amount = (scale: number) => (BigInt(Math.floor(random() * 1e6) + 1) * 10n ** decimals * BigInt(Math.round(scale * 1000))) / (1000n * BASE_PRICES[s] / 1_00000000n + 1n);
        const isCollateral = k === 0 || random() < 0.5;
        const isDebt = k === chosen.length - 1 || (!isCollateral && random() < 0.8) || random() < 0.15;
        return reserve(s, {
          priceBase8: prices[s],
          collateralBalanceUnits: isCollateral ? amount(1) : 0n,
          debtBalanceUnits: isDebt ? amount(0.4) : 0n,
          liquidationThresholdBps: BigInt(6_000 + Math.floor(random() * 3_000)),
        });
      });
      const before = calculateAccountData(position(ruleSet, reserves));
      if (before.totalDebtBase === 0n || before.totalCollateralBase === 0n) continue;
      // Every price moves by −40 % … +40 %.
      const moved = { ...prices };
      for (const s of SYMBOLS) moved[s] = (prices[s] * BigInt(600 + Math.floor(random() * 800))) / 1_000n;
      const after = calculateAccountData(position(ruleSet, reserves.map((r) => ({ ...r, priceBase8: moved[(Object.keys(ASSETS) as AssetSymbol[]).find((s) => ASSETS[s].asset === r.asset)!] }))));
      const reading: AccountReading = {
        block: 1,
        timestampSec: 1_000n,
        healthFactorWad: before.healthFactorWad,
        totalDebtBase: before.totalDebtBase,
        userConfiguration: configOf(reserves),
        prices: vector(prices),
      };
      const bound = healthLowerBoundWad(reading, { prices: vector(moved), timestampSec: 1_000n, rateBoundRay: 0n })!;
      // bound ≤ HF_after · (1 + 1 bp): Aave's base-currency rounding only.
      expect(bound * 10_000n).toBeLessThanOrEqual(after.healthFactorWad * 10_001n);
      tightest = Math.min(tightest, Number((after.healthFactorWad * 1_000_000n) / (bound === 0n ? 1n : bound)) / 1e6);
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
    // The bound is not vacuous: for some positions it is within 1 % of the true value.
    expect(tightest).toBeLessThan(1.01);
  });

  it('applies interest: the debt may grow by at most e^(rate·Δt) since the read', () => {
    const reading: AccountReading = { block: 1, timestampSec: 0n, healthFactorWad: 11n * WAD / 10n, totalDebtBase: 1n, userConfiguration: 0b0110n, prices: vector(BASE_PRICES) };
    const now = (elapsedSec: bigint, rate: bigint): MarketNow => ({ prices: vector(BASE_PRICES), timestampSec: elapsedSec, rateBoundRay: rate });
    // 10 % a year for a year: e^0.1 = 1.10517 ≤ 1 + 0.1 + 0.01 = 1.11 → 1.1 / 1.11 = 0.99099…
    const yearly = healthLowerBoundWad(reading, now(365n * 24n * 3600n, RAY / 10n))!;
    expect(yearly).toBeLessThan((11n * WAD) / 10n * 10_000n / 11_051n);
    expect(yearly).toBe(((11n * WAD) / 10n * WAD) / (WAD + WAD / 10n + WAD / 100n));
    // No time, no growth.
    expect(healthLowerBoundWad(reading, now(0n, RAY))).toBe((11n * WAD) / 10n);
    // Beyond the expansion's range (rate · Δt > 1): no bound.
    expect(healthLowerBoundWad(reading, now(2n * 365n * 24n * 3600n, RAY))).toBeUndefined();
  });

  it('has no bound when a price the account uses is missing then or now; an account without debt keeps its health factor', () => {
    const reading: AccountReading = { block: 1, timestampSec: 0n, healthFactorWad: 2n * WAD, totalDebtBase: 1n, userConfiguration: 0b0110n, prices: vector(BASE_PRICES) };
    const missing = vector(BASE_PRICES);
    missing.delete(1);
    expect(healthLowerBoundWad(reading, { prices: missing, timestampSec: 0n, rateBoundRay: 0n })).toBeUndefined();
    expect(healthLowerBoundWad({ ...reading, prices: missing }, { prices: vector(BASE_PRICES), timestampSec: 0n, rateBoundRay: 0n })).toBeUndefined();
    // A price of a reserve it does not use may be missing.
    const otherMissing = vector(BASE_PRICES);
    otherMissing.delete(3);
    expect(healthLowerBoundWad(reading, { prices: otherMissing, timestampSec: 0n, rateBoundRay: 0n })).toBe(2n * WAD);
    const max = (1n << 256n) - 1n;
    expect(healthLowerBoundWad({ ...reading, totalDebtBase: 0n, healthFactorWad: max }, { prices: missing, timestampSec: 10n ** 9n, rateBoundRay: RAY })).toBe(max);
  });
});

describe('readReason', () => {
  // WETH (id 1) as collateral, USDC (id 0) borrowed.
  const reading: AccountReading = { block: 1, timestampSec: 0n, healthFactorWad: WAD + WAD / 100n, totalDebtBase: 1n, userConfiguration: 0b1001n, prices: vector(BASE_PRICES) };
  const now = (prices = BASE_PRICES, timestampSec = 12n): MarketNow => ({ prices: vector(prices), timestampSec, rateBoundRay: RAY });

  it('reads an unread account, one near 1 + margin, one without a bound, and every account after the interval', () => {
    expect(readReason(undefined, now(), DEFAULT_READ_POLICY)).toBe('unread');
    // HF 1.01, no move: 1.01 ≥ 1.005 → not due.
    expect(readReason(reading, now(), DEFAULT_READ_POLICY)).toBeUndefined();
    // WETH (collateral, id 1) −1 %: 1.01 · 0.99 = 0.9999 → due.
    expect(readReason(reading, now({ ...BASE_PRICES, WETH: 2_970_00000000n }), DEFAULT_READ_POLICY)).toBe('near-liquidation');
    // USDC (debt, id 0) +0.6 %: 1.01 / 1.006 = 1.00398 → due.
    expect(readReason(reading, now({ ...BASE_PRICES, USDC: 1_00600000n }), DEFAULT_READ_POLICY)).toBe('near-liquidation');
    // USDC +0.4 %: 1.01 / 1.004 = 1.00598 → not due.
    expect(readReason(reading, now({ ...BASE_PRICES, USDC: 1_00400000n }), DEFAULT_READ_POLICY)).toBeUndefined();
    expect(readReason(reading, now(BASE_PRICES, 3_600n), DEFAULT_READ_POLICY)).toBe('interval');
    const noPrice = now();
    (noPrice.prices as Map<number, bigint>).delete(0);
    expect(readReason(reading, noPrice, DEFAULT_READ_POLICY)).toBe('unknown-price');
  });
});

describe('reservesOf, rateBoundRay, assertReadPolicy', () => {
  it('splits a configuration into collateral and debt reserve ids', () => {
    // id 0 borrowing, id 1 collateral, id 3 both.
    expect(reservesOf(0b11_00_10_01n)).toEqual({ collateral: [1, 3], debt: [0, 3] });
    expect(reservesOf(0n)).toEqual({ collateral: [], debt: [] });
  });

  it('doubles the highest observed rate, never below the assumed floor', () => {
    expect(rateBoundRay([RAY / 20n, RAY], DEFAULT_READ_POLICY)).toBe(2n * RAY);
    expect(rateBoundRay([RAY / 20n], DEFAULT_READ_POLICY)).toBe(RAY);
    expect(rateBoundRay([], { ...DEFAULT_READ_POLICY, assumedBorrowRateRay: 0n })).toBe(0n);
  });

  it('names the field of a bad policy', () => {
    expect(() => assertReadPolicy({ ...DEFAULT_READ_POLICY, rateSafetyBps: 9_999n })).toThrow(ReadPolicyError);
    expect(() => assertReadPolicy({ ...DEFAULT_READ_POLICY, maxReadIntervalSec: 0n })).toThrow('maxReadIntervalSec');
    expect(() => assertReadPolicy({ ...DEFAULT_READ_POLICY, marginBps: 10_000n })).toThrow('marginBps');
    expect(() => assertReadPolicy(DEFAULT_READ_POLICY)).not.toThrow();
  });
});
