/**
 * A batch's failed items are attributed one by one against their own member's plan (batch-execution.ts
 * attributeItemReverts): a MustNotLeaveDust after the oracle moved becomes the market's, while the other items —
 * mined, refused for another reason, or of a member whose prices did not move — are left as they are.
 */
import { attributeItemReverts } from '../../../functions/pipeline/batch-execution';
import type { ExecutionPlan } from '../../../functions/pipeline/execution-plan';
import type { BatchItemOutcome } from '../../../functions/ports/liquidator-contract';
import { usd } from '../domain/fixtures';
import { PLAN } from './execution-fakes';

const TX = '0x' + 'ab'.repeat(32);
const MINED = 88;
const USER = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const failed = (index: number, reason: string): BatchItemOutcome => ({ index, user: USER(index), ok: false, reason, revertClass: 'model' });

describe('attributeItemReverts', () => {
  it('re-attributes only the dust refusals whose own plan was priced before the move', async () => {
    const moved: ExecutionPlan = { ...PLAN, collateralPriceBase8: usd(2_000), debtPriceBase8: usd(1) };
    const current: ExecutionPlan = { ...PLAN, collateralPriceBase8: usd(1_900), debtPriceBase8: usd(1) };
    const members = [
      { index: 0, opportunity: 'a', plan: moved },
      { index: 1, opportunity: 'b', plan: current },
      { index: 2, opportunity: 'c', plan: moved },
      { index: 3, opportunity: 'd', plan: moved },
    ];
    const mined: BatchItemOutcome = { index: 3, user: USER(3), ok: true, debtRepaidUnits: 1n, collateralSeizedUnits: 1n, swapAmountOutUnits: 1n, flashPremiumUnits: 0n, profitUnits: 1n };
    const items = [failed(0, 'MustNotLeaveDust'), failed(1, 'MustNotLeaveDust'), failed(2, 'InvalidSwapPath'), mined];
    const reads: number[] = [];
    const deps = {
      oraclePrices: {
        pricesBase8At: async (block: number) => {
          reads.push(block);
          return [usd(1_900), usd(1)];
        },
      },
      bestEffort: { failed: () => undefined },
    };

    const attributed = await attributeItemReverts(deps, items, members, { txHash: TX, minedBlock: MINED });

    expect(attributed.map((i) => (i.ok ? 'mined' : i.revertClass))).toEqual(['market-moved', 'model', 'model', 'mined']);
    expect(attributed[0]).toMatchObject({ index: 0, user: USER(0), ok: false, reason: expect.stringMatching(/^MustNotLeaveDust; the oracle moved between the plan and block 88 \(collateral 200000000000 → 190000000000/) });
    expect(attributed.slice(1)).toEqual(items.slice(1));
    // One read per dust refusal: the other refusal and the mined item need none.
    expect(reads).toEqual([MINED, MINED]);
  });

  it('leaves an item without a member (not ours to judge) as it is', async () => {
    const items = [failed(5, 'MustNotLeaveDust')];
    const deps = { oraclePrices: { pricesBase8At: async () => [1n, 1n] }, bestEffort: { failed: () => undefined } };
    expect(await attributeItemReverts(deps, items, [], { txHash: TX, minedBlock: MINED })).toEqual(items);
  });
});
