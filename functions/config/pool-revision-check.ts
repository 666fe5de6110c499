/**
 * Start-up check that the deployed Pool is the version the configuration says (AAVE_POOL_VERSION): the version
 * selects the liquidation rules, and rules of another version size liquidations that revert or leave money. The
 * Pool answers `POOL_REVISION()` (a public constant on every Aave V3 Pool implementation); the revisions each
 * version reports are in functions/domain/pool-versions.ts.
 *
 * The read itself is the chain adapter's (one `eth_call`); a failed read propagates as the adapter classified it.
 */
import { checkPoolRevision, type PoolVersionProfile } from '../domain';
import { ConfigError } from './pipeline-config';

/** Reads the Pool's `POOL_REVISION()` at the latest block. */
export type PoolRevisionReader = (pool: string) => Promise<bigint>;

/** Resolves with the revision when it matches the configured version; rejects with a ConfigError naming AAVE_POOL_VERSION otherwise. */
export async function assertPoolRevision(config: { pool: string; poolVersion: PoolVersionProfile }, readPoolRevision: PoolRevisionReader): Promise<bigint> {
  const revision = await readPoolRevision(config.pool);
  const check = checkPoolRevision(config.poolVersion, revision);
  if (check.kind === 'matches') return revision;
  const actual = check.versionsWithRevision.length > 0 ? `a ${check.versionsWithRevision.join(' or ')} Pool` : 'a revision no supported version reports';
  throw new ConfigError([
    `AAVE_POOL_VERSION: ${config.poolVersion.version} expects POOL_REVISION() ${check.expected.join(' or ')}, but the Pool at ${config.pool} reports ${revision} (${actual})`,
  ]);
}
