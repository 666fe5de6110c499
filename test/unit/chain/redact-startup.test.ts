/**
 * Start-up never names the RPC URL either: a configuration refusing it names the field, not the value, and
 * connecting (rpc.ts: the chain id check) fails without it, whether the endpoint is unreachable, failing, or
 * serving another chain.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChainIdMismatchError, privateProviderFromConfig, providerFromConfig } from '../../../functions/adapters/chain/rpc';
import { loadPipelineConfig } from '../../../functions/config/pipeline-config';
import { leaksOf } from './redact-leaks';

const MARKER = 'MARKER-KEY-7f3a9c';

const MAINNET = {
  CHAIN_ID: '1',
  MARKET_NAME: 'aave-core',
  POOL_ADDRESS: '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2',
  AAVE_POOL_VERSION: '3.6',
  SIGNER_MODE: 'kms',
  KMS_KEY_ID: 'alias/keeper',
  NATIVE_PRICE_ASSET: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
  SWAP_QUOTER_ADDRESS: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e',
  LIQUIDATOR_ADDRESS_PARAMETER: '/aave-core/liquidator-address',
};

function refusal(env: Record<string, string>): unknown {
  try {
    loadPipelineConfig(env);
  } catch (error) {
    return error;
  }
  throw new Error('expected the configuration to be refused');
}

async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('no error thrown');
}

describe('configuration refusing an endpoint URL names the field, not the URL', () => {
  it.each([
    ['RPC_URL off the local chain', { ...MAINNET, RPC_URL: `https://eth-mainnet.example.com/v2/${MARKER}` }, 'RPC_URL'],
    ['PRIVATE_RPC_URL off the local chain', { ...MAINNET, RPC_URL_SECRET_NAME: 'keeper/rpc-url', PRIVATE_RPC_URL: `https://rpc.example.com/${MARKER}` }, 'PRIVATE_RPC_URL'],
    ['an RPC_URL that is not a URL', { ...MAINNET, CHAIN_ID: '31337', RPC_URL: `eth-mainnet.example.com/v2/${MARKER}` }, 'RPC_URL'],
    ['a BUNDLE_RELAY_URL that is not a URL', { ...MAINNET, RPC_URL_SECRET_NAME: 'keeper/rpc-url', BUNDLE_RELAY_URL: `relay/${MARKER}` }, 'BUNDLE_RELAY_URL'],
  ])('%s', (_name, env, field) => {
    const error = refusal(env);
    expect((error as Error).message).toContain(field);
    expect(leaksOf(error, MARKER)).toEqual([]);
  });
});

describe('connecting to an endpoint fails without naming its URL', () => {
  let server: Server;
  let base: string;
  let answer: (id: number) => { status: number; body: string };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number };
        const { status, body } = answer(id);
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('another chain: ChainIdMismatchError', async () => {
    answer = (id) => ({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id, result: '0x1' }) });
    const error = await thrown(() => providerFromConfig({ rpc: { url: `${base}/v2/${MARKER}` }, chainId: 31_337 }));
    expect(error).toBeInstanceOf(ChainIdMismatchError);
    expect(leaksOf(error, MARKER)).toEqual([]);
  });

  it('a failing endpoint (HTTP 500 naming the key): a SERVER_ERROR without it', async () => {
    answer = () => ({ status: 500, body: `{"error":"no such key ${MARKER}"}` });
    const error = await thrown(() => providerFromConfig({ rpc: { url: `${base}/v2/${MARKER}` }, chainId: 31_337 }));
    expect((error as { code?: string }).code).toBe('SERVER_ERROR');
    expect(leaksOf(error, MARKER)).toEqual([]);
  });

  it('an unreachable private endpoint: the error names neither its path nor its query', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/rpc?apikey=${MARKER}`;
    await new Promise((resolve) => closed.close(resolve));
    const error = await thrown(() => privateProviderFromConfig({ privateRpc: { url: deadUrl }, chainId: 31_337 }));
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(leaksOf(error, MARKER)).toEqual([]);
  });
});
