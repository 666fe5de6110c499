/**
 * classifyCallFailure against the errors ethers really raises: JSON-RPC errors answered by a scripted node go
 * through ethers' getRpcError; HTTP failures, resets and timeouts come from a loopback HTTP server through
 * ethers' FetchRequest (the keeper's own provider for 429 and 5xx, with its retries).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Contract, FetchRequest, JsonRpcProvider, Network } from 'ethers';
import { type CallFailureKind, classifyCallFailure, isNodeTrouble, isRevert, NodeCallError, nodeCallErrorOf } from '../../../functions/adapters/chain/call-failure';
import { createJsonRpcProvider } from '../../../functions/adapters/chain/provider';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { ethCallError, NODE_ERRORS, scriptedNode } from './scripted-node';

const TARGET = `0x${'11'.repeat(20)}`;
const PANIC_17 = `0x4e487b71${(17n).toString(16).padStart(64, '0')}`;
const LENS_OVERRIDE = { [TARGET]: { code: '0x00' } };

describe('classifyCallFailure on JSON-RPC errors, as ethers raises them for eth_call', () => {
  it.each<[string, { code: number; message: string; data?: unknown }, CallFailureKind, string]>([
    ['geth: header not found', NODE_ERRORS.headerNotFound, 'node-error', 'header not found (code -32000)'],
    ['geth: missing trie node (pruned state)', NODE_ERRORS.missingTrieNode, 'node-error', 'missing trie node 3c8f…(path ) <nil> (code -32000)'],
    ['an internal error', NODE_ERRORS.internal, 'node-error', 'internal error (code -32603)'],
    ['Infura: -32005 request rate limited', NODE_ERRORS.rateLimited, 'rate-limited', 'daily request count exceeded, request rate limited (code -32005)'],
    ['Alchemy: code 429, compute units capacity', NODE_ERRORS.alchemyCapacity, 'rate-limited', 'Your app has exceeded its compute units per second capacity. (code 429)'],
    ["geth's eth_call time cap", NODE_ERRORS.gethTimeout, 'timeout', 'execution aborted (timeout = 5s) (code -32000)'],
    ['geth: a revert without data', NODE_ERRORS.revertedWithoutData, 'revert-without-data', 'execution reverted (code -32000)'],
  ])('%s → %s', async (_case, nodeError, kind, reason) => {
    const failure = classifyCallFailure(await ethCallError(nodeError));
    expect(failure).toEqual({ kind, reason });
  });

  it('a revert with data (code 3): the revert bytes, in ethers’ words', async () => {
    const error = await ethCallError({ code: 3, message: 'execution reverted: panic: arithmetic underflow or overflow (0x11)', data: PANIC_17 });
    expect(classifyCallFailure(error)).toEqual({ kind: 'revert', data: PANIC_17, reason: 'execution reverted: Panic due to OVERFLOW(17)' });
  });

  it('anvil: a revert with empty data ("0x") is a revert without data', async () => {
    const error = await ethCallError({ code: 3, message: 'execution reverted', data: '0x' });
    expect(classifyCallFailure(error)).toEqual({ kind: 'revert-without-data', reason: 'execution reverted (no data present; likely require(false) occurred' });
  });

  it.each([
    ['geth: too many arguments', NODE_ERRORS.overrideTooManyArguments, 'too many arguments, want at most 2 (code -32602)'],
    ['Hardhat: expected between 1 and 2 arguments', NODE_ERRORS.overrideHardhat, 'Expected between 1 and 2 arguments and got 3 (code -32602)'],
    ['geth: the override set does not decode', NODE_ERRORS.overrideUnknownField, 'invalid argument 2: json: unknown field "codee" (code -32602)'],
    ['a relay: invalid params', { code: -32602, message: 'invalid params' }, 'invalid params (code -32602)'],
    ['a plain wording', { code: -32000, message: 'state overrides are not supported' }, 'state overrides are not supported (code -32000)'],
  ])('an eth_call with a state override refused by %s → override-refused', async (_case, nodeError, reason) => {
    const error = await ethCallError(nodeError, [{ to: TARGET, data: '0x' }, 'latest', LENS_OVERRIDE]);
    expect(classifyCallFailure(error)).toEqual({ kind: 'override-refused', reason });
  });

  it('the same -32602 on a call without an override is the node’s error, not a refusal', async () => {
    const error = await ethCallError(NODE_ERRORS.overrideTooManyArguments);
    expect(classifyCallFailure(error)).toEqual({ kind: 'node-error', reason: 'too many arguments, want at most 2 (code -32602)' });
  });

  it('a contract call that reverts with a custom error (ethers re-makes the error from the data)', async () => {
    const node = scriptedNode(() => ({ error: { code: 3, message: 'execution reverted', data: PANIC_17 } }));
    const contract = new Contract(TARGET, ['function getUserAccountData(address) view returns (uint256)'], node);
    const error = await contract.getUserAccountData(TARGET).catch((err: unknown) => err);
    node.destroy();
    expect(classifyCallFailure(error)).toMatchObject({ kind: 'revert', data: PANIC_17 });
  });

  it('a contract call the node fails is a node error, not a revert', async () => {
    const node = scriptedNode(() => ({ error: NODE_ERRORS.headerNotFound }));
    const contract = new Contract(TARGET, ['function getUserAccountData(address) view returns (uint256)'], node);
    const error = await contract.getUserAccountData(TARGET).catch((err: unknown) => err);
    node.destroy();
    expect(classifyCallFailure(error)).toEqual({ kind: 'node-error', reason: 'header not found (code -32000)' });
  });

  it('eth_estimateGas errors too', async () => {
    const node = scriptedNode(() => ({ error: NODE_ERRORS.headerNotFound }));
    const error = await node.send('eth_estimateGas', [{ to: TARGET, data: '0x' }, 'latest']).catch((err: unknown) => err);
    node.destroy();
    expect(classifyCallFailure(error)).toEqual({ kind: 'node-error', reason: 'header not found (code -32000)' });
  });
});

describe('classifyCallFailure on HTTP and transport failures, through FetchRequest', () => {
  let server: Server;
  let url: string;
  type Behaviour = 'http-429' | 'http-503' | 'rate-limited-200' | 'reset' | 'hang';
  let behaviour: Behaviour = 'http-429';
  const rateLimitBody = (id: unknown) => JSON.stringify({ jsonrpc: '2.0', id, error: { ...NODE_ERRORS.rateLimited, data: { see: 'https://infura.io/dashboard' } } });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown };
        if (behaviour === 'hang') return;
        if (behaviour === 'reset') req.socket.destroy();
        else if (behaviour === 'http-503') res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream unavailable');
        else res.writeHead(behaviour === 'http-429' ? 429 : 200, { 'content-type': 'application/json' }).end(rateLimitBody(id));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function failureThrough(provider: JsonRpcProvider): Promise<unknown> {
    try {
      return await provider.send('eth_call', [{ to: TARGET, data: '0x' }, 'latest']).then(() => {
        throw new Error('answered');
      });
    } catch (err) {
      return err;
    } finally {
      provider.destroy();
    }
  }

  function quickProvider(timeoutMs: number): JsonRpcProvider {
    const request = new FetchRequest(url);
    request.timeout = timeoutMs;
    request.setThrottleParams({ maxAttempts: 2, slotInterval: 1 });
    const network = Network.from(31_337n);
    return new JsonRpcProvider(request, network, { staticNetwork: network, batchMaxCount: 1 });
  }

  it.each<[Behaviour, CallFailureKind, RegExp]>([
    ['http-429', 'rate-limited', /^HTTP 599 CLIENT ESCALATED SERVER ERROR \(429 Too Many Requests; exceeded maximum retry limit\)$/],
    ['rate-limited-200', 'rate-limited', /exceeded maximum retry limit/],
    ['http-503', 'node-error', /^HTTP 599 CLIENT ESCALATED SERVER ERROR \(503 Service Unavailable; exceeded maximum retry limit\)$/],
  ])('the keeper’s provider, after its retries: %s → %s', async (mode, kind, reason) => {
    behaviour = mode;
    const failure = classifyCallFailure(await failureThrough(createJsonRpcProvider(url, 31_337n)));
    expect(failure.kind).toBe(kind);
    expect(failure.reason).toMatch(reason);
  });

  it('a reset connection → transport', async () => {
    behaviour = 'reset';
    expect(classifyCallFailure(await failureThrough(quickProvider(5_000)))).toEqual({ kind: 'transport', reason: 'socket hang up (ECONNRESET)' });
  });

  it('no answer before the request times out → timeout', async () => {
    behaviour = 'hang';
    expect(classifyCallFailure(await failureThrough(quickProvider(100)))).toEqual({ kind: 'timeout', reason: 'request timeout' });
  });
});

describe('classifyCallFailure on what is not a failed request', () => {
  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'asset')")],
    ['a decoding error of ours', new Error('health lens returned 3 words for 1 accounts (expected 7)')],
    ['not an error', 'boom'],
  ])('%s → other', (_case, error) => {
    expect(classifyCallFailure(error).kind).toBe('other');
  });
});

describe('NodeCallError and the worker’s classification', () => {
  it('wraps node trouble as retryable and a refused override as permanent; leaves reverts and bugs alone', async () => {
    const headerNotFound = await ethCallError(NODE_ERRORS.headerNotFound);
    const refused = await ethCallError(NODE_ERRORS.overrideTooManyArguments, [{ to: TARGET }, 'latest', LENS_OVERRIDE]);
    const reverted = await ethCallError({ code: 3, message: 'execution reverted', data: PANIC_17 });

    const wrapped = nodeCallErrorOf(headerNotFound, 'reading the position of 0xabc at block 7');
    expect(wrapped).toBeInstanceOf(NodeCallError);
    expect(wrapped?.message).toBe('reading the position of 0xabc at block 7: node-error: header not found (code -32000)');
    expect(wrapped?.retryable).toBe(true);
    expect(wrapped?.cause).toBe(headerNotFound);
    expect(nodeCallErrorOf(refused, 'x')?.retryable).toBe(false);
    expect(nodeCallErrorOf(reverted, 'x')).toBeUndefined();
    expect(nodeCallErrorOf(new TypeError('bug'), 'x')).toBeUndefined();
    expect(isRevert(classifyCallFailure(reverted))).toBe(true);
    expect(isNodeTrouble(classifyCallFailure(headerNotFound))).toBe(true);
  });

  it.each<[string, 'retryable' | 'permanent', () => Promise<unknown>]>([
    ['header not found, as ethers raises it for an eth_call', 'retryable', () => ethCallError(NODE_ERRORS.headerNotFound)],
    ['-32005 rate limited, as ethers raises it for an eth_call', 'retryable', () => ethCallError(NODE_ERRORS.rateLimited)],
    ['missing trie node', 'retryable', () => ethCallError(NODE_ERRORS.missingTrieNode)],
    ['a NodeCallError under a wrapper', 'retryable', async () => new Error('wrapped', { cause: nodeCallErrorOf(await ethCallError(NODE_ERRORS.headerNotFound), 'x') })],
    ['a revert with data', 'permanent', () => ethCallError({ code: 3, message: 'execution reverted', data: '0x12345678' })],
    ['a revert without data (geth)', 'permanent', () => ethCallError(NODE_ERRORS.revertedWithoutData)],
    ['an arithmetic panic of a read (unchanged: retryable)', 'retryable', () => ethCallError({ code: 3, message: 'execution reverted', data: PANIC_17 })],
  ])('%s → %s', async (_case, expected, make) => {
    expect(classifyWorkerFailure(await make())).toBe(expected);
  });
});
