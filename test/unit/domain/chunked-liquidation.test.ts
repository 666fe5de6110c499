import {
  bestSizing,
  chunkMarkerOf,
  chunkRange,
  chunkSearchDone,
  isBestSizing,
  maxSizing,
  MIN_LEFTOVER_BASE,
  planChunk,
  planLiquidation,
  saleImpactBps,
  priceImpactBudgetOf,
  probeUnits,
  sizeMax,
  targetHealthSizing,
  twoStepSizing,
  withPriceImpactBudget,
} from '../../../functions/domain';
import { pairOf, position, reserve, units, usd } from './fixtures';

describe('saleImpactBps: the price move of a sale, from three quotes, rounded against the sale', () => {
  // A sale of 1,000,000 units, slice δ = 100,000 (the minimum; 1 bp would be 100). Reference: 100,000 → 199,999
  // (bound: 200,000 / 99,999). Slice: 3,000,000 − 2,810,000 = 190,000 (bound: 189,999 / 100,001).
  // raw = 1 − (189,999 · 99,999) / (200,000 · 100,001) = 0.050008…; × 1e6 / 900,000 → 555.65… → 556 bps.
  it('bounds the rounding and extends the slices\' move to the whole sale', () => {
    expect(saleImpactBps({ amountUnits: 1_000_000n, saleOutUnits: 3_000_000n, probeUnits: 100_000n, referenceOutUnits: 199_999n, beforeSliceOutUnits: 2_810_000n })).toBe(556n);
  });

  it.each([
    // The slice pays more than the reference: no impact, not a negative one.
    [{ saleOutUnits: 3_000_000n, beforeSliceOutUnits: 2_700_000n }, 0n],
    // A slice that buys nothing: the whole price is gone (capped at 10,000).
    [{ saleOutUnits: 3_000_000n, beforeSliceOutUnits: 3_000_000n }, 10_000n],
  ])('%o → %s bps', (quotes, bps) => {
    expect(saleImpactBps({ amountUnits: 1_000_000n, probeUnits: 100_000n, referenceOutUnits: 199_999n, ...quotes })).toBe(bps);
  });

  it('cannot measure a sale of under 8 units (a slice under 2): as if over any budget', () => {
    expect(saleImpactBps({ amountUnits: 7n, probeUnits: 1n, referenceOutUnits: 10n, saleOutUnits: 70n, beforeSliceOutUnits: 60n })).toBe(10_000n);
  });

  it('refuses quotes of another slice width, or an empty reference', () => {
    expect(() => saleImpactBps({ amountUnits: 1_000_000n, probeUnits: 100n, referenceOutUnits: 1n, saleOutUnits: 1n, beforeSliceOutUnits: 0n })).toThrow(
      'the slice of a sale of 1000000 is 100000, got 100',
    );
    expect(() => saleImpactBps({ amountUnits: 1_000_000n, probeUnits: 100_000n, referenceOutUnits: 0n, saleOutUnits: 1n, beforeSliceOutUnits: 0n })).toThrow(
      'the reference quote must buy a positive amount',
    );
  });

  it('reads a slice of 1 bp of the amount, at least 100,000 units, at most a quarter', () => {
    expect(probeUnits(12_345_678_901n)).toBe(1_234_567n);
    expect(probeUnits(12_345_678n)).toBe(100_000n);
    expect(probeUnits(200_000n)).toBe(50_000n);
    expect(probeUnits(3n)).toBe(1n);
    expect(() => probeUnits(0n)).toThrow('probe of a non-positive amount 0');
  });
});

