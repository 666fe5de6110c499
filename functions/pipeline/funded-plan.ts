/**
 * Turns the sized pairs of a position into the liquidation our contract sends, priced on the real market at the
 * read block: for each sized pair, the sale of exactly the collateral the liquidator receives is quoted on the
 * DEX (a same-asset pair needs no swap), the flash-loan premium is read from the Pool, and the pair whose
 * profit after premium, swap and gas is highest wins (functions/domain/funded-liquidation.ts does the math).
 *
 * With a price-impact budget (`maxPriceImpactBps`), a plan whose sale would move the market's price by more is
 * reduced to the largest chunk within it (incremental reduction): the impact is measured from quotes
 * (functions/domain/price-impact.ts: the marginal price of the sale's last slice against that of a small sale),
 * the repay bisected over exact plans (functions/domain/chunked-liquidation.ts), and the choice marked as a chunk
 * with the repay still owed, for a later candidate (chunk-rest.ts).
 *
 * `planBest` runs this for every member of the `best` strategy and, with a budget, for the most profitable chunk
 * within it, and takes the most profitable plan (ties: the first member, `max`).
 *
 * Quotes are the only calls per pair (three per impact probe, in parallel); the premium is one call per block
 * (cached by the adapter).
 */
import {
  assessFundedLiquidation,
  type BestSizingStrategy,
  chunkMarkerOf,
  type ChunkMarker,
  chunkRange,
  chunkSearchDone,
  type CostModel,
  encodeSwapPath,
  fitToAvailableLiquidity,
  type FundedAssessment,
  type FundedLiquidation,
  type FundingMode,
  type FundingTerms,
  type GasCosts,
  type LiquidationPlan,
  type PairCandidate,
  planChunk,
  pricedOutBySale,
  probeUnits,
  saleImpactBps,
  type Proceeds,
  type RuleSet,
  sameAddress,
  selectPair,
  type SizingStrategyName,
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
  /** Largest price move (bps) one liquidation's sale may cause; a larger plan is reduced to a chunk. Unset: none. */
  maxPriceImpactBps?: bigint;
  /**
   * The swap cost a pool at the oracle's price is assumed to take (SWAP_COST_BPS): an unprofitable skip that
   * would be profitable at it says so (`pricedOutBySale`). Unset: never said.
   */
  assumedSwapCostBps?: bigint;
}

/** Which plan `planBest` took: a member strategy's, or the most profitable chunk within the budget. */
export type BestCandidate = SizingStrategyName | 'chunked';

export interface FundedChoice {
  /** The step sent now (a two-step plan's second step waits for the next detection of the account). */
  plan: LiquidationPlan;
  steps: readonly [LiquidationPlan, ...LiquidationPlan[]];
  liquidation: FundedLiquidation;
  call: LiquidatorCall;
  /** The sized plan repaid more than the reserves could pay out: this is the largest that fits. */
  reducedForLiquidity?: { plannedRepayUnits: bigint };
  /** The plan was reduced to keep its sale within the price-impact budget: the rest is for a later candidate. */
  chunk?: ChunkMarker;
  /** Set by planBest: whose plan this is. */
  bestOf?: BestCandidate;
}

/** Why a pair was not chosen, for the skip's detail. */
export interface PairVerdict {
  pair: string;
  verdict: 'no-route' | 'no-available-liquidity' | 'over-impact-budget' | 'swap-below-repayment' | 'unprofitable' | 'profitable';
  profitBase?: bigint;
  /** The plan was reduced to a chunk within the price-impact budget. */
  chunked?: boolean;
  /** planBest: the candidate strategy the verdict belongs to. */
  candidate?: BestCandidate;
}

export type FundedPlanning =
  | { kind: 'liquidate'; choice: FundedChoice; verdicts: PairVerdict[] }
  | {
      kind: 'skip';
      reason: 'no-route' | 'no-available-liquidity' | 'unprofitable';
      detail: string;
      verdicts: PairVerdict[];
      /** Unprofitable only at the pool's price now: a pair clears the minimum at the assumed swap cost (pricedOutBySale). */
      pricedOutBySale?: true;
    };

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

