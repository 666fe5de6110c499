/**
 * Owns a transaction's life, from a typed call to its end (the shape of Euler's liquidation-bot-v3 dispatcher):
 *
 *   signer slot → nonce lease → sign → ledger `signed` (the raw bytes: write-ahead) → lease `signed` → broadcast
 *   → ledger `sent` → receipt, replacing by nonce with a fee bump every `replaceAfterMs` (at most
 *   `maxReplacements` times, never past the call's replacement budget, never above the gas price cap)
 *   → settle: ledger `mined` / `reverted`, lease confirmed, breakers told the gas spent.
 *
 * The nonce used by something else ends the attempt `dropped`; no receipt before the deadline throws
 * PendingTransactionError (retryable: the redelivery resumes). `resume` continues an attempt the ledger holds as
 * `signed`/`sent`: the stored bytes are re-broadcast (a node answers "already known" or "nonce too low" if they
 * are out), never re-signed.
 *
 * Of what is being called it knows `to`, `data` and `gasLimit` only; the plan travels with the transaction to the
 * ledger and back, and the dispatcher writes only the plan's `submission` (the transaction that carries it).
 * Following a broadcast transaction to its end is transaction-follower.ts.
 * Best-effort steps (lease updates, breaker update, receipt and nonce polls) report their failures to
 * `bestEffort` and carry on.
 */
import type { Eip1559GasPrice } from '../domain';
import type { BreakerOutcome } from '../ports/circuit-breakers';
import type { Clock } from '../ports/clock';
import type { RevertClass } from '../ports/liquidator-contract';
import type { AttemptRecord, AttemptTransaction, LiquidationLedger } from '../ports/liquidation-ledger';
import { type NonceLease, NonceLeaseLostError, type NonceLeases, signerKeyOf } from '../ports/nonce-leases';
import type { BroadcastResult, ChainGateway, Signer } from '../ports/transactions';
import { type BestEffort, runBestEffort } from './best-effort';
import { ClaimedFailure, failClaimedAttempt, type FailureClass, PendingTransactionError } from './execution-failures';
import type { ExecutionFaults } from './execution-faults';
import { type ExecutionPlan, MalformedPlanError, type PlanSubmission } from './execution-plan';
import { DIRECT_LANE, type SendLane } from './send-lane';
import { chooseSigner, confirmedNonceWithSlot } from './signer-slots';
import { afterBroadcast, contextOf, follow, type Following, isoNow, settleReceipt } from './transaction-follower';

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

export interface DispatcherSettings {
  chainId: bigint;
  fees: FeePolicy;
  /** At most this many transactions of one signer pending at once (signer-slots.ts); undefined = no limit. */
  maxPendingPerSigner?: number;
}

export interface DispatcherDeps {
  chain: ChainGateway;
  /** One or more keys; new attempts take them in turn, a resumed attempt uses the key that signed it. */
  signers: readonly Signer[];
  ledger: LiquidationLedger<ExecutionPlan>;
  nonces: NonceLeases;
  /** Told the gas and outcome of every settled transaction (daily gas budget, revert streak). */
  breakers?: { recordOutcome(outcome: BreakerOutcome, nowMs: number): Promise<void> };
  clock: Clock;
  classifyFailure(error: unknown): FailureClass;
  settings: DispatcherSettings;
  /** The lane of each signer (by address); absent = sections run as they come. */
  sendLane?: (signerAddress: string) => SendLane;
  faults?: ExecutionFaults;
  /** Waits for a signer slot, or out a receipt round after a failed poll (tests inject a fake clock's). */
  sleep?: (ms: number) => Promise<void>;
  bestEffort: BestEffort;
  /**
   * Why a mined transaction reverted, and whether the market or our plan is to blame: a `market-moved` revert is
   * recorded with its reason and spends gas against the daily budget but does not count towards the revert streak.
   * Absent: every revert counts.
   */
  explainRevert?: (txHash: string) => Promise<{ reason: string; revertClass: RevertClass }>;
  /**
   * The market's oracle prices at a block: a revert the Pool decides on oracle values (MustNotLeaveDust) is the
   * market's, not the plan's, when a price of its pair moved between the plan and the block it was mined in
   * (revert-attribution.ts). Absent: such reverts count as ours.
   */
  oraclePrices?: OraclePriceSource;
}

/** The lending market's oracle prices (base currency, 8 decimals) of `assets` at `block`, in their order. */
export interface OraclePriceSource {
  pricesBase8At(block: number, assets: readonly string[]): Promise<bigint[]>;
}

/** What gas a fee-bumped replacement may cost at most. */
export interface ReplacementBudget {
  /** The margin before gas (base currency, 8 decimals): a replacement whose worst-case gas cost reaches it is not signed. */
  grossProfitBase: bigint;
  /** Price of the gas token (base currency, 8 decimals) that values the gas. */
  nativePriceBase8: bigint;
}

