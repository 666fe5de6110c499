/**
 * Executes one liquidation candidate, at most one transaction per opportunity (chain#pool#borrower#block):
 *
 *   1. read the position at the latest block N           HF ≥ 1 → `stale`; eMode → `skipped`
 *   2. fees after N, native price at N → cost model      selectPair → nothing profitable → `skipped`
 *   3. claim the opportunity in the ledger               already claimed → `duplicate`, nothing sent
 *   4. simulate at N                                     revert → `failed` with the decoded reason
 *   5. profit again with the simulated gas limit         → `skipped` (recorded)
 *   6. dry run → `dry-run` with the plan; else nonce → sign → record `sent` (write-ahead) → broadcast
 *   7. receipt before the deadline                       → `mined` / `reverted`; none → stays `sent`
 *
 * Steps 1–2 decide not to act and write nothing: the ledger holds claimed attempts only (what the keeper did),
 * decisions not to act are in the result, the logs and the metrics.
 *
 * Failures are classified once (`classifyFailure`, implemented beside the adapters): a retryable one is thrown
 * so SQS redelivers the message; a permanent one is recorded (once claimed) and returned as `failed`.
 * A redelivery of the same message (same `attempt`) may take its own claim again as long as nothing was
 * broadcast (see DynamoDbLiquidationLedger). From the write-ahead `sent` on, nothing throws: the transaction
 * may be out, so the attempt can never be retried, only reconciled from the ledger's `sent` state.
 *
 * Result fields are decimal strings (JSON-safe: the result is stored by Powertools idempotency).
 */
import {
  assessProfit,
  calculateAccountData,
  type CostModel,
  type Eip1559GasPrice,
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
import type { AttemptOutcome, LiquidationLedger } from '../ports/liquidation-ledger';
import { type CandidateMessage, deduplicationIdOf } from './candidate-message';

// ── Ports this use case needs that functions/ports does not hold yet (to move there) ────────────────────────

/** An EIP-1559 transaction to sign; amounts in wei, gas in gas units. */
export interface UnsignedTransaction {
  chainId: bigint;
  nonce: number;
  to: string;
  data: string;
  valueWei: bigint;
  gasLimit: bigint;
  maxFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
}

export interface SignedTransaction {
  /** 0x-prefixed serialized signed transaction, as eth_sendRawTransaction takes it. */
  raw: string;
  /** Its hash, known before it is broadcast (so it can be recorded first). */
  hash: string;
}

/** Holds the liquidator's key: a local key (LocalKeySigner) or KMS. */
export interface Signer {
  readonly address: string;
  signTransaction(tx: UnsignedTransaction): Promise<SignedTransaction>;
}

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

export type BroadcastResult =
  | { kind: 'accepted' }
  /** The node refused the transaction: it is in no mempool. `retryable`: a new nonce or fee may succeed. */
  | { kind: 'rejected'; reason: string; retryable: boolean }
  /** Transport failure: the transaction may or may not have reached the node. */
  | { kind: 'unknown'; reason: string };

export interface ReceiptSummary {
  status: 'success' | 'reverted';
  blockNumber: number;
  gasUsed: bigint;
  effectiveGasPriceWei: bigint;
}

/** What the worker needs from the chain beyond the protocol ports (EVM JSON-RPC). */
export interface ChainGateway {
  latestBlock(): Promise<number>;
  /** Fees for a transaction sent right after `block`: the next block's base fee, a priority fee, the max fee to offer. */
  feesAfter(block: number): Promise<Eip1559GasPrice>;
  /** Next nonce of `address`, pending transactions included. */
  pendingNonce(address: string): Promise<number>;
  broadcast(rawTransaction: string): Promise<BroadcastResult>;
  /** The receipt, or `undefined` if none arrived within `timeoutMs`. */
  receipt(txHash: string, timeoutMs: number): Promise<ReceiptSummary | undefined>;
}

export type FailureClass = 'retryable' | 'permanent';

// ── The use case ────────────────────────────────────────────────────────────────────────────────────────────

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
  dryRun: boolean;
}

/**
 * Serialises the sections of executions that number, sign and broadcast transactions of one signer, so that
 * several candidates can be worked on at once (reads, simulations, receipts) without two taking one nonce.
 * Local to one process: across processes, one signer needs a nonce lease (one worker instance per signer).
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
  signer: Signer;
  ledger: LiquidationLedger;
  clock: Clock;
  classifyFailure(error: unknown): FailureClass;
  settings: ExecutionSettings;
  /** Serialises numbering and broadcasting when candidates run concurrently; absent = calls run as they come. */
  sendLane?: SendLane;
}

