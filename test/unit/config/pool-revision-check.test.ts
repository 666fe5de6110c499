import { ConfigError } from '../../../functions/config/pipeline-config';
import { assertPoolRevision } from '../../../functions/config/pool-revision-check';
import { poolVersionProfile } from '../../../functions/domain';

const POOL = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
/** The fields of PipelineConfig the check reads (loadPipelineConfig fills poolVersion from AAVE_POOL_VERSION). */
const configFor = (version: string) => ({ pool: POOL, poolVersion: poolVersionProfile(version) });

describe('assertPoolRevision', () => {
  it.each<[string, bigint]>([
    ['3.0.2', 1n],
    ['3.1', 4n],
    ['3.3', 6n],
    ['3.6', 10n],
  ])('accepts a %s Pool reporting revision %s, reading the configured Pool', async (version, revision) => {
    const asked: string[] = [];
    const read = (pool: string) => {
      asked.push(pool);
      return Promise.resolve(revision);
    };
    await expect(assertPoolRevision(configFor(version), read)).resolves.toBe(revision);
    expect(asked).toEqual([POOL]);
  });

  it('refuses a Pool of another version, naming AAVE_POOL_VERSION and the version the revision belongs to', async () => {
    const refusal = assertPoolRevision(configFor('3.6'), () => Promise.resolve(9n));
    await expect(refusal).rejects.toThrow(ConfigError);
    await expect(refusal).rejects.toThrow(`AAVE_POOL_VERSION: 3.6 expects POOL_REVISION() 10, but the Pool at ${POOL} reports 9 (a 3.5 Pool)`);
  });

  it('refuses a revision no supported version reports', async () => {
    await expect(assertPoolRevision(configFor('3.0.2'), () => Promise.resolve(11n))).rejects.toThrow(
      `AAVE_POOL_VERSION: 3.0 expects POOL_REVISION() 1 or 2 or 3, but the Pool at ${POOL} reports 11 (a revision no supported version reports)`,
    );
  });

  it('lets a failed read through as it is', async () => {
    const failure = new Error('node error');
    await expect(assertPoolRevision(configFor('3.6'), () => Promise.reject(failure))).rejects.toBe(failure);
  });
});
