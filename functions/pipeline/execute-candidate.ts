/**
 * Executes one liquidation candidate: at most one transaction (with its fee-bumped replacements) per
 * opportunity (chain#pool#borrower#block), at most one attempt in flight per position (borrower, debt asset),
 * every step recorded in the ledger before the step after it can exist:
 *
 *   0. the ledger knows this delivery's attempt as signed/sent → resume it (re-broadcast the stored bytes)
 *   1. execution breakers (kill switch, revert streak, daily gas budget) → `paused`
 *   2. read the position at the latest block N             HF ≥ 1 → `stale`; eMode → `skipped`
 *   3. fees after N (above the gas price cap → `paused`), native price at N → selectPair → `skipped`
 *   4. claim the opportunity and its position               another attempt → `duplicate` / `in-flight`
 *   5. simulate at N; profit again with the simulated gas    revert → `failed`; unprofitable → `skipped`
 *   6. dry run → `dry-run`; else lease a nonce → sign → ledger `signed` (raw bytes) → lease `signed` → broadcast
 *   7. ledger `sent` → receipt, replacing by nonce with a fee bump every `replaceAfterMs` (at most
 *      `maxReplacements` times, never past the expected profit) → `mined` / `reverted`; the nonce used by
 *      something else → `dropped`; no receipt before the deadline → PendingTransactionError (retryable: the
 *      redelivery resumes at step 0)
 *
 * Steps 1–3 decide not to act and write nothing: the ledger holds claimed attempts only.
 *
 * Failures are classified once (`classifyFailure`, implemented beside the adapters): a retryable one is thrown
 * so SQS redelivers the message; a permanent one is recorded (once claimed) and returned as `failed`. From the
 * ledger's `signed` on, a failure never leads to a new signature for the same nonce except a replacement: the
 * retry re-broadcasts what the ledger holds.
 *
 * Result fields are decimal strings (JSON-safe: the result is stored by Powertools idempotency).
 */
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import {
  assessProfit,
  calculateAccountData,
  type CostModel,
  HEALTH_FACTOR_LIQUIDATION_THRESHOLD_WAD,
  maxSizing,
  type PairSelection,
  type ProfitBreakdown,
  selectPair,
  type SizingStrategy,
  targetHealthSizing,
  twoStepSizing,
  type UserPosition,
} from '../domain';
import type { Clock } from '../ports/clock';
import type { LiquidationCall, LiquidationSimulator } from '../ports/lending-protocol';
import {
  type AttemptRecord,
  type AttemptTransaction,
  type FinalOutcome,
  IN_FLIGHT_ATTEMPT_STATES,
  type LiquidationLedger,
} from '../ports/liquidation-ledger';
import { type NonceLease, NonceLeaseLostError, type NonceLeases, signerKeyOf } from '../ports/nonce-leases';
import type { BroadcastResult, ChainGateway, ReceiptSummary, Signer, SignedTransaction } from '../ports/transactions';
import { type CandidateMessage, deduplicationIdOf } from './candidate-message';

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

export type FailureClass = 'retryable' | 'permanent';

/** Breakers that stop execution (functions/ports/circuit-breakers.ts has the full port; the worker needs these). */
export interface ExecutionBreakerGate {
  check(nowMs: number): Promise<{ kind: 'closed' } | { kind: 'open'; reason: string; detail: string }>;
  recordOutcome(outcome: { kind: 'mined' | 'reverted'; gasCostWei: bigint }, nowMs: number): Promise<void>;
}

/** Named steps where a fault-injection test may stop an execution dead (local/chaos/crash-points.ts). */
export type ExecutionStep = 'after-claim' | 'after-sign' | 'after-broadcast' | 'before-receipt' | 'after-receipt';

export interface ExecutionFaults {
  /** Throws to simulate the process dying at `step`. */
  reach(step: ExecutionStep): void;
}

export interface FeePolicy {
  /** Without a receipt this long after a broadcast, the transaction is replaced with a fee bump. */
  replaceAfterMs: number;
  /** Replacements per attempt at most (0: never replace). */
  maxReplacements: number;
  /** Fee bump per replacement, bps; nodes refuse a replacement below +10 % (geth's default price bump), 1,250 = +12.5 %. */
  bumpBps: bigint;
  /** Never offer a max fee per gas above this (wei); a market whose fees are above it is paused. */
  gasPriceCapWei?: bigint;
}

