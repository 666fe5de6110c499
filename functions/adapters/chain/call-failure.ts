/**
 * What an `eth_call` (or `eth_estimateGas`) failure is: the contract reverting, or the node, the network or a rate
 * limit failing the request. The one classifier every chain adapter uses; a revert is an outcome of the call, the
 * rest are not and must never be read as one.
 *
 * ethers v6 reports every JSON-RPC error of an eth_call as a CALL_EXCEPTION (`getRpcError` in
 * providers/provider-jsonrpc.ts): `data` holds the revert bytes when the node's message says "revert" and carries
 * hex data, else the error reads "missing revert data" and the node's own error (code, message) is in `info.error`.
 * So the node's error is read first, ethers' wrapping second. HTTP failures come as SERVER_ERROR (with
 * `info.responseStatus`, "429 Too Many Requests" once FetchRequest gave up retrying), timeouts as TIMEOUT and
 * socket failures as the Node error itself (ECONNRESET "socket hang up").
 *
 * Wordings, with where they come from:
 * - override refused (the node takes no third, state-override, parameter):
 *   - geth-style RPC servers (go-ethereum rpc/json.go parsePositionalArguments, also in erigon, bor, lotus and
 *     relays built on them): -32602 "too many arguments, want at most 2", and "invalid argument 2: …" when the
 *     override set does not decode (e.g. `json: unknown field "…"`);
 *   - Hardhat Network (NomicFoundation/hardhat#2513): -32602 "Expected between 1 and 2 arguments and got 3";
 *   - relays that validate the parameter count (hiero-ledger/hiero-json-rpc-relay#4417): "invalid params";
 *   - and plain wordings: "state override(s) not supported", "unsupported".
 *   A node that silently ignores the parameter answers as if there were none (biafra23/myotis#314): callers that
 *   install code by override detect that by its empty result, not here.
 * - rate limited: EIP-1474 -32005 "limit exceeded"; Infura -32005 "daily request count exceeded, request rate
 *   limited" / "project ID request rate exceeded" with HTTP 429 (gochain/web3#180, ConsenSys truffle#3200);
 *   Alchemy HTTP 429, or code 429 "Your app has exceeded its compute units per second capacity" over WebSockets
 *   (docs.alchemy.com/reference/throughput).
 * - timeout: ethers TIMEOUT, ETIMEDOUT, geth's "execution aborted (timeout = 5s)", "request timed out".
 * - transport: ECONNRESET ("socket hang up"), ECONNREFUSED, EPIPE, DNS failures, ethers NETWORK_ERROR.
 * - node error: anything else the node said: geth -32000 "header not found" (a load-balanced node behind on the
 *   block: ethersphere/bee#1919, MetaMask/metamask-extension#7234), "missing trie node" (pruned state), -32603
 *   internal error, HTTP 5xx, a response ethers cannot parse.
 * - revert: code 3 or a message saying "revert" with hex data (`revert`), or without any (`revert-without-data`:
 *   geth answers a data-less revert with -32000 "execution reverted", anvil with code 3 and data "0x").
 */

export type CallFailure =
  /** The call ran and reverted with these bytes (an error selector and its arguments). */
  | { kind: 'revert'; data: string; reason: string }
  /** The call ran and reverted without data (`revert()`, `require(false)`, a call to an address without code). */
  | { kind: 'revert-without-data'; reason: string }
  /** The node does not take the state-override parameter: not the call's outcome; read without overrides. */
  | { kind: 'override-refused'; reason: string }
  | { kind: 'rate-limited'; reason: string }
  | { kind: 'timeout'; reason: string }
  | { kind: 'transport'; reason: string }
  /** The node failed the request for its own reasons (not synced to the block, pruned state, internal error, 5xx). */
  | { kind: 'node-error'; reason: string }
  /** Not a failure of the request at all (no sign of a node, a socket or ethers' RPC handling): a bug, a decoding error. */
  | { kind: 'other'; reason: string };

export type CallFailureKind = CallFailure['kind'];

