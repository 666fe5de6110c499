/**
 * npm run demo [-- --scenario NAME|FILE] [--report FILE] [--json] [--timeout SEC] [--sizing max|target-health|two-step]
 *               [--block-time SEC] [--signers 1-4] [--worker-concurrency N] [--max-batch-size N] [--verbose]
 *
 * Boots the local world and runs the pipeline's real handlers on it (indexer and scanner on an emulated
 * one-minute schedule, the worker behind an emulated SQS event source), applies the scenario's price shocks in
 * real time, and runs until every liquidatable account has been handled (or the timeout).
 *
 * The report is measured from the chain, not from the pipeline's own account: an observer reads every block's
 * health factors, and liquidations, deficits and reverts are read back from events and receipts.
 * Exit code 1 when accounts are left liquidatable, an opportunity got more than one transaction, or a
 * liquidation reverted.
 *
 * Signers and worker concurrency come from the scenario's `demo` field (default 1 and 2; `mass` uses 4 and 4),
 * the flags override them. Progress: a line per block (liquidatable now, enqueued, mined); a line per candidate
 * and per outcome only for scenarios of up to VERBOSE_UP_TO_BORROWERS borrowers or with --verbose — a mass
 * crash's thousands are summed in the block lines — but a failure, a revert or a breaker always gets its line.
 */
import { writeFileSync } from 'node:fs';
import { Contract, Interface } from 'ethers';
import { AaveV3HealthScanner } from '../functions/adapters/chain/health-scan';
import { EthersLiquidatorContract } from '../functions/adapters/chain/liquidator-contract';
import { latestBlockNumber } from '../functions/adapters/chain/provider';
import type { RecordOutcome } from '../functions/handlers/worker';
import { cliArgs } from './cli-args';
import { startBundleRelay } from './relay/bundle-relay-server';
import { startLocalPipeline } from './runtime/local-pipeline';
import type { LocalSignerCount } from './runtime/pipeline-env';
import { loadScenario, ScenarioError } from './world/scenario';

