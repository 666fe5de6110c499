/**
 * Executes one liquidation candidate: at most one transaction (with its fee-bumped replacements) per
 * opportunity (chain#pool#borrower#block), at most one attempt in flight per position (borrower, debt asset).
 * This use case decides and claims; the transaction dispatcher (transaction-dispatcher.ts) owns the transaction:
 *
 *   0. the ledger knows this delivery's attempt as signed/sent → the dispatcher resumes it (stored bytes)
 *   1. execution breakers (kill switch, revert streak, daily gas budget) → `paused`
 *   2. read the position at the latest block N             HF ≥ 1 → `stale`; eMode → `skipped`
 *   3. fees after N (above the gas price cap → `paused`), native price at N → selectPair → `skipped`
 *   4. claim the opportunity and its position               another attempt → `duplicate` / `in-flight`
 *   5. simulate at N; profit again with the simulated gas    revert → `failed`; unprofitable → `skipped`
 *   6. dry run → `dry-run`; else hand the typed call (to, data, gas limit, fees, replacement budget, plan) to the
 *      dispatcher: nonce lease → sign → ledger `signed` → broadcast → receipt, replacements → `mined` /
 *      `reverted` / `dropped`; no receipt before the deadline → PendingTransactionError (retryable: the
 *      redelivery resumes at step 0)
 *
 * Steps 1–3 decide not to act and write nothing: the ledger holds claimed attempts only.
 *
 * Failures are classified once (execution-failures.ts): a retryable one is thrown so SQS redelivers the message;
 * a permanent one is recorded (once claimed) and returned as `failed`.
 *
 * Results carry the plan encoded (execution-plan.ts): Powertools idempotency stores a result as JSON and replays
 * it as such, so a result is JSON-safe and a replayed one has the same type as a fresh one.
 */
import {
  assessProfit,
  calculateAccountData,
  type CostModel,
  HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD,
  maxSizing,
  type PairSelection,
  selectPair,
  type SizingStrategy,
  targetHealthSizing,
  twoStepSizing,
  type UserPosition,
} from '../domain';
import type { LiquidationCall, LiquidationSimulator } from '../ports/lending-protocol';
import { type AttemptRecord, type FinalOutcome, IN_FLIGHT_ATTEMPT_STATES, type LiquidationLedger } from '../ports/liquidation-ledger';
import type { Signer } from '../ports/transactions';
import { type CandidateMessage, deduplicationIdOf } from './candidate-message';
import { ClaimedFailure, failClaimedAttempt, type FailureStage, messageOf, PendingTransactionError } from './execution-failures';
import { type EncodedPlan, encodePlan, type ExecutionPlan, MalformedPlanError } from './execution-plan';
import {
  createTransactionDispatcher,
  type DispatchOutcome,
  type DispatcherDeps,
  type DispatcherSettings,
  type ReplacementBudget,
  type TransactionDispatcher,
} from './transaction-dispatcher';

// Where other modules (the failure classifier, tests) have always imported them from.
export type { FailureClass, FailureStage } from './execution-failures';
export { PendingTransactionError, RetryableBroadcastError } from './execution-failures';
export type { ExecutionFaults, ExecutionStep } from './execution-faults';

/** A position, or why the protocol adapter cannot express it exactly (eMode today). */
export type PositionRead = { kind: 'position'; position: UserPosition } | { kind: 'unsupported'; reason: string };

export interface CandidatePositionSource {
  read(user: string, block: number): Promise<PositionRead>;
}

/**
 * Price of the chain's gas token in the market's base currency (8 decimals) at a block. Explicit because the
 * borrower's position need not hold the gas token; on Aave markets it is the oracle price of the wrapped
 * native reserve (WETH on Ethereum and the local world).
 */
export interface NativePriceSource {
  nativePriceBase8(block: number): Promise<bigint>;
}