/** Failures of the node, the network or a rate limit: worth asking again; never a revert, never an unreadable account. */
const NODE_TROUBLE = new Set<CallFailureKind>(['rate-limited', 'timeout', 'transport', 'node-error']);

export function isRevert(failure: CallFailure): failure is Extract<CallFailure, { kind: 'revert' | 'revert-without-data' }> {
  return failure.kind === 'revert' || failure.kind === 'revert-without-data';
}

export function isNodeTrouble(failure: CallFailure): boolean {
  return NODE_TROUBLE.has(failure.kind);
}

/**
 * A call the node (not the contract) failed, thrown by the chain adapters instead of reporting a revert.
 * `retryable` for node trouble; a refused override is not (the same node refuses it again), the caller reads
 * without overrides instead. Keeps the original error as `cause`.
 */
export class NodeCallError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly failure: CallFailure,
    what: string,
    options: { cause: unknown },
  ) {
    super(`${what}: ${failure.kind}: ${failure.reason}`, options);
    this.name = 'NodeCallError';
    this.retryable = isNodeTrouble(failure);
  }
}

/** `error` as a NodeCallError when the node failed the call (node trouble or a refused override); undefined for a revert or anything else. */
export function nodeCallErrorOf(error: unknown, what: string): NodeCallError | undefined {
  if (error instanceof NodeCallError) return error;
  const failure = classifyCallFailure(error);
  return isNodeTrouble(failure) || failure.kind === 'override-refused' ? new NodeCallError(failure, what, { cause: error }) : undefined;
}

const OVERRIDE_REFUSED =
  /too many (arguments|params)|expected between \d+ and 2 arguments|invalid argument 2|unknown field|state ?overrides?|invalid params|unsupported|not supported/i;
/** -32602 (invalid params) counts as a refusal only when the request is known to carry an override, or unknown. */
const INVALID_PARAMS = -32602;
const RATE_LIMITED = /rate limit|too many requests|exceeded .*capacity|request rate exceeded|request count exceeded|throttl/i;
const RATE_LIMIT_CODES = new Set([-32005, 429]);
const TIMED_OUT = /timeout|timed out|deadline exceeded/i;
const TRANSPORT = /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|fetch failed|network error|connection (reset|refused|closed)/i;
const TIMEOUT_SYSTEM_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);
const TRANSPORT_SYSTEM_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);
/** ethers' codes for errors of ethers' own handling of a call (anything else is not from the request). */
const ETHERS_RPC_CODES = new Set(['CALL_EXCEPTION', 'SERVER_ERROR', 'TIMEOUT', 'NETWORK_ERROR', 'BAD_DATA', 'UNKNOWN_ERROR', 'UNSUPPORTED_OPERATION', 'INSUFFICIENT_FUNDS', 'NONCE_EXPIRED']);

interface NodeError {
  code?: number;
  message: string;
  data?: unknown;
}

interface EthersLike {
  code?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  data?: unknown;
  error?: unknown;
  info?: { error?: unknown; payload?: { method?: unknown; params?: unknown }; responseStatus?: unknown; responseBody?: unknown };
  payload?: { params?: unknown };
}

function asNodeError(value: unknown): NodeError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { code?: unknown; message?: unknown; data?: unknown };
  if (typeof v.message !== 'string') return undefined;
  return { code: typeof v.code === 'number' ? v.code : undefined, message: v.message, data: v.data };
}

/**
 * The JSON-RPC error the node answered, wherever the client put it: ethers' `info.error` (eth_call) or `error`
 * (other methods, UNKNOWN_ERROR), or the error itself for plain JSON-RPC clients (a numeric code).
 */
function nodeErrorOf(e: EthersLike): NodeError | undefined {
  const wrapped = asNodeError(e.info?.error) ?? asNodeError(e.error);
  if (wrapped) return wrapped;
  return typeof e.code === 'number' ? asNodeError(e) : undefined;
}

function isHex(value: unknown): value is string {
  return typeof value === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(value);
}

