/**
 * The local world: anvil with a real Aave V3 market and the scenario's borrowers, a Uniswap V3 DEX with a pool per
 * pair kept at the oracle price (local/world/dex), DynamoDB Local and the fauxqs SQS emulator, with the pipeline's
 * tables and queues created from lib/resources.ts.
 *
 *   const world = await startWorld({ scenario: loadScenario('default') });
 *   …
 *   await world.stop();
 *
 * Every process it starts is stopped by `stop()`, and also when the owning Node process exits (processes.ts).
 */
import { rmSync } from 'node:fs';
import { Contract, formatUnits, getAddress, type JsonRpcProvider, JsonRpcSigner, MaxUint256, parseUnits, toQuantity, Transaction } from 'ethers';
import { createJsonRpcProvider, latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import type { AaveMarket } from './aave/market';
import { LOCAL_CHAIN_ID, startAnvil, type Anvil } from './anvil';
import { type DexDeployment, findPool, movePoolsToTargets, oracleTarget, readPoolState } from './dex';
import { type Eip1559Fees, movePoolsThroughMempool, sendPending } from './dex/mempool';
import { parsePair } from './dex/pairs';
import { miningModeOf } from './dex/same-block';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
import { type Fauxqs, startFauxqs } from './fauxqs';
import { createQueues, createTables, localDynamoDbClient, localSqsClient, type QueueUrls, type TableNames } from './resources';
import { type AssetSymbol, PRICE_DECIMALS, type Scenario, type ShockStep } from './scenario';
import { ACCOUNTS, commitSeedCache, pendingStatePath, readSeedCache, seedCacheKey, type SeededBorrower, seedMarket } from './seed';

export interface WorldOptions {
  scenario: Scenario;
  /** Overrides the scenario's block time; 0 = automine. */
  blockTimeSec?: number;
  /** Start DynamoDB Local and fauxqs and create the pipeline's tables and queues (default true). */
  services?: boolean;
  /** Prefix of table and queue names (default `local`). */
  resourcePrefix?: string;
  /** Ignore a cached seed and deploy again. */
  reseed?: boolean;
  /**
   * How `setPrice` (and the shocks) reach the chain (default 'same-block'):
   * - 'same-block': mining pauses, the feed update and the arbitrage swaps are mined in one block of their own;
   * - 'mempool': as a real oracle update, a pending transaction in a fee-ordered mempool (anvil `--order fees`)
   *   with `priceUpdatePriorityFeeWei`, the arbitrage swaps behind it at lower fees, mined on the interval like
   *   any transaction, so a follower can land in the update's block, priced equal to it and sent after it.
   *   Needs interval mining (`blockTimeSec` > 0).
   */
  priceUpdates?: PriceUpdateMode;
  /** Priority fee of a price update in 'mempool' mode, wei per gas (default 3 gwei: recognisable, and above the arbitrage's). */
  priceUpdatePriorityFeeWei?: bigint;
  log?: (line: string) => void;
}

export type PriceUpdateMode = 'same-block' | 'mempool';

/** Priority fee of a price update in 'mempool' mode unless the world options say otherwise. */
export const DEFAULT_PRICE_UPDATE_PRIORITY_FEE_WEI = parseUnits('3', 'gwei');

/** Everything a process needs to talk to the world; JSON-serialisable (written by `npm run world -- up`). */
export interface WorldInfo {
  scenario: string;
  rpcUrl: string;
  chainId: string;
  blockTimeSec: number;
  market: AaveMarket;
  tokens: Record<string, string>;
  feeds: Record<string, string>;
  accounts: { deployer: string; liquidityProvider: string; liquidators: string[]; dexLiquidityProvider: string; arbitrageur: string };
  borrowers: SeededBorrower[];
  /**
   * Uniswap V3: factory, SwapRouter02 (`swapRouter`), QuoterV2 (`quoter`), NonfungiblePositionManager and one pool
   * per pair of listed assets (`{ pair, token0, token1, symbol0, symbol1, fee, address }`), opened at the oracle
   * prices with the scenario's depth (local/world/dex).
   */
  dex: DexDeployment;
  /**
   * Our Liquidator contract (contracts/src/Liquidator.sol, constructor `(pool, swapRouter)`) over `market.pool`
   * and `dex.swapRouter`: owned by `accounts.liquidators[0]`, which deployed it; every other liquidator account is
   * an authorised caller (`setCaller`).
   */
  liquidatorContract: string;
  /** The first block of the running world (after the seeded state was loaded). */
  startBlock: number;
  /**
   * How price updates reach the chain (WorldOptions.priceUpdates). In 'mempool' mode an update is a pending
   * type-2 transaction from `accounts.deployer` to the asset's feed (`feeds`), offering `priorityFeeWei` (decimal
   * string) and a maxFeePerGas of twice the latest base fee plus that; the arbitrage swaps follow at lower fees.
   */
  priceUpdates: { mode: 'same-block' } | { mode: 'mempool'; priorityFeeWei: string };
  dynamodb?: { endpoint: string; tables: TableNames };
  sqs?: { endpoint: string; queues: QueueUrls };
  timings: { bootSeconds: number; seededFromCache: boolean };
}

export interface ShockRunner {
  /** Resolves when every shock has been applied, with the block the last one was mined in (or the start block). */
  done: Promise<number>;
  stop(): void;
}

export interface World {
  info: WorldInfo;
  provider: JsonRpcProvider;
  /**
   * Sets an asset's oracle price (USD, 8 decimals) through its feed and, in the SAME block, swaps every DEX pool
   * holding that asset to the price the oracles now imply (the arbitrage step: a swap after a crash pays the
   * crashed price). Resolves once mined, with that block's number. Only if a pool missed its target (another
   * swap landed first) does it take one more block per retry. To get one block, mining is paused for the few
   * milliseconds of sending and then set back to the world's own mode (automine or `blockTimeSec`), so do not
   * call it while a test holds mining paused itself. Calls to setPrice and movePool run one at a time.
   *
   * In 'mempool' mode (WorldOptions.priceUpdates) nothing pauses mining: the update is sent as a pending
   * transaction with the world's priority fee, then the swaps as pending transactions at lower fees (in the same
   * block unless the interval block is cut between the two sends). Resolves once the update and the swaps are
   * mined, with the update's block.
   */
  setPrice(asset: AssetSymbol, priceBase8: bigint): Promise<number>;
  /**
   * setPrice for several assets at once: every feed update and the arbitrage swaps of every pool holding one of
   * them land in ONE block (same-block mode), or are pending together, the updates first ('mempool' mode; the
   * block of the last update is returned). `setPrices({ WETH: 2_400_00000000n, WBTC: 40_000_00000000n })`.
   */
  setPrices(pricesBase8: Partial<Record<AssetSymbol, bigint>>): Promise<number>;
  /**
   * Holds the chain's base fee at `baseFeeWei` from the next block on, until called again (see BaseFeeHolder
   * below for how anvil is made to hold it). Resolves with the first block that will carry it.
   */
  holdBaseFee(baseFeeWei: bigint): Promise<number>;
  /**
   * Moves one DEX pool alone — someone else's swap — to the price implied by the given USD prices (8 decimals) of
   * its two assets, leaving the oracle where it is: `movePool('WETH/USDC', { WETH: 2_900_00000000n, USDC:
   * 1_00000000n })`. The pair may be written in either order. Resolves once mined, with the block and the pool's
   * new sqrtPriceX96.
   */
  movePool(pair: string, pricesBase8: Partial<Record<AssetSymbol, bigint>>): Promise<{ blockNumber: number; sqrtPriceX96: bigint }>;
  /**
   * Mints `account` $100M of every listed asset and approves the Pool for it: for tests and benchmarks that
   * liquidate directly from an account (the engine's differential tests). The keeper itself needs no tokens: its
   * liquidator accounts start with ETH only and liquidate through the contract with flash loans.
   */
  fundAccount(account: string): Promise<void>;
  /**
   * Arbitrageurs: after every new block, pools whose price left the oracle's by more than `toleranceBps` (someone's
   * swap, the keeper's own liquidations) are swapped back to it, as arbitrage does on a real market between
   * blocks. The demo runs it; tests that need a pool held away from the oracle do not.
   */
  startArbitrage(options?: { toleranceBps?: number; onMove?: (line: string) => void }): { stop(): void };
  /**
   * Applies the scenario's shocks as blocks pass: `afterBlocks` counts from the world's start block, so a shock
   * lands at the same block however long the caller took to start. A step's base fee is held from its block on
   * (holdBaseFee) and its prices land in that block (setPrices). Resolves `done` with the last shock's block.
   */
  runShocks(onShock?: (line: string) => void): ShockRunner;
  stop(): Promise<void>;
}

const FUNDING_ABI = ['function mint(address to, uint256 amount)', 'function approve(address spender, uint256 amount) returns (bool)'];
const FEED_ABI = ['function setPrice(int256 answer)', 'function latestAnswer() view returns (int256)'];
/** Gas limit of a feed update sent in a batch (SettablePriceFeed.setPrice uses ~35k). */
const SET_PRICE_GAS = 100_000n;

/**
 * Fees of a price update in 'mempool' mode (and of funding): the priority fee given and a maxFeePerGas of twice the base fee plus
 * it (as ethers' default), so a base fee rising for a block or two cannot price it out. The base fee is the
 * latest block's or, when higher, the one the world holds from the next block on (a gas step landing with it).
 */
async function priceUpdateFees(provider: JsonRpcProvider, priorityFeeWei: bigint, heldBaseFeeWei: bigint | undefined): Promise<Eip1559Fees> {
  const latest = (await provider.send('eth_getBlockByNumber', ['latest', false])) as { baseFeePerGas?: string };
  const latestBaseFeeWei = BigInt(latest.baseFeePerGas ?? 0);
  const baseFeeWei = heldBaseFeeWei !== undefined && heldBaseFeeWei > latestBaseFeeWei ? heldBaseFeeWei : latestBaseFeeWei;
  return { maxFeePerGasWei: 2n * baseFeeWei + priorityFeeWei, maxPriorityFeePerGasWei: priorityFeeWei };
}

/** Tip of the world's funding transactions (fundAccount), wei per gas. */
const FUNDING_PRIORITY_FEE_WEI = parseUnits('1', 'gwei');

/** How often the base-fee holder looks for a new block (a block every 2 s leaves ~100 ms unpinned at worst). */
const BASE_FEE_POLL_MS = 100;

/**
 * Holds anvil's base fee at a chosen value. anvil (1.7.x) has no fixed base fee: `anvil_setNextBlockBaseFeePerGas`
 * sets the NEXT block's only, and every block after follows EIP-1559 from its gas use — with a 1,000,000,000-gas
 * limit a block is nearly empty, so the fee falls 12.5 % a block (measured: 120 → 105 → 91.9 → 80.4 gwei). The
 * holder therefore sets it again as soon as it sees a new block (polling every BASE_FEE_POLL_MS), and
 * sendInOneBlock pins it while mining is paused (`pin`), so the world's own one-block moves always carry it.
 *
 * Who still gets mined (measured on anvil 1.7.1, base fee held at 6× its value):
 * - the world's eth_sendTransaction calls (feeds, arbitrage swaps): anvil prices them at the next block's base fee
 *   + 1 gwei with no headroom, which is why they are only sent once the fee is pinned (sendInOneBlock);
 * - funding (fundAccount) and 'mempool' price updates: 2 × the base fee + tip, explicit (priceUpdateFees);
 * - the keeper: 2 × the next base fee eth_feeHistory reports + tip (ethers-chain-gateway feesAfter). anvil's
 *   eth_feeHistory computes that next fee by EIP-1559 (0.875 × the held fee after a near-empty block), so the
 *   keeper offers ≥ 1.75 × the held fee. A transaction signed just BEFORE a step raises the fee can be priced
 *   out until the transaction follower replaces it at the new fee, as on mainnet during a gas spike.
 * Between a block and the holder's next poll the next fee is briefly the drifted one: a transaction whose fees are
 * left to anvil (eth_sendTransaction without them) and sent in that window is priced under the held fee and waits
 * until the fee falls (the next gas step). The world never does that while a fee is held; a test or script that
 * sends its own transactions during a gas step should give explicit fees, as every real client does.
 */
class BaseFeeHolder {
  private heldWei: bigint | undefined;
  private lastBlock = -1;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly log: (line: string) => void,
  ) {}

  get baseFeeWei(): bigint | undefined {
    return this.heldWei;
  }

  /** Holds `baseFeeWei` from the next block on; resolves with that block's number. */
  async hold(baseFeeWei: bigint): Promise<number> {
    this.heldWei = baseFeeWei;
    await this.pin();
    if (!this.timer) this.timer = setInterval(() => void this.pinOnNewBlock(), BASE_FEE_POLL_MS);
    return (await latestBlockNumber(this.provider)) + 1;
  }

  /** Sets the next block's base fee to the held one (nothing when none is held). */
  pin = async (): Promise<void> => {
    if (this.heldWei !== undefined) await this.provider.send('anvil_setNextBlockBaseFeePerGas', [toQuantity(this.heldWei)]);
  };

  private async pinOnNewBlock(): Promise<void> {
    try {
      const block = await latestBlockNumber(this.provider);
      if (block === this.lastBlock) return;
      this.lastBlock = block;
      await this.pin();
    } catch (error) {
      // Also when the world is stopping: the next poll tries again, and stop() clears the timer.
      if (this.timer) this.log(`world: holding the base fee failed: ${(error as Error).message}`);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** `WETH → $2,400, WBTC → $40,000` for a step's line. */
function describePrices(pricesBase8: Partial<Record<AssetSymbol, bigint>>): string {
  return (Object.entries(pricesBase8) as [AssetSymbol, bigint][])
    .map(([asset, priceBase8]) => `${asset} → $${(Number(priceBase8) / 10 ** PRICE_DECIMALS).toLocaleString('en-US')}`)
    .join(', ');
}

/** The line runShocks reports for a step: every asset it moved and the base fee it set. */
function describeStep(step: ShockStep, block: number): string {
  const parts = [];
  if (Object.keys(step.prices).length > 0) parts.push(describePrices(step.prices));
  if (step.baseFeeWei !== undefined) parts.push(`base fee ${formatUnits(step.baseFeeWei, 'gwei').replace(/\.0$/, '')} gwei`);
  return `shock: ${parts.join(', ')} (block ${block})`;
}

/**
 * Fees of the arbitrage behind an update: half its priority fee and a maxFeePerGas lower by the same amount, so
 * the swaps come after the update (and after a follower priced equal to it) both in anvil's order (maxFeePerGas)
 * and a builder's (effective priority fee).
 */
function arbitrageFeesBehind(update: Eip1559Fees): Eip1559Fees {
  const lowerByWei = update.maxPriorityFeePerGasWei - update.maxPriorityFeePerGasWei / 2n;
  return { maxFeePerGasWei: update.maxFeePerGasWei - lowerByWei, maxPriorityFeePerGasWei: update.maxPriorityFeePerGasWei - lowerByWei };
}

/** A price update waiting in the mempool ('mempool' mode), as a follower sees it. */
export interface PendingPriceUpdate {
  hash: string;
  /** The signed transaction, as eth_sendRawTransaction and a bundle's `txs` take it. */
  raw: string;
  maxFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
}

interface RpcTransaction {
  hash: string;
  from: string;
  to: string | null;
  blockNumber: string | null;
  type: string;
  chainId: string;
  nonce: string;
  gas: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  value: string;
  input: string;
  accessList?: { address: string; storageKeys: string[] }[];
  r: string;
  s: string;
  yParity?: string;
  v: string;
}

/**
 * The pending (not yet mined) update of `asset`'s feed from the world's deployer, read from anvil's mempool
 * (`txpool_content`), or undefined when none waits. Its signed raw transaction is rebuilt from
 * eth_getTransactionByHash and checked against the hash.
 */
export async function findPendingPriceUpdate(provider: JsonRpcProvider, info: WorldInfo, asset: AssetSymbol): Promise<PendingPriceUpdate | undefined> {
  const feed = info.feeds[asset];
  if (!feed) throw new Error(`asset ${asset} is not listed in this world`);
  const content = (await provider.send('txpool_content', [])) as { pending: Record<string, Record<string, RpcTransaction>> };
  const fromDeployer = Object.entries(content.pending).find(([address]) => getAddress(address) === getAddress(info.accounts.deployer))?.[1] ?? {};
  const listed = Object.values(fromDeployer).find((tx) => tx.to !== null && getAddress(tx.to) === getAddress(feed));
  if (!listed) return undefined;
  const tx = (await provider.send('eth_getTransactionByHash', [listed.hash])) as RpcTransaction | null;
  if (!tx || tx.blockNumber !== null) return undefined; // mined between the two reads
  if (tx.type !== '0x2') throw new Error(`price update ${tx.hash} is of type ${tx.type}, expected an EIP-1559 transaction (0x2)`);
  const raw = Transaction.from({
    type: 2,
    chainId: BigInt(tx.chainId),
    nonce: Number(tx.nonce),
    to: tx.to,
    gasLimit: BigInt(tx.gas),
    maxFeePerGas: BigInt(tx.maxFeePerGas),
    maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas),
    value: BigInt(tx.value),
    data: tx.input,
    accessList: tx.accessList ?? [],
    signature: { r: tx.r, s: tx.s, yParity: Number(tx.yParity ?? tx.v) as 0 | 1 },
  });
  if (raw.hash !== tx.hash) throw new Error(`rebuilding price update ${tx.hash} gave a transaction hashing to ${raw.hash}`);
  return { hash: tx.hash, raw: raw.serialized, maxFeePerGasWei: BigInt(tx.maxFeePerGas), maxPriorityFeePerGasWei: BigInt(tx.maxPriorityFeePerGas) };
}

async function seedOrLoad(scenario: Scenario, reseed: boolean, log: (line: string) => void) {
  const key = seedCacheKey(scenario);
  const cached = reseed ? undefined : readSeedCache(key);
  if (cached) {
    log(`world: using cached market ${key}`);
    return { seed: cached, fromCache: true };
  }
  log(`world: seeding ${scenario.positions.length} positions on Aave ${scenario.aave} (cached for next time)`);
  const dumpPath = pendingStatePath(key);
  const anvil = await startAnvil({ blockTimeSec: 0, dumpStatePath: dumpPath });
  let result;
  try {
    const provider = createJsonRpcProvider(anvil.rpcUrl, LOCAL_CHAIN_ID);
    result = await seedMarket(provider, scenario, key, log);
    provider.destroy();
  } finally {
    // anvil writes its state to dumpPath as it exits; a failed seeding leaves nothing behind.
    await anvil.process.stop();
    if (!result) rmSync(dumpPath, { force: true });
  }
  return { seed: commitSeedCache(result, dumpPath), fromCache: false };
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const started = process.hrtime.bigint();
  const log = options.log ?? (() => undefined);
  const { scenario } = options;
  const blockTimeSec = options.blockTimeSec ?? scenario.blockTimeSec;
  const withServices = options.services ?? true;
  const prefix = options.resourcePrefix ?? 'local';
  const priceUpdates = options.priceUpdates ?? 'same-block';
  const priceUpdatePriorityFeeWei = options.priceUpdatePriorityFeeWei ?? DEFAULT_PRICE_UPDATE_PRIORITY_FEE_WEI;
  if (priceUpdates === 'mempool' && blockTimeSec === 0) {
    throw new Error(
      "priceUpdates 'mempool' needs interval mining (blockTimeSec > 0): with automine every transaction is mined alone the moment it arrives, so an update never waits in the mempool",
    );
  }
  if (priceUpdatePriorityFeeWei <= 0n) throw new Error('priceUpdatePriorityFeeWei must be positive: the arbitrage behind an update pays less');

  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    await Promise.allSettled(stoppers.splice(0).map((stop) => stop()));
  };

  // Services boot (DynamoDB Local takes seconds to start its JVM) while the market is seeded or loaded. Each one's
  // stopper is registered the moment it is up, so a start failing elsewhere (seeding, the other service) stops it;
  // the failure path waits for both to settle first, so one still booting is not left behind.
  const registered = <T extends { process: { stop(): Promise<void> } }>(service: T): T => {
    stoppers.push(service.process.stop);
    return service;
  };
  const servicesStarting: [Promise<DynamoDbLocal>, Promise<Fauxqs>] | undefined = withServices
    ? [startDynamoDbLocal().then(registered), startFauxqs().then(registered)]
    : undefined;
  const servicesReady: Promise<{ ddb: DynamoDbLocal; sqs: Fauxqs } | undefined> = servicesStarting
    ? Promise.all(servicesStarting).then(([ddb, sqs]) => ({ ddb, sqs }))
    : Promise.resolve(undefined);
  // Awaited below, or settled in the failure path: not an unhandled rejection meanwhile.
  servicesReady.catch(() => undefined);

  try {

    const { seed, fromCache } = await seedOrLoad(scenario, options.reseed ?? false, log);
    const anvil: Anvil = await startAnvil({
      blockTimeSec,
      loadStatePath: seed.statePath,
      ...(priceUpdates === 'mempool' ? { order: 'fees' as const } : {}),
    });
    stoppers.push(anvil.process.stop);
    const provider = createJsonRpcProvider(anvil.rpcUrl, LOCAL_CHAIN_ID);
    stoppers.push(async () => provider.destroy());
    // Resume time just after the seeded block, so debt does not accrue for however long the cache sat on disk.
    await provider.send('evm_setTime', [seed.result.seededTimestamp + 1]);
    if (blockTimeSec === 0) await provider.send('evm_mine', []);
    const startBlock = await latestBlockNumber(provider);

    const services = await servicesReady;
    let dynamodb: WorldInfo['dynamodb'];
    let sqs: WorldInfo['sqs'];
    if (services) {
      const ddbClient = localDynamoDbClient(services.ddb.endpoint);
      const sqsClient = localSqsClient(services.sqs.endpoint);
      const [tables, queues] = await Promise.all([createTables(ddbClient, prefix), createQueues(sqsClient, prefix)]);
      ddbClient.destroy();
      sqsClient.destroy();
      dynamodb = { endpoint: services.ddb.endpoint, tables };
      sqs = { endpoint: services.sqs.endpoint, queues };
    }

    const info: WorldInfo = {
      scenario: scenario.name,
      rpcUrl: anvil.rpcUrl,
      chainId: LOCAL_CHAIN_ID.toString(),
      blockTimeSec,
      market: seed.result.market,
      tokens: seed.result.tokens,
      feeds: seed.result.feeds,
      accounts: {
        deployer: ACCOUNTS.deployer,
        liquidityProvider: ACCOUNTS.liquidityProvider,
        liquidators: [...ACCOUNTS.liquidators],
        dexLiquidityProvider: ACCOUNTS.dexLiquidityProvider,
        arbitrageur: ACCOUNTS.arbitrageur,
      },
      borrowers: seed.result.borrowers,
      dex: seed.result.dex,
      liquidatorContract: seed.result.liquidatorContract,
      startBlock,
      priceUpdates: priceUpdates === 'mempool' ? { mode: 'mempool', priorityFeeWei: priceUpdatePriorityFeeWei.toString() } : { mode: 'same-block' },
      dynamodb,
      sqs,
      timings: { bootSeconds: Number(process.hrtime.bigint() - started) / 1e9, seededFromCache: fromCache },
    };
    log(`world: ready in ${info.timings.bootSeconds.toFixed(1)} s at block ${startBlock} (${anvil.rpcUrl})`);

    // Price moves pause mining for a moment (dex/same-block.ts): one at a time.
    let moving: Promise<unknown> = Promise.resolve();
    const oneAtATime = <T>(move: () => Promise<T>): Promise<T> => {
      const next = moving.then(move, move);
      moving = next.catch(() => undefined); // the caller gets the failure; the queue goes on
      return next;
    };
    const baseFee = new BaseFeeHolder(provider, log);
    stoppers.push(async () => baseFee.stop());
    const moveOptions = { swapRouter: info.dex.swapRouter, arbitrageur: ACCOUNTS.arbitrageur, mining: miningModeOf(blockTimeSec), beforeBlock: baseFee.pin };
    const feedOf = (asset: AssetSymbol) => {
      const feed = info.feeds[asset];
      if (!feed) throw new Error(`asset ${asset} is not listed in this world`);
      return new Contract(feed, FEED_ABI, provider);
    };

    /** Every pool holding one of the assets priced, with the price the oracles imply once their feeds say so. */
    const oracleTargetsAfter = async (pricesBase8: Partial<Record<AssetSymbol, bigint>>) => {
      const prices: Partial<Record<AssetSymbol, bigint>> = { ...pricesBase8 };
      const moved = (symbol: AssetSymbol) => pricesBase8[symbol] !== undefined;
      const pools = info.dex.pools.filter((p) => moved(p.symbol0) || moved(p.symbol1));
      for (const p of pools) {
        for (const symbol of [p.symbol0, p.symbol1]) prices[symbol] ??= (await feedOf(symbol).getFunction('latestAnswer').staticCall()) as bigint;
      }
      return pools.map((p) => oracleTarget(p, prices));
    };

    /** The feed updates themselves: the deployer sets each asset's price on its feed. */
    const priceUpdateCalls = async (pricesBase8: Partial<Record<AssetSymbol, bigint>>) =>
      Promise.all(
        (Object.entries(pricesBase8) as [AssetSymbol, bigint][]).map(async ([asset, priceBase8]) => {
          const feed = feedOf(asset);
          return {
            label: `setting the ${asset} price`,
            from: ACCOUNTS.deployer,
            to: await feed.getAddress(),
            data: feed.interface.encodeFunctionData('setPrice', [priceBase8]),
            gas: SET_PRICE_GAS,
            mustSucceed: true,
          };
        }),
      );

    const setPricesInOneBlock = (pricesBase8: Partial<Record<AssetSymbol, bigint>>): Promise<number> =>
      oneAtATime(async () => {
        const targets = await oracleTargetsAfter(pricesBase8);
        const { firstBlock } = await movePoolsToTargets(provider, targets, { ...moveOptions, leading: await priceUpdateCalls(pricesBase8) });
        return firstBlock;
      });

    const setPricesThroughMempool = (pricesBase8: Partial<Record<AssetSymbol, bigint>>): Promise<number> =>
      oneAtATime(async () => {
        const targets = await oracleTargetsAfter(pricesBase8);
        const fees = await priceUpdateFees(provider, priceUpdatePriorityFeeWei, baseFee.baseFeeWei);
        // Equal fees: anvil keeps their arrival order, all ahead of the cheaper swaps (anvil.ts `order`).
        const sent = [];
        for (const update of await priceUpdateCalls(pricesBase8)) sent.push({ update, hash: await sendPending(provider, update, fees) });
        await movePoolsThroughMempool(provider, targets, { swapRouter: info.dex.swapRouter, arbitrageur: ACCOUNTS.arbitrageur, fees: arbitrageFeesBehind(fees) });
        let lastBlock = 0;
        for (const { update, hash } of sent) {
          const receipt = await pollReceipt(provider, hash);
          if (receipt.status !== 1) throw new Error(`${update.label} reverted (tx ${hash})`);
          lastBlock = Math.max(lastBlock, receipt.blockNumber);
        }
        return lastBlock;
      });

    const setPrices = (pricesBase8: Partial<Record<AssetSymbol, bigint>>): Promise<number> => {
      if (Object.keys(pricesBase8).length === 0) return Promise.reject(new Error('setPrices: no asset to price'));
      return priceUpdates === 'mempool' ? setPricesThroughMempool(pricesBase8) : setPricesInOneBlock(pricesBase8);
    };
    const setPrice = (asset: AssetSymbol, priceBase8: bigint): Promise<number> => setPrices({ [asset]: priceBase8 });
    const holdBaseFee = (baseFeeWei: bigint): Promise<number> => {
      if (baseFeeWei <= 0n) return Promise.reject(new Error('holdBaseFee: the base fee must be positive'));
      // Queued with the price moves, so a step's fee is pinned before its prices are sent.
      return oneAtATime(() => baseFee.hold(baseFeeWei));
    };

    const movePool = (pair: string, pricesBase8: Partial<Record<AssetSymbol, bigint>>) =>
      oneAtATime(async () => {
        const parsed = parsePair(pair, Object.keys(scenario.assets));
        if (parsed.kind === 'invalid') throw new Error(`movePool(${pair}): ${parsed.reason}`);
        const pool = findPool(info.dex.pools, ...parsed.assets);
        if (!pool) throw new Error(`movePool(${pair}): this world has no ${pair} pool`);
        const { settledBlock } = await movePoolsToTargets(provider, [oracleTarget(pool, pricesBase8)], moveOptions);
        const { sqrtPriceX96 } = await readPoolState(provider, pool.address, settledBlock);
        return { blockNumber: settledBlock, sqrtPriceX96 };
      });

    const runShocks = (onShock?: (line: string) => void): ShockRunner => {
      let stopped = false;
      const done = (async () => {
        const from = startBlock;
        let lastShockBlock = startBlock;
        const pending = [...scenario.shocks].sort((a, b) => a.afterBlocks - b.afterBlocks);
        while (!stopped && pending.length > 0) {
          const block = await latestBlockNumber(provider);
          while (pending.length > 0 && block >= from + pending[0].afterBlocks) {
            const step = pending.shift()!;
            // The fee first: the step's prices then land in the first block that carries it.
            const feeBlock = step.baseFeeWei !== undefined ? await holdBaseFee(step.baseFeeWei) : undefined;
            if (Object.keys(step.prices).length > 0) {
              const updateBlock = await setPrices(step.prices);
              // Same-block mode keeps reporting the head after the move; in mempool mode the head may already be
              // past the update (its swaps landed a block later), and the update's own block is the shock's.
              lastShockBlock = priceUpdates === 'mempool' ? updateBlock : await latestBlockNumber(provider);
            } else {
              lastShockBlock = feeBlock!;
            }
            onShock?.(describeStep(step, lastShockBlock));
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return lastShockBlock;
      })();
      return { done, stop: () => void (stopped = true) };
    };

    const fundAccount = async (account: string): Promise<void> => {
      const owner = new JsonRpcSigner(provider, account);
      for (const [symbol, address] of Object.entries(info.tokens) as [AssetSymbol, string][]) {
        const amount = (100_000_000n * 10n ** BigInt(scenario.assets[symbol]!.decimals + PRICE_DECIMALS)) / scenario.assets[symbol]!.priceUsd;
        const token = new Contract(address, FUNDING_ABI, owner);
        for (const [method, args] of [['mint', [account, amount]], ['approve', [info.market.pool, MaxUint256]]] as const) {
          // Explicit fees: left to anvil, a transaction sent just after a block is priced at that moment's next
          // base fee + 1 gwei, under a held one (BaseFeeHolder).
          const fees = await priceUpdateFees(provider, FUNDING_PRIORITY_FEE_WEI, baseFee.baseFeeWei);
          const tx = await token.getFunction(method).send(...args, { maxFeePerGas: fees.maxFeePerGasWei, maxPriorityFeePerGas: fees.maxPriorityFeePerGasWei });
          const receipt = await pollReceipt(provider, tx.hash);
          if (receipt.status !== 1) throw new Error(`funding ${account} with ${symbol}: ${method} reverted (tx ${tx.hash})`);
        }
      }
    };

    const startArbitrage = (options: { toleranceBps?: number; onMove?: (line: string) => void } = {}) => {
      const toleranceBps = BigInt(options.toleranceBps ?? 10);
      let stopped = false;
      let lastBlock = -1;
      const symbols = Object.keys(info.tokens) as AssetSymbol[];
      const loop = async () => {
        while (!stopped) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          const block = await latestBlockNumber(provider).catch(() => lastBlock);
          if (block === lastBlock) continue;
          lastBlock = block;
          try {
            await oneAtATime(async () => {
              const prices = Object.fromEntries(
                await Promise.all(symbols.map(async (sym) => [sym, (await feedOf(sym).getFunction('latestAnswer').staticCall()) as bigint] as const)),
              ) as Partial<Record<AssetSymbol, bigint>>;
              const off = [];
              for (const pool of info.dex.pools) {
                const target = oracleTarget(pool, prices);
                const { sqrtPriceX96 } = await readPoolState(provider, pool.address);
                // Price ∝ sqrtPrice²: a relative gap in price is about twice the gap in sqrtPrice.
                const gap = sqrtPriceX96 > target.sqrtPriceX96 ? sqrtPriceX96 - target.sqrtPriceX96 : target.sqrtPriceX96 - sqrtPriceX96;
                if ((gap * 20_000n) / target.sqrtPriceX96 > toleranceBps) off.push(target);
              }
              if (off.length === 0) return;
              const { settledBlock } = await movePoolsToTargets(provider, off, moveOptions);
              options.onMove?.(`arbitrage: ${off.length} pool(s) back to the oracle price (block ${settledBlock})`);
            });
          } catch (error) {
            options.onMove?.(`arbitrage: failed at block ${block}: ${(error as Error).message}`);
          }
        }
      };
      void loop();
      return { stop: () => void (stopped = true) };
    };

    return { info, provider, setPrice, setPrices, holdBaseFee, movePool, fundAccount, startArbitrage, runShocks, stop: stopAll };
  } catch (err) {
    if (servicesStarting) await Promise.allSettled(servicesStarting);
    await stopAll();
    throw err;
  }
}
