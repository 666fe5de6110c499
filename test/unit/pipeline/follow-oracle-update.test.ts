/**
 * executeCandidate on a candidate found from a pending oracle update (execution-fakes.ts world): while the update
 * is pending the decision reads through the follower's readers (the update applied) and pays the update's fees;
 * once it landed, or without a follower, the candidate is planned on the chain as it is; with a bundle relay only
 * the first broadcast goes in the bundle.
 */
import type { CandidateMessage, OracleUpdateRef } from '../../../functions/pipeline/candidate-message';
import { executeCandidate, type OracleUpdateFollower } from '../../../functions/pipeline/execute-candidate';
import { GWEI, healthy, liquidatable, MESSAGE, OPPORTUNITY, world } from './execution-fakes';

const UPDATE: OracleUpdateRef = {
  txHash: `0x${'cd'.repeat(32)}`,
  feed: '0x00000000000000000000000000000000000000fe',
  answer: '180000000000',
  decimals: 8,
  maxFeePerGas: (30n * GWEI).toString(),
  maxPriorityFeePerGas: (3n * GWEI).toString(),
};
const FOLLOWING: CandidateMessage = { ...MESSAGE, source: 'oracle-update', oracleUpdate: UPDATE };

function follower(status: 'pending' | 'landed' | 'gone' | (() => 'pending' | 'landed' | 'gone'), readersUsed: string[], bundles?: string[][]): OracleUpdateFollower {
  return {
    statusOf: async () => (typeof status === 'function' ? status() : status),
    // The position reads liquidatable through these readers (the update applied), whatever the chain says.
    readersWith: (update) => {
      readersUsed.push(update.txHash);
      return { positions: { read: async () => ({ kind: 'position', position: liquidatable }) } };
    },
    ...(bundles
      ? {
          bundleBroadcast: (update) => async (raw) => {
            bundles.push([update.txHash, raw]);
            return { kind: 'accepted' } as const;
          },
        }
      : {}),
  };
}

describe('executeCandidate following a pending oracle update', () => {
  it('plans through the readers with the update applied and pays the update\'s tip and fee cap', async () => {
    // The chain without the update: healthy.
    const w = world({ read: { kind: 'position', position: healthy } });
    const used: string[] = [];
    w.deps.oracleUpdates = follower('pending', used);

    const result = await executeCandidate(w.deps, { message: FOLLOWING, attempt: 'message-1', receiptDeadlineMs: w.clock.now + 30_000 });

    expect(result.kind).toBe('mined');
    expect(used).toEqual([UPDATE.txHash]);
    expect(w.signed[0]).toMatchObject({ maxPriorityFeePerGasWei: 3n * GWEI, maxFeePerGasWei: 30n * GWEI });
  });

  it('plans on the chain as it is once the update landed (or without a follower), at the chain\'s fees', async () => {
    for (const setup of [{ status: 'landed' as const }, { status: undefined }]) {
      const w = world();
      const used: string[] = [];
      if (setup.status) w.deps.oracleUpdates = follower(setup.status, used);

      const result = await executeCandidate(w.deps, { message: FOLLOWING, attempt: 'message-1', receiptDeadlineMs: w.clock.now + 30_000 });

      expect(result.kind).toBe('mined');
      expect(used).toEqual([]);
      expect(w.signed[0]).toMatchObject({ maxPriorityFeePerGasWei: 1n * GWEI, maxFeePerGasWei: 21n * GWEI });
    }
  });

  it('an update gone from the mempool leaves an account the chain reads healthy: stale, nothing sent', async () => {
    const w = world({ read: { kind: 'position', position: healthy } });
    w.deps.oracleUpdates = follower('gone', []);

    const result = await executeCandidate(w.deps, { message: FOLLOWING, attempt: 'message-1', receiptDeadlineMs: w.clock.now + 30_000 });

    expect(result.kind).toBe('stale');
    expect(w.signed).toEqual([]);
  });

  it('sends a broadcast in the bundle after the update while it is pending, and a replacement after it landed through the public RPC', async () => {
    // Never mined at first: the dispatcher replaces the transaction after replaceAfterMs.
    const w = world({ mine: { index: 1, afterMs: 10_000 } });
    const bundles: string[][] = [];
    // Pending until the first broadcast has gone (decision, the check before signing, then the bundle), landed by
    // the replacement.
    let checks = 0;
    w.deps.oracleUpdates = follower(() => (++checks <= 3 ? 'pending' : 'landed'), [], bundles);

    const result = await executeCandidate(w.deps, { message: FOLLOWING, attempt: 'message-1', receiptDeadlineMs: w.clock.now + 60_000 });

    expect(result.kind).toBe('mined');
    expect(bundles).toHaveLength(1);
    expect(bundles[0][0]).toBe(UPDATE.txHash);
    // The replacement went through the chain gateway's broadcast.
    expect(w.broadcasts).toHaveLength(1);
    expect(w.signed).toHaveLength(2);
  });

  it('does not send a plan whose update landed meanwhile: the claim ends failed (retryable) and the delivery comes back', async () => {
    const w = world({ read: { kind: 'position', position: healthy } });
    let checks = 0;
    // Pending when planned, landed by the time the transaction would be signed.
    w.deps.oracleUpdates = follower(() => (++checks <= 1 ? 'pending' : 'landed'), []);

    const error = await executeCandidate(w.deps, { message: FOLLOWING, attempt: 'message-1', receiptDeadlineMs: w.clock.now + 30_000 }).catch((e: unknown) => e);

    expect((error as Error).message).toMatch(/landed before it was sent/);
    expect(w.signed).toEqual([]);
    expect(w.broadcasts).toEqual([]);
    expect(w.ledger.attempts.get(OPPORTUNITY)?.state).toBe('failed');
  });

  it('a failed status read is reported and the candidate planned on the chain as it is', async () => {
    const w = world();
    w.deps.oracleUpdates = {
      statusOf: async () => {
        throw new Error('eth_getTransactionByHash: timeout');
      },
      readersWith: () => ({}),
    };

    const result = await executeCandidate(w.deps, { message: FOLLOWING, attempt: 'message-1', receiptDeadlineMs: w.clock.now + 30_000 });

    expect(result.kind).toBe('mined');
    expect(w.failures.map((f) => f.step)).toEqual(['pending-update']);
  });
});
