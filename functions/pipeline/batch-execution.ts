/**
 * Several claimed candidates of one worker invocation sent as ONE `liquidateBatch` transaction of our contract
 * (batch-session.ts gathers them). Each member keeps its own ledger attempt, claimed as a single one would be
 * (one attempt per opportunity, one in flight per position); the transaction belongs to a batch attempt of its
 * own, `batch#<chain>#<pool>#<block>#<members' hash>`, which the dispatcher signs, records, broadcasts, replaces
 * and resumes exactly like a single attempt's. A member ends with what the receipt says its item did.
 *
 *   1. price: the batch is simulated at the newest decision block without its guards; each item's outcome is
 *      what it would really do after the items before it (the same pool sold into by several items pays each
 *      one less than an independent quote says). A failed item leaves the batch (`skipped` if the market moved,
 *      else `failed`), an item unprofitable after its share of the gas leaves it `skipped`; repeat without them.
 *      The batch is also simulated, unguarded, on the node's pending block (salesAhead): what each item would get
 *      behind the transactions waiting in the mempool, the keeper's other batches selling into the same pools among
 *      them.
 *   2. guard and confirm: each item's profit guard from its simulated output and its bound from the lesser of its
 *      two outputs (boundAfterSalesAhead), simulated again at the read block: every item must succeed with exactly
 *      the profit measured (same state, same bytes), or it leaves the batch. A first disagreement of the two runs
 *      (or an arithmetic panic of the Pool's in step 1) is the node's state moving under the block: the round is
 *      simulated once more first.
 *   3. dry run → each member `dry-run`. Else claim the batch attempt, record every member `batched` (item index),
 *      then the dispatcher: lease, sign, ledger `signed` (write-ahead), broadcast, receipt, replacements.
 *   4. settle: the receipt's item events → each member `mined` (its item succeeded) or `reverted` (its item
 *      failed: the reason and whether the market caused it); a reverted or dropped batch ends every member so.
 *
 * A batch left with one member is sent alone (`liquidate`, cheaper than a batch of one), and so is every member
 * when a step they share (choosing the key, simulating the batch) meets a node error: one flaky call must not
 * send ten candidates back to the queue.
 *
 * After a crash, a redelivered member finds itself `batched` and follows the batch attempt: resumed from the
 * ledger's bytes if it is in flight (once per invocation however many of its members come back together),
 * read from the ledger and the receipt if it ended, abandoned (and the member claimed anew) if it was never
 * signed.
 */
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import { keccak256, toUtf8Bytes } from 'ethers';
import { amountOutMinimumOf, assessFundedLiquidation, type FundedLiquidation, type Proceeds } from '../domain';
import type { BatchItemOutcome, BatchLiquidatorContract, LiquidatorCall } from '../ports/liquidator-contract';
import { type AttemptRecord, type FinalOutcome, IN_FLIGHT_ATTEMPT_STATES } from '../ports/liquidation-ledger';
import type { Signer } from '../ports/transactions';
import { type BatchSession, createBatchSession } from './batch-session';
import type {
  ExecuteCandidateDeps,
  ExecutionResult,
  LiquidateDecision,
  RealizedLiquidation,
} from './execute-candidate';
import { executionPlanOf, FollowedUpdateLandedError, replacementBudgetOf, sendAlone } from './execute-candidate';
import { runBestEffort } from './best-effort';
import { messageOf, PendingTransactionError } from './execution-failures';
import { encodePlan, type ExecutionPlan, MalformedPlanError } from './execution-plan';
import { liquidatorCallOf } from './funded-plan';
import { createTransactionDispatcher, type DispatchOutcome } from './transaction-dispatcher';
import { attributeRevert } from './revert-attribution';

/** Pause before a batch round whose simulations disagreed is simulated again (see executeBatch). */
const DISAGREEMENT_REREAD_MS = 250;

/**
 * An arithmetic panic in the Pool's own accounting at the read block: the node's state ran ahead of the block (see
 * classifyWorkerFailure), not something the plan did.
 */
function isStateRace(reason: string): boolean {
  return /^Panic\(17\)/.test(reason);
}

/** The node answered two simulations of one block differently: retryable (the member is redelivered). */
export class ChainDisagreedError extends Error {
  readonly retryable = true;
  constructor(
    readonly opportunity: string,
    detail: string,
  ) {
    super(`${opportunity}: ${detail}`);
    this.name = 'ChainDisagreedError';
  }
}

/** A claimed, planned candidate waiting to be sent. */
export interface BatchMember {
  opportunity: string;
  /** The claim's owner (the SQS message id). */
  attempt: string;
  /** `chainId#pool` of the candidate. */
  market: string;
  decision: LiquidateDecision;
  receiptDeadlineMs: number;
  /** Ledger index of a first transaction sent alone (a retaken claim numbers after its earlier round's). */
  firstIndex: number;
}

