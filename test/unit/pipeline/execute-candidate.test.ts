/**
 * executeCandidate with in-memory fakes for every port (execution-fakes.ts, which also explains the position and
 * its numbers): which outcome each situation gives, what reaches the ledger and the nonce leases (and in which
 * order relative to the broadcast), what is signed, and how an attempt is resumed, replaced or dropped. The
 * transaction dispatcher's own rules are tested in transaction-dispatcher.test.ts.
 */
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { makeError } from 'ethers';
import { classifyBroadcastError } from '../../../functions/adapters/chain/ethers-chain-gateway';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { LedgerOwnershipError, LedgerWriteError } from '../../../functions/adapters/store/dynamodb-liquidation-ledger';
import { type CandidateMessage, deduplicationIdOf } from '../../../functions/pipeline/candidate-message';
import {
  executeCandidate,
  type ExecutionResult,
  type FailureClass,
  PendingTransactionError,
  RetryableBroadcastError,
} from '../../../functions/pipeline/execute-candidate';
import { encodePlan } from '../../../functions/pipeline/execution-plan';
import { NonceLeaseLostError } from '../../../functions/ports/nonce-leases';
import type { BroadcastResult, UnsignedTransaction } from '../../../functions/ports/transactions';
import { ASSETS, LIQUIDATOR, usd, USER } from '../domain/fixtures';
import {
  BLOCK,
  FakeNonceLeases,
  GWEI,
  healthy,
  MESSAGE,
  OPPORTUNITY,
  EXPECTED_PROFIT_UNITS,
  LIQUIDATOR_CONTRACT,
  PLAN,
  POSITION,
  QUOTED_OUT_UNITS,
  RetryableRpcError,
  SECOND_SIGNER,
  type Setup,
  START_MS,
  world,
} from './execution-fakes';

const SIGNED_FIRST: UnsignedTransaction = {
  chainId: 31337n,
  nonce: 7,
  to: LIQUIDATOR_CONTRACT,
  data: '0xdeadbeef',
  valueWei: 0n,
  gasLimit: 375_000n,
  maxFeePerGasWei: 21n * GWEI,
  maxPriorityFeePerGasWei: 1n * GWEI,
};

