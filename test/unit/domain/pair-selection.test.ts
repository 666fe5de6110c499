import { type CostModel, maxSizing, type PairPolicy, selectPair, twoStepSizing, type UserPosition } from '../../../functions/domain';
import { ASSETS, pairOf, position, reserve, units, usd } from './fixtures';

const GWEI = 1_000_000_000n;

/** 300,000 gas at 10 gwei with ETH at $2,000: 3e15 wei = 600_000_000 base ($6) per step; no swap cost. */
const cheap: CostModel = {
  gasUnitsPerStep: 300_000n,
  gasPrice: { baseFeePerGasWei: 9n * GWEI, maxPriorityFeePerGasWei: GWEI, maxFeePerGasWei: 100n * GWEI },
  nativePriceBase8: usd(2000),
  swapCostBps: 0n,
};

// V3.0: $1,000 of WETH (bonus 5 %) and $1,000 of WBTC (0.02 at $50,000, bonus 10 %), LT 80 %, 1,700 USDC of debt.
// HF = 2000·0.8/1700 = 0.941 ≤ 0.95 → 100 %; either collateral runs out first, the whole of it is seized.
//   WETH/USDC: repays percentDiv(1000e6, 10500) = 952_380_952 → gain 1e11 − 95_238_095_200 = 4_761_904_800, profit 4_161_904_800.
//   WBTC/USDC: repays percentDiv(1000e6, 11000) = ⌊(1e13 + 5500)/11000⌋ = 909_090_909 → gain 1e11 − 90_909_090_900
//              = 9_090_909_100, profit 8_490_909_100.
const twoCollaterals: UserPosition = position('v3.0', [
  reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1), liquidationThresholdBps: 8_000n }),
  reserve('WBTC', { priceBase8: usd(50000), collateralBalanceUnits: units('WBTC', '0.02'), liquidationThresholdBps: 8_000n, liquidationBonusBps: 11_000n }),
  reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1700) }),
]);

describe('selectPair', () => {
  it.each<[PairPolicy, 'WETH' | 'WBTC', bigint, bigint]>([
    ['most-profitable', 'WBTC', 909_090_909n, 8_490_909_100n],
    ['largest-repay', 'WETH', 952_380_952n, 4_161_904_800n],
  ])('%s picks %s', (policy, collateral, repaid, profit) => {
    const selection = selectPair(twoCollaterals, { sizing: maxSizing, costs: cheap, policy });
    expect(selection).toMatchObject({ kind: 'liquidate', pair: pairOf(collateral, 'USDC'), profit: { profitBase: profit } });
    if (selection.kind !== 'liquidate') throw new Error(selection.reason);
    expect(selection.steps.map((plan) => plan.debtRepaidUnits)).toEqual([repaid]);
    expect(selection.candidates).toHaveLength(2);
  });

  // The worker's failing read (liquidation.test.ts, "the Pool's own balances"): USDC scaled 485_120_562 at borrow index
  // 1.000000001 is 485_120_563 to the Pool; balanceOf said 485_120_564. Every strategy sizes from the Pool's figure.
  it.each([maxSizing, twoStepSizing()])('$name sizing plans from scaled × index, whatever balanceOf said', (sizing) => {
    const RAY = 10n ** 27n;
    const read = (usdcBalanceOf: bigint) =>
      position('v3.5', [
        reserve('WETH', {
          priceBase8: usd(2000),
          collateralBalanceUnits: units('WETH', '0.2'),
          scaled: { scaledATokenBalance: units('WETH', '0.2'), liquidityIndexRay: RAY, scaledVariableDebt: 0n, variableBorrowIndexRay: RAY },
        }),
        reserve('USDC', {
          priceBase8: usd(1),
          debtBalanceUnits: usdcBalanceOf,
          scaled: { scaledATokenBalance: 0n, liquidityIndexRay: RAY, scaledVariableDebt: 485_120_562n, variableBorrowIndexRay: RAY + 10n ** 18n },
        }),
      ]);
    const selection = selectPair(read(485_120_564n), { sizing, costs: cheap });
    expect(selection).toMatchObject({ kind: 'liquidate', steps: [{ debtRepaidUnits: 380_952_381n, deficits: [{ amountUnits: 104_168_182n }] }] });
    expect(selection).toEqual(selectPair(read(485_120_563n), { sizing, costs: cheap }));
  });

  it('skips a healthy position without sizing anything', () => {
    const healthy = position('v3.5', [
      reserve('WETH', { priceBase8: usd(3000), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1000) }),
    ]);
    expect(selectPair(healthy, { sizing: maxSizing, costs: cheap })).toEqual({ kind: 'skip', reason: 'healthy', candidates: [] });
  });

  it('skips as unprofitable when gas eats the bonus, and keeps the candidates', () => {
    // 10,000 gwei per gas × 300,000 = 3e18 wei = $6,000 per step.
    const expensive: CostModel = { ...cheap, gasPrice: { baseFeePerGasWei: 10_000n * GWEI, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 10_000n * GWEI } };
    const selection = selectPair(twoCollaterals, { sizing: maxSizing, costs: expensive });
    expect(selection).toMatchObject({ kind: 'skip', reason: 'unprofitable' });
    expect(selection.candidates.map((c) => (c.kind === 'sized' ? c.profit.kind : c.reason))).toEqual(['skip', 'skip']);
  });

  it('reports no liquidatable pair when every pair is refused', () => {
    const paused: UserPosition = { ...twoCollaterals, reserves: twoCollaterals.reserves.map((r) => (r.asset === ASSETS.USDC.asset ? { ...r, isPaused: true } : r)) };
    expect(selectPair(paused, { sizing: maxSizing, costs: cheap })).toMatchObject({
      kind: 'skip',
      reason: 'no-liquidatable-pair',
      candidates: [
        { kind: 'not-sized', reason: 'reserve-paused' },
        { kind: 'not-sized', reason: 'reserve-paused' },
      ],
    });
  });
});