/**
 * `follows`: the pending oracle update this session's batches follow and the deps that apply it (read with it,
 * pay its fees); only candidates following that update join it, and they decide with those deps.
 */
export type ExecutionBatchSession = BatchSession<BatchMember, ExecutionResult> & { follows?: { txHash: string; deps: ExecuteCandidateDeps } };

export interface BatchSessionSettings {
  /** Records of the invocation that may join. */
  participants: number;
  maxBatchSize: number;
  /** Longest wait for the other records after the first joins; default 3 s. */
  maxWaitMs?: number;
}

/** A session for one invocation: its batches are executed with `deps`. */
export function executionBatchSession(deps: ExecuteCandidateDeps, settings: BatchSessionSettings & { follows?: string }): ExecutionBatchSession {
  const session = createBatchSession<BatchMember, ExecutionResult>({
    participants: settings.participants,
    maxBatchSize: settings.maxBatchSize,
    maxWaitMs: settings.maxWaitMs ?? 3_000,
    participantOf: (member) => member.attempt,
    flush: (members) => executeBatch(deps, members),
  });
  return settings.follows === undefined ? session : { ...session, follows: { txHash: settings.follows, deps } };
}

/** Whether `liquidator` can send batches (the port's optional part). */
export function supportsBatches(liquidator: ExecuteCandidateDeps['liquidator']): liquidator is BatchLiquidatorContract {
  return typeof (liquidator as Partial<BatchLiquidatorContract>).simulateBatch === 'function';
}

type Results = Map<string, ExecutionResult | Error>;

/** A member priced inside the batch: its funded liquidation as simulated after the items before it. */
interface Priced {
  member: BatchMember;
  funded: FundedLiquidation;
  outcome: Extract<BatchItemOutcome, { ok: true }>;
}

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A member's end: its final outcome in the ledger, then its result; if the write fails, the error is its result. */
async function endMember(
  deps: ExecuteCandidateDeps,
  results: Results,
  member: { opportunity: string; attempt: string },
  final: FinalOutcome<ExecutionPlan>,
  result: ExecutionResult,
): Promise<void> {
  try {
    await deps.ledger.finish(member.opportunity, member.attempt, final, new Date(deps.clock.nowMs()).toISOString());
    results.set(member.attempt, result);
  } catch (error) {
    results.set(member.attempt, errorOf(error));
  }
}