export interface ExecutionSettings {
  chainId: bigint;
  sizing: SizingStrategy;
  swapCostBps: bigint;
  /** Profit must exceed this (base currency, 8 decimals). */
  minProfitBase: bigint;
  /**
   * Gas per liquidationCall assumed while choosing the pair (the simulation's gas limit replaces it before
   * anything is sent). Aave V3 liquidationCall uses ~250–400k gas.
   */
  assumedGasPerStep: bigint;
  fees: FeePolicy;
  /**
   * At most this many transactions of one signer pending at once (leases at or above its confirmed nonce, not
   * confirmed); undefined = no limit. Nodes and relays cap pending transactions per sender (geth keeps 16
   * executable ones per account by default), so past the cap a new attempt takes another key or waits for a
   * slot. Exact within one worker process (counted in the signer's send lane, right before the lease); across
   * concurrent Lambda instances a soft cap: two that count at the same moment may each take the last slot.
   */
  maxPendingPerSigner?: number;
  dryRun: boolean;
}

/** The signer stayed at its pending cap until the record's time ran out: retryable (the redelivery tries again). */
export class SignersBusyError extends Error {
  readonly retryable = true;
  constructor(cap: number, signer: string) {
    super(`signer ${signer} still has ${cap} transactions pending (MAX_PENDING_PER_SIGNER): left for redelivery`);
    this.name = 'SignersBusyError';
  }
}

/**
 * Serialises the sections of executions that lease a nonce, sign and broadcast for one signer in one process,
 * so concurrent records of a batch do not race each other for the lease table's head. Across processes the
 * nonce leases (DynamoDB) keep nonces apart.
 */
export interface SendLane {
  run<T>(section: () => Promise<T>): Promise<T>;
}

const DIRECT_LANE: SendLane = { run: (section) => section() };

