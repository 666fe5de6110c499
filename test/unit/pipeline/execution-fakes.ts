/**
 * In-memory fakes of the execution's ports (ledger, nonce leases, signers, chain, simulator, breakers) on a fake
 * clock, shared by the use case's and the dispatcher's tests. The fakes follow the DynamoDB adapters' rules
 * (first claim wins, one attempt per position, conditional transitions; the plan stored encoded and decoded on
 * read); the adapters themselves are tested against DynamoDB Local.
 *
 * The position: 10 WETH at $2,000 (LT 82.5 %, bonus 5 %, no protocol fee) against 17,000 USDC at $1.
 *   HF = 20,000 × 0.825 / 17,000 = 0.9706 → liquidatable; v3.5, debt ≥ $2,000 and HF > 0.95 → 50 % close factor
 *   debt repaid = 8,500 USDC; collateral = 8,500 × 1.05 / 2,000 = 4.4625 WETH
 *   through our liquidator contract with a flash loan (premium 0 bps here): the quoter sells 4.4625 WETH for
 *   8,898.225 USDC (30 bps under the oracle's $8,925); the contract keeps 8,898.225 − 8,500 = 398.225 USDC
 *   value received $8,925.00, repaid $8,500.00, swap cost $8,925 − $8,898.225 = $26.775
 *   gas: simulated limit 375,000 × (base 10 + tip 1 gwei) = 0.004125 ETH × $2,000 = $8.25
 *   profit = 8,925 − 8,500 − 26.775 − 8.25 = $389.975
 */
import { keccak256, toUtf8Bytes } from 'ethers';
import { LedgerOwnershipError } from '../../../functions/adapters/store/dynamodb-liquidation-ledger';
import type { BestEffortContext, BestEffortStep } from '../../../functions/pipeline/best-effort';
import { type CandidateMessage, deduplicationIdOf } from '../../../functions/pipeline/candidate-message';
import { type ExecuteCandidateDeps, executeCandidate, type PositionRead, sizingStrategyFor } from '../../../functions/pipeline/execute-candidate';
import type { ExecutionStep } from '../../../functions/pipeline/execution-faults';
import { decodePlan, encodePlan, type ExecutionPlan } from '../../../functions/pipeline/execution-plan';
import type { LiquidatedEvent, LiquidatorCall, LiquidatorContract, LiquidatorSimulation, RevertClass } from '../../../functions/ports/liquidator-contract';
import type { AttemptRecord, AttemptTransaction, BatchReference, ClaimResult, FinalOutcome, LiquidationLedger } from '../../../functions/ports/liquidation-ledger';
import { type LeaseRecord, type NonceLease, NonceLeaseLostError, type NonceLeases } from '../../../functions/ports/nonce-leases';
import type { BroadcastResult, ChainGateway, ReceiptSummary, Signer, SignedTransaction, UnsignedTransaction } from '../../../functions/ports/transactions';
import { ASSETS, LIQUIDATOR, position, reserve, units, usd, USER } from '../domain/fixtures';

export const POOL = '0x00000000000000000000000000000000000000f1';
/** Our liquidator contract: the transactions' target. */
export const LIQUIDATOR_CONTRACT = '0x00000000000000000000000000000000000000c1';
/** What the fake quoter pays for the 4.4625 WETH the plan receives (USDC units). */
export const QUOTED_OUT_UNITS = 8_898_225_000n;
/** What the contract keeps: quoted output − debt repaid (no premium). */
export const EXPECTED_PROFIT_UNITS = 398_225_000n;
export const SECOND_SIGNER = '0x00000000000000000000000000000000000000a2';
export const BLOCK = 100;
export const GWEI = 10n ** 9n;
export const START_MS = 1_750_000_000_000;

export const MESSAGE: CandidateMessage = {
  version: 1,
  chainId: '31337',
  pool: POOL,
  borrower: USER,
  detectedBlock: 98,
  healthFactorWad: '970588235294117647',
  firstLiquidatableBlock: 97,
  source: 'scanner',
};
export const OPPORTUNITY = deduplicationIdOf(MESSAGE);
export const POSITION = `31337#${POOL}#${USER}#${ASSETS.USDC.asset}`;

