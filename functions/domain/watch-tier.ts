/**
 * Watch tiers: a label of how close an account is to liquidation, from its health factor, stored with its record
 * for operators. When an account is read is read-policy.ts's to decide (change-driven reads), not the tier's.
 */
import { PERCENTAGE_FACTOR } from './math';

/** Same union as the BorrowerStore port's `WatchTier` (the domain imports nothing from ports). */
export type WatchTier = 'hot' | 'warm' | 'cold';

export interface WatchTierPolicy {
  /** Health factor (WAD) below which an account is `hot`. */
  hotBelowWad: bigint;
  /** Health factor (WAD) below which an account is `warm`; `cold` at or above it. */
  warmBelowWad: bigint;
}

/**
 * 1.05 / 1.2 in WAD. A 5 % drop of the collateral's price takes an account at HF 1.05 to ~1.0, which a
 * Chainlink ETH/USD feed (0.5 % deviation threshold) reaches in ten updates; warm accounts need 17 %.
 */
export const DEFAULT_WATCH_TIER_POLICY: WatchTierPolicy = {
  hotBelowWad: 1_050_000_000_000_000_000n,
  warmBelowWad: 1_200_000_000_000_000_000n,
};

export class WatchTierPolicyError extends Error {
  constructor(message: string) {
    super(`invalid watch tier policy: ${message}`);
    this.name = 'WatchTierPolicyError';
  }
}

/** Throws WatchTierPolicyError unless the hot threshold is at most the warm one. */
export function assertWatchTierPolicy(policy: WatchTierPolicy): void {
  if (policy.hotBelowWad > policy.warmBelowWad) {
    throw new WatchTierPolicyError(`hotBelowWad (${policy.hotBelowWad}) exceeds warmBelowWad (${policy.warmBelowWad})`);
  }
}

/** The tier of an account with this health factor (WAD; 2^256 − 1 for an account without debt is `cold`). */
export function watchTierOf(healthFactorWad: bigint, policy: WatchTierPolicy): WatchTier {
  if (healthFactorWad < policy.hotBelowWad) return 'hot';
  if (healthFactorWad < policy.warmBelowWad) return 'warm';
  return 'cold';
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
