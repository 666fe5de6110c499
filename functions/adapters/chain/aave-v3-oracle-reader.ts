/**
 * Reads, at one block, what an Aave V3 Pool prices each reserve at and the feed behind that price, for the oracle
 * circuit breakers (functions/domain/oracle-breaker.ts).
 *
 * Per block (every call pinned to the block, 4 + N eth_calls for N reserves):
 * - the block's timestamp (staleness is measured against block.timestamp, as a contract would);
 * - Pool.getReservesList and PoolAddressesProvider.getPriceOracle (the Pool asks the provider for its oracle on
 *   every use: PoolLogic / GenericLogic take `IPriceOracleGetter(ADDRESSES_PROVIDER.getPriceOracle())`);
 * - AaveOracle.getAssetsPrices(reserves): the prices the Pool uses;
 * - `latestRoundData()` of each reserve's source (AaveOracle.getSourceOfAsset).
 *
 * Reserve ids (ReserveData.id) and sources change rarely, so they are read once per reserve list and oracle and
 * cached; a source is re-read when its answer disagrees with the Pool's price (AaveOracle.getAssetPrice returns
 * `source.latestAnswer()` when > 0, which equals `latestRoundData().answer` on Chainlink aggregators, so a
 * disagreement means the source changed or the Pool fell back to the fallback oracle).
 *
 * Ids come from getReserveData, not from positions in getReservesList: Pool.getReservesList skips dropped
 * reserves, so after a `dropReserve` the list index and the id (the bit pair in user configurations) differ.
 */
import { Interface, isError, type JsonRpcProvider, type Result, ZeroAddress } from 'ethers';
import type { FeedRound, OracleObservation, OracleReading, PoolPrice } from '../../domain/oracle-breaker';
import { classifyCallFailure, isNodeTrouble, isRevert } from './call-failure';
import { isRefusedRead, ViewContract } from './view-contract';

const POOL_ABI = new Interface([
  'function ADDRESSES_PROVIDER() view returns (address)',
  'function getReservesList() view returns (address[])',
  // ReserveData (core-v3) / ReserveDataLegacy (aave-v3-origin): identical layout, `id` is the 8th field.
  'function getReserveData(address asset) view returns (tuple(uint256 configuration, uint128 liquidityIndex, uint128 currentLiquidityRate, uint128 variableBorrowIndex, uint128 currentVariableBorrowRate, uint128 currentStableBorrowRate, uint40 lastUpdateTimestamp, uint16 id, address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress, address interestRateStrategyAddress, uint128 accruedToTreasury, uint128 unbacked, uint128 isolationModeTotalDebt))',
]);
const ADDRESSES_PROVIDER_ABI = new Interface(['function getPriceOracle() view returns (address)']);
const ORACLE_ABI = new Interface([
  'function getAssetsPrices(address[] assets) view returns (uint256[])',
  'function getAssetPrice(address asset) view returns (uint256)',
  'function getSourceOfAsset(address asset) view returns (address)',
]);
const FEED_ABI = new Interface([
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
]);

export interface OracleReadResult extends OracleObservation {
  /** The AaveOracle the Pool used at this block. */
  oracle: string;
  /** JSON-RPC requests made for this read (RPC providers bill per call). */
  rpcCalls: number;
}

export class OracleReadError extends Error {
  constructor(
    readonly block: number,
    message: string,
    options: { cause: unknown },
  ) {
    super(`oracle read at block ${block} failed: ${message}`, options);
    this.name = 'OracleReadError';
  }
}

interface ReserveLayout {
  /** oracle address + reserve list: the cache key. */
  key: string;
  oracle: string;
  assets: string[];
  ids: number[];
  sources: string[];
  /** Assets whose source was re-read after a disagreement; not re-read again for this layout. */
  rechecked: Set<string>;
}

/** ethers' words for a revert or a decoding failure; the node's, with the kind, for node trouble. */
function reason(err: unknown): string {
  const failure = classifyCallFailure(err);
  if (isNodeTrouble(failure) && !isError(err, 'BAD_DATA')) return `${failure.kind}: ${failure.reason}`;
  if (isRevert(failure)) return failure.reason;
  const e = err as { shortMessage?: string; message?: string };
  return e.shortMessage ?? e.message ?? String(err);
}

export class AaveV3OracleReader {
  private readonly pool: ViewContract;
  private addressesProvider?: Promise<string>;
  private layout?: ReserveLayout;

  constructor(
    private readonly provider: JsonRpcProvider,
    poolAddress: string,
  ) {
    this.pool = new ViewContract(poolAddress, POOL_ABI, provider);
  }

