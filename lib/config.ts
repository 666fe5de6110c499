/**
 * The deployment config: one JSON file per keeper instance (chain + market), validated here once and passed to
 * the stacks as props. Secrets travel by name only; the RPC URL itself is read from Secrets Manager at run time.
 * Every error names the field it is about (`market.pool: must be …`).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MARKET_PRESET_NAMES, MARKET_PRESETS } from './presets';

/**
 * 32 characters leaves room for the longest derived name: the FIFO dead-letter queue
 * `<name>-liquidation-candidates-dlq.fifo` must stay within SQS's 80-character limit.
 */
const NAME_MAX_LENGTH = 32;

/** The message for a missing field or one of the wrong JSON type. */
const expected = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`),
});

const name = z
  .string(expected('a string'))
  .max(NAME_MAX_LENGTH, `must be at most ${NAME_MAX_LENGTH} characters`)
  // A CloudFormation stack name must start with a letter; the name prefixes stacks, tables and queues.
  .regex(/^[a-z][a-z0-9-]*$/, 'must be lowercase letters, digits and hyphens, starting with a letter');

const address = z
  .string(expected('a string'))
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

/** `min`–`max` whole number (JSON number). */
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number(expected('a number'))
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const positiveNumber = z.number(expected('a number')).positive('must be above 0');

/** Uniswap fee units of the four V3 fee tiers. */
const feeTier = z.union([z.literal(100), z.literal(500), z.literal(3_000), z.literal(10_000)], {
  error: 'must be a Uniswap V3 fee tier: 100, 500, 3000 or 10000',
});

/** A Uniswap V3 route from a collateral asset to a debt asset (multi-hop through intermediate tokens). */
const swapRoute = z
  .object({
    tokens: z.array(address, expected('an array of addresses')).min(2, 'needs at least two tokens'),
    fees: z.array(feeTier, expected('an array of fee tiers')),
  }, expected('an object'))
  .strict()
  .refine((r) => r.fees.length === r.tokens.length - 1, { message: 'needs one fee fewer than tokens', path: ['fees'] });

/**
 * Where the liquidator contract sells seized collateral: Uniswap V3's SwapRouter02 (the contract swaps through
 * it) and QuoterV2 (the worker prices every plan with it at the read block). Addresses are per chain; see
 * Uniswap's deployment list.
 */
const dex = z
  .object({
    swapRouter02: address,
    quoterV2: address,
    /** Direct pools tried for a pair without a configured route. */
    feeTiers: z.array(feeTier, expected('an array of fee tiers')).min(1, 'needs at least one fee tier').default([100, 500, 3_000, 10_000]),
    routes: z.array(swapRoute, expected('an array of routes')).default([]),
  }, expected('an object'))
  .strict();

/**
 * The Aave V3 Pool versions the keeper has rules for. What each one decides (rule set, grace period, eMode model,
 * POOL_REVISION()) is in functions/domain/pool-versions.ts; lib/ does not import functions/, so
 * test/infra/config.test.ts checks that both accept the same versions. A patch is accepted (`3.0.2`, `3.6.0`).
 */
export const SUPPORTED_POOL_VERSIONS: readonly string[] = ['3.0', '3.1', '3.2', '3.3', '3.4', '3.5', '3.6'];

function isSupportedPoolVersion(text: string): boolean {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(text.trim());
  return match !== null && SUPPORTED_POOL_VERSIONS.includes(`${Number(match[1])}.${Number(match[2])}`);
}

const aaveV3Market = z
  .object({
    protocol: z.literal('aave-v3', expected('"aave-v3"')),
    /**
     * An Aave V3 market of the Aave address book (lib/presets.ts): fills `chainId`, `pool`, `addressesProvider`,
     * `oracle`, `dataProvider`, `nativePriceAsset` and, where known, `indexerStartBlock`. A field set here wins.
     */
    preset: z
      .string(expected('a string'))
      .refine((name) => Object.hasOwn(MARKET_PRESETS, name), { error: (issue) => `must be a market of the Aave address book (${presetHint(String(issue.input))})` })
      .optional(),
    /** The market's Pool (proxy) contract, where liquidationCall is sent. Required without a preset. */
    pool: address.optional(),
    /**
     * The deployed Pool's version (3.0.2, 3.3, 3.6…): selects the liquidation rules (close factor, dust rule),
     * grace period and eMode model, and is checked against the Pool's POOL_REVISION() at start-up. Required rather
     * than defaulted (a preset does not say it either): a wrong rule set sizes liquidations that revert.
     */
    poolVersion: z
      .string(expected('a string'))
      .refine(isSupportedPoolVersion, 'must be a supported Aave V3 Pool version: 3.0.x, 3.1, 3.2, 3.3, 3.4, 3.5 or 3.6'),
    /** The Pool's addresses provider: checked at start-up against the Pool's ADDRESSES_PROVIDER(). */
    addressesProvider: address.optional(),
    /** The market's price oracle: checked at start-up against the addresses provider's getPriceOracle(). */
    oracle: address.optional(),
    /** The market's protocol data provider: checked at start-up to hold code. */
    dataProvider: address.optional(),
    /** The wrapped native token reserve (WETH on Ethereum): its oracle price converts gas into USD. Required without a preset that lists one. */
    nativePriceAsset: address.optional(),
    /** First block the indexer reads: the Pool's deployment block (earlier blocks hold no events of it). Default: the preset's, else 0. */
    indexerStartBlock: wholeNumber(0).optional(),
    dex,
  }, expected('an object'))
  .strict();

/** The closest preset names, for the refusal of an unknown one. */
function presetHint(input: string): string {
  const lower = input.toLowerCase();
  const close = MARKET_PRESET_NAMES.filter((name) => name.toLowerCase().includes(lower.replace(/^aavev3/, '')) && lower.length > 0);
  const shown = (close.length > 0 && close.length <= 8 ? close : MARKET_PRESET_NAMES.filter((n) => !/Sepolia|Fuji/.test(n)).slice(0, 8)).join(', ');
  return `e.g. ${shown}; lib/presets.ts lists them`;
}

/** Secrets Manager's own rule for secret names. */
const secretName = z
  .string(expected('a string'))
  .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name (1-512 of A-Z a-z 0-9 / _ + = . @ -)');

/** EventBridge Scheduler rates. The scanner runs a little longer than its rate, so invocations overlap. */
const schedule = z
  .object({
    indexerEveryMinutes: wholeNumber(1, 60).default(1),
    /** At most 14: the scanner's timeout (rate + 30 s) must stay within Lambda's 15 minutes. */
    scannerEveryMinutes: wholeNumber(1, 14).default(1),
  }, expected('an object'))
  .strict();

/**
 * The indexer's eth_getLogs window (functions/pipeline/index-borrowers.ts): halved when the RPC provider refuses a
 * window, doubled back after `logWindowGrowthAfter` windows in a row went through, never above `logWindowBlocks`.
 * Defaults equal the functions' (a test keeps them equal). Set `logWindowBlocks` to the provider's limit (a free
 * tier's 10 blocks) to spare the refusals that halving would cost.
 */
const indexer = z
  .object({
    logWindowBlocks: wholeNumber(1, 1_000_000).default(2_000),
    logWindowGrowthAfter: wholeNumber(1, 10_000).default(16),
  }, expected('an object'))
  .strict();

/** How the scanner decides which accounts to read at a block (functions/domain/read-policy.ts). */
const scanner = z
  .object({
    /**
     * `changes`: an account is read when a price, its position, a reserve's risk parameters or interest may have
     * taken it near HF 1; `every-block`: every account at every block (more RPC calls, same accounts found).
     */
    readMode: z.enum(['changes', 'every-block'], { error: 'must be "changes" or "every-block"' }).default('changes'),
    /** Change-driven reads: every account is read at least this often (seconds). */
    maxReadIntervalSec: wholeNumber(12, 86_400).default(3_600),
    /**
     * The oracle-update path: watch the mempool for price updates of the market's feeds and land liquidations right
     * behind them. Only where the RPC node shows pending transactions (an L1 public mempool).
     */
    followPendingUpdates: z.boolean(expected('true or false')).default(false),
  }, expected('an object'))
  .strict();

/** The worker's SQS event source. */
const worker = z
  .object({
    /** Records per invocation; SQS FIFO event sources take at most 10. */
    batchSize: wholeNumber(1, 10).default(10),
    /** Concurrent worker invocations; SQS event sources allow 2 to 1000. */
    maxConcurrency: wholeNumber(2, 1000).default(2),
  }, expected('an object'))
  .strict();

/**
 * How the worker and the trigger execute liquidations. Defaults equal those of functions/config/pipeline-config.ts
 * (a test keeps them equal); every value is set explicitly on the functions, so a deployment shows what it runs with.
 */
const execution = z
  .object({
    /**
     * How much to repay: `max`, `target-health`, `two-step`, or `best` (all three, and with `maxPriceImpactBps` the
     * most profitable chunk within it, priced with real quotes at the read block; never below `max`).
     */
    sizingStrategy: z
      .enum(['max', 'target-health', 'two-step', 'best'], { error: 'must be "max", "target-health" or "two-step" (one strategy), or "best" (all compared)' })
      .default('max'),
    /**
     * Largest price move (bps) one liquidation's swap may cause, measured from quotes; a larger liquidation is
     * sent in chunks, the rest offered again once arbitrage has refilled the pool. Absent: no limit.
     */
    maxPriceImpactBps: wholeNumber(1, 10_000).optional(),
    /** Liquidations of one worker invocation sent as one `liquidateBatch` transaction (1: each alone). Absent: the functions' default, 10. */
    maxBatchSize: wholeNumber(1, 20).optional(),
    /**
     * Bound each batch item's swap after the sales waiting on the node's pending block (the keeper's other batches
     * among them): more accounts land against fast competition, at a lower price each. See README, batches.
     */
    batchBoundsFromPending: z.boolean(expected('true or false')).default(false),
    /** Profit after gas and swap cost below which a candidate is skipped (USD). */
    minProfitUsd: z.number(expected('a number')).min(0, 'must be at least 0').default(0),
    /** Never offer more gas price than this (gwei); above it execution pauses. Absent: no cap. */
    gasPriceCapGwei: positiveNumber.optional(),
    /** Gas the signer may spend per UTC day (native token, e.g. 0.5 ETH); reaching it pauses execution. Absent: no budget. */
    dailyGasBudgetEth: positiveNumber.optional(),
    /** This many consecutive reverted liquidations pause execution for `revertCooldownSec`. */
    revertStreakLimit: wholeNumber(1).default(3),
    revertCooldownSec: wholeNumber(1).default(900),
    /** No receipt this long after a broadcast: the transaction is replaced by nonce with a fee bump. */
    replaceAfterSec: positiveNumber.default(24),
    maxReplacements: wholeNumber(0).default(3),
    /** Fee bump per replacement (bps); nodes refuse less than +10 %. */
    feeBumpBps: wholeNumber(1_000).default(1_250),
    /** At most this many pending transactions per signer (nodes and relays cap them per sender). Absent: no limit. */
    maxPendingPerSigner: wholeNumber(1).optional(),
    /**
     * `flash-loan`: the liquidator contract borrows the debt asset from the market's Pool and repays it from the
     * sale of the seized collateral (no capital but gas). `inventory`: the contract's own balance pays.
     */
    funding: z.enum(['flash-loan', 'inventory'], { error: 'must be "flash-loan" or "inventory"' }).default('flash-loan'),
    /**
     * amountOutMinimum of each swap = quoted output less this (bps). It must cover the keeper's own liquidations
     * selling into the same pool just before (a crash brings many); the contract's profit guard still refuses a
     * call that would not pay its gas.
     */
    maxSlippageBps: wholeNumber(0, 5_000).default(100),
    /** The bound of a liquidation following a pending oracle update into its block (it sells with all the others). */
    followerSlippageBps: wholeNumber(0, 5_000).default(500),
    /**
     * A bundle relay (Flashbots `eth_sendBundle` URL) for liquidations following a pending oracle update, and the
     * Secrets Manager secret holding its auth key (a 32-byte hex key that signs requests; it holds no funds).
     */
    bundleRelay: z
      .object({ url: z.url({ error: 'must be a URL' }), authKeySecretName: secretName }, expected('an object'))
      .strict()
      .optional(),
    /** Where `withdraw` (manual trigger) sends the profit the liquidator contract holds. Absent: withdraw refuses. */
    treasury: address.optional(),
    /** Plan and simulate, never send (a first deployment can watch before it acts). */
    dryRun: z.boolean(expected('true or false')).default(false),
  }, expected('an object'))
  .strict();

/** Thresholds of the alarms that depend on the market. */
const alarms = z
  .object({
    /** The signer's balance (native token) below which the low-balance alarm fires. */
    signerBalanceMinEth: positiveNumber.default(0.05),
    /** More reverted liquidations than this within one hour raise the revert-rate alarm. */
    maxRevertsPerHour: wholeNumber(0).default(2),
    /** Bad debt (USD, DeficitCreated of Aave v3.3+) above this within 5 minutes raises the bad-debt alarm; 0: any. */
    badDebtUsdMax: z.number(expected('a number')).min(0, 'must be at least 0').default(0),
    /**
     * The indexer more than this many blocks behind the head for 15 minutes raises the indexer-behind alarm.
     * Absent: ten minutes of blocks at `blockTimeSec` (50 on Ethereum, 300 on a 2 s chain).
     */
    indexerBlocksBehindMax: wholeNumber(1).optional(),
  }, expected('an object'))
  .strict();

/**
 * The scanner's oracle circuit breakers (functions/domain/oracle-breaker.ts). Defaults equal those of
 * functions/config/pipeline-config.ts (a test keeps them equal); every value is set on the functions that build a
 * breaker (the scanner, and the trigger's scan).
 */
const oracle = z
  .object({
    /** A feed round older than this (seconds) is stale: a one-hour heartbeat plus 5 minutes. */
    maxAgeSec: wholeNumber(1).default(3_900),
    /**
     * An asset's own limit (address → seconds), for feeds with another heartbeat: a 24 h stablecoin feed wants
     * 86,700 (86,400 + 300). An address may appear once, in whatever case.
     */
    maxAgeSecByAsset: z
      .record(z.string().regex(/^0x[0-9a-fA-F]{40}$/), wholeNumber(1), {
        // A key that is not an address is reported at its own path with the record's message (code invalid_key).
        error: (issue) => (issue.code === 'invalid_key' ? 'the key must be a 0x-prefixed 20-byte hex address' : 'must be an object of { "0xasset": seconds }'),
      })
      .superRefine((limits, ctx) => {
        const seen = new Map<string, string>();
        for (const asset of Object.keys(limits)) {
          const earlier = seen.get(asset.toLowerCase());
          if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: [asset], message: `the same asset as ${earlier}` });
          seen.set(asset.toLowerCase(), asset);
        }
      })
      .default({}),
    /** A Pool price moving more than this between two consecutive blocks (bps) holds action on the asset. */
    maxDeviationBps: wholeNumber(1).default(3_000),
    /**
     * An asset whose source answers no `latestRoundData()` (Aave's CAPO price-cap adapters): `allow` checks its
     * price only, `block` holds its breaker open (reason `undated`). Either way the scanner logs and counts it.
     */
    undatedFeeds: z.enum(['allow', 'block'], { error: 'must be "allow" or "block"' }).default('allow'),
  }, expected('an object'))
  .strict();

export const deploymentConfigSchema = z
  .object({
    name,
    /** Required without a market preset; with one, it must equal the preset's. */
    chainId: z.number(expected('a number')).int('must be an integer').positive('must be positive').optional(),
    /** Seconds between blocks (Ethereum 12, Base/Optimism 2, Arbitrum 0.25): how long a candidate due later waits per block. */
    blockTimeSec: z.number(expected('a number')).positive('must be more than 0').max(600, 'must be at most 600').default(12),
    market: aaveV3Market,
    rpcUrlSecretName: secretName,
    /** A private submission endpoint (Flashbots-Protect style) for the functions that send transactions. */
    privateRpcUrlSecretName: secretName.optional(),
    alertEmail: z.email({ error: 'must be an email address' }).optional(),
    // `prefault` parses the empty object, so an absent section gets every default of its fields.
    schedule: schedule.prefault({}),
    indexer: indexer.prefault({}),
    scanner: scanner.prefault({}),
    worker: worker.prefault({}),
    execution: execution.prefault({}),
    alarms: alarms.prefault({}),
    oracle: oracle.prefault({}),
  }, expected('an object'))
  .strict();

type ParsedDeploymentConfig = z.infer<typeof deploymentConfigSchema>;
type ParsedMarket = ParsedDeploymentConfig['market'];

/** The config with its market resolved: every address the functions need is set (from the file or the preset). */
export type DeploymentConfig = Omit<ParsedDeploymentConfig, 'chainId' | 'market'> & {
  chainId: number;
  market: Omit<ParsedMarket, 'pool' | 'nativePriceAsset' | 'indexerStartBlock'> & {
    pool: string;
    nativePriceAsset: string;
    indexerStartBlock: number;
  };
};

/** Fills the market from its preset; each problem names its field. */
function resolveMarket(parsed: ParsedDeploymentConfig): { config?: DeploymentConfig; problems: string[] } {
  const { market } = parsed;
  const preset = market.preset === undefined ? undefined : MARKET_PRESETS[market.preset];
  const problems: string[] = [];
  const chainId = parsed.chainId ?? preset?.chainId;
  if (chainId === undefined) problems.push('chainId: is required (or set market.preset)');
  else if (preset && chainId !== preset.chainId) problems.push(`chainId: ${chainId} is not the chain of market.preset ${preset.name} (${preset.chainId})`);
  const pool = market.pool ?? preset?.pool;
  if (pool === undefined) problems.push('market.pool: is required (or set market.preset)');
  const nativePriceAsset = market.nativePriceAsset ?? preset?.nativePriceAsset;
  if (nativePriceAsset === undefined) {
    problems.push(
      preset
        ? `market.nativePriceAsset: is required: market.preset ${preset.name} lists no ${preset.nativeSymbol ?? 'wrapper of the gas token'} reserve (the reserve whose price converts gas into USD)`
        : 'market.nativePriceAsset: is required (or set market.preset)',
    );
  }
  if (problems.length > 0 || chainId === undefined || pool === undefined || nativePriceAsset === undefined) return { problems };
  const optional = {
    ...(market.addressesProvider ?? preset?.addressesProvider ? { addressesProvider: market.addressesProvider ?? preset?.addressesProvider } : {}),
    ...(market.oracle ?? preset?.oracle ? { oracle: market.oracle ?? preset?.oracle } : {}),
    ...(market.dataProvider ?? preset?.dataProvider ? { dataProvider: market.dataProvider ?? preset?.dataProvider } : {}),
  };
  return {
    problems,
    config: {
      ...parsed,
      chainId,
      market: { ...market, ...optional, pool, nativePriceAsset, indexerStartBlock: market.indexerStartBlock ?? preset?.indexerStartBlock ?? 0 },
    },
  };
}

export class DeploymentConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
    options?: ErrorOptions,
  ) {
    super(`invalid deployment config ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
    this.name = 'DeploymentConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

export function parseDeploymentConfig(value: unknown, source = '<inline>'): DeploymentConfig {
  const result = deploymentConfigSchema.safeParse(value);
  if (result.success) {
    const resolved = resolveMarket(result.data);
    if (resolved.config) return resolved.config;
    throw new DeploymentConfigError(source, resolved.problems);
  }
  const problems = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown field`)
      : [`${formatPath(issue.path) || '(root)'}: ${issue.message}`],
  );
  throw new DeploymentConfigError(source, problems);
}

export function loadDeploymentConfig(path: string): DeploymentConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DeploymentConfigError(path, [`(file): ${(err as Error).message}`], { cause: err });
  }
  return parseDeploymentConfig(json, path);
}