/** Sends `members` as one transaction (or alone if only one is left); a result or an error for each, by attempt. */
export async function executeBatch(deps: ExecuteCandidateDeps, members: readonly BatchMember[]): Promise<Results> {
  const results: Results = new Map();
  const nowIso = () => new Date(deps.clock.nowMs()).toISOString();
  const alone = async (member: BatchMember, signer?: Signer) => {
    results.set(member.attempt, await sendAlone(deps, member, signer).catch(errorOf));
    return results;
  };
  if (members.length === 1 || !supportsBatches(deps.liquidator)) {
    await Promise.all(members.map((member) => alone(member)));
    return results;
  }
  const liquidator = deps.liquidator;
  const dispatcher = createTransactionDispatcher(deps);

  // A member leaves the batch with its own outcome (ledger and result).
  const leave = (member: BatchMember, outcome: FinalOutcome<ExecutionPlan>, result: ExecutionResult) => endMember(deps, results, member, outcome, result);
  /**
   * The member comes back through SQS: its claim ends `failed` first (a retryable reason), which frees its position
   * and lets the redelivery claim again; left `claimed`, a redelivery that then finds the account healthy would
   * never release the position, and every later candidate for the account would wait `in-flight` behind it.
   */
  const retryLater = async (member: BatchMember, error: Error) => {
    await runBestEffort(
      deps.bestEffort,
      'claim-release',
      () => deps.ledger.finish(member.opportunity, member.attempt, { kind: 'failed', reason: `retryable: ${error.message}`, block: member.decision.block }, nowIso()),
      { opportunity: member.opportunity },
    );
    results.set(member.attempt, error);
  };
  /** A permanent failure of a step the members share ends them all `failed`. */
  const failAll = async (live: readonly BatchMember[], error: unknown, stage: 'simulate' | 'prepare') => {
    const reason = `permanent ${stage}: ${messageOf(error)}`;
    await Promise.all(
      live.map((m) => leave(m, { kind: 'failed', reason, block: m.decision.block }, { kind: 'failed', opportunity: m.opportunity, block: m.decision.block, stage, reason })),
    );
    return results;
  };

  // A node error in a step the members share would fail them all (and bring each back once more towards its
  // dead-letter limit): they go alone instead, each failing or succeeding on its own calls.
  const aloneAfter = async (live: readonly BatchMember[], error: unknown) => {
    if (deps.classifyFailure(error) !== 'retryable') return failAll(live, error, 'simulate');
    await Promise.all(live.map((member) => alone(member)));
    return results;
  };
  const block = Math.max(...members.map((m) => m.decision.block));
  let signer: Signer;
  try {
    signer = await dispatcher.chooseSigner();
  } catch (error) {
    return aloneAfter(members, error);
  }

  // 1–2. Price in the batch, then guard and confirm; at most a few rounds (each round only removes members).
  let live = [...members];
  let priced: Priced[] | undefined;
  let gas = { gasEstimate: 0n, gasLimit: 0n };
  /**
   * Two simulations of one block that disagree (an arithmetic panic in the Pool's own accounting, a guarded item
   * whose profit differs from the unguarded run's) mean the node's state moved under the block: anvil answering for
   * block N while it seals N + 1. The round is simulated once more after a pause, as the position reader asks a
   * panicked lens call again (every one measured answered 300 ms later); only a disagreement that persists sends a
   * member back through the queue.
   */
  let askedAgain = false;
  const askAgain = async () => {
    askedAgain = true;
    await (deps.sleep ?? setTimeoutPromise)(DISAGREEMENT_REREAD_MS);
  };
  for (let round = 0; round < 5 && live.length > 1 && !priced; round++) {
    // The pending block's simulation runs beside the read block's: it costs the batch no time.
    const [measured, ahead] = await Promise.all([
      liquidator.simulateBatch(live.map((m) => unguarded(m.decision.choice.call)), signer.address, block).catch((error: unknown) => error as Error),
      salesAhead(deps, liquidator, live, signer.address, block),
    ]);
    if (measured instanceof Error) return aloneAfter(live, measured);
    if (measured.kind === 'revert') {
      const reason = `batch simulation reverted: ${measured.reason}`;
      await Promise.all(live.map((m) => leave(m, { kind: 'failed', reason, block }, { kind: 'failed', opportunity: m.opportunity, block, stage: 'simulate', reason })));
      return results;
    }
    if (!askedAgain && measured.items.some((item) => !item.ok && isStateRace(item.reason))) {
      await askAgain();
      continue;
    }
    const share = ceilDiv(maxOf(measured.gasLimit, ahead?.gasLimit ?? 0n), BigInt(live.length));
    const kept: Priced[] = [];
    await Promise.all(
      live.map(async (member, index) => {
        const outcome = measured.items[index];
        const item = outcome ? await pricedOrLeft(deps, member, outcome, share, block, leave, retryLater, ahead?.items[index]) : undefined;
        if (item) kept.push(item);
        else if (!outcome) await leave(member, { kind: 'failed', reason: `the batch simulation returned no item ${index}`, block }, { kind: 'failed', opportunity: member.opportunity, block, stage: 'simulate', reason: `no item ${index}` });
      }),
    );
    kept.sort((a, b) => live.indexOf(a.member) - live.indexOf(b.member));
    if (kept.length !== live.length) {
      live = kept.map((p) => p.member);
      continue;
    }
    // Guarded: each item's bound and profit guard follow from what it was simulated to do. Beside it, the gas of
    // the same batch with every item failing at its last guard (the limit must cover it).
    const guardedCalls = kept.map((p) => liquidatorCallOf(p.funded));
    const [confirmed, worst] = await Promise.all([
      liquidator.simulateBatch(guardedCalls, signer.address, block).catch((error: unknown) => error as Error),
      worstCaseGas(deps, liquidator, guardedCalls, signer.address, block),
    ]);
    if (confirmed instanceof Error) return aloneAfter(live, confirmed);
    if (confirmed.kind === 'revert') {
      const reason = `guarded batch simulation reverted: ${confirmed.reason}`;
      await Promise.all(live.map((m) => leave(m, { kind: 'failed', reason, block }, { kind: 'failed', opportunity: m.opportunity, block, stage: 'simulate', reason })));
      return results;
    }
    const agrees = (p: Priced, index: number) => {
      const item = confirmed.items[index];
      return item?.ok === true && item.profitUnits === p.outcome.profitUnits;
    };
    if (!askedAgain && !kept.every(agrees)) {
      await askAgain();
      continue;
    }
    const agreeing: Priced[] = [];
    await Promise.all(
      kept.map(async (p, index) => {
        const item = confirmed.items[index];
        if (agrees(p, index)) {
          agreeing.push(p);
          return;
        }
        const reason = `guarded batch item ${index} ${item?.ok ? `returned profit ${item.profitUnits}, measured ${p.outcome.profitUnits}` : `failed: ${item?.reason ?? 'missing'}`}: not sent`;
        // Two simulations of the same block that disagree: the node's state moved under it (a block being sealed),
        // so the member comes back (still claimed) rather than failing for good.
        await retryLater(p.member, new ChainDisagreedError(p.member.opportunity, reason));
      }),
    );
    if (agreeing.length === kept.length) {
      priced = kept;
      gas = batchGasOf(measured, confirmed, ahead, worst);
    } else {
      live = kept.filter((p) => agreeing.includes(p)).map((p) => p.member);
    }
  }
  if (!priced) {
    // One member left (or none): alone it goes through the single path, which simulates it again.
    if (live.length === 1 && !results.has(live[0].attempt)) return alone(live[0], signer);
    await Promise.all(
      live.filter((member) => !results.has(member.attempt)).map((member) => retryLater(member, new PendingTransactionError(member.opportunity, '(none)', 'the batch could not be priced: left for the redelivery'))),
    );
    return results;
  }

  const n = BigInt(priced.length);
  const memberGas = { gasEstimate: ceilDiv(gas.gasEstimate, n), gasLimit: ceilDiv(gas.gasLimit, n) };
  const plans = priced.map((p) => executionPlanOf(deps, p.member.decision, p.funded, memberGas));
  if (deps.settings.dryRun) {
    await Promise.all(
      priced.map((p, i) => leave(p.member, { kind: 'dry-run', block, plan: plans[i] }, { kind: 'dry-run', opportunity: p.member.opportunity, block, plan: encodePlan(plans[i]) })),
    );
    return results;
  }

  // A plan made with a pending oracle update applied is stale once the update has landed: planned again.
  if (await deps.followedUpdateLanded?.()) {
    await Promise.all(priced.map((p) => retryLater(p.member, new FollowedUpdateLandedError(p.member.opportunity))));
    return results;
  }

  // 3. The batch attempt, its members, the transaction.
  const batch = batchKeysOf(priced.map((p) => p.member), block);
  const batchPlan = batchPlanOf(plans, gas);
  try {
    const claim = await deps.ledger.claim(batch.opportunity, batch.attempt, batch.opportunity, block, nowIso());
    if (claim.kind !== 'claimed') throw new PendingTransactionError(batch.opportunity, '(none)', `the batch attempt is ${claim.kind}`);
    await Promise.all(priced.map((p, index) => deps.ledger.recordBatched(p.member.opportunity, p.member.attempt, { opportunity: batch.opportunity, index }, plans[index], nowIso())));
  } catch (error) {
    // Nothing signed. Members already `batched` follow the batch attempt when they come back: ending it `failed`
    // lets them claim again (best effort: a batch attempt left `claimed` is abandoned by them the same way).
    await runBestEffort(
      deps.bestEffort,
      'claim-release',
      () => deps.ledger.finish(batch.opportunity, batch.attempt, { kind: 'failed', reason: `members not recorded: ${messageOf(error)}`, block }, nowIso()),
      { opportunity: batch.opportunity },
    );
    await Promise.all(priced.map((p) => retryLater(p.member, new PendingTransactionError(p.member.opportunity, '(none)', `batch not recorded: ${messageOf(error)}`))));
    return results;
  }
  deps.faults?.reach('after-claim');
  let target: { to: string; data: string };
  try {
    target = liquidator.buildBatchTransaction(priced.map((p) => liquidatorCallOf(p.funded)));
  } catch (error) {
    await deps.ledger.finish(batch.opportunity, batch.attempt, { kind: 'failed', reason: `permanent prepare: ${messageOf(error)}`, block }, nowIso());
    await settleMembers(deps, { kind: 'failed', stage: 'prepare', reason: messageOf(error) }, priced.map((p, index) => ({ opportunity: p.member.opportunity, attempt: p.member.attempt, block: p.member.decision.block, plan: plans[index], index })), results);
    return results;
  }
  const newest = priced.reduce((a, b) => (b.member.decision.block > a.member.decision.block ? b : a)).member.decision;
  let outcome: DispatchOutcome;
  try {
    outcome = await dispatcher.dispatch({
      opportunity: batch.opportunity,
      attempt: batch.attempt,
      block,
      signer,
      ...target,
      gasLimit: gas.gasLimit,
      fees: newest.gasPrice,
      replacementBudget: replacementBudgetOf(batchPlan),
      plan: batchPlan,
      firstIndex: 0,
      deadlineMs: Math.min(...priced.map((p) => p.member.receiptDeadlineMs)),
    });
  } catch (error) {
    // Pending past the deadline, or a ledger write lost: every member follows the batch on redelivery.
    for (const p of priced) results.set(p.member.attempt, errorOf(error));
    return results;
  }
  await settleMembers(deps, outcome, priced.map((p, index) => ({ opportunity: p.member.opportunity, attempt: p.member.attempt, block: p.member.decision.block, plan: plans[index], index })), results);
  return results;
}

