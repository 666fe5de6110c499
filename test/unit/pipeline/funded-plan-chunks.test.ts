/**
 * Incremental reduction and `best` against a constant-product pool (a Uniswap V2-shaped pool with a 0.3 % fee on
 * the input: out = y·a·997 / (x·1000 + a·997)), whose price move after a sale is known in closed form:
 * spot₁ / spot₀ = (x / (x + 0.997 a))². thin-pool's borrower: 5 WBTC at $50,000 against 210,000 USDC (v3.5
 * rules, HF 0.929, 100 % close factor) and a pool of 4 WBTC / 200,000 USDC.
 */
import {
  bestSizing,
  type CostModel,
  type GasCosts,
  maxSizing,
  MIN_LEFTOVER_BASE,
  planLiquidation,
  selectPair,
  targetHealthSizing,
  twoStepSizing,
} from '../../../functions/domain';
import { planBest, planFunded, type FundedPlanning } from '../../../functions/pipeline/funded-plan';
import type { FlashLoanTermsSource, SwapQuote, SwapQuoter } from '../../../functions/ports/liquidator-contract';
import { ASSETS, LIQUIDATOR, pairOf, position, reserve, units, usd } from '../domain/fixtures';

const POOL_WBTC = units('WBTC', 4);
const POOL_USDC = units('USDC', 200_000);

class ConstantProductQuoter implements SwapQuoter {
  calls = 0;
  async bestQuote(tokenIn: string, tokenOut: string, amountInUnits: bigint): Promise<SwapQuote | undefined> {
    this.calls++;
    if (tokenIn !== ASSETS.WBTC.asset) return undefined;
    const out = (POOL_USDC * amountInUnits * 997n) / (POOL_WBTC * 1000n + amountInUnits * 997n);
    return { route: { tokens: [tokenIn, tokenOut], fees: [3000] }, amountInUnits, amountOutUnits: out, swapGasEstimate: 100_000n };
  }
}

/** The pool's price move (bps, float) after selling `amountIn` WBTC. */
function poolMoveBps(amountIn: bigint): number {
  const ratio = Number(POOL_WBTC * 1000n) / Number(POOL_WBTC * 1000n + amountIn * 997n);
  return (1 - ratio * ratio) * 10_000;
}

const THIN = position('v3.5', [
  reserve('WBTC', { priceBase8: usd(50_000), collateralBalanceUnits: units('WBTC', 5), liquidationThresholdBps: 7_800n, liquidationProtocolFeeBps: 1_000n }),
  reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 210_000) }),
]);
const COSTS: CostModel = {
  gasUnitsPerStep: 500_000n,
  gasPrice: { baseFeePerGasWei: 1_000_000_000n, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 2_000_000_000n },
  nativePriceBase8: usd(3_000),
  swapCostBps: 30n,
};
const GAS: GasCosts = { gasUnits: 500_000n, gasPrice: COSTS.gasPrice, nativePriceBase8: usd(3_000), minProfitBase: 0n };
const PREMIUM: FlashLoanTermsSource = { premiumBps: async () => 5n };
const SETTINGS = { funding: 'flash-loan' as const, ruleSet: 'v3.5' as const, maxSlippageBps: 50n };

function maxCandidates() {
  return selectPair(THIN, { sizing: maxSizing, costs: COSTS, liquidator: LIQUIDATOR, receiveAToken: false }).candidates;
}

function chosen(planning: FundedPlanning) {
  if (planning.kind !== 'liquidate') throw new Error(`expected a liquidation, got ${planning.reason}: ${planning.detail}`);
  return planning.choice;
}

