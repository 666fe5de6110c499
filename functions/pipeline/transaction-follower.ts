/**
 * Follows an attempt's signed transactions (all at one nonce) to their end, for the transaction dispatcher
 * (transaction-dispatcher.ts): a first broadcast's refusal, then receipts, replacing the latest transaction by
 * nonce with a fee bump every `replaceAfterMs` (at most `maxReplacements` times, never past the replacement
 * budget, never above the gas price cap), `dropped` when the nonce is used by something else, and settling a
 * receipt (ledger final state, lease confirmed, breakers told the gas spent). No receipt before the deadline
 * throws PendingTransactionError: the redelivery resumes from the ledger.
 */
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import { mulDivUp } from '../domain';
import type { AttemptTransaction, FinalOutcome } from '../ports/liquidation-ledger';
import type { NonceLease } from '../ports/nonce-leases';
import type { BroadcastResult, ReceiptSummary, Signer } from '../ports/transactions';
import { type BestEffortContext, runBestEffort } from './best-effort';
import { messageOf, PendingTransactionError, RetryableBroadcastError } from './execution-failures';
import type { ExecutionPlan, PlanSubmission } from './execution-plan';
import type { DispatcherDeps, DispatchOutcome, ReplacementBudget } from './transaction-dispatcher';
import { attributeRevert } from './revert-attribution';

const BPS = 10_000n;
const WEI_PER_NATIVE = 10n ** 18n;

/** value × (1 + bps), rounded up so a bump is never lost to rounding. */
function bumped(value: bigint, bumpBps: bigint): bigint {
  return (value * (BPS + bumpBps) + BPS - 1n) / BPS;
}

function maxOf(...values: bigint[]): bigint {
  return values.reduce((a, b) => (a > b ? a : b));
}

export function isoNow(deps: DispatcherDeps): string {
  return new Date(deps.clock.nowMs()).toISOString();
}

/** An attempt whose transactions are signed at one nonce, followed to its end. */
export interface Following {
  opportunity: string;
  attempt: string;
  block: number;
  plan: ExecutionPlan;
  submission: PlanSubmission;
  budget: ReplacementBudget;
  /** The signer of the transactions, if it is still configured (needed to replace). */
  signer: Signer | undefined;
  lease: NonceLease;
  /** Oldest first; all at the lease's nonce. */
  transactions: AttemptTransaction[];
  deadlineMs: number;
}

export function contextOf(f: Following): BestEffortContext {
  return { opportunity: f.opportunity, nonce: f.lease.nonce, txHash: f.transactions[f.transactions.length - 1].txHash };
}


