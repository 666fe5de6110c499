/**
 * Nonce gap repair against in-memory fakes. "Now" is 1,705,362,600,000 ms; leases last 60 s; a signed
 * transaction is stale after 30 s. Fees now are 40 gwei max / 2 gwei tip, so a filler offers them +12.5 %:
 * 40 × 1.125 = 45 gwei and 2 × 1.125 = 2.25 gwei.
 */
import type { BestEffort, BestEffortContext, BestEffortStep } from '../../../functions/pipeline/best-effort';
import {
  type GapChain,
  type GapLeases,
  type NonceGapDeps,
  type NonceGapRepair,
  repairNonceGaps,
} from '../../../functions/pipeline/nonce-gaps';
import {
  type LeaseRecord,
  type LeaseState,
  type NonceLease,
  NonceLeaseLostError,
  signerKeyOf,
  type TakeOverResult,
} from '../../../functions/ports/nonce-leases';
import type { BroadcastResult, SignedTransaction, Signer, UnsignedTransaction } from '../../../functions/ports/transactions';

const NOW = 1_705_362_600_000;
const LEASE_MS = 60_000;
const STALE_AFTER_MS = 30_000;
const GWEI = 10n ** 9n;
const CHAIN_ID = 31337n;
const ADDRESS = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const SIGNER = signerKeyOf(CHAIN_ID, ADDRESS);

/** In-memory leases with the adapter's conditions (functions/adapters/store/dynamodb-nonce-leases.ts). */
class FakeLeases implements GapLeases {
  readonly records = new Map<number, LeaseRecord>();
  /** Another repair takes the nonce between this one's takeover and its markSigned. */
  stealBeforeMarkSigned = false;

  constructor(seed: Partial<LeaseRecord>[]) {
    for (const lease of seed) {
      this.records.set(lease.nonce!, { signer: SIGNER, owner: 'attempt', expiresAtMs: NOW + LEASE_MS, updatedAtMs: NOW, state: 'leased', nonce: 0, ...lease });
    }
  }

  async open(signer: string, chainNonce: number): Promise<LeaseRecord[]> {
    return [...this.records.values()].filter((r) => r.signer === signer && r.nonce >= chainNonce && r.state !== 'confirmed').sort((a, b) => a.nonce - b.nonce);
  }

  async takeOver(signer: string, nonce: number, owner: string, nowMs: number): Promise<TakeOverResult> {
    const record = this.records.get(nonce);
    const free = !record || record.state === 'released' || (record.state === 'leased' && record.expiresAtMs < nowMs);
    if (!free) return { kind: 'held', state: record.state };
    this.records.set(nonce, { signer, nonce, owner, state: 'leased', expiresAtMs: nowMs + LEASE_MS, updatedAtMs: nowMs });
    return { kind: 'taken', lease: { signer, nonce, owner } };
  }

  async markSigned(lease: NonceLease, tx: { txHash: string; rawTransaction: string }, nowMs: number): Promise<void> {
    if (this.stealBeforeMarkSigned) this.records.get(lease.nonce)!.owner = 'another-repair';
    const record = this.records.get(lease.nonce);
    const held = record?.owner === lease.owner && ((record.state === 'leased' && record.expiresAtMs >= nowMs) || record.state === 'signed');
    if (!held) throw new NonceLeaseLostError(lease);
    Object.assign(record, { state: 'signed', updatedAtMs: nowMs, ...tx });
  }

  async confirm(lease: NonceLease, nowMs: number): Promise<void> {
    this.transition(lease, 'confirmed', nowMs);
  }

  async release(lease: NonceLease, nowMs: number): Promise<void> {
    this.transition(lease, 'released', nowMs);
  }

  private transition(lease: NonceLease, state: LeaseState, nowMs: number): void {
    const record = this.records.get(lease.nonce);
    if (record?.owner !== lease.owner) throw new NonceLeaseLostError(lease);
    Object.assign(record, { state, updatedAtMs: nowMs });
  }

  stateOf(nonce: number): Pick<LeaseRecord, 'state' | 'owner' | 'rawTransaction'> | undefined {
    const record = this.records.get(nonce);
    return record && { state: record.state, owner: record.owner, rawTransaction: record.rawTransaction };
  }
}