/** Breakers that stop execution (functions/ports/circuit-breakers.ts has the full port; execution needs these). */
export interface ExecutionBreakerGate {
  check(nowMs: number): Promise<{ kind: 'closed' } | { kind: 'open'; reason: string; detail: string }>;
  recordOutcome(outcome: { kind: 'mined' | 'reverted'; gasCostWei: bigint }, nowMs: number): Promise<void>;
}

export interface ExecutionSettings extends DispatcherSettings {
  sizing: SizingStrategy;
  swapCostBps: bigint;
  /** Profit must exceed this (base currency, 8 decimals). */
  minProfitBase: bigint;
  /**
   * Gas per liquidationCall assumed while choosing the pair (the simulation's gas limit replaces it before
   * anything is sent). Aave V3 liquidationCall uses ~250–400k gas.
   */
  assumedGasPerStep: bigint;
  dryRun: boolean;
}

/** The use case's ports, and the dispatcher's (built from the same deps for each execution). */
export interface ExecuteCandidateDeps extends DispatcherDeps {
  positions: CandidatePositionSource;
  simulator: LiquidationSimulator;
  nativePrice: NativePriceSource;
  breakers?: ExecutionBreakerGate;
  settings: ExecutionSettings;
}

export interface ExecuteCandidateInput {
  message: CandidateMessage;
  /** Identifies this delivery of the candidate (the SQS message id): the owner of the claim. */
  attempt: string;
  /** Stop waiting for a receipt at this time (clock ms): the attempt is then left to the redelivery. */
  receiptDeadlineMs: number;
}

export type SkipReason = 'unsupported-position' | 'no-liquidatable-pair' | 'unprofitable';

export type ExecutionResult =
  | { kind: 'stale'; opportunity: string; block: number; healthFactorWad: string }
  | { kind: 'skipped'; opportunity: string; block: number; reason: SkipReason; detail: string }
  | { kind: 'duplicate'; opportunity: string; block: number }
  /** Another opportunity's attempt holds this position: the scanner offers the account again once it ends. */
  | { kind: 'in-flight'; opportunity: string; block: number; heldBy: string }
  /** A breaker is open (kill switch, revert streak, daily gas budget, gas price cap): nothing claimed or sent. */
  | { kind: 'paused'; opportunity: string; block: number; reason: string; detail: string }
  | { kind: 'dry-run'; opportunity: string; block: number; plan: EncodedPlan }
  | { kind: 'mined'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: EncodedPlan }
  | { kind: 'reverted'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: EncodedPlan }
  /** None of the attempt's transactions was mined; their nonce was used by another transaction. */
  | { kind: 'dropped'; opportunity: string; block: number; txHash: string; detail: string }
  /** A permanent failure. `block` is null only when the latest block could not be read. */
  | { kind: 'failed'; opportunity: string; block: number | null; stage: FailureStage; reason: string };

/** The configured sizing strategy (PipelineConfig.worker.sizing). */
export function sizingStrategyFor(name: 'max' | 'target-health' | 'two-step', targetHealthFactorWad: bigint): SizingStrategy {
  switch (name) {
    case 'max':
      return maxSizing;
    case 'target-health':
      return targetHealthSizing({ targetHealthFactorWad });
    case 'two-step':
      return twoStepSizing();
  }
}

/** `chain#pool#borrower#debtAsset`: at most one attempt in flight per position. */
export function positionKeyOf(message: CandidateMessage, debtAsset: string): string {
  return `${message.chainId}#${message.pool.toLowerCase()}#${message.borrower.toLowerCase()}#${debtAsset.toLowerCase()}`;
}

/**
 * What a fee-bumped replacement may spend on gas: the plan's profit is net of its gas at the original fee, so the
 * gross margin is profit + that gas; gas is valued at the decision's native price.
 */
export function replacementBudgetOf(plan: ExecutionPlan): ReplacementBudget {
  return { grossProfitBase: plan.profitBase + plan.gasCostBase, nativePriceBase8: plan.nativePriceBase8 };
}

