/**
 * Executes one liquidation candidate: at most one transaction (with its fee-bumped replacements) per
 * opportunity (chain#pool#borrower#block), at most one attempt in flight per position (borrower, debt asset).
 * This use case decides and claims; the transaction dispatcher (transaction-dispatcher.ts) owns the transaction:
 *
 *   0. the ledger knows this delivery's attempt as signed/sent → the dispatcher resumes it (stored bytes)
 *   1. execution breakers (kill switch, revert streak, daily gas budget) → `paused`
 *   2. read the position at the latest block N             HF ≥ 1 → `stale`; one the adapter cannot express → `skipped`
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
  assessFundedLiquidation,
  calculateAccountData,
  type Eip1559GasPrice,
  type FundedLiquidation,
  type FundingMode,
  type GasCosts,
  HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD,
  bestSizing,
  isBestSizing,
  maxSizing,
  priceImpactBudgetOf,
  pricedOutBySale,
  type RuleSet,
  selectPair,
  type SizingStrategy,
  type SizingStrategyName,
  targetHealthSizing,
  twoStepSizing,
  type UserPosition,
  withPriceImpactBudget,
} from '../domain';
import type { BreakerOutcome } from '../ports/circuit-breakers';
import type { FlashLoanTermsSource, LiquidatorContract, RevertClass, SwapQuoter } from '../ports/liquidator-contract';
import { type AttemptRecord, type FinalOutcome, IN_FLIGHT_ATTEMPT_STATES, type LiquidationLedger } from '../ports/liquidation-ledger';
import type { Signer } from '../ports/transactions';
import { type BatchMember, type ExecutionBatchSession, resumeBatchMember } from './batch-execution';
import { type CandidateMessage, deduplicationIdOf, marketKeyOf, type OracleUpdateRef } from './candidate-message';
import { ClaimedFailure, failClaimedAttempt, type FailureStage, messageOf, PendingTransactionError } from './execution-failures';
import { type EncodedPlan, encodePlan, type ExecutionPlan, MalformedPlanError } from './execution-plan';
import { type FundedChoice, liquidatorCallOf, planBest, planFunded } from './funded-plan';
import { runBestEffort } from './best-effort';
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

/** A position, or why the protocol adapter cannot express it exactly (it says so rather than guessing). */
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
  recordOutcome(outcome: BreakerOutcome, nowMs: number): Promise<void>;
}

export interface ExecutionSettings extends DispatcherSettings {
  sizing: SizingStrategy;
  /** The Pool's rule set (flash-loan premium rounding). */
  ruleSet: RuleSet;
  /** Swap cost allowance (bps) that ranks pairs before they are quoted; the plan sent is priced with a real quote. */
  swapCostBps: bigint;
  /** Profit must exceed this (base currency, 8 decimals). */
  minProfitBase: bigint;
  /**
   * Gas of the whole contract call assumed while choosing the pair (the simulation's gas limit replaces it before
   * anything is sent). A flash-loan liquidation with a Uniswap V3 swap uses ~450–580k gas (BENCHMARKS.md).
   */
  assumedGasPerStep: bigint;
  /** `flash-loan`: the contract borrows the debt asset from the Pool; `inventory`: its own balance pays. */
  funding: FundingMode;
  /** amountOutMinimum = quoted output × (1 − maxSlippageBps). */
  maxSlippageBps: bigint;
  /**
   * The bound of a liquidation following a pending oracle update: it sells in the update's block together with
   * every other liquidation the update allows (the keeper's own included), before arbitrage has moved the pools,
   * so it needs a wider bound than one quoted a block ahead. Default: maxSlippageBps.
   */
  followerSlippageBps?: bigint;
  /**
   * Batches: also simulate on the node's pending block and bound each swap after the sales waiting there
   * (batch-execution.ts `salesAhead`). Off: bounds from the read block alone.
   */
  batchBoundsFromPending?: boolean;
  dryRun: boolean;
}

/** The use case's ports, and the dispatcher's (built from the same deps for each execution). */
/**
 * Following a pending oracle update (a candidate with `oracleUpdate`): while the update is in the mempool the
 * account is not liquidatable yet, so every read, quote and simulation of the decision is made with the update
 * applied (its feed replaced by a constant feed with the new answer, by state override), and the transaction is
 * priced like the update so that a fee-ordered block keeps it right behind it (or sent in a bundle after it).
 */
