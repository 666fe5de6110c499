import { FetchRequest, type FetchResponse, type JsonRpcApiProviderOptions, makeError, type JsonRpcPayload, JsonRpcProvider, type JsonRpcResult, Network, type TransactionReceipt } from 'ethers';
import { UrlRedactor } from './redact-url';

/**
 * A JSON-RPC provider tuned for a keeper:
 * - `staticNetwork`: the chain id is given, so ethers never re-asks `eth_chainId` before calls;
 * - `batchMaxCount: 1`: ethers' default request batching waits `batchStallTime` (10 ms) before every call,
 *   which serialises a scan; callers that want batching do it explicitly (lens contract / Promise.all);
 * - `cacheTimeout: -1`: by default ethers answers an identical request from a 250 ms cache, so a nonce or a
 *   balance read at `latest` right after a receipt can be stale ("nonce too low").
 *
 * The URL is a secret (a hosted provider's carries its API key) and stays inside this file: ethers is given its
 * redacted form (redact-url.ts) and only the transport below sends to the real one, so no error, `request` or
 * `requestUrl` ethers builds can hold it; what the transport and the node say is redacted on its way out.
 */
export function createJsonRpcProvider(url: string, chainId: bigint | number, options: { timeoutMs?: number } = {}): JsonRpcProvider {
  const network = Network.from(BigInt(chainId));
  const redactor = new UrlRedactor(url);
  return new NativeJsonRpcProvider(rpcRequest(url, redactor, options.timeoutMs ?? DEFAULT_TIMEOUT_MS), redactor, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    pollingInterval: 250,
    cacheTimeout: -1,
  });
}

/** Per request, retries included (FetchRequest's timeout covers every attempt). */
const DEFAULT_TIMEOUT_MS = 15_000;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JsonRpcProvider with the request and response bodies converted to and from UTF-8 by the runtime (TextEncoder,
 * TextDecoder) instead of ethers' JavaScript codec (toUtf8Bytes / toUtf8String): a health scan's lens call moves
 * hundreds of kilobytes each way, and on a 10,000-account market ethers' codec took over half of a scanner's CPU
 * time. Everything else (FetchRequest with its throttling and retries, error handling) is ethers' own.
 *
 * `_send` is the one way out of the transport (the state-override provider sends through it too), so it is where
 * the URL is redacted: from what it throws (HTTP failures, sockets, a body that is not JSON) and from the error
 * members of the node's answers (a provider that names its key in "invalid API key …").
 */
class NativeJsonRpcProvider extends JsonRpcProvider {
  constructor(
    request: FetchRequest,
    private readonly redactor: UrlRedactor,
    network: Network,
    options: JsonRpcApiProviderOptions,
  ) {
    super(request, network, options);
  }

  // ethers declares JsonRpcResult[] and hands error members on to its own error handling, as this does.
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    let results: JsonRpcResult[];
    try {
      const request = this._getConnection();
      request.body = utf8Encoder.encode(JSON.stringify(payload));
      request.setHeader('content-type', 'application/json');
      const response = await request.send();
      response.assertOk();
      results = jsonRpcResultsOf(response);
    } catch (error) {
      throw this.redactor.redact(error);
    }
    return results.map((result) => ('error' in result ? this.redactor.redact(result) : result));
  }
}

/**
 * The JSON-RPC answers in a 2xx body. A body that is not JSON-RPC (a gateway's HTML page, an answer cut short,
 * bytes that are not UTF-8) is the endpoint's trouble, not the request's: ethers' BAD_DATA, which the chain
 * adapters and the worker read as a node error (retryable), where a bare SyntaxError would read as a bug.
 */