/**
 * A member redelivered while `batched`: its result from the batch attempt it belongs to, or `retake` when that
 * batch never reached a mempool (the member is then `failed` and may claim again).
 */
export async function resumeBatchMember(
  deps: ExecuteCandidateDeps,
  record: AttemptRecord<ExecutionPlan>,
  input: { receiptDeadlineMs: number; batch?: ExecutionBatchSession },
): Promise<ExecutionResult | 'retake'> {
  const nowIso = () => new Date(deps.clock.nowMs()).toISOString();
  const ref = record.batch;
  const block = record.block ?? 0;
  if (!ref) throw new MalformedPlanError(`ledger ${record.opportunity}`, ['batch: required for an attempt in state batched']);
  if (!record.plan) throw new MalformedPlanError(`ledger ${record.opportunity}`, ['(plan): required for an attempt in state batched']);
  const batch = await deps.ledger.find(ref.opportunity);
  if (!batch || batch.state === 'claimed' || batch.state === 'failed') {
    if (batch?.state === 'claimed') {
      await deps.ledger.finish(ref.opportunity, batch.attemptId, { kind: 'failed', reason: 'abandoned before it was signed: its members came back', block: batch.block ?? block }, nowIso());
    }
    await deps.ledger.finish(record.opportunity, record.attemptId, { kind: 'failed', reason: `retryable: batch ${ref.opportunity} was never sent`, block }, nowIso());
    return 'retake';
  }
  const plan = batch.plan;
  if (!plan) throw new MalformedPlanError(`ledger ${ref.opportunity}`, [`(plan): required for an attempt in state ${batch.state}`]);
  let outcome: DispatchOutcome;
  if (IN_FLIGHT_ATTEMPT_STATES.includes(batch.state)) {
    const resume = () => createTransactionDispatcher(deps).resume({ record: batch, plan, replacementBudget: replacementBudgetOf(plan), deadlineMs: input.receiptDeadlineMs });
    outcome = await (input.batch ? input.batch.once(ref.opportunity, resume) : resume());
  } else if (batch.state === 'mined' && batch.txHash && batch.minedBlock !== undefined) {
    outcome = { kind: 'mined', txHash: batch.txHash, minedBlock: batch.minedBlock, gasUsed: batch.gasUsed ?? 0n, plan };
  } else if (batch.state === 'reverted' && batch.txHash && batch.minedBlock !== undefined) {
    outcome = { kind: 'reverted', txHash: batch.txHash, minedBlock: batch.minedBlock, gasUsed: batch.gasUsed ?? 0n, plan, reason: batch.reason ?? 'reverted' };
  } else if (batch.state === 'dropped') {
    outcome = { kind: 'dropped', txHash: batch.transactions[batch.transactions.length - 1]?.txHash ?? '(none)', detail: batch.reason ?? 'dropped' };
  } else {
    throw new MalformedPlanError(`ledger ${ref.opportunity}`, [`state ${batch.state}: not a state a batch attempt ends in`]);
  }
  const results: Results = new Map();
  await settleMembers(deps, outcome, [{ opportunity: record.opportunity, attempt: record.attemptId, block, plan: record.plan, index: ref.index }], results);
  const result = results.get(record.attemptId)!;
  if (result instanceof Error) throw result;
  return result;
}

