import { type BatchMember, boundAfterSalesAhead, salesAhead } from '../../../functions/pipeline/batch-execution';
import type { BatchItemOutcome, BatchLiquidatorContract, LiquidatorBatchSimulation } from '../../../functions/ports/liquidator-contract';

const USER = '0x1111111111111111111111111111111111111111';

function ok(swapAmountOutUnits: bigint): BatchItemOutcome & { ok: true } {
  return { index: 0, user: USER, ok: true, debtRepaidUnits: 1_000n, collateralSeizedUnits: 1n, swapAmountOutUnits, flashPremiumUnits: 0n, profitUnits: swapAmountOutUnits - 1_000n };
}

describe('a batch item\'s swap bound', () => {
  it('comes from the output after the sales ahead when those leave it less, less the allowance (floored)', () => {
    expect(boundAfterSalesAhead(ok(1_100_000n), ok(1_050_001n), 100n)).toBe(1_039_500n);
  });

  it('comes from the read block when the pending block gives as much or more', () => {
    expect(boundAfterSalesAhead(ok(1_100_000n), ok(1_100_000n), 100n)).toBe(1_089_000n);
    expect(boundAfterSalesAhead(ok(1_100_000n), ok(1_200_000n), 100n)).toBe(1_089_000n);
  });

  it('comes from the read block when the pending block says nothing about the item (it failed there, or was not simulated)', () => {
    const failed: BatchItemOutcome = { index: 0, user: USER, ok: false, reason: 'Too little received', revertClass: 'market-moved' };
    expect(boundAfterSalesAhead(ok(1_100_000n), failed, 100n)).toBe(1_089_000n);
    expect(boundAfterSalesAhead(ok(1_100_000n), undefined, 100n)).toBe(1_089_000n);
  });
});

describe('the batch on the pending block (salesAhead)', () => {
  const CALL = { collateralAsset: USER, debtAsset: USER, user: USER, debtToCoverUnits: 1n, swapPath: '0x', amountOutMinimumUnits: 5n, minProfitUnits: 7n, flashLoan: true };
  const member = { decision: { choice: { call: CALL } } } as unknown as BatchMember;

  function run(simulateBatch: (...args: unknown[]) => Promise<LiquidatorBatchSimulation>, batchBoundsFromPending = true) {
    const failed = jest.fn();
    const liquidator = { simulateBatch: jest.fn(simulateBatch) } as unknown as BatchLiquidatorContract & { simulateBatch: jest.Mock };
    return { failed, liquidator, result: salesAhead({ bestEffort: { failed }, settings: { batchBoundsFromPending } }, liquidator, [member, member], '0xfrom', 7) };
  }

  it('is not simulated when BATCH_BOUNDS_FROM_PENDING is off: the bounds come from the read block', async () => {
    const { failed, liquidator, result } = run(async () => ({ kind: 'ok', block: 7, gasEstimate: 1n, gasLimit: 2n, items: [ok(10n), ok(11n)] }), false);

    await expect(result).resolves.toBeUndefined();
    expect(liquidator.simulateBatch).not.toHaveBeenCalled();
    expect(failed).not.toHaveBeenCalled();
  });

  it('simulates the members unguarded on the pending block and answers its items and gas', async () => {
    const simulation: LiquidatorBatchSimulation = { kind: 'ok', block: 7, gasEstimate: 1n, gasLimit: 2n, items: [ok(10n), ok(11n)] };
    const { failed, liquidator, result } = run(async () => simulation);

    await expect(result).resolves.toBe(simulation);
    expect(liquidator.simulateBatch).toHaveBeenCalledWith([{ ...CALL, amountOutMinimumUnits: 0n, minProfitUnits: 0n }, { ...CALL, amountOutMinimumUnits: 0n, minProfitUnits: 0n }], '0xfrom', 7, 'pending');
    expect(failed).not.toHaveBeenCalled();
  });

  it('reports a node failure as the best-effort step pending-bound and answers nothing (bounds from the read block)', async () => {
    const error = new Error('pending block not available');
    const { failed, result } = run(async () => {
      throw error;
    });

    await expect(result).resolves.toBeUndefined();
    expect(failed).toHaveBeenCalledWith('pending-bound', error, { block: 7, members: 2 });
  });

  it('answers nothing for a batch that reverts whole on the pending block, without reporting a failure', async () => {
    const { failed, result } = run(async () => ({ kind: 'revert', block: 7, reason: 'ItemOutOfGas(1)', revertClass: 'model' }));

    await expect(result).resolves.toBeUndefined();
    expect(failed).not.toHaveBeenCalled();
  });
});