export interface ExecuteCandidateInput {
  message: CandidateMessage;
  /** Identifies this delivery of the candidate (the SQS message id): the owner of the claim. */
  attempt: string;
  /** Stop waiting for the receipt at this time (clock ms); the transaction then stays `sent`. */
  receiptDeadlineMs: number;
}

/** The plan's numbers as decimal strings (amounts in token units, values in base currency, gas in wei). */
export type PlanSummary = Record<string, string>;

export type SkipReason = 'unsupported-position' | 'no-liquidatable-pair' | 'unprofitable';

export type ExecutionResult =
  | { kind: 'stale'; opportunity: string; block: number; healthFactorWad: string }
  | { kind: 'skipped'; opportunity: string; block: number; reason: SkipReason; detail: string }
  | { kind: 'duplicate'; opportunity: string; block: number }
  | { kind: 'dry-run'; opportunity: string; block: number; plan: PlanSummary }
  /** Broadcast (or possibly broadcast), no receipt before the deadline: reconciled later from the ledger. */
  | { kind: 'sent'; opportunity: string; block: number; txHash: string; plan: PlanSummary; detail: string }
  | { kind: 'mined'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: PlanSummary }
  | { kind: 'reverted'; opportunity: string; block: number; txHash: string; minedBlock: number; gasUsed: string; plan: PlanSummary }
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

/** A failure after the claim: recorded as `failed` (nothing was broadcast), then thrown or returned by class. */
class ClaimedFailure extends Error {
  constructor(
    readonly stage: FailureStage,
    cause: unknown,
  ) {
    super(`${stage}: ${messageOf(cause)}`, { cause });
    this.name = 'ClaimedFailure';
  }
}