/** After a broadcast of the attempt's latest transaction: a refusal, or following it to a receipt. */
export async function afterBroadcast(deps: DispatcherDeps, f: Following, broadcast: BroadcastResult): Promise<DispatchOutcome> {
  const latest = f.transactions[f.transactions.length - 1];
  const now = () => deps.clock.nowMs();
  if (broadcast.kind === 'rejected' && f.transactions.length === 1) {
    if (broadcast.nonceUsed) {
      // Taken on chain by a transaction that is not this one: perhaps an earlier one of ours was mined.
      const receipt = await runBestEffort(deps.bestEffort, 'receipt-poll', () => deps.chain.receiptOfAny([latest.txHash], 0), contextOf(f));
      if (receipt) return settleReceipt(deps, f, receipt);
    }
    // In no mempool: `failed` frees the position and lets this attempt's redelivery take its claim again.
    const reason = `broadcast rejected: ${broadcast.reason}`;
    await deps.ledger.finish(f.opportunity, f.attempt, { kind: 'failed', reason, block: f.block }, isoNow(deps));
    if (broadcast.nonceUsed) await runBestEffort(deps.bestEffort, 'nonce-lease-confirm', () => deps.nonces.confirm(f.lease, now()), contextOf(f));
    else await runBestEffort(deps.bestEffort, 'nonce-lease-release', () => deps.nonces.release(f.lease, now()), contextOf(f));
    if (broadcast.retryable || broadcast.nonceUsed) throw new RetryableBroadcastError(broadcast.reason);
    return { kind: 'failed', stage: 'broadcast', reason };
  }
  if (broadcast.kind !== 'rejected') {
    try {
      await deps.ledger.recordSent(f.opportunity, f.attempt, latest.index, isoNow(deps));
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
export async function follow(deps: DispatcherDeps, f: Following): Promise<DispatchOutcome> {
  const { fees } = deps.settings;
  const now = () => deps.clock.nowMs();
  let lastBroadcastMs = now();
  for (;;) {
    deps.faults?.reach('before-receipt');
    const hashes = f.transactions.map((tx) => tx.txHash);
    const waitUntil = Math.min(f.deadlineMs, lastBroadcastMs + fees.replaceAfterMs);
    let receipt: ReceiptSummary | undefined;
    try {
      receipt = await deps.chain.receiptOfAny(hashes, Math.max(0, waitUntil - now()));
    } catch (error) {
      deps.bestEffort.failed('receipt-poll', error, contextOf(f));
      // A poll that fails at once must not shorten the round (nor replace early): wait out its time.
      await (deps.sleep ?? setTimeoutPromise)(Math.max(0, waitUntil - now()));
    }
    if (receipt) return settleReceipt(deps, f, receipt);
    const latest = f.transactions[f.transactions.length - 1];
    if (now() >= f.deadlineMs) throw new PendingTransactionError(f.opportunity, latest.txHash, 'no receipt before the deadline');

    const confirmed = await runBestEffort(deps.bestEffort, 'confirmed-nonce-read', () => deps.chain.confirmedNonce(latest.from), contextOf(f));
    if (confirmed !== undefined && confirmed > latest.nonce) {
      // The nonce is used. By one of ours (a receipt the poll has not seen yet) or by something else.
      const late = await runBestEffort(deps.bestEffort, 'receipt-poll', () => deps.chain.receiptOfAny(hashes, 0), contextOf(f));
      if (late) return settleReceipt(deps, f, late);
      const detail = `nonce ${latest.nonce} of ${latest.from} was used by another transaction; none of ${hashes.join(', ')} was mined`;
      await finishOrPending(deps, f, { kind: 'dropped', reason: detail });
      await runBestEffort(deps.bestEffort, 'nonce-lease-confirm', () => deps.nonces.confirm(f.lease, now()), contextOf(f));
      return { kind: 'dropped', txHash: latest.txHash, detail };
    }
    if (f.signer && f.transactions.length - 1 < fees.maxReplacements) await replace(deps, f, f.signer);
    lastBroadcastMs = now();
  }
}

/**
 * Replaces the latest transaction at the same nonce with fees bumped by at least `bumpBps` (and at least the
 * node's current suggestion), unless that would pass the gas price cap or spend the call's gross margin on gas:
 * then the latest transaction is simply left to be mined.
 */
async function replace(deps: DispatcherDeps, f: Following, signer: Signer): Promise<void> {
  const { fees, chainId } = deps.settings;
  const previous = f.transactions[f.transactions.length - 1];
  const suggested = await runBestEffort(deps.bestEffort, 'replacement-fees-read', async () => deps.chain.feesAfter(await deps.chain.latestBlock()), contextOf(f));
  if (!suggested) return; // Fees unknown this round: keep waiting, try again after the next period.
  const maxPriorityFeePerGasWei = maxOf(bumped(previous.maxPriorityFeePerGasWei, fees.bumpBps), suggested.maxPriorityFeePerGasWei);
  const maxFeePerGasWei = maxOf(bumped(previous.maxFeePerGasWei, fees.bumpBps), suggested.maxFeePerGasWei, maxPriorityFeePerGasWei);
  if (fees.gasPriceCapWei !== undefined && maxFeePerGasWei > fees.gasPriceCapWei) return;
  // The worst the replacement can pay for gas (its whole limit at its max fee), valued at the plan's native
  // price and rounded up (against the liquidator, as profit.ts values gas), may not reach the gross margin.
  const worstGasCostBase = mulDivUp(maxFeePerGasWei * previous.gasLimit, f.budget.nativePriceBase8, WEI_PER_NATIVE);
  if (worstGasCostBase >= f.budget.grossProfitBase) return;

  const { to, data } = f.submission;
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
    signedAt: isoNow(deps),
  };
  f.submission = { ...f.submission, replacements: f.submission.replacements + 1 };
  try {
    await deps.ledger.recordSigned(f.opportunity, f.attempt, tx, { ...f.plan, submission: f.submission }, isoNow(deps));
    await deps.nonces.markSigned(f.lease, { txHash: tx.txHash, rawTransaction: tx.rawTransaction }, deps.clock.nowMs());
  } catch (error) {
    throw new PendingTransactionError(f.opportunity, previous.txHash, `replacement not recorded: ${messageOf(error)}`);
  }
  f.transactions.push(tx);
  const broadcast = await deps.chain.broadcast(tx.rawTransaction);
  // Refused (e.g. underpriced for this node): the earlier transaction is still the live one; it stays `signed`.
  if (broadcast.kind === 'rejected') return;
  try {
    await deps.ledger.recordSent(f.opportunity, f.attempt, tx.index, isoNow(deps));
  } catch (error) {
    throw new PendingTransactionError(f.opportunity, tx.txHash, `replacement not recorded as sent: ${messageOf(error)}`);
  }
  tx.state = 'sent';
}

async function finishOrPending(deps: DispatcherDeps, f: Following, outcome: FinalOutcome<ExecutionPlan>): Promise<void> {
  try {
    await deps.ledger.finish(f.opportunity, f.attempt, outcome, isoNow(deps));
  } catch (error) {
    const latest = f.transactions[f.transactions.length - 1];
    throw new PendingTransactionError(f.opportunity, latest.txHash, `${outcome.kind} not recorded: ${messageOf(error)}`);
  }
}

/** A receipt of one of the attempt's transactions: ledger final state, lease confirmed, breakers told. */
export async function settleReceipt(deps: DispatcherDeps, f: Following, receipt: ReceiptSummary): Promise<DispatchOutcome> {
  deps.faults?.reach('after-receipt');
  const plan: ExecutionPlan = { ...f.plan, submission: { ...f.submission, effectiveGasPriceWei: receipt.effectiveGasPriceWei } };
  const context = { ...contextOf(f), txHash: receipt.txHash };
  // Why it reverted, replayed on the chain (best effort: without it the revert counts as ours).
  const explained =
    receipt.status === 'reverted' && deps.explainRevert
      ? await runBestEffort(deps.bestEffort, 'revert-explain', () => deps.explainRevert!(receipt.txHash), context)
      : undefined;
  // A refusal on oracle values after the oracle moved is the market's (revert-attribution.ts).
  const revert = explained ? await attributeRevert(deps, explained, f.plan, receipt.blockNumber, context) : undefined;
  const revertedIn = `reverted in block ${receipt.blockNumber}`;
  const outcome: FinalOutcome<ExecutionPlan> =
    receipt.status === 'success'
      ? { kind: 'mined', txHash: receipt.txHash, minedBlock: receipt.blockNumber, gasUsed: receipt.gasUsed, plan }
      : { kind: 'reverted', txHash: receipt.txHash, minedBlock: receipt.blockNumber, reason: revert ? `${revert.revertClass}: ${revert.reason} (${revertedIn})` : revertedIn, plan };
  await finishOrPending(deps, f, outcome);
  const nowMs = deps.clock.nowMs();
  // Best effort: a lease left `signed` below the confirmed nonce is harmless (allocation starts at the chain's
  // nonce). A missed breaker update is not harmless, only not worth failing a mined record for: the gas budget
  // and the revert streak miss this transaction, hence the alarm on BreakerUpdateFailures.
  await runBestEffort(deps.bestEffort, 'nonce-lease-confirm', () => deps.nonces.confirm(f.lease, nowMs), context);
  const breakers = deps.breakers;
  if (breakers) {
    const gasCostWei = receipt.gasUsed * receipt.effectiveGasPriceWei;
    const kind = outcome.kind === 'reverted' && revert?.revertClass === 'market-moved' ? 'reverted-by-market' : outcome.kind;
    await runBestEffort(deps.bestEffort, 'breaker-update', () => breakers.recordOutcome({ kind, gasCostWei }, nowMs), { ...context, gasCostWei: gasCostWei.toString() });
  }
  if (outcome.kind === 'mined') return { kind: 'mined', txHash: receipt.txHash, minedBlock: receipt.blockNumber, gasUsed: receipt.gasUsed, plan };
  return { kind: 'reverted', txHash: receipt.txHash, minedBlock: receipt.blockNumber, gasUsed: receipt.gasUsed, plan, reason: outcome.reason, ...(revert ? { revertClass: revert.revertClass } : {}) };
}
