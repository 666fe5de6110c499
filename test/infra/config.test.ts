import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookUpPoolVersion, POOL_VERSIONS } from '../../functions/domain';
import { loadPipelineConfig } from '../../functions/config/pipeline-config';
import { loadDeploymentConfig, parseDeploymentConfig, SUPPORTED_POOL_VERSIONS } from '../../lib/config';
import { configEnvironment } from '../../lib/pipeline-functions';
import { loadDeploymentConfigs } from '../../lib/keeper-app';

const VALID = {
  name: 'aave-v3-mainnet',
  chainId: 1,
  market: {
    protocol: 'aave-v3',
    pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2',
    poolVersion: '3.6',
    nativePriceAsset: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
    dex: { swapRouter02: '0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45', quoterV2: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e' },
  },
  rpcUrlSecretName: 'liquidation-keeper/aave-v3-mainnet/rpc-url',
};

describe('market.poolVersion', () => {
  it('lists the versions of the domain table (functions/domain/pool-versions.ts)', () => {
    expect(SUPPORTED_POOL_VERSIONS).toEqual(Object.keys(POOL_VERSIONS));
  });

  it.each(['3.0', '3.0.0', '3.0.2', 'v3.0.1', '3.1', '3.2.0', '3.3', '3.4', '3.5', '3.6', '3.6.0', 'v3.6', '3.7', '3.10', '4.0', '2.0', '3', '3.x', ''])(
    '%p: the deploy config accepts it exactly when the pipeline config does',
    (poolVersion) => {
      const accepted = (() => {
        try {
          parseDeploymentConfig({ ...VALID, market: { ...VALID.market, poolVersion } });
          return true;
        } catch {
          return false;
        }
      })();
      expect(accepted).toBe(lookUpPoolVersion(poolVersion).kind === 'supported');
    },
  );
});

describe('parseDeploymentConfig', () => {
  it('accepts a valid config, with and without an alert email', () => {
    expect(parseDeploymentConfig(VALID)).toMatchObject(VALID);
    expect(parseDeploymentConfig({ ...VALID, alertEmail: 'oncall@example.com' }).alertEmail).toBe('oncall@example.com');
  });

  it('fills every optional section with its defaults', () => {
    const config = parseDeploymentConfig(VALID);

    expect(config.market.indexerStartBlock).toBe(0);
    expect(config.schedule).toEqual({ indexerEveryMinutes: 1, scannerEveryMinutes: 1 });
    expect(config.worker).toEqual({ batchSize: 10, maxConcurrency: 2 });
    expect(config.execution).toEqual({
      sizingStrategy: 'max',
      minProfitUsd: 0,
      revertStreakLimit: 3,
      revertCooldownSec: 900,
      replaceAfterSec: 24,
      maxReplacements: 3,
      feeBumpBps: 1250,
      funding: 'flash-loan',
      maxSlippageBps: 100,
      followerSlippageBps: 500,
      batchBoundsFromPending: false,
      dryRun: false,
    });
    expect(config.scanner).toEqual({ readMode: 'changes', maxReadIntervalSec: 3_600, followPendingUpdates: false });
    expect(config.market.dex).toMatchObject({ feeTiers: [100, 500, 3000, 10000], routes: [] });
    expect(config.alarms).toEqual({ signerBalanceMinEth: 0.05, maxRevertsPerHour: 2, badDebtUsdMax: 0 });
    expect(config.oracle).toEqual({ maxAgeSec: 3_900, maxAgeSecByAsset: {}, maxDeviationBps: 3_000, undatedFeeds: 'allow' });
    expect(config.privateRpcUrlSecretName).toBeUndefined();
  });

  it('keeps the values of a partly filled section and defaults the rest', () => {
    const config = parseDeploymentConfig({ ...VALID, worker: { batchSize: 5 }, execution: { gasPriceCapGwei: 40, dryRun: true } });

    expect(config.worker).toEqual({ batchSize: 5, maxConcurrency: 2 });
    expect(config.execution).toMatchObject({ gasPriceCapGwei: 40, dryRun: true, feeBumpBps: 1250 });
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
    ['unknown market field', { ...VALID, market: { ...VALID.market, priceOracle: '0x' } }, /market\.priceOracle: unknown field/],
    ['missing pool version', { ...VALID, market: { ...VALID.market, poolVersion: undefined } }, /market\.poolVersion: is required/],
    ['Aave V2 pool version', { ...VALID, market: { ...VALID.market, poolVersion: '2.0' } }, /market\.poolVersion: must be a supported Aave V3 Pool version: 3\.0\.x, 3\.1, 3\.2, 3\.3, 3\.4, 3\.5 or 3\.6/],
    ['pool version outside the table', { ...VALID, market: { ...VALID.market, poolVersion: '3.7' } }, /market\.poolVersion: must be a supported Aave V3 Pool version: 3\.0\.x, 3\.1, 3\.2, 3\.3, 3\.4, 3\.5 or 3\.6/],
    ['pool version as a number', { ...VALID, market: { ...VALID.market, poolVersion: 3.6 } }, /market\.poolVersion: must be a string/],
    ['missing native price asset', { ...VALID, market: { ...VALID.market, nativePriceAsset: undefined } }, /market\.nativePriceAsset: is required/],
    ['negative start block', { ...VALID, market: { ...VALID.market, indexerStartBlock: -1 } }, /market\.indexerStartBlock: must be at least 0/],
    ['private RPC secret name with a space', { ...VALID, privateRpcUrlSecretName: 'private rpc' }, /privateRpcUrlSecretName: must be a Secrets Manager secret name/],
    ['scanner rate beyond a Lambda timeout', { ...VALID, schedule: { scannerEveryMinutes: 15 } }, /schedule\.scannerEveryMinutes: must be at most 14/],
    ['fractional indexer rate', { ...VALID, schedule: { indexerEveryMinutes: 0.5 } }, /schedule\.indexerEveryMinutes: must be a whole number/],
    ['FIFO batch above 10', { ...VALID, worker: { batchSize: 11 } }, /worker\.batchSize: must be at most 10/],
    ['event source concurrency below 2', { ...VALID, worker: { maxConcurrency: 1 } }, /worker\.maxConcurrency: must be at least 2/],
    ['unknown sizing strategy', { ...VALID, execution: { sizingStrategy: 'all' } }, /execution\.sizingStrategy: must be "max", "target-health" or "two-step"/],
    ['negative minimum profit', { ...VALID, execution: { minProfitUsd: -1 } }, /execution\.minProfitUsd: must be at least 0/],
    ['zero gas price cap', { ...VALID, execution: { gasPriceCapGwei: 0 } }, /execution\.gasPriceCapGwei: must be above 0/],
    ['gas budget as a string', { ...VALID, execution: { dailyGasBudgetEth: '0.5' } }, /execution\.dailyGasBudgetEth: must be a number/],
    ['fee bump nodes refuse', { ...VALID, execution: { feeBumpBps: 500 } }, /execution\.feeBumpBps: must be at least 1000/],
    ['dry run as a string', { ...VALID, execution: { dryRun: 'yes' } }, /execution\.dryRun: must be true or false/],
    ['zero balance threshold', { ...VALID, alarms: { signerBalanceMinEth: 0 } }, /alarms\.signerBalanceMinEth: must be above 0/],
    ['missing DEX', { ...VALID, market: { ...VALID.market, dex: undefined } }, /market\.dex: is required/],
    ['DEX without a quoter', { ...VALID, market: { ...VALID.market, dex: { swapRouter02: VALID.market.dex.swapRouter02 } } }, /market\.dex\.quoterV2: is required/],
    ['a fee tier Uniswap V3 does not have', { ...VALID, market: { ...VALID.market, dex: { ...VALID.market.dex, feeTiers: [250] } } }, /market\.dex\.feeTiers\[0\]: must be a Uniswap V3 fee tier/],
    [
      'a route with as many fees as tokens',
      { ...VALID, market: { ...VALID.market, dex: { ...VALID.market.dex, routes: [{ tokens: [VALID.market.pool, VALID.market.nativePriceAsset], fees: [500, 3000] }] } } },
      /market\.dex\.routes\[0\]\.fees: needs one fee fewer than tokens/,
    ],
    ['unknown funding mode', { ...VALID, execution: { funding: 'wallet' } }, /execution\.funding: must be "flash-loan" or "inventory"/],
    ['slippage above half', { ...VALID, execution: { maxSlippageBps: 6000 } }, /execution\.maxSlippageBps: must be at most 5000/],
    ['treasury that is not an address', { ...VALID, execution: { treasury: 'me' } }, /execution\.treasury: must be a 0x-prefixed 20-byte hex address/],
    ['unknown execution field', { ...VALID, execution: { privateKey: '0x' } }, /execution\.privateKey: unknown field/],
    ['oracle section that is not an object', { ...VALID, oracle: 3600 }, /oracle: must be an object/],
    ['zero oracle age', { ...VALID, oracle: { maxAgeSec: 0 } }, /oracle\.maxAgeSec: must be at least 1/],
    ['oracle age as a string', { ...VALID, oracle: { maxAgeSec: '1h' } }, /oracle\.maxAgeSec: must be a number/],
    ['per-asset ages as an array', { ...VALID, oracle: { maxAgeSecByAsset: [86_700] } }, /oracle\.maxAgeSecByAsset: must be an object of \{ "0xasset": seconds \}/],
    ['a per-asset key that is not an address', { ...VALID, oracle: { maxAgeSecByAsset: { USDT: 86_700 } } }, /oracle\.maxAgeSecByAsset\.USDT: the key must be a 0x-prefixed 20-byte hex address/],
    [
      'a fractional per-asset age',
      { ...VALID, oracle: { maxAgeSecByAsset: { '0xdAC17F958D2ee523a2206206994597C13D831ec7': 86_700.5 } } },
      /oracle\.maxAgeSecByAsset\.0xdAC17F958D2ee523a2206206994597C13D831ec7: must be a whole number/,
    ],
    [
      'one asset twice, in two cases',
      { ...VALID, oracle: { maxAgeSecByAsset: { '0xdAC17F958D2ee523a2206206994597C13D831ec7': 86_700, '0xdac17f958d2ee523a2206206994597c13d831ec7': 3_600 } } },
      /oracle\.maxAgeSecByAsset\.0xdac17f958d2ee523a2206206994597c13d831ec7: the same asset as 0xdAC17F958D2ee523a2206206994597C13D831ec7/,
    ],
    ['zero deviation bound', { ...VALID, oracle: { maxDeviationBps: 0 } }, /oracle\.maxDeviationBps: must be at least 1/],
    ['unknown undated-feed policy', { ...VALID, oracle: { undatedFeeds: 'warn' } }, /oracle\.undatedFeeds: must be "allow" or "block"/],
    ['unknown oracle field', { ...VALID, oracle: { heartbeatSec: 3_600 } }, /oracle\.heartbeatSec: unknown field/],
  ])('rejects %s, naming the field', (_case, input, message) => {
    expect(() => parseDeploymentConfig(input, 'test.json')).toThrow(message);
  });

  it('keeps per-asset oracle ages as written and defaults the rest of the section', () => {
    const config = parseDeploymentConfig({ ...VALID, oracle: { maxAgeSecByAsset: { '0xdAC17F958D2ee523a2206206994597C13D831ec7': 86_700 }, undatedFeeds: 'block' } });

    expect(config.oracle).toEqual({ maxAgeSec: 3_900, maxAgeSecByAsset: { '0xdAC17F958D2ee523a2206206994597C13D831ec7': 86_700 }, maxDeviationBps: 3_000, undatedFeeds: 'block' });
  });

  it('the oracle section\'s defaults are the functions\' defaults', () => {
    const ORACLE_VARIABLES = ['ORACLE_MAX_AGE_SEC', 'ORACLE_MAX_AGE_SEC_BY_ASSET', 'ORACLE_MAX_DEVIATION_BPS', 'ORACLE_UNDATED_FEEDS'];
    const deployed = configEnvironment('scanner', parseDeploymentConfig(VALID));
    const withoutSettings = Object.fromEntries(Object.entries(deployed).filter(([v]) => !ORACLE_VARIABLES.includes(v)));

    // The scanner is given the settings explicitly (so a deployment shows what it runs with) ...
    expect(Object.keys(deployed).filter((v) => v.startsWith('ORACLE_')).sort()).toEqual(['ORACLE_MAX_AGE_SEC', 'ORACLE_MAX_DEVIATION_BPS', 'ORACLE_UNDATED_FEEDS']);
    // ... and with the section's defaults, it reads what it reads with none set.
    expect(loadPipelineConfig(deployed).scanner).toEqual(loadPipelineConfig(withoutSettings).scanner);
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

    expect(config).toMatchObject({ chainId: 1, market: { protocol: 'aave-v3', pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2', poolVersion: '3.6' } });
  });

  it('reports a missing file and invalid JSON with the path', () => {
    const missing = join(dir, 'missing.json');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "name": ');

    expect(() => loadDeploymentConfig(missing)).toThrow(`invalid deployment config ${missing}:\n  - (file): ENOENT`);
    expect(() => loadDeploymentConfig(broken)).toThrow(new RegExp(`invalid deployment config ${broken}:\\n {2}- \\(file\\): .*JSON`));
  });
});

describe('loadDeploymentConfigs (the `config` context value)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keeper-configs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, config: object) => {
    const path = join(dir, file);
    writeFileSync(path, JSON.stringify(config));
    return path;
  };

  it('loads one instance per comma-separated file', () => {
    const mainnet = write('mainnet.json', VALID);
    const base = write('base.json', { ...VALID, name: 'aave-v3-base', chainId: 8453 });

    expect(loadDeploymentConfigs(`${mainnet}, ${base}`).map((c) => [c.name, c.chainId])).toEqual([
      ['aave-v3-mainnet', 1],
      ['aave-v3-base', 8453],
    ]);
  });

  it('refuses two instances with the same name, and a value that is not a path', () => {
    const a = write('a.json', VALID);
    const b = write('b.json', { ...VALID, chainId: 10 });

    expect(() => loadDeploymentConfigs(`${a},${b}`)).toThrow('two deployment configs are named "aave-v3-mainnet": each keeper instance needs its own name');
    expect(() => loadDeploymentConfigs(42)).toThrow('context "config" must be a file path or comma-separated file paths, got 42');
  });
});
