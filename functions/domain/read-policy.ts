/**
 * Change-driven reads: when an account's health must be read again. Between two reads an account's health factor
 * moves only through
 *   - the prices of the reserves it uses (the oracle is read every block),
 *   - its own position or the reserves' risk parameters (Pool, aToken and configurator events), and
 *   - interest: its debt grows at the variable borrow rate (its collateral grows too, which only raises HF).
 * Events make the scanner forget the account's last reading (it is then read at once). For prices and interest
 * this module bounds the health factor from below without a read, exactly enough to be safe:
 *
 *   HF = Σ cᵢ·pᵢ·ltᵢ / Σ dⱼ·pⱼ, so if every price moves by a factor fₖ,
 *   HF_now ≥ HF_read · min over collateral fᵢ / max over debt fⱼ / g,
 *
 * where g ≥ the debt's growth since the read, e^(r·Δt) for a rate bound r (Aave compounds the variable debt with a
 * three-term Taylor expansion of e^(r·Δt), which is below e^(r·Δt)). The account is read again when that bound
 * falls below 1 + a margin (for the rounding of Aave's base-currency arithmetic), and in any case after
 * `maxReadIntervalSec`, which catches what the model does not see (a V3.0 eMode category's own price source, a
 * risk parameter changed by a contract we do not watch).
 *
 * Everything is bigint; the bound is rounded down, so it never says "not due" where exact arithmetic would not.
 */
import { PERCENTAGE_FACTOR, RAY, WAD } from './math';

const SECONDS_PER_YEAR = 365n * 24n * 3600n;

export interface ReadPolicy {
  /** Re-read when the health factor may have fallen below 1 + this (bps). */
  marginBps: bigint;
  /** Upper bound of every variable borrow rate (ray, per year) used when the oracle reading carries no rates. */
  assumedBorrowRateRay: bigint;
  /**
   * Rates move with utilisation between two blocks the scanner sees: the highest observed rate is multiplied by
   * this (bps; 20,000 = twice) for the bound, and the assumed one is the floor.
   */
  rateSafetyBps: bigint;
  /** Every account is read at least this often (seconds of block time), whatever its bound. */
  maxReadIntervalSec: bigint;
}

/** 0.5 % margin, a 100 %-a-year rate floor doubled when higher rates are seen, and an hourly read of everyone. */
export const DEFAULT_READ_POLICY: ReadPolicy = {
  marginBps: 50n,
  assumedBorrowRateRay: RAY,
  rateSafetyBps: 20_000n,
  maxReadIntervalSec: 3_600n,
};

export class ReadPolicyError extends Error {
  constructor(message: string) {
    super(`invalid read policy: ${message}`);
    this.name = 'ReadPolicyError';
  }
}

export function assertReadPolicy(policy: ReadPolicy): void {
  if (policy.marginBps < 0n || policy.marginBps >= PERCENTAGE_FACTOR) throw new ReadPolicyError(`marginBps must be 0..9999, got ${policy.marginBps}`);
  if (policy.assumedBorrowRateRay < 0n) throw new ReadPolicyError(`assumedBorrowRateRay must be ≥ 0, got ${policy.assumedBorrowRateRay}`);
  if (policy.rateSafetyBps < PERCENTAGE_FACTOR) throw new ReadPolicyError(`rateSafetyBps must be ≥ 10000 (a bound below the observed rate is no bound), got ${policy.rateSafetyBps}`);
  if (policy.maxReadIntervalSec < 1n) throw new ReadPolicyError(`maxReadIntervalSec must be ≥ 1, got ${policy.maxReadIntervalSec}`);
}

/** Pool prices (base currency) by reserve id at one block; a reserve without a price is absent. */
export type PriceVector = ReadonlyMap<number, bigint>;

/** What the last read of an account saw. */
export interface AccountReading {
  block: number;
  timestampSec: bigint;
  healthFactorWad: bigint;
  totalDebtBase: bigint;
  /** Aave UserConfiguration: bit 2·id borrowing, bit 2·id+1 collateral. */
  userConfiguration: bigint;
  /** The Pool's prices at the read's block (shared by every account read at that block). */
  prices: PriceVector;
}

/** The market now: prices, block time and the rate bound (ray per year). */
export interface MarketNow {
  prices: PriceVector;
  timestampSec: bigint;
  rateBoundRay: bigint;
}

