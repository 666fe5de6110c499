/**
 * What changed an Aave V3 market's positions or risk parameters in a block range, from ONE eth_getLogs call over
 * the Pool, its PoolConfigurator, its PoolAddressesProvider and every aToken. The change-driven scanner re-reads
 * an account's health only when this (or a price) says something it depends on moved; time (interest accrual,
 * the end of a grace period) it handles itself.
 *
 * The events and their effect are listed in POSITION_CHANGE_EVENTS, with the Solidity that declares them;
 * test/unit/chain/aave-v3-position-changes.test.ts checks every signature against the V3.0 (@aave/core-v3) and
 * v3.6 (@aave-dao/aave-v3-origin) interfaces in node_modules. The addresses to ask (configurator, aTokens) are
 * learned on the first call, pinned to its last block, and kept up to date from the logs themselves: a
 * `ReserveInitialized` carries the new aToken, so a listing costs one extra eth_getLogs only when it happens.
 */
import { id, Interface, type JsonRpcProvider, type Result, toQuantity } from 'ethers';
import * as z from '../../zod';
import { AAVE_V3_ACCOUNT_EVENTS, RANGE_TOO_LARGE, rpcErrorText } from './aave-v3-event-source';

export interface PositionChanges {
  /** Accounts whose own position changed (lower-cased addresses). */
  accounts: Set<string>;
  /** Reserves (asset addresses, lower-cased) whose risk parameters changed: every user of them must be re-read. */
  reserves: Set<string>;
  /** true when something changed that can affect any account (eMode category change, reserve dropped, Pool upgrade): re-read everyone. */
  everyone: boolean;
  /** JSON-RPC requests made (1 normally; more when addresses had to be learned, a range was split or a reserve was listed). */
  rpcCalls: number;
}

/** The contract of the market that emits an event; a log from any other address is not that event. */
export type PositionChangeEmitter = 'pool' | 'configurator' | 'addresses-provider' | 'aToken';

/**
 * What a log means for the scanner. Topic indexes count topics[0] (the event's hash) as 0; an indexed address is
 * the last 20 bytes of its topic.
 */
export type PositionChangeEffect =
  /** The accounts in these topics changed their own position. */
  | { kind: 'accounts'; topics: readonly (1 | 2 | 3)[] }
  /** The reserve (asset) in topics[1] changed a parameter its users' health or liquidation depends on. */
  | { kind: 'reserve' }
  /** Any account may be affected. */
  | { kind: 'everyone' }
  /** A reserve was listed: nobody holds it yet, but its aToken (topics[2]) must be watched from now on. */
  | { kind: 'reserve-listed' }
  /** The Pool or PoolConfigurator implementation changed: everyone, and the addresses are learned again. */
  | { kind: 'market-upgraded' };

export interface PositionChangeEvent {
  /** Canonical signature (enums are `uint8` in the ABI). */
  signature: string;
  emitter: PositionChangeEmitter;
  effect: PositionChangeEffect;
}

