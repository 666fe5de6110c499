/**
 * Revert attribution: which refusals are re-attributed to the market after an oracle move, and every way it
 * keeps a revert ours (the safe side).
 */
import type { BestEffortStep } from '../../../functions/pipeline/best-effort';
import { type Attributed, attributeRevert, type AttributionPlan } from '../../../functions/pipeline/revert-attribution';
import type { OraclePriceSource } from '../../../functions/pipeline/transaction-dispatcher';

const WETH = '0x0000000000000000000000000000000000000002';
const USDC = '0x0000000000000000000000000000000000000001';
const PLAN: AttributionPlan = { collateralAsset: WETH, debtAsset: USDC, collateralPriceBase8: 2_000_00000000n, debtPriceBase8: 1_00000000n };
const DUST: Attributed = { reason: 'MustNotLeaveDust', revertClass: 'model' };
const MINED = 120;

function setup(prices: bigint[] | Error) {
  const reads: [number, readonly string[]][] = [];
  const failures: [BestEffortStep, string][] = [];
  const oraclePrices: OraclePriceSource = {
    async pricesBase8At(block, assets) {
      reads.push([block, assets]);
      if (prices instanceof Error) throw prices;
      return prices;
    },
  };
  const deps = { oraclePrices, bestEffort: { failed: (step: BestEffortStep, error: unknown) => failures.push([step, (error as Error).message]) } };
  return { deps, reads, failures };
}

describe('attributeRevert', () => {
  it('blames the market for MustNotLeaveDust when the collateral price moved, naming both prices', async () => {
    const { deps, reads } = setup([1_960_00000000n, 1_00000000n]);
    expect(await attributeRevert(deps, DUST, PLAN, MINED, { opportunity: 'o' })).toEqual({
      reason: 'MustNotLeaveDust; the oracle moved between the plan and block 120 (collateral 200000000000 → 196000000000, debt 100000000 → 100000000, base currency × 1e8)',
      revertClass: 'market-moved',
    });
    expect(reads).toEqual([[MINED, [WETH, USDC]]]);
  });

  it('blames the market when only the debt price moved (a depeg)', async () => {
    const { deps } = setup([2_000_00000000n, 1_01000000n]);
    expect((await attributeRevert(deps, DUST, PLAN, MINED, {})).revertClass).toBe('market-moved');
  });

  it('keeps it ours when both prices are those the plan was sized at', async () => {
    const { deps } = setup([2_000_00000000n, 1_00000000n]);
    expect(await attributeRevert(deps, DUST, PLAN, MINED, {})).toBe(DUST);
  });

  it.each([
    ['a refusal not decided on oracle values', { reason: 'InvalidSwapPath', revertClass: 'model' }],
    ['a revert already the market\'s', { reason: 'Too little received', revertClass: 'market-moved' }],
    ['a name that only starts like it', { reason: 'MustNotLeaveDustish', revertClass: 'model' }],
  ] as const)('leaves %s as it is, without reading prices', async (_, revert) => {
    const { deps, reads } = setup([1n, 1n]);
    expect(await attributeRevert(deps, revert, PLAN, MINED, {})).toBe(revert);
    expect(reads).toEqual([]);
  });

  it('keeps it ours for a plan stored without its prices, or without a price source', async () => {
    const { deps, reads } = setup([1n, 1n]);
    const { collateralPriceBase8: _c, debtPriceBase8: _d, ...older } = PLAN;
    expect(await attributeRevert(deps, DUST, older, MINED, {})).toBe(DUST);
    expect(await attributeRevert({ bestEffort: deps.bestEffort }, DUST, PLAN, MINED, {})).toBe(DUST);
    expect(reads).toEqual([]);
  });

  it('keeps it ours and reports the step when the prices cannot be read', async () => {
    const { deps, failures } = setup(new Error('header not found'));
    expect(await attributeRevert(deps, DUST, PLAN, MINED, { opportunity: 'o' })).toBe(DUST);
    expect(failures).toEqual([['revert-explain', 'header not found']]);
  });

  it('keeps it ours and reports a price source that answers for the wrong number of assets', async () => {
    const { deps, failures } = setup([1_960_00000000n]);
    expect(await attributeRevert(deps, DUST, PLAN, MINED, {})).toBe(DUST);
    expect(failures).toEqual([['revert-explain', 'the oracle price source returned 1 prices for 2 assets']]);
  });
});
