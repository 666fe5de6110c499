/**
 * Repairs the nonce gaps of one signer: a nonce that nothing of ours will ever use blocks every transaction
 * signed after it (a node mines a sender's transactions in nonce order only). Gaps come from attempts that
 * stopped at the wrong moment:
 *
 * - a lease `leased` past its expiry (the worker died before signing) or `released` (it decided not to send)
 *   below a signed nonce: nothing was sent there, so the nonce is taken over and filled with a zero-value
 *   transfer to the signer itself (21,000 gas, the cheapest transaction that uses a nonce);
 * - no lease at all below a signed nonce (an allocation stopped between reserving the nonce and writing its
 *   lease; functions/adapters/store/dynamodb-nonce-leases.ts): filled the same way, but only once the signed
 *   transaction above has waited `staleAfterMs`, since a live allocation may be about to write it;
 * - a `signed` lease whose transaction the node does not hold (dropped from its pool, or the worker died after
 *   signing and before broadcasting), signed at least `staleAfterMs` ago so that its own worker has had the
 *   time to re-broadcast or replace it: its stored raw transaction is broadcast again (the same bytes, so at
 *   most that one transaction can be mined at the nonce).
 *
 * "Below a signed nonce" is below the highest open `signed` lease, or the chain nonce itself while the node
 * holds transactions of the signer (pending nonce above the confirmed one). A signed transaction below the
 * pending nonce is in the node's pool (the pending nonce counts the sender's transactions it can execute in
 * order) and is left alone; so is a `leased` lease within its lease time: it belongs to a live worker.
 *
 * Every takeover is a conditional write (NonceLeaseTakeover), and the filler is marked signed before it is
 * broadcast, as execute-candidate.ts does with a liquidation: of two repairs (or a repair and an allocation)
 * at most one can send at a nonce. Stale signed leases are re-broadcast before gaps are filled, so a dropped
 * transaction is back in the pool when the filler below it unblocks it.
 */
import type { Clock } from '../ports/clock';
import {
  type LeaseRecord,
  type NonceLease,
  NonceLeaseLostError,
  type NonceLeases,
  type NonceLeaseTakeover,
  signerKeyOf,
} from '../ports/nonce-leases';
import type { BroadcastResult, Signer } from '../ports/transactions';
import { type BestEffort, runBestEffort, UNREPORTED } from './best-effort';

/** What gap repair needs from the chain (EVM JSON-RPC). */
export interface GapChain {
  /** eth_getTransactionCount at `latest`: every lower nonce is used on chain. */
  confirmedNonce(address: string): Promise<number>;
  /** eth_getTransactionCount at `pending`: the node holds transactions of `address` at every lower nonce. */
  pendingNonce(address: string): Promise<number>;
  broadcast(rawTransaction: string): Promise<BroadcastResult>;
  /** Fees for a transaction sent now (wei per gas). */
  feesNow(): Promise<{ maxFeePerGasWei: bigint; maxPriorityFeePerGasWei: bigint }>;
}

export type GapLeases = Pick<NonceLeases, 'open' | 'markSigned' | 'release' | 'confirm'> & NonceLeaseTakeover;

export interface NonceGapSettings {
  chainId: bigint;
  /** A signed transaction is re-broadcast (and a missing lease below it filled) only after waiting this long. */
  staleAfterMs: number;
  /** Fee bump of a filler over the current fees, bps; default 1,250 (+12.5 %), so it is mined promptly. */
  fillerFeeBumpBps?: bigint;
}

export interface NonceGapDeps {
  chain: GapChain;
  signer: Signer;
  nonces: GapLeases;
  clock: Clock;
  settings: NonceGapSettings;
  /** Where a failed lease release or confirm is reported (the worker wires a warning and NonceLeaseUpdateFailures); absent: UNREPORTED. */
  bestEffort?: BestEffort;
}