/** A member being settled: its attempt, its decision's block, its plan and its item's index in the batch. */
interface Settling {
  opportunity: string;
  attempt: string;
  block: number;
  plan: ExecutionPlan;
  index: number;
}

/** Each member's end, from what the batch's transaction did for its item. */
async function settleMembers(
  deps: ExecuteCandidateDeps,
  outcome: DispatchOutcome,
  members: readonly Settling[],
  results: Results,
): Promise<void> {
  const end = (m: Settling, final: FinalOutcome<ExecutionPlan>, result: ExecutionResult) => endMember(deps, results, m, final, result);
  const block = (m: Settling) => m.block;
  switch (outcome.kind) {
    case 'mined': {
      let items: BatchItemOutcome[];
      try {
        items = await (deps.liquidator as BatchLiquidatorContract).batchOutcomesIn(outcome.txHash);
      } catch (error) {
        // The members stay `batched` behind a mined batch: the redelivery reads the receipt again.
        for (const m of members) results.set(m.attempt, new PendingTransactionError(m.opportunity, outcome.txHash, `mined; its items could not be read: ${messageOf(error)}`));
        return;
      }
      items = await attributeItemReverts(deps, items, members, outcome);
      const gasShare = items.length > 0 ? outcome.gasUsed / BigInt(items.length) : outcome.gasUsed;
      // The transaction was mined (the dispatcher told the breakers its gas); an item our plan got wrong is still
      // a revert of ours and counts towards the revert streak like a reverted transaction.
      for (const item of items) {
        if (item.ok || item.revertClass !== 'model' || !members.some((m) => m.index === item.index)) continue;
        await runBestEffort(deps.bestEffort, 'breaker-update', async () => deps.breakers?.recordOutcome({ kind: 'reverted', gasCostWei: 0n }, deps.clock.nowMs()), {
          opportunity: members.find((m) => m.index === item.index)!.opportunity,
          txHash: outcome.txHash,
        });
      }
      await Promise.all(
        members.map((m) => {
          const item = items.find((i) => i.index === m.index);
          const opportunity = m.opportunity;
          if (item?.ok) {
            const realized: RealizedLiquidation = {
              debtRepaidUnits: item.debtRepaidUnits.toString(),
              collateralSeizedUnits: item.collateralSeizedUnits.toString(),
              swapAmountOutUnits: item.swapAmountOutUnits.toString(),
              flashPremiumUnits: item.flashPremiumUnits.toString(),
              profitUnits: item.profitUnits.toString(),
            };
            return end(m, { kind: 'mined', txHash: outcome.txHash, minedBlock: outcome.minedBlock, gasUsed: gasShare, plan: m.plan }, {
              kind: 'mined',
              opportunity,
              block: block(m),
              txHash: outcome.txHash,
              minedBlock: outcome.minedBlock,
              gasUsed: gasShare.toString(),
              plan: encodePlan(m.plan),
              realized,
            });
          }
          const reason = `batch item ${m.index}: ${item ? item.reason : 'no event for the item'}`;
          const revertClass = item && !item.ok ? item.revertClass : 'model';
          return end(m, { kind: 'reverted', txHash: outcome.txHash, minedBlock: outcome.minedBlock, reason, plan: m.plan }, {
            kind: 'reverted',
            opportunity,
            block: block(m),
            txHash: outcome.txHash,
            minedBlock: outcome.minedBlock,
            gasUsed: gasShare.toString(),
            plan: encodePlan(m.plan),
            reason,
            revertClass,
          });
        }),
      );
      return;
    }
    case 'reverted':
      await Promise.all(
        members.map((m) =>
          end(m, { kind: 'reverted', txHash: outcome.txHash, minedBlock: outcome.minedBlock, reason: `batch reverted: ${outcome.reason}`, plan: m.plan }, {
            kind: 'reverted',
            opportunity: m.opportunity,
            block: block(m),
            txHash: outcome.txHash,
            minedBlock: outcome.minedBlock,
            gasUsed: (outcome.gasUsed / BigInt(members.length)).toString(),
            plan: encodePlan(m.plan),
            reason: `batch reverted: ${outcome.reason}`,
            ...(outcome.revertClass ? { revertClass: outcome.revertClass } : {}),
          }),
        ),
      );
      return;
    case 'dropped':
      await Promise.all(
        members.map((m) => end(m, { kind: 'dropped', reason: outcome.detail }, { kind: 'dropped', opportunity: m.opportunity, block: block(m), txHash: outcome.txHash, detail: outcome.detail })),
      );
      return;
    case 'failed':
      await Promise.all(
        members.map((m) =>
          end(m, { kind: 'failed', reason: `batch: ${outcome.reason}`, block: block(m) }, { kind: 'failed', opportunity: m.opportunity, block: block(m), stage: outcome.stage, reason: `batch: ${outcome.reason}` }),
        ),
      );
      return;
  }
}

