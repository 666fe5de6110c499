/**
 * Which key signs a new attempt, and when it may: keys in turn, so the load (and the gas spent) spreads over every
 * configured key, and with a pending cap (MAX_PENDING_PER_SIGNER) at most that many transactions of one key
 * pending at once. Nodes and relays cap pending transactions per sender (geth keeps 16 executable ones per
 * account by default), so past the cap a new attempt takes another key or waits for a slot.
 *
 * Exact within one worker process (the wait for a slot runs in the signer's send lane, right before the nonce
 * lease); across concurrent Lambda instances a soft cap: two that count at the same moment may each take the
 * last slot.
 */
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import type { Clock } from '../ports/clock';
import { type NonceLeases, signerKeyOf } from '../ports/nonce-leases';
import type { ChainGateway, Signer } from '../ports/transactions';

export interface SignerSlotDeps {
  chain: Pick<ChainGateway, 'confirmedNonce'>;
  nonces: Pick<NonceLeases, 'open'>;
  /** One or more keys; new attempts take them in turn. */
  signers: readonly Signer[];
  clock: Clock;
  settings: {
    chainId: bigint;
    /** At most this many transactions of one signer pending at once (leases at or above its confirmed nonce, not confirmed); undefined = no limit. */
    maxPendingPerSigner?: number;
  };
  /** Waits between looks for a free slot (tests inject a fake); default node:timers/promises setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/** The signer stayed at its pending cap until the record's time ran out: retryable (the redelivery tries again). */
export class SignersBusyError extends Error {
  readonly retryable = true;
  constructor(cap: number, signer: string) {
    super(`signer ${signer} still has ${cap} transactions pending (MAX_PENDING_PER_SIGNER): left for redelivery`);
    this.name = 'SignersBusyError';
  }
}

/** How often a record waiting for a signer slot looks again: about the time a block frees slots. */
const SIGNER_SLOT_POLL_MS = 500;

/** `signer`'s confirmed nonce and its transactions pending now: leases at or above that nonce, not confirmed. */
async function pendingOf(deps: SignerSlotDeps, signer: Signer): Promise<{ chainNonce: number; pending: number }> {
  const chainNonce = await deps.chain.confirmedNonce(signer.address);
  return { chainNonce, pending: (await deps.nonces.open(signerKeyOf(deps.settings.chainId, signer.address), chainNonce)).length };
}

/**
 * The key for a new attempt: the next in turn, or with a pending cap the first from there with a free slot (the
 * turn's key if none is free: confirmedNonceWithSlot waits for its slot).
 */
export async function chooseSigner(deps: SignerSlotDeps): Promise<Signer> {
  const first = nextSigner(deps.signers);
  const cap = deps.settings.maxPendingPerSigner;
  if (cap === undefined || deps.signers.length === 1) return first;
  const start = deps.signers.indexOf(first);
  for (let i = 0; i < deps.signers.length; i++) {
    const signer = deps.signers[(start + i) % deps.signers.length];
    if ((await pendingOf(deps, signer)).pending < cap) return signer;
  }
  return first;
}

/**
 * The confirmed nonce to lease from. With a pending cap, first waits until `signer` has a free slot (a block
 * confirms one of its transactions); called inside the signer's send lane, right before the nonce is leased, so
 * the records of one process never overshoot the cap. Throws SignersBusyError at `waitUntilMs`.
 */
export async function confirmedNonceWithSlot(deps: SignerSlotDeps, signer: Signer, waitUntilMs: number): Promise<number> {
  const cap = deps.settings.maxPendingPerSigner;
  if (cap === undefined) return deps.chain.confirmedNonce(signer.address);
  const sleep = deps.sleep ?? setTimeoutPromise;
  for (;;) {
    const { chainNonce, pending } = await pendingOf(deps, signer);
    if (pending < cap) return chainNonce;
    if (deps.clock.nowMs() + SIGNER_SLOT_POLL_MS > waitUntilMs) throw new SignersBusyError(cap, signer.address);
    await sleep(SIGNER_SLOT_POLL_MS);
  }
}

/** Whose turn it is, per configured signer list (one list per process: the worker's wiring). */
const signerTurns = new WeakMap<readonly Signer[], number>();

function nextSigner(signers: readonly Signer[]): Signer {
  if (signers.length === 0) throw new Error('no signer configured');
  const turn = signerTurns.get(signers) ?? 0;
  signerTurns.set(signers, (turn + 1) % signers.length);
  return signers[turn];
}
