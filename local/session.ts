/**
 * One run of the keeper on a local world: boots the world, runs the pipeline's real handlers on it (indexer and
 * scanner on an emulated one-minute schedule, the worker behind an emulated SQS event source), applies the
 * scenario's price shocks in real time, runs until every liquidatable account has been handled (or the timeout),
 * and reports what happened as read back from the chain. `npm run demo` is one session; the stress lab
 * (local/stress.ts) runs one per strategy, each with a rival keeper beside it.
 *
 * The report is measured from the chain, not from the pipeline's own account: an observer reads every block's
 * health factors, and liquidations, deficits, gas and reverts are read back from events and receipts.
 */
import { Contract, Interface } from 'ethers';
import { AaveV3HealthScanner } from '../functions/adapters/chain/health-scan';
import { EthersLiquidatorContract } from '../functions/adapters/chain/liquidator-contract';
import { latestBlockNumber } from '../functions/adapters/chain/provider';
import type { RecordOutcome } from '../functions/handlers/worker';
import { startBundleRelay } from './relay/bundle-relay-server';
import { startLocalPipeline } from './runtime/local-pipeline';
import type { LocalSignerCount } from './runtime/pipeline-env';
import type { Scenario } from './world/scenario';
import { startWorld, type World } from './world/world';

/** The local bundle relay's auth key: identity only (the stand-in checks signatures, nothing pays with it). */
const LOCAL_BUNDLE_AUTH_KEY = '0x' + '42'.repeat(32);

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Powertools reads these at construction: the session prints its own progress, handlers only warn.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const WAD = 10n ** 18n;
const POOL_EVENTS = new Interface([
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
  'event DeficitCreated(address indexed user, address indexed debtAsset, uint256 amountCreated)',
]);
const LIQUIDATOR_EVENTS = new Interface([
  'event Liquidated(address indexed user, address indexed collateralAsset, address indexed debtAsset, uint256 debtRepaid, uint256 collateralSeized, uint256 swapAmountOut, uint256 flashPremium, uint256 profit)',
  'event BatchItemLiquidated(uint256 indexed index, address indexed user, uint256 debtRepaid, uint256 collateralSeized, uint256 swapAmountOut, uint256 flashPremium, uint256 profit)',
]);
const ERC20_ABI = ['function balanceOf(address) view returns (uint256)'];
const ORACLE_ABI = ['function getAssetPrice(address asset) view returns (uint256)', 'function getAssetsPrices(address[] assets) view returns (uint256[])'];
/**
 * The observer reads every account at a block where an oracle price changed and at least this often; in between
 * only the accounts that can be liquidatable (HF under WATCH_BELOW_WAD, or unreadable). Nothing but a price, a
 * liquidation of the account itself or interest moves a scenario account's health, and interest cannot carry one
 * from 1.05 to 1 in a few blocks, so this sees each account's first liquidatable block as a read of every account
 * at every block would, without taking the node's time from the pipeline at 10,000 borrowers.
 */
const FULL_READ_EVERY_BLOCKS = 20;
const WATCH_BELOW_WAD = 1_050_000_000_000_000_000n;
/** Above this many borrowers, per-candidate and per-liquidation lines are summed into the block lines. */
const VERBOSE_UP_TO_BORROWERS = 1_000;
/** Blocks to keep going after the last shock before the run may end. */
const SETTLE_BLOCKS = 3;

interface AccountState {
  label: string;
  address: string;
  firstLiquidatableBlock?: number;
  healthFactorWad: bigint;
  collateralBase: bigint;
  debtBase: bigint;
}

interface LiquidationRow {
  borrower: string;
  label: string;
  block: number;
  txHash: string;
  collateralAsset: string;
  debtAsset: string;
  debtRepaidUsd: number;
  collateralReceivedUsd: number;
  profitUsd: number;
  detectionLatencyBlocks?: number;
  liquidator: string;
  /** Whose liquidation: the keeper's (its contract or a signer), the companion's (a rival keeper) or anyone else's. */
  by: 'ours' | 'companion' | 'other';
}


export type SizingStrategy = 'max' | 'target-health' | 'two-step' | 'best';
export const SIZING_STRATEGIES: readonly SizingStrategy[] = ['max', 'target-health', 'two-step', 'best'];

