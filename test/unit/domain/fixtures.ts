/**
 * Builders for domain tests: a reserve is described by its asset preset, price and balances in whole tokens or
 * raw units; everything else takes the defaults of a plain, active, un-frozen reserve.
 */
import type { ReservePosition, RuleSet, UserPosition } from '../../../functions/domain';

export const USER = '0x00000000000000000000000000000000000000b0';
export const LIQUIDATOR = '0x00000000000000000000000000000000000000a1';
export const BLOCK_TIMESTAMP = 1_750_000_000n;

export const ASSETS = {
  USDC: { asset: '0x0000000000000000000000000000000000000001', decimals: 6n },
  WETH: { asset: '0x0000000000000000000000000000000000000002', decimals: 18n },
  WBTC: { asset: '0x0000000000000000000000000000000000000003', decimals: 8n },
  DAI: { asset: '0x0000000000000000000000000000000000000004', decimals: 18n },
} as const;
export type AssetSymbol = keyof typeof ASSETS;

/** `amount` whole tokens (or a decimal string) in the asset's units. */
export function units(symbol: AssetSymbol, amount: string | number): bigint {
  const [whole, fraction = ''] = String(amount).split('.');
  const decimals = Number(ASSETS[symbol].decimals);
  return BigInt(whole + fraction.padEnd(decimals, '0').slice(0, decimals));
}

/** A USD price with 8 decimals. */
export function usd(amount: string | number): bigint {
  const [whole, fraction = ''] = String(amount).split('.');
  return BigInt(whole + fraction.padEnd(8, '0').slice(0, 8));
}

export function reserve(symbol: AssetSymbol, overrides: Partial<ReservePosition> & { priceBase8: bigint }): ReservePosition {
  return {
    ...ASSETS[symbol],
    collateralBalanceUnits: 0n,
    debtBalanceUnits: 0n,
    usageAsCollateralEnabled: (overrides.collateralBalanceUnits ?? 0n) > 0n,
    liquidationThresholdBps: 8_250n,
    liquidationBonusBps: 10_500n,
    liquidationProtocolFeeBps: 0n,
    isActive: true,
    isPaused: false,
    isFrozen: false,
    liquidationGracePeriodUntil: 0n,
    ...overrides,
  };
}

export function position(ruleSet: RuleSet, reserves: ReservePosition[], overrides: Partial<UserPosition> = {}): UserPosition {
  return { user: USER, ruleSet, blockTimestamp: BLOCK_TIMESTAMP, priceOracleSentinel: 'none', reserves, ...overrides };
}

export const pairOf = (collateral: AssetSymbol, debt: AssetSymbol) => ({
  collateralAsset: ASSETS[collateral].asset,
  debtAsset: ASSETS[debt].asset,
});