class FakeChain implements GapChain {
  readonly broadcasts: string[] = [];
  constructor(
    private readonly nonces: { confirmed: number; pending: number },
    /** The node's answer by raw transaction; default accepted. */
    private readonly answers: Record<string, BroadcastResult> = {},
  ) {}
  async confirmedNonce(): Promise<number> {
    return this.nonces.confirmed;
  }
  async pendingNonce(): Promise<number> {
    return this.nonces.pending;
  }
  async broadcast(raw: string): Promise<BroadcastResult> {
    this.broadcasts.push(raw);
    return this.answers[raw] ?? { kind: 'accepted' };
  }
  async feesNow(): Promise<{ maxFeePerGasWei: bigint; maxPriorityFeePerGasWei: bigint }> {
    return { maxFeePerGasWei: 40n * GWEI, maxPriorityFeePerGasWei: 2n * GWEI };
  }
}

/** Signs into a readable "raw" string: `filler:<nonce>`. */
class FakeSigner implements Signer {
  readonly address = ADDRESS;
  readonly signed: UnsignedTransaction[] = [];
  failWith?: Error;
  async signTransaction(tx: UnsignedTransaction): Promise<SignedTransaction> {
    if (this.failWith) throw this.failWith;
    this.signed.push(tx);
    return { raw: `filler:${tx.nonce}`, hash: `0xfiller${tx.nonce}` };
  }
}

function world(seed: Partial<LeaseRecord>[], nonces: { confirmed: number; pending: number }, answers: Record<string, BroadcastResult> = {}) {
  const leases = new FakeLeases(seed);
  const chain = new FakeChain(nonces, answers);
  const signer = new FakeSigner();
  const deps: NonceGapDeps = { chain, signer, nonces: leases, clock: { nowMs: () => NOW }, settings: { chainId: CHAIN_ID, staleAfterMs: STALE_AFTER_MS } };
  return { leases, chain, signer, deps };
}

const expired = { state: 'leased' as const, expiresAtMs: NOW - 1, updatedAtMs: NOW - LEASE_MS - 1 };
const live = { state: 'leased' as const, expiresAtMs: NOW + 1_000, updatedAtMs: NOW - LEASE_MS + 1_000 };
const released = { state: 'released' as const, updatedAtMs: NOW - 5_000 };
const signedAt = (ageMs: number, nonce: number) => ({ state: 'signed' as const, updatedAtMs: NOW - ageMs, txHash: `0xtx${nonce}`, rawTransaction: `raw:${nonce}` });
const staleSigned = (nonce: number) => ({ nonce, ...signedAt(STALE_AFTER_MS, nonce) });
const youngSigned = (nonce: number) => ({ nonce, ...signedAt(STALE_AFTER_MS - 1, nonce) });

interface Scenario {
  name: string;
  leases: Partial<LeaseRecord>[];
  chain: { confirmed: number; pending: number };
  answers?: Record<string, BroadcastResult>;
  expected: Omit<NonceGapRepair, 'address'>;
  /** Raw transactions broadcast, in order. */
  broadcasts: string[];
}