/**
 * The plan the use case builds for `liquidatable` at the fakes' fees (max sizing; only debtToCover = max is
 * asked, the close factor limits it): HF after = (10 − 4.4625) WETH × $2,000 × 0.825 / 8,500 = 1.0749264705….
 */
export const PLAN: ExecutionPlan = {
  sizing: 'max',
  steps: 1,
  collateralAsset: ASSETS.WETH.asset,
  debtAsset: ASSETS.USDC.asset,
  debtToCoverUnits: 8_500_000_000n,
  debtRepaidUnits: 8_500_000_000n,
  liquidatorCollateralUnits: 4_462_500_000_000_000_000n,
  protocolFeeUnits: 0n,
  closeFactor: 'half-of-total-debt',
  limitedBy: 'close-factor',
  healthFactorBeforeWad: 970_588_235_294_117_647n,
  healthFactorAfterWad: 1_074_926_470_588_235_294n,
  // The fake position's oracle prices (liquidatable, above): WETH $2,000, USDC $1.
  collateralPriceBase8: usd(2000),
  debtPriceBase8: usd(1),
  nativePriceBase8: usd(2000),
  baseFeePerGasWei: 10n * 10n ** 9n,
  maxFeePerGasWei: 21n * 10n ** 9n,
  maxPriorityFeePerGasWei: 1n * 10n ** 9n,
  valueReceivedBase: usd(8_925),
  valueRepaidBase: usd(8_500),
  gasCostWei: 4_125_000_000_000_000n,
  gasCostBase: 825_000_000n,
  swapCostBase: 2_677_500_000n,
  profitBase: 38_997_500_000n,
  gasEstimate: 300_000n,
  gasLimit: 375_000n,
  funded: {
    funding: 'flash-loan',
    liquidatorContract: LIQUIDATOR_CONTRACT,
    swapPath: `0x${ASSETS.WETH.asset.slice(2)}0001f4${ASSETS.USDC.asset.slice(2)}`,
    quotedAmountOutUnits: QUOTED_OUT_UNITS,
    // 8,898.225 × (1 − 0.5 %)
    amountOutMinimumUnits: 8_853_733_875n,
    flashLoanUnits: 8_500_000_000n,
    flashLoanPremiumBps: 0n,
    flashLoanPremiumUnits: 0n,
    expectedProfitUnits: EXPECTED_PROFIT_UNITS,
    // The gas, $8.25, in USDC units.
    minProfitUnits: 8_250_000n,
  },
};

export const liquidatable = position('v3.5', [
  reserve('WETH', { priceBase8: usd(2000), collateralBalanceUnits: units('WETH', 10) }),
  reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 17_000) }),
]);
export const healthy = position('v3.5', [
  reserve('WETH', { priceBase8: usd(2000), collateralBalanceUnits: units('WETH', 10) }),
  reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 15_000) }),
]);

/** Everything that happened, in order, across the fakes. */
export type Event = string;

