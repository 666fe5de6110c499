/**
 * Nonce leases per (chain, signer): how many workers share one signing key without two live transactions on
 * one nonce. The lease of a nonce moves
 *
 *     leased ──markSigned──▶ signed ──confirm──▶ confirmed
 *        │                     │
 *        │                  release (the node refused its transaction: nothing of the holder's is out)
 *        │                     ▼
 *        └──────release────▶ released (free again: the lowest released nonce is leased first, so no gap stays)
 *
 * A `leased` nonce whose holder never signed it within the lease time (a crashed or frozen worker) is taken
 * over by the next allocation, like a released one; `markSigned` is conditional on still holding the lease, so
 * a holder that wakes up late learns it lost the nonce before it can broadcast. A `signed` nonce is never
 * reallocated: only its own transaction or a deliberate replacement (same nonce, higher fee) may use it, and gap
 * repair (functions/pipeline/nonce-gaps.ts) re-broadcasts the stored transaction if the node lost it. A nonce
 * nobody holds below a signed one is a gap: gap repair takes it over and fills it with a zero-value self-transfer.
 *
 * `chainNonce` arguments are the signer's confirmed transaction count (eth_getTransactionCount at `latest`):
 * every nonce below it is used on chain, whatever the table says.
 */

/** `chainId#address` (address lower-case): the partition of one signer. */
export type SignerKey = string;

export function signerKeyOf(chainId: bigint | number, address: string): SignerKey {
  return `${chainId}#${address.toLowerCase()}`;
}

export type LeaseState = 'leased' | 'signed' | 'confirmed' | 'released';

export interface NonceLease {
  signer: SignerKey;
  nonce: number;
  /** Who holds it: the ledger attempt (or gap repair) that will sign at this nonce. */
  owner: string;
}

export interface LeaseRecord extends NonceLease {
  state: LeaseState;
  /** Clock ms; a `leased` lease past this may be taken over. */
  expiresAtMs: number;
  updatedAtMs: number;
  /** Set from `signed` on: the latest transaction signed at this nonce (a replacement overwrites it). */
  txHash?: string;
  /** The signed raw transaction of `txHash`, so gap repair can re-broadcast it. */
  rawTransaction?: string;
}

/** The lease was taken over (it expired before `markSigned`): the holder must not sign or broadcast. */
export class NonceLeaseLostError extends Error {
  readonly retryable = true;
  constructor(
    readonly lease: NonceLease,
    options?: { cause?: unknown },
  ) {
    super(`nonce ${lease.nonce} of ${lease.signer} is no longer leased to ${lease.owner}`, options);
    this.name = 'NonceLeaseLostError';
  }
}

export interface NonceLeases {
  /**
   * Leases a nonce ≥ chainNonce for `owner`: the lowest released or expired-unsigned one if any, else the next
   * after every nonce the table has handed out (or chainNonce if that is higher). Conditional writes make two
   * concurrent allocations get two different nonces; an allocation that keeps losing those races throws a
   * retryable error.
   */
  allocate(signer: SignerKey, owner: string, chainNonce: number, nowMs: number): Promise<NonceLease>;
  /** leased → signed (or signed → signed by the same owner, for a replacement), before the broadcast. */
  markSigned(lease: NonceLease, tx: { txHash: string; rawTransaction: string }, nowMs: number): Promise<void>;
  /** A transaction at this nonce is mined (ours or its replacement): the nonce is done. */
  confirm(lease: NonceLease, nowMs: number): Promise<void>;
  /**
   * Nothing of the holder's is out at this nonce — never signed, or its one signed transaction was refused by
   * the node — so it is free for the next allocation (the stored transaction is forgotten, never re-broadcast).
   * Only the holder may release.
   */
  release(lease: NonceLease, nowMs: number): Promise<void>;
  /** Leases at nonces ≥ chainNonce that are not confirmed, lowest first (gap repair, reconciliation). */
  open(signer: SignerKey, chainNonce: number): Promise<LeaseRecord[]>;
}

export type TakeOverResult =
  | { kind: 'taken'; lease: NonceLease }
  /** Someone holds the nonce (a live lease, a signed or confirmed one); `state` is absent if it was not reported. */
  | { kind: 'held'; state?: LeaseState };

/**
 * Gap repair's access to one given nonce (functions/pipeline/nonce-gaps.ts): leases it to `owner` if nobody
 * holds it — it is `released`, `leased` past its expiry, or has no lease at all (an allocation that stopped
 * between reserving the nonce and writing its lease) — exactly as `allocate` reuses a nonce. A separate role
 * from NonceLeases: only gap repair picks a nonce itself.
 */
export interface NonceLeaseTakeover {
  takeOver(signer: SignerKey, nonce: number, owner: string, nowMs: number): Promise<TakeOverResult>;
}
