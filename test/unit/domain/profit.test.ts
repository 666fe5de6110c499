import {
  assessProfit,
  type CostModel,
  effectiveGasPriceWei,
  grossGainBase,
  type LiquidationPlan,
  MAX_UINT256,
  planLiquidation,
  type ProfitBreakdown,
  valueReceivedBase,
  valueRepaidBase,
} from '../../../functions/domain';
import { pairOf, position, reserve, units, usd } from './fixtures';

const GWEI = 1_000_000_000n;

// V3.0, 1 WETH at $1,800 (fee 10 %) vs 1,500 USDC: the max plan repays 750 USDC and hands the liquidator
// 435_416_666_666_666_666 wei (see liquidation.test.ts).
// Received: ⌊435416666666666666 · 1800e8 / 1e18⌋ = ⌊78374999999.9999998⌋ = 78_374_999_999 base.
// Repaid: ⌈750e6 · 1e8 / 1e6⌉ = 75_000_000_000 base.
function maxPlan(): LiquidationPlan {
  const pos = position('v3.0', [
    reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 1), liquidationProtocolFeeBps: 1_000n }),
    reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500) }),
  ]);
  const outcome = planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 });
  if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${outcome.reason}`);
  return outcome.plan;
}

const costs = (overrides: Partial<CostModel> = {}): CostModel => ({
  gasUnitsPerStep: 400_000n,
  gasPrice: { baseFeePerGasWei: 20n * GWEI, maxPriorityFeePerGasWei: 2n * GWEI, maxFeePerGasWei: 50n * GWEI },
  nativePriceBase8: usd(2000),
  swapCostBps: 30n,
  ...overrides,
});

describe('effectiveGasPriceWei (EIP-1559)', () => {
  it.each<[string, bigint, bigint, bigint, bigint]>([
    ['base + tip under the cap', 20n * GWEI, 2n * GWEI, 50n * GWEI, 22n * GWEI],
    ['capped by maxFeePerGas', 60n * GWEI, 2n * GWEI, 50n * GWEI, 50n * GWEI],
  ])('%s', (_name, baseFee, tip, maxFee, expected) => {
    expect(effectiveGasPriceWei({ baseFeePerGasWei: baseFee, maxPriorityFeePerGasWei: tip, maxFeePerGasWei: maxFee })).toBe(expected);
  });
});

describe('plan values round against the liquidator', () => {
  // v3.5: 4,000 USDC of collateral (LT 82.5 %) vs 2 WETH at $1,800: HF = 4000·0.825/3600 = 0.9167 → 100 %.
  // Repay 1 WETH + 1 wei: worth (1e18 + 1)·1800e8/1e18 = 180000000000.00000018 → ceiled to 180_000_000_001.
  // Collateral: ⌊1800e8·(1e18 + 1)·1e6 / (1e8·1e18)⌋ = 1_800_000_000 USDC units, ×1.05 = 1_890_000_000
  // → 189_000_000_000 base (exact). Leftovers $1,800 of debt and $2,110 of collateral pass the dust rule.
  it('floors the value received and ceils the value repaid', () => {
    const pos = position('v3.5', [
      reserve('USDC', { priceBase8: usd(1), collateralBalanceUnits: units('USDC', 4000) }),
      reserve('WETH', { priceBase8: usd(1800), debtBalanceUnits: units('WETH', 2) }),
    ]);
    const outcome = planLiquidation(pos, { ...pairOf('USDC', 'WETH'), debtToCoverUnits: units('WETH', 1) + 1n });
    if (outcome.kind !== 'liquidate') throw new Error(outcome.reason);
    expect(valueRepaidBase(outcome.plan)).toBe(180_000_000_001n);
    expect(valueReceivedBase(outcome.plan)).toBe(189_000_000_000n);
    expect(grossGainBase(outcome.plan)).toBe(8_999_999_999n);
  });
});

describe('assessProfit', () => {
  it.each<[string, CostModel, 'profitable' | 'skip', ProfitBreakdown]>([
    // gas 400,000 × 22 gwei = 8.8e15 wei; at $2,000: 8.8e15 · 2000e8 / 1e18 = 1_760_000_000 base ($17.60).
    // swap 30 bps of 78374999999: ⌈235124999.997⌉ = 235_125_000. Profit 78374999999 − 75e9 − 1.76e9 − 235125000 = 1_379_874_999.
    [
      'profitable at 22 gwei',
      costs(),
      'profitable',
      { valueReceivedBase: 78_374_999_999n, valueRepaidBase: 75_000_000_000n, gasCostWei: 8_800_000_000_000_000n, gasCostBase: 1_760_000_000n, swapCostBase: 235_125_000n, profitBase: 1_379_874_999n },
    ],
    // Base fee 60 gwei: effective 50 gwei (maxFee) → 2e16 wei = $40 = 4_000_000_000 base;
    // profit 3374999999 − 4e9 − 235125000 = −860_125_001.
    [
      'unprofitable when gas is expensive',
      costs({ gasPrice: { baseFeePerGasWei: 60n * GWEI, maxPriorityFeePerGasWei: 2n * GWEI, maxFeePerGasWei: 50n * GWEI } }),
      'skip',
      { valueReceivedBase: 78_374_999_999n, valueRepaidBase: 75_000_000_000n, gasCostWei: 20_000_000_000_000_000n, gasCostBase: 4_000_000_000n, swapCostBase: 235_125_000n, profitBase: -860_125_001n },
    ],
    // An L1 data fee of 1e15 wei per transaction adds $2: gas 9.8e15 wei = 1_960_000_000 base; profit 1_179_874_999.
    [
      'extra wei per step (L1 data fee)',
      costs({ extraCostWeiPerStep: 1_000_000_000_000_000n }),
      'profitable',
      { valueReceivedBase: 78_374_999_999n, valueRepaidBase: 75_000_000_000n, gasCostWei: 9_800_000_000_000_000n, gasCostBase: 1_960_000_000n, swapCostBase: 235_125_000n, profitBase: 1_179_874_999n },
    ],
    // Requiring $15 of profit turns the $13.80 liquidation into a skip.
    [
      'below the minimum profit',
      costs({ minProfitBase: usd(15) }),
      'skip',
      { valueReceivedBase: 78_374_999_999n, valueRepaidBase: 75_000_000_000n, gasCostWei: 8_800_000_000_000_000n, gasCostBase: 1_760_000_000n, swapCostBase: 235_125_000n, profitBase: 1_379_874_999n },
    ],
  ])('%s', (_name, model, kind, profit) => {
    const result = assessProfit([maxPlan()], model);
    expect(result.kind).toBe(kind);
    expect(result.profit).toEqual(profit);
    if (result.kind === 'skip') expect(result.reason).toBe('unprofitable');
  });

  // Two steps pay gas twice: 2 × 8.8e15 wei = 3_520_000_000 base; values and swap costs add up.
  it('charges gas per step', () => {
    const plan = maxPlan();
    const result = assessProfit([plan, plan], costs());
    expect(result.profit).toMatchObject({ gasCostBase: 3_520_000_000n, valueReceivedBase: 156_749_999_998n, swapCostBase: 470_250_000n });
  });

  it('charges no swap when collateral and debt are the same asset', () => {
    const pos = position('v3.5', [reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1), debtBalanceUnits: units('WETH', '0.9') })]);
    const outcome = planLiquidation(pos, { ...pairOf('WETH', 'WETH'), debtToCoverUnits: MAX_UINT256 });
    if (outcome.kind !== 'liquidate') throw new Error(outcome.reason);
    expect(assessProfit([outcome.plan], costs()).profit.swapCostBase).toBe(0n);
  });

  it.each<[string, () => unknown, string]>([
    ['no steps', () => assessProfit([], costs()), 'assessProfit needs at least one liquidation step'],
    ['a swap cost above 100 %', () => assessProfit([maxPlan()], costs({ swapCostBps: 10_001n })), 'swapCostBps must be 0..10000, got 10001'],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