export interface OracleUpdateFollower {
  /** `pending`: still in the mempool; `landed`: mined (the chain itself has the price); `gone`: dropped or replaced. */
  statusOf(txHash: string): Promise<'pending' | 'landed' | 'gone'>;
  /** The decision's readers with the update applied. */
  readersWith(update: OracleUpdateRef): Partial<Pick<ExecuteCandidateDeps, 'positions' | 'liquidator' | 'quoter' | 'flashTerms' | 'nativePrice'>>;
  /**
   * Where the first broadcast of a follower goes when a bundle relay is configured: `[update, ours]` for the next
   * blocks. Absent: a public transaction priced like the update.
   */
  bundleBroadcast?(update: OracleUpdateRef, chain: DispatcherDeps['chain']): DispatcherDeps['chain']['broadcast'];
}

export interface ExecuteCandidateDeps extends DispatcherDeps {
  positions: CandidatePositionSource;
  /** Our liquidator contract (contracts/src/Liquidator.sol): what every liquidation calls. */
  liquidator: LiquidatorContract;
  /** Prices the sale of the seized collateral at the decision's block. */
  quoter: SwapQuoter;
  /** The Pool's flash-loan premium at the decision's block. */
  flashTerms: FlashLoanTermsSource;
  nativePrice: NativePriceSource;
  breakers?: ExecutionBreakerGate;
  settings: ExecutionSettings;
  /** Candidates found from a pending oracle update; absent: such a candidate is planned on the chain as it is. */
  oracleUpdates?: OracleUpdateFollower;
  /**
   * Set on the deps of a candidate following a pending update: whether the update has landed meanwhile. Checked
   * right before anything is signed: a plan made with the update applied but sent after it landed would sell into
   * pools the arbitrage has moved since (its bound fails), so it is planned again on the chain as it is.
   */
  followedUpdateLanded?: () => Promise<boolean>;
}

export interface ExecuteCandidateInput {
  message: CandidateMessage;
  /** Identifies this delivery of the candidate (the SQS message id): the owner of the claim. */
  attempt: string;
  /** Stop waiting for a receipt at this time (clock ms): the attempt is then left to the redelivery. */
  receiptDeadlineMs: number;
  /**
   * The invocation's batch session (batch-execution.ts): once claimed and planned, the candidate joins it and is
   * sent in one `liquidateBatch` transaction with the others ready at the same time. Absent: sent alone.
   */
  batch?: ExecutionBatchSession;
}

/** `market-moved`: a batch's simulation found the item no longer possible (liquidated first, recovered). */
export type SkipReason = 'unsupported-position' | 'no-liquidatable-pair' | 'no-route' | 'no-available-liquidity' | 'unprofitable' | 'market-moved';

/** What a mined liquidation did, by our contract's `Liquidated` event (decimal strings, token units). */
export interface RealizedLiquidation {
  debtRepaidUnits: string;
  collateralSeizedUnits: string;
  swapAmountOutUnits: string;
  flashPremiumUnits: string;
  /** Left in the contract, debt-asset units: compare with the plan's expectedProfitUnits. */
  profitUnits: string;
}

export type ExecutionResult =
  | { kind: 'stale'; opportunity: string; block: number; healthFactorWad: string }
  /**
   * `pricedOutBySale`: unprofitable only at the pool's price now (profitable at the assumed swap cost, or alone
   * before the batch's earlier sales moved the pool): worth offering again within a few blocks (sale-recheck.ts).
   */
  | { kind: 'skipped'; opportunity: string; block: number; reason: SkipReason; detail: string; pricedOutBySale?: true }
  | { kind: 'duplicate'; opportunity: string; block: number }
  /** Another opportunity's attempt holds this position: the scanner offers the account again once it ends. */
  | { kind: 'in-flight'; opportunity: string; block: number; heldBy: string }
  /** A breaker is open (kill switch, revert streak, daily gas budget, gas price cap): nothing claimed or sent. */
  | { kind: 'paused'; opportunity: string; block: number; reason: string; detail: string }
  | { kind: 'dry-run'; opportunity: string; block: number; plan: EncodedPlan }
  /** `realized`: absent only when the receipt's events could not be read (counted as a best-effort failure). */
  | { kind: 'mined'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: EncodedPlan; realized?: RealizedLiquidation }
  /**
   * `revertClass` `market-moved`: someone moved the market between the plan and the block (the pool past the
   * bounds, the account liquidated first); recorded with its reason, not counted towards the revert streak. The
   * scanner offers the account again at its next block, which plans anew.
   */
  | { kind: 'reverted'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: EncodedPlan; reason: string; revertClass?: RevertClass }
  /** None of the attempt's transactions was mined; their nonce was used by another transaction. */
  | { kind: 'dropped'; opportunity: string; block: number; txHash: string; detail: string }
  /** A permanent failure. `block` is null only when the latest block could not be read. */
  | { kind: 'failed'; opportunity: string; block: number | null; stage: FailureStage; reason: string };

