/**
 * The RPC fault proxy in front of a real anvil, driven by a bare ethers JsonRpcProvider: no request cache, no
 * batching and no retries, so every call is one HTTP request, the client sees every injected fault, and the
 * proxy's statistics can be compared call for call with what the client saw. (The pipeline's own provider
 * retries transient failures; chaos tests of the pipeline measure that, this test measures the proxy.)
 */
import { createServer } from 'node:net';
import { JsonRpcProvider, Network } from 'ethers';
import { type RpcFaultProxy, type RpcFaults, startRpcFaultProxy } from '../../local/chaos/rpc-fault-proxy';
import { type Anvil, LOCAL_CHAIN_ID, startAnvil } from '../../local/world/anvil';

jest.setTimeout(120_000);

const SOME_ACCOUNT = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

let anvil: Anvil;
const open: { proxy: RpcFaultProxy; provider: JsonRpcProvider }[] = [];

async function proxied(seed: number, faults: Partial<RpcFaults>): Promise<{ proxy: RpcFaultProxy; provider: JsonRpcProvider }> {
  const proxy = await startRpcFaultProxy({ upstream: anvil.rpcUrl, seed, faults });
  const network = Network.from(LOCAL_CHAIN_ID);
  const provider = new JsonRpcProvider(proxy.url, network, { staticNetwork: network, batchMaxCount: 1, cacheTimeout: -1 });
  open.push({ proxy, provider });
  return { proxy, provider };
}

type Seen = 'ok' | 'rpc-error' | 'http-503' | 'transport' | `other: ${string}`;

/** What a call through the proxy looked like to ethers. */
async function observe(call: () => Promise<unknown>): Promise<Seen> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    const e = err as { message?: string; error?: { code?: number; message?: string }; info?: { responseStatus?: string }; code?: string };
    if (e.error?.code === -32603 && e.error.message === 'injected fault') return 'rpc-error';
    if (e.code === 'SERVER_ERROR' && e.info?.responseStatus?.startsWith('503')) return 'http-503';
    if (/socket hang up|ECONNRESET/.test(e.message ?? '')) return 'transport';
    return `other: ${e.message}`;
  }
}

async function sequentially(n: number, call: () => Promise<unknown>): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (let i = 0; i < n; i++) seen.push(await observe(call));
  return seen;
}

const blockNumber = (provider: JsonRpcProvider) => provider.send('eth_blockNumber', []);

const tally = (seen: readonly Seen[]) => seen.reduce<Record<string, number>>((counts, s) => ({ ...counts, [s]: (counts[s] ?? 0) + 1 }), {});

/** POSTs a raw JSON-RPC body (for batches, which the pipeline's provider never sends). */
async function post(url: string, body: unknown): Promise<{ status: number; json?: unknown; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : undefined;
  return { status: response.status, json, text };
}

beforeAll(async () => {
  anvil = await startAnvil({ blockTimeSec: 0 });
});

afterEach(async () => {
  for (const { proxy, provider } of open.splice(0)) {
    provider.destroy();
    await proxy.close();
  }
});

afterAll(async () => {
  await anvil?.process.stop();
});