describe('executeCandidate', () => {
  it('liquidates: claim, simulate, lease a nonce, ledger signed, lease signed, broadcast, ledger sent, mined', async () => {
    const { run, events, ledger, nonces, signed, simulated, breakerOutcomes } = world();

    const result = await run();

    expect(result).toMatchObject({ kind: 'mined', opportunity: OPPORTUNITY, block: BLOCK, minedBlock: BLOCK + 1, gasUsed: '280123' });
    const plan = (result as Extract<ExecutionResult, { kind: 'mined' }>).plan;
    expect(plan).toMatchObject({
      sizing: 'max',
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
      gasLimit: '375000',
      nonce: '7',
      from: LIQUIDATOR,
      to: LIQUIDATOR_CONTRACT,
      data: '0xdeadbeef',
      effectiveGasPriceWei: '11000000000',
      funding: 'flash-loan',
      liquidatorContract: LIQUIDATOR_CONTRACT,
      quotedAmountOutUnits: QUOTED_OUT_UNITS.toString(),
      expectedProfitUnits: EXPECTED_PROFIT_UNITS.toString(),
    });
    expect(Object.values(plan).every((value) => typeof value === 'string')).toBe(true);
    // The contract call: the finite amount the close factor allows (also the flash loan), the route, the bounds.
    expect(simulated).toEqual([
      {
        call: {
          collateralAsset: ASSETS.WETH.asset,
          debtAsset: ASSETS.USDC.asset,
          user: USER,
          debtToCoverUnits: 8_500_000_000n,
          swapPath: PLAN.funded!.swapPath,
          amountOutMinimumUnits: 8_853_733_875n,
          // Priced with the assumed 400k gas before the simulation: 400,000 × 11 gwei × $2,000 = $8.80.
          minProfitUnits: 8_800_000n,
          flashLoan: true,
        },
        from: LIQUIDATOR,
        block: BLOCK,
      },
    ]);
    // What the contract's event says it did: the planned profit exactly.
    expect((result as Extract<ExecutionResult, { kind: 'mined' }>).realized).toEqual({
      debtRepaidUnits: '8500000000',
      collateralSeizedUnits: '4462500000000000000',
      swapAmountOutUnits: QUOTED_OUT_UNITS.toString(),
      flashPremiumUnits: '0',
      profitUnits: EXPECTED_PROFIT_UNITS.toString(),
    });
    expect(signed).toEqual([SIGNED_FIRST]);
    expect(events).toEqual([
      `read ${USER} at ${BLOCK}`,
      'claim message-1',
      'simulate',
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
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'mined', position: POSITION, transactions: [{ index: 0, nonce: 7, state: 'mined' }] });
    expect(ledger.locks.size).toBe(0);
    expect(nonces.leases.get(`31337#${LIQUIDATOR}#7`)?.state).toBe('confirmed');
    expect(breakerOutcomes).toEqual([{ kind: 'mined', gasCostWei: 280_123n * 11n * GWEI }]);
  });

  it('returns stale for an account that is healthy at the latest block, and claims nothing', async () => {
    const { run, events, ledger } = world({ read: { kind: 'position', position: healthy } });

    // 20,000 × 0.825 / 15,000 = 1.1
    expect(await run()).toEqual({ kind: 'stale', opportunity: OPPORTUNITY, block: BLOCK, healthFactorWad: '1100000000000000000' });
    expect(events).toEqual([`read ${USER} at ${BLOCK}`]);
    expect(ledger.attempts.size).toBe(0);
  });

  it('skips a position the reader cannot express (eMode) without claiming it', async () => {
    const { run, ledger } = world({ read: { kind: 'unsupported', reason: 'emode' } });

    expect(await run()).toEqual({ kind: 'skipped', opportunity: OPPORTUNITY, block: BLOCK, reason: 'unsupported-position', detail: 'emode' });
    expect(ledger.attempts.size).toBe(0);
  });

  it('skips an unprofitable candidate before claiming, with the best profit in the detail', async () => {
    // Profit with the assumed 400k gas: 892,500,000,000 − 850,000,000,000 − 880,000,000 − 2,677,500,000.
    const { run, ledger, signed } = world({ minProfitBase: usd(1_000) });

    expect(await run()).toEqual({ kind: 'skipped', opportunity: OPPORTUNITY, block: BLOCK, reason: 'unprofitable', detail: `${ASSETS.WETH.asset}/${ASSETS.USDC.asset}: unprofitable (38942500000 base after gas)` });
    expect(ledger.attempts.size).toBe(0);
    expect(signed).toEqual([]);
  });

  it('returns duplicate when another delivery holds the claim, and neither simulates nor signs', async () => {
    const { run, ledger, simulated, signed } = world();
    await ledger.claim(OPPORTUNITY, 'message-0', POSITION, 99);

    expect(await run('message-1')).toEqual({ kind: 'duplicate', opportunity: OPPORTUNITY, block: BLOCK });
    expect(simulated).toEqual([]);
    expect(signed).toEqual([]);
  });

  it('returns in-flight while another opportunity of the same position holds it, and sends nothing', async () => {
    const { run, ledger, signed } = world();
    await ledger.claim('31337#pool#borrower#97', 'message-0', POSITION, 97);

    expect(await run()).toEqual({ kind: 'in-flight', opportunity: OPPORTUNITY, block: BLOCK, heldBy: '31337#pool#borrower#97' });
    expect(signed).toEqual([]);
  });

  it('is paused by an open execution breaker before reading the position', async () => {
    const { run, events, ledger } = world({ breaker: { kind: 'open', reason: 'kill-switch', detail: 'on by ops: incident 42' } });

    expect(await run()).toEqual({ kind: 'paused', opportunity: OPPORTUNITY, block: BLOCK, reason: 'kill-switch', detail: 'on by ops: incident 42' });
    expect(events).toEqual([]);
    expect(ledger.attempts.size).toBe(0);
  });

  it('is paused when the expected gas price (base fee + tip = 11 gwei) is above the cap', async () => {
    const { run, ledger } = world({ gasPriceCapWei: 10n * GWEI });

    expect(await run()).toEqual({ kind: 'paused', opportunity: OPPORTUNITY, block: BLOCK, reason: 'gas-price-cap', detail: 'gas price 11000000000 wei is above the cap 10000000000 wei' });
    expect(ledger.attempts.size).toBe(0);
  });

  it('offers at most the cap as max fee when the expected price is under it', async () => {
    const { run, signed } = world({ gasPriceCapWei: 15n * GWEI });

    expect(await run()).toMatchObject({ kind: 'mined' });
    expect(signed[0]).toMatchObject({ maxFeePerGasWei: 15n * GWEI, maxPriorityFeePerGasWei: 1n * GWEI });
  });

  it('records a simulation revert as failed with the decoded reason, leases no nonce and frees the position', async () => {
    const { run, ledger, nonces, signed } = world({ simulation: { kind: 'revert', block: BLOCK, reason: 'HealthFactorNotBelowThreshold', revertClass: 'market-moved' } });

    expect(await run()).toEqual({ kind: 'failed', opportunity: OPPORTUNITY, block: BLOCK, stage: 'simulate', reason: 'simulation reverted: HealthFactorNotBelowThreshold' });
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'failed', reason: 'simulation reverted: HealthFactorNotBelowThreshold' });
    expect(ledger.locks.size).toBe(0);
    expect(nonces.leases.size).toBe(0);
    expect(signed).toEqual([]);
  });

  it('skips (and records) a claim that is unprofitable once priced with the simulated gas limit', async () => {
    // 10M gas × 11 gwei = 0.11 ETH = $220 → profit $389.975 + $8.25 − $220 = $178.225, below the $300 minimum.
    const { run, ledger, signed } = world({ simulation: { kind: 'ok', block: BLOCK, gasEstimate: 8_000_000n, gasLimit: 10_000_000n, profitUnits: EXPECTED_PROFIT_UNITS }, minProfitBase: usd(300) });

    expect(await run()).toEqual({
      kind: 'skipped',
      opportunity: OPPORTUNITY,
      block: BLOCK,
      reason: 'unprofitable',
      detail: 'profit 17822500000 base after the simulated gas limit 10000000 (min 30000000000): unprofitable',
    });
    expect(ledger.state()).toBe('skipped');
    expect(signed).toEqual([]);
  });

  it('says a claim priced out with the simulated gas limit by a pool 2 % below the oracle was priced out by the sale', async () => {
    // The pool pays 2 % under WETH's oracle price: 4.4625 WETH → $8,746.50, profit $246.50 less gas. Planned with
    // 400,000 gas ($8.80 at 11 gwei) it clears the $200 minimum; with the simulated 3M gas limit ($66) it does not.
    // At the assumed 30 bps swap cost the sale would leave $398.23 − $66 = $332: the pool, not the gas, priced it out.
    const profitUnits = (4_462_500_000_000_000_000n * 2_000n * 9_800n) / 10_000n / 10n ** 12n - (QUOTED_OUT_UNITS - EXPECTED_PROFIT_UNITS);
    const { run, ledger } = world({ quoteBps: 9_800n, simulation: { kind: 'ok', block: BLOCK, gasEstimate: 2_400_000n, gasLimit: 3_000_000n, profitUnits }, minProfitBase: usd(200) });

    expect(await run()).toMatchObject({ kind: 'skipped', reason: 'unprofitable', pricedOutBySale: true, detail: expect.stringContaining('after the simulated gas limit 3000000') });
    expect(ledger.state()).toBe('skipped');
  });

  it('does not say so when the gas alone priced it out (the pool at the assumed swap cost)', async () => {
    const { run } = world({ simulation: { kind: 'ok', block: BLOCK, gasEstimate: 8_000_000n, gasLimit: 10_000_000n, profitUnits: EXPECTED_PROFIT_UNITS }, minProfitBase: usd(300) });

    expect(await run()).not.toHaveProperty('pricedOutBySale');
  });

  it('plans, simulates and records a dry run without leasing or signing', async () => {
    const { run, ledger, nonces, signed } = world({ dryRun: true });

    // The typed plan end to end: the result carries it encoded, the ledger holds it (stored encoded, read decoded).
    expect(await run()).toEqual({ kind: 'dry-run', opportunity: OPPORTUNITY, block: BLOCK, plan: encodePlan(PLAN) });
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'dry-run', plan: PLAN });
    expect(nonces.leases.size).toBe(0);
    expect(signed).toEqual([]);
  });

  it('records a transaction that reverted on chain as reverted and tells the breakers', async () => {
    const { run, ledger, breakerOutcomes } = world({ mine: { index: 0, afterMs: 0, status: 'reverted' } });

    expect(await run()).toMatchObject({ kind: 'reverted', minedBlock: BLOCK + 1, gasUsed: '280123' });
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'reverted', reason: `reverted in block ${BLOCK + 1}` });
    expect(breakerOutcomes).toEqual([{ kind: 'reverted', gasCostWei: 280_123n * 11n * GWEI }]);
  });

  it('records a revert the market caused with its decoded reason; it spends gas but does not count towards the revert streak', async () => {
    const revert = { reason: 'ProfitBelowMinimum(1200, 8800000)', revertClass: 'market-moved' as const };
    const { run, ledger, breakerOutcomes } = world({ mine: { index: 0, afterMs: 0, status: 'reverted' }, revert });

    expect(await run()).toMatchObject({
      kind: 'reverted',
      revertClass: 'market-moved',
      reason: `market-moved: ProfitBelowMinimum(1200, 8800000) (reverted in block ${BLOCK + 1})`,
    });
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'reverted', reason: `market-moved: ProfitBelowMinimum(1200, 8800000) (reverted in block ${BLOCK + 1})` });
    expect(breakerOutcomes).toEqual([{ kind: 'reverted-by-market', gasCostWei: 280_123n * 11n * GWEI }]);
  });

  it.each([
    ['moved', [usd(1_960), usd(1)], 'reverted-by-market'],
    ['unchanged', [usd(2_000), usd(1)], 'reverted'],
  ] as const)('a MustNotLeaveDust with the oracle %s since the plan: counted as %s', async (_, prices, counted) => {
    const { run, deps, ledger, breakerOutcomes, failures } = world({ mine: { index: 0, afterMs: 0, status: 'reverted' }, revert: { reason: 'MustNotLeaveDust', revertClass: 'model' } });
    const asked: [number, readonly string[]][] = [];
    deps.oraclePrices = {
      pricesBase8At: async (block, assets) => {
        asked.push([block, assets]);
        return [...prices];
      },
    };

    const result = await run();

    // The plan keeps the prices it was sized at; the attribution reads the mined block's for its pair.
    expect(ledger.attempts.get(OPPORTUNITY)?.plan).toMatchObject({ collateralPriceBase8: usd(2_000), debtPriceBase8: usd(1) });
    expect(asked).toEqual([[BLOCK + 1, [ASSETS.WETH.asset, ASSETS.USDC.asset]]]);
    expect(breakerOutcomes).toEqual([{ kind: counted, gasCostWei: 280_123n * 11n * GWEI }]);
    if (counted === 'reverted-by-market') {
      expect(result).toMatchObject({ kind: 'reverted', revertClass: 'market-moved' });
      expect((result as { reason: string }).reason).toContain('MustNotLeaveDust; the oracle moved between the plan and block');
    } else {
      expect(result).toMatchObject({ kind: 'reverted', revertClass: 'model', reason: `model: MustNotLeaveDust (reverted in block ${BLOCK + 1})` });
    }
    expect(failures).toEqual([]);
  });

  it('counts a revert it cannot explain as ours, and reports the failed explanation', async () => {
    const { run, deps, breakerOutcomes, failures } = world({ mine: { index: 0, afterMs: 0, status: 'reverted' } });
    deps.explainRevert = async () => {
      throw new Error('eth_call: header not found');
    };

    expect(await run()).toMatchObject({ kind: 'reverted', reason: `reverted in block ${BLOCK + 1}` });
    expect(breakerOutcomes).toEqual([{ kind: 'reverted', gasCostWei: 280_123n * 11n * GWEI }]);
    expect(failures.map((f) => f.step)).toEqual(['revert-explain']);
  });

  it('replaces a transaction without a receipt after replaceAfterMs: same nonce, fees +12.5 %, the ledger records both', async () => {
    // Mined only once the replacement (index 1) is out: 15 s after the first broadcast.
    const { run, ledger, signed, broadcasts } = world({ mine: { index: 1, afterMs: 15_000 } });

    const result = await run();

    // 21 gwei × 1.125 = 23.625 gwei; tip 1 gwei × 1.125 = 1.125 gwei.
    expect(signed.map((tx) => [tx.nonce, tx.maxFeePerGasWei, tx.maxPriorityFeePerGasWei])).toEqual([
      [7, 21n * GWEI, 1n * GWEI],
      [7, 23_625_000_000n, 1_125_000_000n],
    ]);
    expect(broadcasts).toHaveLength(2);
    expect(result).toMatchObject({ kind: 'mined', plan: { replacements: '1' } });
    const attempt = ledger.attempts.get(OPPORTUNITY)!;
    expect(attempt.transactions.map((tx) => [tx.index, tx.nonce, tx.state])).toEqual([
      [0, 7, 'replaced'],
      [1, 7, 'mined'],
    ]);
    expect((result as Extract<ExecutionResult, { kind: 'mined' }>).txHash).toBe(attempt.transactions[1].txHash);
  });

  it('never replaces past the expected profit: a bump whose worst-case gas exceeds the gross margin is not signed', async () => {
    // Gross margin $398.225 (profit + gas at the planned fee). Gas limit 375k × $2,000/ETH: a max fee above
    // ≈ 531 gwei would cost more. With a 1,000 % bump the first replacement offers 231 gwei, the second 2,541 gwei.
    const { deps, run, signed } = world({ mine: 'never', maxReplacements: 5 });
    deps.settings.fees.bumpBps = 100_000n;

    await expect(run('message-1', 45_000)).rejects.toThrow(PendingTransactionError);
    expect(signed.map((tx) => tx.maxFeePerGasWei)).toEqual([21n * GWEI, 231n * GWEI]);
  });

  it('leaves a transaction without receipt at the deadline to the redelivery, which re-broadcasts the stored bytes and signs nothing new', async () => {
    const setup: Setup = { mine: 'never', maxReplacements: 0 };
    const { run, ledger, signed, events } = world(setup);

    await expect(run('message-1', 5_000)).rejects.toThrow(/still pending: no receipt before the deadline/);
    expect(ledger.state()).toBe('sent');
    expect(ledger.locks.get(POSITION)).toBe(OPPORTUNITY);

    setup.mine = { index: 0, afterMs: 0 };
    events.length = 0;
    expect(await run('message-1')).toMatchObject({ kind: 'mined' });
    expect(signed).toHaveLength(1);
    expect(events).toEqual(['receipt? 1 within 0 ms', 'ledger mined', 'lease confirmed 7']);
    expect(ledger.locks.size).toBe(0);
  });

  it('after a crash between broadcast and the ledger write, the retry finds the signed bytes, re-broadcasts them and ends mined', async () => {
    const setup: Setup = { crashAt: 'after-broadcast', mine: 'never' };
    const { run, ledger, signed, events } = world(setup);

    await expect(run()).rejects.toThrow('simulated crash at after-broadcast');
    expect(ledger.state()).toBe('signed');

    // Not mined yet when the retry comes: only after the re-broadcast.
    setup.mine = { index: 0, afterMs: 1 };
    events.length = 0;
    expect(await run()).toMatchObject({ kind: 'mined' });
    expect(signed).toHaveLength(1);
    expect(events).toEqual([
      'receipt? 1 within 0 ms',
      'lease signed 7',
      `broadcast raw:${LIQUIDATOR}:7:21000000000`,
      'ledger sent #0',
      'receipt? 1 within 10000 ms',
      'ledger mined',
      'lease confirmed 7',
    ]);
  });

  it('another delivery of the same opportunity during the pending attempt is a duplicate', async () => {
    const { run, signed } = world({ mine: 'never', maxReplacements: 0 });
    await expect(run('message-1', 5_000)).rejects.toThrow(PendingTransactionError);

    expect(await run('message-2')).toEqual({ kind: 'duplicate', opportunity: OPPORTUNITY, block: BLOCK });
    expect(signed).toHaveLength(1);
  });

  it('ends dropped when the nonce is used by a transaction that is not one of the attempt', async () => {
    // The chain's confirmed nonce passes 7 after 12 s without any of our hashes mined.
    const { run, ledger, nonces } = world({ mine: 'never', maxReplacements: 0, confirmedNonce: (elapsed) => (elapsed >= 12_000 ? 8 : 7) });

    expect(await run('message-1', 60_000)).toMatchObject({ kind: 'dropped', detail: expect.stringMatching(/^nonce 7 of .* was used by another transaction/) });
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'dropped', transactions: [{ state: 'dropped' }] });
    expect(ledger.locks.size).toBe(0);
    expect(nonces.leases.get(`31337#${LIQUIDATOR}#7`)?.state).toBe('confirmed');
  });

  it('records a permanent broadcast refusal as failed and releases the nonce', async () => {
    const { run, ledger, nonces } = world({ broadcasts: [{ kind: 'rejected', reason: 'insufficient funds for gas * price + value', retryable: false }] });

    expect(await run()).toEqual({ kind: 'failed', opportunity: OPPORTUNITY, block: BLOCK, stage: 'broadcast', reason: 'broadcast rejected: insufficient funds for gas * price + value' });
    expect(ledger.state()).toBe('failed');
    expect(nonces.leases.get(`31337#${LIQUIDATOR}#7`)?.state).toBe('released');
  });

  it('throws on a retryable broadcast refusal after recording failed; the redelivery signs again at the released nonce', async () => {
    const { run, ledger, signed } = world({ broadcasts: [{ kind: 'rejected', reason: 'limit exceeded', retryable: true }, { kind: 'accepted' }] });

    await expect(run()).rejects.toThrow(new RetryableBroadcastError('limit exceeded'));
    expect(ledger.state()).toBe('failed');

    expect(await run()).toMatchObject({ kind: 'mined' });
    expect(signed.map((tx) => tx.nonce)).toEqual([7, 7]);
    expect(ledger.attempts.get(OPPORTUNITY)!.transactions.map((tx) => [tx.index, tx.state])).toEqual([
      [0, 'dropped'],
      [1, 'mined'],
    ]);
  });

  it('sends nothing when the nonce lease was lost before the broadcast, and fails the attempt for a retry', async () => {
    const { run, ledger, nonces, events } = world();
    nonces.loseNextLease = true;

    await expect(run()).rejects.toThrow(NonceLeaseLostError);
    expect(events.some((e) => e.startsWith('broadcast'))).toBe(false);
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'failed', transactions: [{ state: 'dropped' }] });
  });

  it('throws a retryable failure after the claim, records it, and lets the same message retake the claim', async () => {
    const setup: Setup = { simulation: new RetryableRpcError('eth_call timed out') };
    const { run, ledger, deps, clock } = world(setup);

    await expect(run('message-1')).rejects.toThrow('simulate: eth_call timed out');
    expect(ledger.attempts.get(OPPORTUNITY)).toMatchObject({ state: 'failed', reason: 'retryable simulate: eth_call timed out' });

    // Another message for the same opportunity is a duplicate; the redelivery of the same message is not.
    delete setup.simulation;
    expect(await executeCandidate(deps, { message: MESSAGE, attempt: 'message-2', receiptDeadlineMs: clock.now + 30_000 })).toMatchObject({ kind: 'duplicate' });
    expect(await run('message-1')).toMatchObject({ kind: 'mined' });
  });

  it('acknowledges a permanent failure after the claim as failed', async () => {
    const { run, ledger } = world({ simulation: new Error('invalid opcode in the node') });

    expect(await run()).toEqual({ kind: 'failed', opportunity: OPPORTUNITY, block: BLOCK, stage: 'simulate', reason: 'permanent simulate: invalid opcode in the node' });
    expect(ledger.state()).toBe('failed');
  });

  it('throws a retryable failure before the claim (nothing to record) and returns a permanent one as failed', async () => {
    await expect(world({ read: new RetryableRpcError('connection reset') }).run()).rejects.toThrow('connection reset');

    const permanent = world({ read: new Error('reserve 0x… is listed twice') });
    expect(await permanent.run()).toEqual({ kind: 'failed', opportunity: OPPORTUNITY, block: BLOCK, stage: 'decide', reason: 'reserve 0x… is listed twice' });
    expect(permanent.ledger.attempts.size).toBe(0);
  });

  it('takes the configured signers in turn', async () => {
    const { deps, signed, clock } = world({ signers: [LIQUIDATOR, SECOND_SIGNER], mine: 'never', maxReplacements: 0 });
    const messages = [0, 1, 2].map((i) => ({ ...MESSAGE, borrower: `0x00000000000000000000000000000000000000c${i}`, detectedBlock: 90 + i }));

    for (const message of messages) {
      await expect(executeCandidate(deps, { message, attempt: `m-${message.detectedBlock}`, receiptDeadlineMs: clock.now + 1_000 })).rejects.toThrow(PendingTransactionError);
    }

    expect(signed.map((tx) => tx.nonce)).toEqual([7, 7, 8]);
    expect(deps.nonces instanceof FakeNonceLeases && [...deps.nonces.leases.keys()]).toEqual([
      `31337#${LIQUIDATOR}#7`,
      `31337#${SECOND_SIGNER}#7`,
      `31337#${LIQUIDATOR}#8`,
    ]);
  });
});