/**
 * A member's place in the batch from its simulated item: priced (profit after its share of the gas, guard and
 * bound from what it was simulated to do), or ended (`leave`) with why it cannot be sent.
 */
async function pricedOrLeft(
  deps: ExecuteCandidateDeps,
  member: BatchMember,
  outcome: BatchItemOutcome,
  gasShare: bigint,
  block: number,
  leave: (member: BatchMember, outcome: FinalOutcome<ExecutionPlan>, result: ExecutionResult) => Promise<void>,
  leaveRetryable: (member: BatchMember, error: Error) => Promise<void>,
  afterSalesAhead?: BatchItemOutcome,
): Promise<Priced | undefined> {
  const { settings } = deps;
  const { choice, gasPrice, nativePriceBase8 } = member.decision;
  const opportunity = member.opportunity;
  if (!outcome.ok) {
    if (isStateRace(outcome.reason)) {
      // An arithmetic panic in the Pool's own accounting at the read block: the node's state ran ahead of the block
      // (see classifyWorkerFailure); the member comes back, still claimed.
      await leaveRetryable(member, new ChainDisagreedError(opportunity, `batch simulation at block ${block}: ${outcome.reason}`));
      return undefined;
    }
    if (outcome.revertClass === 'market-moved') {
      const detail = `batch simulation at block ${block}: ${outcome.reason}`;
      await leave(member, { kind: 'skipped', reason: `market moved: ${detail}`, block }, { kind: 'skipped', opportunity, block, reason: 'market-moved', detail });
    } else {
      const reason = `batch simulation item failed: ${outcome.reason}`;
      await leave(member, { kind: 'failed', reason, block }, { kind: 'failed', opportunity, block, stage: 'simulate', reason });
    }
    return undefined;
  }
  const planned = choice.liquidation.proceeds;
  const proceeds: Proceeds = planned.kind === 'swap' ? { ...planned, amountOutUnits: outcome.swapAmountOutUnits } : planned;
  const assessed = assessFundedLiquidation(
    choice.plan,
    proceeds,
    { mode: settings.funding, ruleSet: settings.ruleSet, flashLoanPremiumBps: choice.liquidation.flashLoanPremiumBps, maxSlippageBps: settings.maxSlippageBps },
    { gasUnits: gasShare, gasPrice, nativePriceBase8, minProfitBase: settings.minProfitBase },
  );
  // The contract's own figures win over the per-item model where they may differ (a premium shared by items).
  const funded: FundedLiquidation = {
    ...assessed.liquidation,
    premiumUnits: outcome.flashPremiumUnits,
    expectedProfitUnits: outcome.profitUnits,
    // Without a pending-block simulation the bound is the funded plan's own (from the read block's output).
    ...(planned.kind === 'swap' && afterSalesAhead ? { amountOutMinimumUnits: boundAfterSalesAhead(outcome, afterSalesAhead, settings.maxSlippageBps) } : {}),
  };
  if (assessed.kind === 'skip' || outcome.profitUnits < funded.minProfitUnits) {
    const detail = `in the batch at block ${block}: profit ${outcome.profitUnits} debt units, ${assessed.liquidation.profitBase} base after a gas share of ${gasShare} (guard ${funded.minProfitUnits})`;
    // It was profitable alone: the batch's earlier sales into the same pool priced it out.
    await leave(member, { kind: 'skipped', reason: `unprofitable: ${detail}`, block }, { kind: 'skipped', opportunity, block, reason: 'unprofitable', detail, pricedOutBySale: true });
    return undefined;
  }
  return { member, funded, outcome };
}

