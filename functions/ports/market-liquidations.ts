/**
 * The market's liquidations and deficits as the indexer reads them from the Pool's logs, and the ports that
 * value and record them: who captured which liquidation (us or someone else), and the bad debt a liquidation left.
 */

/** One `LiquidationCall` log (IPool.sol, same in V3.0 and v3.6). Addresses lowercase. */
export interface LiquidationLog {
  txHash: string;
  logIndex: number;
  block: number;
  /** The liquidated account. */
  borrower: string;
  /** msg.sender of liquidationCall: our liquidator contract, one of our signers, or someone else. */
  liquidator: string;
  collateralAsset: string;
  debtAsset: string;
  /** Debt repaid, in the debt asset's units (the event's `debtToCover` is the actual amount, capped by the close factor). */
  debtRepaid: bigint;
  /** Collateral seized, bonus included, in the collateral asset's units (`liquidatedCollateralAmount`). */
  collateralSeized: bigint;
  receiveAToken: boolean;
}

/**
 * One `DeficitCreated(address indexed user, address indexed debtAsset, uint256 amountCreated)` log: debt left
 * without collateral after a liquidation, burned and booked as the reserve's deficit (aave-v3-origin
 * LiquidationLogic._burnBadDebt, v3.3+). V3.0 Pools emit no such event: bad debt stays on the account unseen.
 */
export interface DeficitLog {
  txHash: string;
  logIndex: number;
  block: number;
  borrower: string;
  debtAsset: string;
  /** In the debt asset's units. */
  amount: bigint;
}

/** A reserve's oracle price at one block and its token decimals. */
export interface AssetPrice {
  /** AaveOracle.getAssetPrice: the market's base currency (USD, 8 decimals). */
  priceBase8: bigint;
  decimals: number;
}

/** The Pool's oracle prices pinned to a block. */
export interface AssetPrices {
  /** Prices of `assets` (lowercase) at `block`, by lowercase address; throws when the node cannot answer. */
  pricesAt(block: number, assets: readonly string[]): Promise<ReadonlyMap<string, AssetPrice>>;
}

export type Captor = 'us' | 'others';

export interface RecordedLiquidation extends LiquidationLog {
  by: Captor;
  /** debtRepaid at the block's oracle price, base currency (USD, 8 decimals), rounded down. */
  debtRepaidUsdBase8: bigint;
  collateralSeizedUsdBase8: bigint;
}

export interface RecordedDeficit extends DeficitLog {
  /** amount at the block's oracle price, USD with 8 decimals, rounded down. */
  amountUsdBase8: bigint;
}

/**
 * Liquidations and deficits of a market, one item per log (transaction hash + log index). A record is written
 * once: writing it again (a re-read window, an overlapping run) answers `already-recorded` and changes nothing,
 * so whoever counts on `recorded` counts each log once.
 */
export interface MarketEventRecords {
  recordLiquidation(market: string, liquidation: RecordedLiquidation): Promise<'recorded' | 'already-recorded'>;
  recordDeficit(market: string, deficit: RecordedDeficit): Promise<'recorded' | 'already-recorded'>;
}

/** The addresses whose liquidations are ours (liquidator contract, signers), lowercase. */
export interface OurLiquidators {
  /** Resolved when first needed; a liquidator contract deployed later is learned on a later call. */
  addresses(): Promise<ReadonlySet<string>>;
}