const SCENARIOS: Scenario[] = [
  {
    name: 'nothing open: nothing to do',
    leases: [],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [], filled: [], skipped: [] },
    broadcasts: [],
  },
  {
    name: 'no gap: signed 5 and 6 are in the pool, a live lease at 7 above them is not looked at',
    leases: [staleSigned(5), staleSigned(6), { nonce: 7, ...live }],
    chain: { confirmed: 5, pending: 7 },
    expected: { rebroadcast: [], filled: [], skipped: [{ nonce: 5, reason: 'pending' }, { nonce: 6, reason: 'pending' }] },
    broadcasts: [],
  },
  {
    name: 'leases below the chain nonce are used on chain whatever they say',
    leases: [{ nonce: 3, ...expired }, { nonce: 4, ...released }, youngSigned(5)],
    chain: { confirmed: 5, pending: 6 },
    expected: { rebroadcast: [], filled: [], skipped: [{ nonce: 5, reason: 'pending' }] },
    broadcasts: [],
  },
  {
    name: 'an expired lease below a signed nonce is filled with a self-transfer',
    leases: [{ nonce: 5, ...expired }, youngSigned(6)],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [], filled: [5], skipped: [{ nonce: 6, reason: 'recently-signed' }] },
    broadcasts: ['filler:5'],
  },
  {
    name: 'a released lease below a signed nonce is filled',
    leases: [{ nonce: 5, ...released }, youngSigned(6)],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [], filled: [5], skipped: [{ nonce: 6, reason: 'recently-signed' }] },
    broadcasts: ['filler:5'],
  },
  {
    name: 'a live lease below a signed nonce belongs to a working worker',
    leases: [{ nonce: 5, ...live }, youngSigned(6)],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [], filled: [], skipped: [{ nonce: 6, reason: 'recently-signed' }, { nonce: 5, reason: 'held', detail: `leased to attempt until ${NOW + 1_000}` }] },
    broadcasts: [],
  },
  {
    name: 'a stale signed transaction the node does not hold is re-broadcast',
    leases: [staleSigned(5)],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [5], filled: [], skipped: [] },
    broadcasts: ['raw:5'],
  },
  {
    name: 'stale signed transactions are re-broadcast before the gap below them is filled',
    leases: [{ nonce: 5, ...released }, staleSigned(6), { nonce: 7, ...expired }, staleSigned(8)],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [6, 8], filled: [5, 7], skipped: [] },
    broadcasts: ['raw:6', 'raw:8', 'filler:5', 'filler:7'],
  },
  {
    name: 'a missing lease below a young signed nonce may be an allocation in progress',
    leases: [youngSigned(6)],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [], filled: [], skipped: [{ nonce: 6, reason: 'recently-signed' }, { nonce: 5, reason: 'allocation-in-progress' }] },
    broadcasts: [],
  },
  {
    name: 'a missing lease below a stale signed nonce is an abandoned reservation: filled',
    leases: [staleSigned(6)],
    chain: { confirmed: 5, pending: 5 },
    expected: { rebroadcast: [6], filled: [5], skipped: [] },
    broadcasts: ['raw:6', 'filler:5'],
  },
  {
    name: 'the chain nonce blocks queued transactions the table does not know of (pending above confirmed)',
    leases: [{ nonce: 5, ...expired }],
    chain: { confirmed: 5, pending: 7 },
    expected: { rebroadcast: [], filled: [5], skipped: [] },
    broadcasts: ['filler:5'],
  },
  {
    name: 'refusals and transport failures are reported with their reason',
    leases: [{ nonce: 5, ...released }, staleSigned(6)],
    chain: { confirmed: 5, pending: 5 },
    answers: {
      'raw:6': { kind: 'unknown', reason: 'socket hang up' },
      'filler:5': { kind: 'rejected', reason: 'insufficient funds', retryable: false },
    },
    expected: {
      rebroadcast: [],
      filled: [],
      skipped: [
        { nonce: 6, reason: 'unknown', detail: 'socket hang up' },
        { nonce: 5, reason: 'rejected', detail: 'insufficient funds' },
      ],
    },
    broadcasts: ['raw:6', 'filler:5'],
  },
];

