/**
 * The transaction dispatcher on its own, with the execution fakes (execution-fakes.ts): a typed call in, one
 * transaction's life out. What it signs (only the call's to, data and gas limit), the write-ahead order, the
 * replacement limits (budget, gas price cap), resume from the ledger, and best-effort steps that fail being
 * reported, logged and counted instead of vanishing.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { reportingBestEffort } from '../../../functions/pipeline/best-effort';
import { PendingTransactionError } from '../../../functions/pipeline/execution-failures';
import { createTransactionDispatcher, type TransactionCall } from '../../../functions/pipeline/transaction-dispatcher';
import { LIQUIDATOR } from '../domain/fixtures';
import { BLOCK, GWEI, OPPORTUNITY, PLAN, POOL, POSITION, type Setup, START_MS, world } from './execution-fakes';

type World = ReturnType<typeof world>;

/** The margin before gas: profit $389.975 + the planned gas $8.25. */
const GROSS_PROFIT_BASE = PLAN.profitBase + PLAN.gasCostBase;

/** A claimed attempt, and the call the use case would hand over for it. */
async function claimed(setup: Setup = {}, overrides: Partial<TransactionCall> = {}) {
  const w = world(setup);
  await w.ledger.claim(OPPORTUNITY, 'message-1', POSITION, BLOCK);
  w.events.length = 0;
  const call: TransactionCall = {
    opportunity: OPPORTUNITY,
    attempt: 'message-1',
    block: BLOCK,
    signer: w.deps.signers[0],
    to: POOL,
    data: '0xdeadbeef',
    gasLimit: 375_000n,
    fees: { baseFeePerGasWei: 10n * GWEI, maxPriorityFeePerGasWei: 1n * GWEI, maxFeePerGasWei: 21n * GWEI },
    replacementBudget: { grossProfitBase: GROSS_PROFIT_BASE, nativePriceBase8: PLAN.nativePriceBase8 },
    plan: PLAN,
    firstIndex: 0,
    deadlineMs: w.clock.now + 30_000,
    ...overrides,
  };
  return { ...w, call, dispatcher: createTransactionDispatcher(w.deps) };
}

/** The attempt's ledger record, as a resume reads it. */
async function recordOf(w: World) {
  const record = (await w.ledger.find(OPPORTUNITY))!;
  return { record, plan: record.plan! };
}

