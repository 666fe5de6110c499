/**
 * The environment the pipeline's functions get when they run against a local world: the same variables the
 * CDK pipeline stack sets on AWS (lib/resources.ts names the table and queue variables), with local endpoints,
 * the local chain's RPC URL and a local signing key (accepted only on chain 31337).
 */
import { deadLetterOf, QUEUES, TABLES } from '../../lib/resources';
import { LOCAL_LIQUIDATOR_KEYS } from '../world/seed';
import type { WorldInfo } from '../world/world';

/** The world's liquidator accounts (WorldInfo.accounts.liquidators): at most this many keys sign locally. */
export const MAX_LOCAL_SIGNERS = LOCAL_LIQUIDATOR_KEYS.length;
export type LocalSignerCount = 1 | 2 | 3 | 4;

export interface LocalPipelineOptions {
  /** Which liquidator account signs alone (0–3); ignored when `signers` is more than 1. */
  signerIndex?: 0 | 1 | 2 | 3;
  /** How many liquidator accounts sign, in turn: the first `signers` of the world's four (default 1). */
  signers?: LocalSignerCount;
  /** Candidates a worker invocation sends as one batch transaction (MAX_BATCH_SIZE, default 10). */
  maxBatchSize?: number;
  sizing?: 'max' | 'target-health' | 'two-step' | 'best';
  /** How the liquidator contract pays (default flash-loan). */
  funding?: 'flash-loan' | 'inventory';
  dryRun?: boolean;
  /** Extra or overriding variables (e.g. scanner timings for tests). */
  overrides?: Record<string, string>;
}

/** Where `withdraw` sends the contract's profit locally: anvil dev account 7, which nothing else uses. */
export const LOCAL_OPERATOR_TREASURY = '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955';

/** Two-hop routes collateral → WETH → debt over the world's pools, for every ordered pair of the other assets. */
function routesThroughWeth(info: WorldInfo): { tokens: string[]; fees: number[] }[] {
  const weth = info.tokens.WETH;
  if (!weth) return [];
  const feeTo = (token: string) =>
    info.dex.pools.find((p) => [p.token0, p.token1].map((t) => t.toLowerCase()).sort().join() === [token, weth].map((t) => t.toLowerCase()).sort().join())?.fee;
  const others = Object.values(info.tokens).filter((token) => token !== weth);
  return others.flatMap((from) =>
    others.flatMap((to) => {
      const [first, second] = [feeTo(from), feeTo(to)];
      return from === to || first === undefined || second === undefined ? [] : [{ tokens: [from, weth, to], fees: [first, second] }];
    }),
  );
}

function signerKeys(options: LocalPipelineOptions): string[] {
  const count = options.signers ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_LOCAL_SIGNERS) {
    throw new Error(`signers: ${count} — the local world has ${MAX_LOCAL_SIGNERS} liquidator accounts (1 to ${MAX_LOCAL_SIGNERS})`);
  }
  return count === 1 ? [LOCAL_LIQUIDATOR_KEYS[options.signerIndex ?? 0]] : LOCAL_LIQUIDATOR_KEYS.slice(0, count);
}

export function localPipelineEnv(info: WorldInfo, options: LocalPipelineOptions = {}): Record<string, string> {
  if (!info.dynamodb || !info.sqs) throw new Error('the world was started without DynamoDB Local and fauxqs (services: false)');
  const env: Record<string, string> = {
    CHAIN_ID: info.chainId,
    MARKET_NAME: 'local',
    POOL_ADDRESS: info.market.pool,
    AAVE_POOL_VERSION: info.market.version === 'v3.6' ? '3.6' : '3.0.2',
    // As a preset fills them on a real chain: each function checks them against the Pool at start-up.
    ADDRESSES_PROVIDER_ADDRESS: info.market.poolAddressesProvider,
    PRICE_ORACLE_ADDRESS: info.market.aaveOracle,
    DATA_PROVIDER_ADDRESS: info.market.protocolDataProvider,
    RPC_URL: info.rpcUrl,
    DYNAMODB_ENDPOINT: info.dynamodb.endpoint,
    SQS_ENDPOINT: info.sqs.endpoint,
    SIGNER_MODE: 'local',
    NATIVE_PRICE_ASSET: info.tokens.WETH,
    SIGNER_PRIVATE_KEY: signerKeys(options).join(','),
    SIZING_STRATEGY: options.sizing ?? 'max',
    // Capital-free execution through the world's liquidator contract, priced on its Uniswap pools.
    FUNDING: options.funding ?? 'flash-loan',
    LIQUIDATOR_ADDRESS: info.liquidatorContract,
    SWAP_QUOTER_ADDRESS: info.dex.quoter,
    SWAP_ROUTER_ADDRESS: info.dex.swapRouter,
    TREASURY_ADDRESS: LOCAL_OPERATOR_TREASURY,
    // The world's pools: direct at their fee tier, and every pair of the other assets also through WETH.
    SWAP_FEE_TIERS: [...new Set(info.dex.pools.map((pool) => pool.fee))].sort((a, b) => a - b).join(','),
    SWAP_ROUTES: JSON.stringify(routesThroughWeth(info)),
    MAX_BATCH_SIZE: String(options.maxBatchSize ?? 10),
    DRY_RUN: options.dryRun ? 'true' : 'false',
    // The world seeds up to 250 positions per block (local/world/seed.ts POSITIONS_PER_TX), far denser than any
    // real market: with the default 2,000-block window the indexer's first window would hold all 10,000 borrowers
    // of `large` or `mass`, ~50 s of conditional writes to DynamoDB Local that cannot stop at the invocation's
    // deadline. Four blocks (≤ 1,000 borrowers, a few seconds) let a run end between windows in time.
    INDEXER_LOG_WINDOW: '4',
    // Local blocks come every 0-2 s: follow them closely.
    SCANNER_POLL_INTERVAL_MS: '200',
    SCANNER_DEADLINE_MARGIN_MS: '2000',
    // A candidate due at a later block (the rest of a chunk) waits this long per block; automine (0) counts 1 s.
    BLOCK_TIME_SEC: String(Math.max(1, info.blockTimeSec ?? 0)),
    // Powertools: local runs print metrics as EMF lines only when asked; keep the terminal readable.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
  for (const [key, def] of Object.entries(TABLES)) env[def.envVar] = info.dynamodb.tables[key as keyof typeof TABLES];
  for (const [key, def] of Object.entries(QUEUES)) env[def.envVar] = info.sqs.queues[key as keyof typeof QUEUES];
  env.CANDIDATES_MAX_RECEIVE_COUNT = String(deadLetterOf('candidates')!.maxReceiveCount);
  return { ...env, ...options.overrides };
}
