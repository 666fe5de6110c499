import {
  grossGainBase,
  type LiquidationPlan,
  maxSizing,
  MAX_UINT256,
  planLiquidation,
  type RuleSet,
  type SizingOutcome,
  targetHealthSizing,
  twoStepSizing,
  type UserPosition,
  WAD,
} from '../../../functions/domain';
import { pairOf, position, reserve, units, usd } from './fixtures';

function stepsOf(outcome: SizingOutcome): readonly LiquidationPlan[] {
  if (outcome.kind !== 'liquidate') throw new Error(`expected steps, got skip: ${outcome.reason}`);
  return outcome.steps;
}

const totalGain = (steps: readonly LiquidationPlan[]) => steps.reduce((sum, plan) => sum + grossGainBase(plan), 0n);

/** HF after repaying `debtToCover` on `pos` (the plan must be allowed). */
function hfAfter(pos: UserPosition, pair: ReturnType<typeof pairOf>, debtToCover: bigint): bigint {
  const outcome = planLiquidation(pos, { ...pair, debtToCoverUnits: debtToCover });
  if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${outcome.reason}`);
  return outcome.plan.healthFactorAfterWad;
}

describe('two-step sizing: the Qin et al. worked example (LT 0.8, bonus 5 %, CF 50 %, 2 BTC at $68k, $110k debt)', () => {
  // V3.0 rules (per-reserve 50 %). HF = 136000·0.8 / 110000 = 0.98909 > 0.95 → CF 50 %.
  const qin = position('v3.0', [
    reserve('WBTC', { priceBase8: usd(68000), collateralBalanceUnits: units('WBTC', 2), liquidationThresholdBps: 8_000n }),
    reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 110000) }),
  ]);
  const pair = pairOf('WBTC', 'USDC');

  // One max liquidation repays 55,000 USDC: ⌊55000e6·1e8·1e8 / (68000e8·1e6)⌋ = ⌊80882352.94⌋ sat, ×1.05 half up
  // = ⌊84926469.6 + 0.5⌋ = 84_926_470 sat = 84926470·68000 = 5_774_999_960_000 base. Gain = 5774999960000 − 55000e6·100
  // = 274_999_960_000 ($2,749.9996 ≈ $2,750). Left: 115073530 sat = 7_825_000_040_000 base, debt 5.5e12;
  // HF = wadDiv(7825000040000·0.8 = 6_260_000_032_000, 5.5e12) = 1.138181824e18 (≈ 1.1382).
  it('one max liquidation earns $2,750 and leaves HF 1.1382', () => {
    const [plan, ...rest] = stepsOf(maxSizing.size(qin, pair));
    expect(rest).toHaveLength(0);
    expect(plan).toMatchObject({ debtRepaidUnits: units('USDC', 55000), liquidatorCollateralUnits: 84_926_470n, healthFactorAfterWad: 1_138_181_824_000_000_000n });
    expect(grossGainBase(plan)).toBe(274_999_960_000n);
  });

  // First step: HF' < 1 ⟺ f < (1 − 0.98909)/(1 − 0.84) = 0.068182 ⟺ x₁ < 7,500 USDC. In exact integers:
  // HF' < 1 ⟺ 54400·m < 100·(110000e6 − x) with m = 2e8 − s(x) sat left, s(x) = round(1.05·⌊x/680⌋)
  // ⟺ x < 1.2e9 + 544·s(x); with 1.05x/680 − 1.55 ≤ s ≤ 1.05x/680 + 0.5 this holds for every x ≤ 7_499_994_729 and
  // for none ≥ 7_500_001_700, so the first repay lies in between. Second step: 50 % of the 102,500 left = 51,250.
  // Gains: 5 % of 7,500 = 375 and 5 % of 51,250 = 2,562.50 → $2,937.50 (+6.82 %); the sub-wei shifts of x₁ and the
  // satoshi rounding move it by well under $0.003.
  it('two steps repay ~7,500 first and earn $2,937.50 in total', () => {
    const steps = stepsOf(twoStepSizing().size(qin, pair));
    expect(steps).toHaveLength(2);
    const [first, second] = steps;
    expect(first.debtRepaidUnits).toBeGreaterThanOrEqual(7_499_994_729n);
    expect(first.debtRepaidUnits).toBeLessThan(7_500_001_700n);
    // The first step leaves the position liquidatable, one more unit would not.
    expect(first.healthFactorAfterWad).toBeLessThan(WAD);
    expect(hfAfter(qin, pair, first.debtRepaidUnits + 1n)).toBeGreaterThanOrEqual(WAD);
    // The second step is a max liquidation of what is left: percentMul(110000e6 − x₁, 5000).
    const left = units('USDC', 110000) - first.debtRepaidUnits;
    expect(second.debtRepaidUnits).toBe((left * 5_000n + 5_000n) / 10_000n);
    expect(second.debtToCoverUnits).toBe(MAX_UINT256);
    const gain = totalGain(steps);
    expect(gain).toBeGreaterThanOrEqual(293_749_700_000n);
    expect(gain).toBeLessThanOrEqual(293_750_300_000n);
  });

  it('keeps one step when the second transaction would cost more than the extra $187.50', () => {
    const outcome = twoStepSizing({ minExtraGainBase: usd(200) }).size(qin, pair);
    expect(outcome).toMatchObject({ kind: 'liquidate', strategy: 'two-step' });
    expect(stepsOf(outcome)).toHaveLength(1);
  });
});

describe('two-step sizing under v3.3+ rules: the $2,000 threshold changes the payoff', () => {
  // 1 WETH at $2,520 (LT 80 %, bonus 5 %), 2,100 USDC: HF = 2520·0.8/2100 = 0.96 > 0.95, both reserves ≥ $2,000.
  // One max liquidation: 50 % of total = 1,050 USDC, gain ≈ 5 % = $52.50: exactly ⌊0.4375e18 wei·2520e8/1e18⌋ −
  // 1050e8 with 0.4375e18 − 1 wei from the flooring = 5_249_999_999.
  // First step: f < (1 − 0.96)/(1 − 0.84) = 0.25 → x₁ < 525; at 525 HF' is exactly 1 (coll 781250000000000001 wei
  // = 196_875_000_000 base, ×0.8 = 1.575e11 = debt), so x₁ = 524.999999 USDC. It leaves 1,575.000001 USDC and
  // $1,968.75 of WETH — both under $2,000:
  //   v3.5: the second step closes all 1,575.000001 (100 %): total repaid 2,100 → gain ≈ $105:
  //         step 1 ⌊218749999583333333·2.52e11/1e18⌋ − 52499999900 = 2_624_999_994;
  //         step 2 ⌊656250000416666666·2.52e11/1e18⌋ − 157500000100 = 7_875_000_004 → 10_499_999_998.
  //   v3.0: the second step is 50 % (per reserve): percentMul(1575000001, 5000) = 787_500_001 → total ≈ 1,312.5 repaid,
  //         gain ≈ $65.625 = 6_562_499_998.
  it.each<[RuleSet, bigint, bigint]>([
    ['v3.5', 1_575_000_001n, 10_499_999_998n],
    ['v3.0', 787_500_001n, 6_562_499_998n],
  ])('%s', (ruleSet, secondRepay, gain) => {
    const pos = position(ruleSet, [
      reserve('WETH', { priceBase8: usd(2520), collateralBalanceUnits: units('WETH', 1), liquidationThresholdBps: 8_000n }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 2100) }),
    ]);
    const single = stepsOf(maxSizing.size(pos, pairOf('WETH', 'USDC')));
    expect(single[0].debtRepaidUnits).toBe(units('USDC', 1050));
    expect(totalGain(single)).toBe(5_249_999_999n);

    const steps = stepsOf(twoStepSizing().size(pos, pairOf('WETH', 'USDC')));
    expect(steps.map((plan) => plan.debtRepaidUnits)).toEqual([524_999_999n, secondRepay]);
    expect(totalGain(steps)).toBe(gain);
  });

  // $1.8k / $1.5k at HF 0.99: one max liquidation already closes 100 %, two steps cannot repay more.
  it('keeps the single max liquidation when it already closes the whole reserve', () => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500) }),
    ]);
    const steps = stepsOf(twoStepSizing().size(pos, pairOf('WETH', 'USDC')));
    expect(steps.map((plan) => plan.debtRepaidUnits)).toEqual([units('USDC', 1500)]);
  });
});

describe('max sizing', () => {
  // v3.5: 1 WETH at $3,000 + WBTC worth $1,800 (LT 80 %), 4,000 USDC → HF = 4800·0.8/4000 = 0.96. WETH/USDC: both
  // ≥ $2,000 → cap 50 % of $4,000 = 2,000 USDC, which seizes $2,100 of WETH and leaves $900 < $1,000: MustNotLeaveDust.
  // Back off to the largest repay leaving ≥ 1000e8 of WETH: (1e18 − s)·3000e8/1e18 ≥ 1e11 ⟺ s ≤ 666666666666666666
  // ⟺ ⌊(q·10500 + 5000)/1e4⌋ ≤ that ⟺ q ≤ 634920634920634920 with q = ⌊x·1e9/3⌋ ⟺ x ≤ 1_904_761_904.
  it('v3.5: backs off from a max liquidation the dust rule refuses to the largest one it accepts', () => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(3000), collateralBalanceUnits: units('WETH', 1), liquidationThresholdBps: 8_000n }),
      reserve('WBTC', { priceBase8: usd(60000), collateralBalanceUnits: units('WBTC', '0.03'), liquidationThresholdBps: 8_000n }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 4000) }),
    ]);
    expect(planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 })).toMatchObject({ kind: 'skip', reason: 'must-not-leave-dust' });
    const [plan] = stepsOf(maxSizing.size(pos, pairOf('WETH', 'USDC')));
    expect(plan).toMatchObject({ debtToCoverUnits: 1_904_761_904n, debtRepaidUnits: 1_904_761_904n, limitedBy: 'dust-rule' });
  });

  it('passes the skip reason through', () => {
    const healthy = position('v3.5', [
      reserve('WETH', { priceBase8: usd(3000), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1000) }),
    ]);
    expect(maxSizing.size(healthy, pairOf('WETH', 'USDC'))).toEqual({ kind: 'skip', strategy: 'max', reason: 'healthy' });
  });
});

describe('target-health sizing', () => {
  // v3.5, 10 WETH at $1,800 (LT 82.5 %, bonus 5 %), 15,000 USDC: HF 0.99, cap 7,500. To reach 1.05:
  // (0.99 − f·0.86625)/(1 − f) ≥ 1.05 ⟺ f ≥ 0.06/0.18375 = 0.326531 ⟺ x ≥ 4,897.959184 USDC.
  it('repays the smallest amount that lifts HF to 1.05', () => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 10) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 15000) }),
    ]);
    const target = 1_050_000_000_000_000_000n;
    const [plan] = stepsOf(targetHealthSizing({ targetHealthFactorWad: target }).size(pos, pairOf('WETH', 'USDC')));
    expect(plan.debtRepaidUnits).toBeGreaterThanOrEqual(4_897_959_000n);
    expect(plan.debtRepaidUnits).toBeLessThanOrEqual(4_897_960_000n);
    expect(plan.healthFactorAfterWad).toBeGreaterThanOrEqual(target);
    expect(hfAfter(pos, pairOf('WETH', 'USDC'), plan.debtRepaidUnits - 1n)).toBeLessThan(target);
  });

  // 1 WETH at $1,000 vs 1,500 USDC: HF 0.55 and k = 0.825·1.05 = 0.866 > HF, so every repay lowers HF.
  const underwater = position('v3.0', [
    reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1) }),
    reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500) }),
  ]);

  it('skips when asked and the target is out of reach', () => {
    const sizing = targetHealthSizing({ targetHealthFactorWad: 1_050_000_000_000_000_000n, whenUnreachable: 'skip' });
    expect(sizing.size(underwater, pairOf('WETH', 'USDC'))).toEqual({ kind: 'skip', strategy: 'target-health', reason: 'target-health-unreachable' });
  });

  it('falls back to the max liquidation by default when the target is out of reach', () => {
    const sizing = targetHealthSizing({ targetHealthFactorWad: 1_050_000_000_000_000_000n });
    // Collateral runs out: all 1 WETH for percentDiv(1000e6, 10500) = 952_380_952 USDC (v3.0).
    expect(stepsOf(sizing.size(underwater, pairOf('WETH', 'USDC'))).map((p) => p.debtRepaidUnits)).toEqual([952_380_952n]);
  });

  // v3.5, 1 WETH at $1,800 vs 1,500 USDC (HF 0.99, 100 % allowed). HF 1.2 needs f ≥ 0.21/0.33375 = 0.629 → ~944 USDC,
  // which would leave ~$556 of debt: MustNotLeaveDust. Only a full close keeps the target.
  it('closes the reserve when the exact size would leave dust', () => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500) }),
    ]);
    const [plan] = stepsOf(targetHealthSizing({ targetHealthFactorWad: 1_200_000_000_000_000_000n }).size(pos, pairOf('WETH', 'USDC')));
    expect(plan.debtRepaidUnits).toBe(units('USDC', 1500));
    expect(plan.healthFactorAfterWad).toBe(MAX_UINT256);
  });

  it('rejects a non-positive target', () => {
    expect(() => targetHealthSizing({ targetHealthFactorWad: 0n })).toThrow('targetHealthFactorWad must be positive, got 0');
  });
});