/** What selling the plan's collateral does to the price, measured from three quotes at `block` (price-impact.ts). */
export type ImpactMeasure =
  | { kind: 'measured'; impactBps: bigint; proceeds: Extract<Proceeds, { kind: 'swap' }> }
  /** No route sells this amount (or its reference slice): as if over any budget. */
  | { kind: 'no-route' };

/** The price impact of selling `plan`'s collateral at `block`: a reference slice, the sale, the sale less its last slice. */
export async function measurePriceImpact(deps: FundedPlanningDeps, plan: LiquidationPlan, block: number): Promise<ImpactMeasure> {
  const amountUnits = plan.liquidatorCollateralUnits;
  if (amountUnits <= 0n) return { kind: 'no-route' };
  const delta = probeUnits(amountUnits);
  const { collateralAsset: tokenIn, debtAsset: tokenOut } = plan;
  const [reference, sale, beforeSlice] = await Promise.all([
    deps.quoter.bestQuote(tokenIn, tokenOut, delta, block),
    deps.quoter.bestQuote(tokenIn, tokenOut, amountUnits, block),
    amountUnits > delta ? deps.quoter.bestQuote(tokenIn, tokenOut, amountUnits - delta, block) : Promise.resolve({ amountOutUnits: 0n }),
  ]);
  if (!reference || reference.amountOutUnits === 0n || !sale || !beforeSlice) return { kind: 'no-route' };
  const impactBps = saleImpactBps({
    amountUnits,
    saleOutUnits: sale.amountOutUnits,
    probeUnits: delta,
    referenceOutUnits: reference.amountOutUnits,
    beforeSliceOutUnits: beforeSlice.amountOutUnits,
  });
  return { kind: 'measured', impactBps, proceeds: { kind: 'swap', route: sale.route, amountInUnits: sale.amountInUnits, amountOutUnits: sale.amountOutUnits } };
}

type ChunkSearch =
  | { kind: 'within'; proceeds: Proceeds }
  | { kind: 'chunk'; plan: LiquidationPlan; proceeds: Proceeds; marker: ChunkMarker }
  | { kind: 'over-impact-budget' }
  | { kind: 'no-route' };

/**
 * `plan` if selling its collateral stays within `maxPriceImpactBps`, else the largest chunk of it that does (the
 * repay bisected over exact plans the dust rule allows, to CHUNK_RESOLUTION), or why there is none.
 */
export async function reduceToImpactBudget(
  deps: FundedPlanningDeps,
  position: UserPosition,
  plan: LiquidationPlan,
  block: number,
  maxPriceImpactBps: bigint,
): Promise<ChunkSearch> {
  if (sameAddress(plan.collateralAsset, plan.debtAsset)) return { kind: 'within', proceeds: { kind: 'same-asset' } };
  const full = await measurePriceImpact(deps, plan, block);
  if (full.kind === 'measured' && full.impactBps <= maxPriceImpactBps) return { kind: 'within', proceeds: full.proceeds };
  const range = chunkRange(position, plan, { receiveAToken: false });
  if (range.kind === 'none') return full.kind === 'no-route' ? { kind: 'no-route' } : { kind: 'over-impact-budget' };
  const fullBps = full.kind === 'measured' ? full.impactBps : 10_000n;

  type Probe = { plan: LiquidationPlan; impactBps: bigint; proceeds: Extract<Proceeds, { kind: 'swap' }> };
  const probe = async (repayUnits: bigint): Promise<Probe | undefined> => {
    const chunk = planChunk(position, plan, repayUnits, { receiveAToken: false });
    if (!chunk) return undefined;
    const measured = await measurePriceImpact(deps, chunk, block);
    return measured.kind === 'measured' && measured.impactBps <= maxPriceImpactBps ? { plan: chunk, impactBps: measured.impactBps, proceeds: measured.proceeds } : undefined;
  };
  // Impact never falls as the repay grows (more collateral sold): bisect for the last repay within the budget.
  let best = await probe(range.hiRepayUnits);
  if (!best) {
    let good = 0n;
    let bad = range.hiRepayUnits;
    while (!chunkSearchDone(good, bad)) {
      const mid = good + (bad - good) / 2n;
      const found = await probe(mid);
      if (found) {
        good = mid;
        best = found;
      } else {
        bad = mid;
      }
    }
  }
  if (!best) return { kind: 'over-impact-budget' };
  return { kind: 'chunk', plan: best.plan, proceeds: best.proceeds, marker: chunkMarkerOf(plan, best.plan, { chunkBps: best.impactBps, fullBps, maxBps: maxPriceImpactBps }) };
}

