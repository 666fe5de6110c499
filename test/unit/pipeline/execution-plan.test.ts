/**
 * The execution plan's codec: bigint ⇄ decimal string at the edges (ledger item, result), and a stored plan that
 * lacks a field or holds a malformed one refused with the field named, never read as 0.
 */
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { decodePlan, encodePlan, type ExecutionPlan, MalformedPlanError } from '../../../functions/pipeline/execution-plan';
import { PLAN } from './execution-fakes';

const SUBMITTED: ExecutionPlan = {
  ...PLAN,
  submission: {
    from: '0x00000000000000000000000000000000000000a1',
    nonce: 7,
    to: '0x00000000000000000000000000000000000000f1',
    data: '0xdeadbeef',
    replacements: 1,
    effectiveGasPriceWei: 11_000_000_000n,
  },
};

const WHERE = 'ledger 31337#0xpool#0xborrower#100';

/** The message decodePlan throws for `stored`, or 'decoded'. */
function refusal(stored: unknown): string {
  try {
    decodePlan(stored, WHERE);
    return 'decoded';
  } catch (error) {
    if (!(error instanceof MalformedPlanError)) throw error;
    return error.message;
  }
}

function without(encoded: Record<string, string>, field: string): Record<string, string> {
  const { [field]: _dropped, ...rest } = encoded;
  return rest;
}

