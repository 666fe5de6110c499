import { checkPoolRevision, lookUpPoolVersion, POOL_VERSIONS, type PoolVersionProfile, poolVersionProfile } from '../../../functions/domain';

describe('the Pool version table', () => {
  // Rule set, grace period and eMode model per version, as the Solidity of each release decides them.
  it.each<[string, Pick<PoolVersionProfile, 'version' | 'ruleSet' | 'liquidationGracePeriod' | 'eModeModel' | 'virtualAccounting' | 'stableDebt'>]>([
    ['3.0.0', { version: '3.0', ruleSet: 'v3.0', liquidationGracePeriod: false, eModeModel: 'categories-with-price-source', virtualAccounting: false, stableDebt: true }],
    ['3.0.2', { version: '3.0', ruleSet: 'v3.0', liquidationGracePeriod: false, eModeModel: 'categories-with-price-source', virtualAccounting: false, stableDebt: true }],
    ['v3.0', { version: '3.0', ruleSet: 'v3.0', liquidationGracePeriod: false, eModeModel: 'categories-with-price-source', virtualAccounting: false, stableDebt: true }],
    ['3.1', { version: '3.1', ruleSet: 'v3.0', liquidationGracePeriod: true, eModeModel: 'categories-with-price-source', virtualAccounting: true, stableDebt: true }],
    ['3.2.0', { version: '3.2', ruleSet: 'v3.0', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false }],
    ['3.3', { version: '3.3', ruleSet: 'v3.3', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false }],
    ['v3.4', { version: '3.4', ruleSet: 'v3.3', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false }],
    ['3.5', { version: '3.5', ruleSet: 'v3.5', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false }],
    [' 3.6 ', { version: '3.6', ruleSet: 'v3.5', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false }],
    ['3.6.0', { version: '3.6', ruleSet: 'v3.5', liquidationGracePeriod: true, eModeModel: 'liquid', virtualAccounting: true, stableDebt: false }],
  ])('%s → %o', (text, expected) => {
    expect(poolVersionProfile(text)).toMatchObject(expected);
  });

  it.each([
    ['3.7', 'Aave Pool version 3.7 is not supported: supported are 3.0.x, 3.1, 3.2, 3.3, 3.4, 3.5 or 3.6'],
    ['4.0', 'Aave Pool version 4.0 is not supported: supported are 3.0.x, 3.1, 3.2, 3.3, 3.4, 3.5 or 3.6'],
    ['2', '"2" is not a version: expected 3.<minor>[.<patch>], one of 3.0.x, 3.1, 3.2, 3.3, 3.4, 3.5 or 3.6'],
    ['latest', '"latest" is not a version: expected 3.<minor>[.<patch>], one of 3.0.x, 3.1, 3.2, 3.3, 3.4, 3.5 or 3.6'],
  ])('refuses %s', (text, reason) => {
    expect(lookUpPoolVersion(text)).toEqual({ kind: 'unsupported', reason });
    expect(() => poolVersionProfile(text)).toThrow(reason);
  });

  it('gives every version its own Pool revisions', () => {
    const revisions = Object.values(POOL_VERSIONS).flatMap((p) => p.poolRevisions);
    expect(new Set(revisions).size).toBe(revisions.length);
    // The two versions the local worlds run: @aave/core-v3 Pool.POOL_REVISION = 0x1, aave-v3-origin 3.6 PoolInstance = 10.
    expect(POOL_VERSIONS['3.0'].poolRevisions).toContain(1n);
    expect(POOL_VERSIONS['3.6'].poolRevisions).toEqual([10n]);
  });
});

describe('checkPoolRevision', () => {
  it.each<[string, bigint]>([
    ['3.0.2', 1n],
    ['3.0.2', 3n],
    ['3.3', 7n],
    ['3.6', 10n],
  ])('%s with revision %s matches', (version, revision) => {
    expect(checkPoolRevision(poolVersionProfile(version), revision)).toEqual({ kind: 'matches', revision });
  });

  it('names the versions that report the revision when it does not match', () => {
    expect(checkPoolRevision(poolVersionProfile('3.6'), 9n)).toEqual({ kind: 'mismatch', revision: 9n, expected: [10n], versionsWithRevision: ['3.5'] });
    expect(checkPoolRevision(poolVersionProfile('3.0.2'), 42n)).toEqual({ kind: 'mismatch', revision: 42n, expected: [1n, 2n, 3n], versionsWithRevision: [] });
  });
});