/** In-memory ledger with the DynamoDB adapter's rules. */
export class FakeLedger implements LiquidationLedger<ExecutionPlan> {
  readonly attempts = new Map<string, AttemptRecord<ExecutionPlan>>();
  readonly locks = new Map<string, string>();
  readonly history: string[] = [];
  constructor(private readonly events: Event[]) {}
  async find(opportunity: string): Promise<AttemptRecord<ExecutionPlan> | undefined> {
    const found = this.attempts.get(opportunity);
    return found && { ...found, transactions: found.transactions.map((tx) => ({ ...tx })) };
  }
  async claim(opportunity: string, attempt: string, position: string, block: number): Promise<ClaimResult> {
    const item = this.attempts.get(opportunity);
    if (item && !(item.attemptId === attempt && (item.state === 'claimed' || item.state === 'failed'))) return { kind: 'duplicate' };
    const holder = this.locks.get(position);
    if (holder && holder !== opportunity) return { kind: 'in-flight', heldBy: holder };
    this.locks.set(position, opportunity);
    this.attempts.set(opportunity, { opportunity, attemptId: attempt, position, block, state: 'claimed', transactions: item?.transactions ?? [] });
    this.log(`claim ${attempt}`);
    return { kind: 'claimed' };
  }
  async recordSigned(opportunity: string, attempt: string, tx: Omit<AttemptTransaction, 'state' | 'signedAt'> & { replaces?: number }, plan: ExecutionPlan): Promise<void> {
    const item = this.owned(opportunity, attempt);
    if (tx.index !== item.transactions.length) throw new LedgerOwnershipError(opportunity, attempt, 'out of order');
    const first = tx.replaces === undefined;
    if (first ? item.state !== 'claimed' : !['signed', 'sent'].includes(item.state)) throw new LedgerOwnershipError(opportunity, attempt, `signed from ${item.state}`);
    const { replaces: _replaces, ...stored } = tx;
    item.transactions.push({ ...stored, state: 'signed', signedAt: 'now' });
    // Stored as the adapter stores it: encoded, decoded on the way back.
    item.plan = decodePlan(encodePlan(plan), `fake ledger ${opportunity}`);
    if (first) item.state = 'signed';
    this.log(`ledger signed #${tx.index}`);
  }
  async recordBatched(opportunity: string, attempt: string, batch: BatchReference, plan: ExecutionPlan): Promise<void> {
    const item = this.owned(opportunity, attempt);
    if (item.state !== 'claimed') throw new LedgerOwnershipError(opportunity, attempt, `batched from ${item.state}`);
    item.state = 'batched';
    item.batch = { ...batch };
    item.plan = decodePlan(encodePlan(plan), `fake ledger ${opportunity}`);
    this.log(`ledger batched ${batch.opportunity}#${batch.index}`);
  }
  async recordSent(opportunity: string, attempt: string, index: number): Promise<void> {
    const item = this.owned(opportunity, attempt);
    item.state = 'sent';
    item.transactions[index].state = 'sent';
    this.log(`ledger sent #${index}`);
  }
  async finish(opportunity: string, attempt: string, outcome: FinalOutcome<ExecutionPlan>): Promise<void> {
    const item = this.owned(opportunity, attempt);
    const allowed = ['mined', 'reverted', 'dropped'].includes(outcome.kind) ? ['signed', 'sent', 'batched'] : outcome.kind === 'failed' ? ['claimed', 'signed', 'batched', 'failed'] : ['claimed', 'failed'];
    if (!allowed.includes(item.state)) throw new LedgerOwnershipError(opportunity, attempt, `cannot finish as ${outcome.kind} from ${item.state}`);
    item.state = outcome.kind;
    if ('reason' in outcome) item.reason = outcome.reason;
    if ('txHash' in outcome) item.txHash = outcome.txHash;
    if ('minedBlock' in outcome) item.minedBlock = outcome.minedBlock;
    if ('gasUsed' in outcome) item.gasUsed = outcome.gasUsed;
    if ('plan' in outcome) item.plan = decodePlan(encodePlan(outcome.plan), `fake ledger ${opportunity}`);
    for (const tx of item.transactions.filter((t) => t.state !== 'dropped')) {
      tx.state = outcome.kind === 'mined' || outcome.kind === 'reverted' ? (tx.txHash === outcome.txHash ? 'mined' : 'replaced') : 'dropped';
    }
    if (this.locks.get(item.position) === opportunity) this.locks.delete(item.position);
    this.log(`ledger ${outcome.kind}`);
  }
  private owned(opportunity: string, attempt: string): AttemptRecord<ExecutionPlan> {
    const item = this.attempts.get(opportunity);
    if (item?.attemptId !== attempt) throw new LedgerOwnershipError(opportunity, attempt);
    return item;
  }
  private log(line: string): void {
    this.history.push(line);
    this.events.push(line);
  }
  state(opportunity = OPPORTUNITY): string | undefined {
    return this.attempts.get(opportunity)?.state;
  }
}