describe('encodePlan / decodePlan', () => {
  it('encodes a flat record of decimal strings, the shape ledger items and results have always had', () => {
    // Act
    const encoded = encodePlan(SUBMITTED);

    // Assert
    expect(encoded).toEqual({
      sizing: 'max',
      steps: '1',
      collateralAsset: '0x0000000000000000000000000000000000000002',
      debtAsset: '0x0000000000000000000000000000000000000001',
      debtToCoverUnits: '8500000000',
      debtRepaidUnits: '8500000000',
      liquidatorCollateralUnits: '4462500000000000000',
      protocolFeeUnits: '0',
      closeFactor: 'half-of-total-debt',
      limitedBy: 'close-factor',
      healthFactorBeforeWad: '970588235294117647',
      healthFactorAfterWad: '1074926470588235294',
      collateralPriceBase8: '200000000000',
      debtPriceBase8: '100000000',
      nativePriceBase8: '200000000000',
      baseFeePerGasWei: '10000000000',
      maxFeePerGasWei: '21000000000',
      maxPriorityFeePerGasWei: '1000000000',
      valueReceivedBase: '892500000000',
      valueRepaidBase: '850000000000',
      gasCostWei: '4125000000000000',
      gasCostBase: '825000000',
      swapCostBase: '2677500000',
      profitBase: '38997500000',
      gasEstimate: '300000',
      gasLimit: '375000',
      funding: 'flash-loan',
      liquidatorContract: '0x00000000000000000000000000000000000000c1',
      swapPath: '0x00000000000000000000000000000000000000020001f40000000000000000000000000000000000000001',
      quotedAmountOutUnits: '8898225000',
      amountOutMinimumUnits: '8853733875',
      flashLoanUnits: '8500000000',
      flashLoanPremiumBps: '0',
      flashLoanPremiumUnits: '0',
      expectedProfitUnits: '398225000',
      minProfitUnits: '8250000',
      from: '0x00000000000000000000000000000000000000a1',
      nonce: '7',
      to: '0x00000000000000000000000000000000000000f1',
      data: '0xdeadbeef',
      replacements: '1',
      effectiveGasPriceWei: '11000000000',
    });
    expect(JSON.parse(JSON.stringify(encoded))).toEqual(encoded);
  });

  it.each([
    ['a decided plan (dry run)', PLAN],
    ['a plan with its transaction', SUBMITTED],
    ['a losing plan (signed profit)', { ...PLAN, profitBase: -1n }],
  ])('decodes what it encodes: %s', (_what, plan) => {
    expect(decodePlan(encodePlan(plan), WHERE)).toEqual(plan);
  });

  it.each([
    ['nativePriceBase8', 'nativePriceBase8: required (a non-negative integer as a decimal string)'],
    ['gasCostBase', 'gasCostBase: required (a non-negative integer as a decimal string)'],
    ['profitBase', 'profitBase: required (an integer as a decimal string)'],
    ['gasLimit', 'gasLimit: required (a non-negative integer as a decimal string)'],
    ['closeFactor', 'closeFactor: required (one of half-of-reserve-debt, all-of-reserve-debt, half-of-total-debt)'],
    ['debtAsset', 'debtAsset: required (a 0x-prefixed 20-byte hex address)'],
  ])('refuses a stored plan without %s, naming it (never read as 0)', (field, problem) => {
    expect(refusal(without(encodePlan(PLAN), field))).toBe(`malformed execution plan (${WHERE}): ${problem}`);
  });

  it.each<[string, Record<string, string>, string]>([
    ['a fractional amount', { nativePriceBase8: '2000.5' }, 'nativePriceBase8: must be a non-negative integer as a decimal string'],
    ['a negative amount', { gasCostBase: '-825000000' }, 'gasCostBase: must be a non-negative integer as a decimal string'],
    ['a number where a string belongs', { gasLimit: 375000 as unknown as string }, 'gasLimit: must be a non-negative integer as a decimal string'],
    ['an unknown close factor', { closeFactor: 'most-of-it' }, 'closeFactor: must be one of half-of-reserve-debt, all-of-reserve-debt, half-of-total-debt'],
    ['an unknown limit', { limitedBy: 'patience' }, 'limitedBy: must be one of requested, close-factor, collateral-balance, dust-rule'],
    ['an address that is not one', { collateralAsset: 'WETH' }, 'collateralAsset: must be a 0x-prefixed 20-byte hex address'],
  ])('refuses %s, naming the field', (_what, change, problem) => {
    expect(refusal({ ...encodePlan(PLAN), ...change })).toBe(`malformed execution plan (${WHERE}): ${problem}`);
  });

  it('names every bad field at once', () => {
    expect(refusal({ ...without(encodePlan(PLAN), 'nativePriceBase8'), steps: 'two' })).toBe(
      `malformed execution plan (${WHERE}): steps: must be a non-negative integer as a decimal string; nativePriceBase8: required (a non-negative integer as a decimal string)`,
    );
  });

  it('refuses a transaction that lacks part of its call, and transaction fields without a transaction', () => {
    const submitted = encodePlan(SUBMITTED);

    expect(refusal(without(submitted, 'data'))).toBe(`malformed execution plan (${WHERE}): data: required (the plan has a transaction: from, nonce, to present)`);
    expect(refusal({ ...encodePlan(PLAN), effectiveGasPriceWei: '11000000000' })).toBe(
      `malformed execution plan (${WHERE}): effectiveGasPriceWei: present without a transaction (from, nonce, to, data)`,
    );
  });

  it('reads a transaction stored before `replacements` was always written as not replaced, and drops unknown fields', () => {
    const stored = { ...without(encodePlan(SUBMITTED), 'replacements'), swapRoute: 'written by a newer worker' };

    expect(decodePlan(stored, WHERE).submission).toMatchObject({ nonce: 7, replacements: 0 });
    expect(decodePlan(stored, WHERE)).not.toHaveProperty('swapRoute');
  });

  it('reads a plan stored before the contract fields existed as one without them; a funded plan missing one is refused', () => {
    const { funded: _funded, ...unfunded } = PLAN;
    const stored = encodePlan(PLAN);
    const legacy = Object.fromEntries(Object.entries(stored).filter(([key]) => !(key in PLAN.funded!)));

    expect(decodePlan(legacy, WHERE)).toEqual(unfunded);
    expect(refusal(without(stored, 'expectedProfitUnits'))).toBe(
      `malformed execution plan (${WHERE}): expectedProfitUnits: required (the plan is funded: funding, liquidatorContract, swapPath, quotedAmountOutUnits, amountOutMinimumUnits, flashLoanUnits, flashLoanPremiumBps, flashLoanPremiumUnits, minProfitUnits present)`,
    );
    expect(decodePlan({ ...stored, reducedFromRepayUnits: '9000000000' }, WHERE).funded).toMatchObject({ reducedFromRepayUnits: 9_000_000_000n });
  });

  it('keeps the oracle prices the plan was sized at, and reads a plan stored before them as one without them', () => {
    const priced: ExecutionPlan = { ...PLAN, collateralPriceBase8: 2_000_00000000n, debtPriceBase8: 1_00000000n };
    const stored = encodePlan(priced);

    expect(stored).toMatchObject({ collateralPriceBase8: '200000000000', debtPriceBase8: '100000000' });
    expect(decodePlan(stored, WHERE)).toEqual(priced);
    const { collateralPriceBase8: _c, debtPriceBase8: _d, ...older } = stored;
    expect(decodePlan(older, WHERE)).not.toHaveProperty('collateralPriceBase8');
    expect(refusal({ ...stored, debtPriceBase8: '-1' })).toMatch(/debtPriceBase8: must be a non-negative integer/);
  });

  it('refuses to encode a value it could not decode back (a negative amount)', () => {
    expect(() => encodePlan({ ...PLAN, gasCostBase: -1n })).toThrow(/gasCostBase/);
  });

  it('is a permanent failure for the worker: the stored item needs a person, not a retry', () => {
    expect(classifyWorkerFailure(new MalformedPlanError(WHERE, ['nativePriceBase8: required']))).toBe('permanent');
  });
});
