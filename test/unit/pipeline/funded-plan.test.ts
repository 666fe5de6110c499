import {
  exactDebtToCoverUnits,
  type GasCosts,
  maxSizing,
  selectPair,
  type CostModel,
} from '../../../functions/domain';
import { planFunded } from '../../../functions/pipeline/funded-plan';
import type { FlashLoanTermsSource, SwapQuote, SwapQuoter } from '../../../functions/ports/liquidator-contract';
import { ASSETS, LIQUIDATOR, position, reserve, units, usd } from '../domain/fixtures';

// 2 WETH at $1,700 and 1,000 USDC of collateral against 1 WETH and 2,500 USDC of debt (V3.0, LT 82.5 %):
// HF = (3,400 + 1,000) × 0.825 / (1,700 + 2,500) = 0.864, so all four pairs (two of them same-asset) are sized.
const POSITION = position('v3.0', [
  reserve('WETH', { priceBase8: usd(1700), collateralBalanceUnits: units('WETH', 2), debtBalanceUnits: units('WETH', 1) }),
  reserve('USDC', { priceBase8: usd(1), collateralBalanceUnits: units('USDC', 1000), debtBalanceUnits: units('USDC', 2500) }),
]);

const RANKING: CostModel = {
  gasUnitsPerStep: 0n,
  gasPrice: { baseFeePerGasWei: 0n, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 0n },
  nativePriceBase8: 0n,
  swapCostBps: 30n,
};
const NO_GAS: GasCosts = { gasUnits: 0n, gasPrice: RANKING.gasPrice, nativePriceBase8: usd(1700), minProfitBase: 0n };
const SETTINGS = { funding: 'flash-loan' as const, ruleSet: 'v3.0' as const, maxSlippageBps: 50n };

class RecordingQuoter implements SwapQuoter {
  readonly calls: { tokenIn: string; tokenOut: string; amountInUnits: bigint; block: number }[] = [];
  constructor(private readonly rate: (tokenIn: string, amountInUnits: bigint) => bigint | undefined) {}
  async bestQuote(tokenIn: string, tokenOut: string, amountInUnits: bigint, block: number): Promise<SwapQuote | undefined> {
    this.calls.push({ tokenIn, tokenOut, amountInUnits, block });
    const out = this.rate(tokenIn, amountInUnits);
    return out === undefined ? undefined : { route: { tokens: [tokenIn, tokenOut], fees: [500] }, amountInUnits, amountOutUnits: out, swapGasEstimate: 100_000n };
  }
}
const premium = (bps: bigint): FlashLoanTermsSource & { blocks: number[] } => {
  const blocks: number[] = [];
  return { blocks, premiumBps: async (block) => (blocks.push(block), bps) };
};

function candidates() {
  const selection = selectPair(POSITION, { sizing: maxSizing, costs: RANKING, liquidator: LIQUIDATOR, receiveAToken: false });
  return selection.candidates;
}

