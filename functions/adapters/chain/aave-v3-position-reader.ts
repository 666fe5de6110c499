/**
 * Reads an Aave V3 borrower's position at one block into the domain's `UserPosition`: reserve configuration,
 * oracle prices, indexes, grace periods and the price-oracle sentinel (once per block, shared by every user
 * read at that block), then the user's balances, scaled balances and collateral flags, and for a user in an
 * eMode category the category's LT and bonus (and on V3.0–3.1 its price source) where the Pool applies them. Works for the V3.0
 * (@aave/core-v3) and v3.3+ (aave-v3-origin) Pools: the calls used exist in both with the same layout.
 *
 * Two ways to read the same thing (`mode`):
 * - `lens` (the default): contracts/src/PositionLens.sol run as a deployless eth_call (position-lens.ts), ONE call
 *   for the market at a block (up to 72 reserves a call) and ONE per user, eMode category included, whatever the
 *   number of reserves; no getBlock either (the lens returns block.timestamp). It makes the same reads in the same
 *   order as the per-call reads, so its snapshot and positions are the same to the wei
 *   (test/integration/position-lens.test.ts);
 * - `per-call`: 4–6 calls per reserve per block, then 2–5 per reserve per user (each a plain eth_call).
 * A node that refuses the lens call for its gas (a capped eth_call gas allowance, a block gas limit below it) or
 * its result size (EIP-170) gets the per-call reads from then on, told once through `onFallback`.
 *
 * A call the node fails (header not found, rate limit, timeout, reset: call-failure.ts) fails the read with a
 * retryable NodeCallError, so that the worker asks again rather than recording the node's failure as the
 * position's; a revert of a read is thrown as ethers raised it, as before (the lens reverts when any of its reads
 * does).
 */
import { getAddress, Interface, type JsonRpcProvider, type Result, ZeroAddress } from 'ethers';
import type { EModeModel, PoolVersionProfile, ReservePosition, RuleSet, UserPosition } from '../../domain';
import { isArithmeticPanicOfARead } from '../failure-classification';
import { nodeCallErrorOf } from './call-failure';
import { BlockMemo } from './block-memo';
import { ViewContract } from './view-contract';
import { lensRefusal } from './lens-refusal';
import {
  decodePositionLensMarket,
  decodePositionLensUser,
  encodePositionLensCall,
  type LensUser,
  POSITION_LENS_FLAGS,
} from './position-lens';

const POOL_ABI = new Interface([
  'function getReservesList() view returns (address[])',
  // ReserveData (core-v3) / ReserveDataLegacy (aave-v3-origin): identical layout.
  'function getReserveData(address asset) view returns (tuple(uint256 configuration, uint128 liquidityIndex, uint128 currentLiquidityRate, uint128 variableBorrowIndex, uint128 currentVariableBorrowRate, uint128 currentStableBorrowRate, uint40 lastUpdateTimestamp, uint16 id, address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress, address interestRateStrategyAddress, uint128 accruedToTreasury, uint128 unbacked, uint128 isolationModeTotalDebt))',
  'function getReserveNormalizedIncome(address asset) view returns (uint256)',
  'function getReserveNormalizedVariableDebt(address asset) view returns (uint256)',
  'function getUserConfiguration(address user) view returns (uint256)',
  'function getUserEMode(address user) view returns (uint256)',
  'function getLiquidationGracePeriod(address asset) view returns (uint40)',
  'function ADDRESSES_PROVIDER() view returns (address)',
  'function getVirtualUnderlyingBalance(address asset) view returns (uint128)',
  // eMode, V3.0–3.1: one category per reserve (configuration bits 168–175), with an optional price source.
  'function getEModeCategoryData(uint8 id) view returns (tuple(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, address priceSource, string label))',
  // eMode, 3.2+ (liquid eMode): the category's collateral parameters and the reserves they apply to.
  'function getEModeCategoryCollateralConfig(uint8 id) view returns (tuple(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus))',
  'function getEModeCategoryCollateralBitmap(uint8 id) view returns (uint128)',
]);
const PROVIDER_ABI = new Interface(['function getPriceOracle() view returns (address)', 'function getPriceOracleSentinel() view returns (address)']);
const ORACLE_ABI = new Interface(['function getAssetsPrices(address[] assets) view returns (uint256[])', 'function getAssetPrice(address asset) view returns (uint256)']);
const SENTINEL_ABI = new Interface(['function isLiquidationAllowed() view returns (bool)']);
const TOKEN_ABI = new Interface(['function balanceOf(address) view returns (uint256)', 'function scaledBalanceOf(address) view returns (uint256)']);