/**
 * The configured sizing strategy (PipelineConfig.worker.sizing), carrying the price-impact budget
 * (PipelineConfig.worker.maxPriceImpactBps) when one is set: decide() then sells at most that much price move per
 * liquidation and marks a reduced plan as a chunk. `best` compares max, target-health and two-step (and, with a
 * budget, the most profitable chunk within it) with real quotes.
 */
export function sizingStrategyFor(name: SizingStrategyName, targetHealthFactorWad: bigint, maxPriceImpactBps?: bigint): SizingStrategy {
  const strategy = ((): SizingStrategy => {
    switch (name) {
      case 'max':
        return maxSizing;
      case 'target-health':
        return targetHealthSizing({ targetHealthFactorWad });
      case 'two-step':
        return twoStepSizing();
      case 'best':
        return bestSizing([targetHealthSizing({ targetHealthFactorWad }), twoStepSizing()]);
    }
  })();
  return maxPriceImpactBps === undefined ? strategy : withPriceImpactBudget(strategy, maxPriceImpactBps);
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

/** What `decide` chose to liquidate, and the prices it chose at. */
export type LiquidateDecision = { kind: 'liquidate'; block: number; choice: FundedChoice; gasPrice: Eip1559GasPrice; nativePriceBase8: bigint };
type Liquidate = LiquidateDecision;
type Decision = { kind: 'result'; result: ExecutionResult } | Liquidate;

async function decide(deps: ExecuteCandidateDeps, message: CandidateMessage, opportunity: string, block: number): Promise<Decision> {
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
  // Sizes every pair (the liquidator is our contract: the Pool's caller); the flat swap allowance only ranks them.
  const selectionCosts = { gasUnitsPerStep: settings.assumedGasPerStep, gasPrice, nativePriceBase8, swapCostBps: settings.swapCostBps, minProfitBase: settings.minProfitBase };
  const selection = selectPair(read.position, {
    sizing: settings.sizing,
    costs: selectionCosts,
    liquidator: deps.liquidator.address,
    receiveAToken: false,
  });
  if (!selection.candidates.some((c) => c.kind === 'sized')) {
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason: 'no-liquidatable-pair', detail: selection.kind === 'skip' ? selection.reason : 'no sized pair' } };
  }
  const gas: GasCosts = { gasUnits: settings.assumedGasPerStep, gasPrice, nativePriceBase8, minProfitBase: settings.minProfitBase };
  const maxPriceImpactBps = priceImpactBudgetOf(settings.sizing);
  const fundedSettings = {
    funding: settings.funding,
    ruleSet: settings.ruleSet,
    maxSlippageBps: settings.maxSlippageBps,
    ...(maxPriceImpactBps === undefined ? {} : { maxPriceImpactBps }),
    assumedSwapCostBps: settings.swapCostBps,
  };
  // `best` plans every member strategy (and a chunk within the budget) with quotes; the others plan their own pairs.
  const funded = isBestSizing(settings.sizing)
    ? await planBest(deps, read.position, settings.sizing, block, gas, fundedSettings, { costs: selectionCosts, liquidator: deps.liquidator.address })
    : await planFunded(deps, read.position, selection.candidates, block, gas, fundedSettings);
  if (funded.kind === 'skip') {
    const bySale = funded.pricedOutBySale ? { pricedOutBySale: true as const } : {};
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason: funded.reason, detail: funded.detail, ...bySale } };
  }
  return { kind: 'liquidate', block, choice: funded.choice, gasPrice, nativePriceBase8 };
}

/**
 * The deps of a candidate that follows a pending oracle update: readers with the update applied, fees of the
 * update (same tip and fee cap: a fee-ordered block puts equal fees in arrival order, so ours lands right behind
 * it), and the bundle relay for the first broadcast when one is configured. Undefined when the candidate follows
 * no update or the update is no longer pending (landed: the chain has the price; gone: nothing to follow).
 */