  async readAt(block: number): Promise<OracleReadResult> {
    const calls = { count: 0 };
    const count = <T>(promise: Promise<T>): Promise<T> => {
      calls.count++;
      return promise;
    };
    const blockTag = block;
    try {
      // Pool.ADDRESSES_PROVIDER is immutable: read once per reader.
      if (!this.addressesProvider) {
        this.addressesProvider = count(this.pool.read<string>('ADDRESSES_PROVIDER'));
        this.addressesProvider.catch(() => {
          this.addressesProvider = undefined;
        });
      }
      const addressesProvider = new ViewContract(await this.addressesProvider, ADDRESSES_PROVIDER_ABI, this.provider);
      const [header, list, oracleAddress] = await Promise.all([
        count(this.provider.send('eth_getBlockByNumber', [`0x${block.toString(16)}`, false]) as Promise<{ timestamp: string } | null>),
        count(this.pool.read<string[]>('getReservesList', [], blockTag)),
        count(addressesProvider.read<string>('getPriceOracle', [], blockTag)),
      ]);
      if (!header) throw new Error(`block ${block} not found`);
      const layout = await this.layoutFor(oracleAddress, [...list], blockTag, count);
      const oracle = new ViewContract(layout.oracle, ORACLE_ABI, this.provider);
      const prices = await this.readPrices(oracle, layout.assets, blockTag, count);
      const feeds = await Promise.all(layout.sources.map((source) => this.readFeed(source, blockTag, count)));

      // A feed answer that disagrees with the Pool's price: re-read that asset's source once per layout.
      await Promise.all(
        layout.assets.map(async (asset, i) => {
          const feed = feeds[i];
          const price = prices[i];
          if (feed.kind !== 'round' || price.kind !== 'price' || feed.answer <= 0n || feed.answer === price.priceBase) return;
          if (layout.rechecked.has(asset)) return;
          layout.rechecked.add(asset);
          const source = await count(oracle.read<string>('getSourceOfAsset', [asset], blockTag));
          if (source.toLowerCase() === layout.sources[i].toLowerCase()) return;
          layout.sources[i] = source;
          feeds[i] = await this.readFeed(source, blockTag, count);
        }),
      );

      const readings: OracleReading[] = layout.assets.map((asset, i) => ({ asset, reserveId: layout.ids[i], price: prices[i], feed: feeds[i] }));
      return { block, blockTimestampSec: BigInt(header.timestamp), readings, oracle: layout.oracle, rpcCalls: calls.count };
    } catch (err) {
      throw new OracleReadError(block, reason(err), { cause: err });
    }
  }

  /** Ids and sources of the listed reserves, re-read when the reserve list or the oracle changed. */
  private async layoutFor(
    oracleAddress: string,
    assets: string[],
    blockTag: number,
    count: <T>(p: Promise<T>) => Promise<T>,
  ): Promise<ReserveLayout> {
    const key = `${oracleAddress.toLowerCase()}:${assets.map((a) => a.toLowerCase()).join(',')}`;
    if (this.layout?.key === key) return this.layout;
    const oracle = new ViewContract(oracleAddress, ORACLE_ABI, this.provider);
    const [ids, sources] = await Promise.all([
      Promise.all(assets.map(async (asset) => Number((await count(this.pool.read<Result>('getReserveData', [asset], blockTag))).id))),
      Promise.all(assets.map((asset) => count(oracle.read<string>('getSourceOfAsset', [asset], blockTag)))),
    ]);
    this.layout = { key, oracle: oracleAddress, assets, ids, sources, rechecked: new Set() };
    return this.layout;
  }

  /**
   * getAssetsPrices in one call. It reverts as a whole when one asset's price cannot be had (answer ≤ 0 and no
   * fallback oracle): then each asset is read on its own so the others still get a price.
   */
  private async readPrices(oracle: ViewContract, assets: string[], blockTag: number, count: <T>(p: Promise<T>) => Promise<T>): Promise<PoolPrice[]> {
    try {
      const prices = await count(oracle.read<bigint[]>('getAssetsPrices', [assets], blockTag));
      return prices.map((priceBase) => ({ kind: 'price', priceBase }));
    } catch (err) {
      if (!isRefusedRead(err)) throw err;
      const settled = await Promise.allSettled(assets.map((asset) => count(oracle.read<bigint>('getAssetPrice', [asset], blockTag))));
      return settled.map((s): PoolPrice => {
        if (s.status === 'fulfilled') return { kind: 'price', priceBase: s.value };
        if (!isRefusedRead(s.reason)) throw s.reason;
        return { kind: 'unavailable', reason: reason(s.reason) };
      });
    }
  }

  /** A feed the contract refuses is "unavailable"; node trouble fails the whole read (isRefusedRead): a feed is never unavailable because the node was. */
  private async readFeed(source: string, blockTag: number, count: <T>(p: Promise<T>) => Promise<T>): Promise<FeedRound> {
    if (source === ZeroAddress) return { kind: 'unavailable', source, reason: 'no source (base currency or fallback oracle only)' };
    try {
      const round = await count(new ViewContract(source, FEED_ABI, this.provider).read<Result>('latestRoundData', [], blockTag));
      return { kind: 'round', source, answer: round.answer as bigint, updatedAtSec: round.updatedAt as bigint };
    } catch (err) {
      if (!isRefusedRead(err)) throw err;
      return { kind: 'unavailable', source, reason: `latestRoundData failed: ${reason(err)}` };
    }
  }
}