/**
 * The gas of a batch from its two simulations at the read block (unguarded and guarded, same items), the
 * unguarded one on the pending block when there is one, and the one with every item failing at its last guard
 * (worstCaseGas). The estimate is the largest of the first three: each is a call of its own, one made on a state in
 * which an item failed early (a guard tripped by a pool that moved in between) prices that item at a fraction of
 * its cost, and on the pending block the swaps come after the sales ahead of them and cross more of their pools.
 * The limit is the largest of their limits, half again the estimate (an item that lands in a later block than it
 * was estimated in may pay for more: the first touch of a reserve in a block updates its indexes), and the
 * worst case's limit: an item that fails in its block rolls back the storage it warmed, so the next item pays for
 * cold storage again, and ten items failing at their last guard cost 1.6–1.7 times as much as ten that succeed
 * (measured on v3.6 and V3.0: BENCHMARKS.md). A batch whose item runs out of gas reverts whole
 * (ItemOutOfGas). Unused gas is not paid for.
 */
export function batchGasOf(
  measured: { gasEstimate: bigint; gasLimit: bigint },
  confirmed: { gasEstimate: bigint; gasLimit: bigint },
  pending?: { gasEstimate: bigint; gasLimit: bigint },
  worstCase?: { gasLimit: bigint },
): { gasEstimate: bigint; gasLimit: bigint } {
  const estimate = maxOf(measured.gasEstimate, confirmed.gasEstimate, pending?.gasEstimate ?? 0n);
  const limit = maxOf(measured.gasLimit, confirmed.gasLimit, pending?.gasLimit ?? 0n, worstCase?.gasLimit ?? 0n);
  const roomy = (estimate * 3n) / 2n;
  return { gasEstimate: estimate, gasLimit: limit > roomy ? limit : roomy };
}

/**
 * A profit guard no item can meet: each item then fails at its last check, after its loan, liquidation, swap and
 * repayment, and is rolled back (the most gas a failed item costs). Far below 2^256, so that the contract's
 * `debtBefore + minProfit` cannot overflow.
 */
const UNREACHABLE_PROFIT_UNITS = 1n << 200n;

/**
 * The gas of the guarded batch if every item fails at its last guard (UNREACHABLE_PROFIT_UNITS) at the read block:
 * each failed item rolls back the storage it warmed (EIP-2929 access lists revert with their frame), so the next
 * item pays for it cold again. Only its gas is asked for (eth_estimateGas, no eth_call). Undefined when the node
 * cannot say (a failure is reported as `worst-case-gas`, and the limit is half again the estimate) or the whole
 * call reverts.
 */
export async function worstCaseGas(
  deps: Pick<ExecuteCandidateDeps, 'bestEffort'>,
  liquidator: BatchLiquidatorContract,
  calls: readonly LiquidatorCall[],
  from: string,
  block: number,
): Promise<{ gasEstimate: bigint; gasLimit: bigint } | undefined> {
  const estimated = await runBestEffort(deps.bestEffort, 'worst-case-gas', () => liquidator.estimateBatchGas(calls.map((c) => ({ ...c, minProfitUnits: UNREACHABLE_PROFIT_UNITS })), from, block), {
    block,
    members: calls.length,
  });
  return estimated?.kind === 'ok' ? estimated : undefined;
}

/**
 * The batch, unguarded, on the node's pending block (BATCH_BOUNDS_FROM_PENDING): after the transactions waiting in
 * its mempool, among them our other workers' batches selling into the same pools in the next block. Undefined when
 * the setting is off, when the node cannot say
 * (a failure is reported, and the bounds come from the read block alone) or the whole call reverts there.
 */
