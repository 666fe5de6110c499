/**
 * Watch tiers: how often the scanner re-reads an account, from its health factor. An account near 1.0 can become
 * liquidatable with the next oracle update, so it is read every block; one far from it only every few blocks.
 * Every account is read on the first block of a scanner invocation whatever its tier, so a tier only spaces out
 * reads within one invocation (about a minute).
 */
import { PERCENTAGE_FACTOR } from './math';

/** Same union as the BorrowerStore port's `WatchTier` (the domain imports nothing from ports). */
export type WatchTier = 'hot' | 'warm' | 'cold';

export interface WatchTierPolicy {
  /** Health factor (WAD) below which an account is `hot`: read every block. */
  hotBelowWad: bigint;
  /** Health factor (WAD) below which an account is `warm`; `cold` at or above it. */
  warmBelowWad: bigint;
  /** A `warm` account is read when at least this many blocks passed since its last read. */
  warmEveryBlocks: number;
  /** A `cold` account is read when at least this many blocks passed since its last read. */
  coldEveryBlocks: number;
}

/**
 * 1.05 / 1.2 in WAD. A 5 % drop of the collateral's price takes an account at HF 1.05 to ~1.0, which a
 * Chainlink ETH/USD feed (0.5 % deviation threshold) reaches in ten updates; warm accounts need 17 %.
 * On a 2 s chain warm accounts are re-read every 10 s and cold ones every minute.
 */
export const DEFAULT_WATCH_TIER_POLICY: WatchTierPolicy = {
  hotBelowWad: 1_050_000_000_000_000_000n,
  warmBelowWad: 1_200_000_000_000_000_000n,
  warmEveryBlocks: 5,
  coldEveryBlocks: 30,
};

export class WatchTierPolicyError extends Error {
  constructor(message: string) {
    super(`invalid watch tier policy: ${message}`);
    this.name = 'WatchTierPolicyError';
  }
}

/** Throws WatchTierPolicyError unless hot < warm thresholds and both intervals are whole numbers ≥ 1. */
export function assertWatchTierPolicy(policy: WatchTierPolicy): void {
  if (policy.hotBelowWad > policy.warmBelowWad) {
    throw new WatchTierPolicyError(`hotBelowWad (${policy.hotBelowWad}) exceeds warmBelowWad (${policy.warmBelowWad})`);
  }
  for (const name of ['warmEveryBlocks', 'coldEveryBlocks'] as const) {
    if (!Number.isInteger(policy[name]) || policy[name] < 1) throw new WatchTierPolicyError(`${name} must be a whole number ≥ 1, got ${policy[name]}`);
  }
}

/** The tier of an account with this health factor (WAD; 2^256 − 1 for an account without debt is `cold`). */
export function watchTierOf(healthFactorWad: bigint, policy: WatchTierPolicy): WatchTier {
  if (healthFactorWad < policy.hotBelowWad) return 'hot';
  if (healthFactorWad < policy.warmBelowWad) return 'warm';
  return 'cold';
}

/**
 * Whether an account of `tier`, last read at `lastScannedBlock` (undefined: never), is due at `block`. Counted
 * from the last read rather than `block % N`, because the scanner skips blocks when it falls behind and a
 * modulo schedule could skip an account for good.
 */
export function isDueAt(tier: WatchTier, block: number, lastScannedBlock: number | undefined, policy: WatchTierPolicy): boolean {
  if (lastScannedBlock === undefined) return true;
  // Already read at this block or a later one (a block read twice would add nothing).
  if (block <= lastScannedBlock) return false;
  const every = tier === 'hot' ? 1 : tier === 'warm' ? policy.warmEveryBlocks : policy.coldEveryBlocks;
  return block - lastScannedBlock >= every;
}

/**
 * Whether a health factor moved by more than `thresholdBps` of its previous value (undefined: never recorded,
 * always material). Compared by cross-multiplication, so there is no rounding: |Δ| · 10,000 > bps · previous.
 */
export function healthChangedMaterially(previousWad: bigint | undefined, currentWad: bigint, thresholdBps: bigint): boolean {
  if (previousWad === undefined) return true;
  const delta = currentWad > previousWad ? currentWad - previousWad : previousWad - currentWad;
  return delta * PERCENTAGE_FACTOR > thresholdBps * previousWad;
}