describe('TransactionDispatcher.dispatch', () => {
  it('signs exactly the call (to, data, gas limit, fees), writes the plan and bytes ahead of the broadcast, and settles the receipt', async () => {
    const { dispatcher, call, events, signed, ledger, nonces, breakerOutcomes } = await claimed();

    const outcome = await dispatcher.dispatch(call);

    const submission = { from: LIQUIDATOR, nonce: 7, to: POOL, data: '0xdeadbeef', replacements: 0 };
    expect(outcome).toEqual({
      kind: 'mined',
      txHash: ledger.attempts.get(OPPORTUNITY)!.transactions[0].txHash,
      minedBlock: BLOCK + 1,
      gasUsed: 280_123n,
      plan: { ...PLAN, submission: { ...submission, effectiveGasPriceWei: 11n * GWEI } },
    });
    expect(signed).toEqual([{ chainId: 31337n, nonce: 7, to: POOL, data: '0xdeadbeef', valueWei: 0n, gasLimit: 375_000n, maxFeePerGasWei: 21n * GWEI, maxPriorityFeePerGasWei: 1n * GWEI }]);
    expect(events).toEqual([
      'lease 7',
      'sign nonce 7 maxFee 21000000000',
      'ledger signed #0',
      'lease signed 7',
      `broadcast raw:${LIQUIDATOR}:7:21000000000`,
      'ledger sent #0',
      'receipt? 1 within 10000 ms',
      'ledger mined',
      'lease confirmed 7',
    ]);
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'mined', plan: { submission: { ...submission, effectiveGasPriceWei: 11n * GWEI } } });
    expect(nonces.leases.get(`31337#${LIQUIDATOR}#7`)?.state).toBe('confirmed');
    expect(breakerOutcomes).toEqual([{ kind: 'mined', gasCostWei: 280_123n * 11n * GWEI }]);
  });

  // The first replacement offers 21 gwei × 1.125 = 23.625 gwei; at worst it pays its whole 375,000 gas limit:
  // 23.625 gwei × 375,000 = 0.008859375 ETH × $2,000 = $17.71875 = 1,771,875,000 base, exactly.
  it.each([
    ['the plan\'s gross margin', GROSS_PROFIT_BASE, 2],
    ['one base unit above the worst-case gas', 1_771_875_001n, 2],
    ['exactly the worst-case gas', 1_771_875_000n, 1],
    ['nothing', 0n, 1],
  ])('replaces within a replacement budget of %s (%s base): %s transaction(s) signed', async (_what, grossProfitBase, transactions) => {
    // Mined only if the replacement (index 1) goes out: 15 s after the first broadcast.
    const { dispatcher, call, signed } = await claimed({ mine: { index: 1, afterMs: 15_000 }, maxReplacements: 1 });

    const outcome = dispatcher.dispatch({ ...call, replacementBudget: { ...call.replacementBudget, grossProfitBase }, deadlineMs: call.deadlineMs - 5_000 });

    if (transactions === 2) await expect(outcome).resolves.toMatchObject({ kind: 'mined', plan: { submission: { replacements: 1 } } });
    else await expect(outcome).rejects.toThrow(PendingTransactionError);
    expect(signed).toHaveLength(transactions);
  });

  it('never replaces above the gas price cap (the bump would offer 23.625 gwei, the cap is 23 gwei)', async () => {
    const { dispatcher, call, signed } = await claimed({ mine: 'never', maxReplacements: 2, gasPriceCapWei: 23n * GWEI });

    await expect(dispatcher.dispatch(call)).rejects.toThrow(/still pending: no receipt before the deadline/);
    expect(signed.map((tx) => tx.maxFeePerGasWei)).toEqual([21n * GWEI]);
  });

  it('ends dropped, confirming the nonce, when the nonce is used by a transaction that is not the attempt\'s', async () => {
    const { dispatcher, call, ledger, nonces } = await claimed({ mine: 'never', maxReplacements: 0, confirmedNonce: (elapsed) => (elapsed >= 12_000 ? 8 : 7) });

    expect(await dispatcher.dispatch({ ...call, deadlineMs: call.deadlineMs + 30_000 })).toMatchObject({ kind: 'dropped', detail: expect.stringMatching(/^nonce 7 of .* was used by another transaction/) });
    expect(ledger.state()).toBe('dropped');
    expect(nonces.leases.get(`31337#${LIQUIDATOR}#7`)?.state).toBe('confirmed');
  });

  it('fails the attempt at prepare when signing fails, releasing the nonce; a release that fails too is reported', async () => {
    const { dispatcher, call, ledger, nonces, failures, deps } = await claimed();
    deps.signers[0].signTransaction = () => Promise.reject(new Error('KMS key disabled'));
    nonces.release = () => Promise.reject(new Error('DynamoDB unavailable'));

    expect(await dispatcher.dispatch(call)).toEqual({ kind: 'failed', stage: 'prepare', reason: 'permanent prepare: KMS key disabled' });
    expect(ledger.state()).toBe('failed');
    expect(failures).toEqual([{ step: 'nonce-lease-release', error: new Error('DynamoDB unavailable'), context: { opportunity: OPPORTUNITY, nonce: 7 } }]);
  });
});

