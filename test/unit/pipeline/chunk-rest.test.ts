/**
 * The rest of a chunked liquidation: the plan's chunk marker through the codec, the follow-up candidate message
 * (a fresh opportunity at the chunk's mined block, due a block later), and `notYetDue`.
 */
import {
  type CandidateMessage,
  decodeCandidateMessage,
  deduplicationIdOf,
  encodeCandidateMessage,
} from '../../../functions/pipeline/candidate-message';
import { notYetDue, REST_DELAY_BLOCKS, restCandidateOf } from '../../../functions/pipeline/chunk-rest';
import type { ExecutionResult } from '../../../functions/pipeline/execute-candidate';
import { decodePlan, encodePlan, type ExecutionPlan } from '../../../functions/pipeline/execution-plan';
import { PLAN } from './execution-fakes';

const CHUNK = { restRepayUnits: 150_000_000_000n, priceImpactBps: 98n, maxPriceImpactBps: 100n, fullPriceImpactBps: 8_731n };
const CHUNKED: ExecutionPlan = { ...PLAN, chunk: CHUNK };

const MESSAGE: CandidateMessage = {
  version: 1,
  chainId: '31337',
  pool: '0x00000000000000000000000000000000000000f0',
  borrower: '0x00000000000000000000000000000000000000b0',
  detectedBlock: 100,
  healthFactorWad: '930000000000000000',
  firstLiquidatableBlock: 98,
  source: 'scanner',
};

const mined = (plan: ExecutionPlan): ExecutionResult => ({
  kind: 'mined',
  opportunity: deduplicationIdOf(MESSAGE),
  block: 100,
  txHash: `0x${'ab'.repeat(32)}`,
  minedBlock: 101,
  gasUsed: '480000',
  plan: encodePlan(plan),
});

describe('the chunk marker in the stored plan', () => {
  it('is stored flat and decodes back', () => {
    const encoded = encodePlan(CHUNKED);
    expect(encoded).toMatchObject({ chunkRestRepayUnits: '150000000000', chunkPriceImpactBps: '98', chunkMaxPriceImpactBps: '100', chunkFullPriceImpactBps: '8731' });
    expect(decodePlan(JSON.parse(JSON.stringify(encoded)), 'test')).toEqual(CHUNKED);
  });

  it('is absent from plans that are not chunks (and from plans stored before it existed)', () => {
    const encoded = encodePlan(PLAN);
    expect(Object.keys(encoded).filter((key) => key.startsWith('chunk'))).toEqual([]);
    expect(decodePlan(encoded, 'test').chunk).toBeUndefined();
  });

  it('refuses a partial marker, naming what is missing', () => {
    const { chunkFullPriceImpactBps: _dropped, ...partial } = encodePlan(CHUNKED) as Record<string, string>;
    expect(() => decodePlan(partial, 'ledger x')).toThrow(
      'malformed execution plan (ledger x): chunkFullPriceImpactBps: required (the plan is a chunk: chunkRestRepayUnits, chunkPriceImpactBps, chunkMaxPriceImpactBps present)',
    );
  });
});

describe('restCandidateOf', () => {
  it('makes the rest of a mined chunk a candidate at the mined block, due REST_DELAY_BLOCKS later', () => {
    const rest = restCandidateOf(MESSAGE, mined(CHUNKED))!;
    expect(rest).toEqual({
      ...MESSAGE,
      detectedBlock: 101,
      healthFactorWad: PLAN.healthFactorAfterWad.toString(),
      notBeforeBlock: 101 + REST_DELAY_BLOCKS,
    });
    // The same opportunity a scanner detection at the mined block would carry (one attempt through the ledger claim).
    expect(deduplicationIdOf(rest)).toBe(deduplicationIdOf({ ...MESSAGE, detectedBlock: 101 }));
    expect(deduplicationIdOf(rest)).not.toBe(deduplicationIdOf(MESSAGE));
    expect(decodeCandidateMessage(encodeCandidateMessage(rest))).toEqual(rest);
  });

  it('takes a longer delay when asked', () => {
    expect(restCandidateOf(MESSAGE, mined(CHUNKED), 5)?.notBeforeBlock).toBe(106);
    expect(() => restCandidateOf(MESSAGE, mined(CHUNKED), -1)).toThrow('delayBlocks must be a whole number of blocks, got -1');
  });

  it('is undefined for anything but a mined chunk with a rest', () => {
    expect(restCandidateOf(MESSAGE, mined(PLAN))).toBeUndefined();
    expect(restCandidateOf(MESSAGE, mined({ ...PLAN, chunk: { ...CHUNK, restRepayUnits: 0n } }))).toBeUndefined();
    const { plan, ...rest } = mined(CHUNKED) as Extract<ExecutionResult, { kind: 'mined' }>;
    expect(restCandidateOf(MESSAGE, { ...rest, kind: 'reverted', plan, reason: 'x' })).toBeUndefined();
    expect(restCandidateOf(MESSAGE, { kind: 'dry-run', opportunity: rest.opportunity, block: 100, plan })).toBeUndefined();
  });
});

describe('notYetDue', () => {
  it('is due without notBeforeBlock (messages written before it existed still decode)', () => {
    expect(decodeCandidateMessage(JSON.stringify(MESSAGE))).toEqual(MESSAGE);
    expect(notYetDue(MESSAGE, 0)).toEqual({ kind: 'due' });
  });

  it.each([
    [101, { kind: 'not-yet-due', notBeforeBlock: 103, blocksLeft: 2 }],
    [102, { kind: 'not-yet-due', notBeforeBlock: 103, blocksLeft: 1 }],
    [103, { kind: 'due' }],
    [140, { kind: 'due' }],
  ])('at block %s with notBeforeBlock 103 → %o', (latest, expected) => {
    expect(notYetDue({ ...MESSAGE, notBeforeBlock: 103 }, latest)).toEqual(expected);
  });

  it('rejects a malformed notBeforeBlock with the field named', () => {
    expect(() => decodeCandidateMessage(JSON.stringify({ ...MESSAGE, notBeforeBlock: -1 }))).toThrow('notBeforeBlock');
  });
});