type Liquidate = { kind: 'liquidate'; block: number; selection: Extract<PairSelection, { kind: 'liquidate' }>; costs: CostModel };
type Decision = { kind: 'result'; result: ExecutionResult } | Liquidate;

async function decide(deps: ExecuteCandidateDeps, message: CandidateMessage, opportunity: string, block: number, signer: Signer): Promise<Decision> {
  const { settings } = deps;
  const read = await deps.positions.read(message.borrower, block);
  if (read.kind === 'unsupported') {
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason: 'unsupported-position', detail: read.reason } };
  }
  const { healthFactorWad } = calculateAccountData(read.position);
  if (healthFactorWad >= HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD) {
    return { kind: 'result', result: { kind: 'stale', opportunity, block, healthFactorWad: healthFactorWad.toString() } };
  }
  const [gasPrice, nativePriceBase8] = await Promise.all([deps.chain.feesAfter(block), deps.nativePrice.nativePriceBase8(block)]);
  const costs: CostModel = {
    gasUnitsPerStep: settings.assumedGasPerStep,
    gasPrice,
    nativePriceBase8,
    swapCostBps: settings.swapCostBps,
    minProfitBase: settings.minProfitBase,
  };
  const selection = selectPair(read.position, { sizing: settings.sizing, costs, liquidator: signer.address, receiveAToken: false });
  if (selection.kind === 'skip') {
    // 'healthy' cannot happen here (checked above on the same position); kept total for the type.
    const reason: SkipReason = selection.reason === 'unprofitable' ? 'unprofitable' : 'no-liquidatable-pair';
    const profits = selection.candidates.flatMap((c) => (c.kind === 'sized' ? [c.profit.profit.profitBase] : []));
    const best = profits.reduce<bigint | undefined>((max, p) => (max === undefined || p > max ? p : max), undefined);
    const detail = best === undefined ? selection.reason : `best profit ${best} base, must exceed ${settings.minProfitBase}`;
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason, detail } };
  }
  return { kind: 'liquidate', block, selection, costs };
}

