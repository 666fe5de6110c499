/**
 * A JSON-RPC proxy that breaks things on purpose, for chaos tests: it listens on a free loopback port in front of
 * an upstream node (anvil) and, per request, forwards it untouched or injects one of five faults:
 *
 * - `error`: answers without asking upstream, alternately with a JSON-RPC error (code -32603, "injected fault";
 *   one per call of a batch, ids kept) and with HTTP 503, the two ways a hosted RPC provider fails loudly;
 * - `drop`: holds the request for `dropAfterMs`, then destroys the socket without answering (a transport
 *   failure: the client sees "socket hang up" / ECONNRESET, as after a load balancer reset or a timeout);
 * - `delay`: forwards after a delay drawn from `delayMs` (slow RPC; deadlines and receipt polling under lag);
 * - `node error` (`nodeErrorRate`): answers the way real nodes fail a request, cycling through `nodeErrors`:
 *   `header-not-found` (geth's -32000 "header not found", HTTP 200: a load-balanced node behind the block asked
 *   for), `rate-limited` (HTTP 429 with Infura's JSON-RPC body, -32005 "daily request count exceeded, request rate
 *   limited"), `reverted-without-data` (geth's -32000 "execution reverted" with no data: what a node says for a
 *   call that reverted without a reason, here for a call that did not);
 * - `garbage` (`garbageRate`): HTTP 200 with a body that is not JSON-RPC, alternately a gateway's HTML error page
 *   and a JSON answer cut short (a proxy or load balancer in the way, a connection closed mid-answer).
 * A timeout, as the client sees it, is a `drop` held longer than the client waits (`dropAfterMs`).
 *
 * And, whatever the rates, `overrides: 'refuse'` makes it a node without state-override support: every eth_call
 * or eth_estimateGas carrying a third parameter is answered with geth's error for a parameter too many (-32602
 * "too many arguments, want at most 2", go-ethereum rpc/json.go); in a batch, only those calls are, the rest
 * are forwarded. A refusal draws nothing from the PRNG.
 *
 * Each faultable request draws three numbers from a seeded PRNG (mulberry32) whatever the rates: one picks
 * error / drop / node error / garbage / none (`errorRate`, `dropRate`, `nodeErrorRate`, then `garbageRate`), one decides the delay
 * (`delayRate`, for forwarded requests), one sizes it. The n-th faultable request therefore gets the same fate for the same seed and rates, so a
 * sequential client sees the same failures on every run. A batch (a JSON array) is one request: one decision for the whole batch.
 *
 * Only calls to `methods` are faultable (default: every method but eth_chainId, which clients ask once at
 * start-up and cache); a batch is faultable if any of its calls is. A body that is not JSON-RPC is forwarded.
 * Statistics count calls (a batch of n counts n), and a faulted batch counts n faults; node errors and refused
 * overrides count as `errors`, and so does garbage.
 *
 * It answers on any path: `path` (e.g. `/v2/<key>`, as a hosted provider's URL carries its API key) only makes
 * `url` name one, so a test can check that the URL a client was given never shows up in what it reports.
 */