export interface SessionOptions {
  scenario: Scenario;
  sizing: SizingStrategy;
  /** Seconds per block (default: the scenario's). */
  blockTimeSec?: number;
  /** Default: the scenario's `demo` field. */
  signers?: LocalSignerCount;
  workerConcurrency?: number;
  maxBatchSize?: number;
  timeoutMs?: number;
  /** A line per candidate and outcome (default: only up to VERBOSE_UP_TO_BORROWERS borrowers). */
  verbose?: boolean;
  priceUpdates?: 'same-block' | 'mempool';
  followPending?: boolean;
  bundleRelay?: boolean;
  /** Batches bounded after the sales waiting on the pending block (BATCH_BOUNDS_FROM_PENDING). */
  pendingBounds?: boolean;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
  /**
   * Another keeper in the same world (the stress lab's rival), started once the pipeline runs and told of every
   * observed block's liquidatable accounts; stopped before the chain is read back. Its transactions are counted
   * by sender (`addresses`).
   */
  companion?: (world: World) => Promise<Companion>;
  /** Called with the world still running, once the chain has been read back: tests check the report against it. */
  beforeStop?: (world: World) => Promise<void>;
}

export interface Companion {
  /** The accounts whose transactions are the companion's. */
  addresses: readonly string[];
  /** Every observed block, with the accounts liquidatable at its end (as the observer read them). */
  onBlock?(block: number, liquidatable: readonly string[]): void;
  stop(): Promise<void>;
}

/** Per observed block: what the observer read. Prices in USD, base fee in gwei. */
export interface SessionBlock {
  block: number;
  liquidatable: number;
  prices: Record<string, number>;
  baseFeeGwei: number;
}

export interface GasFigures {
  transactions: number;
  gasUsed: number;
  /** gasUsed × effective gas price, in ETH and at the end block's WETH oracle price. */
  eth: number;
  usd: number;
}

export type SessionReport = Awaited<ReturnType<typeof runSession>>;