export async function followerDeps(deps: ExecuteCandidateDeps, message: Pick<CandidateMessage, 'oracleUpdate'>): Promise<ExecuteCandidateDeps | undefined> {
  const update = message.oracleUpdate;
  const follower = deps.oracleUpdates;
  if (!update || !follower || (await follower.statusOf(update.txHash)) !== 'pending') return undefined;
  const priority = BigInt(update.maxPriorityFeePerGas ?? update.gasPrice ?? '0');
  const cap = BigInt(update.maxFeePerGas ?? update.gasPrice ?? '0');
  const chain: DispatcherDeps['chain'] = {
    ...deps.chain,
    async feesAfter(block) {
      const fees = await deps.chain.feesAfter(block);
      return { baseFeePerGasWei: fees.baseFeePerGasWei, maxPriorityFeePerGasWei: priority, maxFeePerGasWei: cap > fees.baseFeePerGasWei ? cap : fees.baseFeePerGasWei + priority };
    },
  };
  const viaBundle = follower.bundleBroadcast?.(update, deps.chain);
  if (viaBundle) {
    // In a bundle behind the update while it is pending; once it has landed (a replacement), publicly.
    chain.broadcast = async (raw) => ((await follower.statusOf(update.txHash)) === 'pending' ? viaBundle(raw) : deps.chain.broadcast(raw));
  }
  const settings = { ...deps.settings, maxSlippageBps: deps.settings.followerSlippageBps ?? deps.settings.maxSlippageBps };
  const followedUpdateLanded = async () =>
    // A failed status read sends the plan (a warning and PendingUpdateFailures): the contract's guards still hold.
    (await runBestEffort(deps.bestEffort, 'pending-update', () => follower.statusOf(update.txHash), { txHash: update.txHash })) === 'landed';
  return { ...deps, ...follower.readersWith(update), chain, settings, followedUpdateLanded };
}

export async function executeCandidate(baseDeps: ExecuteCandidateDeps, input: ExecuteCandidateInput): Promise<ExecutionResult> {
  const { message, attempt } = input;
  // In a session following this update, its deps (the update's status was read when the session opened). Else a
  // failed status read plans on the chain as it is (a warning and PendingUpdateFailures): if the update is still
  // pending the account reads healthy (`stale`) and the scanner finds it again once the update lands.
  const session = input.batch?.follows;
  const following =
    session !== undefined && session.txHash === message.oracleUpdate?.txHash
      ? session.deps
      : await runBestEffort(baseDeps.bestEffort, 'pending-update', () => followerDeps(baseDeps, message), { opportunity: deduplicationIdOf(message) });
  const deps = following ?? baseDeps;
  if (following && input.batch?.follows?.txHash !== message.oracleUpdate?.txHash) {
    // Alone, not in a batch that does not follow the same update: its simulation would not see it.
    input.batch?.leave(attempt);
    input = { ...input, batch: undefined };
  }
  const opportunity = deduplicationIdOf(message);
  const nowIso = () => new Date(deps.clock.nowMs()).toISOString();
  const dispatcher = createTransactionDispatcher(deps);

  let signer: Signer | undefined;
  let readBlock: number | null = null;
  let existing: AttemptRecord<ExecutionPlan> | undefined;
  let decision: Decision;
  try {
    [readBlock, existing] = await Promise.all([deps.chain.latestBlock(), deps.ledger.find(opportunity)]);
    if (existing?.attemptId === attempt && existing.state === 'batched') {
      // This delivery's liquidation is an item of a batch: follow the batch (or claim again if it never left).
      const resumed = await resumeBatchMember(deps, existing, input);
      if (resumed !== 'retake') return resumed;
      existing = await deps.ledger.find(opportunity);
    }
    if (existing) {
      if (existing.attemptId === attempt && IN_FLIGHT_ATTEMPT_STATES.includes(existing.state)) {
        return await resume(deps, dispatcher, existing, input);
      }
      // Another delivery's claim, or this delivery's finished one: nothing more to do for this opportunity.
      if (existing.attemptId !== attempt || !['claimed', 'failed'].includes(existing.state)) {
        return { kind: 'duplicate', opportunity, block: readBlock };
      }
    }
    const breaker = await deps.breakers?.check(deps.clock.nowMs());
    if (breaker?.kind === 'open') return { kind: 'paused', opportunity, block: readBlock, reason: breaker.reason, detail: breaker.detail };
    // Alone, the key is chosen first (waiting for a free slot before reading); in a batch, when the batch goes.
    if (!input.batch) signer = await dispatcher.chooseSigner();
    decision = await decide(deps, message, opportunity, readBlock);
  } catch (error) {
    // Nothing is claimed yet (a resume throws only retryable errors, or a plan that does not decode): retrying
    // is always safe.
    if (error instanceof PendingTransactionError || deps.classifyFailure(error) === 'retryable') throw error;
    return { kind: 'failed', opportunity, block: readBlock, stage: 'decide', reason: messageOf(error) };
  }
  if (decision.kind === 'result') return decision.result;
  const { block, choice, gasPrice } = decision;
  const cap = deps.settings.fees.gasPriceCapWei;
  const expectedGasPriceWei = gasPrice.baseFeePerGasWei + gasPrice.maxPriorityFeePerGasWei;
  if (cap !== undefined && expectedGasPriceWei > cap) {
    return { kind: 'paused', opportunity, block, reason: 'gas-price-cap', detail: `gas price ${expectedGasPriceWei} wei is above the cap ${cap} wei` };
  }
  const step = choice.plan;

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

  const member: BatchMember = {
    opportunity,
    attempt,
    market: marketKeyOf(message),
    decision,
    receiptDeadlineMs: input.receiptDeadlineMs,
    // A retaken claim (this delivery's earlier round failed) numbers its transactions after the earlier ones.
    firstIndex: existing?.transactions.length ?? 0,
  };
  return input.batch ? input.batch.join(member) : sendAlone(deps, member, signer);
}