import { Agent as HttpAgent, createServer, type IncomingMessage, request as httpRequest, type RequestOptions, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface RpcFaults {
  /** Share of faultable requests answered with an error (0–1). */
  errorRate: number;
  /** Share of faultable requests whose socket is destroyed without an answer (0–1; errorRate + dropRate ≤ 1). */
  dropRate: number;
  /** Share of forwarded faultable requests that are delayed (0–1). */
  delayRate: number;
  /** Delay range, ms (uniform, inclusive). */
  delayMs: { min: number; max: number };
  /** How long a dropped request is held before its socket is destroyed, ms. */
  dropAfterMs: number;
  /** Share of faultable requests answered with a node's error, one of `nodeErrors` in turn (0–1; with the two above ≤ 1). */
  nodeErrorRate: number;
  /** The node errors answered, in turn (default: all three). */
  nodeErrors: NodeErrorAnswer[];
  /** Share of faultable requests answered with HTTP 200 and a body that is not JSON-RPC (0–1; with the three above ≤ 1). */
  garbageRate: number;
  /** `refuse`: answer eth_call / eth_estimateGas with a state override as a node without override support does. */
  overrides: 'forward' | 'refuse';
  /** Only calls to these methods are faulted; undefined: every method but eth_chainId. */
  methods?: string[];
}

/** How a real node fails a request (see the file comment). */
export type NodeErrorAnswer = 'header-not-found' | 'rate-limited' | 'reverted-without-data';

const NODE_ERROR_ANSWERS: Record<NodeErrorAnswer, { status: number; error: { code: number; message: string } }> = {
  'header-not-found': { status: 200, error: { code: -32000, message: 'header not found' } },
  'rate-limited': { status: 429, error: { code: -32005, message: 'daily request count exceeded, request rate limited' } },
  'reverted-without-data': { status: 200, error: { code: -32000, message: 'execution reverted' } },
};

/** geth's answer to a parameter too many (go-ethereum rpc/json.go parsePositionalArguments). */
const OVERRIDE_REFUSED = { code: -32602, message: 'too many arguments, want at most 2' };
const TAKES_OVERRIDES = new Set(['eth_call', 'eth_estimateGas']);

export interface MethodStats {
  calls: number;
  errors: number;
  drops: number;
  delayed: number;
}

export interface RpcFaultStats extends MethodStats {
  /** HTTP requests (a batch is one). */
  requests: number;
  byMethod: Record<string, MethodStats>;
}

export interface RpcFaultProxy {
  /** `http://127.0.0.1:<port>` and the `path` if one was given: give this to the client instead of the upstream URL. */
  url: string;
  port: number;
  stats(): RpcFaultStats;
  /** Changes the faults from the next request on (requests in progress keep theirs). */
  setFaults(faults: Partial<RpcFaults>): void;
  /** Stops listening, destroys held and open connections; the port is free when it resolves. */
  close(): Promise<void>;
}

export interface RpcFaultProxyOptions {
  upstream: string;
  seed: number;
  faults?: Partial<RpcFaults>;
  /** A path for `url` (`/v2/<key>`); requests to any path are answered alike. */
  path?: string;
}

const NO_FAULTS: RpcFaults = {
  errorRate: 0,
  dropRate: 0,
  delayRate: 0,
  delayMs: { min: 0, max: 0 },
  dropAfterMs: 100,
  nodeErrorRate: 0,
  nodeErrors: ['header-not-found', 'rate-limited', 'reverted-without-data'],
  garbageRate: 0,
  overrides: 'forward',
};
const NEVER_FAULTED_BY_DEFAULT = new Set(['eth_chainId']);
const INJECTED_ERROR = { code: -32603, message: 'injected fault' };
const GARBAGE_ANSWERS = ['<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>', '{"jsonrpc":"2.0","id":1,"resu'];

/** mulberry32: a 32-bit seeded PRNG, uniform on [0, 1). Small and good enough for test schedules. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function validated(faults: RpcFaults): RpcFaults {
  const rate = (name: string, value: number) => {
    if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${value}`);
  };
  rate('errorRate', faults.errorRate);
  rate('dropRate', faults.dropRate);
  rate('delayRate', faults.delayRate);
  rate('nodeErrorRate', faults.nodeErrorRate);
  rate('garbageRate', faults.garbageRate);
  if (faults.errorRate + faults.dropRate > 1) throw new RangeError(`errorRate + dropRate must be ≤ 1, got ${faults.errorRate + faults.dropRate}`);
  const failing = faults.errorRate + faults.dropRate + faults.nodeErrorRate;
  if (failing > 1) throw new RangeError(`errorRate + dropRate + nodeErrorRate must be ≤ 1, got ${failing}`);
  if (failing + faults.garbageRate > 1) throw new RangeError(`errorRate + dropRate + nodeErrorRate + garbageRate must be ≤ 1, got ${failing + faults.garbageRate}`);
  if (faults.nodeErrorRate > 0 && faults.nodeErrors.length === 0) throw new RangeError('nodeErrors must name at least one answer when nodeErrorRate > 0');
  for (const answer of faults.nodeErrors) if (!(answer in NODE_ERROR_ANSWERS)) throw new RangeError(`unknown node error answer ${String(answer)}`);
  if (faults.overrides !== 'forward' && faults.overrides !== 'refuse') throw new RangeError(`overrides must be 'forward' or 'refuse', got ${String(faults.overrides)}`);
  const { min, max } = faults.delayMs;
  if (!(min >= 0 && max >= min)) throw new RangeError(`delayMs must satisfy 0 ≤ min ≤ max, got ${min}..${max}`);
  if (!(faults.dropAfterMs >= 0)) throw new RangeError(`dropAfterMs must be ≥ 0, got ${faults.dropAfterMs}`);
  return faults;
}

interface RpcCall {
  method: string;
  id: unknown;
  /** The call as sent (forwarded as it is). */
  raw: unknown;
  /** Number of positional parameters. */
  paramCount: number;
}

