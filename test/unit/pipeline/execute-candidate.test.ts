/**
 * executeCandidate with fakes for every port: which outcome each situation gives, what reaches the ledger (and
 * in which order relative to the broadcast), and what is signed. Positions are built with the domain fixtures;
 * the plan numbers below are checked by hand.
 *
 * The position: 10 WETH at $2,000 (LT 82.5 %, bonus 5 %, no protocol fee) against 17,000 USDC at $1.
 *   HF = 20,000 × 0.825 / 17,000 = 0.9706 → liquidatable; v3.5, debt ≥ $2,000 and HF > 0.95 → 50 % close factor
 *   debt repaid = 8,500 USDC; collateral = 8,500 × 1.05 / 2,000 = 4.4625 WETH
 *   value received $8,925.00, repaid $8,500.00, swap cost 30 bps of $8,925 = $26.775
 *   gas: simulated limit 375,000 × (base 10 + tip 1 gwei) = 0.004125 ETH × $2,000 = $8.25
 *   profit = 8,925 − 8,500 − 26.775 − 8.25 = $389.975
 */
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { makeError } from 'ethers';
import { LedgerOwnershipError, LedgerWriteError } from '../../../functions/adapters/store/dynamodb-liquidation-ledger';
import { classifyBroadcastError, classifyWorkerFailure } from '../../../functions/handlers/worker';
import { type CandidateMessage, deduplicationIdOf } from '../../../functions/pipeline/candidate-message';
import {
  type BroadcastResult,
  type ChainGateway,
  type ExecuteCandidateDeps,
  executeCandidate,
  type ExecutionResult,
  type FailureClass,
  type PositionRead,
  type ReceiptSummary,
  RetryableBroadcastError,
  type Signer,
  type SignedTransaction,
  sizingStrategyFor,
  type UnsignedTransaction,
} from '../../../functions/pipeline/execute-candidate';
import type { LiquidationCall, LiquidationSimulation, LiquidationSimulator } from '../../../functions/ports/lending-protocol';
import type { AttemptOutcome, LiquidationLedger } from '../../../functions/ports/liquidation-ledger';
import { ASSETS, LIQUIDATOR, position, reserve, units, usd, USER } from '../domain/fixtures';

const POOL = '0x00000000000000000000000000000000000000f1';
const BLOCK = 100;
const GWEI = 10n ** 9n;

const MESSAGE: CandidateMessage = {
  version: 1,
  chainId: '31337',
  pool: POOL,
  borrower: USER,
  detectedBlock: 98,
  healthFactorWad: '970588235294117647',
  firstLiquidatableBlock: 97,
  source: 'scanner',
};
const OPPORTUNITY = deduplicationIdOf(MESSAGE);

const liquidatable = position('v3.5', [
  reserve('WETH', { priceBase8: usd(2000), collateralBalanceUnits: units('WETH', 10) }),
  reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 17_000) }),
]);
const healthy = position('v3.5', [
  reserve('WETH', { priceBase8: usd(2000), collateralBalanceUnits: units('WETH', 10) }),
  reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 15_000) }),
]);

/** Everything that happened, in order, across the fakes. */
type Event = string;

/** In-memory ledger with the DynamoDB adapter's rule: first claim wins; the same attempt may retake `claimed`/`failed`. */
class FakeLedger implements LiquidationLedger {
  readonly items = new Map<string, { attempt: string; state: string; outcomes: AttemptOutcome[] }>();
  constructor(private readonly events: Event[]) {}
  async claim(opportunity: string, attempt: string): Promise<boolean> {
    const item = this.items.get(opportunity);
    if (item && !(item.attempt === attempt && (item.state === 'claimed' || item.state === 'failed'))) return false;
    this.items.set(opportunity, { attempt, state: 'claimed', outcomes: item?.outcomes ?? [] });
    this.events.push(`claim ${attempt}`);
    return true;
  }
  async record(opportunity: string, attempt: string, outcome: AttemptOutcome): Promise<void> {
    const item = this.items.get(opportunity);
    if (item?.attempt !== attempt) throw new Error(`attempt ${attempt} does not hold the claim`);
    item.state = outcome.kind;
    item.outcomes.push(outcome);
    this.events.push(`record ${outcome.kind}`);
  }
  states(opportunity = OPPORTUNITY): string[] {
    return this.items.get(opportunity)?.outcomes.map((o) => o.kind) ?? [];
  }
}

