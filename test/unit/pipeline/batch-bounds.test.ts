import { boundAfterSalesAhead } from '../../../functions/pipeline/batch-execution';
import type { BatchItemOutcome } from '../../../functions/ports/liquidator-contract';

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
