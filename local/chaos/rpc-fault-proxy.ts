/**
 * A JSON-RPC proxy that breaks things on purpose, for chaos tests: it listens on a free loopback port in front of
 * an upstream node (anvil) and, per request, forwards it untouched or injects one of three faults:
 *
 * - `error`: answers without asking upstream, alternately with a JSON-RPC error (code -32603, "injected fault";
 *   one per call of a batch, ids kept) and with HTTP 503, the two ways a hosted RPC provider fails loudly;
 * - `drop`: holds the request for `dropAfterMs`, then destroys the socket without answering (a transport
 *   failure: the client sees "socket hang up" / ECONNRESET, as after a load balancer reset or a timeout);
 * - `delay`: forwards after a delay drawn from `delayMs` (slow RPC; deadlines and receipt polling under lag).
 *
 * Each faultable request draws three numbers from a seeded PRNG (mulberry32) whatever the rates: one picks
 * error / drop / none (`errorRate`, then `dropRate`), one decides the delay (`delayRate`, for forwarded requests),
 * one sizes it. The n-th faultable request therefore gets the same fate for the same seed and rates, so a
 * sequential client sees the same failures on every run. A batch (a JSON array) is one request: one decision for the whole batch.
 *
 * Only calls to `methods` are faultable (default: every method but eth_chainId, which clients ask once at
 * start-up and cache); a batch is faultable if any of its calls is. A body that is not JSON-RPC is forwarded.
 * Statistics count calls (a batch of n counts n), and a faulted batch counts n faults.
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
  /** Only calls to these methods are faulted; undefined: every method but eth_chainId. */
  methods?: string[];
}

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
  /** `http://127.0.0.1:<port>`: give this to the client instead of the upstream URL. */
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
}

const NO_FAULTS: RpcFaults = { errorRate: 0, dropRate: 0, delayRate: 0, delayMs: { min: 0, max: 0 }, dropAfterMs: 100 };
const NEVER_FAULTED_BY_DEFAULT = new Set(['eth_chainId']);
const INJECTED_ERROR = { code: -32603, message: 'injected fault' };

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
  if (faults.errorRate + faults.dropRate > 1) throw new RangeError(`errorRate + dropRate must be ≤ 1, got ${faults.errorRate + faults.dropRate}`);
  const { min, max } = faults.delayMs;
  if (!(min >= 0 && max >= min)) throw new RangeError(`delayMs must satisfy 0 ≤ min ≤ max, got ${min}..${max}`);
  if (!(faults.dropAfterMs >= 0)) throw new RangeError(`dropAfterMs must be ≥ 0, got ${faults.dropAfterMs}`);
  return faults;
}

interface RpcCall {
  method: string;
  id: unknown;
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
    calls.push({ method: (entry as { method: string }).method, id: (entry as { id?: unknown }).id ?? null });
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

type Fate = { kind: 'forward'; delayMs: number } | { kind: 'error' } | { kind: 'drop' };

export async function startRpcFaultProxy(options: RpcFaultProxyOptions): Promise<RpcFaultProxy> {
  const upstream = new URL(options.upstream);
  const secure = upstream.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  // Its own connection pool, so close() can end the upstream connections it opened and nothing else.
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const random = mulberry32(options.seed);
  let faults = validated({ ...NO_FAULTS, ...options.faults });
  let errorsAnswered = 0;
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

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    stats.requests += 1;
    const parsed = callsOf(body.toString('utf8'));
    if (!parsed) return forward(req, res, body);
    count(parsed.calls, 'calls');
    if (!faultable(parsed.calls)) return forward(req, res, body);
    const fate = decide();
    switch (fate.kind) {
      case 'error':
        count(parsed.calls, 'errors');
        return answerError(res, parsed);
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
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => structuredClone(stats),
    setFaults: (partial) => {
      faults = validated({ ...faults, ...partial, delayMs: { ...faults.delayMs, ...partial.delayMs } });
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
