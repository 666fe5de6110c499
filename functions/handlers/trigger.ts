/**
 * The manual trigger Lambda, for an operator (`aws lambda invoke`) and the local CLI (local/trigger-cli.ts), with
 * the same JSON payloads:
 *
 *   { "action": "scan" }
 *       One scanner pass at the latest block: the use case of the scanner (functions/pipeline/scan-blocks.ts)
 *       limited to one block. Every tracked borrower is read, the store updated, and each account with debt and
 *       HF < 1 enqueued, unless an oracle breaker is open on an asset it uses or it was enqueued less than
 *       SCANNER_REENQUEUE_AFTER_BLOCKS ago. With a single reading per invocation the breaker checks staleness
 *       only: a deviation needs two readings.
 *   { "action": "liquidate", "account": "0x…", "dryRun": true | false }
 *       The worker's use case (functions/pipeline/execute-candidate.ts) for that account at the latest block,
 *       with source 'trigger'. A real run claims in the worker's ledger under the same opportunity id
 *       (chain#pool#borrower#block), so a triggered liquidation and a queued candidate for the same block can
 *       never both send. A dry run plans and simulates and writes nothing to the ledger (see DRY_RUN_LEDGER).
 *       DRY_RUN=true in the configuration makes every run a dry run. Oracle breakers are the scanner's gate,
 *       not the worker's: a manual liquidation is the operator's call. The execution breakers (kill switch,
 *       revert streak, daily gas budget, gas price cap) do apply: while one is open the result is `paused`.
 *   { "action": "liquidate", "accounts": ["0x…", …], "dryRun": true | false }
 *       The same for up to 20 accounts at once, sent as ONE `liquidateBatch` transaction of our contract
 *       (functions/pipeline/batch-execution.ts): each account keeps its own ledger attempt and result; one that is
 *       healthy, unprofitable or fails in the batch's simulation is left out, the others go. A dry run simulates
 *       the batch and reports each account's plan as it would be sent.
 *   { "action": "pause", "reason": "…" } / { "action": "resume", "reason": "…" }
 *       Flips the market's kill switch (KEEPER_STATE_TABLE): while on, workers send nothing and the scanner
 *       enqueues nothing; the item records who (the invocation's request id) and why.
 *   { "action": "status" }
 *       The execution breaker state and each signer's address, balance and confirmed nonce (also how to read
 *       the address of a KMS key to fund it), and the liquidator contract: owner, callers, balances it holds.
 *   { "action": "deploy-liquidator", "dryRun": true | false, "replace"?: true }
 *       Deploys our liquidator contract (contracts/src/Liquidator.sol, bytecode embedded) from the first
 *       configured signer, which becomes its owner, authorises the other signers as callers, and records the
 *       address in the SSM parameter the worker reads (LIQUIDATOR_ADDRESS_PARAMETER). Refused while a working
 *       contract is configured, unless `replace`. Signed like every keeper transaction (KMS in production), with
 *       a nonce lease from the workers' table.
 *   { "action": "withdraw", "dryRun": true | false, "token"?: "0x…" }
 *       Sweeps what the contract holds of `token` (default: every asset of the market it holds) to the treasury
 *       (TREASURY_ADDRESS); signed by the owner.
 *
 * A payload that does not validate fails the invocation with InvalidTriggerPayloadError naming each field.
 * Metrics (namespace LiquidationPipeline, service liquidation-trigger): TriggerInvocations, and
 * CandidatesEnqueued (scan) or LiquidationsSent (liquidate, when a transaction went out); failed best-effort
 * steps as the worker and scanner count them (functions/pipeline/best-effort.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getAddress, isAddress } from 'ethers';
import * as z from '../zod';
import { type ConfigRequirement, loadPipelineConfig, type PipelineConfig } from '../config/pipeline-config';
import type { WatchTierPolicy } from '../domain/watch-tier';
import { reportingBestEffort } from '../pipeline/best-effort';
import { executionBatchSession } from '../pipeline/batch-execution';
import type { CandidateMessage } from '../pipeline/candidate-message';
import { executeCandidate, type ExecuteCandidateDeps, type ExecutionResult } from '../pipeline/execute-candidate';
import type { ExecutionPlan } from '../pipeline/execution-plan';
import { type ScanEvent, scanBlocks, type ScanSummary } from '../pipeline/scan-blocks';
import { type Clock, systemClock } from '../ports/clock';
import type { BreakerState, ExecutionBreakers } from '../ports/circuit-breakers';
import type { LiquidationLedger } from '../ports/liquidation-ledger';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { aaveV3ExecutionProtocol } from '../adapters/chain/aave-v3-protocol';
import { liquidatorAddressFromConfig, NoLiquidatorContractError } from '../adapters/chain/liquidator-address';
import { EthersLiquidatorAdmin, type LiquidatorState } from '../adapters/chain/liquidator-admin-chain';
import { sendAdminTransaction } from '../pipeline/liquidator-admin';
import type { Signer } from '../ports/transactions';
import { createObservability } from './observability';
import { type ScannerRuntime, scannerRuntimeFromConfig, scanSettingsFromConfig } from './scanner';
import { executeCandidateDepsFromConfig } from './worker';

export const TRIGGER_SERVICE_NAME = 'liquidation-trigger';

/** The scanner's tables and queue, and the worker's ledger and signer (not its idempotency table or DLQ). */
export const TRIGGER_REQUIREMENTS: readonly ConfigRequirement[] = ['borrowers', 'snapshots', 'candidatesQueue', 'ledger', 'nonceLeases', 'keeperState', 'signer'];

