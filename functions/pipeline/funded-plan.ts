/**
 * Turns the sized pairs of a position into the liquidation our contract sends, priced on the real market at the
 * read block: for each sized pair, the sale of exactly the collateral the liquidator receives is quoted on the
 * DEX (a same-asset pair needs no swap), the flash-loan premium is read from the Pool, and the pair whose
 * profit after premium, swap and gas is highest wins (functions/domain/funded-liquidation.ts does the math).
 *
 * Quotes are the only calls per pair; the premium is one call per block (cached by the adapter).
 */
import {
  assessFundedLiquidation,
  encodeSwapPath,
  fitToAvailableLiquidity,
  type FundedLiquidation,
  type FundingMode,
  type GasCosts,
  type LiquidationPlan,
  type PairCandidate,
  type Proceeds,
  type RuleSet,
  sameAddress,
  type UserPosition,
  withPoolBalances,
} from '../domain';
import type { FlashLoanTermsSource, LiquidatorCall, SwapQuoter } from '../ports/liquidator-contract';

export interface FundedPlanningDeps {
  quoter: SwapQuoter;
  flashTerms: FlashLoanTermsSource;
}

export interface FundedPlanningSettings {
  funding: FundingMode;
  ruleSet: RuleSet;
  maxSlippageBps: bigint;
}

export interface FundedChoice {
  /** The step sent now (a two-step plan's second step waits for the next detection of the account). */
  plan: LiquidationPlan;
  steps: readonly [LiquidationPlan, ...LiquidationPlan[]];
  liquidation: FundedLiquidation;
  call: LiquidatorCall;
  /** The sized plan repaid more than the reserves could pay out: this is the largest that fits. */
  reducedForLiquidity?: { plannedRepayUnits: bigint };
}

/** Why a pair was not chosen, for the skip's detail. */
export interface PairVerdict {
  pair: string;
  verdict: 'no-route' | 'no-available-liquidity' | 'swap-below-repayment' | 'unprofitable' | 'profitable';
  profitBase?: bigint;
}

export type FundedPlanning =
  | { kind: 'liquidate'; choice: FundedChoice; verdicts: PairVerdict[] }
  | { kind: 'skip'; reason: 'no-route' | 'no-available-liquidity' | 'unprofitable'; detail: string; verdicts: PairVerdict[] };

/** The contract call that executes `liquidation`. */
export function liquidatorCallOf(liquidation: FundedLiquidation): LiquidatorCall {
  return {
    collateralAsset: liquidation.collateralAsset,
    debtAsset: liquidation.debtAsset,
    user: liquidation.user,
    debtToCoverUnits: liquidation.debtToCoverUnits,
    swapPath: liquidation.proceeds.kind === 'swap' ? encodeSwapPath(liquidation.proceeds.route) : '0x',
    amountOutMinimumUnits: liquidation.amountOutMinimumUnits,
    minProfitUnits: liquidation.minProfitUnits,
    flashLoan: liquidation.funding === 'flash-loan',
  };
}

async function proceedsOf(deps: FundedPlanningDeps, plan: LiquidationPlan, block: number): Promise<Proceeds | undefined> {
  if (sameAddress(plan.collateralAsset, plan.debtAsset)) return { kind: 'same-asset' };
  const quote = await deps.quoter.bestQuote(plan.collateralAsset, plan.debtAsset, plan.liquidatorCollateralUnits, block);
  if (!quote) return undefined;
  return { kind: 'swap', route: quote.route, amountInUnits: quote.amountInUnits, amountOutUnits: quote.amountOutUnits };
}

/**
 * The most profitable funded liquidation among `candidates` (sized on `position`) at `block`, or why there is
 * none. A plan the reserves cannot pay out (available liquidity) is first reduced to the largest that fits.
 */
export async function planFunded(
  deps: FundedPlanningDeps,
  position: UserPosition,
  candidates: readonly PairCandidate[],
  block: number,
  gas: GasCosts,
  settings: FundedPlanningSettings,
): Promise<FundedPlanning> {
  const poolPosition = withPoolBalances(position);
  const sized = candidates.filter((c): c is Extract<PairCandidate, { kind: 'sized' }> => c.kind === 'sized');
  const premiumBps = settings.funding === 'flash-loan' ? await deps.flashTerms.premiumBps(block) : 0n;
  const terms = { mode: settings.funding, ruleSet: settings.ruleSet, flashLoanPremiumBps: premiumBps, maxSlippageBps: settings.maxSlippageBps };

  const assessed = await Promise.all(
    sized.map(async (candidate) => {
      const sizedPlan = candidate.steps[0];
      const pair = `${sizedPlan.collateralAsset}/${sizedPlan.debtAsset}`;
      const fit = fitToAvailableLiquidity(poolPosition, sizedPlan, settings.funding, { receiveAToken: false });
      if (fit.kind === 'none') return { candidate, verdict: { pair, verdict: 'no-available-liquidity' } as PairVerdict };
      const plan = fit.plan;
      const reduced = fit.kind === 'reduced' ? { plannedRepayUnits: fit.plannedRepayUnits } : undefined;
      const proceeds = await proceedsOf(deps, plan, block);
      if (!proceeds) return { candidate, verdict: { pair, verdict: 'no-route' } as PairVerdict };
      const assessment = assessFundedLiquidation(plan, proceeds, terms, gas);
      const verdict: PairVerdict = {
        pair,
        verdict: assessment.kind === 'profitable' ? 'profitable' : assessment.reason,
        profitBase: assessment.liquidation.profitBase,
      };
      return { candidate, verdict, assessment, plan, reduced };
    }),
  );
  const verdicts = assessed.map((a) => a.verdict);

  let best: (typeof assessed)[number] | undefined;
  for (const a of assessed) {
    if (a.assessment?.kind !== 'profitable') continue;
    if (!best || a.assessment.liquidation.profitBase > best.assessment!.liquidation.profitBase) best = a;
  }
  if (best?.assessment) {
    const liquidation = best.assessment.liquidation;
    return {
      kind: 'liquidate',
      choice: {
        plan: best.plan!,
        // A reduced plan is a single step: the rest is left to the next detection of the account.
        steps: best.reduced ? [best.plan!] : best.candidate.steps,
        liquidation,
        call: liquidatorCallOf(liquidation),
        ...(best.reduced ? { reducedForLiquidity: best.reduced } : {}),
      },
      verdicts,
    };
  }
  const detail = verdicts.map((v) => `${v.pair}: ${v.verdict}${v.profitBase === undefined ? '' : ` (${v.profitBase} base after gas)`}`).join('; ');
  const reason = verdicts.length > 0 && verdicts.every((v) => v.verdict === 'no-route') ? 'no-route' : verdicts.length > 0 && verdicts.every((v) => v.verdict === 'no-available-liquidity') ? 'no-available-liquidity' : 'unprofitable';
  return { kind: 'skip', reason, detail: detail || 'no sized pair', verdicts };
}