/** Thrown when the node refused the transaction for a reason a later attempt can fix (nonce, fee). */
export class RetryableBroadcastError extends Error {
  readonly retryable = true;
  constructor(reason: string) {
    super(`broadcast rejected, retryable: ${reason}`);
    this.name = 'RetryableBroadcastError';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Decision =
  | { kind: 'result'; result: ExecutionResult }
  | { kind: 'liquidate'; block: number; selection: Extract<PairSelection, { kind: 'liquidate' }>; costs: CostModel };

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
  const costs: CostModel = {
    gasUnitsPerStep: settings.assumedGasPerStep,
    gasPrice,
    nativePriceBase8,
    swapCostBps: settings.swapCostBps,
    minProfitBase: settings.minProfitBase,
  };
  const selection = selectPair(read.position, { sizing: settings.sizing, costs, liquidator: deps.signer.address, receiveAToken: false });
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

export async function executeCandidate(deps: ExecuteCandidateDeps, input: ExecuteCandidateInput): Promise<ExecutionResult> {
  const { message, attempt } = input;
  const opportunity = deduplicationIdOf(message);
  const nowIso = () => new Date(deps.clock.nowMs()).toISOString();

  let readBlock: number | null = null;
  let decision: Decision;
  try {
    readBlock = await deps.chain.latestBlock();
    decision = await decide(deps, message, opportunity, readBlock);
  } catch (error) {
    // Nothing is claimed yet: retrying is always safe.
    if (deps.classifyFailure(error) === 'retryable') throw error;
    return { kind: 'failed', opportunity, block: readBlock, stage: 'decide', reason: messageOf(error) };
  }
  if (decision.kind === 'result') return decision.result;
  const { block, selection } = decision;

  let claimed: boolean;
  try {
    claimed = await deps.ledger.claim(opportunity, attempt, nowIso());
  } catch (error) {
    if (deps.classifyFailure(error) === 'retryable') throw error;
    return { kind: 'failed', opportunity, block, stage: 'claim', reason: messageOf(error) };
  }
  if (!claimed) return { kind: 'duplicate', opportunity, block };

  const plan = planSummary(decision, deps.settings.sizing.name);
  const step = selection.steps[0];
  const call: LiquidationCall = {
    collateralAsset: step.collateralAsset,
    debtAsset: step.debtAsset,
    user: message.borrower,
    debtToCoverUnits: step.debtToCoverUnits,
    receiveAToken: step.receiveAToken,
  };

  const context: PrepareContext = { opportunity, attempt, block, call, plan, decision, nowIso };
  let submitted: Awaited<ReturnType<typeof signAndBroadcast>>;
  try {
    const ready = await prepare(deps, context);
    if (ready.kind === 'result') return ready.result;
    submitted = await (deps.sendLane ?? DIRECT_LANE).run(() => signAndBroadcast(deps, { ...context, ready }));
  } catch (error) {
    // A broadcast that threw may have reached the node: the attempt stays `sent` and the error propagates
    // (never recorded as `failed`, which would let a redelivery sign a second transaction).
    if (error instanceof BroadcastThrew) throw error.cause;
    const failure = error instanceof ClaimedFailure ? error : new ClaimedFailure('prepare', error);
    const retryable = deps.classifyFailure(failure.cause) === 'retryable';
    const reason = `${retryable ? 'retryable' : 'permanent'} ${failure.message}`;
    // Recording `failed` releases the claim to this attempt's redelivery; if even that write fails, the
    // claim stays `claimed`, which the redelivery may also take again.
    await deps.ledger.record(opportunity, attempt, { kind: 'failed', reason, block }, nowIso());
    if (retryable) throw failure;
    return { kind: 'failed', opportunity, block, stage: failure.stage, reason };
  }
  return settle(deps, { opportunity, attempt, block, nowIso, receiptDeadlineMs: input.receiptDeadlineMs, ...submitted });
}

type Ready = { kind: 'ready'; plan: PlanSummary; gasLimit: bigint };

interface PrepareContext {
  opportunity: string;
  attempt: string;
  block: number;
  call: LiquidationCall;
  plan: PlanSummary;
  decision: Extract<Decision, { kind: 'liquidate' }>;
  nowIso: () => string;
}

/** Simulation, profit after the simulated gas, dry run: everything before the transaction is numbered. */
async function prepare(deps: ExecuteCandidateDeps, ctx: PrepareContext): Promise<Ready | { kind: 'result'; result: ExecutionResult }> {
  const { opportunity, attempt, block, call, decision } = ctx;
  const record = (outcome: AttemptOutcome) => deps.ledger.record(opportunity, attempt, outcome, ctx.nowIso());

  const simulation = await deps.simulator.simulate(call, deps.signer.address, block).catch((error: unknown) => {
    throw new ClaimedFailure('simulate', error);
  });
  if (simulation.kind === 'revert') {
    // The domain predicted success on this very block: a revert means a model gap or a liquidator without
    // funds or allowance. Either needs a person, so it is `failed` (alarmed), not `skipped`.
    const reason = `simulation reverted: ${simulation.reason}`;
    await record({ kind: 'failed', reason, block });
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
    await record({ kind: 'skipped', reason: `unprofitable: ${detail}`, block });
    return { kind: 'result', result: { kind: 'skipped', opportunity, block, reason: 'unprofitable', detail } };
  }
  if (deps.settings.dryRun) {
    await record({ kind: 'dry-run', block, plan });
    return { kind: 'result', result: { kind: 'dry-run', opportunity, block, plan } };
  }

  return { kind: 'ready', plan, gasLimit: simulation.gasLimit };
}

/**
 * Numbers, signs, writes ahead and broadcasts: the part of an execution that must not interleave with another
 * for the same signer, so it runs inside the signer's send lane. The node's pending count is the next nonce:
 * each lane section reads it after the previous section's broadcast, so nonces never collide, and a section
 * that fails before broadcasting leaves no gap. Errors before the broadcast are ClaimedFailures (nothing is
 * out); the broadcast itself reports a result and is never retried here.
 */
async function signAndBroadcast(
  deps: ExecuteCandidateDeps,
  ctx: PrepareContext & { ready: Ready },
): Promise<{ signed: SignedTransaction; plan: PlanSummary; broadcast: BroadcastResult }> {
  let signed: SignedTransaction;
  let sentPlan: PlanSummary;
  try {
    const nonce = await deps.chain.pendingNonce(deps.signer.address);
    const { to, data } = deps.simulator.buildTransaction(ctx.call);
    const { gasPrice } = ctx.decision.costs;
    signed = await deps.signer.signTransaction({
      chainId: deps.settings.chainId,
      nonce,
      to,
      data,
      valueWei: 0n,
      gasLimit: ctx.ready.gasLimit,
      maxFeePerGasWei: gasPrice.maxFeePerGasWei,
      maxPriorityFeePerGasWei: gasPrice.maxPriorityFeePerGasWei,
    });
    sentPlan = { ...ctx.ready.plan, nonce: String(nonce), from: deps.signer.address };
    // Write-ahead: the hash is in the ledger before the transaction can exist anywhere, so a crash after the
    // broadcast leaves a `sent` attempt to reconcile, never an unknown transaction.
    await deps.ledger.record(ctx.opportunity, ctx.attempt, { kind: 'sent', txHash: signed.hash, block: ctx.block, plan: sentPlan }, ctx.nowIso());
  } catch (error) {
    throw error instanceof ClaimedFailure ? error : new ClaimedFailure('prepare', error);
  }
  let broadcast: BroadcastResult;
  try {
    broadcast = await deps.chain.broadcast(signed.raw);
  } catch (error) {
    throw new BroadcastThrew(error);
  }
  return { signed, plan: sentPlan, broadcast };
}

/** Marks an error thrown by the broadcast itself, after the write-ahead `sent`. */
class BroadcastThrew extends Error {
  constructor(cause: unknown) {
    super(`broadcast threw: ${messageOf(cause)}`, { cause });
    this.name = 'BroadcastThrew';
  }
}

interface SendContext {
  opportunity: string;
  attempt: string;
  block: number;
  signed: SignedTransaction;
  plan: PlanSummary;
  broadcast: BroadcastResult;
  receiptDeadlineMs: number;
  nowIso: () => string;
}

/** After the broadcast: a refusal, or the receipt. The transaction may be out from here on. */
async function settle(deps: ExecuteCandidateDeps, ctx: SendContext): Promise<ExecutionResult> {
  const { opportunity, attempt, block, signed, plan, broadcast } = ctx;
  const txHash = signed.hash;

  if (broadcast.kind === 'rejected') {
    // In no mempool: `failed` releases the claim to this attempt's redelivery when a retry can help.
    const reason = `broadcast rejected: ${broadcast.reason}`;
    await deps.ledger.record(opportunity, attempt, { kind: 'failed', reason, block }, ctx.nowIso());
    if (broadcast.retryable) throw new RetryableBroadcastError(broadcast.reason);
    return { kind: 'failed', opportunity, block, stage: 'broadcast', reason };
  }

  let receipt: ReceiptSummary | undefined;
  let detail = broadcast.kind === 'unknown' ? `broadcast uncertain (${broadcast.reason}); ` : '';
  try {
    receipt = await deps.chain.receipt(txHash, Math.max(0, ctx.receiptDeadlineMs - deps.clock.nowMs()));
  } catch (error) {
    detail += `receipt not read: ${messageOf(error)}`;
  }
  if (!receipt) {
    return { kind: 'sent', opportunity, block, txHash, plan, detail: detail || 'no receipt before the deadline' };
  }

  const gasUsed = receipt.gasUsed.toString();
  const minedPlan: PlanSummary = { ...plan, effectiveGasPriceWei: receipt.effectiveGasPriceWei.toString() };
  const result: ExecutionResult =
    receipt.status === 'success'
      ? { kind: 'mined', opportunity, block, txHash, minedBlock: receipt.blockNumber, gasUsed, plan: minedPlan }
      : { kind: 'reverted', opportunity, block, txHash, minedBlock: receipt.blockNumber, gasUsed, plan: minedPlan };
  const outcome: AttemptOutcome =
    result.kind === 'mined'
      ? { kind: 'mined', txHash, block, minedBlock: receipt.blockNumber, gasUsed: receipt.gasUsed, plan: minedPlan }
      : { kind: 'reverted', txHash, block, minedBlock: receipt.blockNumber, reason: `reverted in block ${receipt.blockNumber}`, plan: minedPlan };
  try {
    await deps.ledger.record(opportunity, attempt, outcome, ctx.nowIso());
  } catch (error) {
    // The attempt stays `sent` in the ledger (safe: never retried), to be reconciled; the result is still true.
    return { kind: 'sent', opportunity, block, txHash, plan: minedPlan, detail: `${result.kind} in block ${receipt.blockNumber}, ledger not updated: ${messageOf(error)}` };
  }
  return result;
}
