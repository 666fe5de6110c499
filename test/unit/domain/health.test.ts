import { calculateAccountData, MAX_UINT256, type RuleSet } from '../../../functions/domain';
import { position, reserve, units, usd } from './fixtures';

describe('calculateAccountData (GenericLogic.calculateUserAccountData)', () => {
  it.each<[RuleSet, bigint, bigint, bigint, bigint]>([
    // 1 WETH at $1,800 (LT 82.5 %) against 1,500 USDC.
    // collateral = 1e18 · 1800e8 / 1e18 = 1800e8; debt = 1500e6 · 1e8 / 1e6 = 1500e8.
    // v3.0/3.3: avgLT = 1800e8·8250 / 1800e8 = 8250; percentMul(1800e8, 8250) = 1485e8; wadDiv(1485e8, 1500e8) = 0.99e18.
    // v3.5: wadDiv(1800e8·8250 = 1.485e15, 1500e8) = 9.9e21; / 1e4 = 0.99e18.
    ['v3.0', 1_800n * 10n ** 8n, 1_500n * 10n ** 8n, 8_250n, 990_000_000_000_000_000n],
    ['v3.3', 1_800n * 10n ** 8n, 1_500n * 10n ** 8n, 8_250n, 990_000_000_000_000_000n],
    ['v3.5', 1_800n * 10n ** 8n, 1_500n * 10n ** 8n, 8_250n, 990_000_000_000_000_000n],
  ])('single collateral, %s: HF 0.99', (ruleSet, collateralBase, debtBase, avgLt, hf) => {
    const data = calculateAccountData(
      position(ruleSet, [
        reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 1) }),
        reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500) }),
      ]),
    );
    expect(data).toEqual({
      totalCollateralBase: collateralBase,
      totalDebtBase: debtBase,
      avgLiquidationThresholdBps: avgLt,
      weightedLiquidationThresholdBase: collateralBase * avgLt,
      healthFactorWad: hf,
    });
  });

  // Two collaterals: 1 WETH at $1,000 (LT 8250) + 0.01 WBTC at $68,000 (LT 7800), 1,400 USDC of debt.
  // collateral = 1000e8 + 0.01e8·68000e8/1e8 = 1000e8 + 680e8 = 1680e8; Σ value·LT = 1000e8·8250 + 680e8·7800
  // = 8.25e14 + 5.304e14 = 1.3554e15; avgLT = ⌊1.3554e15 / 1.68e11⌋ = ⌊8067.86⌋ = 8067.
  // v3.0: percentMul(1680e8, 8067) = ⌊(1.355256e15 + 5000)/1e4⌋ = 135_525_600_000; / 1400e8 = 0.96804 exactly.
  // v3.5: wadDiv(1.3554e15, 1400e8) = ⌊(1.3554e33 + 7e10)/1.4e11⌋ = 9_681_428_571_428_571_428_571; / 1e4 →
  //       968_142_857_142_857_142 — the unfloored average keeps 0.000103 of HF that v3.0 drops.
  it.each<[RuleSet, bigint]>([
    ['v3.0', 968_040_000_000_000_000n],
    ['v3.3', 968_040_000_000_000_000n],
    ['v3.5', 968_142_857_142_857_142n],
  ])('multi-collateral average LT: %s floors it to whole bps only before 3.5', (ruleSet, hf) => {
    const data = calculateAccountData(
      position(ruleSet, [
        reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1) }),
        reserve('WBTC', { priceBase8: usd(68000), collateralBalanceUnits: units('WBTC', '0.01'), liquidationThresholdBps: 7_800n }),
        reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1400) }),
      ]),
    );
    expect(data.totalCollateralBase).toBe(168_000_000_000n);
    expect(data.avgLiquidationThresholdBps).toBe(8_067n);
    expect(data.healthFactorWad).toBe(hf);
  });

  // 1 wei of WETH debt at $3,000 is worth 1·3000e8/1e18 = 3e-7 base: floored to 0 before 3.5 (no debt → HF max),
  // ceiled to 1 from 3.5 (GenericLogic._getUserDebtInBaseCurrency uses MathUtils.mulDivCeil).
  // v3.5 HF = wadDiv(100e8·8250 = 8.25e13, 1) / 1e4 = 8.25e31 / 1e4 = 8.25e27.
  it.each<[RuleSet, bigint, bigint]>([
    ['v3.0', 0n, MAX_UINT256],
    ['v3.3', 0n, MAX_UINT256],
    ['v3.5', 1n, 8_250_000_000_000_000_000_000_000_000n],
  ])('dust debt of 1 wei, %s', (ruleSet, debtBase, hf) => {
    const data = calculateAccountData(
      position(ruleSet, [
        reserve('USDC', { priceBase8: usd(1), collateralBalanceUnits: units('USDC', 100) }),
        reserve('WETH', { priceBase8: usd(3000), debtBalanceUnits: 1n }),
      ]),
    );
    expect(data.totalDebtBase).toBe(debtBase);
    expect(data.healthFactorWad).toBe(hf);
  });

  // A reserve enabled as collateral with LT 0 (0.01 WBTC at $68,000 = 680e8) next to 1 WETH at $1,000 (LT 8250),
  // 500 USDC of debt. v3.0/3.3 skip it (`liquidationThreshold != 0 && isUsingAsCollateral`); v3.5 counts it in
  // the total with weight 0. HF is the same: 1000e8·0.825 / 500e8 = 1.65.
  // v3.5 avgLT = ⌊1000e8·8250 / 1680e8⌋ = ⌊4910.7⌋ = 4910.
  it.each<[RuleSet, bigint, bigint]>([
    ['v3.0', 100_000_000_000n, 8_250n],
    ['v3.3', 100_000_000_000n, 8_250n],
    ['v3.5', 168_000_000_000n, 4_910n],
  ])('collateral with LT 0, %s', (ruleSet, totalCollateral, avgLt) => {
    const data = calculateAccountData(
      position(ruleSet, [
        reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1) }),
        reserve('WBTC', { priceBase8: usd(68000), collateralBalanceUnits: units('WBTC', '0.01'), liquidationThresholdBps: 0n }),
        reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 500) }),
      ]),
    );
    expect(data.totalCollateralBase).toBe(totalCollateral);
    expect(data.avgLiquidationThresholdBps).toBe(avgLt);
    expect(data.healthFactorWad).toBe(1_650_000_000_000_000_000n);
  });

  it('ignores a supplied reserve the user has not enabled as collateral, and returns HF max without debt', () => {
    const data = calculateAccountData(
      position('v3.5', [reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1), usageAsCollateralEnabled: false })]),
    );
    expect(data).toEqual({
      totalCollateralBase: 0n,
      totalDebtBase: 0n,
      avgLiquidationThresholdBps: 0n,
      weightedLiquidationThresholdBase: 0n,
      healthFactorWad: MAX_UINT256,
    });
  });
});