describe('executeCandidate: pending transactions per signer (MAX_PENDING_PER_SIGNER)', () => {
  const messageFor = (i: number): CandidateMessage => ({ ...MESSAGE, borrower: `0x00000000000000000000000000000000000000d${i}`, detectedBlock: 80 + i });

  it('skips a key whose pending transactions reach the cap and signs with the next one', async () => {
    const { deps, signed, nonces, clock } = world({ signers: [LIQUIDATOR, SECOND_SIGNER], mine: 'never', maxReplacements: 0, maxPendingPerSigner: 1 });
    await nonces.allocate(`31337#${LIQUIDATOR}`, 'someone else', 7, clock.now);

    await expect(executeCandidate(deps, { message: messageFor(0), attempt: 'm-0', receiptDeadlineMs: clock.now + 20_000 })).rejects.toThrow(PendingTransactionError);

    expect(signed).toHaveLength(1);
    expect(nonces.leases.get(`31337#${SECOND_SIGNER}#7`)?.state).toBe('signed');
  });

  it('with every key full, waits for a slot, and signs once a block confirms one', async () => {
    // The first transaction is pending until 6 s, when the chain's nonce moves past it.
    const { deps, signed, clock } = world({ mine: 'never', maxReplacements: 0, maxPendingPerSigner: 1, confirmedNonce: (elapsed) => (elapsed >= 6_000 ? 8 : 7) });
    const signedAt: number[] = [];
    const signer = deps.signers[0];
    const sign = signer.signTransaction.bind(signer);
    signer.signTransaction = (tx) => {
      signedAt.push(clock.now - START_MS);
      return sign(tx);
    };
    await expect(executeCandidate(deps, { message: messageFor(0), attempt: 'm-0', receiptDeadlineMs: clock.now + 1_000 })).rejects.toThrow(PendingTransactionError);

    await expect(executeCandidate(deps, { message: messageFor(1), attempt: 'm-1', receiptDeadlineMs: clock.now + 30_000 })).rejects.toThrow(PendingTransactionError);

    expect(signed.map((tx) => tx.nonce)).toEqual([7, 8]);
    expect(signedAt[0]).toBeLessThan(1_000);
    expect(signedAt[1]).toBeGreaterThanOrEqual(6_000);
  });

  it('gives up with a retryable error when no slot frees before the record\'s time is up, leaving the claim retakable', async () => {
    const { deps, signed, ledger, nonces, clock } = world({ signers: [LIQUIDATOR, SECOND_SIGNER], mine: 'never', maxReplacements: 0, maxPendingPerSigner: 1 });
    for (const i of [0, 1]) {
      await expect(executeCandidate(deps, { message: messageFor(i), attempt: `m-${i}`, receiptDeadlineMs: clock.now + 1_000 })).rejects.toThrow(PendingTransactionError);
    }

    await expect(executeCandidate(deps, { message: messageFor(2), attempt: 'm-2', receiptDeadlineMs: clock.now + 15_000 })).rejects.toThrow(
      /still has 1 transactions pending \(MAX_PENDING_PER_SIGNER\)/,
    );

    expect(signed).toHaveLength(2);
    // Nothing leased or signed for it; its claim ends `failed`, which its redelivery may take again.
    expect([...nonces.leases.values()].filter((l) => l.owner === deduplicationIdOf(messageFor(2)))).toEqual([]);
    expect(ledger.state(deduplicationIdOf(messageFor(2)))).toBe('failed');
  });

  it('without a cap, never asks how many are pending', async () => {
    const { deps, clock } = world({ mine: 'never', maxReplacements: 0 });
    const open = jest.spyOn(deps.nonces, 'open');

    await expect(executeCandidate(deps, { message: messageFor(0), attempt: 'm-0', receiptDeadlineMs: clock.now + 1_000 })).rejects.toThrow(PendingTransactionError);

    expect(open).not.toHaveBeenCalled();
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
    [
      "an arithmetic panic of a view call (the node's state ahead of the block it runs in)",
      'retryable',
      makeError('execution reverted: Panic due to OVERFLOW(17)', 'CALL_EXCEPTION', { action: 'call', reason: 'Panic due to OVERFLOW(17)', data: '0x4e487b71', transaction: { to: null, data: '0x' }, invocation: null, revert: { name: 'Panic', signature: 'Panic(uint256)', args: [17] } }),
    ],
    ['another panic of a view call', 'permanent', makeError('execution reverted: Panic due to ARRAY_RANGE_ERROR(50)', 'CALL_EXCEPTION', { action: 'call', reason: 'Panic due to ARRAY_RANGE_ERROR(50)', data: '0x4e487b71', transaction: { to: null, data: '0x' }, invocation: null, revert: { name: 'Panic', signature: 'Panic(uint256)', args: [50] } })],
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
    ['nonce too low', makeError('nonce has already been used', 'NONCE_EXPIRED', { transaction: {}, info: { error: { code: -32003, message: 'nonce too low' } } }), { kind: 'rejected', reason: 'nonce too low', retryable: true, nonceUsed: true }],
    ['insufficient funds', makeError('insufficient funds', 'INSUFFICIENT_FUNDS', { transaction: {}, info: { error: { code: -32003, message: 'insufficient funds for gas * price + value' } } }), { kind: 'rejected', reason: 'insufficient funds for gas * price + value', retryable: false }],
    ['rate limited', makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32005, message: 'limit exceeded' } }), { kind: 'rejected', reason: 'limit exceeded', retryable: true }],
    ['already known', makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32000, message: 'already known' } }), { kind: 'accepted' }],
    ['any other refusal', makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32000, message: 'intrinsic gas too low' } }), { kind: 'rejected', reason: 'intrinsic gas too low', retryable: false }],
    ['no answer', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { kind: 'unknown', reason: 'socket hang up' }],
  ])('%s', (_what, error, expected) => {
    expect(classifyBroadcastError(error)).toEqual(expected);
  });
});