/** The local bundle relay's auth key: identity only (the stand-in checks signatures, nothing pays with it). */
const LOCAL_BUNDLE_AUTH_KEY = '0x' + '42'.repeat(32);
import { startWorld, type World } from './world/world';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Powertools reads these at construction: the demo prints its own progress, handlers only warn.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const WAD = 10n ** 18n;
const POOL_EVENTS = new Interface([
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
  'event DeficitCreated(address indexed user, address indexed debtAsset, uint256 amountCreated)',
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
}

/** The first block at which the observer read any account liquidatable (undefined: none ever was). */
function firstLiquidatableBlockOf(accounts: Iterable<AccountState>): number | undefined {
  let first: number | undefined;
  for (const a of accounts) if (a.firstLiquidatableBlock !== undefined && (first === undefined || a.firstLiquidatableBlock < first)) first = a.firstLiquidatableBlock;
  return first;
}

function percentile(sorted: number[], p: number): number | null {
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

async function main(): Promise<void> {
  const values = cliArgs({
    name: 'demo',
    usage: `usage: npm run demo [-- --scenario NAME|FILE] [--report FILE] [--json] [--timeout SEC] [--sizing max|target-health|two-step]
                    [--block-time SEC] [--signers 1-4] [--worker-concurrency N] [--max-batch-size N] [--verbose]
                    [--price-updates same-block|mempool] [--follow-pending] [--bundle-relay]
  --scenario NAME|FILE     the scenario to run (default: default)
  --report FILE            where the JSON report is written (default: demo-report.json)
  --json                   print the report as JSON on stdout instead of the summary
  --timeout SEC            stop after at most SEC seconds (default: the scenario's demo.timeoutSec)
  --sizing STRATEGY        max, target-health or two-step (default: max)
  --block-time SEC         seconds per block, 1 or more (default: the scenario's blockTimeSec)
  --signers N              signers, 1 to 4 (default: the scenario's demo.signers)
  --worker-concurrency N   concurrent workers, 1 to 10 (default: the scenario's demo.workerConcurrency)
  --max-batch-size N       liquidations per batch, 1 to 20 (default: 10)
  --verbose                a line per candidate and outcome, however many borrowers
  --price-updates MODE     same-block (default): a shock's oracle update and the arbitrage land in one block the
                           world mines itself; mempool: they wait in anvil's mempool for the next block, which
                           orders transactions by fee as a block builder does
  --follow-pending         the oracle-update path: the scanner watches the mempool for price updates and the
                           worker lands liquidations right behind them (needs --price-updates mempool)
  --bundle-relay           send those liquidations as bundles through a local eth_sendBundle stand-in
  -h, --help               print this help`,
    options: {
      scenario: { type: 'string', default: 'default' },
      report: { type: 'string', default: 'demo-report.json' },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      sizing: { type: 'string', default: 'max' },
      'block-time': { type: 'string' },
      signers: { type: 'string' },
      'worker-concurrency': { type: 'string' },
      'max-batch-size': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'price-updates': { type: 'string', default: 'same-block' },
      'follow-pending': { type: 'boolean', default: false },
      'bundle-relay': { type: 'boolean', default: false },
    },
  });
  const priceUpdates = values['price-updates'] as 'same-block' | 'mempool';
  if (!['same-block', 'mempool'].includes(priceUpdates)) throw new Error('--price-updates must be same-block or mempool');
  if (values['follow-pending'] && priceUpdates !== 'mempool') throw new Error('--follow-pending needs --price-updates mempool (updates must wait in the mempool to be followed)');
  if (values['bundle-relay'] && !values['follow-pending']) throw new Error('--bundle-relay needs --follow-pending');
  const blockTimeSec = values['block-time'] === undefined ? undefined : Number(values['block-time']);
  if (blockTimeSec !== undefined && (!Number.isInteger(blockTimeSec) || blockTimeSec < 1)) throw new Error('--block-time must be a whole number of seconds ≥ 1');
  const timeoutFlagMs = values.timeout === undefined ? undefined : Number(values.timeout) * 1000;
  if (timeoutFlagMs !== undefined && (!Number.isFinite(timeoutFlagMs) || timeoutFlagMs <= 0)) throw new Error(`--timeout must be a positive number of seconds`);
  const sizing = values.sizing as 'max' | 'target-health' | 'two-step';
  if (!['max', 'target-health', 'two-step'].includes(sizing)) throw new Error('--sizing must be max, target-health or two-step');

  const wholeNumber = (flag: string, min: number, max: number): number | undefined => {
    const text = values[flag as 'signers'];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const signersFlag = wholeNumber('signers', 1, 4);
  const workerConcurrencyFlag = wholeNumber('worker-concurrency', 1, 10);
  const maxBatchSize = wholeNumber('max-batch-size', 1, 20) ?? 10;

  const started = Date.now();
  const scenario = loadScenario(values.scenario);
  const signers = (signersFlag ?? scenario.demo.signers) as LocalSignerCount;
  const workerConcurrency = workerConcurrencyFlag ?? scenario.demo.workerConcurrency;
  const timeoutMs = timeoutFlagMs ?? scenario.demo.timeoutSec * 1000;
  const verbose = values.verbose || scenario.positions.length <= VERBOSE_UP_TO_BORROWERS;
  const say = (line: string) => console.error(process.env.DEMO_TIMESTAMPS ? `${((Date.now() - started) / 1000).toFixed(2).padStart(7)} ${line}` : line);
  say(
    `demo: scenario "${scenario.name}": ${scenario.positions.length} borrowers on Aave ${scenario.aave}, ${scenario.shocks.length} shocks, ${blockTimeSec ?? scenario.blockTimeSec} s blocks; ${signers} signer(s), ${workerConcurrency} concurrent workers, batches of up to ${maxBatchSize}`,
  );
  const world: World = await startWorld({ scenario, blockTimeSec, priceUpdates, log: say });
  const relay = values['bundle-relay'] ? await startBundleRelay({ upstreamRpcUrl: world.info.rpcUrl }) : undefined;
  const { provider } = world;
  const outcomes: { outcome: RecordOutcome; messageId: string }[] = [];
  let enqueued = 0;
  let indexerCaughtUp = false;
  let pipeline: Awaited<ReturnType<typeof startLocalPipeline>> | undefined;
  try {
    const pipelineStarting = Date.now();
    pipeline = await startLocalPipeline(world, {
      overrides: {
        ...(values['follow-pending'] ? { SCANNER_FOLLOW_PENDING_UPDATES: 'true' } : {}),
        ...(relay ? { BUNDLE_RELAY_URL: relay.url, BUNDLE_RELAY_AUTH_KEY: LOCAL_BUNDLE_AUTH_KEY } : {}),
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
    for (let run = 2; !indexerCaughtUp; run++) {
      const summary = await pipeline.indexNow();
      if (summary.newBorrowers > 0) say(`  indexer: ${summary.newBorrowers} new borrowers (blocks ${summary.fromBlock}…${summary.toBlock}, run ${run})`);
      indexerCaughtUp = summary.outcome.kind === 'caught-up' || summary.outcome.kind === 'up-to-date';
    }
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
    const shocks = world.runShocks((line) => say(`  ${line}`));
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
        const prices = ((await oracle.getAssetsPrices(reserveAssets, { blockTag: observed })) as bigint[]).join(',');
        const priceMoved = lastPrices !== undefined && prices !== lastPrices;
        await read(observed, priceMoved || lastPrices === undefined || observed - lastFullRead >= FULL_READ_EVERY_BLOCKS);
        lastPrices = prices;
        const now = liquidatableNow().length;
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
    let badDebtBase = 0n;
    for (const log of logs) {
      const event = POOL_EVENTS.parseLog(log);
      if (!event) continue;
      if (event.name === 'DeficitCreated') {
        badDebtBase += await valueBase(oracle, event.args.debtAsset, event.args.amountCreated, decimalsOf(event.args.debtAsset), log.blockNumber);
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
      rows.push({
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
    const ourTransactions = new Set<string>();
    for (let b = world.info.startBlock; b <= endBlock; b++) {
      const block = await provider.getBlock(b, true);
      for (const tx of block?.prefetchedTransactions ?? []) {
        if (!signerAddresses.has(tx.from.toLowerCase())) continue;
        ourTransactions.add(tx.hash);
        const receipt = await provider.getTransactionReceipt(tx.hash);
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
      liquidationTransactions: new Set(rows.map((r) => r.txHash)).size,
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
      followPending: values['follow-pending'],
      bundles: relay ? relay.bundles.map((b) => ({ blockNumber: b.blockNumber, txs: b.txHashes.length, outcome: b.outcome })) : undefined,
      remaining: remaining.map((a) => ({ label: a.label, address: a.address, healthFactor: Number(a.healthFactorWad) / 1e18 })),
      /** Accounts the Pool could not report on at the end (getUserAccountData reverted). */
      unreadableAccounts: [...unreadable].map(([address, reason]) => ({ address, label: accounts.get(address)?.label, reason })),
      liquidations: rows,
    };
    writeFileSync(values.report, JSON.stringify(report, null, 2));
    if (values.json) console.log(JSON.stringify(report));
    else {
      const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
      const lat = report.detectionLatencyBlocks;
      console.log('');
      console.log(`summary — "${report.scenario}" on Aave ${report.aave}, ${report.blockTimeSec} s blocks ${report.blocks.start}…${report.blocks.end}, ${report.wallSeconds.toFixed(1)} s`);
      console.log(`  borrowers                     ${report.borrowers}`);
      console.log(`  became liquidatable           ${report.liquidatableAccounts}`);
      console.log(`  liquidated                    ${report.liquidated} (${report.liquidationTransactions} transactions)`);
      console.log(`  remaining liquidatable        ${report.remainingLiquidatable}`);
      if (report.unreadableAccounts.length > 0) console.log(`  unreadable (Pool reverts)     ${report.unreadableAccounts.length}`);
      console.log(`  duplicate executions          ${report.duplicateExecutions}`);
      console.log(`  reverts                       ${report.reverts} transactions, ${report.failedItems} batch items (${report.revertsByMarket} because the market moved)`);
      for (const d of report.revertDetails.filter((r) => r.revertClass !== 'market-moved')) {
        const gas = d.gasUsed === undefined ? '' : `; gas ${d.gasUsed} of ${d.gasLimit}`;
        console.log(`    ours: ${d.txHash}${d.item === undefined ? '' : ` item ${d.item}`} (block ${d.block}): ${d.reason}${gas}${d.deepestFailure ? `; innermost failure: ${d.deepestFailure}` : ''}`);
      }
      console.log(`  skipped as unprofitable       ${report.skippedUnprofitable}`);
      console.log(`  stale / duplicate candidates  ${report.staleCandidates} / ${report.duplicateCandidates}`);
      console.log(`  bad debt                      ${money(report.badDebtUsd)}`);
      console.log(`  debt repaid                   ${money(report.totalDebtRepaidUsd)}`);
      console.log(`  profit (before gas)           ${money(report.totalProfitUsd)}`);
      console.log(`  funding                       ${report.funding} through ${report.liquidatorContract}`);
      console.log(`  signer tokens at start        ${money(report.signerTokenHoldingsAtStartUsd)}`);
      console.log(`  profit realised (contract)    ${money(report.profitRealizedUsd)} (planned ${money(report.profitPlannedUsd)}; ${report.realizedEqualsPlanned} to the unit)`);
      console.log(`  cleared in (blocks)           ${report.clearedBlocks ?? '–'}${report.clearedBlocks === null ? '' : ` (first liquidatable block ${report.firstLiquidatableBlock} → last liquidation ${report.lastLiquidationBlock})`}`);
      for (const u of report.oracleUpdates) console.log(`  oracle update, block ${u.block}   ${u.liquidatable} liquidatable (${u.newlyLiquidatable} newly)`);
      console.log(`  signers / workers / batch     ${report.signers} / ${report.workerConcurrency} / ${report.maxBatchSize}`);
      console.log(`  start-up                      world ${report.startup.worldSeconds.toFixed(1)} s${report.startup.seededFromCache ? ' (cached market)' : ' (seeded)'}, pipeline ${report.startup.pipelineSeconds.toFixed(1)} s`);
      console.log(`  detection latency (blocks)    p50 ${lat.p50 ?? '–'}, p95 ${lat.p95 ?? '–'}, max ${lat.max ?? '–'}`);
      console.log(`  report                        ${values.report}`);
    }
    const ok =
      report.remainingLiquidatable === 0 &&
      report.duplicateExecutions === 0 &&
      // A revert the market caused (mostly the keeper's own liquidations selling into one pool in one block,
      // which issue-11 batching plans together) is reported apart; any other revert fails the run.
      report.reverts + report.failedItems === report.revertsByMarket &&
      report.signerTokenHoldingsAtStartUsd === 0 &&
      (report.liquidationTransactions === 0 || report.profitRealizedUsd > 0);
    if (!ok) console.error('demo: FAILED — accounts left liquidatable, duplicate executions, reverts of our own making, a signer holding tokens or no profit realised (see the report)');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await pipeline?.stop().catch(() => undefined);
    await relay?.stop();
    await world.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof ScenarioError ? err.message : `demo: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
