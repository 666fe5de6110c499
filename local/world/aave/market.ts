/**
 * What a local Aave V3 market deployment takes and returns. Both flavours (v3.6 compiled from
 * @aave-dao/aave-v3-origin, v3.0 from @aave/core-v3 artifacts) implement `deploy(...)` with these types, so the
 * rest of the world (seeding positions, price shocks, tests) does not care which one runs.
 */
import type { Deployer } from '../deployer';

export type AaveVersion = 'v3.6' | 'v3.0';

/** One reserve to list. Token and feed are already deployed (TestnetERC20, SettablePriceFeed with 8 decimals). */
export interface ReserveListing {
  symbol: string;
  decimals: number;
  underlying: string;
  feed: string;
  ltvBps: number;
  liquidationThresholdBps: number;
  /** 10500 = 5% bonus, as Aave stores it. */
  liquidationBonusBps: number;
  /** Share of the bonus sent to the treasury, bps (1000 = 10%). */
  protocolFeeBps: number;
  /** Reserve factor, bps. */
  reserveFactorBps: number;
  borrowingEnabled: boolean;
}

export interface DeployedReserve {
  symbol: string;
  decimals: number;
  underlying: string;
  aToken: string;
  variableDebtToken: string;
  feed: string;
}

export interface AaveMarket {
  version: AaveVersion;
  poolAddressesProvider: string;
  pool: string;
  poolConfigurator: string;
  aclManager: string;
  aaveOracle: string;
  protocolDataProvider: string;
  treasury: string;
  /** Keyed by symbol. */
  reserves: Record<string, DeployedReserve>;
}

/**
 * A market deployer. The deployer's account must end as ACL admin, pool admin, risk admin and emergency admin
 * (the world reconfigures reserves during seeding) and the market must use AaveOracle over the given feeds with
 * an 8-decimal USD base currency.
 */
export type DeployAaveMarket = (deployer: Deployer, reserves: ReserveListing[]) => Promise<AaveMarket>;

/**
 * Treasury of local markets (anvil dev account 9). Protocol fees from liquidations are minted to it as aTokens,
 * so tests can measure them by its aToken balance.
 */
export const LOCAL_TREASURY = '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720';

/**
 * Interest-rate curve used for every local reserve, in bps: utilisation kink, base rate, slope below and above
 * the kink. Rates are non-zero on purpose so debt accrues as it does on mainnet.
 */
export const LOCAL_RATE_CURVE = { optimalUsageBps: 8000, baseRateBps: 0, slope1Bps: 400, slope2Bps: 7500 } as const;

/** Market id stored in the PoolAddressesProvider (informational only). */
export const LOCAL_MARKET_ID = 'Local';

/** AaveOracle base currency: address(0) with unit 1e8 means "USD with 8 decimals", as on Ethereum mainnet. */
export const USD_BASE_CURRENCY = '0x0000000000000000000000000000000000000000';
export const USD_BASE_UNIT = 10n ** 8n;

const PERCENTAGE_FACTOR = 10_000;

/**
 * Checks a market's listings before any transaction, so a bad one fails with its symbol rather than a bare
 * revert. Mirrors PoolConfigurator.configureReserveAsCollateral (ltv ≤ lt; if lt ≠ 0 then bonus > 100% and
 * lt.percentMul(bonus) ≤ 100%, else bonus = 0) and the fee / reserve-factor bounds, in both V3.0 and v3.6.
 * `minDecimals`: v3.6 refuses assets with 5 decimals or fewer (ConfiguratorLogic.executeInitReserve).
 */
export function assertValidListings(reserves: readonly ReserveListing[], flavour: AaveVersion): void {
  if (reserves.length === 0) throw new Error(`Aave ${flavour}: no reserves to list`);
  if (new Set(reserves.map((r) => r.symbol)).size !== reserves.length) throw new Error(`Aave ${flavour}: duplicate reserve symbols`);
  for (const r of reserves) {
    const where = `reserve ${r.symbol}`;
    if (r.ltvBps > r.liquidationThresholdBps) throw new Error(`${where}: ltv ${r.ltvBps} > liquidation threshold ${r.liquidationThresholdBps}`);
    if (r.liquidationThresholdBps !== 0) {
      if (r.liquidationBonusBps <= PERCENTAGE_FACTOR) throw new Error(`${where}: liquidation bonus ${r.liquidationBonusBps} must be > 10000`);
      // PercentageMath.percentMul rounds half up: (lt × bonus + 5000) / 10000.
      const ltTimesBonus = Math.floor((r.liquidationThresholdBps * r.liquidationBonusBps + PERCENTAGE_FACTOR / 2) / PERCENTAGE_FACTOR);
      if (ltTimesBonus > PERCENTAGE_FACTOR) throw new Error(`${where}: liquidation threshold × bonus = ${ltTimesBonus} bps > 10000`);
    } else if (r.liquidationBonusBps !== 0) {
      throw new Error(`${where}: liquidation bonus must be 0 when the liquidation threshold is 0`);
    }
    if (r.protocolFeeBps > PERCENTAGE_FACTOR) throw new Error(`${where}: protocol fee ${r.protocolFeeBps} > 10000`);
    if (r.reserveFactorBps > PERCENTAGE_FACTOR) throw new Error(`${where}: reserve factor ${r.reserveFactorBps} > 10000`);
    if (flavour === 'v3.6' && r.decimals <= 5) throw new Error(`${where}: Aave v3.6 refuses assets with ≤ 5 decimals`);
  }
}