export async function salesAhead(
  deps: Pick<ExecuteCandidateDeps, 'bestEffort'> & { settings: Pick<ExecuteCandidateDeps['settings'], 'batchBoundsFromPending'> },
  liquidator: BatchLiquidatorContract,
  members: readonly BatchMember[],
  from: string,
  block: number,
): Promise<{ gasEstimate: bigint; gasLimit: bigint; items: BatchItemOutcome[] } | undefined> {
  if (!deps.settings.batchBoundsFromPending) return undefined;
  const simulated = await runBestEffort(deps.bestEffort, 'pending-bound', () => liquidator.simulateBatch(members.map((m) => unguarded(m.decision.choice.call)), from, block, 'pending'), {
    block,
    members: members.length,
  });
  return simulated?.kind === 'ok' ? simulated : undefined;
}

/**
 * An item's swap bound: its output at the read block, or after the sales ahead of it (the pending block) when that
 * is less, less the slippage allowance. Bounded at the read block alone, an item that lands after another of our
 * batches selling into the same pool in the same block finds the pool moved past its allowance and fails (`Too
 * little received`); bounded after the sales already waiting, it goes through in whichever order the block puts
 * them. The profit guard (minProfit) still refuses an item that would not pay its gas and the minimum profit.
 */
export function boundAfterSalesAhead(atBlock: BatchItemOutcome & { ok: true }, afterSalesAhead: BatchItemOutcome | undefined, maxSlippageBps: bigint): bigint {
  const out = afterSalesAhead?.ok && afterSalesAhead.swapAmountOutUnits < atBlock.swapAmountOutUnits ? afterSalesAhead.swapAmountOutUnits : atBlock.swapAmountOutUnits;
  return amountOutMinimumOf(out, maxSlippageBps);
}

function maxOf(...values: bigint[]): bigint {
  return values.reduce((a, b) => (a > b ? a : b));
}

/** The call with its guards off: what the item does, measured. */
function unguarded(call: LiquidatorCall): LiquidatorCall {
  return { ...call, amountOutMinimumUnits: 0n, minProfitUnits: 0n };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return b === 0n ? a : (a + b - 1n) / b;
}

/** The batch attempt's keys: deterministic in its members, so a redelivered round of the same members is the same. */
function batchKeysOf(members: readonly BatchMember[], block: number): { opportunity: string; attempt: string } {
  const opportunities = keccak256(toUtf8Bytes(members.map((m) => m.opportunity).join('\n'))).slice(2, 18);
  const attempts = keccak256(toUtf8Bytes(members.map((m) => m.attempt).join('\n'))).slice(2, 18);
  return { opportunity: `batch#${members[0].market}#${block}#${opportunities}`, attempt: `batch#${attempts}` };
}

/**
 * A failed item the Pool refused on oracle values after the oracle moved is the market's, like a whole
 * transaction's revert (revert-attribution.ts): judged against its own member's plan and prices.
 */
export async function attributeItemReverts(
  deps: Pick<ExecuteCandidateDeps, 'oraclePrices' | 'bestEffort'>,
  items: readonly BatchItemOutcome[],
  members: readonly Pick<Settling, 'index' | 'opportunity' | 'plan'>[],
  mined: { txHash: string; minedBlock: number },
): Promise<BatchItemOutcome[]> {
  return Promise.all(
    items.map(async (item) => {
      const member = item.ok ? undefined : members.find((m) => m.index === item.index);
      if (item.ok || !member) return item;
      const attributed = await attributeRevert(deps, item, member.plan, mined.minedBlock, { opportunity: member.opportunity, txHash: mined.txHash });
      return { ...item, ...attributed };
    }),
  );
}

/**
 * The batch attempt's plan: the first member's decision (pair, fees, native price) with the batch's gas and the
 * sum of its members' profits and gas costs (what a fee-bumped replacement may spend is the batch's margin).
 */
function batchPlanOf(plans: readonly ExecutionPlan[], gas: { gasEstimate: bigint; gasLimit: bigint }): ExecutionPlan {
  const sum = (field: 'profitBase' | 'gasCostBase' | 'gasCostWei' | 'valueReceivedBase' | 'valueRepaidBase' | 'swapCostBase') => plans.reduce((total, p) => total + p[field], 0n);
  return {
    ...plans[0],
    steps: plans.length,
    profitBase: sum('profitBase'),
    gasCostBase: sum('gasCostBase'),
    gasCostWei: sum('gasCostWei'),
    valueReceivedBase: sum('valueReceivedBase'),
    valueRepaidBase: sum('valueRepaidBase'),
    swapCostBase: sum('swapCostBase'),
    gasEstimate: gas.gasEstimate,
    gasLimit: gas.gasLimit,
  };
}

