/**
 * Reads an Aave V3 borrower's position at one block into the domain's `UserPosition`: reserve configuration,
 * oracle prices, indexes, grace periods and the price-oracle sentinel (once per block, shared by every user
 * read at that block), then the user's balances, scaled balances and collateral flags. Works for the V3.0
 * (@aave/core-v3) and v3.3+ (aave-v3-origin) Pools: the calls used exist in both with the same layout.
 *
 * A call the node fails (header not found, rate limit, timeout, reset: call-failure.ts) fails the read with a
 * retryable NodeCallError, so that the worker asks again rather than recording the node's failure as the
 * position's; a revert of a read is thrown as ethers raised it, as before.
 */
import { Contract, type JsonRpcProvider, ZeroAddress } from 'ethers';
import type { ReservePosition, RuleSet, UserPosition } from '../../domain';
import { nodeCallErrorOf } from './call-failure';

const POOL_ABI = [
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
];
const PROVIDER_ABI = ['function getPriceOracle() view returns (address)', 'function getPriceOracleSentinel() view returns (address)'];
const ORACLE_ABI = ['function getAssetsPrices(address[] assets) view returns (uint256[])'];
const SENTINEL_ABI = ['function isLiquidationAllowed() view returns (bool)'];
const TOKEN_ABI = ['function balanceOf(address) view returns (uint256)', 'function scaledBalanceOf(address) view returns (uint256)'];

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
  /** min(virtual underlying balance (v3.3+ rule sets), underlying held by the aToken): what the reserve can pay out. */
  availableLiquidityUnits: bigint;
}

export interface MarketSnapshot {
  block: number;
  blockTimestamp: bigint;
  reserves: ReserveSnapshot[];
  priceOracleSentinel: UserPosition['priceOracleSentinel'];
}

/** A position the reader cannot express exactly; the caller skips it with this reason instead of guessing. */
export class UnsupportedPositionError extends Error {
  constructor(
    readonly user: string,
    readonly reason: 'emode',
    detail: string,
  ) {
    super(`position of ${user} is not supported: ${detail}`);
    this.name = 'UnsupportedPositionError';
  }
}

export class AaveV3PositionReader {
  private readonly pool: Contract;
  private readonly snapshots = new Map<number, Promise<MarketSnapshot>>();

  constructor(
    private readonly provider: JsonRpcProvider,
    poolAddress: string,
    readonly ruleSet: RuleSet,
  ) {
    this.pool = new Contract(poolAddress, POOL_ABI, provider);
  }

  /** Reserve configuration, prices and indexes at `block`; read once per block and shared. */
  marketAt(block: number): Promise<MarketSnapshot> {
    let snapshot = this.snapshots.get(block);
    if (!snapshot) {
      snapshot = this.readMarket(block).catch((err: unknown) => {
        throw nodeCallErrorOf(err, `reading the market at block ${block}`) ?? err;
      });
      snapshot.catch(() => this.snapshots.delete(block));
      this.snapshots.set(block, snapshot);
      // Keep the few most recent blocks only.
      for (const key of [...this.snapshots.keys()].sort((a, b) => a - b).slice(0, -4)) this.snapshots.delete(key);
    }
    return snapshot;
  }