// ── The payload ─────────────────────────────────────────────────────────────────────────────────────────────

const requiredAs = (expected: string) => (issue: { input: unknown }) => (issue.input === undefined ? `required: ${expected}` : `must be ${expected}`);

/** Accounts one manual liquidation may send in one `liquidateBatch` transaction. */
export const MAX_TRIGGER_BATCH = 20;

function addressSchema(expected: string) {
  return z.pipe(
    z.string({ error: requiredAs(expected) }).check(
      z.regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address'),
      // Mixed case is an EIP-55 checksum, which catches a mistyped character; all lower or upper case has none.
      z.refine((value) => isAddress(value), 'checksum does not match (EIP-55): check the address, or write it in lower case'),
    ),
    z.transform((value: string) => getAddress(value)),
  );
}

export const triggerPayloadSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ action: z.literal('scan') }),
    z
      .strictObject({
        action: z.literal('liquidate'),
        account: z.optional(addressSchema('the borrower address (0x…)')),
        accounts: z.optional(
          z.array(addressSchema('a borrower address (0x…)'), { error: 'must be a list of borrower addresses' }).check(
            z.minLength(1, 'must name at least one account'),
            z.maxLength(MAX_TRIGGER_BATCH, `must name at most ${MAX_TRIGGER_BATCH} accounts (one transaction)`),
            z.refine((list) => new Set(list.map((a) => a.toLowerCase())).size === list.length, 'must not name an account twice'),
          ),
        ),
        dryRun: z.boolean({ error: requiredAs('true or false') }),
      })
      .check(z.refine((p) => (p.account === undefined) !== (p.accounts === undefined), { error: 'required: either account (one borrower) or accounts (a list, one transaction)', path: ['account'] })),
    z.strictObject({ action: z.literal('pause'), reason: z.string({ error: requiredAs('why (recorded with the switch)') }).check(z.minLength(1, 'must say why')) }),
    z.strictObject({ action: z.literal('resume'), reason: z.string({ error: requiredAs('why (recorded with the switch)') }).check(z.minLength(1, 'must say why')) }),
    z.strictObject({ action: z.literal('status') }),
    z.strictObject({
      action: z.literal('deploy-liquidator'),
      dryRun: z.boolean({ error: requiredAs('true or false') }),
      replace: z.optional(z.boolean({ error: 'must be true or false' })),
    }),
    z.strictObject({
      action: z.literal('withdraw'),
      dryRun: z.boolean({ error: requiredAs('true or false') }),
      token: z.optional(
        z.pipe(
          z.string({ error: 'must be a token address (0x…)' }).check(
            z.regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address'),
            z.refine((value) => isAddress(value), 'checksum does not match (EIP-55): check the address, or write it in lower case'),
          ),
          z.transform((value: string) => getAddress(value)),
        ),
      ),
    }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? 'must be "scan", "liquidate", "pause", "resume", "status", "deploy-liquidator" or "withdraw"' : issue.code === 'invalid_type' ? 'must be a JSON object such as {"action":"scan"}' : undefined,
  },
);