export type ReadReason = 'unread' | 'near-liquidation' | 'unknown-price' | 'interval';

/** Reserve ids the configuration uses, as collateral and as debt. */
export function reservesOf(userConfiguration: bigint): { collateral: number[]; debt: number[] } {
  const collateral: number[] = [];
  const debt: number[] = [];
  let bits = userConfiguration;
  for (let id = 0; bits > 0n; id++, bits >>= 2n) {
    if ((bits & 1n) !== 0n) debt.push(id);
    if ((bits & 2n) !== 0n) collateral.push(id);
  }
  return { collateral, debt };
}

/** e^x ≤ 1 + x + x² for 0 ≤ x ≤ 1 (WAD), rounded up; undefined above 1 (no useful bound: read the account). */
function growthBoundWad(rateRay: bigint, elapsedSec: bigint): bigint | undefined {
  if (elapsedSec <= 0n || rateRay <= 0n) return WAD;
  // x = rate · Δt / year, in WAD, rounded up.
  const numerator = rateRay * elapsedSec;
  const denominator = SECONDS_PER_YEAR * (RAY / WAD);
  const x = (numerator + denominator - 1n) / denominator;
  if (x > WAD) return undefined;
  return WAD + x + (x * x + WAD - 1n) / WAD;
}

/**
 * A lower bound of the account's health factor now (WAD, rounded down), from its last reading; undefined when
 * no bound can be had (a price missing then or now, or too much time for the interest bound). An account without
 * debt has no health factor to bound: it is returned as is (2^256 − 1 in Aave).
 */
export function healthLowerBoundWad(reading: AccountReading, now: MarketNow): bigint | undefined {
  if (reading.totalDebtBase === 0n) return reading.healthFactorWad;
  const { collateral, debt } = reservesOf(reading.userConfiguration);
  // min over collateral of now/then, and max over debt of now/then, as fractions (num, den).
  let cNum = 1n;
  let cDen = 1n;
  let dNum = 1n;
  let dDen = 1n;
  let firstCollateral = true;
  let firstDebt = true;
  for (const id of collateral) {
    const then = reading.prices.get(id);
    const current = now.prices.get(id);
    if (then === undefined || current === undefined || then <= 0n) return undefined;
    if (firstCollateral || current * cDen < cNum * then) [cNum, cDen, firstCollateral] = [current, then, false];
  }
  for (const id of debt) {
    const then = reading.prices.get(id);
    const current = now.prices.get(id);
    if (then === undefined || current === undefined || then <= 0n) return undefined;
    if (firstDebt || current * dDen > dNum * then) [dNum, dDen, firstDebt] = [current, then, false];
  }
  if (dNum === 0n) return undefined;
  const growth = growthBoundWad(now.rateBoundRay, now.timestampSec - reading.timestampSec);
  if (growth === undefined) return undefined;
  // HF · (cNum/cDen) · (dDen/dNum) / (growth/WAD), rounded down.
  return (reading.healthFactorWad * cNum * dDen * WAD) / (cDen * dNum * growth);
}

/** Why the account must be read at this block, or undefined when its last reading still proves it safe. */
export function readReason(reading: AccountReading | undefined, now: MarketNow, policy: ReadPolicy): ReadReason | undefined {
  if (reading === undefined) return 'unread';
  if (now.timestampSec - reading.timestampSec >= policy.maxReadIntervalSec) return 'interval';
  const bound = healthLowerBoundWad(reading, now);
  if (bound === undefined) return 'unknown-price';
  // bound < 1 + margin, compared without rounding: bound · 10,000 < WAD · (10,000 + margin).
  return bound * PERCENTAGE_FACTOR < WAD * (PERCENTAGE_FACTOR + policy.marginBps) ? 'near-liquidation' : undefined;
}

/** The rate bound for this block: the highest observed variable borrow rate times the safety factor, at least the assumed one. */
export function rateBoundRay(observedRatesRay: readonly bigint[], policy: ReadPolicy): bigint {
  const highest = observedRatesRay.reduce((a, b) => (b > a ? b : a), 0n);
  const scaled = (highest * policy.rateSafetyBps + PERCENTAGE_FACTOR - 1n) / PERCENTAGE_FACTOR;
  return scaled > policy.assumedBorrowRateRay ? scaled : policy.assumedBorrowRateRay;
}