/** The oracle update a plan followed landed before the plan was sent: planned again (retryable). */
export class FollowedUpdateLandedError extends Error {
  readonly retryable = true;
  constructor(opportunity: string) {
    super(`${opportunity}: the oracle update it follows landed before it was sent; planned again on the chain as it is`);
    this.name = 'FollowedUpdateLandedError';
  }
}

/**
 * A claimed, planned candidate sent on its own (`liquidate`): simulated, checked, handed to the dispatcher.
 * `signer`: the key chosen before deciding; chosen now if absent.
 */
export async function sendAlone(deps: ExecuteCandidateDeps, member: BatchMember, signer?: Signer): Promise<ExecutionResult> {
  const { opportunity, attempt, decision } = member;
  const { block, gasPrice } = decision;
  const nowIso = () => new Date(deps.clock.nowMs()).toISOString();
  const dispatcher = createTransactionDispatcher(deps);
  let ready: Ready;
  let key: Signer;
  try {
    key = signer ?? (await dispatcher.chooseSigner().catch((error: unknown) => {
      throw new ClaimedFailure('prepare', error);
    }));
    const prepared = await prepare(deps, { opportunity, attempt, block, decision, signer: key, nowIso });
    if (prepared.kind === 'result') return prepared.result;
    ready = prepared;
    if (await deps.followedUpdateLanded?.()) throw new ClaimedFailure('prepare', new FollowedUpdateLandedError(opportunity));
  } catch (error) {
    if (!(error instanceof ClaimedFailure)) throw error;
    const failed = await failClaimedAttempt(deps, { opportunity, attempt, block, nowIso: nowIso() }, error);
    return { ...failed, opportunity, block };
  }
  const outcome = await dispatcher.dispatch({
    opportunity,
    attempt,
    block,
    signer: key,
    to: ready.to,
    data: ready.data,
    gasLimit: ready.plan.gasLimit,
    fees: gasPrice,
    replacementBudget: replacementBudgetOf(ready.plan),
    plan: ready.plan,
    firstIndex: member.firstIndex,
    deadlineMs: member.receiptDeadlineMs,
  });
  return withRealized(deps, resultOf(outcome, opportunity, block));
}

/** A mined liquidation's result with what it did, read from our contract's event (best effort). */
async function withRealized(deps: ExecuteCandidateDeps, result: ExecutionResult): Promise<ExecutionResult> {
  if (result.kind !== 'mined') return result;
  const events = await runBestEffort(deps.bestEffort, 'realized-read', () => deps.liquidator.liquidationsIn(result.txHash), {
    opportunity: result.opportunity,
    txHash: result.txHash,
  });
  const event = events?.[0];
  if (!event) return result;
  return {
    ...result,
    realized: {
      debtRepaidUnits: event.debtRepaidUnits.toString(),
      collateralSeizedUnits: event.collateralSeizedUnits.toString(),
      swapAmountOutUnits: event.swapAmountOutUnits.toString(),
      flashPremiumUnits: event.flashPremiumUnits.toString(),
      profitUnits: event.profitUnits.toString(),
    },
  };
}

