import {
  calculateCollateralAmounts,
  findReserve,
  type LiquidationOutcome,
  type LiquidationPlan,
  MAX_UINT256,
  planLiquidation,
  type ReservePosition,
  type RuleSet,
  type UserPosition,
} from '../../../functions/domain';
import { ASSETS, pairOf, position, reserve, units, usd } from './fixtures';

const RAY = 10n ** 27n;

function expectPlan(outcome: LiquidationOutcome): LiquidationPlan {
  if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got skip: ${outcome.reason}`);
  return outcome.plan;
}

function reserveAfter(plan: LiquidationPlan, symbol: keyof typeof ASSETS): ReservePosition {
  const found = findReserve(plan.positionAfter, ASSETS[symbol].asset);
  if (!found) throw new Error(`no ${symbol} reserve`);
  return found;
}

/** `weth` WETH at `wethUsd` (LT 82.5 %, bonus 5 %, protocol fee 10 %) against `usdcDebt` USDC. */
function wethUsdc(ruleSet: RuleSet, weth: string | number, wethUsd: number, usdcDebt: number, extra: ReservePosition[] = []): UserPosition {
  return position(ruleSet, [
    reserve('WETH', { priceBase8: usd(wethUsd), collateralBalanceUnits: units('WETH', weth), liquidationProtocolFeeBps: 1_000n }),
    reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', usdcDebt) }),
    ...extra,
  ]);
}

describe('planLiquidation: collateral, bonus and protocol fee (LiquidationLogic._calculateAvailableCollateralToLiquidate)', () => {
  // V3.0, 1 WETH at $1,800, 1,500 USDC, HF 0.99 → close factor 50 % → 750 USDC.
  // baseCollateral = 1e8 · 750e6 · 1e18 / (1800e8 · 1e6) = ⌊416666666666666666.67⌋ = 416_666_666_666_666_666
  // seized = percentMul(·, 10500) = ⌊(4374999999999999993000 + 5000)/1e4⌋ = 437_499_999_999_999_999
  // seized.percentDiv(10500) = ⌊(4374999999999999990000 + 5250)/10500⌋ = 416_666_666_666_666_666
  // bonus = 437499999999999999 − 416666666666666666 = 20_833_333_333_333_333
  // fee = percentMul(bonus, 1000) = ⌊(20833333333333333000 + 5000)/1e4⌋ = 2_083_333_333_333_333
  // liquidator = 437499999999999999 − 2083333333333333 = 435_416_666_666_666_666
  // After: WETH 1e18 − 437499999999999999 = 562_500_000_000_000_001 → 101_250_000_000 base; USDC 750e6 → 75e9 base.
  // HF = wadDiv(percentMul(101250000000, 8250) = 83_531_250_000, 75e9) = 1.11375e18
  // (closed form: (0.99 − 0.5·0.825·1.05) / 0.5 = 1.11375).
  it('V3.0 max liquidation at HF 0.99, to the wei', () => {
    const plan = expectPlan(planLiquidation(wethUsdc('v3.0', 1, 1800, 1500), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan).toMatchObject({
      debtToCoverUnits: MAX_UINT256,
      closeFactor: 'half-of-reserve-debt',
      limitedBy: 'close-factor',
      debtRepaidUnits: 750_000_000n,
      collateralSeizedUnits: 437_499_999_999_999_999n,
      bonusCollateralUnits: 20_833_333_333_333_333n,
      protocolFeeUnits: 2_083_333_333_333_333n,
      computedProtocolFeeUnits: 2_083_333_333_333_333n,
      liquidatorCollateralUnits: 435_416_666_666_666_666n,
      healthFactorBeforeWad: 990_000_000_000_000_000n,
      healthFactorAfterWad: 1_113_750_000_000_000_000n,
      hasNoCollateralLeft: false,
      deficits: [],
      collateralDisabled: false,
    });
    expect(reserveAfter(plan, 'WETH').collateralBalanceUnits).toBe(562_500_000_000_000_001n);
    expect(reserveAfter(plan, 'USDC').debtBalanceUnits).toBe(750_000_000n);
  });

  // Collateral runs out: 1 WETH at $1,000 against 1,500 USDC (HF 1000·0.825/1500 = 0.55 → 100 %).
  // baseCollateral for 1500 USDC = 1.5e18, ×1.05 = 1.575e18 > 1e18 → seize all 1e18; the debt it covers is
  // ⌊1000e8 · 1e18 · 1e6 / (1e8 · 1e18)⌋ = 1000e6, divided by the bonus:
  //   v3.0/3.3 percentDiv (half up):  (1e13 + 5250)/10500 = ⌊952380952.88⌋ = 952_380_952
  //   v3.5 percentDivCeil:            ⌈1e13 / 10500⌉ = ⌈952380952.38⌉ = 952_380_953
  // bonus = 1e18 − ⌊(1e22 + 5250)/10500⌋ = 1e18 − 952380952380952381 = 47_619_047_619_047_619
  // fee = ⌊(47619047619047619000 + 5000)/1e4⌋ = 4_761_904_761_904_762; liquidator = 995_238_095_238_095_238.
  // v3.3+: totalCollateral 1000e8 == seized value 1e18·1000e8/1e18 → no collateral left → the rest is deficit:
  //   v3.3: 1500e6 − 952380952 = 547_619_048; v3.5: 1500e6 − 952380953 = 547_619_047; debt burned → HF max.
  // v3.0: no deficit; 547_619_048 USDC stays owed (54_761_904_800 base) with no collateral → HF 0.
  it.each<[RuleSet, bigint, { asset: string; amountUnits: bigint }[], bigint, bigint]>([
    ['v3.0', 952_380_952n, [], 547_619_048n, 0n],
    ['v3.3', 952_380_952n, [{ asset: ASSETS.USDC.asset, amountUnits: 547_619_048n }], 0n, MAX_UINT256],
    ['v3.5', 952_380_953n, [{ asset: ASSETS.USDC.asset, amountUnits: 547_619_047n }], 0n, MAX_UINT256],
  ])('collateral runs out, %s: debt covered, deficit, HF after', (ruleSet, debtRepaid, deficits, debtAfter, hfAfter) => {
    const plan = expectPlan(planLiquidation(wethUsdc(ruleSet, 1, 1000, 1500), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan).toMatchObject({
      limitedBy: 'collateral-balance',
      debtRepaidUnits: debtRepaid,
      collateralSeizedUnits: 10n ** 18n,
      bonusCollateralUnits: 47_619_047_619_047_619n,
      protocolFeeUnits: 4_761_904_761_904_762n,
      liquidatorCollateralUnits: 995_238_095_238_095_238n,
      hasNoCollateralLeft: ruleSet !== 'v3.0',
      deficits,
      collateralDisabled: true,
      healthFactorBeforeWad: 550_000_000_000_000_000n,
      healthFactorAfterWad: hfAfter,
    });
    expect(reserveAfter(plan, 'USDC').debtBalanceUnits).toBe(debtAfter);
    expect(reserveAfter(plan, 'WETH')).toMatchObject({ collateralBalanceUnits: 0n, usageAsCollateralEnabled: false });
  });

  // Same, with a second debt: 1 WETH at $1,000; 1,200 USDC + 300 DAI (HF 0.55). USDC reserve $1,200 < $2,000 → 100 %;
  // 1200 USDC needs 1.26e18 WETH > 1e18 → all collateral, debt covered ⌈1e13/10500⌉ = 952_380_953 (v3.5).
  // _burnBadDebt writes off the other active reserves in full: USDC 1200e6 − 952380953 = 247_619_047, DAI 300e18.
  it.each<[string, boolean, { asset: string; amountUnits: bigint }[], bigint]>([
    ['DAI active: burned as deficit', true, [{ asset: ASSETS.USDC.asset, amountUnits: 247_619_047n }, { asset: ASSETS.DAI.asset, amountUnits: units('DAI', 300) }], 0n],
    ['DAI inactive: left owed', false, [{ asset: ASSETS.USDC.asset, amountUnits: 247_619_047n }], units('DAI', 300)],
  ])('v3.5 bad debt across reserves, %s', (_name, daiActive, deficits, daiAfter) => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1200) }),
      reserve('DAI', { priceBase8: usd(1), debtBalanceUnits: units('DAI', 300), isActive: daiActive }),
    ]);
    const plan = expectPlan(planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan.debtRepaidUnits).toBe(952_380_953n);
    expect(plan.deficits).toEqual(deficits);
    expect(reserveAfter(plan, 'DAI').debtBalanceUnits).toBe(daiAfter);
  });

  // Collateral and debt in the same asset: 1 WETH supplied, 0.9 WETH borrowed at $1,000 (HF 0.825/0.9 = 0.9167,
  // under $2,000 → 100 %). Seized = 0.9e18 · 1.05 = 0.945e18 exactly; both sides of the one reserve move.
  it.each<[string, ReservePosition['scaled']]>([
    ['from balances', undefined],
    ['from scaled balances at index 1.0', { scaledATokenBalance: units('WETH', 1), liquidityIndexRay: RAY, scaledVariableDebt: units('WETH', '0.9'), variableBorrowIndexRay: RAY }],
  ])('same asset as collateral and debt, %s', (_name, scaled) => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1), debtBalanceUnits: units('WETH', '0.9'), ...(scaled ? { scaled } : {}) }),
    ]);
    const plan = expectPlan(planLiquidation(pos, { ...pairOf('WETH', 'WETH'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan.collateralSeizedUnits).toBe(units('WETH', '0.945'));
    expect(reserveAfter(plan, 'WETH')).toMatchObject({ collateralBalanceUnits: units('WETH', '0.055'), debtBalanceUnits: 0n });
    expect(plan.healthFactorAfterWad).toBe(MAX_UINT256);
  });
});

describe('planLiquidation: the collateral-limited repay reaches the reserve debt, never more', () => {
  // DAI supplied and borrowed (one reserve, $1, 18 decimals, so r = 1 unit per unit): 1_050000000000000010 supplied,
  // 1_000000000000000010 owed. HF ≈ 0.866 (v3.5: 105e6·8250 / 100_000_001 base) and both sides under $2,000 → 100 %.
  // maxCollateral = ⌊(1000000000000000010·10500 + 5000) / 1e4⌋ = 1_050_000_000_000_000_011 > balance → all of it;
  // debtNeeded = 1050000000000000010·1e4 / 10500 = 1000000000000000009.52 → ⌈ ⌉ (v3.5) and half up (v3.0/3.3) both give
  // 1_000_000_000_000_000_010: exactly the debt (see the bound in collateral-amounts.ts). No deficit is left.
  it.each<RuleSet>(['v3.0', 'v3.3', 'v3.5'])('%s: repay rounds up to exactly the whole debt', (ruleSet) => {
    const pos = position(ruleSet, [
      reserve('DAI', { priceBase8: usd(1), collateralBalanceUnits: 1_050_000_000_000_000_010n, debtBalanceUnits: 1_000_000_000_000_000_010n }),
    ]);
    const plan = expectPlan(planLiquidation(pos, { ...pairOf('DAI', 'DAI'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan).toMatchObject({
      closeFactor: 'all-of-reserve-debt',
      limitedBy: 'collateral-balance',
      debtRepaidUnits: 1_000_000_000_000_000_010n,
      collateralSeizedUnits: 1_050_000_000_000_000_010n,
      deficits: [],
    });
    expect(reserveAfter(plan, 'DAI')).toMatchObject({ collateralBalanceUnits: 0n, debtBalanceUnits: 0n });
  });

  // Every (debtToCover, balance) on a grid, at a price ratio of 1 and of 7/3, bonus 5 % and 10 %: whenever the
  // balance limits the liquidation, the debt it covers is at most what was asked.
  it.each<RuleSet>(['v3.0', 'v3.3', 'v3.5'])('%s: never above debtToCover over a grid', (ruleSet) => {
    const overshoots: string[] = [];
    let limited = 0;
    for (const [collateralUsd, debtUsd] of [[1, 1], [3, 7]]) {
      for (const bonusBps of [10_500n, 11_000n]) {
        const debt = reserve('DAI', { priceBase8: usd(debtUsd) });
        for (let balance = 1n; balance <= 170n; balance++) {
          const collateral = reserve('WETH', { priceBase8: usd(collateralUsd), collateralBalanceUnits: balance, liquidationBonusBps: bonusBps });
          for (let debtToCover = 1n; debtToCover <= 150n; debtToCover++) {
            const amounts = calculateCollateralAmounts(ruleSet, collateral, debt, debtToCover);
            if (!amounts.limitedByCollateralBalance) continue;
            limited++;
            if (amounts.debtRepaidUnits > debtToCover) overshoots.push(`$${collateralUsd}/$${debtUsd} ${bonusBps} bps, balance ${balance}, cover ${debtToCover} → ${amounts.debtRepaidUnits}`);
          }
        }
      }
    }
    expect(limited).toBeGreaterThan(10_000);
    expect(overshoots).toEqual([]);
  });
});

describe('planLiquidation: the Pool\'s own balances, scaled × index (withPoolBalances)', () => {
  // 0.2 WETH at $2,000 (liquidity index 1.0, no fee) against USDC scaled 485_120_562 at borrow index 1.000000001:
  //   v3.5 getVTokenBalance = ⌈485120562.485120562⌉ = 485_120_563; v3.3 rayMul half up = 485_120_562.
  // HF ≈ 0.68 → 100 %. 485,120,563 USDC needs ⌊485120563e18 / 2000e6⌋·1.05 = 254_688_295_575_000_000 wei > 0.2e18 → all the
  // collateral; debt covered ⌊2000e8·0.2e18·1e6 / (1e8·1e18)⌋ = 400e6 → ⌈4e12 / 10500⌉ = ⌈380952380.95⌉ = 380_952_381 (half up:
  // the same). Seized value 400e8 = all collateral → the whole debt is burned and the rest becomes deficit:
  //   v3.5: 485120563 − 380952381 = 104_168_182 (scaled burn ⌊485120563 / 1.000000001⌋ = 485_120_562: all of it);
  //   v3.3: 485120562 − 380952381 = 104_168_181.
  // A balanceOf one wei above the Pool's figure (read from another state than the index) used to become the burn:
  // ⌊485120564 / 1.000000001⌋ = 485_120_563 scaled out of 485_120_562 → "uint256 underflow in 485120562 - 485120563".
  // The Pool never reads balanceOf there (LiquidationLogic: scaledBalanceOf(borrower).getVTokenBalance(index)), so
  // off-by-one balances, either way, give the plan of the consistent position.
  const BORROW_INDEX = RAY + 10n ** 18n;
  const read = (ruleSet: RuleSet, debtOffset: bigint, collateralOffset: bigint): UserPosition =>
    position(ruleSet, [
      reserve('WETH', {
        priceBase8: usd(2000),
        collateralBalanceUnits: units('WETH', '0.2') + collateralOffset,
        scaled: { scaledATokenBalance: units('WETH', '0.2'), liquidityIndexRay: RAY, scaledVariableDebt: 0n, variableBorrowIndexRay: RAY },
      }),
      reserve('USDC', {
        priceBase8: usd(1),
        debtBalanceUnits: (ruleSet === 'v3.5' ? 485_120_563n : 485_120_562n) + debtOffset,
        scaled: { scaledATokenBalance: 0n, liquidityIndexRay: RAY, scaledVariableDebt: 485_120_562n, variableBorrowIndexRay: BORROW_INDEX },
      }),
    ]);

  it.each<[RuleSet, string, bigint, bigint, bigint]>([
    ['v3.5', 'consistent', 0n, 0n, 104_168_182n],
    ['v3.5', 'debt balanceOf one wei high', 1n, 0n, 104_168_182n],
    ['v3.5', 'debt balanceOf one wei low', -1n, 0n, 104_168_182n],
    ['v3.5', 'collateral balanceOf one wei high', 0n, 1n, 104_168_182n],
    ['v3.3', 'consistent', 0n, 0n, 104_168_181n],
    ['v3.3', 'debt balanceOf one wei high', 1n, 0n, 104_168_181n],
  ])('%s, %s: all collateral for 380,952,381 USDC, the rest becomes deficit', (ruleSet, _name, debtOffset, collateralOffset, deficit) => {
    const request = { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 };
    const plan = expectPlan(planLiquidation(read(ruleSet, debtOffset, collateralOffset), request));
    expect(plan).toMatchObject({
      closeFactor: 'all-of-reserve-debt',
      limitedBy: 'collateral-balance',
      debtRepaidUnits: 380_952_381n,
      collateralSeizedUnits: units('WETH', '0.2'),
      hasNoCollateralLeft: true,
      deficits: [{ asset: ASSETS.USDC.asset, amountUnits: deficit }],
      healthFactorAfterWad: MAX_UINT256,
    });
    expect(reserveAfter(plan, 'USDC')).toMatchObject({ debtBalanceUnits: 0n, scaled: { scaledVariableDebt: 0n } });
    expect(reserveAfter(plan, 'WETH')).toMatchObject({ collateralBalanceUnits: 0n, scaled: { scaledATokenBalance: 0n } });
    expect(plan).toEqual(expectPlan(planLiquidation(read(ruleSet, 0n, 0n), request)));
  });
});

describe('planLiquidation: MustNotLeaveDust (v3.3+)', () => {
  // 1 WETH at $1,800, 1,500 USDC: the whole 1,500 may be repaid (under $2,000), but a partial 1,000 leaves
  // 500 USDC = 500e8 base of debt and 1e18 − 583333333333333333 = 416666666666666667 wei = ⌊75000000000.06⌋ base
  // of collateral, both under MIN_LEFTOVER_BASE = 1000e8 → refused.
  // (seized: ⌊1e8·1000e6·1e18/(1800e8·1e6)⌋ = 555555555555555555, ·1.05 half up = 583_333_333_333_333_333.)
  it.each<RuleSet>(['v3.3', 'v3.5'])('%s: a partial 1,000 of 1,500 is refused', (ruleSet) => {
    const outcome = planLiquidation(wethUsdc(ruleSet, 1, 1800, 1500), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: units('USDC', 1000) });
    expect(outcome).toMatchObject({
      kind: 'skip',
      reason: 'must-not-leave-dust',
      debtLeftBase: 50_000_000_000n,
      collateralLeftBase: 75_000_000_000n,
      refusedPlan: { debtRepaidUnits: units('USDC', 1000), collateralSeizedUnits: 583_333_333_333_333_333n, liquidatorCollateralUnits: 580_555_555_555_555_555n },
    });
  });

  // 400 leaves 1,100 USDC (1100e8) and 1e18 − 233333333333333333 wei = ⌊138000000000.06⌋ = 138e9 base: both ≥ 1000e8.
  // 1,500 closes the debt reserve: the rule does not apply (0.125 WETH = $225 of collateral may stay).
  it.each<[string, bigint]>([
    ['400 leaves ≥ $1,000 of both', units('USDC', 400)],
    ['1,500 closes the debt reserve', units('USDC', 1500)],
  ])('v3.5: %s', (_name, debtToCover) => {
    const plan = expectPlan(planLiquidation(wethUsdc('v3.5', 1, 1800, 1500), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: debtToCover }));
    expect(plan.debtRepaidUnits).toBe(debtToCover);
  });

  it('v3.0 has no dust rule: 1,000 requested is capped to 750 by the 50 % close factor and allowed', () => {
    const plan = expectPlan(planLiquidation(wethUsdc('v3.0', 1, 1800, 1500), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: units('USDC', 1000) }));
    expect(plan).toMatchObject({ debtRepaidUnits: units('USDC', 750), limitedBy: 'close-factor' });
  });
});

describe('planLiquidation: exact token math with scaled balances (token-balance.ts)', () => {
  // Liquidity index 1.1, borrow index 1.05. WETH scaled 909090909090909091: v3.0 rayMul → ⌊1e18 + 0.1 + 0.5⌋ = 1e18,
  // v3.5 rayMulFloor → 1e18. USDC scaled 1428571429: ×1.05 = 1500000000.45 → v3.0 half up 1_500_000_000,
  // v3.5 ceil 1_500_000_001.
  const scaled = (ruleSet: RuleSet, wethUsd: number): UserPosition =>
    position(ruleSet, [
      reserve('WETH', {
        priceBase8: usd(wethUsd),
        collateralBalanceUnits: units('WETH', 1),
        liquidationProtocolFeeBps: 1_000n,
        scaled: { scaledATokenBalance: 909_090_909_090_909_091n, liquidityIndexRay: 11n * 10n ** 26n, scaledVariableDebt: 0n, variableBorrowIndexRay: RAY },
      }),
      reserve('USDC', {
        priceBase8: usd(1),
        debtBalanceUnits: ruleSet === 'v3.5' ? 1_500_000_001n : 1_500_000_000n,
        scaled: { scaledATokenBalance: 0n, liquidityIndexRay: RAY, scaledVariableDebt: 1_428_571_429n, variableBorrowIndexRay: 105n * 10n ** 25n },
      }),
    ]);

  // V3.0 HF 0.99, 750 USDC repaid (amounts as in the balance-only test above).
  // Debt: burn rayDiv(750e6, 1.05) = ⌊714285714.29 + 0.5⌋ = 714285714 → scaled 714285715 → rayMul = ⌊750000000.75 + 0.5⌋
  //   = 750_000_001 (balance arithmetic would say 750_000_000).
  // Collateral: rayDiv(435416666666666666, 1.1) = ⌊395833333333333332.73 + 0.5⌋ = 395833333333333333 →
  //   513257575757575758 left; fee rayDiv(2083333333333333, 1.1) = ⌊1893939393939393.64 + 0.5⌋ = 1893939393939394 →
  //   511363636363636364 scaled → rayMul = ⌊562500000000000000.4 + 0.5⌋ = 562_500_000_000_000_000 (not …001).
  // HF after = wadDiv(percentMul(101250000000, 8250) = 83531250000, 750000001·1e8/1e6 = 75000000100)
  //   = ⌊(83531250000e18 + 37500000050)/75000000100⌋ = 1_113_749_998_515_000_002.
  it('v3.0: burns and transfers round half up on the scaled amounts', () => {
    const plan = expectPlan(planLiquidation(scaled('v3.0', 1800), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(reserveAfter(plan, 'USDC')).toMatchObject({ debtBalanceUnits: 750_000_001n, scaled: { scaledVariableDebt: 714_285_715n } });
    expect(reserveAfter(plan, 'WETH')).toMatchObject({
      collateralBalanceUnits: 562_500_000_000_000_000n,
      scaled: { scaledATokenBalance: 511_363_636_363_636_364n },
    });
    expect(plan.healthFactorAfterWad).toBe(1_113_749_998_515_000_002n);
  });

  // v3.5, $1,800 < $2,000 → the whole 1_500_000_001 is repaid:
  // base = ⌊1e8·1500000001·1e18/(1800e8·1e6)⌋ = 833333333888888888; seized = ⌊(·10500 + 5000)/1e4⌋ = 875_000_000_583_333_332
  // bonus = seized − ⌊(seized·1e4 + 5250)/10500⌋ = 41_666_666_694_444_444; fee = 4_166_666_669_444_444;
  // liquidator = 870_833_333_913_888_888. Debt burn rayDivFloor(1500000001, 1.05) = 1428571429 = all → 0.
  // Collateral: rayDivCeil(liquidator, 1.1) = 791666667194444444 → 117424241896464647 left; fee rayDivCeil = 3787878790404040
  //   → 113636363106060607 scaled → rayMulFloor = 124_999_999_416_666_667 (balance arithmetic: …668).
  it('v3.5: aToken outflows round up, debt burns round down, balances floor/ceil', () => {
    const plan = expectPlan(planLiquidation(scaled('v3.5', 1800), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan).toMatchObject({
      debtRepaidUnits: 1_500_000_001n,
      collateralSeizedUnits: 875_000_000_583_333_332n,
      protocolFeeUnits: 4_166_666_669_444_444n,
      liquidatorCollateralUnits: 870_833_333_913_888_888n,
    });
    expect(reserveAfter(plan, 'USDC')).toMatchObject({ debtBalanceUnits: 0n, scaled: { scaledVariableDebt: 0n } });
    expect(reserveAfter(plan, 'WETH')).toMatchObject({
      collateralBalanceUnits: 124_999_999_416_666_667n,
      scaled: { scaledATokenBalance: 113_636_363_106_060_607n },
    });
  });

  // Whole collateral seized (1 WETH at $1,000, amounts as in the "collateral runs out" test):
  // v3.5: liquidator scaled ⌈995238095238095238 / 1.1⌉ = 904761904761904762 → 4329004329004329 left; the fee needs
  //   ⌈4761904761904762 / 1.1⌉ = 4329004329004330 > left → clamp: treasury gets ⌊4329004329004329 · 1.1⌋ = 4_761_904_761_904_761.
  // v3.0: fee scaled rayDiv = ⌊4329004329004329.09 + 0.5⌋ = 4329004329004329 = left → no clamp, full fee.
  it.each<[RuleSet, bigint]>([
    ['v3.0', 4_761_904_761_904_762n],
    ['v3.5', 4_761_904_761_904_761n],
  ])('%s: the plan reports the fee the treasury receives, clamped to what is left', (ruleSet, feeTransferred) => {
    const plan = expectPlan(planLiquidation(scaled(ruleSet, 1000), { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan.computedProtocolFeeUnits).toBe(4_761_904_761_904_762n);
    expect(plan.protocolFeeUnits).toBe(feeTransferred);
    expect(reserveAfter(plan, 'WETH')).toMatchObject({ collateralBalanceUnits: 0n, scaled: { scaledATokenBalance: 0n } });
  });

  // Before 3.5 too, when the two half-up conversions of the liquidator's share and the fee add up to one scaled
  // unit more than the borrower holds. Scaled WETH 909090909092909097 at index 1.1: balance rayMul = ⌊…2200006.7 + 0.5⌋
  //   = 1_000_000_000_002_200_007, all seized ($1,000 < 1,500 USDC of debt). bonus = bal − ⌊(bal·1e4 + 5250)/10500⌋
  //   = 47619047619152381 → fee = ⌊(bonus·1000 + 5000)/1e4⌋ = 4_761_904_761_915_238; liquidator 995238095240284769.
  // Liquidator scaled rayDiv = ⌊904761904763895244.55 + 0.5⌋ = 904761904763895245 → 4329004329013852 left; the fee needs
  //   rayDiv = ⌊4329004329013852.73 + 0.5⌋ = 4329004329013853 > left → core-v3 clamp: fee = rayMul(left, 1.1)
  //   = ⌊4761904761915237.2 + 0.5⌋ = 4_761_904_761_915_237, whose rayDiv is exactly the 4329004329013852 left.
  it.each<RuleSet>(['v3.0', 'v3.3'])('%s: the treasury receives the clamped fee when the roundings overshoot the balance', (ruleSet) => {
    const pos = position(ruleSet, [
      reserve('WETH', {
        priceBase8: usd(1000),
        collateralBalanceUnits: 1_000_000_000_002_200_007n,
        liquidationProtocolFeeBps: 1_000n,
        scaled: { scaledATokenBalance: 909_090_909_092_909_097n, liquidityIndexRay: 11n * 10n ** 26n, scaledVariableDebt: 0n, variableBorrowIndexRay: RAY },
      }),
      reserve('USDC', {
        priceBase8: usd(1),
        debtBalanceUnits: units('USDC', 1500),
        scaled: { scaledATokenBalance: 0n, liquidityIndexRay: RAY, scaledVariableDebt: units('USDC', 1500), variableBorrowIndexRay: RAY },
      }),
    ]);
    const plan = expectPlan(planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(plan).toMatchObject({
      collateralSeizedUnits: 1_000_000_000_002_200_007n,
      computedProtocolFeeUnits: 4_761_904_761_915_238n,
      protocolFeeUnits: 4_761_904_761_915_237n,
      liquidatorCollateralUnits: 995_238_095_240_284_769n,
    });
    expect(reserveAfter(plan, 'WETH')).toMatchObject({ collateralBalanceUnits: 0n, scaled: { scaledATokenBalance: 0n } });
  });

  // V3.0 with stable debt: 1,000 USDC variable (scaled 1e9 at index 1.0) + 500 stable. HF 0.935 → 100 %.
  // Repaying 1,500 burns all variable debt, then 500 stable (StableDebtToken.burn is exact).
  it('v3.0: variable debt is burned first, then stable', () => {
    const pos = position('v3.0', [
      reserve('WETH', { priceBase8: usd(1700), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', {
        priceBase8: usd(1),
        debtBalanceUnits: units('USDC', 1500),
        scaled: { scaledATokenBalance: 0n, liquidityIndexRay: RAY, scaledVariableDebt: units('USDC', 1000), variableBorrowIndexRay: RAY },
      }),
    ]);
    const half = expectPlan(planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: units('USDC', 750) }));
    expect(reserveAfter(half, 'USDC')).toMatchObject({ debtBalanceUnits: units('USDC', 750), scaled: { scaledVariableDebt: units('USDC', 250) } });
    const full = expectPlan(planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 }));
    expect(reserveAfter(full, 'USDC')).toMatchObject({ debtBalanceUnits: 0n, scaled: { scaledVariableDebt: 0n } });
  });
});

describe('planLiquidation: burns that round to zero revert (InvalidBurnAmount)', () => {
  it.each<[string, UserPosition, string, bigint, 'variable-debt' | 'atoken']>([
    // 1 USDC unit at borrow index 1.05: rayDivFloor(1, 1.05e27) = 0.
    [
      'v3.5 debt burn of 1 unit at index 1.05',
      position('v3.5', [
        reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 10) }),
        reserve('USDC', {
          priceBase8: usd(1),
          debtBalanceUnits: units('USDC', 15000),
          scaled: { scaledATokenBalance: 0n, liquidityIndexRay: RAY, scaledVariableDebt: 14_285_714_285n, variableBorrowIndexRay: 105n * 10n ** 25n },
        }),
      ]),
      'WETH',
      1n,
      'variable-debt',
    ],
    // 1 USDC unit buys ⌊1e8·1·1e8/(68000e8·1e6)⌋ = 0 satoshi: nothing to burn for the liquidator.
    [
      'aToken burn of 0 WBTC',
      position('v3.5', [
        reserve('WBTC', { priceBase8: usd(68000), collateralBalanceUnits: units('WBTC', 1) }),
        reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 60000) }),
      ]),
      'WBTC',
      1n,
      'atoken',
    ],
  ])('%s', (_name, pos, collateral, debtToCover, token) => {
    const outcome = planLiquidation(pos, {
      collateralAsset: ASSETS[collateral as keyof typeof ASSETS].asset,
      debtAsset: ASSETS.USDC.asset,
      debtToCoverUnits: debtToCover,
    });
    expect(outcome).toMatchObject({ kind: 'skip', reason: 'invalid-burn-amount', token, refusedPlan: { debtRepaidUnits: debtToCover } });
  });

  it('receiving aTokens transfers instead of burning, so a zero collateral amount goes through', () => {
    const pos = position('v3.5', [
      reserve('WBTC', { priceBase8: usd(68000), collateralBalanceUnits: units('WBTC', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 60000) }),
    ]);
    const plan = expectPlan(planLiquidation(pos, { ...pairOf('WBTC', 'USDC'), debtToCoverUnits: 1n, receiveAToken: true }));
    expect(plan).toMatchObject({ debtRepaidUnits: 1n, liquidatorCollateralUnits: 0n });
  });
});

describe('planLiquidation: input validation', () => {
  const pos = wethUsdc('v3.5', 1, 1800, 1500);
  it.each<[string, () => unknown, string]>([
    ['negative debtToCover', () => planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: -1n }), 'debtToCoverUnits must be a uint256, got -1'],
    [
      'a reserve listed twice',
      () => planLiquidation({ ...pos, reserves: [...pos.reserves, pos.reserves[0]] }, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: 1n }),
      `reserve ${ASSETS.WETH.asset} is listed twice`,
    ],
    [
      'a zero price',
      () => planLiquidation({ ...pos, reserves: [{ ...pos.reserves[0], priceBase8: 0n }, pos.reserves[1]] }, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: 1n }),
      `reserve ${ASSETS.WETH.asset}: priceBase8 must be positive, got 0`,
    ],
    [
      'a negative balance',
      () => planLiquidation({ ...pos, reserves: [{ ...pos.reserves[0], collateralBalanceUnits: -5n }, pos.reserves[1]] }, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: 1n }),
      `reserve ${ASSETS.WETH.asset}: collateralBalanceUnits must be a uint256, got -5`,
    ],
  ])('rejects %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