/** In-memory nonce leases: the lowest released nonce first, else the next one after the head. */
export class FakeNonceLeases implements NonceLeases {
  readonly leases = new Map<string, LeaseRecord>();
  readonly next = new Map<string, number>();
  loseNextLease = false;
  constructor(private readonly events: Event[]) {}
  async allocate(signer: string, owner: string, chainNonce: number, nowMs: number): Promise<NonceLease> {
    const reusable = [...this.leases.values()].filter((l) => l.signer === signer && l.nonce >= chainNonce && l.state === 'released').sort((a, b) => a.nonce - b.nonce)[0];
    const nonce = reusable?.nonce ?? Math.max(this.next.get(signer) ?? 0, chainNonce);
    if (!reusable) this.next.set(signer, nonce + 1);
    this.leases.set(`${signer}#${nonce}`, { signer, nonce, owner, state: 'leased', expiresAtMs: nowMs + 60_000, updatedAtMs: nowMs });
    this.events.push(`lease ${nonce}`);
    return { signer, nonce, owner };
  }
  async markSigned(lease: NonceLease, tx: { txHash: string; rawTransaction: string }): Promise<void> {
    const record = this.leases.get(`${lease.signer}#${lease.nonce}`);
    if (this.loseNextLease || !record || record.owner !== lease.owner || !['leased', 'signed'].includes(record.state)) {
      this.loseNextLease = false;
      throw new NonceLeaseLostError(lease);
    }
    Object.assign(record, { state: 'signed', ...tx });
    this.events.push(`lease signed ${lease.nonce}`);
  }
  async confirm(lease: NonceLease): Promise<void> {
    this.leases.get(`${lease.signer}#${lease.nonce}`)!.state = 'confirmed';
    this.events.push(`lease confirmed ${lease.nonce}`);
  }
  async release(lease: NonceLease): Promise<void> {
    this.leases.get(`${lease.signer}#${lease.nonce}`)!.state = 'released';
    this.events.push(`lease released ${lease.nonce}`);
  }
  async open(signer: string, chainNonce: number): Promise<LeaseRecord[]> {
    return [...this.leases.values()].filter((l) => l.signer === signer && l.nonce >= chainNonce && l.state !== 'confirmed');
  }
}

export class RetryableRpcError extends Error {
  readonly retryable = true;
}

/** A fake signer: the hash is the keccak of a readable "raw" string, so replacements get distinct hashes. */
export function fakeSigner(address: string, signed: UnsignedTransaction[], events: Event[]): Signer {
  return {
    address,
    async signTransaction(tx): Promise<SignedTransaction> {
      signed.push(tx);
      events.push(`sign nonce ${tx.nonce} maxFee ${tx.maxFeePerGasWei}`);
      const raw = `raw:${address}:${tx.nonce}:${tx.maxFeePerGasWei}`;
      return { raw, hash: keccak256(toUtf8Bytes(raw)) };
    },
  };
}

export interface Setup {
  read?: PositionRead | Error;
  simulation?: LiquidatorSimulation | Error;
  /** Why a mined transaction reverted (explainRevert); absent: not explained. */
  revert?: { reason: string; revertClass: RevertClass };
  /** The contract's Liquidated events of a mined transaction; default one matching the plan. */
  liquidated?: LiquidatedEvent[];
  /** Answers of successive broadcasts (the last repeats); default accepted. */
  broadcasts?: BroadcastResult[];
  /** When (ms after the first broadcast of that hash's nonce) which broadcast index gets mined; default: index 0 at once. */
  mine?: { index: number; afterMs: number; status?: 'success' | 'reverted' } | 'never';
  minProfitBase?: bigint;
  /** What the fake quoter pays, bps of WETH's oracle price (default 9,970: the assumed 30 bps swap cost). */
  quoteBps?: bigint;
  dryRun?: boolean;
  maxReplacements?: number;
  gasPriceCapWei?: bigint;
  signers?: string[];
  breaker?: { kind: 'closed' } | { kind: 'open'; reason: string; detail: string };
  /** The chain's confirmed nonce for the signer, as a function of time since the start. */
  confirmedNonce?: (elapsedMs: number) => number;
  crashAt?: ExecutionStep;
  maxPendingPerSigner?: number;
  /** Best-effort steps that fail: the breaker update, lease confirmations, the first `n` receipt polls. */
  failing?: { breakerUpdate?: Error; leaseConfirm?: Error; receiptPolls?: { count: number; error: Error } };
}

