/**
 * The AWS deployment and the local runtime give the functions the same configuration contract: the variables
 * naming tables and queues are the same (lib/resources.ts), every function's deployed environment passes its own
 * start-up validation (functions/config/pipeline-config.ts, with the requirements its handler declares), and the
 * deployment config's defaults are the functions' defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ConfigRequirement, loadPipelineConfig, loadWorkerConfig } from '../../functions/config/pipeline-config';
import { PIPELINE_FUNCTIONS, type PipelineFunctionName } from '../../lib/pipeline-functions';
import { QUEUES, type QueueName, TABLES, type TableName } from '../../lib/resources';
import { localPipelineEnv } from '../../local/runtime/pipeline-env';
import type { WorldInfo } from '../../local/world/world';
import { CONFIG, deployedEnvironment, PROJECT_ROOT, synthesizeKeeper } from './keeper-synth';

const keeper = synthesizeKeeper(CONFIG);
const names = Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[];
const RESOURCE_VARIABLES = new Set<string>([...Object.values(TABLES).map((t) => t.envVar), ...Object.values(QUEUES).map((q) => q.envVar)]);
const resourceVariables = (env: Record<string, string>) => Object.keys(env).filter((v) => RESOURCE_VARIABLES.has(v)).sort();

/** A world as `npm run world` describes it: only what localPipelineEnv reads. */
const LOCAL_WORLD = {
  chainId: '31337',
  rpcUrl: 'http://127.0.0.1:8545',
  market: { pool: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2', version: 'v3.6' },
  tokens: { WETH: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', USDC: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', WBTC: '0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599' },
  liquidatorContract: '0x663F3ad617193148711d28f5334eE4Ed07016602',
  dex: {
    quoter: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e',
    swapRouter: '0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45',
    pools: [
      { token0: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', token1: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', fee: 500 },
      { token0: '0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599', token1: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', fee: 3000 },
    ],
  },
  dynamodb: {
    endpoint: 'http://127.0.0.1:8000',
    tables: Object.fromEntries(Object.entries(TABLES).map(([key, def]) => [key, `local-${def.id}`])) as Record<TableName, string>,
  },
  sqs: {
    endpoint: 'http://127.0.0.1:9324',
    queues: Object.fromEntries(Object.keys(QUEUES).map((key) => [key, `http://sqs.us-east-1.localhost:9324/000000000000/${key}`])) as Record<QueueName, string>,
  },
} as unknown as WorldInfo;

/**
 * The loader a handler calls (loadPipelineConfig, or the worker's loadWorkerConfig) and the requirements it passes:
 * an array literal, or a constant declared in the same file (`TRIGGER_REQUIREMENTS`).
 */
function configCallOf(name: PipelineFunctionName): { load: typeof loadPipelineConfig | typeof loadWorkerConfig; requirements: ConfigRequirement[] } {
  const source = readFileSync(join(PROJECT_ROOT, PIPELINE_FUNCTIONS[name].entry), 'utf8');
  const call = /(loadPipelineConfig|loadWorkerConfig)\(\s*env\s*,\s*(\[[^\]]*\]|[A-Z_][A-Z0-9_]*)\s*\)/.exec(source);
  if (!call) throw new Error(`${PIPELINE_FUNCTIONS[name].entry} does not call loadPipelineConfig(env, requirements) or loadWorkerConfig(env, requirements)`);
  const list = call[2].startsWith('[') ? call[2] : new RegExp(`const ${call[2]}\\b[^=]*=\\s*(\\[[^\\]]*\\])`).exec(source)?.[1];
  if (!list) throw new Error(`cannot resolve ${call[2]} in ${PIPELINE_FUNCTIONS[name].entry}`);
  return { load: call[1] === 'loadWorkerConfig' ? loadWorkerConfig : loadPipelineConfig, requirements: [...list.matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1] as ConfigRequirement) };
}

const requirementsOf = (name: PipelineFunctionName): ConfigRequirement[] => configCallOf(name).requirements;

describe('swap venue: the local runtime', () => {
  it('tries every pool fee tier of the world and routes the other assets through WETH', () => {
    const { worker } = loadPipelineConfig(localPipelineEnv(LOCAL_WORLD));
    const [weth, usdc, wbtc] = [LOCAL_WORLD.tokens.WETH, LOCAL_WORLD.tokens.USDC, LOCAL_WORLD.tokens.WBTC];

    expect(worker.swap.feeTiers).toEqual([500, 3000]);
    expect(worker.swap.routes).toEqual([
      { tokens: [usdc, weth, wbtc], fees: [500, 3000] },
      { tokens: [wbtc, weth, usdc], fees: [3000, 500] },
    ]);
    expect(worker.liquidator).toEqual({ address: LOCAL_WORLD.liquidatorContract });
  });
});

