/**
 * The start-up Pool revision check against the Pools the local worlds deploy: npm `@aave/core-v3` (V3.0) and
 * `@aave-dao/aave-v3-origin` 3.6. Each answers `POOL_REVISION()` with a revision of its version in the table
 * (functions/domain/pool-versions.ts); configured as the other version, the check refuses it naming AAVE_POOL_VERSION.
 */
import { join } from 'node:path';
import { Contract } from 'ethers';
import { assertPoolRevision, type PoolRevisionReader } from '../../functions/config/pool-revision-check';
import { poolVersionProfile } from '../../functions/domain';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

describe.each<['v3.0' | 'v3.6', string, bigint, string]>([
  ['v3.0', '3.0.2', 1n, '3.6'],
  ['v3.6', '3.6', 10n, '3.5'],
])('the local Aave %s Pool', (aave, version, revision, otherVersion) => {
  let world: World;
  let readPoolRevision: PoolRevisionReader;

  beforeAll(async () => {
    const scenario: Scenario = { ...loadScenario(join(__dirname, 'fixtures', 'differential.json')), aave };
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    readPoolRevision = async (pool) => (await new Contract(pool, ['function POOL_REVISION() view returns (uint256)'], world.provider).POOL_REVISION()) as bigint;
  });

  afterAll(async () => {
    await world?.stop();
  });

  it(`reports revision ${revision}, which a ${version} configuration accepts`, async () => {
    const pool = world.info.market.pool;
    await expect(assertPoolRevision({ pool, poolVersion: poolVersionProfile(version) }, readPoolRevision)).resolves.toBe(revision);
  });

  it(`is refused when configured as ${otherVersion}`, async () => {
    const pool = world.info.market.pool;
    await expect(assertPoolRevision({ pool, poolVersion: poolVersionProfile(otherVersion) }, readPoolRevision)).rejects.toThrow(
      `AAVE_POOL_VERSION: ${otherVersion} expects POOL_REVISION()`,
    );
  });
});