export type TriggerPayload = z.infer<typeof triggerPayloadSchema>;

/** A payload that does not validate; `problems` name each field (`account: must be …`). Never worth a retry. */
export class InvalidTriggerPayloadError extends Error {
  readonly retryable = false;
  constructor(readonly problems: string[]) {
    super(`invalid trigger payload: ${problems.join('; ')}`);
    this.name = 'InvalidTriggerPayloadError';
  }
}

export function parseTriggerPayload(event: unknown): TriggerPayload {
  const parsed = triggerPayloadSchema.safeParse(event);
  if (!parsed.success) throw new InvalidTriggerPayloadError(parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`));
  return parsed.data;
}

// ── The results (JSON: bigint values as decimal strings) ────────────────────────────────────────────────────

export interface ScanTriggerResult {
  action: 'scan';
  /** The block scanned. */
  block: number;
  summary: ScanSummary;
  /** Accounts with debt and HF < 1 at the block. */
  liquidatable: number;
  enqueued: { borrower: string; healthFactorWad: string }[];
  blockedByBreaker: { borrower: string; healthFactorWad: string; assets: string[] }[];
  /** Liquidatable accounts not enqueued again: a candidate was enqueued less than SCANNER_REENQUEUE_AFTER_BLOCKS ago. */
  alreadyEnqueued: number;
  publishFailed: { borrower: string; reason: string }[];
}

export interface LiquidateTriggerResult {
  action: 'liquidate';
  account: string;
  /** True when nothing could be sent: the payload asked for a dry run, or the configuration is DRY_RUN=true. */
  dryRun: boolean;
  /** The candidate handed to the use case: the latest block and the account's HF there (getUserAccountData). */
  candidate: CandidateMessage;
  result: ExecutionResult;
}

/** `accounts`: each account's candidate and result; those liquidated share one `liquidateBatch` transaction. */
export interface LiquidateBatchTriggerResult {
  action: 'liquidate';
  accounts: string[];
  dryRun: boolean;
  results: { account: string; candidate: CandidateMessage; result: ExecutionResult }[];
}

export interface SwitchTriggerResult {
  action: 'pause' | 'resume';
  killSwitch: boolean;
  reason: string;
  by: string;
}

export interface StatusTriggerResult {
  action: 'status';
  breaker: BreakerState;
  signers: { address: string; balanceWei: string; confirmedNonce: number }[];
  /** The configured liquidator contract's state, or why there is none. */
  liquidator: LiquidatorState | { missing: string };
}

/** A sent operator transaction, or what a dry run would send. */
export type AdminStep = { purpose: string; dryRun: true; gasEstimate: string } | { purpose: string; dryRun: false; txHash: string; block: number; gasUsed: string };

export interface DeployLiquidatorTriggerResult {
  action: 'deploy-liquidator';
  dryRun: boolean;
  owner: string;
  /** Where the contract is (or, in a dry run, would be: the owner's next nonce). */
  address: string;
  steps: AdminStep[];
  /** Where the worker will find it: the SSM parameter written, or what to set by hand. */
  recorded: string;
}

export interface WithdrawTriggerResult {
  action: 'withdraw';
  dryRun: boolean;
  liquidator: string;
  treasury: string;
  swept: { asset: string; symbol: string; units: string; step: AdminStep }[];
}

export type TriggerResult =
  | ScanTriggerResult
  | LiquidateTriggerResult
  | LiquidateBatchTriggerResult
  | SwitchTriggerResult
  | StatusTriggerResult
  | DeployLiquidatorTriggerResult
  | WithdrawTriggerResult;

/** The scan did not complete its block before the deadline; `cause` is the last block failure, if any. */
export class TriggerScanError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'TriggerScanError';
  }
}

// ── The handler ─────────────────────────────────────────────────────────────────────────────────────────────

/** The adapters of both use cases; built once per Lambda instance. */
export interface TriggerRuntime {
  scanner: ScannerRuntime;
  /** Wired as the worker wires them (same ledger, nonce leases and signers); the handler adds its best-effort reporting. */
  execution: Omit<ExecuteCandidateDeps, 'bestEffort'>;
  /** The market's execution breakers and kill switch. */
  breakers: ExecutionBreakers;
  balanceOf(address: string): Promise<bigint>;
  /** The operator's view of the liquidator contract (deploy-liquidator, withdraw, status). */
  liquidatorAdmin: LiquidatorAdminRuntime;
}

export interface LiquidatorAdminRuntime {
  chain: EthersLiquidatorAdmin;
  /** The configured contract's address, or why there is none (not configured, not deployed, no code). */
  current(): Promise<{ address: string } | { missing: string }>;
  /** Writes the address where the worker reads it; answers where that is (or what the operator must set). */
  record(address: string): Promise<string>;
  /** The market's assets (what the contract can hold). */
  assets(): Promise<string[]>;
  pool: string;
  swapRouter?: string;
  treasury?: string;
}

export interface TriggerHandlerDeps {
  config: Pick<PipelineConfig, 'chainId' | 'pool' | 'marketKey' | 'scanner'>;
  logger: Logger;
  metrics: Metrics;
  /** Builds the adapters; called on the first invocation (its failure fails that invocation, and is retried). */
  runtime: () => Promise<TriggerRuntime>;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  tiers?: WatchTierPolicy;
  /** Longest wait for a receipt (ms), also bounded by the invocation's remaining time; default 30 s. */
  receiptTimeoutMs?: number;
  /** Also told every scan event (the CLI prints progress). */
  onScanEvent?: (event: ScanEvent) => void;
}

export type TriggerHandler = (event: unknown, context: Context) => Promise<TriggerResult>;

/** Time kept back from the Lambda deadline when waiting for a receipt (ledger write, metrics flush). */
const RECEIPT_DEADLINE_MARGIN_MS = 3_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The ledger of a dry run: every claim succeeds and nothing is written. A dry run sends nothing, so there is
 * nothing to guard; a claim in the real ledger would take the opportunity (this borrower at this block) from the
 * worker's candidate for the same block, which would then end `duplicate` instead of liquidating.
 */
const DRY_RUN_LEDGER: LiquidationLedger<ExecutionPlan> = {
  find: () => Promise.resolve(undefined),
  claim: () => Promise.resolve({ kind: 'claimed' }),
  recordSigned: () => Promise.reject(new Error('a dry run never signs')),
  recordBatched: () => Promise.reject(new Error('a dry run never sends a batch')),
  recordSent: () => Promise.reject(new Error('a dry run never sends')),
  finish: () => Promise.resolve(),
};

export function createTriggerHandler(deps: TriggerHandlerDeps) {
  const { config, logger, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const receiptTimeoutMs = deps.receiptTimeoutMs ?? 30_000;
  const bestEffort = reportingBestEffort(logger, metrics);
  let runtime: Promise<TriggerRuntime> | undefined;

  const connect = (): Promise<TriggerRuntime> => {
    runtime ??= deps.runtime().catch((err: unknown) => {
      runtime = undefined;
      throw err;
    });
    return runtime;
  };

  const scan = async ({ scanner }: TriggerRuntime, context: Context): Promise<ScanTriggerResult> => {
    const result: Omit<ScanTriggerResult, 'action' | 'block' | 'summary'> = { liquidatable: 0, enqueued: [], blockedByBreaker: [], alreadyEnqueued: 0, publishFailed: [] };
    let lastFailure: Error | undefined;
    const onEvent = (event: ScanEvent): void => {
      switch (event.kind) {
        case 'block':
          result.liquidatable = event.progress.liquidatable;
          result.alreadyEnqueued = event.progress.alreadyEnqueued;
          break;
        case 'enqueued':
          result.enqueued.push({ borrower: event.message.borrower, healthFactorWad: event.message.healthFactorWad });
          break;
        case 'blocked-by-breaker':
          result.blockedByBreaker.push({ borrower: event.borrower, healthFactorWad: event.healthFactorWad.toString(), assets: event.assets });
          logger.warn('liquidatable borrower not enqueued: oracle breaker open', { block: event.block, borrower: event.borrower, assets: event.assets });
          break;
        case 'breaker-opened':
          logger.warn('oracle breaker open', { block: event.block, asset: event.asset, reason: event.reason, detail: event.detail });
          break;
        case 'publish-failed':
          result.publishFailed.push({ borrower: event.borrower, reason: event.reason });
          logger.error('candidate not accepted by the queue', { block: event.block, borrower: event.borrower, reason: event.reason });
          break;
        case 'block-failed':
          lastFailure = event.error;
          logger.warn('block failed', { stage: event.error.stage, block: event.error.block, error: event.error });
          break;
        case 'breaker-closed':
          break;
      }
      deps.onScanEvent?.(event);
    };

    const summary = await scanBlocks(
      {
        // A manual scan is one block and reads every account at it, whatever the scanner's read mode.
        settings: { ...scanSettingsFromConfig(config, deps.tiers), reads: { mode: 'every-block' } },
        store: scanner.store,
        queue: scanner.queue,
        accounts: scanner.accounts,
        oracle: scanner.oracle,
        blocks: scanner.blocks,
        breakers: scanner.breakers,
        clock,
        sleep: deps.sleep ?? defaultSleep,
        onEvent,
        bestEffort,
      },
      { deadlineAtMs: clock.nowMs() + context.getRemainingTimeInMillis(), maxBlocks: 1 },
    );
    if (summary.lastBlock === undefined) {
      throw new TriggerScanError(
        lastFailure ? `scan failed: ${lastFailure.message}` : 'scan: no time left for a block before the deadline (SCANNER_DEADLINE_MARGIN_MS)',
        lastFailure ? { cause: lastFailure } : undefined,
      );
    }
    metrics.addMetric('CandidatesEnqueued', MetricUnit.Count, summary.candidatesEnqueued);
    return { action: 'scan', block: summary.lastBlock, summary, ...result };
  };

  const liquidate = async (
    { scanner, execution }: TriggerRuntime,
    payload: Extract<TriggerPayload, { action: 'liquidate' }>,
    context: Context,
  ): Promise<LiquidateTriggerResult | LiquidateBatchTriggerResult> => {
    const dryRun = payload.dryRun || execution.settings.dryRun;
    const block = await execution.chain.latestBlock();
    const accounts = payload.accounts ?? [payload.account!];
    const read = (await scanner.accounts.scan(accounts, block)).accounts;
    const candidates = accounts.map((borrower): CandidateMessage => {
      const account = read.find((a) => a.user.toLowerCase() === borrower.toLowerCase());
      if (!account) throw new Error(`no account data for ${borrower} at block ${block}`);
      return {
        version: 1,
        chainId: config.chainId.toString(),
        pool: config.pool,
        borrower,
        detectedBlock: block,
        healthFactorWad: account.healthFactorWad.toString(),
        // The episode's start is the scanner's knowledge; for a manual candidate detection is now.
        firstLiquidatableBlock: block,
        source: 'trigger',
      };
    });
    const deps = dryRun ? { ...execution, bestEffort, ledger: DRY_RUN_LEDGER, settings: { ...execution.settings, dryRun: true } } : { ...execution, bestEffort };
    const remainingMs = context.getRemainingTimeInMillis();
    const receiptDeadlineMs = clock.nowMs() + Math.max(0, Math.min(receiptTimeoutMs, remainingMs - RECEIPT_DEADLINE_MARGIN_MS));
    // A list goes out as one transaction: every account that is liquidatable and worth it becomes an item.
    const batch = payload.accounts ? executionBatchSession(deps, { participants: candidates.length, maxBatchSize: candidates.length }) : undefined;
    const results = await Promise.all(
      candidates.map(async (candidate, i) => {
        // The owner of the claim; a retried invocation (same request id) may take its own claim again while nothing was sent.
        const attempt = payload.accounts ? `trigger:${context.awsRequestId}#${i}` : `trigger:${context.awsRequestId}`;
        try {
          return await executeCandidate(deps, { message: candidate, attempt, receiptDeadlineMs, ...(batch ? { batch } : {}) });
        } finally {
          batch?.leave(attempt);
        }
      }),
    );
    const sent = results.filter((result) => result.kind === 'mined' || result.kind === 'reverted').length;
    if (sent > 0) metrics.addMetric('LiquidationsSent', MetricUnit.Count, sent);
    if (!payload.accounts) return { action: 'liquidate', account: accounts[0], dryRun, candidate: candidates[0], result: results[0] };
    return { action: 'liquidate', accounts, dryRun, results: candidates.map((candidate, i) => ({ account: accounts[i], candidate, result: results[i] })) };
  };

  const flip = async ({ breakers }: TriggerRuntime, payload: Extract<TriggerPayload, { action: 'pause' | 'resume' }>, context: Context): Promise<SwitchTriggerResult> => {
    const on = payload.action === 'pause';
    const by = `trigger:${context.awsRequestId}`;
    await breakers.setKillSwitch(on, by, payload.reason, clock.nowMs());
    metrics.addMetric(on ? 'KillSwitchOn' : 'KillSwitchOff', MetricUnit.Count, 1);
    logger.warn(on ? 'kill switch on: execution paused' : 'kill switch off: execution resumes', { reason: payload.reason, by });
    return { action: payload.action, killSwitch: on, reason: payload.reason, by };
  };

  const status = async ({ breakers, execution, balanceOf, liquidatorAdmin }: TriggerRuntime): Promise<StatusTriggerResult> => {
    const liquidatorState = async (): Promise<StatusTriggerResult['liquidator']> => {
      const current = await liquidatorAdmin.current();
      if ('missing' in current) return current;
      return liquidatorAdmin.chain.state(current.address, execution.signers.map((signer) => signer.address), await liquidatorAdmin.assets());
    };
    const [breaker, signers, liquidator] = await Promise.all([
      breakers.check(clock.nowMs()),
      Promise.all(
        execution.signers.map(async (signer) => {
          const [balanceWei, confirmedNonce] = await Promise.all([balanceOf(signer.address), execution.chain.confirmedNonce(signer.address)]);
          return { address: signer.address, balanceWei: balanceWei.toString(), confirmedNonce };
        }),
      ),
      liquidatorState(),
    ]);
    return { action: 'status', breaker, signers, liquidator };
  };

  const adminDeps = ({ execution }: TriggerRuntime, signer: Signer) => ({
    chain: execution.chain,
    signer,
    nonces: execution.nonces,
    clock,
    chainId: execution.settings.chainId,
    gasPriceCapWei: execution.settings.fees.gasPriceCapWei,
    bestEffort,
  });
  const deadlineOf = (context: Context) => clock.nowMs() + Math.max(0, Math.min(receiptTimeoutMs, context.getRemainingTimeInMillis() - RECEIPT_DEADLINE_MARGIN_MS));
  const adminStep = async (
    runtime: TriggerRuntime,
    signer: Signer,
    request: { purpose: string; to: string | null; data: string },
    dryRun: boolean,
    context: Context,
  ): Promise<{ step: AdminStep; nonce?: number }> => {
    const sent = await sendAdminTransaction(
      { ...adminDeps(runtime, signer), estimateGas: (tx) => runtime.liquidatorAdmin.chain.estimateGas(tx) },
      { ...request, deadlineMs: deadlineOf(context) },
      dryRun,
    );
    if (sent.kind === 'dry-run') return { step: { purpose: request.purpose, dryRun: true, gasEstimate: sent.gasEstimate.toString() } };
    metrics.addMetric('OperatorTransactions', MetricUnit.Count, 1);
    logger.warn('operator transaction mined', { purpose: request.purpose, txHash: sent.txHash, block: sent.receipt.blockNumber });
    return { step: { purpose: request.purpose, dryRun: false, txHash: sent.txHash, block: sent.receipt.blockNumber, gasUsed: sent.receipt.gasUsed.toString() }, nonce: sent.nonce };
  };

  const deployLiquidator = async (runtime: TriggerRuntime, payload: Extract<TriggerPayload, { action: 'deploy-liquidator' }>, context: Context): Promise<DeployLiquidatorTriggerResult> => {
    const { liquidatorAdmin: admin, execution } = runtime;
    const dryRun = payload.dryRun || execution.settings.dryRun;
    if (!admin.swapRouter) throw new Error('deploy-liquidator needs the swap router: set SWAP_ROUTER_ADDRESS (market.dex.swapRouter02)');
    const existing = await admin.current();
    if ('address' in existing && !payload.replace) {
      throw new Error(`a liquidator contract is already configured at ${existing.address}: withdraw its balances first, then deploy with "replace": true`);
    }
    const [owner, ...callers] = execution.signers;
    const creation = admin.chain.creationData(admin.pool, admin.swapRouter);
    const steps: AdminStep[] = [];
    const deployed = await adminStep(runtime, owner, { purpose: 'deploy-liquidator', to: null, data: creation }, dryRun, context);
    steps.push(deployed.step);
    const address = admin.chain.createdAddress(owner.address, deployed.nonce ?? (await execution.chain.confirmedNonce(owner.address)));
    if (dryRun) return { action: 'deploy-liquidator', dryRun, owner: owner.address, address, steps, recorded: 'nothing (dry run)' };
    if (!(await admin.chain.hasCode(address))) throw new Error(`deploy-liquidator: no code at ${address} after the deployment mined`);
    for (const caller of callers) {
      steps.push((await adminStep(runtime, owner, { purpose: `setCaller ${caller}`, to: address, data: admin.chain.setCallerData(caller.address, true) }, false, context)).step);
    }
    const recorded = await admin.record(address);
    logger.warn('liquidator contract deployed', { address, owner: owner.address, recorded });
    return { action: 'deploy-liquidator', dryRun, owner: owner.address, address, steps, recorded };
  };

  const withdraw = async (runtime: TriggerRuntime, payload: Extract<TriggerPayload, { action: 'withdraw' }>, context: Context): Promise<WithdrawTriggerResult> => {
    const { liquidatorAdmin: admin, execution } = runtime;
    const dryRun = payload.dryRun || execution.settings.dryRun;
    if (!admin.treasury) throw new Error('withdraw needs a treasury: set TREASURY_ADDRESS (execution.treasury)');
    const current = await admin.current();
    if ('missing' in current) throw new Error(`withdraw: ${current.missing}`);
    const state = await admin.chain.state(current.address, [], payload.token ? [payload.token] : await admin.assets());
    const owner = execution.signers.find((signer) => signer.address.toLowerCase() === state.owner.toLowerCase());
    if (!owner) throw new Error(`withdraw: the contract's owner ${state.owner} is not one of the configured signers`);
    const swept: WithdrawTriggerResult['swept'] = [];
    for (const balance of state.balances) {
      const request = { purpose: `withdraw ${balance.symbol}`, to: current.address, data: admin.chain.withdrawAllData(balance.asset, admin.treasury) };
      swept.push({ ...balance, step: (await adminStep(runtime, owner, request, dryRun, context)).step });
    }
    return { action: 'withdraw', dryRun, liquidator: current.address, treasury: admin.treasury, swept };
  };

  const run = async (event: unknown, context: Context): Promise<TriggerResult> => {
    try {
      const payload = parseTriggerPayload(event);
      logger.appendKeys({ action: payload.action });
      metrics.addMetric('TriggerInvocations', MetricUnit.Count, 1);
      const adapters = await connect();
      const result =
        payload.action === 'scan'
          ? await scan(adapters, context)
          : payload.action === 'liquidate'
            ? await liquidate(adapters, payload, context)
            : payload.action === 'status'
              ? await status(adapters)
              : payload.action === 'deploy-liquidator'
                ? await deployLiquidator(adapters, payload, context)
                : payload.action === 'withdraw'
                  ? await withdraw(adapters, payload, context)
                  : await flip(adapters, payload, context);
      logger.info('trigger finished', { result });
      return result;
    } catch (err) {
      logger.error('trigger failed', err as Error);
      throw err;
    }
  };

  return middy(run)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