describe('table and queue variables: AWS and the local runtime', () => {
  const local = localPipelineEnv(LOCAL_WORLD);

  it('the local runtime gives every function every table and queue; on AWS their union is the same set', () => {
    const deployedUnion = new Set(names.flatMap((name) => resourceVariables(deployedEnvironment(keeper, name))));

    expect(resourceVariables(local)).toEqual([...RESOURCE_VARIABLES].sort());
    expect([...deployedUnion].sort()).toEqual(resourceVariables(local));
  });

  it.each(names)('%s: on AWS a subset of the local set, holding everything its handler requires', (name) => {
    const deployed = resourceVariables(deployedEnvironment(keeper, name));
    const required = requirementsOf(name).flatMap((r) => {
      const table = TABLES[r as TableName];
      if (table) return [table.envVar];
      if (r === 'candidatesQueue') return [QUEUES.candidates.envVar];
      if (r === 'candidatesDlq') return [QUEUES.candidatesDlq.envVar];
      return [];
    });

    expect(resourceVariables(local)).toEqual(expect.arrayContaining(deployed));
    expect(deployed).toEqual(expect.arrayContaining(required));
  });
});

describe('the deployed environment passes the functions\' own validation', () => {
  it.each(names)('%s', (name) => {
    const { load, requirements } = configCallOf(name);

    const config = load(deployedEnvironment(keeper, name), requirements);

    expect(config).toMatchObject({ chainId: 1, marketName: CONFIG.name, pool: CONFIG.market.pool, rpc: { secretName: CONFIG.rpcUrlSecretName } });
    if (PIPELINE_FUNCTIONS[name].sends) expect(config.worker.signer).toEqual({ mode: 'kms', keyIds: [expect.stringMatching(/^arn:aws:kms:/)] });
  });

  it('carries the execution-safety settings to the worker as the functions read them', () => {
    const strict = synthesizeKeeper({
      ...CONFIG,
      name: 'strict-keeper',
      execution: { ...CONFIG.execution, gasPriceCapGwei: 42.5, dailyGasBudgetEth: 0.25, revertStreakLimit: 2, minProfitUsd: 12.5, maxPendingPerSigner: 8, dryRun: true, batchBoundsFromPending: true },
    });

    const { worker } = loadWorkerConfig(deployedEnvironment(strict, 'worker'), requirementsOf('worker'));

    expect(worker.fees.gasPriceCapWei).toBe(42_500_000_000n);
    expect(worker.breakers).toMatchObject({ revertStreakLimit: 2, dailyGasBudgetWei: 250_000_000_000_000_000n });
    expect(worker.minProfitBase).toBe(1_250_000_000n);
    expect(worker.maxPendingPerSigner).toBe(8);
    expect(worker.dryRun).toBe(true);
    expect(worker.batchBoundsFromPending).toBe(true);
    expect(worker.funding).toBe('flash-loan');
    expect(worker.liquidator).toEqual({ parameterName: '/strict-keeper/liquidator-address' });
    expect(worker.swap).toMatchObject({ quoter: CONFIG.market.dex.quoterV2, router: CONFIG.market.dex.swapRouter02 });
  });

  it('the worker\'s maxReceiveCount is the candidates queue\'s redrive maxReceiveCount, on AWS and locally', () => {
    const redrives = Object.values(keeper.pipelineTemplate.findResources('AWS::SQS::Queue'))
      .map((queue) => (queue as { Properties: { RedrivePolicy?: { maxReceiveCount: number } } }).Properties.RedrivePolicy)
      .filter((policy) => policy !== undefined);
    expect(redrives).toHaveLength(1);

    const deployed = loadWorkerConfig(deployedEnvironment(keeper, 'worker'), requirementsOf('worker'));
    const local = loadPipelineConfig(localPipelineEnv(LOCAL_WORLD));

    expect(deployed.worker.maxReceiveCount).toBe(redrives[0]!.maxReceiveCount);
    expect(local.worker.maxReceiveCount).toBe(redrives[0]!.maxReceiveCount);
  });

  it('the deployment config\'s defaults are the functions\' defaults', () => {
    const deployed = deployedEnvironment(keeper, 'worker');
    const withoutSettings = Object.fromEntries(
      Object.entries(deployed).filter(
        ([v]) =>
          ![
            'SIZING_STRATEGY',
            'MIN_PROFIT_USD',
            'REVERT_STREAK_LIMIT',
            'REVERT_COOLDOWN_SEC',
            'REPLACE_AFTER_SEC',
            'MAX_REPLACEMENTS',
            'FEE_BUMP_BPS',
            'DRY_RUN',
            'BATCH_BOUNDS_FROM_PENDING',
            'FUNDING',
            'MAX_SLIPPAGE_BPS',
            'SWAP_FEE_TIERS',
          ].includes(v),
      ),
    );

    expect(loadPipelineConfig(deployed).worker).toEqual(loadPipelineConfig(withoutSettings).worker);
  });

  it('the deployment config\'s indexer window defaults are the functions\' defaults', () => {
    const deployed = deployedEnvironment(keeper, 'indexer');
    const withoutSettings = Object.fromEntries(Object.entries(deployed).filter(([v]) => !['INDEXER_LOG_WINDOW', 'INDEXER_LOG_WINDOW_GROWTH_AFTER'].includes(v)));

    expect(loadPipelineConfig(deployed).indexer).toEqual(loadPipelineConfig(withoutSettings).indexer);
  });
});