export const POSITION_CHANGE_EVENTS: readonly PositionChangeEvent[] = [
  // Pool (IPool.sol, both versions): Supply, Withdraw, Borrow, Repay, LiquidationCall and the two collateral
  // flag events, with the account topic the borrower indexer uses.
  ...AAVE_V3_ACCOUNT_EVENTS.map((event) => ({ signature: event.signature, emitter: 'pool' as const, effect: { kind: 'accounts' as const, topics: [event.accountTopic] } })),
  // UserEModeSet(address indexed user, uint8 categoryId): the user's thresholds, bonus (and V3.0 eMode prices) change.
  { signature: 'UserEModeSet(address,uint8)', emitter: 'pool', effect: { kind: 'accounts', topics: [1] } },
  // V3.0 only. MintUnbacked(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount,
  // uint16 indexed referralCode): a bridge supply credits onBehalfOf's collateral without a Supply event.
  { signature: 'MintUnbacked(address,address,address,uint256,uint16)', emitter: 'pool', effect: { kind: 'accounts', topics: [2] } },
  // V3.0 only. SwapBorrowRateMode(address indexed reserve, address indexed user, InterestRateMode interestRateMode):
  // debt moves between the stable and the variable debt token (the scaled balances the reader keeps change).
  { signature: 'SwapBorrowRateMode(address,address,uint8)', emitter: 'pool', effect: { kind: 'accounts', topics: [2] } },

  // aToken (IAToken.sol, both versions). BalanceTransfer(address indexed from, address indexed to, uint256 value,
  // uint256 index): collateral moved between two accounts (AToken._transfer; also a liquidation paid in aTokens).
  // Mint and Burn always come with a Pool event naming the account, except the treasury's, which borrows nothing.
  { signature: 'BalanceTransfer(address,address,uint256,uint256)', emitter: 'aToken', effect: { kind: 'accounts', topics: [1, 2] } },

  // PoolConfigurator (IPoolConfigurator.sol). Per reserve, what the health factor or a liquidation's outcome
  // reads (domain/position.ts ReservePosition): thresholds and bonus, the protocol fee, active / paused / frozen,
  // and the grace period (v3.1+).
  // CollateralConfigurationChanged(address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)
  { signature: 'CollateralConfigurationChanged(address,uint256,uint256,uint256)', emitter: 'configurator', effect: { kind: 'reserve' } },
  // LiquidationProtocolFeeChanged(address indexed asset, uint256 oldFee, uint256 newFee)
  { signature: 'LiquidationProtocolFeeChanged(address,uint256,uint256)', emitter: 'configurator', effect: { kind: 'reserve' } },
  // ReserveActive / ReservePaused / ReserveFrozen(address indexed asset, bool): a liquidation needs an active,
  // unpaused reserve (ValidationLogic.validateLiquidationCall); v3.6 freezing also zeroes the LTV.
  { signature: 'ReserveActive(address,bool)', emitter: 'configurator', effect: { kind: 'reserve' } },
  { signature: 'ReservePaused(address,bool)', emitter: 'configurator', effect: { kind: 'reserve' } },
  { signature: 'ReserveFrozen(address,bool)', emitter: 'configurator', effect: { kind: 'reserve' } },
  // v3.6 only. LiquidationGracePeriodChanged(address indexed asset, uint40 gracePeriodUntil),
  // LiquidationGracePeriodDisabled(address indexed asset). The period's end is time, which the scanner watches.
  { signature: 'LiquidationGracePeriodChanged(address,uint40)', emitter: 'configurator', effect: { kind: 'reserve' } },
  { signature: 'LiquidationGracePeriodDisabled(address)', emitter: 'configurator', effect: { kind: 'reserve' } },

  // eMode. A category's parameters apply to every account in that category, whatever it holds, and which
  // accounts are in it is not known without reading each one: EModeCategoryAdded (emitted on every update of a
  // category too, same signature in V3.0 and v3.6) is everyone.
  // EModeCategoryAdded(uint8 indexed categoryId, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus, address oracle, string label)
  { signature: 'EModeCategoryAdded(uint8,uint256,uint256,uint256,address,string)', emitter: 'configurator', effect: { kind: 'everyone' } },
  // An asset joining or leaving a category changes the numbers of that asset only, and only for accounts that hold
  // it: GenericLogic.calculateUserAccountData applies the category's threshold (V3.0: and its price source) to a
  // reserve only when that reserve is in the user's category (V3.0 `getEModeCategory() == userEModeCategory`, v3.6
  // the category's collateral / ltvzero bitmap). So the reserve's users are enough.
  // V3.0 only. EModeAssetCategoryChanged(address indexed asset, uint8 oldCategoryId, uint8 newCategoryId)
  { signature: 'EModeAssetCategoryChanged(address,uint8,uint8)', emitter: 'configurator', effect: { kind: 'reserve' } },
  // v3.2+ only. Asset{Collateral,Borrowable,Ltvzero}InEModeChanged(address indexed asset, uint8 categoryId, bool).
  // Borrowable and ltvzero change what can be borrowed, not the health factor; rare enough to re-read anyway.
  { signature: 'AssetCollateralInEModeChanged(address,uint8,bool)', emitter: 'configurator', effect: { kind: 'reserve' } },
  { signature: 'AssetBorrowableInEModeChanged(address,uint8,bool)', emitter: 'configurator', effect: { kind: 'reserve' } },
  { signature: 'AssetLtvzeroInEModeChanged(address,uint8,bool)', emitter: 'configurator', effect: { kind: 'reserve' } },

  // Listing and removal. ReserveInitialized(address indexed asset, address indexed aToken, address stableDebtToken,
  // address variableDebtToken, address interestRateStrategyAddress): ConfiguratorLogic.executeInitReserve emits
  // the aToken proxy. ReserveDropped(address indexed asset): the reserve had no supply and no debt left
  // (ValidationLogic.validateDropReserve), but its id is freed for the next listing and the reserve list every
  // reader walks changes: everyone, as for anything that reshapes the market.
  { signature: 'ReserveInitialized(address,address,address,address,address)', emitter: 'configurator', effect: { kind: 'reserve-listed' } },
  { signature: 'ReserveDropped(address)', emitter: 'configurator', effect: { kind: 'everyone' } },

  // PoolAddressesProvider (IPoolAddressesProvider.sol, both versions). PoolUpdated / PoolConfiguratorUpdated(address
  // indexed oldAddress, address indexed newAddress): a new implementation behind the proxy can change any rule.
  { signature: 'PoolUpdated(address,address)', emitter: 'addresses-provider', effect: { kind: 'market-upgraded' } },
  { signature: 'PoolConfiguratorUpdated(address,address)', emitter: 'addresses-provider', effect: { kind: 'market-upgraded' } },
];