/** A send lane for one process: sections run one at a time, in arrival order, whatever each one's outcome. */
export function createSendLane(): SendLane {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(section: () => Promise<T>): Promise<T> {
      const result = tail.then(section);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}

export interface ExecuteCandidateDeps {
  positions: CandidatePositionSource;
  simulator: LiquidationSimulator;
  nativePrice: NativePriceSource;
  chain: ChainGateway;
  /** One or more keys; new attempts take them in turn, a resumed attempt uses the key that signed it. */
  signers: readonly Signer[];
  ledger: LiquidationLedger;
  nonces: NonceLeases;
  breakers?: ExecutionBreakerGate;
  clock: Clock;
  classifyFailure(error: unknown): FailureClass;
  settings: ExecutionSettings;
  /** The lane of each signer (by address); absent = sections run as they come. */
  sendLane?: (signerAddress: string) => SendLane;
  faults?: ExecutionFaults;
  /** Waits between looks for a free signer slot (tests inject a fake); default node:timers/promises setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface ExecuteCandidateInput {
  message: CandidateMessage;
  /** Identifies this delivery of the candidate (the SQS message id): the owner of the claim. */
  attempt: string;
  /** Stop waiting for a receipt at this time (clock ms): the attempt is then left to the redelivery. */
  receiptDeadlineMs: number;
}

/** The plan's numbers as decimal strings (amounts in token units, values in base currency, gas in wei). */
export type PlanSummary = Record<string, string>;

export type SkipReason = 'unsupported-position' | 'no-liquidatable-pair' | 'unprofitable';

export type ExecutionResult =
  | { kind: 'stale'; opportunity: string; block: number; healthFactorWad: string }
  | { kind: 'skipped'; opportunity: string; block: number; reason: SkipReason; detail: string }
  | { kind: 'duplicate'; opportunity: string; block: number }
  /** Another opportunity's attempt holds this position: the scanner offers the account again once it ends. */
  | { kind: 'in-flight'; opportunity: string; block: number; heldBy: string }
  /** A breaker is open (kill switch, revert streak, daily gas budget, gas price cap): nothing claimed or sent. */
  | { kind: 'paused'; opportunity: string; block: number; reason: string; detail: string }
  | { kind: 'dry-run'; opportunity: string; block: number; plan: PlanSummary }
  | { kind: 'mined'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: PlanSummary }
  | { kind: 'reverted'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: PlanSummary }
  /** None of the attempt's transactions was mined; their nonce was used by another transaction. */
  | { kind: 'dropped'; opportunity: string; block: number; txHash: string; detail: string }
  /** A permanent failure. `block` is null only when the latest block could not be read. */
  | { kind: 'failed'; opportunity: string; block: number | null; stage: FailureStage; reason: string };

export type FailureStage = 'decide' | 'claim' | 'simulate' | 'prepare' | 'broadcast';

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

/** A failure after the claim and before anything was signed: recorded as `failed`, then thrown or returned by class. */
class ClaimedFailure extends Error {
  constructor(
    readonly stage: FailureStage,
    cause: unknown,
  ) {
    super(`${stage}: ${messageOf(cause)}`, { cause });
    this.name = 'ClaimedFailure';
  }
}

/** Thrown when the node refused the transaction for a reason a later attempt can fix (nonce, fee, rate limit). */
export class RetryableBroadcastError extends Error {
  readonly retryable = true;
  constructor(reason: string) {
    super(`broadcast rejected, retryable: ${reason}`);
    this.name = 'RetryableBroadcastError';
  }
}

/**
 * The attempt's transaction is out and not mined before the deadline (or its state could not be written):
 * retryable, so the redelivery of the same message resumes it from the ledger.
 */
export class PendingTransactionError extends Error {
  readonly retryable = true;
  constructor(
    readonly opportunity: string,
    readonly txHash: string,
    detail: string,
  ) {
    super(`transaction ${txHash} of ${opportunity} still pending: ${detail}`);
    this.name = 'PendingTransactionError';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const BPS = 10_000n;
const WEI_PER_NATIVE = 10n ** 18n;

function bumped(value: bigint, bumpBps: bigint): bigint {
  return (value * (BPS + bumpBps) + BPS - 1n) / BPS;
}

function maxOf(...values: bigint[]): bigint {
  return values.reduce((a, b) => (a > b ? a : b));
}

type Decision =
  | { kind: 'result'; result: ExecutionResult }
  | { kind: 'liquidate'; block: number; selection: Extract<PairSelection, { kind: 'liquidate' }>; costs: CostModel };

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

function profitFields(profit: ProfitBreakdown): PlanSummary {
  return {
    valueReceivedBase: profit.valueReceivedBase.toString(),
    valueRepaidBase: profit.valueRepaidBase.toString(),
    gasCostWei: profit.gasCostWei.toString(),
    gasCostBase: profit.gasCostBase.toString(),
    swapCostBase: profit.swapCostBase.toString(),
    profitBase: profit.profitBase.toString(),
  };
}

/** Only the first step is sent; a second step (two-step sizing) is left to the next detection of the account. */
function planSummary(decision: Extract<Decision, { kind: 'liquidate' }>, strategy: string): PlanSummary {
  const { selection, costs } = decision;
  const step = selection.steps[0];
  return {
    sizing: strategy,
    steps: String(selection.steps.length),
    collateralAsset: step.collateralAsset,
    debtAsset: step.debtAsset,
    debtToCoverUnits: step.debtToCoverUnits.toString(),
    debtRepaidUnits: step.debtRepaidUnits.toString(),
    liquidatorCollateralUnits: step.liquidatorCollateralUnits.toString(),
    protocolFeeUnits: step.protocolFeeUnits.toString(),
    closeFactor: step.closeFactor,
    limitedBy: step.limitedBy,
    healthFactorBeforeWad: step.healthFactorBeforeWad.toString(),
    healthFactorAfterWad: step.healthFactorAfterWad.toString(),
    nativePriceBase8: costs.nativePriceBase8.toString(),
    baseFeePerGasWei: costs.gasPrice.baseFeePerGasWei.toString(),
    maxFeePerGasWei: costs.gasPrice.maxFeePerGasWei.toString(),
    maxPriorityFeePerGasWei: costs.gasPrice.maxPriorityFeePerGasWei.toString(),
    ...profitFields(selection.profit),
  };
}

/** `chain#pool#borrower#debtAsset`: at most one attempt in flight per position. */
export function positionKeyOf(message: CandidateMessage, debtAsset: string): string {
  return `${message.chainId}#${message.pool.toLowerCase()}#${message.borrower.toLowerCase()}#${debtAsset.toLowerCase()}`;
}

export async function executeCandidate(deps: ExecuteCandidateDeps, input: ExecuteCandidateInput): Promise<ExecutionResult> {
  const { message, attempt } = input;
  const opportunity = deduplicationIdOf(message);
  const nowIso = () => new Date(deps.clock.nowMs()).toISOString();

  let signer: Signer;
  let readBlock: number | null = null;
  let existing: AttemptRecord | undefined;
  let decision: Decision;
  try {
    [readBlock, existing] = await Promise.all([deps.chain.latestBlock(), deps.ledger.find(opportunity)]);
    if (existing) {
      if (existing.attemptId === attempt && IN_FLIGHT_ATTEMPT_STATES.includes(existing.state)) {
        return await resume(deps, existing, input, nowIso);
      }
      // Another delivery's claim, or this delivery's finished one: nothing more to do for this opportunity.
      if (existing.attemptId !== attempt || !['claimed', 'failed'].includes(existing.state)) {
        return { kind: 'duplicate', opportunity, block: readBlock };
      }
    }
    const breaker = await deps.breakers?.check(deps.clock.nowMs());
    if (breaker?.kind === 'open') return { kind: 'paused', opportunity, block: readBlock, reason: breaker.reason, detail: breaker.detail };
    signer = await chooseSigner(deps);
    decision = await decide(deps, message, opportunity, readBlock, signer);
  } catch (error) {
    // Nothing is claimed yet (a resume throws only retryable errors): retrying is always safe.
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

  let claim: Awaited<ReturnType<LiquidationLedger['claim']>>;
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
  // A retaken claim (this delivery's earlier round failed) numbers its transactions after the earlier ones.
  const firstIndex = existing?.transactions.length ?? 0;
  const context: PrepareContext = {
    opportunity,
    attempt,
    block,
    call,
    plan: planSummary(decision, deps.settings.sizing.name),
    decision,
    signer,
    firstIndex,
    nowIso,
    slotWaitUntilMs: input.receiptDeadlineMs - SIGNER_WAIT_RESERVE_MS,
  };
  let sent: Sent;
  try {
    const ready = await prepare(deps, context);
    if (ready.kind === 'result') return ready.result;
    sent = await (deps.sendLane?.(signer.address) ?? DIRECT_LANE).run(() => signAndBroadcast(deps, { ...context, ready }));
  } catch (error) {
    if (!(error instanceof ClaimedFailure)) throw error;
    const retryable = deps.classifyFailure(error.cause) === 'retryable';
    const reason = `${retryable ? 'retryable' : 'permanent'} ${error.message}`;
    // `failed` frees the position and lets this attempt's redelivery take its claim again; if even this write
    // fails, the claim stays `claimed`, which the redelivery may also take again.
    await deps.ledger.finish(opportunity, attempt, { kind: 'failed', reason, block }, nowIso());
    if (retryable) throw error;
    return { kind: 'failed', opportunity, block, stage: error.stage, reason };
  }
  return afterBroadcast(deps, { opportunity, attempt, block, nowIso, deadlineMs: input.receiptDeadlineMs, signer: sent.signer, lease: sent.lease, transactions: [sent.tx], plan: sent.plan }, sent.broadcast);
}

/** Time kept for deciding, signing and the receipt after waiting for a signer slot. */
const SIGNER_WAIT_RESERVE_MS = 10_000;
/** How often a record waiting for a signer slot looks again: about the time a block frees slots. */
const SIGNER_SLOT_POLL_MS = 500;

/** `signer`'s confirmed nonce and its transactions pending now: leases at or above that nonce, not confirmed. */
async function pendingOf(deps: ExecuteCandidateDeps, signer: Signer): Promise<{ chainNonce: number; pending: number }> {
  const chainNonce = await deps.chain.confirmedNonce(signer.address);
  return { chainNonce, pending: (await deps.nonces.open(signerKeyOf(deps.settings.chainId, signer.address), chainNonce)).length };
}

/**
 * The key for a new attempt: the next in turn, or with a pending cap the first from there with a free slot (the
 * turn's key if none is free: signAndBroadcast waits for its slot).
 */
async function chooseSigner(deps: ExecuteCandidateDeps): Promise<Signer> {
  const first = nextSigner(deps);
  const cap = deps.settings.maxPendingPerSigner;
  if (cap === undefined || deps.signers.length === 1) return first;
  const start = deps.signers.indexOf(first);
  for (let i = 0; i < deps.signers.length; i++) {
    const signer = deps.signers[(start + i) % deps.signers.length];
    if ((await pendingOf(deps, signer)).pending < cap) return signer;
  }
  return first;
}

/**
 * The confirmed nonce to lease from. With a pending cap, first waits until `signer` has a free slot (a block
 * confirms one of its transactions), checking right before the nonce is leased and inside the signer's send lane,
 * so the records of one process never overshoot the cap; throws SignersBusyError at `waitUntilMs`.
 */
async function confirmedNonceWithSlot(deps: ExecuteCandidateDeps, signer: Signer, waitUntilMs: number): Promise<number> {
  const cap = deps.settings.maxPendingPerSigner;
  if (cap === undefined) return deps.chain.confirmedNonce(signer.address);
  const sleep = deps.sleep ?? setTimeoutPromise;
  for (;;) {
    const { chainNonce, pending } = await pendingOf(deps, signer);
    if (pending < cap) return chainNonce;
    if (deps.clock.nowMs() + SIGNER_SLOT_POLL_MS > waitUntilMs) throw new SignersBusyError(cap, signer.address);
    await sleep(SIGNER_SLOT_POLL_MS);
  }
}

/** Whose turn it is, per configured signer list. */
const signerTurns = new WeakMap<readonly Signer[], number>();

/** Signers in turn, so the load (and the gas spent) spreads over every configured key. */
function nextSigner(deps: ExecuteCandidateDeps): Signer {
  if (deps.signers.length === 0) throw new Error('no signer configured');
  const turn = signerTurns.get(deps.signers) ?? 0;
  signerTurns.set(deps.signers, (turn + 1) % deps.signers.length);
  return deps.signers[turn];
}

type Ready = { kind: 'ready'; plan: PlanSummary; gasLimit: bigint };

interface PrepareContext {
  opportunity: string;
  attempt: string;
  block: number;
  call: LiquidationCall;
  plan: PlanSummary;
  decision: Extract<Decision, { kind: 'liquidate' }>;
  signer: Signer;
  firstIndex: number;
  nowIso: () => string;
  /** With a pending cap: how long this attempt may wait for a free slot of its signer. */
  slotWaitUntilMs: number;
}

/** Simulation, profit after the simulated gas, dry run: everything before a nonce is leased. */
async function prepare(deps: ExecuteCandidateDeps, ctx: PrepareContext): Promise<Ready | { kind: 'result'; result: ExecutionResult }> {
  const { opportunity, attempt, block, call, decision } = ctx;
  const finish = (outcome: FinalOutcome) => deps.ledger.finish(opportunity, attempt, outcome, ctx.nowIso());

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
  const plan: PlanSummary = {
    ...ctx.plan,
    ...profitFields(assessed.profit),
    gasEstimate: simulation.gasEstimate.toString(),
    gasLimit: simulation.gasLimit.toString(),
  };
  if (assessed.kind === 'skip') {
    const detail = `profit ${assessed.profit.profitBase} base after the simulated gas limit ${simulation.gasLimit} (min ${deps.settings.minProfitBase})`;
    await finish({ kind: 'skipped', reason: `unprofitable: ${detail}`, block });
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason: 'unprofitable', detail } };
  }
  if (deps.settings.dryRun) {
    await finish({ kind: 'dry-run', block, plan });
    return { kind: 'result', result: { kind: 'dry-run', opportunity, block, plan } };
  }
  return { kind: 'ready', plan, gasLimit: simulation.gasLimit };
}

interface Sent {
  signer: Signer;
  lease: NonceLease;
  tx: AttemptTransaction;
  plan: PlanSummary;
  broadcast: BroadcastResult;
}

/**
 * Leases a nonce, signs, records the signed bytes (ledger, then lease) and broadcasts. Until the ledger write a
 * failure is a ClaimedFailure (nothing can be out: the lease is released); after it, errors propagate and the
 * redelivery resumes from what the ledger holds.
 */
async function signAndBroadcast(deps: ExecuteCandidateDeps, ctx: PrepareContext & { ready: Ready }): Promise<Sent> {
  const { signer } = ctx;
  const { settings } = deps;
  const now = () => deps.clock.nowMs();
  let lease: NonceLease;
  let signed: SignedTransaction;
  let tx: AttemptTransaction;
  const plan: PlanSummary = { ...ctx.ready.plan, from: signer.address };
  try {
    const chainNonce = await confirmedNonceWithSlot(deps, signer, ctx.slotWaitUntilMs);
    lease = await deps.nonces.allocate(signerKeyOf(settings.chainId, signer.address), ctx.opportunity, chainNonce, now());
  } catch (error) {
    throw new ClaimedFailure('prepare', error);
  }
  try {
    const { to, data } = deps.simulator.buildTransaction(ctx.call);
    const { gasPrice } = ctx.decision.costs;
    const cap = settings.fees.gasPriceCapWei;
    const maxFeePerGasWei = cap !== undefined && gasPrice.maxFeePerGasWei > cap ? cap : gasPrice.maxFeePerGasWei;
    const maxPriorityFeePerGasWei = gasPrice.maxPriorityFeePerGasWei > maxFeePerGasWei ? maxFeePerGasWei : gasPrice.maxPriorityFeePerGasWei;
    signed = await signer.signTransaction({ chainId: settings.chainId, nonce: lease.nonce, to, data, valueWei: 0n, gasLimit: ctx.ready.gasLimit, maxFeePerGasWei, maxPriorityFeePerGasWei });
    tx = { index: ctx.firstIndex, txHash: signed.hash, rawTransaction: signed.raw, from: signer.address, nonce: lease.nonce, gasLimit: ctx.ready.gasLimit, maxFeePerGasWei, maxPriorityFeePerGasWei, state: 'signed', signedAt: new Date(now()).toISOString() };
    Object.assign(plan, { nonce: String(lease.nonce), to, data });
  } catch (error) {
    await deps.nonces.release(lease, now()).catch(() => undefined);
    throw new ClaimedFailure('prepare', error);
  }
  // Write-ahead: the bytes are in the ledger before they can exist anywhere else.
  await deps.ledger.recordSigned(ctx.opportunity, ctx.attempt, tx, plan, ctx.nowIso());
  await markLeaseSigned(deps, { opportunity: ctx.opportunity, attempt: ctx.attempt, block: ctx.block, lease, tx, nowIso: ctx.nowIso });
  deps.faults?.reach('after-sign');
  const broadcast = await deps.chain.broadcast(signed.raw);
  deps.faults?.reach('after-broadcast');
  return { signer, lease, tx, plan, broadcast };
}

/**
 * lease → signed. Losing the lease means it expired before this point and another attempt took the nonce:
 * nothing of ours was broadcast, so the attempt ends `failed` and the redelivery starts over.
 */
async function markLeaseSigned(
  deps: ExecuteCandidateDeps,
  at: { opportunity: string; attempt: string; block: number; lease: NonceLease; tx: AttemptTransaction; nowIso: () => string },
): Promise<void> {
  try {
    await deps.nonces.markSigned(at.lease, { txHash: at.tx.txHash, rawTransaction: at.tx.rawTransaction }, deps.clock.nowMs());
  } catch (error) {
    if (error instanceof NonceLeaseLostError) {
      const reason = `retryable ${error.message}: nothing was broadcast`;
      await deps.ledger.finish(at.opportunity, at.attempt, { kind: 'failed', reason, block: at.block }, at.nowIso());
    }
    throw error;
  }
}

interface Following {
  opportunity: string;
  attempt: string;
  block: number;
  plan: PlanSummary;
  /** The signer of the transactions, if it is still configured (needed to replace). */
  signer: Signer | undefined;
  lease: NonceLease;
  /** Oldest first; all at the lease's nonce. */
  transactions: AttemptTransaction[];
  deadlineMs: number;
  nowIso: () => string;
}

/** After a broadcast of the attempt's latest transaction: a refusal, or following it to a receipt. */
async function afterBroadcast(deps: ExecuteCandidateDeps, f: Following, broadcast: BroadcastResult): Promise<ExecutionResult> {
  const latest = f.transactions[f.transactions.length - 1];
  const now = () => deps.clock.nowMs();
  if (broadcast.kind === 'rejected' && f.transactions.length === 1) {
    if (broadcast.nonceUsed) {
      // Taken on chain by a transaction that is not this one: perhaps an earlier one of ours was mined.
      const receipt = await deps.chain.receiptOfAny([latest.txHash], 0).catch(() => undefined);
      if (receipt) return settleReceipt(deps, f, receipt);
    }
    // In no mempool: `failed` frees the position and lets this attempt's redelivery take its claim again.
    const reason = `broadcast rejected: ${broadcast.reason}`;
    await deps.ledger.finish(f.opportunity, f.attempt, { kind: 'failed', reason, block: f.block }, f.nowIso());
    if (broadcast.nonceUsed) await deps.nonces.confirm(f.lease, now()).catch(() => undefined);
    else await deps.nonces.release(f.lease, now()).catch(() => undefined);
    if (broadcast.retryable || broadcast.nonceUsed) throw new RetryableBroadcastError(broadcast.reason);
    return { kind: 'failed', opportunity: f.opportunity, block: f.block, stage: 'broadcast', reason };
  }
  if (broadcast.kind !== 'rejected') {
    try {
      await deps.ledger.recordSent(f.opportunity, f.attempt, latest.index, f.nowIso());
      latest.state = 'sent';
    } catch (error) {
      // The transaction may be out while the ledger says `signed`: the redelivery re-broadcasts the same bytes.
      throw new PendingTransactionError(f.opportunity, latest.txHash, `not recorded as sent: ${messageOf(error)}`);
    }
  }
  return follow(deps, f);
}

/**
 * Waits for a receipt of any of the attempt's transactions. Every `replaceAfterMs` without one, replaces the
 * latest by nonce with bumped fees (while allowed); if the nonce gets used by a transaction that is not ours,
 * the attempt is `dropped`. At the deadline the attempt is left pending for the redelivery.
 */
async function follow(deps: ExecuteCandidateDeps, f: Following): Promise<ExecutionResult> {
  const { fees } = deps.settings;
  const now = () => deps.clock.nowMs();
  let lastBroadcastMs = now();
  for (;;) {
    deps.faults?.reach('before-receipt');
    const hashes = f.transactions.map((tx) => tx.txHash);
    const waitUntil = Math.min(f.deadlineMs, lastBroadcastMs + fees.replaceAfterMs);
    const receipt = await deps.chain.receiptOfAny(hashes, Math.max(0, waitUntil - now())).catch(() => undefined);
    if (receipt) return settleReceipt(deps, f, receipt);
    const latest = f.transactions[f.transactions.length - 1];
    if (now() >= f.deadlineMs) throw new PendingTransactionError(f.opportunity, latest.txHash, 'no receipt before the deadline');

    const confirmed = await deps.chain.confirmedNonce(latest.from).catch(() => undefined);
    if (confirmed !== undefined && confirmed > latest.nonce) {
      // The nonce is used. By one of ours (a receipt the poll has not seen yet) or by something else.
      const late = await deps.chain.receiptOfAny(hashes, 0).catch(() => undefined);
      if (late) return settleReceipt(deps, f, late);
      const detail = `nonce ${latest.nonce} of ${latest.from} was used by another transaction; none of ${hashes.join(', ')} was mined`;
      await finishOrPending(deps, f, { kind: 'dropped', reason: detail });
      await deps.nonces.confirm(f.lease, now()).catch(() => undefined);
      return { kind: 'dropped', opportunity: f.opportunity, block: f.block, txHash: latest.txHash, detail };
    }
    if (f.signer && f.transactions.length - 1 < fees.maxReplacements) await replace(deps, f, f.signer);
    lastBroadcastMs = now();
  }
}

/**
 * Replaces the latest transaction at the same nonce with fees bumped by at least `bumpBps` (and at least the
 * node's current suggestion), unless that would pass the gas price cap or spend the expected profit on gas:
 * then the latest transaction is simply left to be mined.
 */
async function replace(deps: ExecuteCandidateDeps, f: Following, signer: Signer): Promise<void> {
  const { fees, chainId } = deps.settings;
  const previous = f.transactions[f.transactions.length - 1];
  let suggested: Awaited<ReturnType<ChainGateway['feesAfter']>>;
  try {
    suggested = await deps.chain.feesAfter(await deps.chain.latestBlock());
  } catch {
    return; // Fees unknown this round: keep waiting, try again after the next period.
  }
  const maxPriorityFeePerGasWei = maxOf(bumped(previous.maxPriorityFeePerGasWei, fees.bumpBps), suggested.maxPriorityFeePerGasWei);
  const maxFeePerGasWei = maxOf(bumped(previous.maxFeePerGasWei, fees.bumpBps), suggested.maxFeePerGasWei, maxPriorityFeePerGasWei);
  if (fees.gasPriceCapWei !== undefined && maxFeePerGasWei > fees.gasPriceCapWei) return;
  // The plan's profit is net of its gas at the original fee; the replacement may spend the gross margin, not more.
  const grossProfitBase = BigInt(f.plan.profitBase ?? '0') + BigInt(f.plan.gasCostBase ?? '0');
  const nativePriceBase8 = BigInt(f.plan.nativePriceBase8 ?? '0');
  const worstGasCostBase = (maxFeePerGasWei * previous.gasLimit * nativePriceBase8) / WEI_PER_NATIVE;
  if (worstGasCostBase >= grossProfitBase) return;

  const { to, data } = decodedTarget(f.plan);
  const signed = await signer.signTransaction({ chainId, nonce: previous.nonce, to, data, valueWei: 0n, gasLimit: previous.gasLimit, maxFeePerGasWei, maxPriorityFeePerGasWei });
  const tx: AttemptTransaction & { replaces: number } = {
    replaces: previous.index,
    index: previous.index + 1,
    txHash: signed.hash,
    rawTransaction: signed.raw,
    from: previous.from,
    nonce: previous.nonce,
    gasLimit: previous.gasLimit,
    maxFeePerGasWei,
    maxPriorityFeePerGasWei,
    state: 'signed',
    signedAt: f.nowIso(),
  };
  f.plan = { ...f.plan, replacements: String(tx.index) };
  try {
    await deps.ledger.recordSigned(f.opportunity, f.attempt, tx, f.plan, f.nowIso());
    await deps.nonces.markSigned(f.lease, { txHash: tx.txHash, rawTransaction: tx.rawTransaction }, deps.clock.nowMs());
  } catch (error) {
    throw new PendingTransactionError(f.opportunity, previous.txHash, `replacement not recorded: ${messageOf(error)}`);
  }
  f.transactions.push(tx);
  const broadcast = await deps.chain.broadcast(tx.rawTransaction);
  // Refused (e.g. underpriced for this node): the earlier transaction is still the live one; it stays `signed`.
  if (broadcast.kind === 'rejected') return;
  await deps.ledger.recordSent(f.opportunity, f.attempt, tx.index, f.nowIso()).catch((error: unknown) => {
    throw new PendingTransactionError(f.opportunity, tx.txHash, `replacement not recorded as sent: ${messageOf(error)}`);
  });
  tx.state = 'sent';
}

/** The call a replacement re-signs: the plan keeps the target and calldata of the first transaction. */
function decodedTarget(plan: PlanSummary): { to: string; data: string } {
  if (!plan.to || !plan.data) throw new PendingTransactionError('(plan)', '(none)', 'the plan has no transaction target to replace');
  return { to: plan.to, data: plan.data };
}

async function finishOrPending(deps: ExecuteCandidateDeps, f: Following, outcome: FinalOutcome): Promise<void> {
  try {
    await deps.ledger.finish(f.opportunity, f.attempt, outcome, f.nowIso());
  } catch (error) {
    const latest = f.transactions[f.transactions.length - 1];
    throw new PendingTransactionError(f.opportunity, latest.txHash, `${outcome.kind} not recorded: ${messageOf(error)}`);
  }
}

async function settleReceipt(deps: ExecuteCandidateDeps, f: Following, receipt: ReceiptSummary): Promise<ExecutionResult> {
  deps.faults?.reach('after-receipt');
  const { opportunity, block } = f;
  const gasUsed = receipt.gasUsed.toString();
  const plan: PlanSummary = { ...f.plan, effectiveGasPriceWei: receipt.effectiveGasPriceWei.toString() };
  const outcome: FinalOutcome =
    receipt.status === 'success'
      ? { kind: 'mined', txHash: receipt.txHash, minedBlock: receipt.blockNumber, gasUsed: receipt.gasUsed, plan }
      : { kind: 'reverted', txHash: receipt.txHash, minedBlock: receipt.blockNumber, reason: `reverted in block ${receipt.blockNumber}`, plan };
  await finishOrPending(deps, f, outcome);
  const nowMs = deps.clock.nowMs();
  // Best effort: a lease left `signed` below the confirmed nonce is harmless (allocation starts at the chain's
  // nonce), and a missed breaker update only delays a pause.
  await deps.nonces.confirm(f.lease, nowMs).catch(() => undefined);
  await deps.breakers?.recordOutcome({ kind: outcome.kind, gasCostWei: receipt.gasUsed * receipt.effectiveGasPriceWei }, nowMs).catch(() => undefined);
  return receipt.status === 'success'
    ? { kind: 'mined', opportunity, block, txHash: receipt.txHash, minedBlock: receipt.blockNumber, gasUsed, plan }
    : { kind: 'reverted', opportunity, block, txHash: receipt.txHash, minedBlock: receipt.blockNumber, gasUsed, plan };
}

/**
 * Continues this delivery's attempt from the ledger after a crash, a timeout or a pending deadline: the stored
 * bytes are re-broadcast (a node answers "already known" or "nonce too low" if they are out), never re-signed.
 */
async function resume(deps: ExecuteCandidateDeps, record: AttemptRecord, input: ExecuteCandidateInput, nowIso: () => string): Promise<ExecutionResult> {
  // Transactions of an earlier failed round of this delivery never went out (`dropped`): not followed.
  const transactions = record.transactions.filter((tx) => tx.state !== 'dropped').map((tx) => ({ ...tx }));
  const latest = transactions[transactions.length - 1];
  const plan = record.plan ?? {};
  const block = record.block ?? 0;
  if (!latest) throw new PendingTransactionError(record.opportunity, '(none)', `ledger state ${record.state} without a transaction`);
  const lease: NonceLease = { signer: signerKeyOf(deps.settings.chainId, latest.from), nonce: latest.nonce, owner: record.opportunity };
  const f: Following = {
    opportunity: record.opportunity,
    attempt: record.attemptId,
    block,
    plan,
    signer: deps.signers.find((s) => s.address.toLowerCase() === latest.from.toLowerCase()),
    lease,
    transactions,
    deadlineMs: input.receiptDeadlineMs,
    nowIso,
  };
  // Mined while we were away?
  const receipt = await deps.chain.receiptOfAny(transactions.map((tx) => tx.txHash), 0).catch(() => undefined);
  if (receipt) return settleReceipt(deps, f, receipt);
  if (latest.state === 'signed') {
    // The lease must still be ours before these bytes go out (it may have expired and been taken if the
    // worker died between the ledger write and the lease write).
    await markLeaseSigned(deps, { opportunity: record.opportunity, attempt: record.attemptId, block, lease, tx: latest, nowIso });
  }
  const broadcast = await deps.chain.broadcast(latest.rawTransaction);
  // A first transaction never known to be out is handled like a first broadcast (a refusal fails the attempt).
  // Otherwise a refusal means mined, replaced ("nonce too low") or still pending elsewhere: follow() settles
  // it from receipts and the nonce.
  if (broadcast.kind === 'rejected' && !(transactions.length === 1 && latest.state === 'signed')) return follow(deps, f);
  return afterBroadcast(deps, f, broadcast);
}