describe('planFunded', () => {
  it('quotes every cross-asset pair at the read block and takes the most profitable after premium and swap', async () => {
    // WETH sells at the oracle price less 1 %; USDC → WETH is quoted at a loss.
    const quoter = new RecordingQuoter((tokenIn, amountIn) =>
      tokenIn === ASSETS.WETH.asset ? (amountIn * 1700n * 99n) / 100n / 10n ** 12n : (amountIn * 10n ** 12n) / 1700n / 2n,
    );
    const terms = premium(9n);
    const result = await planFunded({ quoter, flashTerms: terms }, POSITION, candidates(), 42, NO_GAS, SETTINGS);

    expect(terms.blocks).toEqual([42]);
    expect(quoter.calls.every((c) => c.block === 42)).toBe(true);
    // Two cross-asset pairs are quoted (WETH→USDC, USDC→WETH); the same-asset pairs need no quote.
    expect(quoter.calls.map((c) => `${c.tokenIn}>${c.tokenOut}`).sort()).toEqual([
      `${ASSETS.USDC.asset}>${ASSETS.WETH.asset}`,
      `${ASSETS.WETH.asset}>${ASSETS.USDC.asset}`,
    ]);
    if (result.kind !== 'liquidate') throw new Error(`expected a plan, got ${result.kind}: ${result.detail}`);
    const { liquidation, call, plan } = result.choice;
    const profits = result.verdicts.filter((v) => v.verdict === 'profitable').map((v) => v.profitBase!);
    expect(liquidation.profitBase).toBe(profits.reduce((a, b) => (a > b ? a : b)));
    // The call carries the plan's finite amount and the guard's numbers.
    expect(call.debtToCoverUnits).toBe(exactDebtToCoverUnits(plan));
    expect(call.debtToCoverUnits).toBeGreaterThanOrEqual(plan.debtRepaidUnits);
    expect(call.flashLoan).toBe(true);
    expect(call.minProfitUnits).toBe(0n);
    expect(call.swapPath === '0x').toBe(liquidation.proceeds.kind === 'same-asset');
  });

  it('skips with no-route when no cross-asset pair has a pool and there is no same-asset pair', async () => {
    const crossOnly = position('v3.0', [
      reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 900) }),
    ]);
    const selection = selectPair(crossOnly, { sizing: maxSizing, costs: RANKING, liquidator: LIQUIDATOR, receiveAToken: false });
    const result = await planFunded({ quoter: new RecordingQuoter(() => undefined), flashTerms: premium(9n) }, crossOnly, selection.candidates, 7, NO_GAS, SETTINGS);
    expect(result).toMatchObject({ kind: 'skip', reason: 'no-route' });
  });

  describe('an unprofitable skip says whether the pool\'s price alone priced it out', () => {
    // 1 WETH at $1,000 against 900 USDC: one cross-asset pair, its bonus a few per cent of the repay.
    const crossOnly = position('v3.0', [
      reserve('WETH', { priceBase8: usd(1000), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 900) }),
    ]);
    const crossCandidates = () => selectPair(crossOnly, { sizing: maxSizing, costs: RANKING, liquidator: LIQUIDATOR, receiveAToken: false }).candidates;
    /** WETH sells `belowBps` under the oracle's $1,000. */
    const pool = (belowBps: bigint) => new RecordingQuoter((_t, amountIn) => (amountIn * 1000n * (10_000n - belowBps)) / 10_000n / 10n ** 12n);

    it('yes, when the sale is 20 % under the oracle and the plan clears the minimum at the assumed 30 bps', async () => {
      const result = await planFunded({ quoter: pool(2_000n), flashTerms: premium(9n) }, crossOnly, crossCandidates(), 7, NO_GAS, { ...SETTINGS, assumedSwapCostBps: 30n });
      expect(result).toMatchObject({ kind: 'skip', reason: 'unprofitable', pricedOutBySale: true });
    });

    it('no, when even a sale at the assumed cost would not clear the minimum (gas, size)', async () => {
      const costly = { ...NO_GAS, minProfitBase: usd(1_000) };
      const result = await planFunded({ quoter: pool(2_000n), flashTerms: premium(9n) }, crossOnly, crossCandidates(), 7, costly, { ...SETTINGS, assumedSwapCostBps: 30n });
      expect(result).toMatchObject({ kind: 'skip', reason: 'unprofitable' });
      expect(result).not.toHaveProperty('pricedOutBySale');
    });

    it('no, without an assumed swap cost to compare with', async () => {
      const result = await planFunded({ quoter: pool(2_000n), flashTerms: premium(9n) }, crossOnly, crossCandidates(), 7, NO_GAS, SETTINGS);
      expect(result).toMatchObject({ kind: 'skip', reason: 'unprofitable' });
      expect(result).not.toHaveProperty('pricedOutBySale');
    });
  });

  it('does not read the premium in inventory mode', async () => {
    const terms = premium(9n);
    const quoter = new RecordingQuoter((_t, amountIn) => amountIn);
    await planFunded({ quoter, flashTerms: terms }, POSITION, candidates(), 42, NO_GAS, { ...SETTINGS, funding: 'inventory' });
    expect(terms.blocks).toEqual([]);
  });
});