/** Continues this delivery's attempt from the ledger (its plan decoded there: a malformed one fails the read). */
async function resume(deps: ExecuteCandidateDeps, dispatcher: TransactionDispatcher, record: AttemptRecord<ExecutionPlan>, input: ExecuteCandidateInput): Promise<ExecutionResult> {
  const { plan } = record;
  if (!plan) throw new MalformedPlanError(`ledger ${record.opportunity}`, [`(plan): required for an attempt in state ${record.state}`]);
  const outcome = await dispatcher.resume({ record, plan, replacementBudget: replacementBudgetOf(plan), deadlineMs: input.receiptDeadlineMs });
  return withRealized(deps, resultOf(outcome, record.opportunity, record.block ?? 0));
}

function resultOf(outcome: DispatchOutcome, opportunity: string, block: number): ExecutionResult {
  switch (outcome.kind) {
    case 'mined':
      return { kind: 'mined', opportunity, block, txHash: outcome.txHash, minedBlock: outcome.minedBlock, gasUsed: outcome.gasUsed.toString(), plan: encodePlan(outcome.plan) };
    case 'reverted':
      return {
        kind: 'reverted',
        opportunity,
        block,
        txHash: outcome.txHash,
        minedBlock: outcome.minedBlock,
        gasUsed: outcome.gasUsed.toString(),
        plan: encodePlan(outcome.plan),
        reason: outcome.reason,
        ...(outcome.revertClass ? { revertClass: outcome.revertClass } : {}),
      };
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
  decision: Liquidate;
  signer: Signer;
  nowIso: () => string;
}

/** Ready to send: the plan, and the call's target and calldata. */
type Ready = { kind: 'ready'; plan: ExecutionPlan; to: string; data: string };

/**
 * Simulation of the whole contract call at the decision's block, profit again after the simulated gas, dry run:
 * everything before the dispatcher takes over. The simulation must return exactly the profit the plan predicts:
 * the plan is the Pool's and the pool's own arithmetic at that block, so any difference is a model gap, and
 * a plan the chain disagrees with is not sent.
 */
async function prepare(deps: ExecuteCandidateDeps, ctx: PrepareContext): Promise<Ready | { kind: 'result'; result: ExecutionResult }> {
  const { opportunity, attempt, block, decision } = ctx;
  const { settings } = deps;
  const { choice } = decision;
  const finish = (outcome: FinalOutcome<ExecutionPlan>) => deps.ledger.finish(opportunity, attempt, outcome, ctx.nowIso());
  const failed = async (reason: string) => {
    await finish({ kind: 'failed', reason, block });
    return { kind: 'result' as const, result: { kind: 'failed' as const, opportunity, block, stage: 'simulate' as const, reason } };
  };

  const simulation = await deps.liquidator.simulate(choice.call, ctx.signer.address, block).catch((error: unknown) => {
    throw new ClaimedFailure('simulate', error);
  });
  if (simulation.kind === 'revert') {
    // Simulated on the very state the plan was made from: a revert is a model gap (or the contract lacks stock in
    // inventory mode). Either needs a person, so it is `failed` (alarmed), not `skipped`.
    return failed(`simulation reverted: ${simulation.reason}`);
  }
  if (simulation.profitUnits !== choice.liquidation.expectedProfitUnits) {
    return failed(`simulated profit ${simulation.profitUnits} differs from the plan's ${choice.liquidation.expectedProfitUnits} (debt units): not sent`);
  }

  // Profit again with the simulated gas limit (an upper bound of what the transaction pays); the guard follows.
  const assessed = assessFundedLiquidation(
    choice.plan,
    choice.liquidation.proceeds,
    { mode: settings.funding, ruleSet: settings.ruleSet, flashLoanPremiumBps: choice.liquidation.flashLoanPremiumBps, maxSlippageBps: settings.maxSlippageBps },
    { gasUnits: simulation.gasLimit, gasPrice: decision.gasPrice, nativePriceBase8: decision.nativePriceBase8, minProfitBase: settings.minProfitBase },
  );
  const funded = assessed.liquidation;
  if (assessed.kind === 'skip') {
    const detail = `profit ${funded.profitBase} base after the simulated gas limit ${simulation.gasLimit} (min ${settings.minProfitBase}): ${assessed.reason}`;
    await finish({ kind: 'skipped', reason: `unprofitable: ${detail}`, block });
    // As in planning: a sale at the assumed swap cost would still pay, so the pool's price now is what priced it out.
    const bySale = pricedOutBySale(funded, settings.swapCostBps, settings.minProfitBase);
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason: 'unprofitable', detail, ...(bySale ? { pricedOutBySale: true as const } : {}) } };
  }
  const call = liquidatorCallOf(funded);
  const plan = executionPlanOf(deps, decision, funded, { gasEstimate: simulation.gasEstimate, gasLimit: simulation.gasLimit });
  if (settings.dryRun) {
    await finish({ kind: 'dry-run', block, plan });
    return { kind: 'result', result: { kind: 'dry-run', opportunity, block, plan: encodePlan(plan) } };
  }
  let target: { to: string; data: string };
  try {
    target = deps.liquidator.buildTransaction(call);
  } catch (error) {
    throw new ClaimedFailure('prepare', error);
  }
  return { kind: 'ready', plan, ...target };
}

