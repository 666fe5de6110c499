import { assessLiquidation, type CloseFactorRule, type IneligibleReason, type ReservePosition, type RuleSet, type UserPosition } from '../../../functions/domain';
import { ASSETS, BLOCK_TIMESTAMP, LIQUIDATOR, pairOf, position, reserve, units, USER, usd } from './fixtures';

/** 1 WETH of collateral at `wethUsd` (LT 82.5 %) against `usdcDebt` USDC. */
function wethUsdc(ruleSet: RuleSet, wethAmount: string | number, wethUsd: number, usdcDebt: number, lt = 8_250n): UserPosition {
  return position(ruleSet, [
    reserve('WETH', { priceBase8: usd(wethUsd), collateralBalanceUnits: units('WETH', wethAmount), liquidationThresholdBps: lt }),
    reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', usdcDebt) }),
  ]);
}

describe('assessLiquidation: close factor (PROTOCOL-RULES.md worked checks)', () => {
  it.each<[string, UserPosition, bigint, CloseFactorRule]>([
    // V3.0, HF = 1800·0.825/1500 = 0.99 > 0.95 → 50 %: percentMul(1500e6, 5000) = (7.5e12 + 5000)/1e4 = 750e6.
    ['V3.0 HF 0.99: 750 of 1,500 USDC', wethUsdc('v3.0', 1, 1800, 1500), units('USDC', 750), 'half-of-reserve-debt'],
    // V3.0, HF = 1700·0.825/1500 = 0.935 ≤ 0.95 → 100 %: percentMul(1500e6, 10000) = 1500e6.
    ['V3.0 HF 0.935: all 1,500 USDC', wethUsdc('v3.0', 1, 1700, 1500), units('USDC', 1500), 'all-of-reserve-debt'],
    // V3.0, HF = 1500·0.95/1500 = 0.95 exactly: not > 0.95 → 100 %.
    ['V3.0 HF exactly 0.95: 100 %', wethUsdc('v3.0', 1, 1500, 1500, 9_500n), units('USDC', 1500), 'all-of-reserve-debt'],
    // V3.0 percentMul rounds half up: 1501 units · 50 % = 750.5 → 751. Position: 1e12 wei WETH at $1,800 =
    // 180_000 base, debt 1501 units = 150_100 base; HF = wadDiv(percentMul(180000, 8250) = 148_500, 150_100) ≈ 0.989.
    ['V3.0 50 % of 1,501 units rounds up to 751', wethUsdc('v3.0', '0.000001', 1800, 0.001501), 751n, 'half-of-reserve-debt'],
    // v3.6, 10 WETH at $1,800 = $18k, 15,000 USDC; HF = 18000·0.825/15000 = 0.99. Both reserves ≥ $2,000 and
    // HF > 0.95 → cap: percentMul(15000e8, 5000) = 7500e8 < 15000e8 → 7500e8 · 1e6 / 1e8 = 7,500 USDC.
    ['v3.6 $18k / $15k HF 0.99: 7,500 (50 %)', wethUsdc('v3.5', 10, 1800, 15000), units('USDC', 7500), 'half-of-total-debt'],
    ['v3.3 $18k / $15k HF 0.99: 7,500 (50 %)', wethUsdc('v3.3', 10, 1800, 15000), units('USDC', 7500), 'half-of-total-debt'],
    // v3.6, 1 WETH at $1,800, 1,500 USDC: collateral 1800e8 < 2000e8 → the whole 1,500.
    ['v3.6 $1.8k / $1.5k HF 0.99: 1,500 (100 %, under $2,000)', wethUsdc('v3.5', 1, 1800, 1500), units('USDC', 1500), 'all-of-reserve-debt'],
    // v3.6, $20k / $20k at LT 95 %: HF = 0.95 exactly, not > 0.95 → 100 %.
    ['v3.6 $20k / $20k HF exactly 0.95: 100 %', wethUsdc('v3.5', 10, 2000, 20000, 9_500n), units('USDC', 20000), 'all-of-reserve-debt'],
    // v3.6, $2,000 collateral exactly and $2,000 debt: both ≥ 2000e8 (inclusive), HF 0.825 ≤ 0.95 → 100 %.
    ['v3.6 HF 0.825 ≤ 0.95: 100 % even above $2,000', wethUsdc('v3.5', 1, 2000, 2000), units('USDC', 2000), 'all-of-reserve-debt'],
  ])('%s', (_name, pos, maxDebt, rule) => {
    const result = assessLiquidation(pos, pairOf('WETH', 'USDC'));
    expect(result).toMatchObject({ kind: 'eligible', maxLiquidatableDebtUnits: maxDebt, closeFactor: rule });
  });

  // v3.3+: the 50 % applies to the TOTAL debt. 30 WETH at $1,000 ($30k, LT 96 %); debts 3,000 USDC + 27,000 DAI
  // = $30k → HF = 30000·0.96/30000 = 0.96 > 0.95, every reserve ≥ $2,000. Half the total = percentMul(30000e8, 5000)
  // = 15000e8. USDC reserve: $3,000 ≤ $15,000 → the whole 3,000 USDC (v3.0: 50 % = 1,500).
  // DAI reserve: $27,000 > $15,000 → 15000e8 · 1e18 / 1e8 = 15,000 DAI (v3.0: 13,500).
  it.each<[RuleSet, 'USDC' | 'DAI', bigint, CloseFactorRule]>([
    ['v3.5', 'USDC', units('USDC', 3000), 'all-of-reserve-debt'],
    ['v3.5', 'DAI', units('DAI', 15000), 'half-of-total-debt'],
    ['v3.0', 'USDC', units('USDC', 1500), 'half-of-reserve-debt'],
    ['v3.0', 'DAI', units('DAI', 13500), 'half-of-reserve-debt'],
  ])('%s: 50 %% of total debt, not per reserve — %s', (ruleSet, debt, maxDebt, rule) => {
    const pos = position(ruleSet, [
      reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 30), liquidationThresholdBps: 9_600n }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 3000) }),
      reserve('DAI', { priceBase8: usd(1), debtBalanceUnits: units('DAI', 27000) }),
    ]);
    expect(assessLiquidation(pos, pairOf('WETH', debt))).toMatchObject({ kind: 'eligible', maxLiquidatableDebtUnits: maxDebt, closeFactor: rule });
  });
});