describe('incremental reduction on a constant-product pool', () => {
  it('without a budget the one-shot sale cannot repay its flash loan', async () => {
    const planning = await planFunded({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, maxCandidates(), 1, GAS, SETTINGS);
    expect(planning).toMatchObject({ kind: 'skip', reason: 'unprofitable' });
    expect(planning.verdicts[0].verdict).toBe('swap-below-repayment');
  });

  const budgets = [25n, 50n, 100n, 200n, 400n, 600n];
  it.each(budgets)('a %s bps budget: the largest chunk whose sale moves the pool by at most the budget, exact, marked with the rest', async (budget) => {
    const choice = chosen(await planFunded({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, maxCandidates(), 1, GAS, { ...SETTINGS, maxPriceImpactBps: budget }));
    const { plan, chunk, liquidation } = choice;
    expect(chunk).toBeDefined();
    // Within the budget, measured by the pool itself, and not far inside it (a chunk 3 % larger would break it: the
    // measure's rounding bounds cost ~0.8 bps on a 25 bps chunk of this 8-to-6-decimal pair).
    expect(poolMoveBps(plan.liquidatorCollateralUnits)).toBeLessThanOrEqual(Number(budget));
    expect(poolMoveBps((plan.liquidatorCollateralUnits * 103n) / 100n)).toBeGreaterThan(Number(budget));
    expect(chunk!.priceImpactBps).toBeLessThanOrEqual(budget);
    expect(chunk!.maxPriceImpactBps).toBe(budget);
    expect(chunk!.fullPriceImpactBps).toBeGreaterThan(5_000n);
    expect(chunk!.restRepayUnits).toBe(units('USDC', 210_000) - plan.debtRepaidUnits);
    // The Pool's own plan at that repay, quoted for exactly the collateral it yields.
    const exact = planLiquidation(THIN, { ...pairOf('WBTC', 'USDC'), debtToCoverUnits: plan.debtRepaidUnits, receiveAToken: false });
    expect(exact).toEqual({ kind: 'liquidate', plan });
    expect(liquidation.proceeds).toMatchObject({ kind: 'swap', amountInUnits: plan.liquidatorCollateralUnits });
    // Leaves at least $1,000 of debt and collateral (v3.3+ dust rule).
    const [wbtc, usdc] = plan.positionAfter.reserves;
    expect(usdc.debtBalanceUnits * 100n).toBeGreaterThanOrEqual(MIN_LEFTOVER_BASE);
    expect((wbtc.collateralBalanceUnits * 50_000n * 10n ** 8n) / 10n ** 8n).toBeGreaterThanOrEqual(MIN_LEFTOVER_BASE);
    expect(choice.steps).toEqual([plan]);
  });

  it('a larger budget never gives a smaller chunk (monotone), and a budget the whole sale fits takes it all', async () => {
    const repays: bigint[] = [];
    for (const budget of budgets) {
      const choice = chosen(await planFunded({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, maxCandidates(), 1, GAS, { ...SETTINGS, maxPriceImpactBps: budget }));
      repays.push(choice.plan.debtRepaidUnits);
    }
    expect([...repays].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(repays);
    expect(new Set(repays).size).toBe(repays.length);

    const deep = position('v3.5', [
      reserve('WBTC', { priceBase8: usd(50_000), collateralBalanceUnits: units('WBTC', 0.05), liquidationThresholdBps: 7_800n, liquidationProtocolFeeBps: 1_000n }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 2_100) }),
    ]);
    const candidates = selectPair(deep, { sizing: maxSizing, costs: COSTS, liquidator: LIQUIDATOR, receiveAToken: false }).candidates;
    const whole = chosen(await planFunded({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, deep, candidates, 1, GAS, { ...SETTINGS, maxPriceImpactBps: 600n }));
    expect(whole.chunk).toBeUndefined();
    expect(whole.plan.debtRepaidUnits).toBe(units('USDC', 2_100));
  });

  it('skips a pair when not even the smallest chunk fits the budget', async () => {
    const planning = await planFunded({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, maxCandidates(), 1, GAS, { ...SETTINGS, maxPriceImpactBps: 1n });
    // 1 bp of pool move is ~0.0002 WBTC ($10), whose slices' quotes are too coarse to show under 1 bp.
    expect(planning).toMatchObject({ kind: 'skip', reason: 'unprofitable' });
    expect(planning.verdicts[0]).toMatchObject({ verdict: 'over-impact-budget' });
  });
});

describe('best sizing with quotes', () => {
  const best = bestSizing([targetHealthSizing({ targetHealthFactorWad: 1_050_000_000_000_000_000n }), twoStepSizing()]);
  const options = { costs: COSTS, liquidator: LIQUIDATOR };

  it.each([100n, 400n, 600n])('with a %s bps budget: never below max, and the most profitable chunk within the budget', async (budget) => {
    const settings = { ...SETTINGS, maxPriceImpactBps: budget };
    const asMax = chosen(await planFunded({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, maxCandidates(), 1, GAS, settings));
    const asBest = chosen(await planBest({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, best, 1, GAS, settings, options));
    expect(asBest.liquidation.profitBase).toBeGreaterThanOrEqual(asMax.liquidation.profitBase);
    expect(poolMoveBps(asBest.plan.liquidatorCollateralUnits)).toBeLessThanOrEqual(Number(budget));
    expect(asBest.bestOf).toBeDefined();
    expect(asBest.chunk).toBeDefined();
  });

  it('at 600 bps the profit peaks inside the budget: best sends a smaller, more profitable chunk', async () => {
    const settings = { ...SETTINGS, maxPriceImpactBps: 600n };
    const asMax = chosen(await planFunded({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, maxCandidates(), 1, GAS, settings));
    const asBest = chosen(await planBest({ quoter: new ConstantProductQuoter(), flashTerms: PREMIUM }, THIN, best, 1, GAS, settings, options));
    expect(asBest.bestOf).toBe('chunked');
    expect(asBest.plan.debtRepaidUnits).toBeLessThan(asMax.plan.debtRepaidUnits);
    expect(asBest.liquidation.profitBase).toBeGreaterThan(asMax.liquidation.profitBase);
  });
});