class RetryableRpcError extends Error {
  readonly retryable = true;
}

interface Setup {
  read?: PositionRead | Error;
  simulation?: LiquidationSimulation | Error;
  broadcast?: BroadcastResult;
  receipt?: ReceiptSummary | undefined;
  minProfitBase?: bigint;
  dryRun?: boolean;
}

function world(setup: Setup = {}) {
  const events: Event[] = [];
  const ledger = new FakeLedger(events);
  const signed: UnsignedTransaction[] = [];
  const simulated: { call: LiquidationCall; from: string; block: number }[] = [];
  let nowMs = 1_750_000_000_000;
  const receipt: ReceiptSummary | undefined =
    'receipt' in setup ? setup.receipt : { status: 'success', blockNumber: BLOCK + 1, gasUsed: 280_123n, effectiveGasPriceWei: 11n * GWEI };

  const signer: Signer = {
    address: LIQUIDATOR,
    async signTransaction(tx): Promise<SignedTransaction> {
      signed.push(tx);
      events.push(`sign nonce ${tx.nonce}`);
      return { raw: '0x02f8raw', hash: '0xabc1' };
    },
  };
  const simulator: LiquidationSimulator = {
    buildTransaction: () => ({ to: POOL, data: '0xdeadbeef' }),
    async simulate(call, from, block) {
      simulated.push({ call, from, block });
      events.push('simulate');
      const outcome = setup.simulation ?? { kind: 'ok', block, gasEstimate: 300_000n, gasLimit: 375_000n };
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
  const chain: ChainGateway = {
    latestBlock: async () => BLOCK,
    feesAfter: async () => ({ baseFeePerGasWei: 10n * GWEI, maxPriorityFeePerGasWei: 1n * GWEI, maxFeePerGasWei: 21n * GWEI }),
    pendingNonce: async () => 7,
    async broadcast(raw) {
      events.push(`broadcast ${raw}`);
      return setup.broadcast ?? { kind: 'accepted' };
    },
    async receipt(hash, timeoutMs) {
      events.push(`receipt ${hash} within ${timeoutMs} ms`);
      nowMs += 1_000;
      return receipt;
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
    simulator,
    nativePrice: { nativePriceBase8: async () => usd(2000) },
    chain,
    signer,
    ledger,
    clock: { nowMs: () => nowMs },
    classifyFailure: (error) => ((error as { retryable?: boolean }).retryable ? 'retryable' : 'permanent'),
    settings: {
      chainId: 31337n,
      sizing: sizingStrategyFor('max', 0n),
      swapCostBps: 30n,
      minProfitBase: setup.minProfitBase ?? 0n,
      assumedGasPerStep: 400_000n,
      dryRun: setup.dryRun ?? false,
    },
  };
  const run = (attempt = 'message-1') => executeCandidate(deps, { message: MESSAGE, attempt, receiptDeadlineMs: nowMs + 20_000 });
  return { deps, run, events, ledger, signed, simulated };
}

describe('executeCandidate', () => {
  it('liquidates a liquidatable account: claim, simulate at the read block, write-ahead sent, broadcast, mined', async () => {
    const { run, events, ledger, signed, simulated } = world();

    const result = await run();

    expect(result).toMatchObject({ kind: 'mined', opportunity: OPPORTUNITY, block: BLOCK, txHash: '0xabc1', minedBlock: BLOCK + 1, gasUsed: '280123' });
    const plan = (result as Extract<ExecutionResult, { kind: 'mined' }>).plan;
    expect(plan).toMatchObject({
      sizing: 'max',
      steps: '1',
      collateralAsset: ASSETS.WETH.asset,
      debtAsset: ASSETS.USDC.asset,
      debtRepaidUnits: '8500000000',
      liquidatorCollateralUnits: '4462500000000000000',
      closeFactor: 'half-of-total-debt',
      valueReceivedBase: '892500000000',
      valueRepaidBase: '850000000000',
      gasCostWei: '4125000000000000',
      gasCostBase: '825000000',
      swapCostBase: '2677500000',
      profitBase: '38997500000',
      gasEstimate: '300000',
      gasLimit: '375000',
      nonce: '7',
      from: LIQUIDATOR,
      effectiveGasPriceWei: '11000000000',
    });
    expect(Object.values(plan).every((value) => typeof value === 'string')).toBe(true);
    expect(simulated).toEqual([
      { call: { collateralAsset: ASSETS.WETH.asset, debtAsset: ASSETS.USDC.asset, user: USER, debtToCoverUnits: 2n ** 256n - 1n, receiveAToken: false }, from: LIQUIDATOR, block: BLOCK },
    ]);
    expect(signed).toEqual([
      { chainId: 31337n, nonce: 7, to: POOL, data: '0xdeadbeef', valueWei: 0n, gasLimit: 375_000n, maxFeePerGasWei: 21n * GWEI, maxPriorityFeePerGasWei: 1n * GWEI },
    ]);
    expect(events).toEqual([
      `read ${USER} at ${BLOCK}`,
      'claim message-1',
      'simulate',
      'sign nonce 7',
      'record sent',
      'broadcast 0x02f8raw',
      'receipt 0xabc1 within 20000 ms',
      'record mined',
    ]);
    expect(ledger.states()).toEqual(['sent', 'mined']);
  });

  it('returns stale for an account that is healthy at the latest block, and claims nothing', async () => {
    const { run, events, ledger } = world({ read: { kind: 'position', position: healthy } });

    const result = await run();

    // 20,000 × 0.825 / 15,000 = 1.1
    expect(result).toEqual({ kind: 'stale', opportunity: OPPORTUNITY, block: BLOCK, healthFactorWad: '1100000000000000000' });
    expect(events).toEqual([`read ${USER} at ${BLOCK}`]);
    expect(ledger.items.size).toBe(0);
  });

  it('skips a position the reader cannot express (eMode) without claiming it', async () => {
    const { run, ledger } = world({ read: { kind: 'unsupported', reason: 'emode' } });

    expect(await run()).toEqual({ kind: 'skipped', opportunity: OPPORTUNITY, block: BLOCK, reason: 'unsupported-position', detail: 'emode' });
    expect(ledger.items.size).toBe(0);
  });

  it('skips an unprofitable candidate before claiming, with the best profit in the detail', async () => {
    // Profit with the assumed 400k gas: 892,500,000,000 − 850,000,000,000 − 880,000,000 − 2,677,500,000.
    const { run, ledger, signed } = world({ minProfitBase: usd(1_000) });

    expect(await run()).toEqual({
      kind: 'skipped',
      opportunity: OPPORTUNITY,
      block: BLOCK,
      reason: 'unprofitable',
      detail: 'best profit 38942500000 base, must exceed 100000000000',
    });
    expect(ledger.items.size).toBe(0);
    expect(signed).toEqual([]);
  });

  it('returns duplicate when another attempt holds the claim, and neither simulates nor signs', async () => {
    const { run, ledger, simulated, signed } = world();
    await ledger.claim(OPPORTUNITY, 'message-0');

    expect(await run('message-1')).toEqual({ kind: 'duplicate', opportunity: OPPORTUNITY, block: BLOCK });
    expect(simulated).toEqual([]);
    expect(signed).toEqual([]);
  });

  it('records a simulation revert as failed with the decoded reason, and sends nothing', async () => {
    const { run, ledger, signed } = world({ simulation: { kind: 'revert', block: BLOCK, reason: 'HealthFactorNotBelowThreshold' } });

    expect(await run()).toEqual({
      kind: 'failed',
      opportunity: OPPORTUNITY,
      block: BLOCK,
      stage: 'simulate',
      reason: 'simulation reverted: HealthFactorNotBelowThreshold',
    });
    expect(ledger.items.get(OPPORTUNITY)?.outcomes).toEqual([{ kind: 'failed', reason: 'simulation reverted: HealthFactorNotBelowThreshold', block: BLOCK }]);
    expect(signed).toEqual([]);
  });

  it('skips (and records) a claim that is unprofitable once priced with the simulated gas limit', async () => {
    // 10M gas × 11 gwei = 0.11 ETH = $220 → profit $389.975 + $8.25 − $220 = $178.225, below the $300 minimum.
    const { run, ledger, signed } = world({ simulation: { kind: 'ok', block: BLOCK, gasEstimate: 8_000_000n, gasLimit: 10_000_000n }, minProfitBase: usd(300) });

    const result = await run();

    expect(result).toEqual({
      kind: 'skipped',
      opportunity: OPPORTUNITY,
      block: BLOCK,
      reason: 'unprofitable',
      detail: 'profit 17822500000 base after the simulated gas limit 10000000 (min 30000000000)',
    });
    expect(ledger.states()).toEqual(['skipped']);
    expect(signed).toEqual([]);
  });

  it('plans, simulates and records a dry run without signing', async () => {
    const { run, ledger, signed } = world({ dryRun: true });

    const result = await run();

    expect(result).toMatchObject({ kind: 'dry-run', block: BLOCK, plan: { debtRepaidUnits: '8500000000', gasLimit: '375000', profitBase: '38997500000' } });
    expect(ledger.states()).toEqual(['dry-run']);
    expect(signed).toEqual([]);
  });

  it('records a transaction that reverted on chain as reverted', async () => {
    const { run, ledger } = world({ receipt: { status: 'reverted', blockNumber: BLOCK + 1, gasUsed: 90_000n, effectiveGasPriceWei: 11n * GWEI } });

    expect(await run()).toMatchObject({ kind: 'reverted', txHash: '0xabc1', minedBlock: BLOCK + 1, gasUsed: '90000' });
    expect(ledger.items.get(OPPORTUNITY)?.outcomes[1]).toMatchObject({ kind: 'reverted', reason: `reverted in block ${BLOCK + 1}` });
  });

  it('leaves the attempt sent when no receipt arrives before the deadline', async () => {
    const { run, ledger } = world({ receipt: undefined });

    expect(await run()).toMatchObject({ kind: 'sent', txHash: '0xabc1', detail: 'no receipt before the deadline' });
    expect(ledger.states()).toEqual(['sent']);
  });

  it('still waits for the receipt when the broadcast outcome is unknown (it may have reached the node)', async () => {
    const { run, ledger } = world({ broadcast: { kind: 'unknown', reason: 'socket hang up' } });

    expect(await run()).toMatchObject({ kind: 'mined', txHash: '0xabc1' });
    expect(ledger.states()).toEqual(['sent', 'mined']);
  });

  it('records a permanent broadcast refusal as failed', async () => {
    const { run, ledger } = world({ broadcast: { kind: 'rejected', reason: 'insufficient funds for gas * price + value', retryable: false } });

    expect(await run()).toEqual({
      kind: 'failed',
      opportunity: OPPORTUNITY,
      block: BLOCK,
      stage: 'broadcast',
      reason: 'broadcast rejected: insufficient funds for gas * price + value',
    });
    expect(ledger.states()).toEqual(['sent', 'failed']);
  });

  it('throws on a retryable broadcast refusal after recording failed, so the redelivery may retake the claim', async () => {
    const { run, ledger } = world({ broadcast: { kind: 'rejected', reason: 'nonce too low', retryable: true } });

    await expect(run()).rejects.toThrow(new RetryableBroadcastError('nonce too low'));
    expect(ledger.states()).toEqual(['sent', 'failed']);
  });

  it('throws a retryable failure after the claim, records it, and lets the same message retake the claim', async () => {
    const setup: Setup = { simulation: new RetryableRpcError('eth_call timed out') };
    const { run, ledger, deps } = world(setup);

    await expect(run('message-1')).rejects.toThrow('simulate: eth_call timed out');
    expect(ledger.items.get(OPPORTUNITY)?.outcomes).toEqual([{ kind: 'failed', reason: 'retryable simulate: eth_call timed out', block: BLOCK }]);

    // Another message for the same opportunity is a duplicate; the redelivery of the same message is not.
    delete setup.simulation;
    expect(await executeCandidate(deps, { message: MESSAGE, attempt: 'message-2', receiptDeadlineMs: Number.MAX_SAFE_INTEGER })).toMatchObject({ kind: 'duplicate' });
    expect(await run('message-1')).toMatchObject({ kind: 'mined' });
    expect(ledger.states()).toEqual(['failed', 'sent', 'mined']);
  });

  it('acknowledges a permanent failure after the claim as failed', async () => {
    const { run, ledger } = world({ simulation: new Error('invalid opcode in the node') });

    expect(await run()).toEqual({ kind: 'failed', opportunity: OPPORTUNITY, block: BLOCK, stage: 'simulate', reason: 'permanent simulate: invalid opcode in the node' });
    expect(ledger.states()).toEqual(['failed']);
  });

  it('throws a retryable failure before the claim (nothing to record) and returns a permanent one as failed', async () => {
    await expect(world({ read: new RetryableRpcError('connection reset') }).run()).rejects.toThrow('connection reset');

    const permanent = world({ read: new Error('reserve 0x… is listed twice') });
    expect(await permanent.run()).toEqual({ kind: 'failed', opportunity: OPPORTUNITY, block: BLOCK, stage: 'decide', reason: 'reserve 0x… is listed twice' });
    expect(permanent.ledger.items.size).toBe(0);
  });
});

describe('classifyWorkerFailure (the classifier the worker injects)', () => {
  const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } });
  const conditionFailed = new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });

  it.each<[string, FailureClass, unknown]>([
    ['a Node socket error', 'retryable', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8545'), { code: 'ECONNREFUSED' })],
    ['an ethers timeout', 'retryable', makeError('request timeout', 'TIMEOUT')],
    ['a JSON-RPC error ethers cannot name (e.g. "header not found")', 'retryable', makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32000, message: 'header not found' } })],
    ['a revert of a view call', 'permanent', makeError('execution reverted', 'CALL_EXCEPTION')],
    ['DynamoDB throttling, wrapped by the ledger', 'retryable', new LedgerWriteError('claiming x', { cause: throttled })],
    ['a DynamoDB 4xx', 'permanent', new LedgerWriteError('claiming x', { cause: conditionFailed })],
    ['an AWS 5xx', 'retryable', Object.assign(new Error('internal'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })],
    ['an error that states it (retryable)', 'retryable', new RetryableBroadcastError('nonce too low')],
    ['an error that states it (permanent), under a wrapper', 'permanent', new Error('wrapped', { cause: new LedgerOwnershipError('o', 'a') })],
    ['an adapter classification (KmsRequestError shape)', 'retryable', Object.assign(new Error('KMS Sign failed'), { classification: { kind: 'retryable', code: 'ThrottlingException' } })],
    ['a bug', 'permanent', new TypeError("Cannot read properties of undefined (reading 'asset')")],
  ])('%s → %s', (_what, expected, error) => {
    expect(classifyWorkerFailure(error)).toBe(expected);
  });
});