describe('assessLiquidation: validateLiquidationCall checks, in the Solidity order', () => {
  const base = wethUsdc('v3.5', 1, 1800, 1500);
  const withWeth = (pos: UserPosition, change: Partial<ReservePosition>): UserPosition => ({
    ...pos,
    reserves: pos.reserves.map((r) => (r.asset === ASSETS.WETH.asset ? { ...r, ...change } : r)),
  });

  it.each<[string, UserPosition, { liquidator?: string }, IneligibleReason]>([
    ['borrower liquidating itself (v3.4+)', base, { liquidator: USER }, 'self-liquidation'],
    ['inactive collateral reserve', withWeth(base, { isActive: false }), {}, 'reserve-inactive'],
    ['paused collateral reserve (paused beats the sentinel)', withWeth({ ...base, priceOracleSentinel: 'blocks-liquidation' }, { isPaused: true }), {}, 'reserve-paused'],
    // HF 0.99 ≥ 0.95: the sentinel's verdict counts.
    ['sentinel blocks at HF 0.99', { ...base, priceOracleSentinel: 'blocks-liquidation' }, {}, 'price-oracle-sentinel'],
    ['grace period still running (until == block time)', withWeth(base, { liquidationGracePeriodUntil: BLOCK_TIMESTAMP }), {}, 'liquidation-grace-period'],
    ['healthy: HF = 2000·0.825/1500 = 1.1', wethUsdc('v3.5', 1, 2000, 1500), {}, 'healthy'],
    // No collateral counted → HF = 0: liquidatable, but not against this collateral.
    ['collateral flag off', withWeth(base, { usageAsCollateralEnabled: false }), {}, 'collateral-not-enabled'],
    ['unknown asset', position('v3.5', []), {}, 'unknown-reserve'],
  ])('%s', (_name, pos, options, reason) => {
    expect(assessLiquidation(pos, pairOf('WETH', 'USDC'), options)).toEqual({ kind: 'ineligible', reason });
  });

  it('a frozen reserve and a finished grace period do not block, and v3.0 lets a borrower liquidate itself', () => {
    const pos = withWeth(base, { isFrozen: true, liquidationGracePeriodUntil: BLOCK_TIMESTAMP - 1n });
    expect(assessLiquidation(pos, pairOf('WETH', 'USDC'), { liquidator: LIQUIDATOR }).kind).toBe('eligible');
    expect(assessLiquidation(wethUsdc('v3.0', 1, 1800, 1500), pairOf('WETH', 'USDC'), { liquidator: USER }).kind).toBe('eligible');
  });

  it('sentinel is bypassed below HF 0.95 (HF 0.935)', () => {
    const pos = { ...wethUsdc('v3.5', 1, 1700, 1500), priceOracleSentinel: 'blocks-liquidation' as const };
    expect(assessLiquidation(pos, pairOf('WETH', 'USDC')).kind).toBe('eligible');
  });

  // Second collateral keeps HF < 1 while the pair's own collateral is disabled / LT 0 / the debt is elsewhere.
  const twoCollaterals = (ruleSet: RuleSet, wbtc: Partial<ReservePosition>) =>
    position(ruleSet, [
      reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 1) }),
      reserve('WBTC', { priceBase8: usd(60000), collateralBalanceUnits: units('WBTC', '0.001'), ...wbtc }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1600) }),
    ]);

  it.each<[string, UserPosition, 'WBTC' | 'USDC', 'USDC' | 'WETH', IneligibleReason | 'eligible']>([
    ['collateral not enabled by the user', twoCollaterals('v3.5', { usageAsCollateralEnabled: false }), 'WBTC', 'USDC', 'collateral-not-enabled'],
    ['v3.0: collateral with LT 0 cannot be liquidated', twoCollaterals('v3.0', { liquidationThresholdBps: 0n }), 'WBTC', 'USDC', 'collateral-not-enabled'],
    ['v3.3: collateral with LT 0 cannot be liquidated', twoCollaterals('v3.3', { liquidationThresholdBps: 0n }), 'WBTC', 'USDC', 'collateral-not-enabled'],
    ['v3.5: enabled collateral with LT 0 can be liquidated', twoCollaterals('v3.5', { liquidationThresholdBps: 0n }), 'WBTC', 'USDC', 'eligible'],
    ['no debt in the chosen debt reserve', twoCollaterals('v3.5', {}), 'WBTC', 'WETH', 'no-debt-in-reserve'],
  ])('%s', (_name, pos, collateral, debt, expected) => {
    const result = assessLiquidation(pos, { collateralAsset: ASSETS[collateral].asset, debtAsset: ASSETS[debt].asset });
    expect(result.kind === 'eligible' ? 'eligible' : result.reason).toBe(expected);
  });
});
