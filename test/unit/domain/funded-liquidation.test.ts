import {
  assessFundedLiquidation,
  encodeSwapPath,
  exactDebtToCoverUnits,
  fitsAvailableLiquidity,
  fitToAvailableLiquidity,
  flashLoanPremiumUnits,
  type FundingTerms,
  type GasCosts,
  type LiquidationPlan,
  MAX_UINT256,
  planLiquidation,
  type Proceeds,
} from '../../../functions/domain';
import { ASSETS, pairOf, position, reserve, units, usd } from './fixtures';

const GWEI = 1_000_000_000n;

// V3.0, 1 WETH at $1,800 (fee 10 %) vs 1,500 USDC, HF > 0.95: the max plan repays 750 USDC (50 % close factor)
// and hands the liquidator 435_416_666_666_666_666 wei (liquidation.test.ts).
function maxPlan(): LiquidationPlan {
  const pos = position('v3.0', [
    reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 1), liquidationProtocolFeeBps: 1_000n }),
    reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500) }),
  ]);
  const outcome = planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 });
  if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${outcome.reason}`);
  return outcome.plan;
}

const swap = (amountOutUnits: bigint): Proceeds => ({
  kind: 'swap',
  route: { tokens: [ASSETS.WETH.asset, ASSETS.USDC.asset], fees: [500] },
  amountInUnits: 435_416_666_666_666_666n,
  amountOutUnits,
});
const flash = (overrides: Partial<FundingTerms> = {}): FundingTerms => ({
  mode: 'flash-loan',
  ruleSet: 'v3.0',
  flashLoanPremiumBps: 9n,
  maxSlippageBps: 50n,
  ...overrides,
});
// 400,000 gas at 20 + 2 gwei, ETH at $2,000: 8.8e15 wei = $17.60 = 1_760_000_000 base.
const gas = (overrides: Partial<GasCosts> = {}): GasCosts => ({
  gasUnits: 400_000n,
  gasPrice: { baseFeePerGasWei: 20n * GWEI, maxPriorityFeePerGasWei: 2n * GWEI, maxFeePerGasWei: 50n * GWEI },
  nativePriceBase8: usd(2000),
  minProfitBase: 0n,
  ...overrides,
});

describe('flashLoanPremiumUnits', () => {
  it.each<[string, 'v3.0' | 'v3.5', bigint, bigint, bigint]>([
    // 750,000,001 × 9 / 10,000 = 675,000.0009
    ['V3.0 rounds half up (percentMul)', 'v3.0', 750_000_001n, 9n, 675_000n],
    ['v3.5+ rounds up (percentMulCeil)', 'v3.5', 750_000_001n, 9n, 675_001n],
    // 1,111 × 5 / 10,000 = 0.5555
    ['V3.0, half up reaches one', 'v3.0', 1_111n, 5n, 1n],
    ['zero premium', 'v3.5', 10n ** 18n, 0n, 0n],
  ])('%s', (_name, ruleSet, amount, bps, expected) => {
    expect(flashLoanPremiumUnits(ruleSet, amount, bps)).toBe(expected);
  });
});

describe('exactDebtToCoverUnits', () => {
  it('turns a max plan into the finite amount the Pool takes', () => {
    const plan = maxPlan();
    expect(plan.debtToCoverUnits).toBe(MAX_UINT256);
    expect(exactDebtToCoverUnits(plan)).toBe(750_000_000n);
  });

  it('asks for 10 bps more when the plan repays the reserve\'s whole debt, so interest accrued until the block cannot leave dust', () => {
    // HF 0.935 on V3.0: the close factor is 100 % of the reserve's 1,500 USDC.
    const pos = position('v3.0', [
      reserve('WETH', { priceBase8: usd(1700), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500) }),
    ]);
    const outcome = planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: MAX_UINT256 });
    if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${outcome.reason}`);
    expect(outcome.plan).toMatchObject({ closeFactor: 'all-of-reserve-debt', limitedBy: 'close-factor', debtRepaidUnits: 1_500_000_000n });
    // 1,500 USDC × 1.001
    expect(exactDebtToCoverUnits(outcome.plan)).toBe(1_501_500_000n);
    // The Pool still takes exactly the plan at the read block.
    const again = planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits: 1_501_500_000n });
    expect(again.kind === 'liquidate' && again.plan.debtRepaidUnits).toBe(1_500_000_000n);
  });

  it('keeps a smaller requested amount', () => {
    const plan = { ...maxPlan(), debtToCoverUnits: 500_000_000n };
    expect(exactDebtToCoverUnits(plan)).toBe(500_000_000n);
  });
});