export type GapSkipReason =
  /** The node holds the signed transaction (the nonce is below its pending nonce). */
  | 'pending'
  /** Signed less than `staleAfterMs` ago: its own worker is still following it. */
  | 'recently-signed'
  /** A missing lease below a signed transaction younger than `staleAfterMs`: an allocation may be writing it. */
  | 'allocation-in-progress'
  /** Leased to a live worker (within its lease time), or taken by someone else first. */
  | 'held'
  /** Taken over, but lost before the filler was marked signed: nothing was sent. */
  | 'lease-lost'
  /** The nonce was used on chain meanwhile. */
  | 'nonce-used'
  /** The node refused the transaction (a refused filler is released, so a later repair signs a new one). */
  | 'rejected'
  /** The broadcast failed in transport: the node may or may not have it. A later repair sends it again. */
  | 'unknown';

export interface NonceGapRepair {
  address: string;
  /** Nonces whose stored transaction was broadcast again. */
  rebroadcast: number[];
  /** Nonces filled with a zero-value self-transfer. */
  filled: number[];
  skipped: { nonce: number; reason: GapSkipReason; detail?: string }[];
}

/** Gas of a plain transfer (no calldata) to an externally owned account (yellow paper G_transaction). */
const TRANSFER_GAS = 21_000n;
const BPS = 10_000n;
const DEFAULT_FILLER_FEE_BUMP_BPS = 1_250n;

/** value × (1 + bps), rounded up so a bump is never lost to rounding. */
function bumped(value: bigint, bumpBps: bigint): bigint {
  return (value * (BPS + bumpBps) + BPS - 1n) / BPS;
}

/** Records why a nonce was left alone. */
type Skip = (nonce: number, reason: GapSkipReason, detail?: string) => void;

/** What a repair found at one nonce: an open lease, or none at all. */
type Slot = { nonce: number; lease: LeaseRecord | undefined };

export async function repairNonceGaps(deps: NonceGapDeps, signerAddress: string): Promise<NonceGapRepair> {
  const { chain, nonces, clock, settings } = deps;
  const signer = signerKeyOf(settings.chainId, signerAddress);
  const [chainNonce, pendingNonce] = await Promise.all([chain.confirmedNonce(signerAddress), chain.pendingNonce(signerAddress)]);
  const open = await nonces.open(signer, chainNonce);
  const summary: NonceGapRepair = { address: signerAddress, rebroadcast: [], filled: [], skipped: [] };
  const skip: Skip = (nonce, reason, detail) => summary.skipped.push(detail === undefined ? { nonce, reason } : { nonce, reason, detail });

  const signed = open.filter((lease) => lease.state === 'signed');
  const highestSigned = signed.reduce((highest, lease) => Math.max(highest, lease.nonce), -1);
  // Nonces whose emptiness blocks a later transaction: below the highest signed one, or the chain nonce while
  // the node holds transactions of the signer after it.
  const blockingBelow = pendingNonce > chainNonce ? Math.max(highestSigned, chainNonce + 1) : highestSigned;
  const byNonce = new Map(open.map((lease) => [lease.nonce, lease]));
  const slots: Slot[] = [];
  // Up to the highest signed lease included: it blocks nothing yet, but its transaction too may have been
  // dropped. Every slot from `blockingBelow` on is that signed lease.
  for (let nonce = chainNonce; nonce <= Math.max(blockingBelow - 1, highestSigned); nonce++) slots.push({ nonce, lease: byNonce.get(nonce) });

  const nowMs = clock.nowMs();
  const isStale = (lease: LeaseRecord) => nowMs - lease.updatedAtMs >= settings.staleAfterMs;

  for (const { nonce, lease } of slots) {
    if (lease?.state !== 'signed') continue;
    if (nonce < pendingNonce) skip(nonce, 'pending');
    else if (!isStale(lease)) skip(nonce, 'recently-signed');
    else await rebroadcast(deps, lease, summary, skip);
  }

  for (const { nonce, lease } of slots) {
    if (lease?.state === 'signed') continue;
    // No pending-nonce check here: nothing of ours is out at a released, expired or missing lease (leases are
    // marked signed before any broadcast), and a node that counts queued transactions in its pending nonce would
    // otherwise hide the very gap that holds them.
    if (lease?.state === 'leased' && lease.expiresAtMs >= nowMs) {
      skip(nonce, 'held', `leased to ${lease.owner} until ${lease.expiresAtMs}`);
    } else if (lease === undefined && !signed.some((above) => above.nonce > nonce && isStale(above))) {
      skip(nonce, 'allocation-in-progress');
    } else {
      await fill(deps, signerAddress, nonce, summary, skip);
    }
  }
  return summary;
}