type SizedCandidate = Extract<PairCandidate, { kind: 'sized' }>;

interface PairAssessment {
  verdict: PairVerdict;
  assessment?: FundedAssessment;
  choice?: Omit<FundedChoice, 'liquidation' | 'call'>;
}

function pairName(plan: LiquidationPlan): string {
  return `${plan.collateralAsset}/${plan.debtAsset}`;
}

/** One sized pair made into a funded liquidation: fitted to the reserves, to the impact budget, quoted, assessed. */
async function assessPair(
  deps: FundedPlanningDeps,
  poolPosition: UserPosition,
  candidate: SizedCandidate,
  block: number,
  gas: GasCosts,
  terms: FundingTerms,
  settings: FundedPlanningSettings,
): Promise<PairAssessment> {
  const sizedPlan = candidate.steps[0];
  const pair = pairName(sizedPlan);
  const fit = fitToAvailableLiquidity(poolPosition, sizedPlan, settings.funding, { receiveAToken: false });
  if (fit.kind === 'none') return { verdict: { pair, verdict: 'no-available-liquidity' } };
  let plan = fit.plan;
  const reducedForLiquidity = fit.kind === 'reduced' ? { plannedRepayUnits: fit.plannedRepayUnits } : undefined;
  let proceeds: Proceeds | undefined;
  let chunk: ChunkMarker | undefined;
  if (settings.maxPriceImpactBps === undefined) {
    proceeds = await proceedsOf(deps, plan, block);
  } else {
    const reduced = await reduceToImpactBudget(deps, poolPosition, plan, block, settings.maxPriceImpactBps);
    if (reduced.kind === 'over-impact-budget') return { verdict: { pair, verdict: 'over-impact-budget' } };
    if (reduced.kind === 'chunk') {
      plan = reduced.plan;
      chunk = reduced.marker;
    }
    proceeds = reduced.kind === 'no-route' ? undefined : reduced.proceeds;
  }
  if (!proceeds) return { verdict: { pair, verdict: 'no-route' } };
  const assessment = assessFundedLiquidation(plan, proceeds, terms, gas);
  const verdict: PairVerdict = {
    pair,
    verdict: assessment.kind === 'profitable' ? 'profitable' : assessment.reason,
    profitBase: assessment.liquidation.profitBase,
    ...(chunk ? { chunked: true } : {}),
  };
  // A reduced plan (liquidity or impact) is a single step: the rest is left to a later candidate.
  const steps: readonly [LiquidationPlan, ...LiquidationPlan[]] = reducedForLiquidity || chunk ? [plan] : candidate.steps;
  return { verdict, assessment, choice: { plan, steps, ...(reducedForLiquidity ? { reducedForLiquidity } : {}), ...(chunk ? { chunk } : {}) } };
}

async function fundingTermsAt(deps: FundedPlanningDeps, block: number, settings: FundedPlanningSettings): Promise<FundingTerms> {
  const premiumBps = settings.funding === 'flash-loan' ? await deps.flashTerms.premiumBps(block) : 0n;
  return { mode: settings.funding, ruleSet: settings.ruleSet, flashLoanPremiumBps: premiumBps, maxSlippageBps: settings.maxSlippageBps };
}

function saleOf(settings: FundedPlanningSettings, gas: GasCosts): { assumedSwapCostBps: bigint; minProfitBase: bigint } | undefined {
  return settings.assumedSwapCostBps === undefined ? undefined : { assumedSwapCostBps: settings.assumedSwapCostBps, minProfitBase: gas.minProfitBase };
}