const BY_TOPIC = new Map(POSITION_CHANGE_EVENTS.map((event) => [id(event.signature), event]));
const TOPICS = [...BY_TOPIC.keys()];
const BALANCE_TRANSFER_TOPIC = id('BalanceTransfer(address,address,uint256,uint256)');

const MARKET_ABI = new Interface([
  'function ADDRESSES_PROVIDER() view returns (address)',
  'function getPoolConfigurator() view returns (address)',
  'function getReservesList() view returns (address[])',
  // ReserveData (core-v3) / ReserveDataLegacy (aave-v3-origin): identical layout; only aTokenAddress is used.
  'function getReserveData(address asset) view returns (tuple(uint256 configuration, uint128 liquidityIndex, uint128 currentLiquidityRate, uint128 variableBorrowIndex, uint128 currentVariableBorrowRate, uint128 currentStableBorrowRate, uint40 lastUpdateTimestamp, uint16 id, address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress, address interestRateStrategyAddress, uint128 accruedToTreasury, uint128 unbacked, uint128 isolationModeTotalDebt))',
]);

const hex = z.string().check(z.regex(/^0x[0-9a-fA-F]*$/, 'must be 0x-prefixed hex'));
const word = z.string().check(z.regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hex word'));
const logsSchema = z.array(
  z.object({
    address: z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte address')),
    topics: z.array(word).check(z.minLength(1)),
    blockNumber: hex,
    removed: z.optional(z.boolean()),
  }),
);
type Log = z.infer<typeof logsSchema>[number];

export class PositionChangesError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PositionChangesError';
  }
}

/** Only `send` is used, so tests can answer with canned JSON-RPC results and errors. */
type JsonRpcSend = Pick<JsonRpcProvider, 'send'>;

interface MarketAddresses {
  addressesProvider: string;
  configurator: string;
  /** Lower-cased aToken proxies. */
  aTokens: Set<string>;
}

/** The requests of one `changesIn` call. */
interface CallCounter {
  calls: number;
}

const topicAddress = (topic: string) => `0x${topic.slice(26).toLowerCase()}`;

export class AaveV3PositionChanges {
  private readonly pool: string;
  /** Shared by concurrent first calls; dropped after a failure or a market upgrade, so the next call learns again. */
  private addresses: Promise<MarketAddresses> | undefined;

  constructor(
    private readonly rpc: JsonRpcSend,
    pool: string,
  ) {
    this.pool = pool.toLowerCase();
  }

  /** Everything in blocks [fromBlock, toBlock] that can change an account's health other than prices and time. */
  async changesIn(fromBlock: number, toBlock: number): Promise<PositionChanges> {
    if (!Number.isSafeInteger(fromBlock) || !Number.isSafeInteger(toBlock) || fromBlock < 0 || fromBlock > toBlock) {
      throw new PositionChangesError(`invalid block range ${fromBlock}–${toBlock}`);
    }
    const counter: CallCounter = { calls: 0 };
    const addresses = await this.marketAddresses(fromBlock, toBlock, counter);
    const watched = [this.pool, addresses.configurator, addresses.addressesProvider, ...addresses.aTokens];
    const logs = await this.readLogs(watched, TOPICS, fromBlock, toBlock, counter);

    const changes: PositionChanges = { accounts: new Set(), reserves: new Set(), everyone: false, rpcCalls: 0 };
    // aTokens listed in this range, with the first block they could have moved in.
    const listed = new Map<string, number>();
    let upgraded = false;
    const apply = (log: Log) => {
      // A log with `removed: true` (a reorg took it out) still changed what an earlier read saw: it counts.
      const event = BY_TOPIC.get(log.topics[0].toLowerCase());
      if (!event || !this.emittedBy(log.address.toLowerCase(), event.emitter, addresses)) return;
      const { effect } = event;
      switch (effect.kind) {
        case 'accounts':
          for (const index of effect.topics) {
            const topic = log.topics[index];
            if (topic) changes.accounts.add(topicAddress(topic));
          }
          return;
        case 'reserve':
          if (log.topics[1]) changes.reserves.add(topicAddress(log.topics[1]));
          return;
        case 'everyone':
          changes.everyone = true;
          return;
        case 'reserve-listed': {
          const aToken = log.topics[2] ? topicAddress(log.topics[2]) : undefined;
          if (aToken && !addresses.aTokens.has(aToken)) listed.set(aToken, Math.min(listed.get(aToken) ?? Infinity, Number(log.blockNumber)));
          return;
        }
        case 'market-upgraded':
          changes.everyone = true;
          upgraded = true;
          return;
      }
    };
    logs.forEach(apply);

    if (listed.size > 0) {
      // The first call asked without these aTokens: their transfers since listing come in one more request.
      for (const aToken of listed.keys()) addresses.aTokens.add(aToken);
      const since = Math.max(fromBlock, Math.min(...listed.values()));
      (await this.readLogs([...listed.keys()], [BALANCE_TRANSFER_TOPIC], since, toBlock, counter)).forEach(apply);
    }
    if (upgraded) this.addresses = undefined;
    changes.rpcCalls = counter.calls;
    return changes;
  }

