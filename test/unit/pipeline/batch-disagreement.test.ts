/**
 * A node that answers two simulations of one block differently (anvil serving block N while it seals N + 1: a
 * Panic(0x11) in the Pool's interest math, or an item's profit that moved between the unguarded and the guarded
 * simulation) must not send the batch's members back to the queue on the first disagreement: the round is
 * simulated once more, and only a disagreement that persists sends a member back. The fakes of
 * execution-fakes.ts, with the batch part of the liquidator port added here.
 */
import type { BatchItemOutcome, BatchLiquidatorContract, LiquidatorBatchCall } from '../../../functions/ports/liquidator-contract';
import { executeCandidate } from '../../../functions/pipeline/execute-candidate';
import { executionBatchSession } from '../../../functions/pipeline/batch-execution';
import { EXPECTED_PROFIT_UNITS, MESSAGE, QUOTED_OUT_UNITS, world } from './execution-fakes';

const OTHER_BORROWER = '0x00000000000000000000000000000000000000b2';

/** What each simulation answers, by its number (0 = the first unguarded one) and item index. */
type Tamper = (simulation: number, guarded: boolean, index: number, item: BatchItemOutcome) => BatchItemOutcome;

function batchWorld(tamper: Tamper) {
  const w = world();
  const calls: { guarded: boolean; users: string[] }[] = [];
  /** The gas estimates with every item failing at its last guard (worstCaseGas), by batch size. */
  const worstCases: number[] = [];
  let sent: LiquidatorBatchCall = [];
  const okItem = (index: number, user: string): BatchItemOutcome => ({
    index,
    user,
    ok: true,
    debtRepaidUnits: 8_500_000_000n,
    collateralSeizedUnits: 4_462_500_000_000_000_000n,
    swapAmountOutUnits: QUOTED_OUT_UNITS,
    flashPremiumUnits: 0n,
    profitUnits: EXPECTED_PROFIT_UNITS,
  });
  const batch: Pick<BatchLiquidatorContract, 'buildBatchTransaction' | 'simulateBatch' | 'estimateBatchGas' | 'batchOutcomesIn'> = {
    buildBatchTransaction: (batchCalls) => {
      sent = batchCalls;
      return { to: w.deps.liquidator.address, data: '0xba7c4e' };
    },
    async simulateBatch(batchCalls, _from, block) {
      const guarded = batchCalls.some((c) => c.minProfitUnits > 0n);
      const simulation = calls.length;
      calls.push({ guarded, users: batchCalls.map((c) => c.user) });
      return { kind: 'ok', block, gasEstimate: 600_000n, gasLimit: 750_000n, items: batchCalls.map((c, i) => tamper(simulation, guarded, i, okItem(i, c.user))) };
    },
    async estimateBatchGas(batchCalls, _from, block) {
      if (!batchCalls.every((c) => c.minProfitUnits >= 1n << 200n)) throw new Error('only the worst case is estimated alone');
      worstCases.push(batchCalls.length);
      return { kind: 'ok', block, gasEstimate: 1_200_000n, gasLimit: 1_500_000n };
    },
    batchOutcomesIn: async () => sent.map((c, i) => okItem(i, c.user)),
  };
  Object.assign(w.deps.liquidator, batch);
  const session = executionBatchSession(w.deps, { participants: 2, maxBatchSize: 10 });
  const run = () =>
    Promise.all(
      [MESSAGE, { ...MESSAGE, borrower: OTHER_BORROWER }].map((message, i) =>
        executeCandidate(w.deps, { message, attempt: `message-${i}`, receiptDeadlineMs: w.clock.now + 30_000, batch: session }).catch((error: Error) => error),
      ),
    );
  return { ...w, calls, worstCases, run };
}

describe('a batch whose two simulations of one block disagree', () => {
  it('a guarded item whose profit differs once: the round is simulated again and the batch goes out whole', async () => {
    // Simulation 1 is the first guarded one: its item 0 returns one unit more than the unguarded run measured.
    const w = batchWorld((simulation, guarded, index, item) => (simulation === 1 && guarded && index === 0 && item.ok ? { ...item, profitUnits: item.profitUnits + 1n } : item));
    const results = await w.run();
    expect(results.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual(['mined', 'mined']);
    expect(w.calls.map((c) => c.guarded)).toEqual([false, true, false, true]);
    // One transaction for both, its limit the worst case's (every item failing at its last guard).
    expect(w.signed).toHaveLength(1);
    expect(w.worstCases).toEqual([2, 2]);
    expect(w.signed[0].gasLimit).toBe(1_500_000n);
    expect(w.events.filter((e) => e.startsWith('sleep'))).toContain('sleep 250 ms');
  });

  it('an unguarded item that panics once (Panic(17)): simulated again, then sent whole', async () => {
    const w = batchWorld((simulation, _guarded, index, item) =>
      simulation === 0 && index === 1 ? { index, user: item.user, ok: false, reason: 'Panic(17)', revertClass: 'model' } : item,
    );
    const results = await w.run();
    expect(results.map((r) => (r instanceof Error ? r.message : r.kind))).toEqual(['mined', 'mined']);
    expect(w.calls.map((c) => c.guarded)).toEqual([false, false, true]);
    expect(w.signed).toHaveLength(1);
  });

  it('a disagreement that persists: the member comes back through the queue (retryable), the other is sent', async () => {
    const w = batchWorld((_simulation, guarded, index, item) => (guarded && index === 0 && item.ok ? { ...item, profitUnits: item.profitUnits + 1n } : item));
    const [first, second] = await w.run();
    expect(first).toBeInstanceOf(Error);
    expect((first as Error & { retryable?: boolean }).retryable).toBe(true);
    expect((first as Error).message).toMatch(/guarded batch item 0 returned profit \d+, measured \d+: not sent/);
    expect(second).toMatchObject({ kind: 'mined' });
    // Asked twice, then the other member alone.
    expect(w.calls.slice(0, 4).map((c) => c.guarded)).toEqual([false, true, false, true]);
  });
});
