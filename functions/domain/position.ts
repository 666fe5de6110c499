/**
 * A borrower's Aave V3 position at one block, as the liquidation domain sees it.
 *
 * Everything is read at the same block (balances include the interest accrued up to that block's timestamp,
 * exactly what `aToken.balanceOf` / `debtToken.balanceOf` return there), so a prediction made from it can be
 * compared to the wei with a `liquidationCall` executed in the next transaction of that block.
 */
import { assertUint256 } from './math';
import { poolVersionProfile } from './pool-versions';

/**
 * Which Pool logic the market runs. Named after the first release of each behaviour:
 * - `v3.0`: Aave 3.0 – 3.2. Close factor per reserve (50 %, or 100 % at HF ≤ 0.95); half-up rounding everywhere
 *   (3.1 and 3.2 add the reserve grace period and more: pool-versions.ts). Mirrors npm `@aave/core-v3` (LiquidationLogic / GenericLogic / ValidationLogic).
 * - `v3.3`: Aave 3.3 – 3.4. Position-wide 50 % close factor only above $2,000 per reserve, MustNotLeaveDust,
 *   deficit on bad debt; still the pre-3.5 half-up rounding. Mirrors the public aave-v3-origin 3.3 sources
 *   (LiquidationLogic / GenericLogic at v3.3), which are not in node_modules: less verified than the other two.
 * - `v3.5`: Aave 3.5 and 3.6. The 3.3 rules with the 3.5 rounding (balances and base values
 *   rounded against the user, `percentDivCeil`, `mulDivCeil`), collateral counted without the LT ≠ 0 filter.
 *   Mirrors npm `@aave-dao/aave-v3-origin` 3.6.
 */
export type RuleSet = 'v3.0' | 'v3.3' | 'v3.5';

/**
 * The rule set for a deployed Pool version such as `3.6` or `3.0.2` (the table in pool-versions.ts); throws a
 * RangeError naming the supported versions for any other.
 */
export function ruleSetForPoolVersion(version: string): RuleSet {
  return poolVersionProfile(version).ruleSet;
}

/**
 * Optional scaled balances and indexes of one reserve, at the same block as the balances. With them the
 * post-liquidation balances are computed exactly as the tokens burn and transfer scaled amounts
 * (see token-balance.ts); without them they are `balance − amount`, which can differ by a wei or two.
 */
export interface ScaledReserveBalances {
  /** aToken.scaledBalanceOf(user). */
  scaledATokenBalance: bigint;
  /** Pool.getReserveNormalizedIncome(asset) at this block (ray, 1e27). */
  liquidityIndexRay: bigint;
  /** variableDebtToken.scaledBalanceOf(user). */
  scaledVariableDebt: bigint;
  /** Pool.getReserveNormalizedVariableDebt(asset) at this block (ray, 1e27). */
  variableBorrowIndexRay: bigint;
}

/** One reserve of the market from the borrower's point of view. */
export interface ReservePosition {
  /** Underlying asset address (compared case-insensitively). */
  asset: string;
  /** Token decimals; the asset unit is 10^decimals. */
  decimals: bigint;
  /**
   * Oracle price in the market's base currency (USD with 8 decimals on standard markets). On v3.0 for a
   * borrower in an eMode category with a price source, the eMode price for assets of that category
   * (GenericLogic.calculateUserAccountData and LiquidationLogic._getConfigurationData read that source).
   */
  priceBase8: bigint;
  /** aToken.balanceOf(user): the supplied amount in token units. */
  collateralBalanceUnits: bigint;
  /** Total debt in token units: variable debt plus, on v3.0 – 3.1, stable debt. */
  debtBalanceUnits: bigint;
  /** The user's "use as collateral" flag for this reserve (UserConfiguration.isUsingAsCollateral). */
  usageAsCollateralEnabled: boolean;
  /** Effective liquidation threshold for this user (the eMode category's when the asset counts in it). */
  liquidationThresholdBps: bigint;
  /** Effective liquidation bonus (e.g. 10500 = +5 %), the eMode category's when it applies. */
  liquidationBonusBps: bigint;
  /** Share of the bonus paid to the treasury (ReserveConfiguration.getLiquidationProtocolFee). */
  liquidationProtocolFeeBps: bigint;
  isActive: boolean;
  isPaused: boolean;
  /** Frozen reserves can still be liquidated; carried for the adapters, not used by the rules. */
  isFrozen: boolean;
  /** ReserveData.liquidationGracePeriodUntil (unix seconds, v3.1+); 0n when none. */
  liquidationGracePeriodUntil: bigint;
  scaled?: ScaledReserveBalances;
  /**
   * Underlying the reserve can pay out at this block: min(virtual underlying balance (v3.1+), the aToken's
   * balance of the underlying). A liquidation paying collateral out in the underlying, or a flash loan, cannot
   * take more (ReserveLogic's checked subtraction, then the ERC-20 transfer). Undefined: not read.
   */
  availableLiquidityUnits?: bigint;
}