  private emittedBy(address: string, emitter: PositionChangeEmitter, addresses: MarketAddresses): boolean {
    switch (emitter) {
      case 'pool':
        return address === this.pool;
      case 'configurator':
        return address === addresses.configurator;
      case 'addresses-provider':
        return address === addresses.addressesProvider;
      case 'aToken':
        return addresses.aTokens.has(address);
    }
  }

  private marketAddresses(fromBlock: number, toBlock: number, counter: CallCounter): Promise<MarketAddresses> {
    if (!this.addresses) {
      const learning = this.learnAddresses(fromBlock, toBlock, counter);
      this.addresses = learning;
      learning.catch(() => {
        // The caller gets the failure; the next call learns again instead of reusing it.
        if (this.addresses === learning) this.addresses = undefined;
      });
    }
    return this.addresses;
  }

  /**
   * Pool.ADDRESSES_PROVIDER(), PoolAddressesProvider.getPoolConfigurator(), Pool.getReservesList() and
   * Pool.getReserveData(asset).aTokenAddress of each reserve, all at `toBlock`: every reserve listed by then is
   * known, so a `ReserveInitialized` inside this range costs no extra request.
   */
  private async learnAddresses(fromBlock: number, toBlock: number, counter: CallCounter): Promise<MarketAddresses> {
    const block = toQuantity(toBlock);
    const call = async <T>(to: string, method: string, args: unknown[], pick: (result: Result) => T): Promise<T> => {
      counter.calls++;
      let raw: unknown;
      try {
        raw = await this.rpc.send('eth_call', [{ to, data: MARKET_ABI.encodeFunctionData(method, args) }, block]);
      } catch (err) {
        throw new PositionChangesError(`reading ${method} of ${to} at block ${toBlock} (for blocks ${fromBlock}–${toBlock}) failed: ${rpcErrorText(err)}`, err);
      }
      try {
        return pick(MARKET_ABI.decodeFunctionResult(method, hex.parse(raw)));
      } catch (err) {
        throw new PositionChangesError(`${method} of ${to} at block ${toBlock} (for blocks ${fromBlock}–${toBlock}) returned a malformed answer: ${String(raw)}`, err);
      }
    };
    const [addressesProvider, reserves] = await Promise.all([
      call(this.pool, 'ADDRESSES_PROVIDER', [], (r) => String(r[0]).toLowerCase()),
      call(this.pool, 'getReservesList', [], (r) => (r[0] as string[]).map(String)),
    ]);
    const [configurator, ...aTokens] = await Promise.all([
      call(addressesProvider, 'getPoolConfigurator', [], (r) => String(r[0]).toLowerCase()),
      ...reserves.map((asset) => call(this.pool, 'getReserveData', [asset], (r) => String((r[0] as { aTokenAddress: string }).aTokenAddress).toLowerCase())),
    ]);
    return { addressesProvider, configurator, aTokens: new Set(aTokens) };
  }

  /** eth_getLogs; a range the node calls too large is asked again in halves, each half a request. */
  private async readLogs(addresses: string[], topics: string[], fromBlock: number, toBlock: number, counter: CallCounter): Promise<Log[]> {
    counter.calls++;
    let raw: unknown;
    try {
      raw = await this.rpc.send('eth_getLogs', [{ address: addresses, fromBlock: toQuantity(fromBlock), toBlock: toQuantity(toBlock), topics: [topics] }]);
    } catch (err) {
      const text = rpcErrorText(err);
      if (fromBlock < toBlock && RANGE_TOO_LARGE.test(text)) {
        const middle = Math.floor((fromBlock + toBlock) / 2);
        const first = await this.readLogs(addresses, topics, fromBlock, middle, counter);
        return [...first, ...(await this.readLogs(addresses, topics, middle + 1, toBlock, counter))];
      }
      throw new PositionChangesError(`eth_getLogs for blocks ${fromBlock}–${toBlock} of pool ${this.pool} failed: ${text}`, err);
    }
    const parsed = logsSchema.safeParse(raw);
    if (!parsed.success) {
      throw new PositionChangesError(`eth_getLogs for blocks ${fromBlock}–${toBlock} of pool ${this.pool} returned malformed logs: ${parsed.error.message}`);
    }
    return parsed.data;
  }
}