/** The most profitable of `assessed`, made into a planning outcome. */
function choose(assessed: readonly PairAssessment[], sale?: { assumedSwapCostBps: bigint; minProfitBase: bigint }): FundedPlanning {
  const verdicts = assessed.map((a) => a.verdict);
  let best: PairAssessment | undefined;
  for (const a of assessed) {
    if (a.assessment?.kind !== 'profitable') continue;
    if (!best || a.assessment.liquidation.profitBase > best.assessment!.liquidation.profitBase) best = a;
  }
  if (best?.assessment && best.choice) {
    const liquidation = best.assessment.liquidation;
    return { kind: 'liquidate', choice: { ...best.choice, liquidation, call: liquidatorCallOf(liquidation) }, verdicts };
  }
  const detail = verdicts
    .map((v) => `${v.candidate ? `${v.candidate} ` : ''}${v.pair}: ${v.verdict}${v.chunked ? ' (chunked)' : ''}${v.profitBase === undefined ? '' : ` (${v.profitBase} base after gas)`}`)
    .join('; ');
  const all = (verdict: PairVerdict['verdict']) => verdicts.length > 0 && verdicts.every((v) => v.verdict === verdict);
  const reason = all('no-route') ? 'no-route' : all('no-available-liquidity') ? 'no-available-liquidity' : 'unprofitable';
  const bySale =
    reason === 'unprofitable' &&
    sale !== undefined &&
    // Unprofitable, or a sale that would not even repay the loan: either way at the pool's price now.
    assessed.some((a) => a.assessment?.kind === 'skip' && pricedOutBySale(a.assessment.liquidation, sale.assumedSwapCostBps, sale.minProfitBase));
  return { kind: 'skip', reason, detail: detail || 'no sized pair', verdicts, ...(bySale ? { pricedOutBySale: true } : {}) };
}

/**
 * The most profitable funded liquidation among `candidates` (sized on `position`) at `block`, or why there is
 * none. A plan the reserves cannot pay out (available liquidity) is first reduced to the largest that fits; one
 * whose sale would move the price by more than `maxPriceImpactBps` then to the largest chunk within it.
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
  const sized = candidates.filter((c): c is SizedCandidate => c.kind === 'sized');
  const terms = await fundingTermsAt(deps, block, settings);
  const assessed = await Promise.all(sized.map((candidate) => assessPair(deps, poolPosition, candidate, block, gas, terms, settings)));
  return choose(assessed, saleOf(settings, gas));
}

/** How planBest sizes each member: the ranking costs and options selectPair takes (the liquidator is our contract). */
export interface BestPlanningOptions {
  costs: CostModel;
  liquidator: string;
}

/**
 * `best` sizing at `block`: every member strategy's pairs planned as planFunded plans them (with the impact budget
 * when set), and with a budget also the most profitable chunk within it on each pair; the most profitable plan
 * wins, ties going to the earlier candidate (`max` first), so the result is never less profitable than `max`'s.
 */
export async function planBest(
  deps: FundedPlanningDeps,
  position: UserPosition,
  best: BestSizingStrategy,
  block: number,
  gas: GasCosts,
  settings: FundedPlanningSettings,
  options: BestPlanningOptions,
): Promise<FundedPlanning> {
  const poolPosition = withPoolBalances(position);
  const terms = await fundingTermsAt(deps, block, settings);
  const tagged = (candidate: BestCandidate, a: PairAssessment): PairAssessment => ({
    verdict: { ...a.verdict, candidate },
    ...(a.assessment ? { assessment: a.assessment } : {}),
    ...(a.choice ? { choice: { ...a.choice, bestOf: candidate } } : {}),
  });
  const perMember = await Promise.all(
    best.members.map(async (member) => {
      const selection = selectPair(position, { sizing: member, costs: options.costs, liquidator: options.liquidator, receiveAToken: false });
      const sized = selection.candidates.filter((c): c is SizedCandidate => c.kind === 'sized');
      const assessed = await Promise.all(sized.map((candidate) => assessPair(deps, poolPosition, candidate, block, gas, terms, settings)));
      return { member, sized, assessed: assessed.map((a) => tagged(member.name, a)) };
    }),
  );
  const all = perMember.flatMap((m) => m.assessed);
  const budget = settings.maxPriceImpactBps;
  if (budget !== undefined) {
    // The most profitable chunk within the budget, on each pair `max` sized (max is the first member).
    const max = perMember[0];
    const chunked = await Promise.all(
      max.sized.map((candidate, index) =>
        mostProfitableChunk(deps, poolPosition, candidate, max.assessed[index], block, gas, terms, { ...settings, maxPriceImpactBps: budget }),
      ),
    );
    for (const a of chunked) if (a) all.push(tagged('chunked', a));
  }
  return choose(all, saleOf(settings, gas));
}

