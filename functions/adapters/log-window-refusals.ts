/**
 * An event source whose eth_getLogs refusals are classified once, here, at the adapter edge: a window the provider
 * refuses as too large or by its rate limit becomes a read the indexer acts on (it halves the window), instead of a
 * node error it could only retry at the same size.
 *
 * chain/aave-v3-event-source.ts already answers `range-too-large` for the wordings of its RANGE_TOO_LARGE pattern;
 * what it throws (EventSourceError, the node's error as `cause`) is looked at again for:
 * - range wordings it does not know: "block range too large", "exceeds the range" (e.g. "requested range exceeds
 *   the range limit"), "query returned more than 10000 results" and "Log response size exceeded" behind another
 *   code or an HTTP body;
 * - HTTP 413 Payload Too Large: a proxy or gateway refusing the response's size;
 * - the rate-limit class of chain/call-failure.ts classifyCallFailure (EIP-1474 -32005 "limit exceeded", HTTP 429,
 *   "rate limit", "exceeded … capacity"). Infura answers an oversized eth_getLogs with -32005 too, so a smaller
 *   window is also the right answer there; the indexer pauses before it asks again.
 * Anything else is thrown as it was: a node or transport error the indexer retries at the same window.
 */
import type { AccountEventRead, AccountEventSource } from '../pipeline/index-borrowers';
import { classifyCallFailure } from './chain/call-failure';

/** "Ask for fewer blocks", in wordings beyond the event source's own pattern (the file comment lists them). */
const RANGE_REFUSED =
  /block range (is )?too (large|wide|big)|exceeds? the (block )?range|range exceeds|returned more than \d+ results|log response size exceeded|response (is )?too large|payload too large/i;

/** Whether an HTTP status of ethers' SERVER_ERROR says the payload was too large. */
const PAYLOAD_TOO_LARGE = /^413\b/;

export type LogReadRefusal = { kind: 'range-too-large'; reason: string } | { kind: 'rate-limited'; reason: string };

interface ErrorLike {
  message?: unknown;
  cause?: unknown;
  code?: unknown;
  error?: { message?: unknown; code?: unknown };
  info?: { responseStatus?: unknown; responseBody?: unknown; error?: { message?: unknown; code?: unknown } };
}

/**
 * What the node said, without the request: the node's own JSON-RPC message and code, the HTTP status and body. Never
 * ethers' full message, which carries the request URL (a hosted provider's API key).
 */
function nodeWordsOf(error: ErrorLike): string[] {
  const words: string[] = [];
  for (const nested of [error.error, error.info?.error]) {
    if (typeof nested?.message === 'string') words.push(nested.code === undefined ? nested.message : `${nested.message} (code ${String(nested.code)})`);
  }
  if (typeof error.info?.responseStatus === 'string') words.push(`HTTP ${error.info.responseStatus}`);
  if (typeof error.info?.responseBody === 'string') words.push(error.info.responseBody);
  // A plain JSON-RPC error object (a numeric code and a message).
  if (typeof error.code === 'number' && typeof error.message === 'string') words.push(`${error.message} (code ${error.code})`);
  return words;
}

/** A refusal the indexer can act on, found anywhere in the `cause` chain; undefined for any other failure. */
export function classifyLogReadRefusal(error: unknown): LogReadRefusal | undefined {
  for (let current: unknown = error, depth = 0; typeof current === 'object' && current !== null && depth < 8; current = (current as ErrorLike).cause, depth++) {
    const e = current as ErrorLike;
    const words = nodeWordsOf(e);
    const status = typeof e.info?.responseStatus === 'string' ? e.info.responseStatus : '';
    const said = words.join(' | ');
    if (PAYLOAD_TOO_LARGE.test(status) || RANGE_REFUSED.test(said)) return { kind: 'range-too-large', reason: said };
    const failure = classifyCallFailure(current);
    if (failure.kind === 'rate-limited') return { kind: 'rate-limited', reason: said || failure.reason };
  }
  return undefined;
}

export class RefusalClassifyingEventSource implements AccountEventSource {
  constructor(private readonly source: AccountEventSource) {}

  headBlock(): Promise<number> {
    return this.source.headBlock();
  }

  blockHash(block: number): Promise<string> {
    return this.source.blockHash(block);
  }

  async readEvents(fromBlock: number, toBlock: number): Promise<AccountEventRead> {
    try {
      return await this.source.readEvents(fromBlock, toBlock);
    } catch (err) {
      const refusal = classifyLogReadRefusal(err);
      if (refusal) return refusal;
      throw err;
    }
  }
}