  private async readMarket(block: number): Promise<MarketSnapshot> {
    const blockTag = block;
    const [assetList, addressesProvider, header] = await Promise.all([
      this.pool.getReservesList({ blockTag }) as Promise<string[]>,
      this.pool.ADDRESSES_PROVIDER({ blockTag }) as Promise<string>,
      this.provider.getBlock(block),
    ]);
    if (!header) throw new Error(`block ${block} not found`);
    // ethers returns a read-only Result; a plain array can be passed back as an argument.
    const assets = [...assetList];
    const provider = new Contract(addressesProvider, PROVIDER_ABI, this.provider);
    const [oracleAddress, sentinelAddress] = await Promise.all([
      provider.getPriceOracle({ blockTag }) as Promise<string>,
      provider.getPriceOracleSentinel({ blockTag }) as Promise<string>,
    ]);
    const oracle = new Contract(oracleAddress, ORACLE_ABI, this.provider);
    const prices = (await oracle.getAssetsPrices(assets, { blockTag })) as bigint[];

    const reserves = await Promise.all(
      assets.map(async (asset, i): Promise<ReserveSnapshot> => {
        const [data, income, debtIndex, gracePeriod] = await Promise.all([
          this.pool.getReserveData(asset, { blockTag }),
          this.pool.getReserveNormalizedIncome(asset, { blockTag }) as Promise<bigint>,
          this.pool.getReserveNormalizedVariableDebt(asset, { blockTag }) as Promise<bigint>,
          // Grace periods exist from v3.1 on; V3.0 has none.
          this.ruleSet === 'v3.0' ? Promise.resolve(0n) : (this.pool.getLiquidationGracePeriod(asset, { blockTag }) as Promise<bigint>),
        ]);
        const config = data.configuration as bigint;
        // Virtual accounting exists from 3.1 on; the V3.0 rule set (3.0–3.2) reads the aToken's holdings only.
        const [held, virtual] = await Promise.all([
          new Contract(asset, TOKEN_ABI, this.provider).balanceOf(data.aTokenAddress as string, { blockTag }) as Promise<bigint>,
          this.ruleSet === 'v3.0' ? Promise.resolve(undefined) : (this.pool.getVirtualUnderlyingBalance(asset, { blockTag }) as Promise<bigint>),
        ]);
        return {
          asset,
          id: Number(data.id),
          ltvBps: bits(config, 0, 16),
          liquidationThresholdBps: bits(config, 16, 16),
          liquidationBonusBps: bits(config, 32, 16),
          decimals: bits(config, 48, 8),
          isActive: bits(config, 56, 1) === 1n,
          isFrozen: bits(config, 57, 1) === 1n,
          isPaused: bits(config, 60, 1) === 1n,
          liquidationProtocolFeeBps: bits(config, 152, 16),
          aToken: data.aTokenAddress as string,
          variableDebtToken: data.variableDebtTokenAddress as string,
          stableDebtToken: data.stableDebtTokenAddress as string,
          priceBase8: prices[i],
          liquidityIndexRay: income,
          variableBorrowIndexRay: debtIndex,
          liquidationGracePeriodUntil: BigInt(gracePeriod),
          availableLiquidityUnits: virtual === undefined || held < virtual ? held : virtual,
        };
      }),
    );

    let priceOracleSentinel: MarketSnapshot['priceOracleSentinel'] = 'none';
    if (sentinelAddress !== ZeroAddress) {
      const sentinel = new Contract(sentinelAddress, SENTINEL_ABI, this.provider);
      priceOracleSentinel = (await sentinel.isLiquidationAllowed({ blockTag })) ? 'allows-liquidation' : 'blocks-liquidation';
    }
    return { block, blockTimestamp: BigInt(header.timestamp), reserves, priceOracleSentinel };
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
    const blockTag = block;
    const [market, userConfig, eModeCategory] = await Promise.all([
      this.marketAt(block),
      this.pool.getUserConfiguration(user, { blockTag }) as Promise<bigint>,
      this.pool.getUserEMode(user, { blockTag }) as Promise<bigint>,
    ]);
    if (eModeCategory !== 0n) {
      // eMode overrides LT, bonus (and on V3.0 the price) per category; sizing it is not implemented yet, and a
      // wrong bonus would mean a wrong plan, so such positions are refused rather than approximated.
      throw new UnsupportedPositionError(user, 'emode', `user is in eMode category ${eModeCategory}`);
    }
    const reserves = await Promise.all(
      market.reserves.map(async (reserve): Promise<ReservePosition> => {
        // UserConfiguration: bit 2·id = borrowing, bit 2·id+1 = using as collateral.
        const borrowing = bits(userConfig, reserve.id * 2, 1) === 1n;
        const usingAsCollateral = bits(userConfig, reserve.id * 2 + 1, 1) === 1n;
        const aToken = new Contract(reserve.aToken, TOKEN_ABI, this.provider);
        const variableDebt = new Contract(reserve.variableDebtToken, TOKEN_ABI, this.provider);
        const hasStableDebt = this.ruleSet === 'v3.0' && reserve.stableDebtToken !== ZeroAddress && borrowing;
        const [collateral, scaledCollateral, debt, scaledDebt, stableDebt] = await Promise.all([
          aToken.balanceOf(user, { blockTag }) as Promise<bigint>,
          aToken.scaledBalanceOf(user, { blockTag }) as Promise<bigint>,
          borrowing ? (variableDebt.balanceOf(user, { blockTag }) as Promise<bigint>) : Promise.resolve(0n),
          borrowing ? (variableDebt.scaledBalanceOf(user, { blockTag }) as Promise<bigint>) : Promise.resolve(0n),
          hasStableDebt
            ? (new Contract(reserve.stableDebtToken, TOKEN_ABI, this.provider).balanceOf(user, { blockTag }) as Promise<bigint>)
            : Promise.resolve(0n),
        ]);
        return {
          asset: reserve.asset,
          decimals: reserve.decimals,
          priceBase8: reserve.priceBase8,
          collateralBalanceUnits: collateral,
          debtBalanceUnits: debt + stableDebt,
          usageAsCollateralEnabled: usingAsCollateral,
          liquidationThresholdBps: reserve.liquidationThresholdBps,
          liquidationBonusBps: reserve.liquidationBonusBps,
          liquidationProtocolFeeBps: reserve.liquidationProtocolFeeBps,
          isActive: reserve.isActive,
          isPaused: reserve.isPaused,
          isFrozen: reserve.isFrozen,
          liquidationGracePeriodUntil: reserve.liquidationGracePeriodUntil,
          availableLiquidityUnits: reserve.availableLiquidityUnits,
          scaled: {
            scaledATokenBalance: scaledCollateral,
            liquidityIndexRay: reserve.liquidityIndexRay,
            scaledVariableDebt: scaledDebt,
            variableBorrowIndexRay: reserve.variableBorrowIndexRay,
          },
        };
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