function jsonRpcResultsOf(response: FetchResponse): JsonRpcResult[] {
  let text = '';
  let parsed: unknown;
  try {
    text = textOf(response);
    parsed = JSON.parse(text);
  } catch (error) {
    throw makeError('the RPC endpoint answered with a body that is not JSON', 'BAD_DATA', { value: text.slice(0, 200), info: { responseStatus: `${response.statusCode} ${response.statusMessage}`, error } });
  }
  const answers = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
  if (!answers.every((answer) => typeof answer === 'object' && answer !== null)) {
    throw makeError('the RPC endpoint answered with JSON that is not JSON-RPC', 'BAD_DATA', { value: text.slice(0, 200), info: { responseStatus: `${response.statusCode} ${response.statusMessage}` } });
  }
  return answers as JsonRpcResult[];
}

function textOf(response: FetchResponse): string {
  const body = response.body;
  return body === null ? '' : utf8Decoder.decode(body);
}

/** JSON-RPC errors a node returns for its own trouble, not the request's: worth asking again. */
const TRANSIENT_RPC_ERROR_CODES = new Set([
  -32603, // internal error
  -32005, // limit exceeded (EIP-1474): rate limited
]);

/**
 * The HTTP request behind the provider, with ethers' own retry (FetchRequest throttling: up to `maxAttempts`,
 * exponential back-off from `slotInterval`) extended from HTTP 429 to the node's transient failures: HTTP 5xx
 * and the JSON-RPC errors above. Every JSON-RPC call the pipeline makes is safe to repeat (reads, and
 * eth_sendRawTransaction of the same bytes). A transport failure (reset, timeout) is not retried here: it
 * surfaces as a retryable error to the use case, whose SQS redelivery (or next block) asks again.
 */
function rpcRequest(url: string, redactor: UrlRedactor, timeoutMs: number): FetchRequest {
  const request = new FetchRequest(redactor.redacted);
  // Each attempt goes to the real URL; ethers' own request (the one its errors name) keeps the redacted one.
  const getUrl = request.getUrlFunc;
  request.getUrlFunc = async (attempt, signal) => {
    const toEndpoint = attempt.clone();
    toEndpoint.url = url;
    try {
      return await getUrl(toEndpoint, signal);
    } catch (error) {
      throw redactor.redact(error);
    }
  };
  request.timeout = timeoutMs;
  request.setThrottleParams({ maxAttempts: 4, slotInterval: 100 });
  request.processFunc = async (_request, response) => {
    if (response.statusCode >= 500) response.throwThrottleError(`HTTP ${response.statusCode}`);
    const text = response.hasBody() ? textOf(response) : '';
    // Parsed here only when it may hold an error: the provider parses every body again anyway.
    const body = text.includes('"error"') ? (parseJson(text) as { error?: { code?: unknown } } | undefined) : undefined;
    const code = body?.error?.code;
    if (typeof code === 'number' && TRANSIENT_RPC_ERROR_CODES.has(code)) response.throwThrottleError(`JSON-RPC error ${code}`);
    return response;
  };
  return request;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class ReceiptTimeoutError extends Error {
  constructor(
    readonly txHash: string,
    readonly waitedMs: number,
  ) {
    super(`no receipt for ${txHash} after ${waitedMs} ms`);
    this.name = 'ReceiptTimeoutError';
  }
}

/**
 * Polls `eth_getTransactionReceipt` until the transaction is mined or the deadline passes. ethers'
 * `tx.wait()` can miss an automined anvil block and hang, so receipts are always polled explicitly.
 */
export async function pollReceipt(
  provider: JsonRpcProvider,
  txHash: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<TransactionReceipt> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 50;
  const started = Date.now();
  for (;;) {
    const receipt = await provider.getTransactionReceipt(txHash);
    if (receipt) return receipt;
    if (Date.now() - started > timeoutMs) throw new ReceiptTimeoutError(txHash, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The node's current block number. ethers' `getBlockNumber()` may answer from a cache up to a polling
 * interval old, which is enough to pin a read to the block before a price update.
 */
export async function latestBlockNumber(provider: JsonRpcProvider): Promise<number> {
  return Number(await provider.send('eth_blockNumber', []));
}