/** ReserveConfiguration bit layout (ReserveConfiguration.sol, the same in V3.0 and v3.6 for these fields). */
const bits = (data: bigint, start: number, width: number) => (data >> BigInt(start)) & ((1n << BigInt(width)) - 1n);

export interface ReserveSnapshot {
  asset: string;
  id: number;
  decimals: bigint;
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
  liquidationBonusBps: bigint;
  liquidationProtocolFeeBps: bigint;
  isActive: boolean;
  isFrozen: boolean;
  isPaused: boolean;
  aToken: string;
  variableDebtToken: string;
  /** Zero address on v3.2+ (stable debt removed). */
  stableDebtToken: string;
  priceBase8: bigint;
  liquidityIndexRay: bigint;
  variableBorrowIndexRay: bigint;
  liquidationGracePeriodUntil: bigint;
  /** min(virtual underlying balance (3.1+), underlying held by the aToken): what the reserve can pay out. */
  availableLiquidityUnits: bigint;
  /** The reserve's eMode category (V3.0–3.1 model: configuration bits 168–175; 0 = none, and always 0 on 3.2+). */
  eModeCategory: number;
}

/** What a user's eMode category changes, read at the block. */
export interface EModeCategorySnapshot {
  id: number;
  liquidationThresholdBps: bigint;
  liquidationBonusBps: bigint;
  /** Whether the category's LT and bonus apply to the reserve with this id when it is collateral. */
  appliesTo: (reserve: ReserveSnapshot) => boolean;
  /** V3.0–3.1 with a price source: the price of every reserve of the category for the category's users. */
  priceBase8?: bigint;
}

export interface MarketSnapshot {
  block: number;
  /** The market's price oracle (AaveOracle) at the block. */
  oracle: string;
  blockTimestamp: bigint;
  reserves: ReserveSnapshot[];
  priceOracleSentinel: UserPosition['priceOracleSentinel'];
}

/** `lens`: PositionLens as a deployless eth_call (1 per block + 1 per user); `per-call`: one eth_call per read. */
export type PositionReadMode = 'lens' | 'per-call';

export interface PositionReaderOptions {
  /** Default `lens`; `per-call` reads as before (the baseline the bench and the equality test compare with). */
  mode?: PositionReadMode;
  /**
   * Gas allowance of a lens call (anvil needs an explicit gas on big eth_calls). A call pays ~0.3M for its 7 KB of
   * creation code (calldata floor), 200 a byte of returned data (≤ 4.7M for 72 reserves) and the reads: 3.0M for
   * the market and 1.4M for a user on the 24-reserve local market (bench/rpc-per-decision.ts). The default covers 72
   * reserves and stays under geth's default eth_call cap (RPCGasCap, 50M).
   */
  gas?: bigint;
  /** Told once when the node refuses the lens call and the reader falls back to per-call reads. */
  onFallback?: (reason: string) => void;
  /** Pause before a lens call that panicked is made once more (default 250 ms; see lensCall). */
  panicRereadMs?: number;
}

const DEFAULT_LENS_GAS = 30_000_000n;
/**
 * Measured on the `large` demo (10,000 borrowers, anvil, 2 s blocks): 134 lens calls panicked, every one at block
 * N just after N + 1 was mined, and every one succeeded when made again at N 300 ms later.
 */
const DEFAULT_PANIC_REREAD_MS = 250;

/** What a reserve's snapshot is built from: its configuration word and the values read beside it. */
type ReserveReads = Pick<
  ReserveSnapshot,
  'asset' | 'id' | 'aToken' | 'variableDebtToken' | 'stableDebtToken' | 'priceBase8' | 'liquidityIndexRay' | 'variableBorrowIndexRay' | 'liquidationGracePeriodUntil'
