/**
 * The pipeline's configuration, read once from the environment at start-up, validated, and typed. A bad or
 * missing value fails the function's start with a message naming the variable. Secrets travel by name
 * (RPC_URL_SECRET_NAME, KMS_KEY_ID); a raw RPC URL or private key is accepted only for a local chain.
 *
 * The CDK pipeline stack and the local runtime set these variables; table and queue names come from
 * lib/resources.ts (`envVar` of each definition).
 */
import * as z from '../zod';
import type { PoolVersionProfile, RuleSet } from '../domain';
import { lookUpPoolVersion, poolVersionProfile, SUPPORTED_POOL_VERSIONS_TEXT } from '../domain';
import { DEFAULT_CAPTURE_LOOKBACK_BLOCKS } from '../pipeline/record-liquidations';
import { DEFAULT_LOG_WINDOW_GROWTH_AFTER } from '../pipeline/index-borrowers';

/** anvil / hardhat chain id: the only chain where a raw private key or RPC URL in the environment is accepted. */
export const LOCAL_CHAIN_ID = 31337;

const address = z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address'));
const int = (min: number) => z.coerce.number({ error: 'must be a number' }).check(z.int('must be a whole number'), z.gte(min, `must be at least ${min}`));
const optionalUrl = z.optional(z.string().check(z.url('must be a URL')));

const swapRoutesSchema = z.array(
  z
    .strictObject({
      tokens: z.array(address).check(z.minLength(2, 'a route needs at least two tokens')),
      fees: z.array(z.number().check(z.int('must be a whole number'), z.gte(1), z.lte(1_000_000))),
    }, { error: 'must be {"tokens": [...], "fees": [...]}' })
    .check(z.refine((r) => r.fees.length === r.tokens.length - 1, 'needs one fee fewer than tokens')),
  { error: 'must be a JSON array of routes' },
);

/**
 * ORACLE_MAX_AGE_SEC_BY_ASSET: `{"0xasset": seconds}`, an asset's own staleness limit, keyed here by lower-case
 * address (an asset may appear once, in whatever case). Checked by hand: `z.record` alone would add ~3.7 kB to every
 * bundle, and the worker's is held to lib/bundling.ts WORKER_BUNDLE_BUDGET_BYTES.
 */
function readMaxAgeByAsset(text: string): { limits: Record<string, number> } | { path: string[]; message: string } {
  const value = parseJsonOrUndefined(text);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { path: [], message: 'must be a JSON object of {"0xasset": seconds}' };
  const limits: Record<string, number> = {};
  for (const [asset, sec] of Object.entries(value)) {
    const message = !/^0x[0-9a-fA-F]{40}$/.test(asset)
      ? 'the key must be a 0x-prefixed 20-byte hex address'
      : !Number.isInteger(sec) || sec < 1
        ? 'must be a whole number of seconds, at least 1'
        : asset.toLowerCase() in limits
          ? 'the same asset twice (addresses compare in any case)'
          : undefined;
    if (message) return { path: [asset], message };
    limits[asset.toLowerCase()] = sec;
  }
  return { limits };
}

/**
 * The schemas are built by functions, not at module load: the worker's bundle then keeps only the fields it parses
 * (loadWorkerConfig), not the scanner's and indexer's (lib/bundling.ts WORKER_BUNDLE_BUDGET_BYTES).
 */