/** The real adapters for a configuration; `close` releases the RPC providers (tests, scripts). */
export async function triggerRuntimeFromConfig(
  config: PipelineConfig,
  options: { onStartupWarning?: (warning: string) => void } = {},
): Promise<TriggerRuntime & { close(): void }> {
  // The execution side's start-up check covers the scanner's (marketExpectations and more): run once.
  const execution = await executeCandidateDepsFromConfig(config, { liquidatorOptional: true, onStartupWarning: options.onStartupWarning });
  let scanner: Awaited<ReturnType<typeof scannerRuntimeFromConfig>>;
  try {
    scanner = await scannerRuntimeFromConfig(config, { marketChecked: true });
  } catch (err) {
    execution.close();
    throw err;
  }
  try {
    const chain = new EthersLiquidatorAdmin(execution.provider);
    const protocol = aaveV3ExecutionProtocol(execution.provider, { pool: config.pool, ruleSet: config.ruleSet, version: config.poolVersion });
    // Parameter Store exists on AWS only: the local world sets LIQUIDATOR_ADDRESS and never writes a parameter.
    let ssm: SSMClient | undefined;
    return {
      scanner,
      execution,
      breakers: execution.breakers,
      balanceOf: (address) => execution.provider.getBalance(address),
      liquidatorAdmin: {
        chain,
        pool: config.pool,
        swapRouter: config.worker.swap.router,
        treasury: config.worker.treasury,
        current: () =>
          liquidatorAddressFromConfig(config, execution.provider).then(
            (address) => ({ address }),
            (error: unknown) => {
              if (error instanceof NoLiquidatorContractError) return { missing: error.message };
              throw error;
            },
          ),
        record: async (address) => {
          const source = config.worker.liquidator;
          if (source && 'parameterName' in source) {
            ssm ??= new SSMClient({});
            await ssm.send(new PutParameterCommand({ Name: source.parameterName, Value: address, Type: 'String', Overwrite: true }));
            return `SSM parameter ${source.parameterName} (the worker reads it within 5 minutes, or at its next cold start)`;
          }
          return `nowhere: LIQUIDATOR_ADDRESS is set by hand here; set it to ${address}`;
        },
        assets: async () => protocol.marketAssets(await execution.chain.latestBlock()),
      },
      close: () => {
        scanner.close();
        execution.close();
        ssm?.destroy();
      },
    };
  } catch (err) {
    scanner.close();
    execution.close();
    throw err;
  }
}

/** Wiring from the environment: configuration → observability → adapters → handler. */
export function triggerHandlerFromEnvironment(env: Record<string, string | undefined>, options: Pick<TriggerHandlerDeps, 'onScanEvent'> = {}) {
  const config = loadPipelineConfig(env, TRIGGER_REQUIREMENTS);
  const { logger, metrics } = createObservability(TRIGGER_SERVICE_NAME, config.marketName);
  return createTriggerHandler({ config, logger, metrics, runtime: () => triggerRuntimeFromConfig(config, { onStartupWarning: (warning) => logger.warn('start-up check', { warning }) }), onScanEvent: options.onScanEvent });
}

let fromEnvironment: ReturnType<typeof triggerHandlerFromEnvironment> | undefined;

/** The Lambda entry; configuration is read on the first invocation (a bad one fails it with every problem named). */
export const handler = (event: unknown, context: Context): Promise<TriggerResult> => {
  fromEnvironment ??= triggerHandlerFromEnvironment(process.env);
  return fromEnvironment(event, context);
};
