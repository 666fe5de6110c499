/**
 * FlashbotsBundleRelay against a local HTTP server standing in for the relay: the request is `eth_sendBundle` in
 * the Flashbots format, its X-Flashbots-Signature header verifies against the exact body received (EIP-191 over
 * the hex keccak256 of the body, checked here with ethers' verifyMessage, not with the adapter's code), and the
 * relay's refusals come back as BundleRelayError with the relay's own message.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BaseWallet, id, SigningKey, verifyMessage } from 'ethers';
import { BundleRelayError, FlashbotsBundleRelay } from '../../../functions/adapters/chain/flashbots-bundle-relay';

const AUTH_KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
/** Opaque to the adapter: it forwards signed transactions as given. */
const TX_A = '0x02f86b827a6980843b9aca00847735940082520894976ea74026e726554db657fa54763abd0c3a0aa90180c001a0';
const TX_B = '0x02f86b827a6901843b9aca00847735940082520894976ea74026e726554db657fa54763abd0c3a0aa90180c080a0';
const BUNDLE_HASH = `0x${'ab'.repeat(32)}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

describe('FlashbotsBundleRelay', () => {
  const authSigner = new BaseWallet(new SigningKey(AUTH_KEY));
  let server: Server;
  let url: string;
  let received: Received[];
  let answer: { status: number; body: string };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    received = [];
    answer = { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1, result: { bundleHash: BUNDLE_HASH } }) };
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends eth_sendBundle with the Flashbots params and a signature header that verifies against the body', async () => {
    // Arrange
    const relay = new FlashbotsBundleRelay({ url, authSigner });

    // Act
    const result = await relay.sendBundle({ txs: [TX_A, TX_B], blockNumber: 1_234_567 });

    // Assert
    expect(result).toEqual({ bundleHash: BUNDLE_HASH });
    expect(received).toHaveLength(1);
    const [{ headers, body }] = received;
    expect(headers['content-type']).toBe('application/json');
    expect(JSON.parse(body)).toEqual({ jsonrpc: '2.0', id: 1, method: 'eth_sendBundle', params: [{ txs: [TX_A, TX_B], blockNumber: '0x12d687' }] });
    const [address, signature] = String(headers['x-flashbots-signature']).split(':');
    expect(address).toBe(authSigner.address);
    expect(verifyMessage(id(body), signature)).toBe(authSigner.address);
    // The signature covers these exact bytes: any other body recovers another address.
    expect(verifyMessage(id(`${body} `), signature)).not.toBe(authSigner.address);
  });

  it('passes the optional fields as Flashbots names them (timestamps as numbers)', async () => {
    // Arrange
    const relay = new FlashbotsBundleRelay({ url, authSigner });
    const revertible = `0x${'cd'.repeat(32)}`;

    // Act
    await relay.sendBundle({ txs: [TX_A], blockNumber: 16, minTimestamp: 1_700_000_000, maxTimestamp: 1_700_000_120, revertingTxHashes: [revertible] });

    // Assert
    expect(JSON.parse(received[0].body).params).toEqual([
      { txs: [TX_A], blockNumber: '0x10', minTimestamp: 1_700_000_000, maxTimestamp: 1_700_000_120, revertingTxHashes: [revertible] },
    ]);
  });

  it.each([
    [
      'a JSON-RPC error',
      { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'bundle for a past block' } }) },
      'relay refused it (HTTP 200, code -32000): bundle for a past block',
      { retryable: false, httpStatus: 200, rpcCode: -32000 },
    ],
    [
      'a refused signature (JSON-RPC form)',
      { status: 403, body: JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32025, message: 'invalid flashbots signature' } }) },
      'relay refused it (HTTP 403, code -32025): invalid flashbots signature',
      { retryable: false, httpStatus: 403, rpcCode: -32025 },
    ],
    [
      'a refused signature (older plain form)',
      { status: 403, body: JSON.stringify({ error: 'missing X-Flashbots-Signature header' }) },
      'relay refused it (HTTP 403): missing X-Flashbots-Signature header',
      { retryable: false, httpStatus: 403, rpcCode: undefined },
    ],
    ['an overloaded relay', { status: 503, body: 'upstream unavailable' }, 'HTTP 503: upstream unavailable', { retryable: true, httpStatus: 503, rpcCode: undefined }],
    ['throttling', { status: 429, body: JSON.stringify({ error: 'rate limited' }) }, 'relay refused it (HTTP 429): rate limited', { retryable: true, httpStatus: 429, rpcCode: undefined }],
    ['an answer without a bundle hash', { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1, result: null }) }, 'unexpected answer', { retryable: false, httpStatus: 200, rpcCode: undefined }],
  ])('wraps %s with the relay message', async (_case, relayAnswer, message, fields) => {
    // Arrange
    answer = relayAnswer;
    const relay = new FlashbotsBundleRelay({ url, authSigner });

    // Act
    const sending = relay.sendBundle({ txs: [TX_A], blockNumber: 7 });

    // Assert
    await expect(sending).rejects.toThrow(`eth_sendBundle for block 7 to ${url}: ${message}`);
    await expect(sending).rejects.toMatchObject({ name: 'BundleRelayError', ...fields });
  });

  it('says a relay it cannot reach is worth trying again', async () => {
    // Arrange: a port nothing listens on (the test server's, once closed)
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const relay = new FlashbotsBundleRelay({ url: deadUrl, authSigner });

    // Act
    const error = await relay.sendBundle({ txs: [TX_A], blockNumber: 7 }).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(BundleRelayError);
    expect((error as BundleRelayError).message).toBe(`eth_sendBundle for block 7 to ${deadUrl}: fetch failed (ECONNREFUSED)`);
    expect((error as BundleRelayError).retryable).toBe(true);
    expect((error as BundleRelayError).cause).toMatchObject({ message: 'fetch failed' });
  });
});
