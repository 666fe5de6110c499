/**
 * A real ethers JsonRpcProvider whose transport is a function: `_send` hands each JSON-RPC request to `answer`,
 * which returns the JSON-RPC result or error member (or throws, as a failed HTTP exchange would). Errors therefore
 * reach the caller through ethers' own `getRpcError`, exactly as a node's answer would, not as hand-made objects.
 */
import { type JsonRpcPayload, JsonRpcProvider, type JsonRpcResult, Network } from 'ethers';

export type NodeAnswer = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

export type Answer = (method: string, params: readonly unknown[]) => NodeAnswer | Promise<NodeAnswer>;

const NETWORK = Network.from(31_337n);

class ScriptedNode extends JsonRpcProvider {
  constructor(
    private readonly answer: Answer,
    readonly requests: JsonRpcPayload[],
  ) {
    super('http://127.0.0.1:0', NETWORK, { staticNetwork: NETWORK, batchMaxCount: 1, cacheTimeout: -1 });
  }

  // ethers declares JsonRpcResult[] and hands error members on to its own error handling (getRpcError).
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const payloads = Array.isArray(payload) ? payload : [payload];
    return Promise.all(
      payloads.map(async (p) => {
        this.requests.push(p);
        return { id: p.id, ...(await this.answer(p.method, p.params as unknown[])) } as JsonRpcResult;
      }),
    );
  }
}

/** A provider answering with `answer`; `requests` records every JSON-RPC request it got, in order. */
export function scriptedNode(answer: Answer): JsonRpcProvider & { requests: JsonRpcPayload[] } {
  return new ScriptedNode(answer, []);
}

/** The error ethers raises for an eth_call the node answered with `error`. */
export async function ethCallError(error: { code: number; message: string; data?: unknown }, params: unknown[] = [{ to: `0x${'11'.repeat(20)}`, data: '0x' }, 'latest']): Promise<unknown> {
  const node = scriptedNode(() => ({ error }));
  try {
    await node.send('eth_call', params);
  } catch (err) {
    return err;
  } finally {
    node.destroy();
  }
  throw new Error('the scripted node answered');
}

/** geth's answers (go-ethereum internal/ethapi, rpc/json.go) and hosted providers' (see call-failure.ts). */
export const NODE_ERRORS = {
  headerNotFound: { code: -32000, message: 'header not found' },
  missingTrieNode: { code: -32000, message: 'missing trie node 3c8f…(path ) <nil>' },
  internal: { code: -32603, message: 'internal error' },
  rateLimited: { code: -32005, message: 'daily request count exceeded, request rate limited' },
  alchemyCapacity: { code: 429, message: 'Your app has exceeded its compute units per second capacity.' },
  gethTimeout: { code: -32000, message: 'execution aborted (timeout = 5s)' },
  overrideTooManyArguments: { code: -32602, message: 'too many arguments, want at most 2' },
  overrideHardhat: { code: -32602, message: 'Expected between 1 and 2 arguments and got 3' },
  overrideUnknownField: { code: -32602, message: 'invalid argument 2: json: unknown field "codee"' },
  revertedWithoutData: { code: -32000, message: 'execution reverted' },
} as const;
