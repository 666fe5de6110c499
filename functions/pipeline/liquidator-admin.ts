/**
 * The operator's transactions on our liquidator contract (manual trigger: deploy-liquidator, withdraw): signed by
 * the keeper's own key (KMS in production) with a nonce leased from the same table the workers lease from, so an
 * operator action and running workers never take the same nonce.
 *
 *   confirmed nonce → lease → fees (refused above the gas price cap) → gas estimate + headroom → sign
 *   → lease `signed` (the raw bytes: gap repair re-broadcasts them if this invocation dies) → broadcast
 *   → receipt (until the deadline) → lease confirmed
 *
 * No replacement by fee bump: an operator transaction left pending is re-broadcast by the worker's gap repair and
 * shows in `status`. A dry run estimates and stops before the lease.
 */
import type { Clock } from '../ports/clock';
import { type NonceLeases, signerKeyOf } from '../ports/nonce-leases';
import type { ChainGateway, ReceiptSummary, Signer } from '../ports/transactions';
import { type BestEffort, runBestEffort } from './best-effort';

export interface AdminTransactionDeps {
  chain: ChainGateway;
  signer: Signer;
  nonces: NonceLeases;
  clock: Clock;
  chainId: bigint;
  gasPriceCapWei?: bigint;
  /** eth_estimateGas of the transaction from the signer at the latest block (reverts are thrown with their reason). */
  estimateGas(tx: { from: string; to: string | null; data: string }): Promise<bigint>;
  bestEffort: BestEffort;
}

export interface AdminTransactionRequest {
  /** What it is for, in the lease's owner and errors: `deploy-liquidator`, `withdraw 0x…`. */
  purpose: string;
  /** null: contract creation. */
  to: string | null;
  data: string;
  /** Stop waiting for the receipt at this time (clock ms). */
  deadlineMs: number;
}

export type AdminTransactionResult =
  | { kind: 'dry-run'; gasEstimate: bigint; maxFeePerGasWei: bigint }
  | { kind: 'mined'; txHash: string; nonce: number; from: string; receipt: ReceiptSummary };

/** The transaction was broadcast and is not mined yet: its lease stays `signed`, gap repair re-broadcasts it. */
export class AdminTransactionPendingError extends Error {
  readonly retryable = false;
  constructor(
    readonly purpose: string,
    readonly txHash: string,
  ) {
    super(`${purpose}: transaction ${txHash} sent, not mined before the deadline; look it up before sending again`);
    this.name = 'AdminTransactionPendingError';
  }
}

const GAS_HEADROOM_BPS = 12_500n;

export async function sendAdminTransaction(deps: AdminTransactionDeps, request: AdminTransactionRequest, dryRun: boolean): Promise<AdminTransactionResult> {
  const { chain, signer } = deps;
  const fees = await chain.feesAfter(await chain.latestBlock());
  if (deps.gasPriceCapWei !== undefined && fees.baseFeePerGasWei + fees.maxPriorityFeePerGasWei > deps.gasPriceCapWei) {
    throw new Error(`${request.purpose}: gas price ${fees.baseFeePerGasWei + fees.maxPriorityFeePerGasWei} wei is above the cap ${deps.gasPriceCapWei} wei`);
  }
  const maxFeePerGasWei = deps.gasPriceCapWei !== undefined && fees.maxFeePerGasWei > deps.gasPriceCapWei ? deps.gasPriceCapWei : fees.maxFeePerGasWei;
  const gasEstimate = await deps.estimateGas({ from: signer.address, to: request.to, data: request.data });
  if (dryRun) return { kind: 'dry-run', gasEstimate, maxFeePerGasWei };

  const key = signerKeyOf(deps.chainId, signer.address);
  const lease = await deps.nonces.allocate(key, `admin#${request.purpose}#${deps.clock.nowMs()}`, await chain.confirmedNonce(signer.address), deps.clock.nowMs());
  let signed;
  try {
    signed = await signer.signTransaction({
      chainId: deps.chainId,
      nonce: lease.nonce,
      to: request.to,
      data: request.data,
      valueWei: 0n,
      gasLimit: (gasEstimate * GAS_HEADROOM_BPS) / 10_000n,
      maxFeePerGasWei,
      maxPriorityFeePerGasWei: fees.maxPriorityFeePerGasWei > maxFeePerGasWei ? maxFeePerGasWei : fees.maxPriorityFeePerGasWei,
    });
    await deps.nonces.markSigned(lease, { txHash: signed.hash, rawTransaction: signed.raw }, deps.clock.nowMs());
  } catch (error) {
    await runBestEffort(deps.bestEffort, 'nonce-lease-release', () => deps.nonces.release(lease, deps.clock.nowMs()), { purpose: request.purpose, nonce: lease.nonce });
    throw error;
  }
  const broadcast = await chain.broadcast(signed.raw);
  if (broadcast.kind === 'rejected') {
    // In no mempool: the nonce goes back (gap repair would otherwise keep re-broadcasting refused bytes).
    await runBestEffort(deps.bestEffort, 'nonce-lease-release', () => deps.nonces.release(lease, deps.clock.nowMs()), { purpose: request.purpose, nonce: lease.nonce });
    throw new Error(`${request.purpose}: the node refused the transaction: ${broadcast.reason}`);
  }
  const receipt = await chain.receiptOfAny([signed.hash], Math.max(0, request.deadlineMs - deps.clock.nowMs()));
  if (!receipt) throw new AdminTransactionPendingError(request.purpose, signed.hash);
  await runBestEffort(deps.bestEffort, 'nonce-lease-confirm', () => deps.nonces.confirm(lease, deps.clock.nowMs()), { purpose: request.purpose, txHash: signed.hash });
  if (receipt.status !== 'success') throw new Error(`${request.purpose}: transaction ${signed.hash} reverted in block ${receipt.blockNumber}`);
  return { kind: 'mined', txHash: signed.hash, nonce: lease.nonce, from: signer.address, receipt };
}