/** The calls of a JSON-RPC body (one, or a batch), or undefined if it is not JSON-RPC. */
function callsOf(body: string): { calls: RpcCall[]; batch: boolean } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const batch = Array.isArray(parsed);
  const entries = batch ? (parsed as unknown[]) : [parsed];
  if (entries.length === 0) return undefined;
  const calls: RpcCall[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || typeof (entry as { method?: unknown }).method !== 'string') return undefined;
    const params = (entry as { params?: unknown }).params;
    calls.push({ method: (entry as { method: string }).method, id: (entry as { id?: unknown }).id ?? null, raw: entry, paramCount: Array.isArray(params) ? params.length : 0 });
  }
  return { calls, batch };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

type Fate = { kind: 'forward'; delayMs: number } | { kind: 'error' } | { kind: 'drop' } | { kind: 'node-error' } | { kind: 'garbage' };

export async function startRpcFaultProxy(options: RpcFaultProxyOptions): Promise<RpcFaultProxy> {
  const upstream = new URL(options.upstream);
  const secure = upstream.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  // Its own connection pool, so close() can end the upstream connections it opened and nothing else.
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const random = mulberry32(options.seed);
  let faults = validated({ ...NO_FAULTS, ...options.faults });
  let errorsAnswered = 0;
  let nodeErrorsAnswered = 0;
  let garbageAnswered = 0;
  const stats: RpcFaultStats = { requests: 0, calls: 0, errors: 0, drops: 0, delayed: 0, byMethod: {} };
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  const count = (calls: readonly RpcCall[], field: keyof MethodStats) => {
    for (const { method } of calls) {
      stats[field] += 1;
      stats.byMethod[method] ??= { calls: 0, errors: 0, drops: 0, delayed: 0 };
      stats.byMethod[method][field] += 1;
    }
  };

  const faultable = (calls: readonly RpcCall[]) =>
    calls.some(({ method }) => (faults.methods ? faults.methods.includes(method) : !NEVER_FAULTED_BY_DEFAULT.has(method)));

  const decide = (): Fate => {
    const [pick, delayPick, delaySize] = [random(), random(), random()];
    if (pick < faults.errorRate) return { kind: 'error' };
    if (pick < faults.errorRate + faults.dropRate) return { kind: 'drop' };
    if (pick < faults.errorRate + faults.dropRate + faults.nodeErrorRate) return { kind: 'node-error' };
    if (pick < faults.errorRate + faults.dropRate + faults.nodeErrorRate + faults.garbageRate) return { kind: 'garbage' };
    if (delayPick >= faults.delayRate) return { kind: 'forward', delayMs: 0 };
    const { min, max } = faults.delayMs;
    return { kind: 'forward', delayMs: min + Math.floor(delaySize * (max - min + 1)) };
  };

  const after = (ms: number, action: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const target: RequestOptions = {
      method: req.method,
      agent,
      hostname: upstream.hostname,
      port: upstream.port,
      path: `${upstream.pathname}${upstream.search}`,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json', 'content-length': body.length },
    };
    const upstreamRequest = send(target, (upstreamResponse) => {
      res.writeHead(upstreamResponse.statusCode ?? 502, { 'content-type': upstreamResponse.headers['content-type'] ?? 'application/json' });
      upstreamResponse.pipe(res);
    });
    upstreamRequest.once('error', (err) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream ${upstream.origin} failed: ${err.message}`);
    });
    upstreamRequest.end(body);
  };

  const answerError = (res: ServerResponse, parsed: { calls: RpcCall[]; batch: boolean }) => {
    errorsAnswered += 1;
    if (errorsAnswered % 2 === 0) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('injected fault: service unavailable');
      return;
    }
    const answers = parsed.calls.map(({ id }) => ({ jsonrpc: '2.0', id, error: INJECTED_ERROR }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(parsed.batch ? answers : answers[0]));
  };

  /** Sends `body` upstream and resolves with the whole answer (for a batch the proxy answers in part). */
  const exchange = (body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(body, 'utf8');
      const target: RequestOptions = {
        method: 'POST',
        agent,
        hostname: upstream.hostname,
        port: upstream.port,
        path: `${upstream.pathname}${upstream.search}`,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      };
      const upstreamRequest = send(target, (upstreamResponse) => {
        const chunks: Buffer[] = [];
        upstreamResponse.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstreamResponse.once('end', () => resolve({ status: upstreamResponse.statusCode ?? 502, text: Buffer.concat(chunks).toString('utf8') }));
        upstreamResponse.once('error', reject);
      });
      upstreamRequest.once('error', reject);
      upstreamRequest.end(payload);
    });

  const refusesOverride = (call: RpcCall) => faults.overrides === 'refuse' && TAKES_OVERRIDES.has(call.method) && call.paramCount > 2;

  /** A node without override support: refuses the calls carrying one, forwards the others of a batch. */
  const answerRefusingOverrides = async (res: ServerResponse, parsed: { calls: RpcCall[]; batch: boolean }) => {
    const refused = parsed.calls.filter(refusesOverride);
    count(refused, 'errors');
    const refusal = (call: RpcCall) => ({ jsonrpc: '2.0', id: call.id, error: OVERRIDE_REFUSED });
    if (!parsed.batch) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(refusal(parsed.calls[0])));
      return;
    }
    const rest = parsed.calls.filter((call) => !refusesOverride(call));
    const answered = new Map<string, unknown>();
    if (rest.length > 0) {
      const upstreamAnswer = await exchange(JSON.stringify(rest.map((call) => call.raw)));
      const answers = upstreamAnswer.status === 200 ? (JSON.parse(upstreamAnswer.text) as { id?: unknown }[]) : undefined;
      if (!Array.isArray(answers)) {
        res.writeHead(upstreamAnswer.status === 200 ? 502 : upstreamAnswer.status, { 'content-type': 'text/plain' }).end(upstreamAnswer.text);
        return;
      }
      for (const answer of answers) answered.set(JSON.stringify(answer.id ?? null), answer);
    }
    const merged = parsed.calls.map((call) => (refusesOverride(call) ? refusal(call) : answered.get(JSON.stringify(call.id))));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(merged));
  };

  const answerNodeError = (res: ServerResponse, parsed: { calls: RpcCall[]; batch: boolean }) => {
    const { status, error } = NODE_ERROR_ANSWERS[faults.nodeErrors[nodeErrorsAnswered % faults.nodeErrors.length]];
    nodeErrorsAnswered += 1;
    const answers = parsed.calls.map(({ id }) => ({ jsonrpc: '2.0', id, error }));
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(parsed.batch ? answers : answers[0]));
  };

  const answerGarbage = (res: ServerResponse) => {
    const body = GARBAGE_ANSWERS[garbageAnswered % GARBAGE_ANSWERS.length];
    garbageAnswered += 1;
    res.writeHead(200, { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' }).end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    stats.requests += 1;
    const parsed = callsOf(body.toString('utf8'));
    if (!parsed) return forward(req, res, body);
    count(parsed.calls, 'calls');
    if (parsed.calls.some(refusesOverride)) return answerRefusingOverrides(res, parsed);
    if (!faultable(parsed.calls)) return forward(req, res, body);
    const fate = decide();
    switch (fate.kind) {
      case 'error':
        count(parsed.calls, 'errors');
        return answerError(res, parsed);
      case 'node-error':
        count(parsed.calls, 'errors');
        return answerNodeError(res, parsed);
      case 'garbage':
        count(parsed.calls, 'errors');
        return answerGarbage(res);
      case 'drop':
        count(parsed.calls, 'drops');
        return after(faults.dropAfterMs, () => req.socket.destroy());
      case 'forward':
        if (fate.delayMs === 0) return forward(req, res, body);
        count(parsed.calls, 'delayed');
        return after(fate.delayMs, () => forward(req, res, body));
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`rpc fault proxy: ${(err as Error).message}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${options.path ?? ''}`,
    port,
    stats: () => structuredClone(stats),
    setFaults: (partial) => {
      faults = validated({ ...faults, ...partial, delayMs: { ...faults.delayMs, ...partial.delayMs }, nodeErrors: [...(partial.nodeErrors ?? faults.nodeErrors)] });
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}