/** The first block at which the observer read any account liquidatable (undefined: none ever was). */
function firstLiquidatableBlockOf(accounts: Iterable<AccountState>): number | undefined {
  let first: number | undefined;
  for (const a of accounts) if (a.firstLiquidatableBlock !== undefined && (first === undefined || a.firstLiquidatableBlock < first)) first = a.firstLiquidatableBlock;
  return first;
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const usd = (base: bigint) => Number(base) / 1e8;

async function valueBase(oracle: Contract, asset: string, amount: bigint, decimals: number, block: number): Promise<bigint> {
  const price = (await oracle.getAssetPrice(asset, { blockTag: block })) as bigint;
  return (amount * price) / 10n ** BigInt(decimals);
}

interface TracedCall {
  to?: string;
  input?: string;
  gas?: string;
  gasUsed?: string;
  error?: string;
  calls?: TracedCall[];
}

/**
 * The innermost failed call of a mined transaction, from anvil's call tracer: "<to> <selector>: <error> (gas used of
 * given)". Best effort, for the report only: undefined (with a warning) when the node cannot trace.
 */
async function deepestFailedCall(provider: World['provider'], txHash: string): Promise<string | undefined> {
  try {
    const root = (await provider.send('debug_traceTransaction', [txHash, { tracer: 'callTracer' }])) as TracedCall;
    let deepest: TracedCall | undefined;
    const walk = (call: TracedCall) => {
      if (call.error) deepest = call;
      for (const child of call.calls ?? []) walk(child);
    };
    walk(root);
    if (!deepest) return undefined;
    const d: TracedCall = deepest;
    return `${d.to ?? '?'} ${(d.input ?? '').slice(0, 10)}: ${d.error} (gas ${BigInt(d.gasUsed ?? '0')} of ${BigInt(d.gas ?? '0')})`;
  } catch (error) {
    console.error(`demo: warning: could not trace ${txHash}: ${(error as Error).message}`);
    return undefined;
  }
}

export async function runSession(options: SessionOptions) {
  const started = Date.now();
  const { scenario, sizing, blockTimeSec } = options;
  const signers = options.signers ?? (scenario.demo.signers as LocalSignerCount);
  const workerConcurrency = options.workerConcurrency ?? scenario.demo.workerConcurrency;
  const maxBatchSize = options.maxBatchSize ?? 10;
  const timeoutMs = options.timeoutMs ?? scenario.demo.timeoutSec * 1000;
  const verbose = options.verbose ?? scenario.positions.length <= VERBOSE_UP_TO_BORROWERS;
  const priceUpdates = options.priceUpdates ?? 'same-block';
  const followPending = options.followPending ?? false;
  if (followPending && priceUpdates !== 'mempool') throw new Error('following pending updates needs price updates through the mempool (updates must wait in it to be followed)');
  if (options.bundleRelay && !followPending) throw new Error('the bundle relay needs the pending-update follower');
  const say = options.say ?? ((line: string) => console.error(process.env.DEMO_TIMESTAMPS ? `${((Date.now() - started) / 1000).toFixed(2).padStart(7)} ${line}` : line));
  say(
    `demo: scenario "${scenario.name}": ${scenario.positions.length} borrowers on Aave ${scenario.aave}, ${scenario.shocks.length} shocks, ${blockTimeSec ?? scenario.blockTimeSec} s blocks; ${signers} signer(s), ${workerConcurrency} concurrent workers, batches of up to ${maxBatchSize}`,
  );
  const world: World = await startWorld({ scenario, blockTimeSec, priceUpdates, log: say });
  const relay = options.bundleRelay ? await startBundleRelay({ upstreamRpcUrl: world.info.rpcUrl }) : undefined;
  const { provider } = world;
  const outcomes: { outcome: RecordOutcome; messageId: string }[] = [];
  let enqueued = 0;
  let indexerCaughtUp = false;
  let pipeline: Awaited<ReturnType<typeof startLocalPipeline>> | undefined;
  try {
    const pipelineStarting = Date.now();
    pipeline = await startLocalPipeline(world, {
      overrides: {
        ...(followPending ? { SCANNER_FOLLOW_PENDING_UPDATES: 'true' } : {}),
        ...(relay ? { BUNDLE_RELAY_URL: relay.url, BUNDLE_RELAY_AUTH_KEY: LOCAL_BUNDLE_AUTH_KEY } : {}),
        ...(options.pendingBounds ? { BATCH_BOUNDS_FROM_PENDING: 'true' } : {}),
      },
      sizing,
      signers,
      workerConcurrency,
      maxBatchSize,
      log: say,
      onIndexed: (s) => {
        if (s.outcome.kind === 'caught-up' || s.outcome.kind === 'up-to-date') indexerCaughtUp = true;
        if (s.newBorrowers > 0) say(`  indexer: ${s.newBorrowers} new borrowers (blocks ${s.fromBlock}…${s.toBlock}, ${s.outcome.kind})`);
      },
      onScanEvent: (event) => {
        if (event.kind === 'enqueued') enqueued++;
        if (event.kind === 'enqueued' && verbose) say(`  scanner: block ${event.block}: enqueued ${event.message.borrower} (HF ${(Number(BigInt(event.message.healthFactorWad)) / 1e18).toFixed(4)})`);
        if (event.kind === 'oracle-update') {
          say(`  scanner: pending oracle update ${event.txHash.slice(0, 10)}… at head ${event.block}: ${event.simulated} accounts simulated, ${event.liquidatable} liquidatable once it lands, ${event.enqueued} enqueued to follow it`);
        }
        if (event.kind === 'breaker-opened') say(`  scanner: block ${event.block}: oracle breaker OPEN for ${event.asset}: ${event.reason} (${event.detail})`);
        if (event.kind === 'blocked-by-breaker') say(`  scanner: block ${event.block}: ${event.borrower} not enqueued: breaker open on ${event.assets.join(', ')}`);
      },
      onOutcome: (outcome, record) => {
        outcomes.push({ outcome, messageId: record.messageId });
        const what =
          outcome.kind === 'mined'
            ? `liquidated in block ${outcome.minedBlock} (tx ${outcome.txHash.slice(0, 10)}…)`
            : outcome.kind === 'skipped'
              ? `skipped: ${outcome.reason}`
              : outcome.kind === 'reverted'
                ? `REVERTED in block ${outcome.minedBlock}: ${outcome.reason}`
                : outcome.kind === 'failed'
                ? `FAILED at ${outcome.stage}: ${outcome.reason}`
                : outcome.kind === 'rejected'
                  ? `rejected: ${outcome.reason}`
                  : outcome.kind;
        if (verbose || !['mined', 'stale', 'duplicate'].includes(outcome.kind)) say(`  worker:  ${'opportunity' in outcome ? outcome.opportunity.split('#')[2] : record.messageId}: ${what}`);
      },
    });

    // At 10,000 borrowers the indexer's first run ends at its deadline before it has written every borrower to
    // DynamoDB; run it again at once (the schedule would wait a minute) until it has caught up, before any shock.
    // A run that fails or times out is logged and the next carries on from the checkpoint, as on Lambda.
    if (!indexerCaughtUp) await pipeline.indexUntilCaughtUp();
    // Mostly the indexer's runs, which write every borrower to DynamoDB before the first scan.
    const pipelineStartSeconds = (Date.now() - pipelineStarting) / 1000;
    say(`demo: pipeline started in ${pipelineStartSeconds.toFixed(1)} s (first indexer run included)`);

    // The observer: every block's health, read independently of the pipeline.
    const observer = new AaveV3HealthScanner(provider, world.info.market.pool);
    // Capital: what the keeper's accounts and its contract hold, measured from the chain at the first block.
    const tokenList = Object.values(world.info.market.reserves).map((r) => ({ asset: r.underlying, decimals: r.decimals }));
    const holdingsBase = async (holders: readonly string[], block: number) => {
      const prices = (await new Contract(world.info.market.aaveOracle, ORACLE_ABI, provider).getAssetsPrices(tokenList.map((t) => t.asset), { blockTag: block })) as bigint[];
      let total = 0n;
      for (const [i, token] of tokenList.entries()) {
        const erc20 = new Contract(token.asset, ERC20_ABI, provider);
        for (const holder of holders) total += (((await erc20.balanceOf(holder, { blockTag: block })) as bigint) * prices[i]) / 10n ** BigInt(token.decimals);
      }
      return total;
    };
    const contractBalances = async (block: number) =>
      Promise.all(tokenList.map(async (t) => (await new Contract(t.asset, ERC20_ABI, provider).balanceOf(world.info.liquidatorContract, { blockTag: block })) as bigint));
    const signerHoldingsAtStartBase = await holdingsBase(world.info.accounts.liquidators, world.info.startBlock);
    const contractAtStart = await contractBalances(world.info.startBlock);
    const accounts = new Map<string, AccountState>(
      world.info.borrowers.map((b) => [b.address.toLowerCase(), { ...b, healthFactorWad: 0n, collateralBase: 0n, debtBase: 0n }]),
    );
    const companion = options.companion ? await options.companion(world) : undefined;
    const companionAddresses = new Set((companion?.addresses ?? []).map((a) => a.toLowerCase()));
    const shocks = world.runShocks((line) => say(`  ${line}`));
    const symbolOf = new Map(Object.entries(world.info.market.reserves).map(([symbol, r]) => [r.underlying.toLowerCase(), symbol]));
    const timeline: SessionBlock[] = [];
    /**
     * Every block at which an oracle price changed (the scenario's shocks), with the accounts the observer read
     * liquidatable (HF < 1, debt and collateral) at that block — every account is read there — and how many of
     * them were not liquidatable before it.
     */
    const oracleUpdates: { block: number; liquidatable: number; newlyLiquidatable: number }[] = [];
    // Arbitrageurs bring the pools back to the oracle between blocks, as on a real market.
    const arbitrage = world.startArbitrage({ onMove: (line) => say(`  ${line}`) });
    let lastShockBlock: number | undefined;
    shocks.done.then(
      (block) => (lastShockBlock = block),
      (err: Error) => say(`demo: shocks stopped: ${err.message}`),
    );
    let observed = world.info.startBlock - 1;
    /** Accounts whose getUserAccountData reverted at the last block they were read, with the Pool's reason. */
    const unreadable = new Map<string, string>();
    let timedOut = false;
    const liquidatableNow = () =>
      [...accounts.values()].filter((a) => a.healthFactorWad < WAD && a.debtBase > 0n && a.collateralBase > 0n);
    const oracle = new Contract(world.info.market.aaveOracle, ORACLE_ABI, provider);
    const reserveAssets = Object.values(world.info.market.reserves).map((r) => r.underlying);
    let lastPrices: string | undefined;
    let lastFullRead = -1;
    const read = async (block: number, full: boolean) => {
      const addresses = [...accounts.values()]
        .filter((a) => full || a.healthFactorWad < WATCH_BELOW_WAD || unreadable.has(a.address.toLowerCase()))
        .map((a) => a.address);
      if (full) lastFullRead = block;
      const { accounts: readNow, unreadable: failed } = await observer.scan(addresses, block);
      for (const r of readNow) unreadable.delete(r.user.toLowerCase());
      for (const f of failed) {
        if (!unreadable.has(f.user.toLowerCase())) say(`  observer: block ${block}: ${f.user} unreadable: ${f.reason}`);
        unreadable.set(f.user.toLowerCase(), f.reason);
      }
      for (const r of readNow) {
        const a = accounts.get(r.user.toLowerCase())!;
        a.healthFactorWad = r.healthFactorWad;
        a.collateralBase = r.totalCollateralBase;
        a.debtBase = r.totalDebtBase;
        if (a.firstLiquidatableBlock === undefined && r.healthFactorWad < WAD && r.totalDebtBase > 0n && r.totalCollateralBase > 0n) {
          a.firstLiquidatableBlock = block;
        }
      }
    };
    for (;;) {
      // A block is read once its successor exists. anvil answers a read pinned to the head block from its live
      // state, which the next block's transactions change before the head number moves: a read of the head can
      // see the next block's liquidations, and an account liquidated there would never be seen liquidatable.
      const head = (await latestBlockNumber(provider)) - 1;
      while (observed < head) {
        observed++;
        const priceList = (await oracle.getAssetsPrices(reserveAssets, { blockTag: observed })) as bigint[];
        const prices = priceList.join(',');
        const priceMoved = lastPrices !== undefined && prices !== lastPrices;
        await read(observed, priceMoved || lastPrices === undefined || observed - lastFullRead >= FULL_READ_EVERY_BLOCKS);
        lastPrices = prices;
        const liquidatableAccounts = liquidatableNow();
        const now = liquidatableAccounts.length;
        const baseFeeWei = (await provider.getBlock(observed))?.baseFeePerGas ?? 0n;
        timeline.push({
          block: observed,
          liquidatable: now,
          prices: Object.fromEntries(reserveAssets.map((asset, i) => [symbolOf.get(asset.toLowerCase()) ?? asset, usd(priceList[i])])),
          baseFeeGwei: Number(baseFeeWei) / 1e9,
        });
        companion?.onBlock?.(observed, liquidatableAccounts.map((a) => a.address));
        if (priceMoved) {
          const block = observed;
          const newly = [...accounts.values()].filter((a) => a.firstLiquidatableBlock === block).length;
          oracleUpdates.push({ block, liquidatable: now, newlyLiquidatable: newly });
          say(`block ${block}: oracle price moved: ${now} accounts liquidatable (${newly} newly)`);
        }
        const mined = outcomes.filter((o) => o.outcome.kind === 'mined').length;
        const first = firstLiquidatableBlockOf(accounts.values());
        const since = first === undefined ? '' : ` (+${observed - first} since the first liquidatable block)`;
        say(`block ${observed}${since}: ${now} liquidatable of ${accounts.size}, ${enqueued} enqueued, ${mined} liquidations mined`);
      }
      const settled = () => lastShockBlock !== undefined && observed >= lastShockBlock + SETTLE_BLOCKS && liquidatableNow().length === 0;
      // Settled only on a read of every account.
      if (settled() && lastFullRead !== observed) await read(observed, true);
      if (settled()) break;
      if (Date.now() - started > timeoutMs) {
        timedOut = true;
        say(`demo: timeout after ${timeoutMs / 1000} s`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    shocks.stop();
    await companion?.stop();
    arbitrage.stop();
    await pipeline.stop();
    const endBlock = await latestBlockNumber(provider);

    // What happened on chain, read back from events and receipts.
    const decimalsOf = (asset: string) => {
      const reserve = Object.values(world.info.market.reserves).find((r) => r.underlying.toLowerCase() === asset.toLowerCase());
      if (!reserve) throw new Error(`unknown reserve ${asset}`);
      return reserve.decimals;
    };
    const logs = await provider.getLogs({ address: world.info.market.pool, fromBlock: world.info.startBlock, toBlock: endBlock });
    const rows: LiquidationRow[] = [];
    const deficits: { block: number; user: string; usd: number }[] = [];
    let badDebtBase = 0n;
    for (const log of logs) {
      const event = POOL_EVENTS.parseLog(log);
      if (!event) continue;
      if (event.name === 'DeficitCreated') {
        const deficitBase = await valueBase(oracle, event.args.debtAsset, event.args.amountCreated, decimalsOf(event.args.debtAsset), log.blockNumber);
        badDebtBase += deficitBase;
        deficits.push({ block: log.blockNumber, user: event.args.user as string, usd: usd(deficitBase) });
      }
      if (event.name !== 'LiquidationCall') continue;
      const borrower = (event.args.user as string).toLowerCase();
      // Liquidated in the very block of the oracle update that made it liquidatable (the oracle-update path): the
      // observer reads blocks' end states and never saw it liquidatable; it was from that block on.
      const state = accounts.get(borrower);
      if (state && (state.firstLiquidatableBlock === undefined || state.firstLiquidatableBlock > log.blockNumber) && oracleUpdates.some((u) => u.block === log.blockNumber)) {
        state.firstLiquidatableBlock = log.blockNumber;
      }
      const repaid = await valueBase(oracle, event.args.debtAsset, event.args.debtToCover, decimalsOf(event.args.debtAsset), log.blockNumber);
      const received = await valueBase(oracle, event.args.collateralAsset, event.args.liquidatedCollateralAmount, decimalsOf(event.args.collateralAsset), log.blockNumber);
      const first = accounts.get(borrower)?.firstLiquidatableBlock;
      const liquidatorAddress = (event.args.liquidator as string).toLowerCase();
      rows.push({
        liquidator: liquidatorAddress,
        by:
          liquidatorAddress === world.info.liquidatorContract.toLowerCase() || world.info.accounts.liquidators.some((a) => a.toLowerCase() === liquidatorAddress)
            ? 'ours'
            : companionAddresses.has(liquidatorAddress)
              ? 'companion'
              : 'other',
        borrower,
        label: accounts.get(borrower)?.label ?? '(not a scenario borrower)',
        block: log.blockNumber,
        txHash: log.transactionHash,
        collateralAsset: event.args.collateralAsset,
        debtAsset: event.args.debtAsset,
        debtRepaidUsd: usd(repaid),
        collateralReceivedUsd: usd(received),
        profitUsd: usd(received - repaid),
        detectionLatencyBlocks: first === undefined ? undefined : log.blockNumber - first,
      });
    }
    // Every transaction our signers sent during the run, by receipt: a reverted one is explained (replayed and
    // decoded, as the worker does); a mined batch's failed items are read from its events. Each is classified:
    // the market's doing (the account liquidated or recovered first, the pool past the bound) or ours.
    const signerAddresses = new Set(world.info.accounts.liquidators.map((address) => address.toLowerCase()));
    const liquidator = new EthersLiquidatorContract(provider, world.info.liquidatorContract);
    const revertDetails: { txHash: string; block: number; item?: number; reason: string; revertClass: string; gasUsed?: string; gasLimit?: string; deepestFailure?: string }[] = [];
    let reverts = 0;
    let failedItems = 0;
    const transactions: { block: number; hash: string; from: string; by: 'ours' | 'companion'; status: number; gasUsed: number; gasWei: string }[] = [];
    const gasWei = { ours: { transactions: 0, gasUsed: 0n, wei: 0n }, companion: { transactions: 0, gasUsed: 0n, wei: 0n } };
    /** Our sales of seized collateral: what the swap paid against the oracle value of what it sold. */
    const swaps: { block: number; collateral: string; soldUsd: number; receivedUsd: number; priceImpactBps: number }[] = [];
    for (let b = world.info.startBlock; b <= endBlock; b++) {
      const block = await provider.getBlock(b, true);
      for (const tx of block?.prefetchedTransactions ?? []) {
        const side = signerAddresses.has(tx.from.toLowerCase()) ? 'ours' : companionAddresses.has(tx.from.toLowerCase()) ? 'companion' : undefined;
        if (!side) continue;
        const receipt = await provider.getTransactionReceipt(tx.hash);
        if (receipt) {
          transactions.push({ block: b, hash: tx.hash, from: tx.from, by: side, status: receipt.status ?? 0, gasUsed: Number(receipt.gasUsed), gasWei: String(receipt.gasUsed * receipt.gasPrice) });
          gasWei[side].transactions++;
          gasWei[side].gasUsed += receipt.gasUsed;
          gasWei[side].wei += receipt.gasUsed * receipt.gasPrice;
        }
        if (side !== 'ours') continue;
        if (receipt?.status === 1) {
          // The assets of a batch item are in the Pool's LiquidationCall for the same user in the same receipt.
          const calls = receipt.logs.map((log) => (log.address.toLowerCase() === world.info.market.pool.toLowerCase() ? POOL_EVENTS.parseLog(log) : null));
          for (const log of receipt.logs) {
            if (log.address.toLowerCase() !== world.info.liquidatorContract.toLowerCase()) continue;
            const sold = LIQUIDATOR_EVENTS.parseLog(log);
            if (!sold) continue;
            const user = (sold.args.user as string).toLowerCase();
            const call = calls.find((c) => c?.name === 'LiquidationCall' && (c.args.user as string).toLowerCase() === user);
            const collateralAsset = (sold.name === 'Liquidated' ? sold.args.collateralAsset : call?.args.collateralAsset) as string | undefined;
            const debtAsset = (sold.name === 'Liquidated' ? sold.args.debtAsset : call?.args.debtAsset) as string | undefined;
            if (!collateralAsset || !debtAsset || collateralAsset.toLowerCase() === debtAsset.toLowerCase()) continue;
            const soldBase = await valueBase(oracle, collateralAsset, sold.args.collateralSeized as bigint, decimalsOf(collateralAsset), b);
            const receivedBase = await valueBase(oracle, debtAsset, sold.args.swapAmountOut as bigint, decimalsOf(debtAsset), b);
            if (soldBase === 0n) continue;
            swaps.push({
              block: b,
              collateral: symbolOf.get(collateralAsset.toLowerCase()) ?? collateralAsset,
              soldUsd: usd(soldBase),
              receivedUsd: usd(receivedBase),
              priceImpactBps: Number(((soldBase - receivedBase) * 10_000n) / soldBase),
            });
          }
        }
        if (receipt?.status === 0) {
          reverts++;
          const why = await liquidator.revertOf(tx.hash).catch((error: unknown) => ({ reason: `unexplained: ${(error as Error).message}`, revertClass: 'model' as const }));
          // Ours: the gas it had and the innermost call that failed (anvil's call tracer), so a report explains it.
          const deepestFailure = why.revertClass === 'market-moved' ? undefined : await deepestFailedCall(provider, tx.hash);
          revertDetails.push({ txHash: tx.hash, block: b, ...why, gasUsed: String(receipt.gasUsed), gasLimit: String(tx.gasLimit), ...(deepestFailure ? { deepestFailure } : {}) });
        } else if (tx.to?.toLowerCase() === world.info.liquidatorContract.toLowerCase()) {
          for (const item of await liquidator.batchOutcomesIn(tx.hash)) {
            if (item.ok) continue;
            failedItems++;
            revertDetails.push({ txHash: tx.hash, block: b, item: item.index, reason: item.reason, revertClass: item.revertClass });
          }
        }
      }
    }
    // An opportunity (one candidate message's dedup id) must never get more than one transaction.
    const txsPerOpportunity = new Map<string, Set<string>>();
    for (const { outcome } of outcomes) {
      if (outcome.kind === 'mined' || outcome.kind === 'reverted') {
        const set = txsPerOpportunity.get(outcome.opportunity) ?? new Set<string>();
        set.add(outcome.txHash);
        txsPerOpportunity.set(outcome.opportunity, set);
      }
    }
    const duplicateExecutions = [...txsPerOpportunity.values()].filter((s) => s.size > 1).length;

    const everLiquidatable = [...accounts.values()].filter((a) => a.firstLiquidatableBlock !== undefined);
    const liquidatedBorrowers = new Set(rows.map((r) => r.borrower));
    const firstLiquidationLatency = [...liquidatedBorrowers]
      .map((borrower) => rows.filter((r) => r.borrower === borrower).sort((x, y) => x.block - y.block)[0].detectionLatencyBlocks)
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    // Profit realised: the contract's balance change over the run, valued at the end block's oracle prices.
    const contractAtEnd = await contractBalances(endBlock);
    const endPrices = (await oracle.getAssetsPrices(tokenList.map((t) => t.asset), { blockTag: endBlock })) as bigint[];
    const profitRealizedBase = tokenList.reduce((sum, t, i) => sum + ((contractAtEnd[i] - contractAtStart[i]) * endPrices[i]) / 10n ** BigInt(t.decimals), 0n);
    // Planned: what each mined plan expected the contract to keep (debt units), at the same prices.
    let profitPlannedBase = 0n;
    let realizedEqualsPlanned = 0;
    for (const { outcome } of outcomes) {
      if (outcome.kind !== 'mined' || 'replayed' in outcome || outcome.plan.expectedProfitUnits === undefined) continue;
      const i = tokenList.findIndex((t) => t.asset.toLowerCase() === outcome.plan.debtAsset?.toLowerCase());
      if (i >= 0) profitPlannedBase += (BigInt(outcome.plan.expectedProfitUnits) * endPrices[i]) / 10n ** BigInt(tokenList[i].decimals);
      if (outcome.realized?.profitUnits === outcome.plan.expectedProfitUnits) realizedEqualsPlanned++;
    }
    const remaining = liquidatableNow();
    const ethPriceBase = (await oracle.getAssetPrice(world.info.market.reserves.WETH?.underlying ?? reserveAssets[0], { blockTag: endBlock })) as bigint;
    const gasFigures = (g: { transactions: number; gasUsed: bigint; wei: bigint }): GasFigures => ({
      transactions: g.transactions,
      gasUsed: Number(g.gasUsed),
      eth: Number(g.wei) / 1e18,
      usd: usd((g.wei * ethPriceBase) / WAD),
    });
    /**
     * clearedBlocks: the block of the last LiquidationCall in the run minus the first block at which any account
     * was liquidatable (HF < 1 with debt and collateral, as the observer read it from the chain: the shock's own
     * block when a shock makes it so). Both come from the chain, not from the pipeline's own account. 0 = every
     * liquidation landed in the block that made its account liquidatable; null = no liquidation.
     */
    const firstLiquidatableBlock = firstLiquidatableBlockOf(accounts.values()) ?? null;
    const lastLiquidationBlock = rows.length === 0 ? null : Math.max(...rows.map((r) => r.block));
    const clearedBlocks = firstLiquidatableBlock === null || lastLiquidationBlock === null ? null : lastLiquidationBlock - firstLiquidatableBlock;
    const report = {
      scenario: scenario.name,
      aave: scenario.aave,
      sizing,
      blockTimeSec: world.info.blockTimeSec,
      blocks: { start: world.info.startBlock, end: endBlock },
      wallSeconds: (Date.now() - started) / 1000,
      /** Seconds to start the world (seeded, or loaded from the cache) and the pipeline (its first indexer run included). */
      startup: { worldSeconds: world.info.timings.bootSeconds, seededFromCache: world.info.timings.seededFromCache, pipelineSeconds: pipelineStartSeconds },
      signers,
      workerConcurrency,
      maxBatchSize,
      firstLiquidatableBlock,
      lastLiquidationBlock,
      clearedBlocks,
      oracleUpdates,
      timedOut,
      borrowers: accounts.size,
      liquidatableAccounts: everLiquidatable.length,
      liquidated: liquidatedBorrowers.size,
      remainingLiquidatable: remaining.length,
      badDebtUsd: usd(badDebtBase),
      skippedUnprofitable: outcomes.filter((o) => o.outcome.kind === 'skipped' && o.outcome.reason === 'unprofitable').length,
      staleCandidates: outcomes.filter((o) => o.outcome.kind === 'stale').length,
      duplicateCandidates: outcomes.filter((o) => o.outcome.kind === 'duplicate').length,
      failed: outcomes.filter((o) => o.outcome.kind === 'failed').length,
      duplicateExecutions,
      reverts,
      /** Transactions that carried at least one liquidation (a batch carries several). */
      liquidationTransactions: new Set(rows.filter((r) => r.by === 'ours').map((r) => r.txHash)).size,
      /** Batch items that failed inside a mined transaction (the others in it went through). */
      failedItems,
      totalDebtRepaidUsd: rows.reduce((s, r) => s + r.debtRepaidUsd, 0),
      totalProfitUsd: rows.reduce((s, r) => s + r.profitUsd, 0),
      funding: pipeline.env.FUNDING,
      liquidatorContract: world.info.liquidatorContract,
      /** ERC-20 the keeper's signing accounts held at the first block, valued at the oracle (the keeper needs none). */
      signerTokenHoldingsAtStartUsd: usd(signerHoldingsAtStartBase),
      /** The liquidator contract's balance change over the run, at the end block's oracle prices. */
      profitRealizedUsd: usd(profitRealizedBase),
      /** What the mined plans expected the contract to keep, at the same prices (interest between read and mined block aside). */
      profitPlannedUsd: usd(profitPlannedBase),
      /** Mined liquidations whose contract event reports exactly the planned profit. */
      realizedEqualsPlanned,
      /** Reverted transactions and failed batch items the market caused; `revertDetails` has each with its reason. */
      revertsByMarket: revertDetails.filter((d) => d.revertClass === 'market-moved').length,
      revertDetails,
      detectionLatencyBlocks: {
        p50: percentile(firstLiquidationLatency, 50),
        p95: percentile(firstLiquidationLatency, 95),
        max: firstLiquidationLatency.at(-1) ?? null,
      },
      /**
       * Accounts whose first liquidation was mined in the block that made them liquidatable (latency 0): for a
       * price shock, the oracle update's own block, right behind it.
       */
      sameBlockLiquidations: {
        count: firstLiquidationLatency.filter((x) => x === 0).length,
        share: firstLiquidationLatency.length === 0 ? null : firstLiquidationLatency.filter((x) => x === 0).length / firstLiquidationLatency.length,
      },
      priceUpdates,
      followPending,
      bundles: relay ? relay.bundles.map((b) => ({ blockNumber: b.blockNumber, txs: b.txHashes.length, outcome: b.outcome })) : undefined,
      remaining: remaining.map((a) => ({ label: a.label, address: a.address, healthFactor: Number(a.healthFactorWad) / 1e18 })),
      /** Accounts the Pool could not report on at the end (getUserAccountData reverted). */
      unreadableAccounts: [...unreadable].map(([address, reason]) => ({ address, label: accounts.get(address)?.label, reason })),
      /** Gas paid by the keeper's signers and by the companion (a rival keeper), every transaction counted. */
      gas: { ours: gasFigures(gasWei.ours), companion: companion ? gasFigures(gasWei.companion) : null },
      /** Every transaction of the keeper's signers and of the companion, with the gas it paid (wei). */
      transactions,
      /** The Pool's DeficitCreated events (bad debt), valued at their block's oracle price. */
      deficits,
      ethPriceUsd: usd(ethPriceBase),
      swaps,
      /** Every observed block: accounts liquidatable at its end, oracle prices, base fee. */
      timeline,
      liquidations: rows,
    };
    await options.beforeStop?.(world);
    return report;
  } finally {
    await pipeline?.stop().catch(() => undefined);
    await relay?.stop();
    await world.stop();
  }
}