describe('rpc fault proxy', () => {
  it('fails about 20 % of 200 calls at errorRate 0.2, half as JSON-RPC errors, half as HTTP 503, exactly as its stats say', async () => {
    // Arrange
    const { proxy, provider } = await proxied(42, { errorRate: 0.2 });

    // Act
    const seen = await sequentially(200, () => blockNumber(provider));

    // Assert
    const counts = tally(seen);
    const failures = 200 - (counts.ok ?? 0);
    expect(Object.keys(counts).sort()).toEqual(['http-503', 'ok', 'rpc-error']);
    expect(proxy.stats()).toEqual({
      requests: 200,
      calls: 200,
      errors: failures,
      drops: 0,
      delayed: 0,
      byMethod: { eth_blockNumber: { calls: 200, errors: failures, drops: 0, delayed: 0 } },
    });
    // Binomial(200, 0.2): mean 40, standard deviation ≈ 5.7; 20..60 is a band of ±3.5 σ.
    expect(failures).toBeGreaterThanOrEqual(20);
    expect(failures).toBeLessThanOrEqual(60);
    // The two kinds alternate, JSON-RPC error first.
    expect(counts['rpc-error'] - counts['http-503']).toBeGreaterThanOrEqual(0);
    expect(counts['rpc-error'] - counts['http-503']).toBeLessThanOrEqual(1);
  });

  it('is deterministic for a seed: the same calls fail in the same order', async () => {
    // Arrange
    const first = await proxied(7, { errorRate: 0.3 });
    const second = await proxied(7, { errorRate: 0.3 });
    const otherSeed = await proxied(8, { errorRate: 0.3 });
    const failed = (seen: Seen[]) => seen.map((s) => s !== 'ok');

    // Act
    const a = await sequentially(40, () => blockNumber(first.provider));
    const b = await sequentially(40, () => blockNumber(second.provider));
    const c = await sequentially(40, () => blockNumber(otherSeed.provider));

    // Assert
    expect(b).toEqual(a);
    expect(failed(c)).not.toEqual(failed(a));
  });

  it('drops: holds the request, then closes the connection without an answer (a transport error)', async () => {
    // Arrange
    const { proxy, provider } = await proxied(1, { dropRate: 1, dropAfterMs: 50 });
    const started = performance.now();

    // Act
    const seen = await observe(() => blockNumber(provider));

    // Assert
    expect(seen).toBe('transport');
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(proxy.stats()).toMatchObject({ calls: 1, drops: 1, errors: 0 });
  });

  it('delays forwarded calls by a delay in the configured range', async () => {
    // Arrange
    const { proxy, provider } = await proxied(3, { delayRate: 1, delayMs: { min: 150, max: 200 } });
    const started = performance.now();

    // Act
    const block = await blockNumber(provider);

    // Assert
    expect(block).toMatch(/^0x[0-9a-f]+$/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(proxy.stats()).toMatchObject({ calls: 1, delayed: 1, errors: 0, drops: 0 });
  });

  it('faults only the listed methods', async () => {
    // Arrange
    const { proxy, provider } = await proxied(5, { errorRate: 1, methods: ['eth_getBalance'] });

    // Act
    const blocks = await sequentially(5, () => blockNumber(provider));
    const balances = await sequentially(4, () => provider.getBalance(SOME_ACCOUNT));

    // Assert
    expect(blocks).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(balances).toEqual(['rpc-error', 'http-503', 'rpc-error', 'http-503']);
    expect(proxy.stats().byMethod).toEqual({
      eth_blockNumber: { calls: 5, errors: 0, drops: 0, delayed: 0 },
      eth_getBalance: { calls: 4, errors: 4, drops: 0, delayed: 0 },
    });
  });

  it('never faults eth_chainId unless it is listed', async () => {
    // Arrange
    const { provider } = await proxied(5, { errorRate: 1 });

    // Act
    const chainId = await observe(() => provider.send('eth_chainId', []));
    const block = await observe(() => blockNumber(provider));

    // Assert
    expect([chainId, block]).toEqual(['ok', 'rpc-error']);
  });

  it('stops faulting after setFaults({ errorRate: 0 })', async () => {
    // Arrange
    const { proxy, provider } = await proxied(9, { errorRate: 1 });
    expect(await observe(() => blockNumber(provider))).toBe('rpc-error');

    // Act
    proxy.setFaults({ errorRate: 0 });
    const seen = await sequentially(50, () => blockNumber(provider));

    // Assert
    expect(tally(seen)).toEqual({ ok: 50 });
    expect(proxy.stats()).toMatchObject({ calls: 51, errors: 1 });
  });

  it('decides once per batch: a faulted batch fails every call, ids kept; a forwarded one gets every answer', async () => {
    // Arrange
    const { proxy } = await proxied(11, { errorRate: 1 });
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] },
      { jsonrpc: '2.0', id: 'two', method: 'eth_getBalance', params: [SOME_ACCOUNT, 'latest'] },
      { jsonrpc: '2.0', id: 3, method: 'eth_chainId', params: [] },
    ];

    // Act
    const asRpcErrors = await post(proxy.url, batch);
    const as503 = await post(proxy.url, batch);
    proxy.setFaults({ errorRate: 0 });
    const forwarded = await post(proxy.url, batch);

    // Assert
    const injected = { code: -32603, message: 'injected fault' };
    expect(asRpcErrors).toMatchObject({
      status: 200,
      json: [
        { jsonrpc: '2.0', id: 1, error: injected },
        { jsonrpc: '2.0', id: 'two', error: injected },
        { jsonrpc: '2.0', id: 3, error: injected },
      ],
    });
    expect(as503).toMatchObject({ status: 503, text: 'injected fault: service unavailable' });
    expect(forwarded.status).toBe(200);
    expect(forwarded.json).toEqual([
      expect.objectContaining({ id: 1, result: expect.stringMatching(/^0x/) }),
      expect.objectContaining({ id: 'two', result: expect.stringMatching(/^0x/) }),
      expect.objectContaining({ id: 3, result: '0x7a69' }),
    ]);
    expect(proxy.stats()).toMatchObject({ requests: 3, calls: 9, errors: 6 });
    expect(proxy.stats().byMethod.eth_chainId).toEqual({ calls: 3, errors: 2, drops: 0, delayed: 0 });
  });

  it("refuses state overrides as geth does a parameter too many, per call, and forwards everything else", async () => {
    // Arrange
    const { proxy } = await proxied(13, { overrides: 'refuse' });
    const call = { to: SOME_ACCOUNT, data: '0x' };
    const override = { [SOME_ACCOUNT]: { code: '0x00' } };
    const refusal = { code: -32602, message: 'too many arguments, want at most 2' };

    // Act
    const withOverride = await post(proxy.url, { jsonrpc: '2.0', id: 1, method: 'eth_call', params: [call, 'latest', override] });
    const estimate = await post(proxy.url, { jsonrpc: '2.0', id: 2, method: 'eth_estimateGas', params: [call, 'latest', override] });
    const plain = await post(proxy.url, { jsonrpc: '2.0', id: 3, method: 'eth_call', params: [call, 'latest'] });
    const batch = await post(proxy.url, [
      { jsonrpc: '2.0', id: 'a', method: 'eth_call', params: [call, 'latest', override] },
      { jsonrpc: '2.0', id: 'b', method: 'eth_call', params: [call, 'latest'] },
      { jsonrpc: '2.0', id: 'c', method: 'eth_chainId', params: [] },
    ]);

    // Assert
    expect(withOverride).toMatchObject({ status: 200, json: { jsonrpc: '2.0', id: 1, error: refusal } });
    expect(estimate).toMatchObject({ status: 200, json: { id: 2, error: refusal } });
    expect(plain).toMatchObject({ status: 200, json: { id: 3, result: '0x' } });
    expect(batch.status).toBe(200);
    expect(batch.json).toEqual([
      { jsonrpc: '2.0', id: 'a', error: refusal },
      expect.objectContaining({ id: 'b', result: '0x' }),
      expect.objectContaining({ id: 'c', result: '0x7a69' }),
    ]);
    expect(proxy.stats().byMethod).toEqual({
      eth_call: { calls: 4, errors: 2, drops: 0, delayed: 0 },
      eth_estimateGas: { calls: 1, errors: 1, drops: 0, delayed: 0 },
      eth_chainId: { calls: 1, errors: 0, drops: 0, delayed: 0 },
    });
  });

  it('answers node errors the way nodes do, in turn: header not found, HTTP 429 with a -32005 body, execution reverted without data', async () => {
    // Arrange
    const { proxy } = await proxied(17, { nodeErrorRate: 1, methods: ['eth_call'] });
    const request = (id: number) => ({ jsonrpc: '2.0', id, method: 'eth_call', params: [{ to: SOME_ACCOUNT, data: '0x' }, 'latest'] });

    // Act
    const answers = [];
    for (let id = 1; id <= 4; id++) answers.push(await post(proxy.url, request(id)));
    const untouched = await post(proxy.url, { jsonrpc: '2.0', id: 5, method: 'eth_blockNumber', params: [] });

    // Assert
    expect(answers.map(({ status, json }) => ({ status, json }))).toEqual([
      { status: 200, json: { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'header not found' } } },
      { status: 429, json: { jsonrpc: '2.0', id: 2, error: { code: -32005, message: 'daily request count exceeded, request rate limited' } } },
      { status: 200, json: { jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'execution reverted' } } },
      { status: 200, json: { jsonrpc: '2.0', id: 4, error: { code: -32000, message: 'header not found' } } },
    ]);
    expect(untouched).toMatchObject({ status: 200, json: { id: 5, result: expect.stringMatching(/^0x/) } });
    expect(proxy.stats()).toMatchObject({ calls: 5, errors: 4 });
  });

  it('mixes node errors into the seeded schedule: about the share asked, and the same calls for the same seed', async () => {
    // Arrange
    const first = await proxied(21, { nodeErrorRate: 0.25, nodeErrors: ['header-not-found'] });
    const second = await proxied(21, { nodeErrorRate: 0.25, nodeErrors: ['header-not-found'] });
    const headerNotFound = async (provider: JsonRpcProvider) => {
      const seen: boolean[] = [];
      for (let i = 0; i < 80; i++) seen.push(await blockNumber(provider).then(() => false, (err: { error?: { message?: string } }) => err.error?.message === 'header not found'));
      return seen;
    };

    // Act
    const a = await headerNotFound(first.provider);
    const b = await headerNotFound(second.provider);

    // Assert: Binomial(80, 0.25): mean 20, sd ≈ 3.9.
    expect(b).toEqual(a);
    expect(a.filter(Boolean).length).toBeGreaterThanOrEqual(7);
    expect(a.filter(Boolean).length).toBeLessThanOrEqual(33);
    expect(first.proxy.stats()).toMatchObject({ calls: 80, errors: a.filter(Boolean).length });
  });

  it('answers garbage: HTTP 200 with a body that is not JSON-RPC, a gateway’s HTML page and a JSON answer cut short, in turn', async () => {
    // Arrange
    const { proxy } = await proxied(23, { garbageRate: 1 });
    const request = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_blockNumber', params: [] });

    // Act
    const answers = [];
    for (let id = 1; id <= 3; id++) {
      const response = await fetch(proxy.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request(id) });
      answers.push({ status: response.status, text: await response.text() });
    }

    // Assert
    expect(answers.map(({ status }) => status)).toEqual([200, 200, 200]);
    expect(answers[0].text).toMatch(/^<html>.*502 Bad Gateway/);
    expect(answers[1].text).toBe('{"jsonrpc":"2.0","id":1,"resu');
    expect(answers[2].text).toBe(answers[0].text);
    expect(proxy.stats()).toMatchObject({ calls: 3, errors: 3 });
  });

  it('answers on any path; `path` names one in its url (a hosted provider’s key)', async () => {
    // Arrange
    const proxy = await startRpcFaultProxy({ upstream: anvil.rpcUrl, seed: 1, path: '/v2/SOME-KEY' });
    open.push({ proxy, provider: new JsonRpcProvider(proxy.url, Network.from(LOCAL_CHAIN_ID), { staticNetwork: Network.from(LOCAL_CHAIN_ID) }) });
    const request = { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] };

    // Act
    const underPath = await post(proxy.url, request);
    const elsewhere = await post(`http://127.0.0.1:${proxy.port}/any/other?x=1`, request);

    // Assert
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}/v2/SOME-KEY`);
    expect(underPath).toMatchObject({ status: 200, json: { id: 1, result: '0x7a69' } });
    expect(elsewhere).toMatchObject({ status: 200, json: { id: 1, result: '0x7a69' } });
  });

  it('refuses impossible faults', async () => {
    await expect(startRpcFaultProxy({ upstream: anvil.rpcUrl, seed: 1, faults: { errorRate: 0.7, dropRate: 0.5 } })).rejects.toThrow('errorRate + dropRate must be ≤ 1, got 1.2');
    const { proxy } = await proxied(1, {});
    expect(() => proxy.setFaults({ delayMs: { min: 10, max: 5 } })).toThrow('delayMs must satisfy 0 ≤ min ≤ max, got 10..5');
    expect(() => proxy.setFaults({ errorRate: 1.5 })).toThrow('errorRate must be between 0 and 1, got 1.5');
    expect(() => proxy.setFaults({ errorRate: 0.5, nodeErrorRate: 0.75 })).toThrow('errorRate + dropRate + nodeErrorRate must be ≤ 1, got 1.25');
    expect(() => proxy.setFaults({ nodeErrorRate: 0.5, nodeErrors: [] })).toThrow('nodeErrors must name at least one answer when nodeErrorRate > 0');
    expect(() => proxy.setFaults({ nodeErrorRate: 0.5, garbageRate: 0.75 })).toThrow('errorRate + dropRate + nodeErrorRate + garbageRate must be ≤ 1, got 1.25');
  });

  it('frees its port on close, even with a request held', async () => {
    // Arrange
    const proxy = await startRpcFaultProxy({ upstream: anvil.rpcUrl, seed: 1, faults: { delayRate: 1, delayMs: { min: 60_000, max: 60_000 } } });
    const held = post(proxy.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Act
    await proxy.close();

    // Assert: the held request ends at once, and the port can be bound again.
    expect(await held).toBe('failed');
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(proxy.port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });
});