async function rebroadcast(deps: NonceGapDeps, lease: LeaseRecord, summary: NonceGapRepair, skip: Skip): Promise<void> {
  if (!lease.rawTransaction) {
    skip(lease.nonce, 'rejected', 'the signed lease holds no raw transaction');
    return;
  }
  const result = await deps.chain.broadcast(lease.rawTransaction);
  if (result.kind === 'accepted') summary.rebroadcast.push(lease.nonce);
  else if (result.kind === 'rejected') skip(lease.nonce, result.nonceUsed ? 'nonce-used' : 'rejected', result.reason);
  else skip(lease.nonce, 'unknown', result.reason);
}

/**
 * Takes the nonce over and sends a zero-value transfer to the signer itself at it. Marked signed before the
 * broadcast: a repair that loses the lease in between sends nothing.
 */
async function fill(deps: NonceGapDeps, signerAddress: string, nonce: number, summary: NonceGapRepair, skip: Skip): Promise<void> {
  const { chain, nonces, clock, settings } = deps;
  const signer = signerKeyOf(settings.chainId, signerAddress);
  // An owner per repair run (its time): a late step of an earlier repair can never act on this run's lease.
  const owner = `gap-repair#${clock.nowMs()}`;
  const taken = await nonces.takeOver(signer, nonce, owner, clock.nowMs());
  if (taken.kind === 'held') {
    skip(nonce, 'held', taken.state ? `now ${taken.state}` : undefined);
    return;
  }
  const lease: NonceLease = taken.lease;
  let raw: string;
  let hash: string;
  try {
    const fees = await chain.feesNow();
    const bumpBps = settings.fillerFeeBumpBps ?? DEFAULT_FILLER_FEE_BUMP_BPS;
    const maxFeePerGasWei = bumped(fees.maxFeePerGasWei, bumpBps);
    const tip = bumped(fees.maxPriorityFeePerGasWei, bumpBps);
    ({ raw, hash } = await deps.signer.signTransaction({
      chainId: settings.chainId,
      nonce,
      to: signerAddress,
      data: '0x',
      valueWei: 0n,
      gasLimit: TRANSFER_GAS,
      maxFeePerGasWei,
      maxPriorityFeePerGasWei: tip > maxFeePerGasWei ? maxFeePerGasWei : tip,
    }));
  } catch (error) {
    // Nothing was signed or sent: the nonce is free again for the next repair or allocation.
    await runBestEffort(deps.bestEffort ?? UNREPORTED, 'nonce-lease-release', () => nonces.release(lease, clock.nowMs()), { signer, nonce });
    throw error;
  }
  try {
    await nonces.markSigned(lease, { txHash: hash, rawTransaction: raw }, clock.nowMs());
  } catch (error) {
    if (error instanceof NonceLeaseLostError) {
      skip(nonce, 'lease-lost', error.message);
      return;
    }
    throw error;
  }
  const result = await chain.broadcast(raw);
  if (result.kind === 'accepted') {
    summary.filled.push(nonce);
  } else if (result.kind === 'rejected' && result.nonceUsed) {
    // Used on chain since the chain nonce was read: done, whatever used it.
    await runBestEffort(deps.bestEffort ?? UNREPORTED, 'nonce-lease-confirm', () => nonces.confirm(lease, clock.nowMs()), { signer, nonce });
    skip(nonce, 'nonce-used', result.reason);
  } else if (result.kind === 'rejected') {
    // In no pool: released, so the next repair signs a new filler at that time's fees (the same bytes could be
    // refused forever, e.g. below a risen base fee).
    await runBestEffort(deps.bestEffort ?? UNREPORTED, 'nonce-lease-release', () => nonces.release(lease, clock.nowMs()), { signer, nonce });
    skip(nonce, 'rejected', result.reason);
  } else {
    // Perhaps out: it stays signed, and a later repair re-broadcasts these very bytes.
    skip(nonce, 'unknown', result.reason);
  }
}
