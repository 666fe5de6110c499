/**
 * redact-url.ts: the redacted form of an endpoint URL, and its redaction from text and from ethers' errors in
 * every position ethers v6 puts the request URL (FetchResponse.assertOk's SERVER_ERROR: message, shortMessage,
 * stack, info.requestUrl, request, response; FetchRequest's TIMEOUT: request), nested (`error`, `cause`, arrays)
 * and echoed by a node in a JSON-RPC error. The errors are ethers' own, made by a FetchRequest against a local
 * HTTP server, not built by hand.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runInNewContext } from 'node:vm';
import { FetchRequest, makeError } from 'ethers';
import { MIN_SECRET_PART_LENGTH, REDACTED, redactedUrl, UrlRedactor } from '../../../functions/adapters/chain/redact-url';
import { leaksOf } from './redact-leaks';

const MARKER = 'MARKER-KEY-7f3a9c';

const leaks = (value: unknown) => leaksOf(value, MARKER);

describe('redactedUrl', () => {
  it.each([
    ['a key in the path', `https://eth-mainnet.example.com/v2/${MARKER}`, `https://eth-mainnet.example.com/${REDACTED}`],
    ['a key in the query', `https://rpc.example.com/?apikey=${MARKER}`, `https://rpc.example.com/${REDACTED}`],
    ['a key as the password', `https://user:${MARKER}@rpc.example.com`, `https://rpc.example.com/${REDACTED}`],
    ['a key in the fragment', `https://rpc.example.com/#${MARKER}`, `https://rpc.example.com/${REDACTED}`],
    ['a port kept', `http://127.0.0.1:8545/v2/${MARKER}`, `http://127.0.0.1:8545/${REDACTED}`],
    ['nothing but scheme and host: as given', 'http://127.0.0.1:8545', 'http://127.0.0.1:8545'],
    ['a bare trailing slash: as given', 'https://rpc.example.com/', 'https://rpc.example.com/'],
    ['not a URL', `not a url ${MARKER}`, REDACTED],
  ])('%s', (_name, url, expected) => {
    expect(redactedUrl(url)).toBe(expected);
  });
});

describe('UrlRedactor.redactText', () => {
  const url = `https://user:pa55w0rd-secret@eth-mainnet.example.com/v2/${MARKER}?tier=archive-nodes`;
  const redactor = new UrlRedactor(url);

  it.each([
    ['replaces the URL as given', `to ${url}: fetch failed`, `to https://eth-mainnet.example.com/${REDACTED}: fetch failed`],
    ['replaces the URL as the WHATWG parser writes it', `"requestUrl":"${new URL(url).href}"`, `"requestUrl":"https://eth-mainnet.example.com/${REDACTED}"`],
    ['replaces the path and query alone (a request line)', `POST /v2/${MARKER}?tier=archive-nodes HTTP/1.1`, `POST /${REDACTED} HTTP/1.1`],
    ['replaces the key alone', `invalid API key ${MARKER}`, `invalid API key ${REDACTED}`],
    ['replaces the key percent-encoded', `key=${encodeURIComponent(`${MARKER}/`)}`, `key=${REDACTED}%2F`],
    ['replaces the password', 'auth pa55w0rd-secret refused', `auth ${REDACTED} refused`],
    ['replaces a query value', 'tier archive-nodes unknown', `tier ${REDACTED} unknown`],
    ['leaves short path segments', 'v2 is the API version', 'v2 is the API version'],
  ])('%s', (_name, text, expected) => {
    expect(redactor.redactText(text)).toBe(expected);
  });

  it(`leaves parts shorter than ${MIN_SECRET_PART_LENGTH} characters unless they are in the URL or its path`, () => {
    const short = new UrlRedactor('https://rpc.example.com/rpc/abc123');
    expect(short.redactText('abc123 at https://rpc.example.com/rpc/abc123 and /rpc/abc123')).toBe(`abc123 at https://rpc.example.com/${REDACTED} and /${REDACTED}`);
  });

  it('does nothing for a URL with nothing to hide', () => {
    const local = new UrlRedactor('http://127.0.0.1:8545');
    const error = new Error('connect ECONNREFUSED http://127.0.0.1:8545');
    expect(local.redactText('at http://127.0.0.1:8545')).toBe('at http://127.0.0.1:8545');
    expect(local.redact(error)).toBe(error);
  });
});

describe('UrlRedactor.redact on ethers errors', () => {
  let server: Server;
  let base: string;
  let answer: { status: number; body: string; hangMs?: number };
  let paths: string[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        const reply = () => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
        if (answer.hangMs) setTimeout(reply, answer.hangMs);
        else reply();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    paths = [];
    answer = { status: 200, body: '{}' };
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** What ethers throws for a request to `url` (no retries). */
  async function ethersError(url: string, timeoutMs = 5_000): Promise<unknown> {
    const request = new FetchRequest(url);
    request.body = new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}');
    request.setThrottleParams({ maxAttempts: 1 });
    request.timeout = timeoutMs;
    try {
      const response = await request.send();
      response.assertOk();
    } catch (error) {
      return error;
    }
    throw new Error('the request succeeded');
  }

  it('a SERVER_ERROR (HTTP 500): message, shortMessage, stack, info.requestUrl, request and response all redacted; code and status kept', async () => {
    // Arrange
    const url = `${base}/v2/${MARKER}`;
    answer = { status: 500, body: `{"error":"internal error for key ${MARKER}"}` };
    const error = (await ethersError(url)) as Error & { code: string; shortMessage: string; info: { requestUrl: string; responseStatus: string; responseBody: string } };
    expect(leaks(error).length).toBeGreaterThanOrEqual(5); // the marker is really there: message, stack, requestUrl, request, response, body
    expect(error.info.requestUrl).toBe(url);

    // Act
    const redacted = new UrlRedactor(url).redact(error);

    // Assert
    expect(leaks(redacted)).toEqual([]);
    expect(redacted).not.toBe(error);
    expect(redacted).toBeInstanceOf(Error);
    expect(redacted.code).toBe('SERVER_ERROR');
    expect(redacted.shortMessage).toBe('server response 500 Internal Server Error');
    expect(redacted.info.requestUrl).toBe(`${base}/${REDACTED}`);
    expect(redacted.info.responseStatus).toBe('500 Internal Server Error');
    expect(redacted.info.responseBody).toBe(`{"error":"internal error for key ${REDACTED}"}`);
    expect(redacted.message).toContain(`"requestUrl": "${base}/${REDACTED}"`);
    expect(redacted.stack).toContain(`${base}/${REDACTED}`);
    expect(String(redacted)).not.toContain(MARKER);
    expect(JSON.stringify(redacted)).not.toContain(MARKER);
  });

  it('a TIMEOUT (ethers’ Node transport) names no URL: returned as it is', async () => {
    // Arrange
    const url = `${base}/v2/${MARKER}`;
    answer = { status: 200, body: '{}', hangMs: 500 };
    const error = (await ethersError(url, 50)) as Error & { code: string };

    // Act
    const redacted = new UrlRedactor(url).redact(error);

    // Assert
    expect(error.code).toBe('TIMEOUT');
    expect(leaks(error)).toEqual([]);
    expect(redacted).toBe(error);
  });

  it('a TIMEOUT of the whole exchange (FetchRequest past its deadline between attempts): the request it names redacted', async () => {
    // Arrange: a 429 makes FetchRequest try again after Retry-After, past the deadline.
    const url = `${base}/v2/${MARKER}`;
    answer = { status: 429, body: '{}' };
    const request = new FetchRequest(url);
    request.timeout = 100;
    request.retryFunc = async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return true;
    };
    const error = (await request.send().then(
      () => undefined,
      (err: unknown) => err,
    )) as Error & { code: string };
    expect(error.code).toBe('TIMEOUT');
    expect(leaks(error).length).toBeGreaterThan(0);

    // Act
    const redacted = new UrlRedactor(url).redact(error);

    // Assert
    expect(leaks(redacted)).toEqual([]);
    expect(redacted.code).toBe('TIMEOUT');
  });

  it('nested: in error.error, cause, arrays and plain objects, in the query and the userinfo', async () => {
    // Arrange
    const url = `http://user:${MARKER}@127.0.0.1:${(server.address() as AddressInfo).port}/rpc?key=${MARKER}`;
    answer = { status: 503, body: 'unavailable' };
    const inner = await ethersError(`${base}/rpc?key=${MARKER}`);
    const wrapped = makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: inner, payload: { method: 'eth_call', params: [url] } });
    const outer = new Error(`worker failed at ${url}`, { cause: wrapped });
    const list = { failures: [outer, { reason: `node ${url} down` }] };

    // Act
    const redacted = new UrlRedactor(url).redact(list);

    // Assert
    expect(leaks(list).length).toBeGreaterThan(0);
    expect(leaks(redacted)).toEqual([]);
    expect(redacted.failures[0]).toBeInstanceOf(Error);
    expect(((redacted.failures[0] as Error).cause as { code: string }).code).toBe('UNKNOWN_ERROR');
    expect((redacted.failures[1] as { reason: string }).reason).toBe(`node http://127.0.0.1:${(server.address() as AddressInfo).port}/${REDACTED} down`);
  });

  it('a class instance an error carries (Node’s response in ethers’ "bad response data") becomes a placeholder', () => {
    // Arrange
    class IncomingMessageLike {
      readonly path = `/v2/${MARKER}`;
    }
    const error = makeError('bad response data', 'UNKNOWN_ERROR', { error: undefined, info: { response: new IncomingMessageLike() } });

    // Act
    const redacted = new UrlRedactor(`${base}/v2/${MARKER}`).redact(error);

    // Assert
    expect(leaks(redacted)).toEqual([]);
    expect((redacted as unknown as { info: { response: unknown } }).info.response).toBe('[IncomingMessageLike]');
  });

  it('an error of another realm (Node’s own, seen from a vm context such as Jest’s) is copied as an error, not replaced', () => {
    // Arrange
    const foreign = runInNewContext(`Object.assign(new Error('socket hang up at /v2/${MARKER}'), { code: 'ECONNRESET', detail: { path: '/v2/${MARKER}' } })`) as Error & { code: string };
    expect(foreign instanceof Error).toBe(false);

    // Act
    const redacted = new UrlRedactor(`${base}/v2/${MARKER}`).redact(foreign);

    // Assert
    expect(leaks(redacted)).toEqual([]);
    expect(redacted.message).toBe(`socket hang up at /${REDACTED}`);
    expect(redacted.code).toBe('ECONNRESET');
    expect((redacted as unknown as { detail: { path: string } }).detail.path).toBe(`/${REDACTED}`);
  });

  it('cycles: no copy leads back to an original', () => {
    // Arrange: the error names the URL; its detail points back at it.
    const url = `${base}/v2/${MARKER}`;
    const error = new Error(`request to ${url} failed`) as Error & { detail?: { error?: unknown; self?: unknown } };
    error.detail = { error };
    error.detail.self = error.detail;

    // Act
    const redacted = new UrlRedactor(url).redact(error);

    // Assert
    expect(leaks(redacted)).toEqual([]);
    expect(redacted.detail!.error).toBe(redacted);
    expect(redacted.detail!.self).toBe(redacted.detail);
  });

  it('an error with nothing to redact is returned as it is', async () => {
    const url = `${base}/v2/${MARKER}`;
    const error = makeError('header not found', 'UNKNOWN_ERROR', { error: { code: -32000, message: 'header not found' } });
    expect(new UrlRedactor(url).redact(error)).toBe(error);
  });
});