export async function executeCandidate(deps: ExecuteCandidateDeps, input: ExecuteCandidateInput): Promise<ExecutionResult> {
  const { message, attempt } = input;
  const opportunity = deduplicationIdOf(message);
  const nowIso = () => new Date(deps.clock.nowMs()).toISOString();
  const dispatcher = createTransactionDispatcher(deps);

  let signer: Signer;
  let readBlock: number | null = null;
  let existing: AttemptRecord<ExecutionPlan> | undefined;
  let decision: Decision;
  try {
    [readBlock, existing] = await Promise.all([deps.chain.latestBlock(), deps.ledger.find(opportunity)]);
    if (existing) {
      if (existing.attemptId === attempt && IN_FLIGHT_ATTEMPT_STATES.includes(existing.state)) {
        return await resume(dispatcher, existing, input);
      }
      // Another delivery's claim, or this delivery's finished one: nothing more to do for this opportunity.
      if (existing.attemptId !== attempt || !['claimed', 'failed'].includes(existing.state)) {
        return { kind: 'duplicate', opportunity, block: readBlock };
      }
    }
    const breaker = await deps.breakers?.check(deps.clock.nowMs());
    if (breaker?.kind === 'open') return { kind: 'paused', opportunity, block: readBlock, reason: breaker.reason, detail: breaker.detail };
    signer = await dispatcher.chooseSigner();
    decision = await decide(deps, message, opportunity, readBlock, signer);
  } catch (error) {
    // Nothing is claimed yet (a resume throws only retryable errors, or a plan that does not decode): retrying
    // is always safe.
    if (error instanceof PendingTransactionError || deps.classifyFailure(error) === 'retryable') throw error;
    return { kind: 'failed', opportunity, block: readBlock, stage: 'decide', reason: messageOf(error) };
  }
  if (decision.kind === 'result') return decision.result;
  const { block, selection, costs } = decision;
  const cap = deps.settings.fees.gasPriceCapWei;
  const expectedGasPriceWei = costs.gasPrice.baseFeePerGasWei + costs.gasPrice.maxPriorityFeePerGasWei;
  if (cap !== undefined && expectedGasPriceWei > cap) {
    return { kind: 'paused', opportunity, block, reason: 'gas-price-cap', detail: `gas price ${expectedGasPriceWei} wei is above the cap ${cap} wei` };
  }
  const step = selection.steps[0];

  let claim: Awaited<ReturnType<LiquidationLedger<ExecutionPlan>['claim']>>;
  try {
    claim = await deps.ledger.claim(opportunity, attempt, positionKeyOf(message, step.debtAsset), block, nowIso());
  } catch (error) {
    if (deps.classifyFailure(error) === 'retryable') throw error;
    return { kind: 'failed', opportunity, block, stage: 'claim', reason: messageOf(error) };
  }
  if (claim.kind === 'duplicate') return { kind: 'duplicate', opportunity, block };
  if (claim.kind === 'in-flight') return { kind: 'in-flight', opportunity, block, heldBy: claim.heldBy };
  deps.faults?.reach('after-claim');

  const call: LiquidationCall = {
    collateralAsset: step.collateralAsset,
    debtAsset: step.debtAsset,
    user: message.borrower,
    debtToCoverUnits: step.debtToCoverUnits,
    receiveAToken: step.receiveAToken,
  };
  let ready: Ready;
  try {
    const prepared = await prepare(deps, { opportunity, attempt, block, call, decision, signer, nowIso });
    if (prepared.kind === 'result') return prepared.result;
    ready = prepared;
  } catch (error) {
    if (!(error instanceof ClaimedFailure)) throw error;
    const failed = await failClaimedAttempt(deps, { opportunity, attempt, block, nowIso: nowIso() }, error);
    return { ...failed, opportunity, block };
  }
  const outcome = await dispatcher.dispatch({
    opportunity,
    attempt,
    block,
    signer,
    to: ready.to,
    data: ready.data,
    gasLimit: ready.plan.gasLimit,
    fees: costs.gasPrice,
    replacementBudget: replacementBudgetOf(ready.plan),
    plan: ready.plan,
    // A retaken claim (this delivery's earlier round failed) numbers its transactions after the earlier ones.
    firstIndex: existing?.transactions.length ?? 0,
    deadlineMs: input.receiptDeadlineMs,
  });
  return resultOf(outcome, opportunity, block);
}

/** Continues this delivery's attempt from the ledger (its plan decoded there: a malformed one fails the read). */
async function resume(dispatcher: TransactionDispatcher, record: AttemptRecord<ExecutionPlan>, input: ExecuteCandidateInput): Promise<ExecutionResult> {
  const { plan } = record;
  if (!plan) throw new MalformedPlanError(`ledger ${record.opportunity}`, [`(plan): required for an attempt in state ${record.state}`]);
  const outcome = await dispatcher.resume({ record, plan, replacementBudget: replacementBudgetOf(plan), deadlineMs: input.receiptDeadlineMs });
  return resultOf(outcome, record.opportunity, record.block ?? 0);
}

function resultOf(outcome: DispatchOutcome, opportunity: string, block: number): ExecutionResult {
  switch (outcome.kind) {
    case 'mined':
    case 'reverted':
      return { kind: outcome.kind, opportunity, block, txHash: outcome.txHash, minedBlock: outcome.minedBlock, gasUsed: outcome.gasUsed.toString(), plan: encodePlan(outcome.plan) };
    case 'dropped':
      return { kind: 'dropped', opportunity, block, txHash: outcome.txHash, detail: outcome.detail };
    case 'failed':
      return { kind: 'failed', opportunity, block, stage: outcome.stage, reason: outcome.reason };
  }
}

interface PrepareContext {
  opportunity: string;
  attempt: string;
  block: number;
  call: LiquidationCall;
  decision: Liquidate;
  signer: Signer;
  nowIso: () => string;
}

