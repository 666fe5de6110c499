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