describe('TransactionDispatcher.resume', () => {
  it('re-broadcasts the stored bytes, and a replacement re-signs the stored call at the same nonce, never a new one', async () => {
    const setup: Setup = { mine: 'never', maxReplacements: 0 };
    const w = await claimed(setup, { deadlineMs: START_MS + 5_000 });
    await expect(w.dispatcher.dispatch(w.call)).rejects.toThrow(PendingTransactionError);
    // The redelivery: replacements allowed now, mined once the replacement is out.
    setup.mine = { index: 1, afterMs: 15_000 };
    w.deps.settings.fees.maxReplacements = 1;
    w.events.length = 0;

    const outcome = await w.dispatcher.resume({ ...(await recordOf(w)), replacementBudget: w.call.replacementBudget, deadlineMs: w.clock.now + 30_000 });

    expect(outcome).toMatchObject({ kind: 'mined', plan: { submission: { nonce: 7, replacements: 1 } } });
    expect(w.signed.map((tx) => [tx.nonce, tx.to, tx.data, tx.maxFeePerGasWei])).toEqual([
      [7, POOL, '0xdeadbeef', 21n * GWEI],
      [7, POOL, '0xdeadbeef', 23_625_000_000n],
    ]);
    expect(w.events.slice(0, 3)).toEqual(['receipt? 1 within 0 ms', `broadcast raw:${LIQUIDATOR}:7:21000000000`, 'ledger sent #0']);
    expect(w.ledger.attempts.get(OPPORTUNITY)!.transactions.map((tx) => tx.state)).toEqual(['replaced', 'mined']);
  });
});

describe('best-effort steps that fail', () => {
  it('a failed breaker update is logged as a warning and counted as BreakerUpdateFailures; the mined outcome stands', async () => {
    const { call, ledger, deps } = await claimed({ failing: { breakerUpdate: new Error('ConditionalCheckFailed on the gas budget item') } });
    const logger = new Logger({ serviceName: 'liquidation-worker', logLevel: 'SILENT' });
    const metrics = new Metrics({ namespace: 'LiquidationPipeline', serviceName: 'liquidation-worker' });
    const warn = jest.spyOn(logger, 'warn');
    const dispatcher = createTransactionDispatcher({ ...deps, bestEffort: reportingBestEffort(logger, metrics) });

    const outcome = await dispatcher.dispatch(call);

    expect(outcome).toMatchObject({ kind: 'mined' });
    expect(ledger.state()).toBe('mined');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('best-effort step failed: breaker-update', {
      opportunity: OPPORTUNITY,
      nonce: 7,
      txHash: (outcome as { txHash: string }).txHash,
      gasCostWei: (280_123n * 11n * GWEI).toString(),
      step: 'breaker-update',
      metric: 'BreakerUpdateFailures',
      error: new Error('ConditionalCheckFailed on the gas budget item'),
    });
    expect(metrics.serializeMetrics()).toMatchObject({ BreakerUpdateFailures: 1, service: 'liquidation-worker' });
  });

  it('a failed nonce lease confirmation is reported as nonce-lease-confirm (NonceLeaseUpdateFailures); the breakers are still told', async () => {
    const { dispatcher, call, failures, breakerOutcomes } = await claimed({ failing: { leaseConfirm: new Error('throttled') } });

    expect(await dispatcher.dispatch(call)).toMatchObject({ kind: 'mined' });
    expect(failures.map((f) => f.step)).toEqual(['nonce-lease-confirm']);
    expect(breakerOutcomes).toHaveLength(1);
  });

  it('a receipt poll that fails at once is reported and its round waited out: no replacement before replaceAfterMs', async () => {
    const { dispatcher, call, events, failures } = await claimed({ failing: { receiptPolls: { count: 1, error: new Error('socket hang up') } } });

    expect(await dispatcher.dispatch(call)).toMatchObject({ kind: 'mined', plan: { submission: { replacements: 1 } } });
    expect(failures.map((f) => f.step)).toEqual(['receipt-poll']);
    expect(events.slice(events.indexOf('ledger sent #0'))).toEqual([
      'ledger sent #0',
      'receipt? 1 within 10000 ms',
      'best-effort failed: receipt-poll',
      'sleep 10000 ms',
      // A whole round without a receipt: now the replacement.
      'sign nonce 7 maxFee 23625000000',
      'ledger signed #1',
      'lease signed 7',
      `broadcast raw:${LIQUIDATOR}:7:23625000000`,
      'ledger sent #1',
      'receipt? 2 within 10000 ms',
      'ledger mined',
      'lease confirmed 7',
    ]);
  });
});