/** What the Pool's PriceOracleSentinel (L2 sequencer guard) says; `none` when the market has no sentinel. */
export type PriceOracleSentinelState = 'none' | 'allows-liquidation' | 'blocks-liquidation';

export interface UserPosition {
  user: string;
  ruleSet: RuleSet;
  /** Timestamp of the block the position was read at (seconds): the grace-period check compares to it. */
  blockTimestamp: bigint;
  priceOracleSentinel: PriceOracleSentinelState;
  reserves: readonly ReservePosition[];
}

/** Same address, ignoring checksum case. */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The reserve for `asset`, or `undefined` when the position does not list it. */
export function findReserve(position: UserPosition, asset: string): ReservePosition | undefined {
  return position.reserves.find((reserve) => sameAddress(reserve.asset, asset));
}

/** 10^decimals, the `assetUnit` of the Solidity. */
export function assetUnit(reserve: ReservePosition): bigint {
  return 10n ** reserve.decimals;
}

/** Rejects a position the Pool could not hold (negative or oversized amounts, a zero price, duplicated assets). */
export function assertValidPosition(position: UserPosition): void {
  const seen = new Set<string>();
  for (const reserve of position.reserves) {
    const key = reserve.asset.toLowerCase();
    if (seen.has(key)) throw new RangeError(`reserve ${reserve.asset} is listed twice`);
    seen.add(key);
    if (reserve.decimals < 0n || reserve.decimals > 77n) {
      throw new RangeError(`reserve ${reserve.asset}: decimals must be 0..77, got ${reserve.decimals}`);
    }
    if (reserve.priceBase8 <= 0n) throw new RangeError(`reserve ${reserve.asset}: priceBase8 must be positive, got ${reserve.priceBase8}`);
    assertUint256(`reserve ${reserve.asset}: priceBase8`, reserve.priceBase8);
    assertUint256(`reserve ${reserve.asset}: collateralBalanceUnits`, reserve.collateralBalanceUnits);
    assertUint256(`reserve ${reserve.asset}: debtBalanceUnits`, reserve.debtBalanceUnits);
    for (const [name, bps] of [
      ['liquidationThresholdBps', reserve.liquidationThresholdBps],
      ['liquidationBonusBps', reserve.liquidationBonusBps],
      ['liquidationProtocolFeeBps', reserve.liquidationProtocolFeeBps],
    ] as const) {
      if (bps < 0n || bps > 65_535n) throw new RangeError(`reserve ${reserve.asset}: ${name} must be 0..65535, got ${bps}`);
    }
    if (reserve.scaled) {
      const s = reserve.scaled;
      assertUint256(`reserve ${reserve.asset}: scaledATokenBalance`, s.scaledATokenBalance);
      assertUint256(`reserve ${reserve.asset}: scaledVariableDebt`, s.scaledVariableDebt);
      if (s.liquidityIndexRay <= 0n || s.variableBorrowIndexRay <= 0n) {
        throw new RangeError(`reserve ${reserve.asset}: indexes must be positive rays`);
      }
    }
  }
}