/** A new attempt's transaction, as the use case hands it over once the opportunity is claimed. */
export interface TransactionCall {
  opportunity: string;
  /** The claim's owner. */
  attempt: string;
  /** The block the call was decided and simulated at. */
  block: number;
  /** From chooseSigner(). */
  signer: Signer;
  to: string;
  data: string;
  gasLimit: bigint;
  /** Fees the call was priced at; the max fee is capped at the gas price cap. */
  fees: Eip1559GasPrice;
  replacementBudget: ReplacementBudget;
  plan: ExecutionPlan;
  /** Ledger index of the first transaction (a retaken claim numbers after its earlier round's). */
  firstIndex: number;
  /** Stop following at this time (clock ms): the attempt is then left pending for the redelivery. */
  deadlineMs: number;
}

/** An attempt the ledger holds as `signed`/`sent`, to be continued. */
export interface ResumedCall {
  record: AttemptRecord<ExecutionPlan>;
  /** The record's plan (decoded): its `submission` is what a replacement re-signs. */
  plan: ExecutionPlan;
  replacementBudget: ReplacementBudget;
  deadlineMs: number;
}

export type DispatchOutcome =
  | { kind: 'mined'; txHash: string; minedBlock: number; gasUsed: bigint; plan: ExecutionPlan }
  /** `reason` as the ledger records it; `revertClass` when the revert was explained (DispatcherDeps.explainRevert). */
  | { kind: 'reverted'; txHash: string; minedBlock: number; gasUsed: bigint; plan: ExecutionPlan; reason: string; revertClass?: RevertClass }
  /** None of the attempt's transactions was mined; their nonce was used by another transaction. */
  | { kind: 'dropped'; txHash: string; detail: string }
  /** A permanent failure before anything was out (recorded `failed` in the ledger). */
  | { kind: 'failed'; stage: 'prepare' | 'broadcast'; reason: string };

export interface TransactionDispatcher {
  /** The key for a new attempt: keys in turn, skipping keys at their pending cap. */
  chooseSigner(): Promise<Signer>;
  /** Leases, signs, records, broadcasts and follows a claimed attempt's transaction to its end. */
  dispatch(call: TransactionCall): Promise<DispatchOutcome>;
  /** Continues an attempt from the ledger (after a crash, a timeout or a pending deadline). */
  resume(call: ResumedCall): Promise<DispatchOutcome>;
}

export function createTransactionDispatcher(deps: DispatcherDeps): TransactionDispatcher {
  return {
    chooseSigner: () => chooseSigner(deps),
    dispatch: (call) => dispatch(deps, call),
    resume: (call) => resume(deps, call),
  };
}

/** Time kept for signing and the receipt after waiting for a signer slot. */
const SIGNER_WAIT_RESERVE_MS = 10_000;

async function dispatch(deps: DispatcherDeps, call: TransactionCall): Promise<DispatchOutcome> {
  let sent: Sent;
  try {
    sent = await (deps.sendLane?.(call.signer.address) ?? DIRECT_LANE).run(() => signAndBroadcast(deps, call));
  } catch (error) {
    // Only preparation (slot, lease, signature) fails as a ClaimedFailure here.
    if (!(error instanceof ClaimedFailure)) throw error;
    return failClaimedAttempt(deps, { opportunity: call.opportunity, attempt: call.attempt, block: call.block, nowIso: isoNow(deps) }, error as ClaimedFailure<'prepare'>);
  }
  const f: Following = {
    opportunity: call.opportunity,
    attempt: call.attempt,
    block: call.block,
    plan: call.plan,
    submission: sent.submission,
    budget: call.replacementBudget,
    signer: call.signer,
    lease: sent.lease,
    transactions: [sent.tx],
    deadlineMs: call.deadlineMs,
  };
  return afterBroadcast(deps, f, sent.broadcast);
}

interface Sent {
  lease: NonceLease;
  tx: AttemptTransaction;
  submission: PlanSubmission;
  broadcast: BroadcastResult;
}

/**
 * Leases a nonce, signs, records the signed bytes (ledger, then lease) and broadcasts. Until the ledger write a
 * failure is a ClaimedFailure (nothing can be out: the lease is released); after it, errors propagate and the
 * redelivery resumes from what the ledger holds.
 */
