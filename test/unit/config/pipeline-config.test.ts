import { ConfigError, loadPipelineConfig, loadWorkerConfig } from '../../../functions/config/pipeline-config';

const LOCAL = {
  CHAIN_ID: '31337',
  MARKET_NAME: 'local',
  POOL_ADDRESS: '0x3B02fF1e626Ed7a8fd6eC5299e2C54e1421B626B',
  AAVE_POOL_VERSION: '3.6',
  RPC_URL: 'http://127.0.0.1:8545',
  SIGNER_MODE: 'local',
  SIGNER_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
  NATIVE_PRICE_ASSET: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  SWAP_QUOTER_ADDRESS: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e',
};
const MAINNET = {
  CHAIN_ID: '1',
  MARKET_NAME: 'aave-core',
  POOL_ADDRESS: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2',
  AAVE_POOL_VERSION: '3.6',
  RPC_URL_SECRET_NAME: 'keeper/rpc-url',
  SIGNER_MODE: 'kms',
  KMS_KEY_ID: 'alias/keeper',
  NATIVE_PRICE_ASSET: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
  SWAP_QUOTER_ADDRESS: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e',
  LIQUIDATOR_ADDRESS_PARAMETER: '/aave-core/liquidator-address',
};

function problems(env: Record<string, string>, requires: Parameters<typeof loadPipelineConfig>[1] = []): string {
  try {
    loadPipelineConfig(env, requires);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('pipeline configuration', () => {
  it('reads a local configuration with defaults and derived fields', () => {
    const config = loadPipelineConfig(LOCAL);
    expect(config.ruleSet).toBe('v3.5');
    expect(config.marketKey).toBe('31337#0x3b02ff1e626ed7a8fd6ec5299e2c54e1421b626b');
    expect(config.rpc).toEqual({ url: 'http://127.0.0.1:8545' });
    expect(config.worker.targetHealthFactorWad).toBe(1_050_000_000_000_000_000n);
    expect(config.indexer).toEqual({ startBlock: 0, logWindow: 2000, logWindowGrowthAfter: 16, reorgDepth: 12, captureLookbackBlocks: 120 });
  });

  it.each([
    ['3.0.2', 'v3.0', false, 'categories-with-price-source'],
    ['3.1', 'v3.0', true, 'categories-with-price-source'],
    ['3.2', 'v3.0', true, 'liquid'],
    ['3.4', 'v3.3', true, 'liquid'],
    ['3.6', 'v3.5', true, 'liquid'],
  ])('reads Pool version %s as rule set %s, grace period %s, eMode %s', (version, ruleSet, liquidationGracePeriod, eModeModel) => {
    const config = loadPipelineConfig({ ...LOCAL, AAVE_POOL_VERSION: version });
    expect(config.ruleSet).toBe(ruleSet);
    expect(config.poolVersion).toMatchObject({ ruleSet, liquidationGracePeriod, eModeModel });
  });

  it('reads the capital-free execution settings with their defaults', () => {
    const config = loadPipelineConfig(MAINNET);
    expect(config.worker.funding).toBe('flash-loan');
    expect(config.worker.maxSlippageBps).toBe(100n);
    expect(config.worker.batchBoundsFromPending).toBe(false);
    expect(loadPipelineConfig({ ...MAINNET, BATCH_BOUNDS_FROM_PENDING: 'true' }).worker.batchBoundsFromPending).toBe(true);
    expect(() => loadPipelineConfig({ ...MAINNET, BATCH_BOUNDS_FROM_PENDING: 'yes' })).toThrow('BATCH_BOUNDS_FROM_PENDING: must be true or false');
    expect(config.worker.liquidator).toEqual({ parameterName: '/aave-core/liquidator-address' });
    expect(config.worker.swap).toEqual({ quoter: MAINNET.SWAP_QUOTER_ADDRESS, router: undefined, feeTiers: [100, 500, 3000, 10000], routes: [] });

    const routes = JSON.stringify([{ tokens: [MAINNET.NATIVE_PRICE_ASSET, MAINNET.POOL_ADDRESS], fees: [500] }]);
    const custom = loadPipelineConfig({ ...LOCAL, FUNDING: 'inventory', LIQUIDATOR_ADDRESS: MAINNET.NATIVE_PRICE_ASSET, SWAP_FEE_TIERS: '500,3000', SWAP_ROUTES: routes, MAX_SLIPPAGE_BPS: '25' });
    expect(custom.worker).toMatchObject({ funding: 'inventory', liquidator: { address: MAINNET.NATIVE_PRICE_ASSET }, maxSlippageBps: 25n });
    expect(custom.worker.swap).toMatchObject({ feeTiers: [500, 3000], routes: [{ tokens: [MAINNET.NATIVE_PRICE_ASSET, MAINNET.POOL_ADDRESS], fees: [500] }] });
  });

  it.each([
    ['an unknown funding mode', { ...LOCAL, FUNDING: 'wallet' }, 'FUNDING: must be "flash-loan" or "inventory"'],
    ['a fee tier Uniswap V3 does not have', { ...LOCAL, SWAP_FEE_TIERS: '500,250' }, 'SWAP_FEE_TIERS: must be Uniswap V3 fee tiers'],
    ['routes that are not JSON', { ...LOCAL, SWAP_ROUTES: '[{' }, 'SWAP_ROUTES: must be a JSON array of routes'],
    ['a route with as many fees as tokens', { ...LOCAL, SWAP_ROUTES: JSON.stringify([{ tokens: [MAINNET.POOL_ADDRESS, MAINNET.NATIVE_PRICE_ASSET], fees: [500, 500] }]) }, 'SWAP_ROUTES.0: needs one fee fewer than tokens'],
    ['both an address and a parameter', { ...MAINNET, LIQUIDATOR_ADDRESS: MAINNET.POOL_ADDRESS }, 'LIQUIDATOR_ADDRESS_PARAMETER: set at most one of LIQUIDATOR_ADDRESS and LIQUIDATOR_ADDRESS_PARAMETER'],
    ['a parameter name without a leading slash', { ...MAINNET, LIQUIDATOR_ADDRESS_PARAMETER: 'liquidator' }, 'LIQUIDATOR_ADDRESS_PARAMETER: must be an SSM parameter name starting with /'],
    ['slippage above half', { ...LOCAL, MAX_SLIPPAGE_BPS: '6000' }, 'MAX_SLIPPAGE_BPS: must be at most 5000'],
  ])('refuses %s, naming the variable', (_what, env, message) => {
    expect(problems(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>)).toContain(message);
  });

  it('reads a production configuration with the RPC URL by secret name and a KMS signer', () => {
    const config = loadPipelineConfig(MAINNET);
    expect(config.rpc).toEqual({ secretName: 'keeper/rpc-url' });
    expect(config.worker.signer).toEqual({ mode: 'kms', keyIds: ['alias/keeper'] });
    expect(config.ruleSet).toBe('v3.5');
  });

  it.each([
    ['a non-numeric chain id', { ...LOCAL, CHAIN_ID: 'mainnet' }, /CHAIN_ID: must be a number/],
    ['a bad pool address', { ...LOCAL, POOL_ADDRESS: '0x1234' }, /POOL_ADDRESS: must be a 0x-prefixed 20-byte hex address/],
    ['an Aave V2 version', { ...LOCAL, AAVE_POOL_VERSION: '2.0' }, /AAVE_POOL_VERSION: must be a supported Aave V3 Pool version: 3\.0\.x, 3\.1, 3\.2, 3\.3, 3\.4, 3\.5 or 3\.6/],
    ['a V3 version outside the table', { ...LOCAL, AAVE_POOL_VERSION: '3.7' }, /AAVE_POOL_VERSION: must be a supported Aave V3 Pool version: 3\.0\.x, 3\.1, 3\.2, 3\.3, 3\.4, 3\.5 or 3\.6/],
    ['both RPC settings', { ...LOCAL, RPC_URL_SECRET_NAME: 'x' }, /RPC_URL_SECRET_NAME: set exactly one of RPC_URL/],
    ['a raw RPC URL on mainnet', { ...MAINNET, RPC_URL_SECRET_NAME: '', RPC_URL: 'https://eth.example/key' }, /RPC_URL: only for the local chain 31337/],
    ['a local key on mainnet', { ...MAINNET, SIGNER_MODE: 'local', SIGNER_PRIVATE_KEY: `0x${'11'.repeat(32)}` }, /SIGNER_MODE: "local" signs with a key from the environment: only on the local chain/],
    ['a local signer without a key', { ...LOCAL, SIGNER_PRIVATE_KEY: '' }, /SIGNER_PRIVATE_KEY: must be 0x-prefixed 32-byte hex keys, separated by commas/],
    ['a KMS signer without a key id', { ...MAINNET, KMS_KEY_ID: '' }, /KMS_KEY_ID: /],
    ['an unknown sizing strategy', { ...LOCAL, SIZING_STRATEGY: 'all-in' }, /SIZING_STRATEGY: must be max, target-health or two-step/],
    ['a target health below 1', { ...LOCAL, TARGET_HEALTH_FACTOR: '0.9' }, /TARGET_HEALTH_FACTOR: must be at least 1/],
  ])('refuses %s, naming the variable', (_name, env, expected) => {
    expect(problems(env as Record<string, string>)).toMatch(expected);
  });

  it('asks nothing about signing of a function that does not sign', () => {
    const { SIGNER_MODE: _m, KMS_KEY_ID: _k, NATIVE_PRICE_ASSET: _n, ...scannerEnv } = MAINNET;
    expect(loadPipelineConfig(scannerEnv).worker.signer).toBeUndefined();
    expect(problems(scannerEnv, ['signer'])).toMatch(/SIGNER_MODE: required by this function/);
  });

  it('requires the gas-pricing asset and the quoter of a function that signs', () => {
    expect(problems({ ...MAINNET, NATIVE_PRICE_ASSET: undefined } as unknown as Record<string, string>, ['signer'])).toMatch(/NATIVE_PRICE_ASSET: required with a signer/);
    const { SWAP_QUOTER_ADDRESS: _q, ...withoutQuoter } = LOCAL;
    expect(problems(withoutQuoter, ['signer'])).toMatch(/SWAP_QUOTER_ADDRESS: required with a signer/);
  });

  it('lets a function that only recognises the signers\' addresses (the indexer) know the keys without the quoter or gas asset', () => {
    const { SWAP_QUOTER_ADDRESS: _q, NATIVE_PRICE_ASSET: _n, ...indexerEnv } = MAINNET;
    expect(loadPipelineConfig(indexerEnv).worker.signer).toEqual({ mode: 'kms', keyIds: ['alias/keeper'] });
    expect(loadPipelineConfig(indexerEnv).indexer.captureLookbackBlocks).toBe(120);
  });

  it('names a variable a function requires but is not set', () => {
    expect(problems(LOCAL, ['ledger', 'candidatesQueue'])).toMatch(/LEDGER_TABLE: required by this function[\s\S]*CANDIDATES_QUEUE_URL: required by this function/);
  });

  it('reads the execution settings: several keys, fee policy, breakers, private submission', () => {
    const keys = `0x${'11'.repeat(32)},0x${'22'.repeat(32)}`;
    const config = loadPipelineConfig({
      ...MAINNET,
      KMS_KEY_ID: 'alias/keeper-1, alias/keeper-2',
      PRIVATE_RPC_URL_SECRET_NAME: 'keeper/private-rpc-url',
      REPLACE_AFTER_SEC: '12.5',
      MAX_REPLACEMENTS: '2',
      FEE_BUMP_BPS: '1500',
      GAS_PRICE_CAP_GWEI: '150.5',
      DAILY_GAS_BUDGET_ETH: '0.25',
      REVERT_STREAK_LIMIT: '4',
      REVERT_COOLDOWN_SEC: '600',
    });
    expect(config.worker.signer).toEqual({ mode: 'kms', keyIds: ['alias/keeper-1', 'alias/keeper-2'] });
    expect(config.privateRpc).toEqual({ secretName: 'keeper/private-rpc-url' });
    // 150.5 gwei = 150,500,000,000 wei; 0.25 ETH = 250,000,000,000,000,000 wei.
    expect(config.worker.fees).toEqual({ replaceAfterMs: 12_500, maxReplacements: 2, bumpBps: 1_500n, gasPriceCapWei: 150_500_000_000n });
    expect(config.worker.breakers).toEqual({ revertStreakLimit: 4, revertCooldownMs: 600_000, dailyGasBudgetWei: 250_000_000_000_000_000n });
    expect(loadPipelineConfig({ ...LOCAL, SIGNER_PRIVATE_KEY: keys }).worker.signer).toEqual({ mode: 'local', privateKeys: [`0x${'11'.repeat(32)}`, `0x${'22'.repeat(32)}`] });
  });

  it('refuses a fee bump below what nodes accept, and local-only endpoints on a real chain, naming each', () => {
    const message = problems({ ...MAINNET, FEE_BUMP_BPS: '500', PRIVATE_RPC_URL: 'http://127.0.0.1:9999', KMS_ENDPOINT: 'http://127.0.0.1:4000' });
    expect(message).toContain('FEE_BUMP_BPS: must be at least 1000');
    expect(message).toContain('PRIVATE_RPC_URL: only for the local chain 31337; use PRIVATE_RPC_URL_SECRET_NAME');
    expect(message).toContain('KMS_ENDPOINT: only for the local KMS stand-in on chain 31337');
  });
});

describe('oracle breaker settings', () => {
  const USDT = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
  const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

  it('defaults to one market-wide limit of 3,900 s, 3,000 bps, no per-asset limits and undated feeds allowed', () => {
    const { scanner } = loadPipelineConfig(LOCAL);
    expect(scanner).toMatchObject({ oracleMaxAgeSec: 3_900, oracleMaxAgeSecByAsset: {}, oracleMaxDeviationBps: 3_000, oracleUndatedFeeds: 'allow' });
  });

  it('reads per-asset limits keyed by lower-case address, the deviation bound and the undated-feed policy', () => {
    const { scanner } = loadPipelineConfig({
      ...LOCAL,
      ORACLE_MAX_AGE_SEC: '3600',
      ORACLE_MAX_AGE_SEC_BY_ASSET: JSON.stringify({ [USDT]: 86_700, [USDC.toLowerCase()]: 90_000 }),
      ORACLE_MAX_DEVIATION_BPS: '1500',
      ORACLE_UNDATED_FEEDS: 'block',
    });
    expect(scanner).toMatchObject({
      oracleMaxAgeSec: 3_600,
      oracleMaxAgeSecByAsset: { '0xdac17f958d2ee523a2206206994597c13d831ec7': 86_700, '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48': 90_000 },
      oracleMaxDeviationBps: 1_500,
      oracleUndatedFeeds: 'block',
    });
  });

  it.each([
    ['per-asset limits that are not JSON', '{', 'ORACLE_MAX_AGE_SEC_BY_ASSET: must be a JSON object of {"0xasset": seconds}'],
    ['per-asset limits as an array', JSON.stringify([[USDT, 86_700]]), 'ORACLE_MAX_AGE_SEC_BY_ASSET: must be a JSON object of {"0xasset": seconds}'],
    ['a key that is not an address', JSON.stringify({ USDT: 86_700 }), 'ORACLE_MAX_AGE_SEC_BY_ASSET.USDT: the key must be a 0x-prefixed 20-byte hex address'],
    ['seconds as a string', JSON.stringify({ [USDT]: '86700' }), `ORACLE_MAX_AGE_SEC_BY_ASSET.${USDT}: must be a whole number of seconds, at least 1`],
    ['zero seconds', JSON.stringify({ [USDT]: 0 }), `ORACLE_MAX_AGE_SEC_BY_ASSET.${USDT}: must be a whole number of seconds, at least 1`],
    ['fractional seconds', JSON.stringify({ [USDT]: 86_700.5 }), `ORACLE_MAX_AGE_SEC_BY_ASSET.${USDT}: must be a whole number of seconds, at least 1`],
    [
      'one asset twice, in two cases',
      `{"${USDT}": 86700, "${USDT.toLowerCase()}": 3600}`,
      `ORACLE_MAX_AGE_SEC_BY_ASSET.${USDT.toLowerCase()}: the same asset twice (addresses compare in any case)`,
    ],
  ])('refuses %s, naming the variable and the key', (_what, value, message) => {
    expect(problems({ ...LOCAL, ORACLE_MAX_AGE_SEC_BY_ASSET: value })).toContain(message);
  });

  it.each([
    ['an unknown undated-feed policy', { ORACLE_UNDATED_FEEDS: 'warn' }, 'ORACLE_UNDATED_FEEDS: must be "allow" or "block"'],
    ['a deviation bound of 0', { ORACLE_MAX_DEVIATION_BPS: '0' }, 'ORACLE_MAX_DEVIATION_BPS: must be at least 1'],
    ['a market-wide limit that is not a number', { ORACLE_MAX_AGE_SEC: '1h' }, 'ORACLE_MAX_AGE_SEC: must be a number'],
  ])('refuses %s, naming the variable', (_what, env, message) => {
    expect(problems({ ...LOCAL, ...env })).toContain(message);
  });
});

describe('the worker configuration (loadWorkerConfig)', () => {
  const WORKER_REQUIRES = ['ledger', 'nonceLeases', 'keeperState', 'idempotency', 'candidatesQueue', 'candidatesDlq', 'signer'] as const;
  const TABLES = {
    LEDGER_TABLE: 'ledger',
    NONCE_LEASES_TABLE: 'leases',
    KEEPER_STATE_TABLE: 'state',
    IDEMPOTENCY_TABLE: 'idempotency',
    CANDIDATES_QUEUE_URL: 'http://sqs/candidates.fifo',
    CANDIDATES_DLQ_URL: 'http://sqs/candidates-dlq.fifo',
  };

  it.each([
    ['local, with defaults', { ...LOCAL, ...TABLES }],
    ['production', { ...MAINNET, ...TABLES }],
    [
      'every execution setting changed',
      {
        ...LOCAL,
        ...TABLES,
        FUNDING: 'inventory',
        SIZING_STRATEGY: 'best',
        MAX_SLIPPAGE_BPS: '25',
        MAX_BATCH_SIZE: '5',
        MAX_PRICE_IMPACT_BPS: '300',
        GAS_PRICE_CAP_GWEI: '80.5',
        DAILY_GAS_BUDGET_ETH: '0.25',
        SCANNER_REENQUEUE_AFTER_BLOCKS: '40',
        BLOCK_TIME_SEC: '2',
        DRY_RUN: 'true',
        BATCH_BOUNDS_FROM_PENDING: 'true',
      },
    ],
  ])('equals the full configuration without the scanner and indexer settings: %s', (_case, env) => {
    const { indexer, scanner, ...full } = loadPipelineConfig(env, WORKER_REQUIRES);
    const worker = loadWorkerConfig(env, WORKER_REQUIRES);

    expect(indexer).toBeDefined();
    expect(worker).toEqual({ ...full, scanner: { reenqueueAfterBlocks: scanner.reenqueueAfterBlocks } });
  });

  it.each([
    ['slippage above half', { MAX_SLIPPAGE_BPS: '6000' }, 'MAX_SLIPPAGE_BPS: must be at most 5000'],
    ['a local key on mainnet', { CHAIN_ID: '1' }, 'SIGNER_MODE: "local" signs with a key from the environment: only on the local chain'],
    ['an enqueue mark of 0 blocks', { SCANNER_REENQUEUE_AFTER_BLOCKS: '0' }, 'SCANNER_REENQUEUE_AFTER_BLOCKS: must be at least 1'],
    ['a missing quoter', { SWAP_QUOTER_ADDRESS: undefined }, 'SWAP_QUOTER_ADDRESS: required with a signer'],
  ])('refuses %s as the full configuration does, naming the variable', (_case, change, message) => {
    const env = Object.fromEntries(Object.entries({ ...LOCAL, ...TABLES, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const refusal = (load: () => unknown) => {
      try {
        load();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected the configuration to be refused');
    };

    const worker = refusal(() => loadWorkerConfig(env, WORKER_REQUIRES));
    expect(worker).toContain(message);
    expect(worker).toBe(refusal(() => loadPipelineConfig(env, WORKER_REQUIRES)));
  });

  it('names a missing table the worker needs', () => {
    expect(() => loadWorkerConfig({ ...LOCAL, ...TABLES, LEDGER_TABLE: '' }, WORKER_REQUIRES)).toThrow('LEDGER_TABLE: required by this function');
  });

  it('leaves the scanner settings to the scanner: a bad one fails the full configuration, not the worker', () => {
    const env = { ...LOCAL, ...TABLES, SCANNER_CHUNK_SIZE: 'many' };

    expect(() => loadPipelineConfig(env, WORKER_REQUIRES)).toThrow('SCANNER_CHUNK_SIZE: must be a number');
    expect(loadWorkerConfig(env, WORKER_REQUIRES).worker.maxBatchSize).toBe(10);
  });
});