describe('assessFundedLiquidation', () => {
  it('prices a flash-loan liquidation with a swap (hand-checked)', () => {
    const result = assessFundedLiquidation(maxPlan(), swap(780_000_000n), flash(), gas());
    expect(result.kind).toBe('profitable');
    const l = result.liquidation;
    expect(l.debtToCoverUnits).toBe(750_000_000n);
    expect(l.flashLoanUnits).toBe(750_000_000n);
    // 750e6 × 9 bps = 675,000 exactly.
    expect(l.premiumUnits).toBe(675_000n);
    // 780e6 − 750e6 − 675,000
    expect(l.expectedProfitUnits).toBe(29_325_000n);
    // 29.325 USDC at $1 = 2,932,500,000 base; minus gas $17.60.
    expect(l.profitBeforeGasBase).toBe(2_932_500_000n);
    expect(l.gasCostBase).toBe(1_760_000_000n);
    expect(l.profitBase).toBe(1_172_500_000n);
    // 780e6 × 9,950 / 10,000
    expect(l.amountOutMinimumUnits).toBe(776_100_000n);
    // The guard: gas $17.60 in USDC units, rounded up.
    expect(l.minProfitUnits).toBe(17_600_000n);
    // Oracle value received ⌊0.4354… × 1800⌋ = 78,374,999,999 base vs 78,000,000,000 out of the swap.
    expect(l.swapCostBase).toBe(374_999_999n);
  });

  it('pays no premium and borrows nothing in inventory mode', () => {
    const result = assessFundedLiquidation(maxPlan(), swap(780_000_000n), flash({ mode: 'inventory' }), gas());
    expect(result.liquidation.flashLoanUnits).toBe(0n);
    expect(result.liquidation.premiumUnits).toBe(0n);
    expect(result.liquidation.expectedProfitUnits).toBe(30_000_000n);
  });

  it('skips a swap that does not repay the loan and its premium', () => {
    // 750,675,000 is needed; 750,674,999 is one unit short.
    const short = assessFundedLiquidation(maxPlan(), swap(750_674_999n), flash(), gas({ gasUnits: 0n }));
    expect(short).toMatchObject({ kind: 'skip', reason: 'swap-below-repayment' });
    expect(short.liquidation.expectedProfitUnits).toBe(-1n);
    expect(short.liquidation.profitBeforeGasBase).toBe(-100n);
  });

  it('skips when the gas eats the profit or it does not exceed the minimum', () => {
    // Profit before gas 2,932,500,000 base; gas 1,760,000,000; min profit $11.725 leaves exactly 0 above it.
    const result = assessFundedLiquidation(maxPlan(), swap(780_000_000n), flash(), gas({ minProfitBase: 1_172_500_000n }));
    expect(result).toMatchObject({ kind: 'skip', reason: 'unprofitable' });
    expect(result.liquidation.minProfitUnits).toBe(29_325_000n);
  });

  it('needs no swap on a same-asset pair and refuses a quote for it', () => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(2000), collateralBalanceUnits: units('WETH', 10), debtBalanceUnits: units('WETH', 8.5) }),
    ]);
    const outcome = planLiquidation(pos, { ...pairOf('WETH', 'WETH'), debtToCoverUnits: MAX_UINT256 });
    if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${outcome.reason}`);
    const plan = outcome.plan;
    const result = assessFundedLiquidation(plan, { kind: 'same-asset' }, flash({ ruleSet: 'v3.5', flashLoanPremiumBps: 5n }), gas({ gasUnits: 0n }));
    const l = result.liquidation;
    expect(l.proceedsUnits).toBe(plan.liquidatorCollateralUnits);
    expect(l.amountOutMinimumUnits).toBe(0n);
    expect(l.premiumUnits).toBe(flashLoanPremiumUnits('v3.5', l.flashLoanUnits, 5n));
    expect(l.expectedProfitUnits).toBe(plan.liquidatorCollateralUnits - plan.debtRepaidUnits - l.premiumUnits);
    expect(() => assessFundedLiquidation(plan, swap(1n), flash(), gas())).toThrow('proceeds swap do not fit the pair');
  });

  it('refuses a quote for another amount or another route', () => {
    const plan = maxPlan();
    expect(() => assessFundedLiquidation(plan, { ...swap(1n), amountInUnits: 1n } as Proceeds, flash(), gas())).toThrow(
      'the swap quote sells 1, the plan receives 435416666666666666',
    );
    const reversed: Proceeds = { ...swap(1n), route: { tokens: [ASSETS.USDC.asset, ASSETS.WETH.asset], fees: [500] } } as Proceeds;
    expect(() => assessFundedLiquidation(plan, reversed, flash(), gas())).toThrow('the swap route must lead from');
    expect(() => assessFundedLiquidation(plan, swap(1n), flash({ maxSlippageBps: 10_000n }), gas())).toThrow('maxSlippageBps must be 0..9999');
  });
});

describe('encodeSwapPath', () => {
  it('packs token | fee | token as Uniswap V3 paths do', () => {
    const path = encodeSwapPath({ tokens: [ASSETS.WETH.asset, ASSETS.USDC.asset], fees: [3000] });
    expect(path).toBe('0x' + '0000000000000000000000000000000000000002' + '000bb8' + '0000000000000000000000000000000000000001');
  });

  it('refuses a route whose fees do not fit its tokens', () => {
    expect(() => encodeSwapPath({ tokens: [ASSETS.WETH.asset], fees: [] })).toThrow('a swap route needs n ≥ 2 tokens');
    expect(() => encodeSwapPath({ tokens: [ASSETS.WETH.asset, ASSETS.USDC.asset], fees: [2 ** 24] })).toThrow('is not a uint24');
  });
});

describe('fitToAvailableLiquidity', () => {
  const withAvailable = (wethAvailable: bigint | undefined, usdcAvailable: bigint | undefined) =>
    position('v3.0', [
      reserve('WETH', { priceBase8: usd(1800), collateralBalanceUnits: units('WETH', 1), liquidationProtocolFeeBps: 1_000n, availableLiquidityUnits: wethAvailable }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1500), availableLiquidityUnits: usdcAvailable }),
    ]);
  const planOn = (pos: ReturnType<typeof withAvailable>, debtToCoverUnits = MAX_UINT256) => {
    const outcome = planLiquidation(pos, { ...pairOf('WETH', 'USDC'), debtToCoverUnits });
    if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${outcome.reason}`);
    return outcome.plan;
  };

  it('keeps a plan the reserves can pay', () => {
    // 435_416_666_666_666_666 wei received ≤ available, 750 USDC flash-borrowed ≤ available: exactly enough.
    const pos = withAvailable(435_416_666_666_666_666n, 750_000_000n);
    expect(fitToAvailableLiquidity(pos, planOn(pos), 'flash-loan')).toEqual({ kind: 'fits', plan: planOn(pos) });
    expect(fitsAvailableLiquidity(withAvailable(435_416_666_666_666_666n, 750_000_000n), planOn(pos), 'flash-loan')).toBe(true);
    expect(fitsAvailableLiquidity(withAvailable(435_416_666_666_666_665n, 750_000_000n), planOn(pos), 'flash-loan')).toBe(false);
    expect(fitsAvailableLiquidity(withAvailable(435_416_666_666_666_666n, 749_999_999n), planOn(pos), 'flash-loan')).toBe(false);
    // Inventory mode borrows nothing from the debt reserve.
    expect(fitsAvailableLiquidity(withAvailable(435_416_666_666_666_666n, 0n), planOn(pos), 'inventory')).toBe(true);
  });

  it('reduces a plan to the largest repay whose collateral the reserve can pay out', () => {
    const pos = withAvailable(units('WETH', 0.2), undefined);
    const fit = fitToAvailableLiquidity(pos, planOn(pos), 'flash-loan');
    if (fit.kind !== 'reduced') throw new Error(`expected a reduced plan, got ${fit.kind}`);
    expect(fit.plannedRepayUnits).toBe(750_000_000n);
    expect(fit.plan.liquidatorCollateralUnits).toBeLessThanOrEqual(units('WETH', 0.2));
    // One unit more of repay would not fit: the largest such size.
    expect(planOn(pos, fit.plan.debtRepaidUnits + 1n).liquidatorCollateralUnits).toBeGreaterThan(units('WETH', 0.2));
    // ≈ 0.2 WETH × $1,800 / 1.05 of collateral value net of the 10 % fee on the bonus: about 343 USDC.
    expect(fit.plan.debtRepaidUnits).toBeGreaterThan(340_000_000n);
    expect(fit.plan.debtRepaidUnits).toBeLessThan(346_000_000n);
  });

  it('counts the flash loan against the same reserve on a same-asset pair', () => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(2000), collateralBalanceUnits: units('WETH', 10), debtBalanceUnits: units('WETH', 8.5), availableLiquidityUnits: units('WETH', 5) }),
    ]);
    const outcome = planLiquidation(pos, { ...pairOf('WETH', 'WETH'), debtToCoverUnits: MAX_UINT256 });
    if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${outcome.reason}`);
    expect(fitsAvailableLiquidity(pos, outcome.plan, 'inventory')).toBe(outcome.plan.liquidatorCollateralUnits <= units('WETH', 5));
    const fit = fitToAvailableLiquidity(pos, outcome.plan, 'flash-loan');
    if (fit.kind === 'none') throw new Error('expected a plan that fits');
    expect(fit.plan.liquidatorCollateralUnits + exactDebtToCoverUnits(fit.plan)).toBeLessThanOrEqual(units('WETH', 5));
  });

  it('gives up when nothing fits', () => {
    const pos = withAvailable(0n, undefined);
    expect(fitToAvailableLiquidity(pos, planOn(pos), 'flash-loan')).toEqual({ kind: 'none' });
  });
});