async function signAndBroadcast(deps: DispatcherDeps, call: TransactionCall): Promise<Sent> {
  const { signer } = call;
  const { chainId, fees } = deps.settings;
  const now = () => deps.clock.nowMs();
  let lease: NonceLease;
  try {
    const chainNonce = await confirmedNonceWithSlot(deps, signer, call.deadlineMs - SIGNER_WAIT_RESERVE_MS);
    lease = await deps.nonces.allocate(signerKeyOf(chainId, signer.address), call.opportunity, chainNonce, now());
  } catch (error) {
    throw new ClaimedFailure('prepare', error);
  }
  let tx: AttemptTransaction;
  try {
    const cap = fees.gasPriceCapWei;
    const maxFeePerGasWei = cap !== undefined && call.fees.maxFeePerGasWei > cap ? cap : call.fees.maxFeePerGasWei;
    const maxPriorityFeePerGasWei = call.fees.maxPriorityFeePerGasWei > maxFeePerGasWei ? maxFeePerGasWei : call.fees.maxPriorityFeePerGasWei;
    const signed = await signer.signTransaction({ chainId, nonce: lease.nonce, to: call.to, data: call.data, valueWei: 0n, gasLimit: call.gasLimit, maxFeePerGasWei, maxPriorityFeePerGasWei });
    tx = { index: call.firstIndex, txHash: signed.hash, rawTransaction: signed.raw, from: signer.address, nonce: lease.nonce, gasLimit: call.gasLimit, maxFeePerGasWei, maxPriorityFeePerGasWei, state: 'signed', signedAt: isoNow(deps) };
  } catch (error) {
    // Nothing was signed: the nonce is free again (if this fails, the lease expires unsigned and is taken over).
    await runBestEffort(deps.bestEffort, 'nonce-lease-release', () => deps.nonces.release(lease, now()), { opportunity: call.opportunity, nonce: lease.nonce });
    throw new ClaimedFailure('prepare', error);
  }
  const submission: PlanSubmission = { from: signer.address, nonce: lease.nonce, to: call.to, data: call.data, replacements: 0 };
  // Write-ahead: the bytes are in the ledger before they can exist anywhere else.
  await deps.ledger.recordSigned(call.opportunity, call.attempt, tx, { ...call.plan, submission }, isoNow(deps));
  await markLeaseSigned(deps, { opportunity: call.opportunity, attempt: call.attempt, block: call.block, lease, tx });
  deps.faults?.reach('after-sign');
  const broadcast = await deps.chain.broadcast(tx.rawTransaction);
  deps.faults?.reach('after-broadcast');
  return { lease, tx, submission, broadcast };
}

/**
 * lease → signed. Losing the lease means it expired before this point and another attempt took the nonce:
 * nothing of ours was broadcast, so the attempt ends `failed` and the redelivery starts over.
 */
async function markLeaseSigned(deps: DispatcherDeps, at: { opportunity: string; attempt: string; block: number; lease: NonceLease; tx: AttemptTransaction }): Promise<void> {
  try {
    await deps.nonces.markSigned(at.lease, { txHash: at.tx.txHash, rawTransaction: at.tx.rawTransaction }, deps.clock.nowMs());
  } catch (error) {
    if (error instanceof NonceLeaseLostError) {
      const reason = `retryable ${error.message}: nothing was broadcast`;
      await deps.ledger.finish(at.opportunity, at.attempt, { kind: 'failed', reason, block: at.block }, isoNow(deps));
    }
    throw error;
  }
}


/**
 * Continues an attempt from the ledger after a crash, a timeout or a pending deadline: the stored bytes are
 * re-broadcast (a node answers "already known" or "nonce too low" if they are out), never re-signed.
 */
async function resume(deps: DispatcherDeps, call: ResumedCall): Promise<DispatchOutcome> {
  const { record, plan } = call;
  // Transactions of an earlier failed round of this delivery never went out (`dropped`): not followed.
  const transactions = record.transactions.filter((tx) => tx.state !== 'dropped').map((tx) => ({ ...tx }));
  const latest = transactions[transactions.length - 1];
  const block = record.block ?? 0;
  if (!latest) throw new PendingTransactionError(record.opportunity, '(none)', `ledger state ${record.state} without a transaction`);
  if (!plan.submission) throw new MalformedPlanError(`ledger ${record.opportunity}`, [`from, nonce, to, data: required for an attempt in state ${record.state}`]);
  const lease: NonceLease = { signer: signerKeyOf(deps.settings.chainId, latest.from), nonce: latest.nonce, owner: record.opportunity };
  const f: Following = {
    opportunity: record.opportunity,
    attempt: record.attemptId,
    block,
    plan,
    submission: plan.submission,
    budget: call.replacementBudget,
    signer: deps.signers.find((s) => s.address.toLowerCase() === latest.from.toLowerCase()),
    lease,
    transactions,
    deadlineMs: call.deadlineMs,
  };
  // Mined while we were away?
  const receipt = await runBestEffort(deps.bestEffort, 'receipt-poll', () => deps.chain.receiptOfAny(transactions.map((tx) => tx.txHash), 0), contextOf(f));
  if (receipt) return settleReceipt(deps, f, receipt);
  if (latest.state === 'signed') {
    // The lease must still be ours before these bytes go out (it may have expired and been taken if the
    // worker died between the ledger write and the lease write).
    await markLeaseSigned(deps, { opportunity: record.opportunity, attempt: record.attemptId, block, lease, tx: latest });
  }
  const broadcast = await deps.chain.broadcast(latest.rawTransaction);
  // A first transaction never known to be out is handled like a first broadcast (a refusal fails the attempt).
  // Otherwise a refusal means mined, replaced ("nonce too low") or still pending elsewhere: follow() settles
  // it from receipts and the nonce.
  if (broadcast.kind === 'rejected' && !(transactions.length === 1 && latest.state === 'signed')) return follow(deps, f);
  return afterBroadcast(deps, f, broadcast);
}
