/**
 * The one place the worker's failures are classified retryable or permanent (ethers, AWS SDK, Node sockets, and
 * errors that say it themselves).
 */
import type { FailureClass } from '../pipeline/execute-candidate';
import { classifyCallFailure, isNodeTrouble } from './chain/call-failure';

const RETRYABLE_ETHERS_CODES = new Set(['NETWORK_ERROR', 'TIMEOUT', 'SERVER_ERROR', 'UNKNOWN_ERROR', 'BAD_DATA']);
const RETRYABLE_SYSTEM_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
const RETRYABLE_AWS_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

/**
 * The one place failures are classified. Walks the `cause` chain: an error that states `retryable` (or carries
 * its adapter's classification, e.g. chain/call-failure.ts NodeCallError) decides; otherwise transport and
 * throttling failures (ethers, AWS SDK, Node sockets, a node's error behind an eth_call) are retryable and everything else — reverts, validation, bugs — is permanent: recorded and
 * acknowledged, since a retry would fail again.
 * (The scanner re-detects a still-liquidatable account as a new opportunity, sooner than a redelivery would.)
 */
export function classifyWorkerFailure(error: unknown): FailureClass {
  for (let current: unknown = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    const e = current as {
      retryable?: unknown;
      classification?: { kind?: unknown };
      code?: unknown;
      name?: unknown;
      $retryable?: unknown;
      $metadata?: { httpStatusCode?: number };
    };
    if (typeof e.retryable === 'boolean') return e.retryable ? 'retryable' : 'permanent';
    // Adapters that classify their own failures (kms-signer.ts: KmsRequestError.classification).
    if (e.classification?.kind === 'retryable' || e.classification?.kind === 'permanent') return e.classification.kind;
    if (typeof e.code === 'string' && (RETRYABLE_ETHERS_CODES.has(e.code) || RETRYABLE_SYSTEM_CODES.has(e.code))) return 'retryable';
    // ethers reports every JSON-RPC error of an eth_call as a CALL_EXCEPTION: the node's "header not found" or
    // -32005 is node trouble, not a revert (chain/call-failure.ts).
    if (e.code === 'CALL_EXCEPTION' && isNodeTrouble(classifyCallFailure(current))) return 'retryable';
    if (isArithmeticPanicOfARead(current)) return 'retryable';
    if (e.$metadata) {
      const status = e.$metadata.httpStatusCode ?? 0;
      return e.$retryable || status >= 500 || RETRYABLE_AWS_NAMES.has(String(e.name)) ? 'retryable' : 'permanent';
    }
  }
  return 'permanent';
}

/**
 * A read (eth_call) that reverted with Panic(0x11), arithmetic over/underflow. The Pool's views panic so only
 * when the state they read is newer than the block they run in (an index updated after the block's timestamp):
 * a node serving a block that is still being sealed (seen on anvil under load), not the request's fault. The
 * position reader makes such a lens call once more itself (aave-v3-position-reader.ts lensCall); past that it is
 * retried like a node error, and one that persists reaches the dead-letter queue after maxReceiveCount deliveries.
 */
export function isArithmeticPanicOfARead(error: unknown): boolean {
  const e = error as { code?: unknown; action?: unknown; revert?: { name?: unknown; args?: unknown[] } };
  return e.code === 'CALL_EXCEPTION' && e.action === 'call' && e.revert?.name === 'Panic' && Number(e.revert.args?.[0]) === 17;
}