describe('chunk range: the repays a chunk may take, dust rule included', () => {
  // thin-pool after the shock: 5 WBTC at $50,000 against 210,000 USDC, LT 78 %: HF 0.929 < 0.95 → 100 % close factor.
  const thin = (ruleSet: 'v3.0' | 'v3.5') =>
    position(ruleSet, [
      reserve('WBTC', { priceBase8: usd(50_000), collateralBalanceUnits: units('WBTC', 5), liquidationThresholdBps: 7_800n, liquidationProtocolFeeBps: 1_000n }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 210_000) }),
    ]);
  const pair = pairOf('WBTC', 'USDC');
  const fullOf = (pos: ReturnType<typeof thin>, on = pair) => {
    const max = sizeMax(pos, on);
    if (max.kind !== 'liquidate') throw new Error(`expected a max plan, got ${max.reason}`);
    return max.steps[0];
  };

  it('v3.3+: up to the repay that leaves exactly $1,000 of debt (209,000 USDC of 210,000)', () => {
    const pos = thin('v3.5');
    const full = fullOf(pos);
    expect(full.debtRepaidUnits).toBe(units('USDC', 210_000));
    expect(chunkRange(pos, full)).toEqual({ kind: 'range', hiRepayUnits: units('USDC', 209_000) });
    // One unit more leaves $999.999999 of debt: MustNotLeaveDust.
    expect(planChunk(pos, full, units('USDC', 209_000) + 1n)).toBeUndefined();
    const edge = planChunk(pos, full, units('USDC', 209_000))!;
    expect(edge.positionAfter.reserves[1].debtBalanceUnits * 100n).toBe(MIN_LEFTOVER_BASE); // 1,000e6 USDC units × 1e8 / 1e6
  });

  it('v3.0 has no dust rule: any repay below the one-shot plan', () => {
    const pos = thin('v3.0');
    const full = fullOf(pos);
    expect(chunkRange(pos, full)).toEqual({ kind: 'range', hiRepayUnits: full.debtRepaidUnits - 1n });
  });

  it('the collateral leftover binds when it is the smaller: $1,800 of WETH against $1,500 of USDC → at most 500 USDC', () => {
    // HF = 1,800 × 0.825 / 1,500 = 0.99; under $2,000 → 100 % close factor. Debt left ≥ $1,000 ⟺ r ≤ 500;
    // collateral left 1,800 − 1.05 r ≥ 1,000 ⟺ r ≤ 761.9: the debt binds.
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(1_800), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1_500) }),
    ]);
    const full = fullOf(pos, pairOf('WETH', 'USDC'));
    expect(chunkRange(pos, full)).toEqual({ kind: 'range', hiRepayUnits: units('USDC', 500) });
  });

  it('a position under $1,000 of debt has no chunk: only closing it is allowed', () => {
    const pos = position('v3.5', [
      reserve('WETH', { priceBase8: usd(1_000), collateralBalanceUnits: units('WETH', 1) }),
      reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 900) }),
    ]);
    expect(chunkRange(pos, fullOf(pos, pairOf('WETH', 'USDC')))).toEqual({ kind: 'none' });
  });

  it("a chunk is the Pool's own plan at that repay, to the wei", () => {
    const pos = thin('v3.5');
    const chunk = planChunk(pos, fullOf(pos), units('USDC', 12_345.678901))!;
    const outcome = planLiquidation(pos, { ...pair, debtToCoverUnits: units('USDC', 12_345.678901), receiveAToken: false });
    expect(outcome.kind).toBe('liquidate');
    expect(chunk).toEqual(outcome.kind === 'liquidate' ? outcome.plan : undefined);
  });

  it('marks a chunk with the repay still owed, and refuses a "chunk" that is not smaller', () => {
    const pos = thin('v3.5');
    const full = fullOf(pos);
    const chunk = planChunk(pos, full, units('USDC', 10_000))!;
    expect(chunkMarkerOf(full, chunk, { chunkBps: 99n, fullBps: 9_000n, maxBps: 100n })).toEqual({
      restRepayUnits: units('USDC', 200_000),
      priceImpactBps: 99n,
      maxPriceImpactBps: 100n,
      fullPriceImpactBps: 9_000n,
    });
    expect(() => chunkMarkerOf(full, full, { chunkBps: 0n, fullBps: 0n, maxBps: 1n })).toThrow('a chunk repays less than the plan it reduces');
  });
});

describe('chunkSearchDone: a bracket within 0.1 % of its upper end, or adjacent', () => {
  it.each([
    [0n, 1n, true],
    [0n, 1_000n, false],
    [999n, 1_000n, true],
    [1_000n, 2_000n, false],
    [1_998n, 2_000n, true],
    [1_997n, 2_000n, false],
  ])('[%s, %s] → %s', (lo, hi, done) => {
    expect(chunkSearchDone(lo, hi)).toBe(done);
  });
});

describe('best sizing', () => {
  const pos = position('v3.5', [
    reserve('WETH', { priceBase8: usd(1_800), collateralBalanceUnits: units('WETH', 1) }),
    reserve('USDC', { priceBase8: usd(1), debtBalanceUnits: units('USDC', 1_500) }),
  ]);
  const pair = pairOf('WETH', 'USDC');

  it('always has max first, and sizes like max on its own', () => {
    const best = bestSizing([targetHealthSizing({ targetHealthFactorWad: 1_050_000_000_000_000_000n }), twoStepSizing(), maxSizing]);
    expect(best.members.map((m) => m.name)).toEqual(['max', 'target-health', 'two-step']);
    expect(best.size(pos, pair)).toEqual({ ...sizeMax(pos, pair), strategy: 'best' });
    expect(isBestSizing(best)).toBe(true);
    expect(isBestSizing(maxSizing)).toBe(false);
  });

  it('carries a price-impact budget on any strategy', () => {
    expect(priceImpactBudgetOf(maxSizing)).toBeUndefined();
    const budgeted = withPriceImpactBudget(bestSizing([]), 150n);
    expect(priceImpactBudgetOf(budgeted)).toBe(150n);
    expect(isBestSizing(budgeted)).toBe(true);
    expect(() => withPriceImpactBudget(maxSizing, 0n)).toThrow('maxPriceImpactBps must be 1..10000, got 0');
  });
});