> & {
  configuration: bigint;
  /** Underlying held by the aToken. */
  heldUnits: bigint;
  /** The virtual underlying balance (3.1+), undefined where the version has none. */
  virtualUnits: bigint | undefined;
};

class LensRefused extends Error {
  constructor(readonly reason: string) {
    super(`node refused the position lens call (${reason})`);
    this.name = 'LensRefused';
  }
}

export class AaveV3PositionReader {
  private readonly pool: ViewContract;
  private readonly snapshots = new BlockMemo<MarketSnapshot>();
  private readonly categories = new BlockMemo<EModeCategorySnapshot>();
  /** How eMode categories work on this Pool (functions/domain/pool-versions.ts): 3.0–3.1 categories, or liquid eMode. */
  readonly eModeModel: EModeModel;
  /** What this Pool version has to read (functions/domain/pool-versions.ts): grace periods, virtual balances, stable debt. */
  readonly features: Readonly<{ liquidationGracePeriod: boolean; virtualAccounting: boolean; stableDebt: boolean }>;
  private mode: PositionReadMode;
  private readonly lensFlags: bigint;
  private readonly lensGasHex: string;

  /**
   * `version`: what the configured Pool version decides (`config.poolVersion`). The rule set alone cannot tell
   * 3.0 from 3.1 and 3.2 (same rules; 3.1 adds grace periods and virtual accounting, 3.2 liquid eMode and no
   * stable debt), so production passes the version's profile; without it, the rule set's most common version.
   */
  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly poolAddress: string,
    readonly ruleSet: RuleSet,
    version: Partial<Pick<PoolVersionProfile, 'eModeModel' | 'liquidationGracePeriod' | 'virtualAccounting' | 'stableDebt'>> = {},
    private readonly options: PositionReaderOptions = {},
  ) {
    this.pool = new ViewContract(poolAddress, POOL_ABI, provider);
    const v30 = ruleSet === 'v3.0';
    this.eModeModel = version.eModeModel ?? (v30 ? 'categories-with-price-source' : 'liquid');
    this.features = {
      liquidationGracePeriod: version.liquidationGracePeriod ?? !v30,
      virtualAccounting: version.virtualAccounting ?? !v30,
      stableDebt: version.stableDebt ?? v30,
    };
    this.mode = options.mode ?? 'lens';
    const { gracePeriod, virtualAccounting, stableDebt, liquidEMode } = POSITION_LENS_FLAGS;
    this.lensFlags =
      (this.features.liquidationGracePeriod ? gracePeriod : 0n) |
      (this.features.virtualAccounting ? virtualAccounting : 0n) |
      (this.features.stableDebt ? stableDebt : 0n) |
      (this.eModeModel === 'liquid' ? liquidEMode : 0n);
    this.lensGasHex = `0x${(options.gas ?? DEFAULT_LENS_GAS).toString(16)}`;
  }

  /** How reads are made now: `lens` until a node refuses the lens call, `per-call` from then on. */
  get currentMode(): PositionReadMode {
    return this.mode;
  }

  /**
   * One deployless lens call at `block`; a refusal of the call itself is a LensRefused, anything else as the node
   * said it. The lens only reads, and the Pool's views panic (Panic(0x11), arithmetic underflow) only when the state
   * they read is newer than the block they run in: a node serving a block while it seals the next (anvil under
   * load). Such a call is made once more after a short pause instead of failing the whole decision; a second panic
   * is thrown as it is (retryable: failure-classification.ts).
   */
  private async lensCall(user: string, flags: bigint, firstReserve: number, block: number): Promise<string> {
    const call = { data: encodePositionLensCall(this.poolAddress, user, flags, firstReserve), gas: this.lensGasHex };
    const once = async () => {
      try {
        return String(await this.provider.send('eth_call', [call, `0x${block.toString(16)}`]));
      } catch (err) {
        const refusal = lensRefusal(err);
        if (refusal !== undefined) throw new LensRefused(refusal);
        throw err;
      }
    };
    try {
      return await once();
    } catch (err) {
      if (!isArithmeticPanicOfARead(err)) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, this.options.panicRereadMs ?? DEFAULT_PANIC_REREAD_MS));
    return once();
  }

  /** Per-call reads from now on, said once. */
  private fallBack(refused: LensRefused): void {
    if (this.mode === 'per-call') return;
    this.mode = 'per-call';
    this.options.onFallback?.(`${refused.message}; reading with one eth_call per reserve and per read from now on`);
  }

  /** The user's eMode category at `block`: its LT, bonus, which reserves it covers and (V3.0–3.1) its price. */
  eModeCategoryAt(id: number, block: number): Promise<EModeCategorySnapshot> {
    return this.categories.get(block, id, () => this.readEModeCategory(id, block));
  }

  /** The category as a lens user read reported it: the same fields readEModeCategory reads, at the same block. */
  private categoryFromLens(lens: LensUser): EModeCategorySnapshot {
    const id = lens.eModeCategory;
    const base = { id, liquidationThresholdBps: lens.categoryLiquidationThresholdBps, liquidationBonusBps: lens.categoryLiquidationBonusBps };
    if (this.eModeModel === 'liquid') {
      const bitmap = lens.categoryBitmapOrPriceSource;
      return { ...base, appliesTo: (reserve) => ((bitmap >> BigInt(reserve.id)) & 1n) === 1n };
    }
    const priceBase8 = lens.categorySourcePriceBase8;
    return { ...base, appliesTo: (reserve) => reserve.eModeCategory === id, ...(priceBase8 !== 0n ? { priceBase8 } : {}) };
  }

  private async readEModeCategory(id: number, block: number): Promise<EModeCategorySnapshot> {
    const blockTag = block;
    if (this.eModeModel === 'liquid') {
      const [config, bitmap] = await Promise.all([
        this.pool.read<Result>('getEModeCategoryCollateralConfig', [id], blockTag),
        this.pool.read<bigint>('getEModeCategoryCollateralBitmap', [id], blockTag),
      ]);
      return {
        id,
        liquidationThresholdBps: BigInt(config.liquidationThreshold),
        liquidationBonusBps: BigInt(config.liquidationBonus),
        // EModeConfiguration.isReserveEnabledOnBitmap: bit `reserve id`.
        appliesTo: (reserve) => ((bitmap >> BigInt(reserve.id)) & 1n) === 1n,
      };
    }
    const data = await this.pool.read<Result>('getEModeCategoryData', [id], blockTag);
    const priceSource = data.priceSource as string;
    let priceBase8: bigint | undefined;
    if (priceSource !== ZeroAddress) {
      // EModeLogic.getEModeConfiguration: AaveOracle.getAssetPrice(priceSource) (the source is priced as an asset).
      const market = await this.marketAt(block);
      priceBase8 = await new ViewContract(market.oracle, ORACLE_ABI, this.provider).read<bigint>('getAssetPrice', [priceSource], blockTag);
    }
    return {
      id,
      liquidationThresholdBps: BigInt(data.liquidationThreshold),
      liquidationBonusBps: BigInt(data.liquidationBonus),
      // EModeLogic.isInEModeCategory: the reserve's own category is the user's.
      appliesTo: (reserve) => reserve.eModeCategory === id,
      ...(priceBase8 !== undefined && priceBase8 !== 0n ? { priceBase8 } : {}),
    };
  }

  /** Reserve configuration, prices and indexes at `block`; read once per block and shared. */
  marketAt(block: number): Promise<MarketSnapshot> {
    return this.snapshots.get(block, 'market', () =>
      this.readMarket(block).catch((err: unknown) => {
        throw nodeCallErrorOf(err, `reading the market at block ${block}`) ?? err;
      }),
    );
  }

  private async readMarket(block: number): Promise<MarketSnapshot> {
    if (this.mode === 'lens') {
      try {
        return await this.readMarketWithLens(block);
      } catch (err) {
        if (!(err instanceof LensRefused)) throw err;
        this.fallBack(err);
      }
    }
    return this.readMarketPerCall(block);
  }

  /** The market in one lens call per 72 reserves (PositionLens.sol, market layout). */
  private async readMarketWithLens(block: number): Promise<MarketSnapshot> {
    const first = decodePositionLensMarket(await this.lensCall(ZeroAddress, this.lensFlags, 0, block));
    const parts = [first];
    for (let next = first.reserves.length; next < first.reserveCount; next += parts.at(-1)!.reserves.length) {
      const part = decodePositionLensMarket(await this.lensCall(ZeroAddress, this.lensFlags, next, block));
      if (part.reserveCount !== first.reserveCount || part.reserves.length === 0) {
        throw new Error(`position lens (market) at block ${block}: ${part.reserveCount} reserves from ${next}, after ${first.reserveCount}`);
      }
      parts.push(part);
    }
    const reserves = parts.flatMap((part) =>
      part.reserves.map((r): ReserveSnapshot => {
        return this.reserveSnapshot({ ...r, virtualUnits: this.features.virtualAccounting ? r.virtualUnits : undefined });
      }),
    );
    return { block, oracle: first.oracle, blockTimestamp: first.blockTimestampSec, reserves, priceOracleSentinel: first.priceOracleSentinel };
  }

  /** A reserve as the market snapshot holds it, from its configuration word and the values read beside it. */
  private reserveSnapshot(r: ReserveReads): ReserveSnapshot {
    const config = r.configuration;
    const { heldUnits: held, virtualUnits: virtual } = r;
    return {
      asset: r.asset,
      id: r.id,
      ltvBps: bits(config, 0, 16),
      liquidationThresholdBps: bits(config, 16, 16),
      liquidationBonusBps: bits(config, 32, 16),
      decimals: bits(config, 48, 8),
      isActive: bits(config, 56, 1) === 1n,
      isFrozen: bits(config, 57, 1) === 1n,
      isPaused: bits(config, 60, 1) === 1n,
      liquidationProtocolFeeBps: bits(config, 152, 16),
      aToken: r.aToken,
      variableDebtToken: r.variableDebtToken,
      stableDebtToken: r.stableDebtToken,
      priceBase8: r.priceBase8,
      liquidityIndexRay: r.liquidityIndexRay,
      variableBorrowIndexRay: r.variableBorrowIndexRay,
      liquidationGracePeriodUntil: r.liquidationGracePeriodUntil,
      availableLiquidityUnits: virtual === undefined || held < virtual ? held : virtual,
      eModeCategory: this.eModeModel === 'liquid' ? 0 : Number(bits(config, 168, 8)),
    };
  }

  private async readMarketPerCall(block: number): Promise<MarketSnapshot> {
    const blockTag = block;
    const [assetList, addressesProvider, header] = await Promise.all([
      this.pool.read<string[]>('getReservesList', [], blockTag),
      this.pool.read<string>('ADDRESSES_PROVIDER', [], blockTag),
      this.provider.getBlock(block),
    ]);
    if (!header) throw new Error(`block ${block} not found`);
    // ethers returns a read-only Result; a plain array can be passed back as an argument.
    const assets = [...assetList];
    const provider = new ViewContract(addressesProvider, PROVIDER_ABI, this.provider);
    const [oracleAddress, sentinelAddress] = await Promise.all([
      provider.read<string>('getPriceOracle', [], blockTag),
      provider.read<string>('getPriceOracleSentinel', [], blockTag),
    ]);
    const prices = await new ViewContract(oracleAddress, ORACLE_ABI, this.provider).read<bigint[]>('getAssetsPrices', [assets], blockTag);

    const reserves = await Promise.all(
      assets.map(async (asset, i): Promise<ReserveSnapshot> => {
        const [data, income, debtIndex, gracePeriod] = await Promise.all([
          this.pool.read<Result>('getReserveData', [asset], blockTag),
          this.pool.read<bigint>('getReserveNormalizedIncome', [asset], blockTag),
          this.pool.read<bigint>('getReserveNormalizedVariableDebt', [asset], blockTag),
          // Grace periods exist from v3.1 on; V3.0 has none.
          this.features.liquidationGracePeriod ? this.pool.read<bigint>('getLiquidationGracePeriod', [asset], blockTag) : Promise.resolve(0n),
        ]);
        const config = data.configuration as bigint;
        // Virtual accounting exists from 3.1 on (a 3.0 Pool pays out of the aToken's holdings only).
        const [held, virtual] = await Promise.all([
          new ViewContract(asset, TOKEN_ABI, this.provider).read<bigint>('balanceOf', [data.aTokenAddress], blockTag),
          this.features.virtualAccounting ? this.pool.read<bigint>('getVirtualUnderlyingBalance', [asset], blockTag) : Promise.resolve(undefined),
        ]);
        return this.reserveSnapshot({
          asset,
          id: Number(data.id),
          configuration: config,
          aToken: data.aTokenAddress as string,
          variableDebtToken: data.variableDebtTokenAddress as string,
          stableDebtToken: data.stableDebtTokenAddress as string,
          priceBase8: prices[i],
          liquidityIndexRay: income,
          variableBorrowIndexRay: debtIndex,
          liquidationGracePeriodUntil: BigInt(gracePeriod),
          heldUnits: held,
          virtualUnits: virtual,
        });
      }),
    );

    let priceOracleSentinel: MarketSnapshot['priceOracleSentinel'] = 'none';
    if (sentinelAddress !== ZeroAddress) {
      const allowed = await new ViewContract(sentinelAddress, SENTINEL_ABI, this.provider).read<boolean>('isLiquidationAllowed', [], blockTag);
      priceOracleSentinel = allowed ? 'allows-liquidation' : 'blocks-liquidation';
    }
    return { block, oracle: oracleAddress, blockTimestamp: BigInt(header.timestamp), reserves, priceOracleSentinel };
  }

  /** The user's position at `block`: every balance, flag and price read at that block. */
  async readPosition(user: string, block: number): Promise<UserPosition> {
    try {
      return await this.readUserPosition(user, block);
    } catch (err) {
      throw nodeCallErrorOf(err, `reading the position of ${user} at block ${block}`) ?? err;
    }
  }

  private async readUserPosition(user: string, block: number): Promise<UserPosition> {
    if (this.mode === 'lens') {
      try {
        return await this.readUserPositionWithLens(user, block);
      } catch (err) {
        if (!(err instanceof LensRefused)) throw err;
        this.fallBack(err);
      }
    }
    return this.readUserPositionPerCall(user, block);
  }

  /** The user's reads in one lens call (PositionLens.sol, user layout), next to the block's cached market. */
  private async readUserPositionWithLens(user: string, block: number): Promise<UserPosition> {
    const [market, raw] = await Promise.all([
      this.marketAt(block),
      this.lensCall(user, POSITION_LENS_FLAGS.user | this.lensFlags, 0, block),
    ]);
    const lens = decodePositionLensUser(raw);
    if (lens.reserveCount !== market.reserves.length) {
      throw new Error(`position lens (user) at block ${block} saw ${lens.reserveCount} reserves, the market snapshot ${market.reserves.length}`);
    }
    let category: EModeCategorySnapshot | undefined;
    if (lens.eModeCategory !== 0) {
      category = this.categoryFromLens(lens);
      // Read at this block like eModeCategoryAt's: later asks for it need no call.
      this.categories.set(block, lens.eModeCategory, category);
    }
    const reserves = lens.entries.map((entry): ReservePosition => {
      const reserve = market.reserves[entry.index];
      if (getAddress(reserve.asset) !== entry.asset) {
        throw new Error(`position lens (user) at block ${block}: reserve ${entry.index} is ${entry.asset}, the market snapshot's ${reserve.asset}`);
      }
      return this.reservePosition(reserve, category, lens.userConfiguration, {
        collateral: entry.collateralUnits,
        scaledCollateral: entry.scaledCollateral,
        debt: entry.variableDebtUnits,
        scaledDebt: entry.scaledVariableDebt,
        stableDebt: entry.stableDebtUnits,
      });
    });
    return { user, ruleSet: this.ruleSet, blockTimestamp: market.blockTimestamp, priceOracleSentinel: market.priceOracleSentinel, reserves };
  }

  /**
   * A reserve of the user's position from its balances: eMode's LT, bonus and price where the category applies
   * (GenericLogic.calculateUserAccountData, LiquidationLogic: _getConfigurationData on V3.0, the collateral bitmap
   * on 3.2+).
   */
  private reservePosition(
    reserve: ReserveSnapshot,
    category: EModeCategorySnapshot | undefined,
    userConfig: bigint,
    balances: { collateral: bigint; scaledCollateral: bigint; debt: bigint; scaledDebt: bigint; stableDebt: bigint },
  ): ReservePosition {
    const applies = category !== undefined && category.appliesTo(reserve);
    const { liquidationThresholdBps, liquidationBonusBps, priceBase8 } = !applies
      ? { liquidationThresholdBps: reserve.liquidationThresholdBps, liquidationBonusBps: reserve.liquidationBonusBps, priceBase8: reserve.priceBase8 }
      : {
          // V3.0 counts a reserve as collateral only when its own LT is non-zero, whatever its category's LT.
          liquidationThresholdBps: this.eModeModel !== 'liquid' && reserve.liquidationThresholdBps === 0n ? 0n : category.liquidationThresholdBps,
          liquidationBonusBps: category.liquidationBonusBps,
          priceBase8: category.priceBase8 ?? reserve.priceBase8,
        };
    return {
      asset: reserve.asset,
      decimals: reserve.decimals,
      priceBase8,
      collateralBalanceUnits: balances.collateral,
      debtBalanceUnits: balances.debt + balances.stableDebt,
      // UserConfiguration: bit 2·id+1 = using as collateral.
      usageAsCollateralEnabled: bits(userConfig, reserve.id * 2 + 1, 1) === 1n,
      liquidationThresholdBps,
      liquidationBonusBps,
      liquidationProtocolFeeBps: reserve.liquidationProtocolFeeBps,
      isActive: reserve.isActive,
      isPaused: reserve.isPaused,
      isFrozen: reserve.isFrozen,
      liquidationGracePeriodUntil: reserve.liquidationGracePeriodUntil,
      availableLiquidityUnits: reserve.availableLiquidityUnits,
      scaled: {
        scaledATokenBalance: balances.scaledCollateral,
        liquidityIndexRay: reserve.liquidityIndexRay,
        scaledVariableDebt: balances.scaledDebt,
        variableBorrowIndexRay: reserve.variableBorrowIndexRay,
      },
    };
  }

  private async readUserPositionPerCall(user: string, block: number): Promise<UserPosition> {
    const blockTag = block;
    const [market, userConfig, eModeCategory] = await Promise.all([
      this.marketAt(block),
      this.pool.read<bigint>('getUserConfiguration', [user], blockTag),
      this.pool.read<bigint>('getUserEMode', [user], blockTag),
    ]);
    // eMode: the category's LT and bonus replace the reserve's for the collateral it covers (reservePosition).
    const category = eModeCategory === 0n ? undefined : await this.eModeCategoryAt(Number(eModeCategory), block);
    const reserves = await Promise.all(
      market.reserves.map(async (reserve): Promise<ReservePosition> => {
        // UserConfiguration: bit 2·id = borrowing.
        const borrowing = bits(userConfig, reserve.id * 2, 1) === 1n;
        const aToken = new ViewContract(reserve.aToken, TOKEN_ABI, this.provider);
        const variableDebt = new ViewContract(reserve.variableDebtToken, TOKEN_ABI, this.provider);
        const hasStableDebt = this.features.stableDebt && reserve.stableDebtToken !== ZeroAddress && borrowing;
        const [collateral, scaledCollateral, debt, scaledDebt, stableDebt] = await Promise.all([
          aToken.read<bigint>('balanceOf', [user], blockTag),
          aToken.read<bigint>('scaledBalanceOf', [user], blockTag),
          borrowing ? variableDebt.read<bigint>('balanceOf', [user], blockTag) : Promise.resolve(0n),
          borrowing ? variableDebt.read<bigint>('scaledBalanceOf', [user], blockTag) : Promise.resolve(0n),
          hasStableDebt
            ? new ViewContract(reserve.stableDebtToken, TOKEN_ABI, this.provider).read<bigint>('balanceOf', [user], blockTag)
            : Promise.resolve(0n),
        ]);
        return this.reservePosition(reserve, category, userConfig, { collateral, scaledCollateral, debt, scaledDebt, stableDebt });
      }),
    );
    return {
      user,
      ruleSet: this.ruleSet,
      blockTimestamp: market.blockTimestamp,
      priceOracleSentinel: market.priceOracleSentinel,
      // Reserves the user neither supplies nor borrows change nothing; leaving them out keeps plans small.
      reserves: reserves.filter((r) => r.collateralBalanceUnits > 0n || r.debtBalanceUnits > 0n),
    };
  }
}