/**
 * The plan of a liquidation priced with `funded` (its call follows from it: liquidatorCallOf): what the ledger
 * stores and the result carries. `gas`: the simulated estimate and limit of the transaction (a batch member's
 * share of its batch's).
 */
export function executionPlanOf(
  deps: Pick<ExecuteCandidateDeps, 'settings' | 'liquidator'>,
  decision: LiquidateDecision,
  funded: FundedLiquidation,
  gas: { gasEstimate: bigint; gasLimit: bigint },
): ExecutionPlan {
  const { choice } = decision;
  const call = liquidatorCallOf(funded);
  const step = choice.plan;
  return {
    sizing: deps.settings.sizing.name,
    steps: choice.steps.length,
    collateralAsset: step.collateralAsset,
    debtAsset: step.debtAsset,
    debtToCoverUnits: call.debtToCoverUnits,
    debtRepaidUnits: step.debtRepaidUnits,
    liquidatorCollateralUnits: step.liquidatorCollateralUnits,
    protocolFeeUnits: step.protocolFeeUnits,
    closeFactor: step.closeFactor,
    limitedBy: step.limitedBy,
    healthFactorBeforeWad: step.healthFactorBeforeWad,
    healthFactorAfterWad: step.healthFactorAfterWad,
    collateralPriceBase8: step.collateralPriceBase8,
    debtPriceBase8: step.debtPriceBase8,
    nativePriceBase8: decision.nativePriceBase8,
    baseFeePerGasWei: decision.gasPrice.baseFeePerGasWei,
    maxFeePerGasWei: decision.gasPrice.maxFeePerGasWei,
    maxPriorityFeePerGasWei: decision.gasPrice.maxPriorityFeePerGasWei,
    valueReceivedBase: funded.valueReceivedBase,
    valueRepaidBase: funded.valueRepaidBase,
    gasCostWei: funded.gasCostWei,
    gasCostBase: funded.gasCostBase,
    // Oracle value of the collateral minus what the swap pays for it (signed on the wire as the profit is not:
    // a swap above the oracle price is no cost).
    swapCostBase: funded.swapCostBase > 0n ? funded.swapCostBase : 0n,
    profitBase: funded.profitBase,
    gasEstimate: gas.gasEstimate,
    gasLimit: gas.gasLimit,
    funded: {
      funding: funded.funding,
      liquidatorContract: deps.liquidator.address,
      swapPath: call.swapPath,
      quotedAmountOutUnits: funded.proceedsUnits,
      amountOutMinimumUnits: funded.amountOutMinimumUnits,
      flashLoanUnits: funded.flashLoanUnits,
      flashLoanPremiumBps: funded.flashLoanPremiumBps,
      flashLoanPremiumUnits: funded.premiumUnits,
      expectedProfitUnits: funded.expectedProfitUnits,
      minProfitUnits: funded.minProfitUnits,
      ...(choice.reducedForLiquidity ? { reducedFromRepayUnits: choice.reducedForLiquidity.plannedRepayUnits } : {}),
    },
    // A chunk within the price-impact budget: the rest is queued after it is mined (chunk-rest.ts).
    ...(choice.chunk ? { chunk: choice.chunk } : {}),
  };
}