/** Ready to send: the plan, and the call's target and calldata. */
type Ready = { kind: 'ready'; plan: ExecutionPlan; to: string; data: string };

/** Simulation, profit after the simulated gas, dry run: everything before the dispatcher takes over. */
async function prepare(deps: ExecuteCandidateDeps, ctx: PrepareContext): Promise<Ready | { kind: 'result'; result: ExecutionResult }> {
  const { opportunity, attempt, block, call, decision } = ctx;
  const finish = (outcome: FinalOutcome<ExecutionPlan>) => deps.ledger.finish(opportunity, attempt, outcome, ctx.nowIso());

  const simulation = await deps.simulator.simulate(call, ctx.signer.address, block).catch((error: unknown) => {
    throw new ClaimedFailure('simulate', error);
  });
  if (simulation.kind === 'revert') {
    // The domain predicted success on this very block: a revert means a model gap or a liquidator without
    // funds or allowance. Either needs a person, so it is `failed` (alarmed), not `skipped`.
    const reason = `simulation reverted: ${simulation.reason}`;
    await finish({ kind: 'failed', reason, block });
    return { kind: 'result', result: { kind: 'failed', opportunity, block, stage: 'simulate', reason } };
  }

  // Profit again with the simulated gas limit (an upper bound of what the transaction pays) for every step.
  const assessed = assessProfit(decision.selection.steps, { ...decision.costs, gasUnitsPerStep: simulation.gasLimit });
  if (assessed.kind === 'skip') {
    const detail = `profit ${assessed.profit.profitBase} base after the simulated gas limit ${simulation.gasLimit} (min ${deps.settings.minProfitBase})`;
    await finish({ kind: 'skipped', reason: `unprofitable: ${detail}`, block });
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason: 'unprofitable', detail } };
  }
  // Only the first step is sent; a second step (two-step sizing) is left to the next detection of the account.
  const step = decision.selection.steps[0];
  const { gasPrice, nativePriceBase8 } = decision.costs;
  const plan: ExecutionPlan = {
    sizing: deps.settings.sizing.name,
    steps: decision.selection.steps.length,
    collateralAsset: step.collateralAsset,
    debtAsset: step.debtAsset,
    debtToCoverUnits: step.debtToCoverUnits,
    debtRepaidUnits: step.debtRepaidUnits,
    liquidatorCollateralUnits: step.liquidatorCollateralUnits,
    protocolFeeUnits: step.protocolFeeUnits,
    closeFactor: step.closeFactor,
    limitedBy: step.limitedBy,
    healthFactorBeforeWad: step.healthFactorBeforeWad,
    healthFactorAfterWad: step.healthFactorAfterWad,
    nativePriceBase8,
    baseFeePerGasWei: gasPrice.baseFeePerGasWei,
    maxFeePerGasWei: gasPrice.maxFeePerGasWei,
    maxPriorityFeePerGasWei: gasPrice.maxPriorityFeePerGasWei,
    valueReceivedBase: assessed.profit.valueReceivedBase,
    valueRepaidBase: assessed.profit.valueRepaidBase,
    gasCostWei: assessed.profit.gasCostWei,
    gasCostBase: assessed.profit.gasCostBase,
    swapCostBase: assessed.profit.swapCostBase,
    profitBase: assessed.profit.profitBase,
    gasEstimate: simulation.gasEstimate,
    gasLimit: simulation.gasLimit,
  };
  if (deps.settings.dryRun) {
    await finish({ kind: 'dry-run', block, plan });
    return { kind: 'result', result: { kind: 'dry-run', opportunity, block, plan: encodePlan(plan) } };
  }
  let target: { to: string; data: string };
  try {
    target = deps.simulator.buildTransaction(call);
  } catch (error) {
    throw new ClaimedFailure('prepare', error);
  }
  return { kind: 'ready', plan, ...target };
}