describe('classifyBroadcastError (eth_sendRawTransaction failures as ethers reports them)', () => {
  it.each<[string, unknown, BroadcastResult]>([
    ['nonce too low', makeError('nonce has already been used', 'NONCE_EXPIRED', { transaction: {}, info: { error: { code: -32003, message: 'nonce too low' } } }), { kind: 'rejected', reason: 'nonce too low', retryable: true }],
    ['insufficient funds', makeError('insufficient funds', 'INSUFFICIENT_FUNDS', { transaction: {}, info: { error: { code: -32003, message: 'insufficient funds for gas * price + value' } } }), { kind: 'rejected', reason: 'insufficient funds for gas * price + value', retryable: false }],
    ['rate limited', makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32005, message: 'limit exceeded' } }), { kind: 'rejected', reason: 'limit exceeded', retryable: true }],
    ['already known', makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32000, message: 'already known' } }), { kind: 'accepted' }],
    ['any other refusal', makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32000, message: 'intrinsic gas too low' } }), { kind: 'rejected', reason: 'intrinsic gas too low', retryable: false }],
    ['no answer', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { kind: 'unknown', reason: 'socket hang up' }],
  ])('%s', (_what, error, expected) => {
    expect(classifyBroadcastError(error)).toEqual(expected);
  });
});