function said(node: NodeError): string {
  return node.code === undefined ? node.message : `${node.message} (code ${node.code})`;
}

function textOf(e: EthersLike, error: unknown): string {
  return String(e.shortMessage ?? e.message ?? error);
}

/** Whether the request carried a third parameter, when the error says what the request was. */
function carriedOverride(e: EthersLike): boolean | undefined {
  const params = e.info?.payload?.params ?? e.payload?.params;
  return Array.isArray(params) ? params.length > 2 : undefined;
}

function revertOf(data: unknown, reason: string): CallFailure {
  return isHex(data) && data.length > 2 ? { kind: 'revert', data, reason } : { kind: 'revert-without-data', reason };
}

function classifyNodeError(node: NodeError, override: boolean | undefined): CallFailure {
  const reason = said(node);
  if (node.code === 3 || /revert/i.test(node.message)) return revertOf(node.data, reason);
  if (override !== false && (OVERRIDE_REFUSED.test(node.message) || node.code === INVALID_PARAMS)) return { kind: 'override-refused', reason };
  if ((node.code !== undefined && RATE_LIMIT_CODES.has(node.code)) || RATE_LIMITED.test(node.message)) return { kind: 'rate-limited', reason };
  if (TIMED_OUT.test(node.message)) return { kind: 'timeout', reason };
  return { kind: 'node-error', reason };
}

/** An HTTP failure as ethers' FetchRequest reports it (SERVER_ERROR): the status, and the body when it says more. */
function classifyHttpFailure(e: EthersLike, error: unknown): CallFailure {
  const status = typeof e.info?.responseStatus === 'string' ? e.info.responseStatus : '';
  const body = typeof e.info?.responseBody === 'string' ? e.info.responseBody : '';
  const reason = status ? `HTTP ${status}` : textOf(e, error);
  if (/\b429\b/.test(status) || /"code"\s*:\s*-32005\b/.test(body) || RATE_LIMITED.test(body)) return { kind: 'rate-limited', reason };
  return { kind: 'node-error', reason };
}

/** What an eth_call / eth_estimateGas failure is. Total: anything that is not recognisably from the request is `other`. */
export function classifyCallFailure(error: unknown): CallFailure {
  if (typeof error !== 'object' || error === null) return { kind: 'other', reason: String(error) };
  const e = error as EthersLike;
  const code = e.code;

  // Revert data ethers found (it takes it only from an error that says "revert"), or a contract error ethers
  // built from such data (Contract calls re-make the error from `data`).
  if (code === 'CALL_EXCEPTION' && isHex(e.data)) return revertOf(e.data, textOf(e, error));
  if (code === 'TIMEOUT') return { kind: 'timeout', reason: textOf(e, error) };
  if (code === 'NETWORK_ERROR') return { kind: 'transport', reason: textOf(e, error) };
  if (code === 'SERVER_ERROR') return classifyHttpFailure(e, error);
  if (typeof code === 'string' && TIMEOUT_SYSTEM_CODES.has(code)) return { kind: 'timeout', reason: `${textOf(e, error)} (${code})` };
  if (typeof code === 'string' && TRANSPORT_SYSTEM_CODES.has(code)) return { kind: 'transport', reason: `${textOf(e, error)} (${code})` };

  const node = nodeErrorOf(e);
  if (node) return classifyNodeError(node, carriedOverride(e));

  const text = textOf(e, error);
  // ethers' own CALL_EXCEPTION with nothing from a node (a hand-built error, or a provider that is not
  // JSON-RPC): taken as a revert, as ethers words it.
  if (code === 'CALL_EXCEPTION') return { kind: 'revert-without-data', reason: text };
  if (code === 'BAD_DATA' || code === 'UNKNOWN_ERROR') return { kind: 'node-error', reason: text };
  if (TRANSPORT.test(text)) return { kind: 'transport', reason: text };
  if (typeof code === 'string' && ETHERS_RPC_CODES.has(code)) return { kind: 'node-error', reason: text };
  return { kind: 'other', reason: text };
}