function baseFields() {
  return {
    CHAIN_ID: int(1),
    MARKET_NAME: z.string().check(z.regex(/^[a-z0-9-]{1,32}$/, 'must be 1-32 characters of a-z, 0-9 and -')),
    POOL_ADDRESS: address,
    /** Deployed Pool version, e.g. 3.0.2 or 3.6: one of the table in functions/domain/pool-versions.ts. */
    AAVE_POOL_VERSION: z
      .string()
      .check(z.refine((version) => lookUpPoolVersion(version).kind === 'supported', `must be a supported Aave V3 Pool version: ${SUPPORTED_POOL_VERSIONS_TEXT}`)),
    /** The market's contracts as the deployment config (or its address-book preset) names them: checked at start-up against the Pool. */
    ADDRESSES_PROVIDER_ADDRESS: z.optional(address),
    PRICE_ORACLE_ADDRESS: z.optional(address),
    DATA_PROVIDER_ADDRESS: z.optional(address),
    RPC_URL: optionalUrl,
    RPC_URL_SECRET_NAME: z.optional(z.string().check(z.minLength(1))),
    /** A private submission endpoint (Flashbots-Protect style): transactions go there first, the public RPC on its failure. */
    PRIVATE_RPC_URL: optionalUrl,
    PRIVATE_RPC_URL_SECRET_NAME: z.optional(z.string().check(z.minLength(1))),
    /**
     * A bundle relay (Flashbots `eth_sendBundle`): a liquidation following a pending oracle update goes to it as
     * `[update, liquidation]`. Its auth key signs requests only (identity, no funds): BUNDLE_RELAY_AUTH_KEY on the
     * local chain, BUNDLE_RELAY_AUTH_KEY_SECRET_NAME (Secrets Manager) elsewhere.
     */
    BUNDLE_RELAY_URL: optionalUrl,
    BUNDLE_RELAY_AUTH_KEY: z.optional(z.string().check(z.regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be a 32-byte hex private key'))),
    BUNDLE_RELAY_AUTH_KEY_SECRET_NAME: z.optional(z.string().check(z.minLength(1))),

    BORROWERS_TABLE: z.optional(z.string().check(z.minLength(1))),
    SNAPSHOTS_TABLE: z.optional(z.string().check(z.minLength(1))),
    LEDGER_TABLE: z.optional(z.string().check(z.minLength(1))),
    KEEPER_STATE_TABLE: z.optional(z.string().check(z.minLength(1))),
    NONCE_LEASES_TABLE: z.optional(z.string().check(z.minLength(1))),
    IDEMPOTENCY_TABLE: z.optional(z.string().check(z.minLength(1))),
    CANDIDATES_QUEUE_URL: z.optional(z.string().check(z.minLength(1))),
    CANDIDATES_DLQ_URL: z.optional(z.string().check(z.minLength(1))),
    /** Local emulators only; unset on AWS. */
    DYNAMODB_ENDPOINT: optionalUrl,
    SQS_ENDPOINT: optionalUrl,
    /** The local KMS stand-in (local/kms-standin); local chain only. */
    KMS_ENDPOINT: optionalUrl,

    /**
     * Blocks an enqueue mark holds when no worker clears it. The worker clears it when done with the candidate and
     * the scanner then enqueues again at the next block; only a message dead-lettered or lost never clears it.
     * Covers a backlog's queue wait (150 blocks: 5 min at 2 s, 30 min at 12 s).
     */
    SCANNER_REENQUEUE_AFTER_BLOCKS: z._default(int(1), 150),
    /**
     * The candidates queue's maxReceiveCount (lib/resources.ts, set by the stack): a record failing on its last
     * delivery goes to the DLQ, so the worker clears its enqueue mark and the scanner offers the borrower again.
     */
    CANDIDATES_MAX_RECEIVE_COUNT: z._default(int(1), 5),
    // The chain's block time (s): how long a candidate due at a later block (the rest of a chunk) waits per block.
    BLOCK_TIME_SEC: z._default(z.coerce.number({ error: 'must be a number' }).check(z.positive('must be more than 0'), z.lte(600, 'must be at most 600')), 12),
    SIGNER_MODE: z.optional(z.enum(['local', 'kms'], { error: 'must be "local" or "kms"' })),
    /** One key, or several separated by commas (each signs in turn). */
    SIGNER_PRIVATE_KEY: z.optional(
      z.string().check(z.regex(/^0x[0-9a-fA-F]{64}(,0x[0-9a-fA-F]{64})*$/, 'must be 0x-prefixed 32-byte hex keys, separated by commas')),
    ),
    /** One KMS key id / ARN / alias, or several separated by commas. */
    KMS_KEY_ID: z.optional(z.string().check(z.minLength(1))),
    /** Reserve (wrapped native token) whose oracle price converts gas cost into the base currency. */
    NATIVE_PRICE_ASSET: z.optional(address),
    /** `best`: max, target-health, two-step (and a chunk within MAX_PRICE_IMPACT_BPS) quoted at the read block, the most profitable sent. */
    SIZING_STRATEGY: z._default(z.enum(['max', 'target-health', 'two-step', 'best'], { error: 'must be max, target-health or two-step (one strategy), or best (all compared)' }), 'max'),
    TARGET_HEALTH_FACTOR: z._default(z.coerce.number().check(z.gte(1, 'must be at least 1'), z.lte(2, 'must be at most 2')), 1.05),
    MIN_PROFIT_USD: z._default(z.coerce.number().check(z.gte(0, 'must be at least 0')), 0),
    /**
     * Swap cost allowance (bps of the collateral's oracle value) used to rank pairs before they are quoted; the
     * plan that is sent is priced with a real quote (SWAP_QUOTER_ADDRESS).
     */
    SWAP_COST_BPS: z._default(int(0), 30),
    /** How liquidations are paid for: a flash loan from the market's Pool, or the liquidator contract's own stock. */
    FUNDING: z._default(z.enum(['flash-loan', 'inventory'], { error: 'must be "flash-loan" or "inventory"' }), 'flash-loan'),
    /** Our liquidator contract (contracts/src/Liquidator.sol), when its address is known at deployment. */
    LIQUIDATOR_ADDRESS: z.optional(address),
    /** SSM parameter holding the liquidator contract's address (written by the trigger's deploy-liquidator). */
    LIQUIDATOR_ADDRESS_PARAMETER: z.optional(z.string().check(z.regex(/^\/[A-Za-z0-9_./-]{1,1010}$/, 'must be an SSM parameter name starting with /'))),
    /** Uniswap V3 QuoterV2 (quotes the sale of the seized collateral, pinned to the plan's block). */
    SWAP_QUOTER_ADDRESS: z.optional(address),
    /** Uniswap SwapRouter02 (the liquidator contract swaps through it; needed to deploy the contract). */
    SWAP_ROUTER_ADDRESS: z.optional(address),
    /** Direct pools tried for a pair without a route in SWAP_ROUTES (Uniswap fee units). */
    SWAP_FEE_TIERS: z._default(
      z.string().check(z.regex(/^(100|500|3000|10000)(,(100|500|3000|10000))*$/, 'must be Uniswap V3 fee tiers (100, 500, 3000, 10000) separated by commas')),
      '100,500,3000,10000',
    ),
    /** Explicit routes, JSON: [{"tokens":["0xcollateral",…,"0xdebt"],"fees":[500,…]}]. */
    SWAP_ROUTES: z.optional(z.string()),
    /**
     * amountOutMinimum = quoted output × (1 − this), bps. It must cover the keeper's own other liquidations that
     * sell into the same pool in the blocks between the quote and this one (a crash brings many); the contract's
     * profit guard still refuses any call that would not pay its gas.
     */
    /** The bound of a liquidation that follows a pending oracle update into its block (execute-candidate.ts followerSlippageBps). */
    FOLLOWER_SLIPPAGE_BPS: z._default(int(0).check(z.lte(5_000, 'must be at most 5000')), 500),
    MAX_SLIPPAGE_BPS: z._default(int(0).check(z.lte(5_000, 'must be at most 5000')), 100),
    // Candidates of one worker invocation sent as one liquidateBatch transaction (1: one transaction each).
    MAX_BATCH_SIZE: z._default(int(1).check(z.lte(20, 'must be at most 20')), 10),
    // Largest price impact (bps) one liquidation's swap may cause; a larger one is liquidated in chunks. Unset: no limit.
    MAX_PRICE_IMPACT_BPS: z.optional(int(1).check(z.lte(10_000, 'must be at most 10000'))),
    /** Where the trigger's `withdraw` sends the contract's profit. */
    TREASURY_ADDRESS: z.optional(address),
    GAS_HEADROOM_BPS: z._default(int(10_000), 12_500),
    /** No receipt this long after a broadcast → replace the transaction by nonce with a fee bump. */
    REPLACE_AFTER_SEC: z._default(z.coerce.number().check(z.positive('must be above 0')), 24),
    MAX_REPLACEMENTS: z._default(int(0), 3),
    /** Fee bump per replacement (bps); nodes refuse less than +10 %. */
    FEE_BUMP_BPS: z._default(int(1_000), 1_250),
    /** Never offer more gas price than this; above it execution pauses. Unset: no cap. */
    GAS_PRICE_CAP_GWEI: z.optional(z.coerce.number().check(z.positive('must be above 0'))),
    /** Gas the signers may spend per UTC day (native token, e.g. 0.5 ETH); reaching it pauses execution. Unset: no budget. */
    DAILY_GAS_BUDGET_ETH: z.optional(z.coerce.number().check(z.positive('must be above 0'))),
    /** This many consecutive reverted liquidations pause execution for REVERT_COOLDOWN_SEC. */
    REVERT_STREAK_LIMIT: z._default(int(1), 3),
    REVERT_COOLDOWN_SEC: z._default(int(1), 900),
    /** A leased nonce not signed within this time is taken over by the next allocation. */
    NONCE_LEASE_SEC: z._default(int(5), 60),
    /** Transactions one signer may have pending at once; unset = no limit (functions/pipeline/execute-candidate.ts). */
    MAX_PENDING_PER_SIGNER: z.optional(int(1)),
    /**
     * Batches are also simulated on the node's pending block, and each swap's bound allows for the sales waiting
     * there (the keeper's other batches among them): more accounts land in a crash, at a lower price each
     * (BENCHMARKS.md). Off by default.
     */
    BATCH_BOUNDS_FROM_PENDING: z._default(z.enum(['true', 'false'], { error: 'must be true or false' }), 'false'),
    /** Plan and simulate, never send. */
    DRY_RUN: z._default(z.enum(['true', 'false']), 'false'),
  };
}

/** The scanner's and indexer's own settings: only their functions (and the trigger, which scans) read them. */
function scannerFields() {
  return {
    INDEXER_START_BLOCK: z._default(int(0), 0),
    /** Largest eth_getLogs window in blocks; halved on the provider's refusals down to 1, doubled back after successes. */
    INDEXER_LOG_WINDOW: z._default(int(1), 2_000),
    /** Windows in a row that must go through before the window doubles again (functions/pipeline/index-borrowers.ts). */
    INDEXER_LOG_WINDOW_GROWTH_AFTER: z._default(int(1), DEFAULT_LOG_WINDOW_GROWTH_AFTER),
    /** Blocks re-read on every run, so a reorg shallower than this is repaired. */
    INDEXER_REORG_DEPTH: z._default(int(0), 12),
    /**
     * Liquidations and deficits at most this many blocks below the head are recorded and valued at their block's
     * oracle price (functions/pipeline/record-liquidations.ts). A full node keeps recent state only (geth: 128
     * blocks); with an archive endpoint it may be raised to cover a longer indexer outage.
     */
    INDEXER_CAPTURE_LOOKBACK_BLOCKS: z._default(int(1), DEFAULT_CAPTURE_LOOKBACK_BLOCKS),

    /** Stop following blocks this long before the invocation's deadline. */
    SCANNER_DEADLINE_MARGIN_MS: z._default(int(1_000), 10_000),
    SCANNER_POLL_INTERVAL_MS: z._default(int(50), 500),
    SCANNER_CHUNK_SIZE: z._default(int(1), 500),
    /**
     * The chain's block time (ms) when it is regular: the head is then polled around the time the next block is
     * due instead of every SCANNER_POLL_INTERVAL_MS (pacing stops by itself if blocks come faster). Unset: no pacing.
     */
    SCANNER_BLOCK_TIME_MS: z.optional(int(100).check(z.lte(600_000, 'must be at most 600000'))),
    /**
     * Follow blocks at most this long per invocation: the schedule's period and a few seconds, so the next
     * invocation takes over without a gap while two overlap only briefly (each reads the head, the oracle and the
     * change log at every block). The function's timeout stays longer, for a slow last block and the final write.
     * Unset: until SCANNER_DEADLINE_MARGIN_MS before the timeout.
     */
    SCANNER_FOLLOW_SEC: z.optional(int(1)),
    /**
     * `changes`: an account is read when its position, a price or a risk parameter it depends on changed, or its
     * interest may have taken it near 1 (functions/domain/read-policy.ts); `every-block`: every account at every block.
     */
    SCANNER_READ_MODE: z._default(z.enum(['changes', 'every-block'], { error: 'must be changes or every-block' }), 'changes'),
    /** Change-driven reads: every account is read at least this often (seconds of block time). */
    SCANNER_MAX_READ_INTERVAL_SEC: z._default(int(1), 3_600),
    /** Change-driven reads: an account whose health may be below 1 + this (bps) is read. */
    SCANNER_READ_MARGIN_BPS: z._default(int(0).check(z.lte(9_999, 'must be at most 9999')), 50),
    /** Change-driven reads: the floor of the borrow-rate bound for interest (bps a year). */
    SCANNER_ASSUMED_BORROW_RATE_BPS: z._default(int(0), 10_000),
    /** Change-driven reads: a longer pause between two handled blocks forgets every reading instead of asking for its logs. */
    SCANNER_MAX_GAP_BLOCKS: z._default(int(1), 1_000),
    SNAPSHOT_RETENTION_SEC: z._default(int(60), 7 * 24 * 3600),
    /** A price older than this is stale (heartbeat + margin). */
    ORACLE_MAX_AGE_SEC: z._default(int(1), 3_900),
    /** An asset's own limit, replacing ORACLE_MAX_AGE_SEC (a 24 h stablecoin feed: 86,700): JSON `{"0xasset": seconds}`. */
    ORACLE_MAX_AGE_SEC_BY_ASSET: z.optional(z.string()),
    /** A price moving more than this between two consecutive reads is suspect (bps). */
    ORACLE_MAX_DEVIATION_BPS: z._default(int(1), 3_000),
    /** A source without latestRoundData (an adapter): `allow` checks its price only, `block` holds its breaker open. */
    ORACLE_UNDATED_FEEDS: z._default(z.enum(['allow', 'block'], { error: 'must be "allow" or "block"' }), 'allow'),
    /**
     * The oracle-update path: the scanner watches the mempool for price updates of the market's feeds between
     * blocks and enqueues the accounts an update will make liquidatable before it lands. Only where the node shows
     * pending transactions (an L1 public mempool); no pacing of head polls then.
     */
    SCANNER_FOLLOW_PENDING_UPDATES: z._default(z.enum(['true', 'false']), 'false'),
  };
}

type BaseEnv = z.output<z.ZodMiniObject<ReturnType<typeof baseFields>>>;

/** Rules across fields of the base settings. */
function checkBase(env: BaseEnv, ctx: z.core.$RefinementCtx<BaseEnv>): void {
  if (!env.RPC_URL === !env.RPC_URL_SECRET_NAME) {
    ctx.addIssue({ code: 'custom', path: ['RPC_URL_SECRET_NAME'], message: 'set exactly one of RPC_URL (local chain only) and RPC_URL_SECRET_NAME' });
  }
  if (env.PRIVATE_RPC_URL && env.PRIVATE_RPC_URL_SECRET_NAME) {
    ctx.addIssue({ code: 'custom', path: ['PRIVATE_RPC_URL_SECRET_NAME'], message: 'set at most one of PRIVATE_RPC_URL (local chain only) and PRIVATE_RPC_URL_SECRET_NAME' });
  }
  if (env.PRIVATE_RPC_URL && env.CHAIN_ID !== LOCAL_CHAIN_ID) {
    ctx.addIssue({ code: 'custom', path: ['PRIVATE_RPC_URL'], message: `only for the local chain ${LOCAL_CHAIN_ID}; use PRIVATE_RPC_URL_SECRET_NAME` });
  }
  if (env.BUNDLE_RELAY_URL && !env.BUNDLE_RELAY_AUTH_KEY === !env.BUNDLE_RELAY_AUTH_KEY_SECRET_NAME) {
    ctx.addIssue({ code: 'custom', path: ['BUNDLE_RELAY_AUTH_KEY_SECRET_NAME'], message: 'with BUNDLE_RELAY_URL, set exactly one of BUNDLE_RELAY_AUTH_KEY (local chain only) and BUNDLE_RELAY_AUTH_KEY_SECRET_NAME' });
  }
  if (env.BUNDLE_RELAY_AUTH_KEY && env.CHAIN_ID !== LOCAL_CHAIN_ID) {
    ctx.addIssue({ code: 'custom', path: ['BUNDLE_RELAY_AUTH_KEY'], message: `only for the local chain ${LOCAL_CHAIN_ID}; use BUNDLE_RELAY_AUTH_KEY_SECRET_NAME` });
  }
  if (env.KMS_ENDPOINT && env.CHAIN_ID !== LOCAL_CHAIN_ID) {
    ctx.addIssue({ code: 'custom', path: ['KMS_ENDPOINT'], message: `only for the local KMS stand-in on chain ${LOCAL_CHAIN_ID}` });
  }
  if (env.RPC_URL && env.CHAIN_ID !== LOCAL_CHAIN_ID) {
    ctx.addIssue({ code: 'custom', path: ['RPC_URL'], message: `only for the local chain ${LOCAL_CHAIN_ID}; use RPC_URL_SECRET_NAME (the URL carries an API key)` });
  }
  if (env.SIGNER_MODE === 'local') {
    // Checked whenever a local key is configured, even for functions that do not sign: it must never be set
    // on a real chain.
    if (env.CHAIN_ID !== LOCAL_CHAIN_ID) {
      ctx.addIssue({ code: 'custom', path: ['SIGNER_MODE'], message: `"local" signs with a key from the environment: only on the local chain ${LOCAL_CHAIN_ID}; use "kms"` });
    }
    if (!env.SIGNER_PRIVATE_KEY) ctx.addIssue({ code: 'custom', path: ['SIGNER_PRIVATE_KEY'], message: 'required when SIGNER_MODE is "local"' });
  }
  if (env.SIGNER_MODE === 'kms' && !env.KMS_KEY_ID) {
    ctx.addIssue({ code: 'custom', path: ['KMS_KEY_ID'], message: 'required when SIGNER_MODE is "kms"' });
  }
  if (env.SWAP_ROUTES !== undefined && !swapRoutesSchema.safeParse(parseJsonOrUndefined(env.SWAP_ROUTES)).success) {
    const issue = swapRoutesSchema.safeParse(parseJsonOrUndefined(env.SWAP_ROUTES)).error!.issues[0];
    ctx.addIssue({ code: 'custom', path: ['SWAP_ROUTES', ...issue.path.map(String)], message: issue.message });
  }
  if (env.LIQUIDATOR_ADDRESS && env.LIQUIDATOR_ADDRESS_PARAMETER) {
    ctx.addIssue({ code: 'custom', path: ['LIQUIDATOR_ADDRESS_PARAMETER'], message: 'set at most one of LIQUIDATOR_ADDRESS and LIQUIDATOR_ADDRESS_PARAMETER' });
  }
}

function pipelineEnvSchema() {
  return z
    .object({ ...baseFields(), ...scannerFields() })
    .check(
      z.superRefine((env, ctx) => {
        checkBase(env, ctx as unknown as z.core.$RefinementCtx<BaseEnv>);
        const maxAgeByAsset = env.ORACLE_MAX_AGE_SEC_BY_ASSET === undefined ? undefined : readMaxAgeByAsset(env.ORACLE_MAX_AGE_SEC_BY_ASSET);
        if (maxAgeByAsset && 'message' in maxAgeByAsset) {
          ctx.addIssue({ code: 'custom', path: ['ORACLE_MAX_AGE_SEC_BY_ASSET', ...maxAgeByAsset.path], message: maxAgeByAsset.message });
        }
      }),
    );
}

function workerEnvSchema() {
  return z.object(baseFields()).check(z.superRefine(checkBase));
}

export type PipelineEnv = z.output<ReturnType<typeof pipelineEnvSchema>>;

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface PipelineConfig {
  chainId: number;
  marketName: string;
  pool: string;
  ruleSet: RuleSet;
  /** What the configured Pool version decides (rules, grace period, eMode model, expected POOL_REVISION()). */
  poolVersion: PoolVersionProfile;
  /** `chainId#pool`: the key of this market in every table. */
  marketKey: string;
  /** The market's other contracts, where configured: the start-up check compares them with what the Pool reports. */
  marketContracts: { addressesProvider?: string; oracle?: string; dataProvider?: string };
  rpc: { url: string } | { secretName: string };
  /** Private transaction submission, if configured. */
  privateRpc?: { url: string } | { secretName: string };
  tables: {
    borrowers?: string;
    snapshots?: string;
    ledger?: string;
    keeperState?: string;
    idempotency?: string;
    nonceLeases?: string;
  };
  candidatesQueueUrl?: string;
  /** Where the worker sends malformed messages, with the reason, instead of failing their batch. */
  candidatesDlqUrl?: string;
  endpoints: { dynamodb?: string; sqs?: string; kms?: string };
  indexer: { startBlock: number; logWindow: number; logWindowGrowthAfter: number; reorgDepth: number; captureLookbackBlocks: number };
  scanner: {
    deadlineMarginMs: number;
    pollIntervalMs: number;
    blockTimeMs?: number;
    followMs?: number;
    /** The oracle-update path (SCANNER_FOLLOW_PENDING_UPDATES). */
    followPendingUpdates: boolean;
    reads: { mode: 'every-block' } | { mode: 'changes'; maxReadIntervalSec: number; marginBps: number; assumedBorrowRateBps: number; maxGapBlocks: number };
    chunkSize: number;
    reenqueueAfterBlocks: number;
    snapshotRetentionSec: number;
    oracleMaxAgeSec: number;
    /** Per asset (lower-case address → seconds): replaces oracleMaxAgeSec for that asset. */
    oracleMaxAgeSecByAsset: Record<string, number>;
    oracleMaxDeviationBps: number;
    oracleUndatedFeeds: 'allow' | 'block';
  };
  worker: {
    /** Where liquidations following a pending oracle update are sent as bundles; absent: public, priced to follow. */
    bundleRelay?: { url: string; authKey: { key: string } | { secretName: string } };
    /** Undefined for functions that do not sign (indexer, scanner); required by the worker ('signer'). */
    signer?: { mode: 'local'; privateKeys: string[] } | { mode: 'kms'; keyIds: string[] };
    nativePriceAsset?: string;
    sizing: 'max' | 'target-health' | 'two-step' | 'best';
    targetHealthFactorWad: bigint;
    minProfitBase: bigint;
    swapCostBps: bigint;
    gasHeadroomBps: bigint;
    funding: 'flash-loan' | 'inventory';
    /** Where the liquidator contract's address comes from; undefined until one is deployed. */
    liquidator?: { address: string } | { parameterName: string };
    swap: { quoter?: string; router?: string; feeTiers: number[]; routes: { tokens: string[]; fees: number[] }[] };
    maxSlippageBps: bigint;
    followerSlippageBps: bigint;
    /** Candidates of one invocation that go out as one `liquidateBatch` transaction, at most. */
    maxBatchSize: number;
    /** A swap may move its pool by this much at most (bps, from the quote); larger plans are chunked. */
    maxPriceImpactBps?: bigint;
    treasury?: string;
    fees: { replaceAfterMs: number; maxReplacements: number; bumpBps: bigint; gasPriceCapWei?: bigint };
    breakers: { revertStreakLimit: number; revertCooldownMs: number; dailyGasBudgetWei?: bigint };
    nonceLeaseMs: number;
    maxPendingPerSigner?: number;
    /** Deliveries of one candidate before SQS dead-letters it. */
    maxReceiveCount: number;
    /** Batches bounded after the sales waiting on the pending block (BATCH_BOUNDS_FROM_PENDING). */
    batchBoundsFromPending: boolean;
    /** The chain's block time (s). */
    blockTimeSec: number;
    dryRun: boolean;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** What a function needs beyond the common fields; checked at start-up so a missing table fails at once. */
export type ConfigRequirement = keyof PipelineConfig['tables'] | 'candidatesQueue' | 'candidatesDlq' | 'signer';

/** A decimal amount (e.g. gwei or ETH from the environment) to wei, without floats: 9 decimals are kept. */
function decimalToWei(value: number, decimals: number): bigint {
  return BigInt(Math.round(value * 1e9)) * 10n ** BigInt(decimals - 9);
}

const splitList = (value: string) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);

const REQUIREMENT_VAR: Record<ConfigRequirement, string> = {
  borrowers: 'BORROWERS_TABLE',
  snapshots: 'SNAPSHOTS_TABLE',
  ledger: 'LEDGER_TABLE',
  keeperState: 'KEEPER_STATE_TABLE',
  idempotency: 'IDEMPOTENCY_TABLE',
  nonceLeases: 'NONCE_LEASES_TABLE',
  candidatesQueue: 'CANDIDATES_QUEUE_URL',
  candidatesDlq: 'CANDIDATES_DLQ_URL',
  signer: 'SIGNER_MODE',
};

/** Parses `env` with `schema` and checks what `requires` names; every problem in one ConfigError. */
function parseEnv<T>(schema: { safeParse(env: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, env: Record<string, string | undefined>, requires: readonly ConfigRequirement[]): T {
  const parsed = schema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(environment)'}: ${i.message}`);
  for (const requirement of requires) {
    const name = REQUIREMENT_VAR[requirement];
    if (!env[name]) problems.push(`${name}: required by this function`);
  }
  // Only a function that sends transactions prices their gas and the sale of seized collateral. The indexer may
  // know the signer's keys without signing: it recognises our own liquidations by their addresses.
  if (requires.includes('signer') && env.SIGNER_MODE !== undefined) {
    if (env.SWAP_QUOTER_ADDRESS === undefined) problems.push('SWAP_QUOTER_ADDRESS: required with a signer: the Uniswap V3 QuoterV2 that prices the sale of seized collateral');
    if (env.NATIVE_PRICE_ASSET === undefined) problems.push('NATIVE_PRICE_ASSET: required with a signer: the reserve whose oracle price converts gas to USD (WETH on Ethereum)');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** The configuration of a function that neither scans nor indexes: the worker's (its scanner part: the enqueue mark's length). */
export type WorkerConfig = Omit<PipelineConfig, 'indexer' | 'scanner'> & { scanner: Pick<PipelineConfig['scanner'], 'reenqueueAfterBlocks'> };

function baseConfigOf(e: BaseEnv): WorkerConfig {
  return {
    chainId: e.CHAIN_ID,
    marketName: e.MARKET_NAME,
    pool: e.POOL_ADDRESS,
    ruleSet: poolVersionProfile(e.AAVE_POOL_VERSION).ruleSet,
    poolVersion: poolVersionProfile(e.AAVE_POOL_VERSION),
    marketKey: `${e.CHAIN_ID}#${e.POOL_ADDRESS.toLowerCase()}`,
    marketContracts: {
      ...(e.ADDRESSES_PROVIDER_ADDRESS ? { addressesProvider: e.ADDRESSES_PROVIDER_ADDRESS } : {}),
      ...(e.PRICE_ORACLE_ADDRESS ? { oracle: e.PRICE_ORACLE_ADDRESS } : {}),
      ...(e.DATA_PROVIDER_ADDRESS ? { dataProvider: e.DATA_PROVIDER_ADDRESS } : {}),
    },
    rpc: e.RPC_URL ? { url: e.RPC_URL } : { secretName: e.RPC_URL_SECRET_NAME! },
    privateRpc: e.PRIVATE_RPC_URL ? { url: e.PRIVATE_RPC_URL } : e.PRIVATE_RPC_URL_SECRET_NAME ? { secretName: e.PRIVATE_RPC_URL_SECRET_NAME } : undefined,
    tables: {
      borrowers: e.BORROWERS_TABLE,
      snapshots: e.SNAPSHOTS_TABLE,
      ledger: e.LEDGER_TABLE,
      keeperState: e.KEEPER_STATE_TABLE,
      idempotency: e.IDEMPOTENCY_TABLE,
      nonceLeases: e.NONCE_LEASES_TABLE,
    },
    candidatesQueueUrl: e.CANDIDATES_QUEUE_URL,
    candidatesDlqUrl: e.CANDIDATES_DLQ_URL,
    endpoints: { dynamodb: e.DYNAMODB_ENDPOINT, sqs: e.SQS_ENDPOINT, kms: e.KMS_ENDPOINT },
    scanner: { reenqueueAfterBlocks: e.SCANNER_REENQUEUE_AFTER_BLOCKS },
    worker: {
      ...(e.BUNDLE_RELAY_URL
        ? { bundleRelay: { url: e.BUNDLE_RELAY_URL, authKey: e.BUNDLE_RELAY_AUTH_KEY ? { key: e.BUNDLE_RELAY_AUTH_KEY } : { secretName: e.BUNDLE_RELAY_AUTH_KEY_SECRET_NAME! } } }
        : {}),
      signer:
        e.SIGNER_MODE === 'local'
          ? { mode: 'local', privateKeys: splitList(e.SIGNER_PRIVATE_KEY!) }
          : e.SIGNER_MODE === 'kms'
            ? { mode: 'kms', keyIds: splitList(e.KMS_KEY_ID!) }
            : undefined,
      nativePriceAsset: e.NATIVE_PRICE_ASSET,
      sizing: e.SIZING_STRATEGY,
      // Parsed from a decimal like 1.05 to WAD without floats: 6 decimals are plenty for a target.
      targetHealthFactorWad: BigInt(Math.round(e.TARGET_HEALTH_FACTOR * 1e6)) * 10n ** 12n,
      minProfitBase: BigInt(Math.round(e.MIN_PROFIT_USD * 1e8)),
      swapCostBps: BigInt(e.SWAP_COST_BPS),
      gasHeadroomBps: BigInt(e.GAS_HEADROOM_BPS),
      funding: e.FUNDING,
      liquidator: e.LIQUIDATOR_ADDRESS
        ? { address: e.LIQUIDATOR_ADDRESS }
        : e.LIQUIDATOR_ADDRESS_PARAMETER
          ? { parameterName: e.LIQUIDATOR_ADDRESS_PARAMETER }
          : undefined,
      swap: {
        quoter: e.SWAP_QUOTER_ADDRESS,
        router: e.SWAP_ROUTER_ADDRESS,
        feeTiers: splitList(e.SWAP_FEE_TIERS).map(Number),
        routes: e.SWAP_ROUTES === undefined ? [] : swapRoutesSchema.parse(JSON.parse(e.SWAP_ROUTES)),
      },
      maxSlippageBps: BigInt(e.MAX_SLIPPAGE_BPS),
      followerSlippageBps: BigInt(e.FOLLOWER_SLIPPAGE_BPS),
      maxBatchSize: e.MAX_BATCH_SIZE,
      maxPriceImpactBps: e.MAX_PRICE_IMPACT_BPS === undefined ? undefined : BigInt(e.MAX_PRICE_IMPACT_BPS),
      treasury: e.TREASURY_ADDRESS,
      fees: {
        replaceAfterMs: Math.round(e.REPLACE_AFTER_SEC * 1000),
        maxReplacements: e.MAX_REPLACEMENTS,
        bumpBps: BigInt(e.FEE_BUMP_BPS),
        gasPriceCapWei: e.GAS_PRICE_CAP_GWEI === undefined ? undefined : decimalToWei(e.GAS_PRICE_CAP_GWEI, 9),
      },
      breakers: {
        revertStreakLimit: e.REVERT_STREAK_LIMIT,
        revertCooldownMs: e.REVERT_COOLDOWN_SEC * 1000,
        dailyGasBudgetWei: e.DAILY_GAS_BUDGET_ETH === undefined ? undefined : decimalToWei(e.DAILY_GAS_BUDGET_ETH, 18),
      },
      nonceLeaseMs: e.NONCE_LEASE_SEC * 1000,
      maxPendingPerSigner: e.MAX_PENDING_PER_SIGNER,
      maxReceiveCount: e.CANDIDATES_MAX_RECEIVE_COUNT,
      batchBoundsFromPending: e.BATCH_BOUNDS_FROM_PENDING === 'true',
      blockTimeSec: e.BLOCK_TIME_SEC,
      dryRun: e.DRY_RUN === 'true',
    },
  };
}

/** Reads and validates the configuration; `requires` names what this function cannot run without. */
export function loadPipelineConfig(env: Record<string, string | undefined>, requires: readonly ConfigRequirement[] = []): PipelineConfig {
  const e = parseEnv(pipelineEnvSchema(), env, requires);
  return {
    ...baseConfigOf(e),
    indexer: {
      startBlock: e.INDEXER_START_BLOCK,
      logWindow: e.INDEXER_LOG_WINDOW,
      logWindowGrowthAfter: e.INDEXER_LOG_WINDOW_GROWTH_AFTER,
      reorgDepth: e.INDEXER_REORG_DEPTH,
      captureLookbackBlocks: e.INDEXER_CAPTURE_LOOKBACK_BLOCKS,
    },
    scanner: {
      deadlineMarginMs: e.SCANNER_DEADLINE_MARGIN_MS,
      pollIntervalMs: e.SCANNER_POLL_INTERVAL_MS,
      ...(e.SCANNER_BLOCK_TIME_MS === undefined ? {} : { blockTimeMs: e.SCANNER_BLOCK_TIME_MS }),
      ...(e.SCANNER_FOLLOW_SEC === undefined ? {} : { followMs: e.SCANNER_FOLLOW_SEC * 1000 }),
      followPendingUpdates: e.SCANNER_FOLLOW_PENDING_UPDATES === 'true',
      reads:
        e.SCANNER_READ_MODE === 'every-block'
          ? { mode: 'every-block' }
          : {
              mode: 'changes',
              maxReadIntervalSec: e.SCANNER_MAX_READ_INTERVAL_SEC,
              marginBps: e.SCANNER_READ_MARGIN_BPS,
              assumedBorrowRateBps: e.SCANNER_ASSUMED_BORROW_RATE_BPS,
              maxGapBlocks: e.SCANNER_MAX_GAP_BLOCKS,
            },
      chunkSize: e.SCANNER_CHUNK_SIZE,
      reenqueueAfterBlocks: e.SCANNER_REENQUEUE_AFTER_BLOCKS,
      snapshotRetentionSec: e.SNAPSHOT_RETENTION_SEC,
      oracleMaxAgeSec: e.ORACLE_MAX_AGE_SEC,
      // Validated above: only limits come back here.
      oracleMaxAgeSecByAsset: e.ORACLE_MAX_AGE_SEC_BY_ASSET === undefined ? {} : (readMaxAgeByAsset(e.ORACLE_MAX_AGE_SEC_BY_ASSET) as { limits: Record<string, number> }).limits,
      oracleMaxDeviationBps: e.ORACLE_MAX_DEVIATION_BPS,
      oracleUndatedFeeds: e.ORACLE_UNDATED_FEEDS,
    },
  };
}

/**
 * The worker's configuration: the same variables and checks as loadPipelineConfig without the scanner's and
 * indexer's own settings, which the worker neither reads nor bundles.
 */
export function loadWorkerConfig(env: Record<string, string | undefined>, requires: readonly ConfigRequirement[] = []): WorkerConfig {
  return baseConfigOf(parseEnv(workerEnvSchema(), env, requires));
}
