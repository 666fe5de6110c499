/**
 * The adapters' edge: the keeper's provider (createJsonRpcProvider, also behind the state-override provider) and
 * the bundle relay, pointed at a local HTTP server under a path holding a marker key, which fails in each way a
 * hosted endpoint fails. Requests reach the real path; nothing thrown names it, whatever method failed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BaseWallet, type JsonRpcProvider, SigningKey } from 'ethers';
import { classifyCallFailure } from '../../../functions/adapters/chain/call-failure';
import { BundleRelayError, FlashbotsBundleRelay } from '../../../functions/adapters/chain/flashbots-bundle-relay';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { withStateOverride } from '../../../functions/adapters/chain/price-override';
import { createJsonRpcProvider } from '../../../functions/adapters/chain/provider';
import { REDACTED } from '../../../functions/adapters/chain/redact-url';
import { leaksOf } from './redact-leaks';

const MARKER = 'MARKER-KEY-7f3a9c';
const SOME_ADDRESS = `0x${'11'.repeat(20)}`;

type Failure = 'http-500' | 'http-503' | 'rate-limited' | 'garbage' | 'reset' | 'hang' | 'node-echo' | 'ok';

const leaks = (value: unknown) => leaksOf(value, MARKER);

async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('no error thrown');
}

describe('the RPC URL never leaves the provider or the relay', () => {
  let server: Server;
  let base: string;
  let url: string;
  let failure: Failure;
  let paths: string[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number };
        const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        switch (failure) {
          case 'http-500':
            return json(500, { error: `backend failed for /v2/${MARKER}` });
          case 'http-503':
            return res.writeHead(503, { 'content-type': 'text/plain' }).end(`service unavailable: ${req.url}`);
          case 'rate-limited':
            return json(429, { jsonrpc: '2.0', id, error: { code: -32005, message: `daily request count exceeded for ${MARKER}` } });
          case 'garbage':
            return res.writeHead(200, { 'content-type': 'application/json' }).end(`<html>${req.url}</html>`);
          case 'reset':
            return req.socket.destroy();
          case 'hang':
            return undefined;
          case 'node-echo':
            return json(200, { jsonrpc: '2.0', id, error: { code: -32000, message: `invalid API key ${MARKER}`, data: { url: `${base}${req.url}` } } });
          case 'ok':
            return json(200, { jsonrpc: '2.0', id, result: id % 2 === 0 ? '0x10' : { bundleHash: `0x${'ab'.repeat(32)}` } });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    url = `${base}/v2/${MARKER}`;
  });

  beforeEach(() => {
    paths = [];
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const calls: [string, (provider: JsonRpcProvider) => Promise<unknown>][] = [
    ['send(eth_blockNumber)', (provider) => provider.send('eth_blockNumber', [])],
    ['call (eth_call)', (provider) => provider.call({ to: SOME_ADDRESS, data: '0x' })],
    ['getBalance', (provider) => provider.getBalance(SOME_ADDRESS)],
    ['broadcastTransaction', (provider) => provider.broadcastTransaction('0x02f86b827a6980843b9aca00847735940082520894976ea74026e726554db657fa54763abd0c3a0aa90180c001a0')],
  ];
  const failures: Failure[] = ['http-500', 'http-503', 'rate-limited', 'garbage', 'reset', 'hang', 'node-echo'];

  describe.each(failures)('%s', (kind) => {
    it.each(calls)('%s throws an error that does not name the URL; the request went to the real path', async (_name, call) => {
      // Arrange
      failure = kind;
      const provider = createJsonRpcProvider(url, 31_337, { timeoutMs: 300 });

      // Act
      const error = await thrown(() => call(provider));
      provider.destroy();

      // Assert
      expect(paths.length).toBeGreaterThan(0);
      expect(new Set(paths)).toEqual(new Set([`/v2/${MARKER}`]));
      expect(leaks(error)).toEqual([]);
      expect(String(error)).not.toContain(MARKER);
    });
  });

  it('a body that is not JSON-RPC is BAD_DATA (node trouble, retryable), not a bare SyntaxError', async () => {
    failure = 'garbage';
    const provider = createJsonRpcProvider(url, 31_337, { timeoutMs: 300 });
    const error = (await thrown(() => provider.send('eth_blockNumber', []))) as { code?: string; shortMessage?: string; value?: string };
    provider.destroy();
    expect(error.code).toBe('BAD_DATA');
    expect(error.shortMessage).toBe('the RPC endpoint answered with a body that is not JSON');
    expect(error.value).toBe(`<html>/${REDACTED}</html>`);
    expect(classifyCallFailure(error)).toMatchObject({ kind: 'node-error' });
    expect(classifyWorkerFailure(error)).toBe('retryable');
  });

  it('the state-override provider, which sends through the inner one, throws redacted errors too', async () => {
    failure = 'http-500';
    const provider = createJsonRpcProvider(url, 31_337, { timeoutMs: 300 });
    const error = await thrown(() => withStateOverride(provider, {}).call({ to: SOME_ADDRESS, data: '0x' }));
    provider.destroy();
    expect(leaks(error)).toEqual([]);
    expect((error as { code?: string }).code).toBe('SERVER_ERROR');
  });

  it('an answer goes through: the URL ethers knows is the redacted one', async () => {
    failure = 'ok';
    const provider = createJsonRpcProvider(url, 31_337);
    const block = await provider.send('eth_blockNumber', []);
    expect(block).toBeDefined();
    expect(provider._getConnection().url).toBe(`${base}/${REDACTED}`);
    expect(paths).toEqual([`/v2/${MARKER}`]);
    provider.destroy();
  });

  describe('bundle relay', () => {
    const authSigner = new BaseWallet(new SigningKey(`0x${'42'.repeat(32)}`));

    it.each(['http-500', 'http-503', 'rate-limited', 'garbage', 'reset', 'node-echo'] as Failure[])('%s: BundleRelayError without the URL', async (kind) => {
      failure = kind;
      const error = await thrown(() => new FlashbotsBundleRelay({ url, authSigner, timeoutMs: 300 }).sendBundle({ txs: ['0x01'], blockNumber: 7 }));
      expect(error).toBeInstanceOf(BundleRelayError);
      expect((error as Error).message).toContain(`eth_sendBundle for block 7 to ${base}/${REDACTED}`);
      expect(leaks(error)).toEqual([]);
      expect(paths.length).toBeGreaterThan(0);
      expect(new Set(paths)).toEqual(new Set([`/v2/${MARKER}`]));
    });

    it('timeout: BundleRelayError without the URL', async () => {
      failure = 'hang';
      const error = await thrown(() => new FlashbotsBundleRelay({ url, authSigner, timeoutMs: 100 }).sendBundle({ txs: ['0x01'], blockNumber: 7 }));
      expect((error as BundleRelayError).retryable).toBe(true);
      expect(leaks(error)).toEqual([]);
    });

    it('unreachable: BundleRelayError without the URL', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/v2/${MARKER}`;
      await new Promise((resolve) => closed.close(resolve));
      const error = await thrown(() => new FlashbotsBundleRelay({ url: deadUrl, authSigner }).sendBundle({ txs: ['0x01'], blockNumber: 7 }));
      expect((error as Error).message).toMatch(/fetch failed \(ECONNREFUSED\)$/);
      expect(leaks(error)).toEqual([]);
    });
  });
});
