/**
 * The Aave V3 Pool versions this engine supports, and what each one decides: the liquidation rule set, whether
 * reserves carry a liquidation grace period, which eMode model applies, and the Pool revisions
 * (`POOL_REVISION()`) a deployment of that version reports. A version outside this table is refused: a Pool
 * whose rules are guessed sizes liquidations that revert, or leaves money on the table.
 *
 * Sources: npm `@aave/core-v3` (V3.0, `Pool.POOL_REVISION = 0x1`) and `@aave-dao/aave-v3-origin` 3.6
 * (`PoolInstance.POOL_REVISION = 10`), and for the versions between them the upgrade payloads BGD Labs published
 * per version (protocol-v3.1-upgrade … protocol-v3.5-upgrade, aave-v3-origin release tags):
 *
 * | version | rule set | grace period | eMode model                  | POOL_REVISION() |
 * |---------|----------|--------------|------------------------------|-----------------|
 * | 3.0.x   | v3.0     | no           | categories-with-price-source | 1, 2, 3         |
 * | 3.1     | v3.0     | yes          | categories-with-price-source | 4               |
 * | 3.2     | v3.0     | yes          | liquid                       | 5               |
 * | 3.3     | v3.3     | yes          | liquid                       | 6, 7            |
 * | 3.4     | v3.3     | yes          | liquid                       | 8               |
 * | 3.5     | v3.5     | yes          | liquid                       | 9               |
 * | 3.6     | v3.5     | yes          | liquid                       | 10              |
 *
 * The rule sets (position.ts): v3.0 caps a liquidation at 50 % of the reserve debt above HF 0.95; v3.3 caps it at
 * 50 % of the total debt only when both reserves are worth ≥ $2,000 and HF > 0.95, and adds MustNotLeaveDust and
 * deficits; v3.5 is v3.3 with the 3.5 rounding. 3.1 adds the reserve grace period (`getLiquidationGracePeriod`;
 * ValidationLogic.validateLiquidationCall refuses while it runs) and virtual accounting; 3.2 replaces the eMode
 * categories with liquid eMode and removes stable debt; 3.4 refuses self-liquidation; 3.6 no longer enables
 * received aTokens as collateral.
 */
import type { RuleSet } from './position';

export type PoolVersion = '3.0' | '3.1' | '3.2' | '3.3' | '3.4' | '3.5' | '3.6';

/**
 * - `categories-with-price-source` (3.0 – 3.1): an asset belongs to at most one category; a user in category X
 *   counts category-X collateral with its LT and bonus, and the category's price source (if set) prices every
 *   asset of the category.
 * - `liquid` (3.2+): categories hold collateral and borrowable bitmaps over reserve ids; the category LT and
 *   bonus apply only to collateral in its bitmap; no price source.
 */
export type EModeModel = 'categories-with-price-source' | 'liquid';

export interface PoolVersionProfile {
  version: PoolVersion;
  ruleSet: RuleSet;
  /** Reserves carry `liquidationGracePeriodUntil` (3.1+): read it, liquidations wait until it has passed. */
  liquidationGracePeriod: boolean;
  eModeModel: EModeModel;
  /** Virtual accounting (3.1+): seized collateral is paid from the reserve's virtual underlying balance. */
  virtualAccounting: boolean;
  /** Stable-rate debt exists (3.0 – 3.1; 3.2 removed it). */
  stableDebt: boolean;
  /** What `POOL_REVISION()` answers on a Pool of this version. */
  poolRevisions: readonly bigint[];
}

export const POOL_VERSIONS: Readonly<Record<PoolVersion, PoolVersionProfile>> = {
  '3.0': { version: '3.0', ruleSet: 'v3.0', liquidationGracePeriod: false, eModeModel: 'categories-with-price-source', virtualAccounting: false, stableDebt: true, poolRevisions: [1n, 2n, 3n] },
  '3.1': { version: '3.1', ruleSet: 'v3.0', liquidationGracePeriod: true, eModeModel: 'categories-with-price-source', virtualAccounting: true, stableDebt: true, poolRevisions: [4n] },
  '3.2': { version: '3.2', ruleSet: 'v3.0', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false, poolRevisions: [5n] },
  '3.3': { version: '3.3', ruleSet: 'v3.3', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false, poolRevisions: [6n, 7n] },
  '3.4': { version: '3.4', ruleSet: 'v3.3', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false, poolRevisions: [8n] },
  '3.5': { version: '3.5', ruleSet: 'v3.5', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false, poolRevisions: [9n] },
  '3.6': { version: '3.6', ruleSet: 'v3.5', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false, poolRevisions: [10n] },
};

/** How a supported version may be written: `3.6`, `3.6.0`, `v3.6`; any patch of 3.0 (`3.0.2`). */
export const SUPPORTED_POOL_VERSIONS_TEXT = '3.0.x, 3.1, 3.2, 3.3, 3.4, 3.5 or 3.6';

export type PoolVersionLookup = { kind: 'supported'; profile: PoolVersionProfile } | { kind: 'unsupported'; reason: string };

/** The table's entry for a configured version string, or why there is none. */
export function lookUpPoolVersion(text: string): PoolVersionLookup {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return { kind: 'unsupported', reason: `"${text}" is not a version: expected 3.<minor>[.<patch>], one of ${SUPPORTED_POOL_VERSIONS_TEXT}` };
  const version = `${Number(match[1])}.${Number(match[2])}`;
  const profile = (POOL_VERSIONS as Partial<Record<string, PoolVersionProfile>>)[version];
  if (!profile) return { kind: 'unsupported', reason: `Aave Pool version ${text} is not supported: supported are ${SUPPORTED_POOL_VERSIONS_TEXT}` };
  return { kind: 'supported', profile };
}

/** The table's entry for a version the configuration has already validated; throws for any other. */
export function poolVersionProfile(text: string): PoolVersionProfile {
  const lookup = lookUpPoolVersion(text);
  if (lookup.kind === 'unsupported') throw new RangeError(lookup.reason);
  return lookup.profile;
}

export type PoolRevisionCheck =
  | { kind: 'matches'; revision: bigint }
  | { kind: 'mismatch'; revision: bigint; expected: readonly bigint[]; versionsWithRevision: readonly PoolVersion[] };

/** Whether the deployed Pool's `POOL_REVISION()` is one a Pool of the configured version reports. */
export function checkPoolRevision(profile: PoolVersionProfile, revision: bigint): PoolRevisionCheck {
  if (profile.poolRevisions.includes(revision)) return { kind: 'matches', revision };
  const versionsWithRevision = Object.values(POOL_VERSIONS)
    .filter((p) => p.poolRevisions.includes(revision))
    .map((p) => p.version);
  return { kind: 'mismatch', revision, expected: profile.poolRevisions, versionsWithRevision };
}