/** A best-effort failure as the port received it. */
export interface ReportedFailure {
  step: BestEffortStep;
  error: unknown;
  context?: BestEffortContext;
}

export function world(setup: Setup = {}) {
  const events: Event[] = [];
  const ledger = new FakeLedger(events);
  const nonces = new FakeNonceLeases(events);
  const signed: UnsignedTransaction[] = [];
  const broadcasts: string[] = [];
  const simulated: { call: LiquidatorCall; from: string; block: number }[] = [];
  const breakerOutcomes: { kind: string; gasCostWei: bigint }[] = [];
  const failures: ReportedFailure[] = [];
  let failingPolls = setup.failing?.receiptPolls?.count ?? 0;
  const clock = { now: START_MS };
  let firstBroadcastMs: number | undefined;
  let crash = setup.crashAt;

  const signers = (setup.signers ?? [LIQUIDATOR]).map((address) => fakeSigner(address, signed, events));
  const liquidator: LiquidatorContract = {
    address: LIQUIDATOR_CONTRACT,
    buildTransaction: () => ({ to: LIQUIDATOR_CONTRACT, data: '0xdeadbeef' }),
    async simulate(call, from, block) {
      simulated.push({ call, from, block });
      events.push('simulate');
      const outcome = setup.simulation ?? { kind: 'ok', block, gasEstimate: 300_000n, gasLimit: 375_000n, profitUnits: EXPECTED_PROFIT_UNITS };
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
    liquidationsIn: async () =>
      setup.liquidated ?? [
        {
          user: USER,
          collateralAsset: ASSETS.WETH.asset,
          debtAsset: ASSETS.USDC.asset,
          debtRepaidUnits: 8_500_000_000n,
          collateralSeizedUnits: 4_462_500_000_000_000_000n,
          swapAmountOutUnits: QUOTED_OUT_UNITS,
          flashPremiumUnits: 0n,
          profitUnits: EXPECTED_PROFIT_UNITS,
        },
      ],
    revertOf: async () => {
      if (!setup.revert) throw new Error('not explained in this test');
      return setup.revert;
    },
  };
  const minedReceipt = (): ReceiptSummary | undefined => {
    const mine = setup.mine ?? { index: 0, afterMs: 0 };
    if (mine === 'never' || firstBroadcastMs === undefined || clock.now - firstBroadcastMs < mine.afterMs) return undefined;
    const tx = signed[mine.index];
    if (!tx || !broadcasts.some((raw) => raw.endsWith(`:${tx.nonce}:${tx.maxFeePerGasWei}`))) return undefined;
    const raw = `raw:${signers[0].address}:${tx.nonce}:${tx.maxFeePerGasWei}`;
    return { txHash: keccak256(toUtf8Bytes(raw)), status: mine.status ?? 'success', blockNumber: BLOCK + 1, gasUsed: 280_123n, effectiveGasPriceWei: 11n * GWEI };
  };
  let broadcastCount = 0;
  const chain: ChainGateway = {
    latestBlock: async () => BLOCK,
    feesAfter: async () => ({ baseFeePerGasWei: 10n * GWEI, maxPriorityFeePerGasWei: 1n * GWEI, maxFeePerGasWei: 21n * GWEI }),
    confirmedNonce: async () => setup.confirmedNonce?.(clock.now - START_MS) ?? 7,
    async broadcast(raw) {
      events.push(`broadcast ${raw}`);
      const answer = setup.broadcasts?.[Math.min(broadcastCount, setup.broadcasts.length - 1)] ?? { kind: 'accepted' };
      broadcastCount++;
      if (answer.kind !== 'rejected') {
        broadcasts.push(raw);
        firstBroadcastMs ??= clock.now;
      }
      return answer;
    },
    async receiptOfAny(hashes, timeoutMs) {
      events.push(`receipt? ${hashes.length} within ${timeoutMs} ms`);
      if (failingPolls > 0) {
        failingPolls--;
        throw setup.failing!.receiptPolls!.error;
      }
      const receipt = minedReceipt();
      if (receipt && hashes.includes(receipt.txHash)) return receipt;
      clock.now += timeoutMs;
      const later = minedReceipt();
      return later && hashes.includes(later.txHash) ? later : undefined;
    },
  };
  const deps: ExecuteCandidateDeps = {
    positions: {
      async read(user, block) {
        events.push(`read ${user} at ${block}`);
        const read = setup.read ?? { kind: 'position', position: liquidatable };
        if (read instanceof Error) throw read;
        return read;
      },
    },
    liquidator,
    quoter: {
      // 30 bps under the oracle price of WETH ($2,000 in USDC units) unless told otherwise, for any amount.
      bestQuote: async (tokenIn, tokenOut, amountInUnits) => ({
        route: { tokens: [tokenIn, tokenOut], fees: [500] },
        amountInUnits,
        amountOutUnits: (amountInUnits * 2_000n * (setup.quoteBps ?? 9_970n)) / 10_000n / 10n ** 12n,
        swapGasEstimate: 100_000n,
      }),
    },
    flashTerms: { premiumBps: async () => 0n },
    ...(setup.revert ? { explainRevert: async () => setup.revert! } : {}),
    nativePrice: { nativePriceBase8: async () => usd(2000) },
    chain,
    signers,
    ledger,
    nonces,
    breakers: {
      check: async () => setup.breaker ?? { kind: 'closed' },
      recordOutcome: async (outcome) => {
        if (setup.failing?.breakerUpdate) throw setup.failing.breakerUpdate;
        breakerOutcomes.push(outcome);
      },
    },
    clock: { nowMs: () => clock.now },
    classifyFailure: (error) => ((error as { retryable?: boolean }).retryable ? 'retryable' : 'permanent'),
    settings: {
      chainId: 31337n,
      sizing: sizingStrategyFor('max', 0n),
      ruleSet: 'v3.5',
      funding: 'flash-loan',
      maxSlippageBps: 50n,
      swapCostBps: 30n,
      minProfitBase: setup.minProfitBase ?? 0n,
      assumedGasPerStep: 400_000n,
      fees: { replaceAfterMs: 10_000, maxReplacements: setup.maxReplacements ?? 2, bumpBps: 1_250n, gasPriceCapWei: setup.gasPriceCapWei },
      maxPendingPerSigner: setup.maxPendingPerSigner,
      dryRun: setup.dryRun ?? false,
    },
    // Waiting (for a signer slot, out a failed receipt poll's round) moves the fake clock.
    sleep: async (ms) => {
      events.push(`sleep ${ms} ms`);
      clock.now += ms;
    },
    bestEffort: {
      failed(step, error, context) {
        failures.push({ step, error, context });
        events.push(`best-effort failed: ${step}`);
      },
    },
    faults: {
      reach(step) {
        if (crash === step) {
          crash = undefined;
          throw new Error(`simulated crash at ${step}`);
        }
      },
    },
  };
  const run = (attempt = 'message-1', deadlineAfterMs = 30_000) =>
    executeCandidate(deps, { message: MESSAGE, attempt, receiptDeadlineMs: clock.now + deadlineAfterMs });
  if (setup.failing?.leaseConfirm) {
    const error = setup.failing.leaseConfirm;
    nonces.confirm = async () => {
      throw error;
    };
  }
  return { deps, run, events, ledger, nonces, signed, broadcasts, simulated, breakerOutcomes, failures, clock };
}