describe('repairNonceGaps', () => {
  it.each(SCENARIOS)('$name', async ({ leases: seed, chain: nonces, answers, expected, broadcasts }) => {
    // Arrange
    const { chain, deps } = world(seed, nonces, answers);

    // Act
    const repair = await repairNonceGaps(deps, ADDRESS);

    // Assert
    expect(repair).toEqual({ address: ADDRESS, ...expected });
    expect(chain.broadcasts).toEqual(broadcasts);
  });

  it('fills with a zero-value transfer to the signer itself at the gap nonce, fees +12.5 %, marked signed first', async () => {
    // Arrange
    const { leases, signer, deps } = world([{ nonce: 5, ...expired }, youngSigned(6)], { confirmed: 5, pending: 5 });

    // Act
    await repairNonceGaps(deps, ADDRESS);

    // Assert
    expect(signer.signed).toEqual([
      { chainId: CHAIN_ID, nonce: 5, to: ADDRESS, data: '0x', valueWei: 0n, gasLimit: 21_000n, maxFeePerGasWei: 45n * GWEI, maxPriorityFeePerGasWei: 2_250_000_000n },
    ]);
    expect(leases.stateOf(5)).toEqual({ state: 'signed', owner: `gap-repair#${NOW}`, rawTransaction: 'filler:5' });
  });

  it('skips a gap another repair took over first', async () => {
    // Arrange: the expired lease at 5 is taken by someone else between this repair's read and its takeover.
    const { leases, chain, deps } = world([{ nonce: 5, ...expired }, youngSigned(6)], { confirmed: 5, pending: 5 });
    const takeOver = leases.takeOver.bind(leases);
    leases.takeOver = async (signer, nonce, _owner, nowMs) => {
      await takeOver(signer, nonce, 'another-repair', nowMs);
      return takeOver(signer, nonce, 'this-repair', nowMs);
    };

    // Act
    const repair = await repairNonceGaps(deps, ADDRESS);

    // Assert
    expect(repair.skipped).toContainEqual({ nonce: 5, reason: 'held', detail: 'now leased' });
    expect(repair.filled).toEqual([]);
    expect(chain.broadcasts).toEqual([]);
  });

  it('sends nothing when the lease is lost between the takeover and markSigned', async () => {
    // Arrange
    const { leases, chain, deps } = world([{ nonce: 5, ...released }, youngSigned(6)], { confirmed: 5, pending: 5 });
    leases.stealBeforeMarkSigned = true;

    // Act
    const repair = await repairNonceGaps(deps, ADDRESS);

    // Assert
    expect(repair.skipped).toContainEqual({ nonce: 5, reason: 'lease-lost', detail: `nonce 5 of ${SIGNER} is no longer leased to gap-repair#${NOW}` });
    expect(repair.filled).toEqual([]);
    expect(chain.broadcasts).toEqual([]);
  });

  it('confirms the filler lease when the nonce was used on chain meanwhile', async () => {
    // Arrange
    const { leases, deps } = world([{ nonce: 5, ...expired }, youngSigned(6)], { confirmed: 5, pending: 5 }, {
      'filler:5': { kind: 'rejected', reason: 'nonce too low', retryable: true, nonceUsed: true },
    });

    // Act
    const repair = await repairNonceGaps(deps, ADDRESS);

    // Assert
    expect(repair.skipped).toContainEqual({ nonce: 5, reason: 'nonce-used', detail: 'nonce too low' });
    expect(leases.stateOf(5)?.state).toBe('confirmed');
  });

  it.each([
    { answer: { kind: 'rejected', reason: 'max fee per gas less than block base fee', retryable: true } as BroadcastResult, state: 'released' },
    { answer: { kind: 'unknown', reason: 'socket hang up' } as BroadcastResult, state: 'signed' },
  ])('leaves the filler lease $state when the broadcast is $answer.kind', async ({ answer, state }) => {
    // Arrange
    const { leases, deps } = world([{ nonce: 5, ...expired }, youngSigned(6)], { confirmed: 5, pending: 5 }, { 'filler:5': answer });

    // Act
    await repairNonceGaps(deps, ADDRESS);

    // Assert: a refused filler is in no pool, so the next repair may sign a new one; an unknown one may be out.
    expect(leases.stateOf(5)?.state).toBe(state);
  });

  it('releases the taken nonce and fails when the filler cannot be signed', async () => {
    // Arrange
    const { leases, signer, chain, deps } = world([{ nonce: 5, ...expired }, youngSigned(6)], { confirmed: 5, pending: 5 });
    signer.failWith = new Error('KMS throttled');

    // Act
    const repairing = repairNonceGaps(deps, ADDRESS);

    // Assert
    await expect(repairing).rejects.toThrow('KMS throttled');
    expect(leases.stateOf(5)).toEqual({ state: 'released', owner: `gap-repair#${NOW}`, rawTransaction: undefined });
    expect(chain.broadcasts).toEqual([]);
  });

  it('reports a lease update that fails (NonceLeaseUpdateFailures) instead of swallowing it, and carries on', async () => {
    // Arrange
    const { leases, deps } = world([{ nonce: 5, ...expired }, youngSigned(6)], { confirmed: 5, pending: 5 }, {
      'filler:5': { kind: 'rejected', reason: 'nonce too low', retryable: true, nonceUsed: true },
    });
    leases.confirm = () => Promise.reject(new Error('throttled'));
    const reported: { step: BestEffortStep; error: unknown; context?: BestEffortContext }[] = [];
    const bestEffort: BestEffort = { failed: (step, error, context) => void reported.push({ step, error, context }) };

    // Act
    const repair = await repairNonceGaps({ ...deps, bestEffort }, ADDRESS);

    // Assert
    expect(repair.skipped).toContainEqual({ nonce: 5, reason: 'nonce-used', detail: 'nonce too low' });
    expect(reported).toEqual([{ step: 'nonce-lease-confirm', error: new Error('throttled'), context: { signer: SIGNER, nonce: 5 } }]);
  });
});
