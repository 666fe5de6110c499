import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDeploymentConfig, parseDeploymentConfig } from '../../lib/config';

const VALID = {
  name: 'aave-v3-mainnet',
  chainId: 1,
  market: { protocol: 'aave-v3', pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2' },
  rpcUrlSecretName: 'liquidation-keeper/aave-v3-mainnet/rpc-url',
};

describe('parseDeploymentConfig', () => {
  it('accepts a valid config, with and without an alert email', () => {
    expect(parseDeploymentConfig(VALID)).toEqual(VALID);
    expect(parseDeploymentConfig({ ...VALID, alertEmail: 'oncall@example.com' }).alertEmail).toBe('oncall@example.com');
  });

  it.each([
    ['name with upper case', { ...VALID, name: 'Mainnet' }, /name: must be lowercase letters, digits and hyphens/],
    ['name starting with a digit', { ...VALID, name: '1mainnet' }, /name: must be lowercase letters, digits and hyphens, starting with a letter/],
    ['name too long for the queue names', { ...VALID, name: 'a'.repeat(33) }, /name: must be at most 32 characters/],
    ['missing name', { ...VALID, name: undefined }, /name: is required/],
    ['chain id zero', { ...VALID, chainId: 0 }, /chainId: must be positive/],
    ['chain id fractional', { ...VALID, chainId: 1.5 }, /chainId: must be an integer/],
    ['chain id as a string', { ...VALID, chainId: '1' }, /chainId: must be a number/],
    ['unknown protocol', { ...VALID, market: { ...VALID.market, protocol: 'morpho-blue' } }, /market\.protocol: must be "aave-v3"/],
    ['short pool address', { ...VALID, market: { ...VALID.market, pool: '0x1234' } }, /market\.pool: must be a 0x-prefixed 20-byte hex address/],
    ['missing market', { ...VALID, market: undefined }, /market: is required/],
    ['secret name with a space', { ...VALID, rpcUrlSecretName: 'rpc url' }, /rpcUrlSecretName: must be a Secrets Manager secret name/],
    ['bad email', { ...VALID, alertEmail: 'oncall' }, /alertEmail: must be an email address/],
    ['unknown top-level field', { ...VALID, rpcUrl: 'https://example.com' }, /rpcUrl: unknown field/],
    ['unknown market field', { ...VALID, market: { ...VALID.market, oracle: '0x' } }, /market\.oracle: unknown field/],
  ])('rejects %s, naming the field', (_case, input, message) => {
    expect(() => parseDeploymentConfig(input, 'test.json')).toThrow(message);
  });

  it('names the source and lists every problem', () => {
    expect(() => parseDeploymentConfig({ ...VALID, chainId: -1, name: 'X' }, 'deploy/bad.json')).toThrow(
      /^invalid deployment config deploy\/bad\.json:\n {2}- name: .*\n {2}- chainId: must be positive$/,
    );
  });
});

describe('loadDeploymentConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keeper-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the example config shipped in deploy/', () => {
    const config = loadDeploymentConfig(join(__dirname, '..', '..', 'deploy', 'config.example.json'));

    expect(config).toMatchObject({ chainId: 1, market: { protocol: 'aave-v3', pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2' } });
  });

  it('reports a missing file and invalid JSON with the path', () => {
    const missing = join(dir, 'missing.json');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "name": ');

    expect(() => loadDeploymentConfig(missing)).toThrow(`invalid deployment config ${missing}:\n  - (file): ENOENT`);
    expect(() => loadDeploymentConfig(broken)).toThrow(new RegExp(`invalid deployment config ${broken}:\\n {2}- \\(file\\): .*JSON`));
  });
});