/**
 * On one pair: the repay in [1, largest within the budget] whose funded profit is highest. Profit is the bonus
 * (linear in the repay) less the swap's impact cost (convex): unimodal, so a ternary search over exact plans finds
 * it to CHUNK_RESOLUTION with one quote per probe. Undefined when the pair has no chunk to offer.
 */
async function mostProfitableChunk(
  deps: FundedPlanningDeps,
  poolPosition: UserPosition,
  candidate: SizedCandidate,
  asMax: PairAssessment,
  block: number,
  gas: GasCosts,
  terms: FundingTerms,
  settings: FundedPlanningSettings & { maxPriceImpactBps: bigint },
): Promise<PairAssessment | undefined> {
  const sizedPlan = candidate.steps[0];
  if (sameAddress(sizedPlan.collateralAsset, sizedPlan.debtAsset)) return undefined;
  const fit = fitToAvailableLiquidity(poolPosition, sizedPlan, settings.funding, { receiveAToken: false });
  if (fit.kind === 'none') return undefined;
  const fullPlan = fit.plan;
  // The budget's own limit: the max plan itself when within it, else its chunk (planned by assessPair already).
  const limitPlan = asMax.choice?.plan ?? fullPlan;
  const limitIsFull = limitPlan.debtRepaidUnits === fullPlan.debtRepaidUnits;
  let hiRepayUnits = limitPlan.debtRepaidUnits;
  if (limitIsFull) {
    const range = chunkRange(poolPosition, fullPlan, { receiveAToken: false });
    if (range.kind === 'none') return undefined;
    hiRepayUnits = range.hiRepayUnits;
  }
  if (asMax.verdict.verdict === 'over-impact-budget' || asMax.verdict.verdict === 'no-route') return undefined;

  type Probe = { plan: LiquidationPlan; assessment: FundedAssessment; proceeds: Proceeds };
  const probe = async (repayUnits: bigint): Promise<Probe | undefined> => {
    const plan = planChunk(poolPosition, fullPlan, repayUnits, { receiveAToken: false });
    if (!plan) return undefined;
    const proceeds = await proceedsOf(deps, plan, block);
    return proceeds ? { plan, proceeds, assessment: assessFundedLiquidation(plan, proceeds, terms, gas) } : undefined;
  };
  const profitOf = (p: Probe | undefined) => (p ? p.assessment.liquidation.profitBase : undefined);
  let lo = 1n;
  let hi = hiRepayUnits;
  let bestProbe: Probe | undefined;
  const keep = (p: Probe | undefined) => {
    if (p && (!bestProbe || p.assessment.liquidation.profitBase > bestProbe.assessment.liquidation.profitBase)) bestProbe = p;
  };
  while (!chunkSearchDone(lo, hi)) {
    const third = (hi - lo) / 3n;
    const [p1, p2] = await Promise.all([probe(lo + third), probe(hi - third)]);
    keep(p1);
    keep(p2);
    const [a, b] = [profitOf(p1), profitOf(p2)];
    if (a === undefined || (b !== undefined && a < b)) lo = lo + third;
    else hi = hi - third;
  }
  keep(await probe(hi));
  if (!bestProbe || bestProbe.assessment.kind !== 'profitable') return undefined;
  const chosen = bestProbe;
  const measured = await measurePriceImpact(deps, chosen.plan, block);
  const fullBps = asMax.choice?.chunk?.fullPriceImpactBps ?? (measured.kind === 'measured' ? measured.impactBps : 0n);
  const marker = chunkMarkerOf(fullPlan, chosen.plan, {
    chunkBps: measured.kind === 'measured' ? measured.impactBps : settings.maxPriceImpactBps,
    fullBps,
    maxBps: settings.maxPriceImpactBps,
  });
  return {
    verdict: { pair: pairName(chosen.plan), verdict: 'profitable', profitBase: chosen.assessment.liquidation.profitBase, chunked: true },
    assessment: chosen.assessment,
    choice: {
      plan: chosen.plan,
      steps: [chosen.plan],
      chunk: marker,
      ...(fit.kind === 'reduced' ? { reducedForLiquidity: { plannedRepayUnits: fit.plannedRepayUnits } } : {}),
    },
  };
}
