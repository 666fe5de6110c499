/**
 * The indexer's adaptive eth_getLogs window: halved on every kind of refusal providers answer with (through the
 * real Aave V3 event source, ethers' JsonRpcProvider and FetchRequest on a scripted HTTP endpoint), grown back
 * after successes up to the configured window, and stored with the checkpoint so the next run, warm or cold,
 * starts from it. Then a run that stops before a window it has no time for, or when its invocation is given up.
 */
import { FetchRequest, type GetUrlResponse, JsonRpcProvider, Network, toQuantity } from 'ethers';
import { AaveV3EventSource } from '../../../functions/adapters/chain/aave-v3-event-source';
import { classifyLogReadRefusal, RefusalClassifyingEventSource } from '../../../functions/adapters/log-window-refusals';
import {
  type AccountEvent,
  type AccountEventRead,
  type AccountEventSource,
  type IndexBorrowersDeps,
  indexBorrowers,
  type IndexerSettings,
  RateLimitedError,
} from '../../../functions/pipeline/index-borrowers';
import type { BorrowerStore, CheckpointStore, IndexerCheckpoint, TrackedBorrower } from '../../../functions/ports/borrower-store';

const MARKET = '1#0x00000000000000000000000000000000000000aa';
const POOL = '0x000000000000000000000000000000000000aa00';
const BORROW_TOPIC = '0xb3d084820fb1a9decffb176436bd02558d15fac9b0ddfed8c465bc7359d7dce0';
const RESERVE = `0x${'1'.repeat(64)}`;
const pad = (address: string) => `0x${address.slice(2).padStart(64, '0')}`;
/** A borrower per block number, distinct and lowercase. */
const borrowerAt = (block: number) => `0x${block.toString(16).padStart(40, '0')}`;
const hashOf = (block: number) => `0x${block.toString(16).padStart(64, '0')}`;

class MemoryBorrowers implements Pick<BorrowerStore, 'upsertSeen' | 'listTracked'> {
  readonly tracked = new Set<string>();

  async upsertSeen(_market: string, seen: readonly { borrower: string; block: number }[]): Promise<void> {
    for (const { borrower } of seen) this.tracked.add(borrower);
  }

  async listTracked(): Promise<TrackedBorrower[]> {
    return [...this.tracked].map((borrower) => ({ borrower, firstSeenBlock: 0, lastEventBlock: 0, tier: 'hot' }));
  }
}

class MemoryCheckpoints implements CheckpointStore {
  stored: IndexerCheckpoint | undefined;

  async getCheckpoint(): Promise<IndexerCheckpoint | undefined> {
    return this.stored && { ...this.stored };
  }

  async putCheckpoint(_id: string, next: IndexerCheckpoint, previous: IndexerCheckpoint | undefined): Promise<void> {
    if (this.stored?.block !== previous?.block) throw new Error('conditional check failed');
    this.stored = { ...next };
  }
}

class ManualClock {
  now = 0;
  nowMs(): number {
    return this.now;
  }
}

/** A chain of `head + 1` blocks with one borrow per block from `first` on; refuses windows wider than `limit` blocks. */
class LimitedChain implements AccountEventSource {
  /** [from, to] of every eth_getLogs, refused ones included. */
  readonly reads: [number, number][] = [];
  onRead: () => void = () => undefined;

  constructor(
    readonly head: number,
    public limit: number,
    readonly first = 0,
  ) {}

  async headBlock(): Promise<number> {
    return this.head;
  }

  async blockHash(block: number): Promise<string> {
    return hashOf(block);
  }

  async readEvents(fromBlock: number, toBlock: number): Promise<AccountEventRead> {
    this.reads.push([fromBlock, toBlock]);
    this.onRead();
    if (toBlock - fromBlock + 1 > this.limit) return { kind: 'range-too-large', reason: `block range too large (limit ${this.limit})` };
    const events: AccountEvent[] = [];
    for (let block = Math.max(fromBlock, this.first); block <= toBlock; block++) events.push({ kind: 'borrow', account: borrowerAt(block), block });
    return { kind: 'events', events };
  }

  widths(): number[] {
    return this.reads.map(([from, to]) => to - from + 1);
  }
}

function setup(source: AccountEventSource, settings: Partial<IndexerSettings> = {}) {
  const borrowers = new MemoryBorrowers();
  const checkpoints = new MemoryCheckpoints();
  const clock = new ManualClock();
  const pauses: number[] = [];
  const deps: IndexBorrowersDeps = {
    market: MARKET,
    settings: { startBlock: 0, logWindow: 64, reorgDepth: 0, logWindowGrowthAfter: 4, ...settings },
    source,
    borrowers,
    checkpoints,
    clock,
    sleep: async (ms) => {
      pauses.push(ms);
      clock.now += ms;
    },
  };
  return { borrowers, checkpoints, clock, deps, pauses };
}

const FAR = Number.MAX_SAFE_INTEGER;
const everyBorrower = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => borrowerAt(from + i)).sort();

describe('the adaptive log window', () => {
  it('halves a refused window, keeps it while it goes through, and doubles after logWindowGrowthAfter windows, up to logWindow', async () => {
    const chain = new LimitedChain(99, 16);
    const { borrowers, checkpoints, deps } = setup(chain);

    const summary = await indexBorrowers(deps, FAR);

    // 64 and 32 refused; 4 windows of 16, then 32 (refused) → 16 again, and so on: never more than 16 read at once.
    expect(chain.widths().slice(0, 8)).toEqual([64, 32, 16, 16, 16, 16, 32, 16]);
    expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, toBlock: 99, refusedWindows: 3, windowBlocks: 16 });
    expect([...borrowers.tracked].sort()).toEqual(everyBorrower(0, 99));
    expect(checkpoints.stored).toEqual({ block: 99, blockHash: hashOf(99), logWindowBlocks: 16 });
  });

  it('grows back to the configured window once the provider takes it again', async () => {
    // An earlier run learnt a limit of 8 blocks; the provider's limit is lifted since (a paid tier).
    const chain = new LimitedChain(299, 1_000);
    const { checkpoints, deps } = setup(chain, { logWindow: 32, logWindowGrowthAfter: 2 });
    checkpoints.stored = { block: 199, blockHash: hashOf(199), logWindowBlocks: 8 };

    const second = await indexBorrowers(deps, FAR);

    // 8 → 16 → 32 after two windows each, never above 32 (the last window ends at the head).
    expect(chain.widths()).toEqual([8, 8, 16, 16, 32, 20]);
    expect(second).toMatchObject({ outcome: { kind: 'caught-up' }, toBlock: 299, refusedWindows: 0, windowBlocks: 32 });
  });

  it('starts the next run with the window stored with the checkpoint, warm or cold', async () => {
    const chain = new LimitedChain(99, 10);
    const { checkpoints, deps, clock } = setup(chain, { logWindowGrowthAfter: 1_000 });
    // The first run ends at its deadline after its first window through: 64 → 32 → 16 → 8 blocks.
    chain.onRead = () => (clock.now += 1);
    await indexBorrowers(deps, 4);
    expect(checkpoints.stored).toEqual({ block: 7, blockHash: hashOf(7), logWindowBlocks: 8 });

    // Warm: the next invocation in the same instance (same dependencies), for two windows.
    chain.reads.length = 0;
    const warm = await indexBorrowers(deps, clock.now + 3);

    expect(chain.widths()).toEqual([8, 8]);
    expect(warm).toMatchObject({ outcome: { kind: 'deadline' }, fromBlock: 8, toBlock: 23, refusedWindows: 0, windowBlocks: 8 });

    // Cold: a new instance, with nothing in memory but the store.
    chain.reads.length = 0;
    const cold = setup(chain, { logWindowGrowthAfter: 1_000 });
    cold.checkpoints.stored = checkpoints.stored;
    const summary = await indexBorrowers(cold.deps, FAR);

    expect(chain.widths().every((width) => width <= 8)).toBe(true);
    expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, fromBlock: 24, refusedWindows: 0, windowBlocks: 8 });
  });

  it('never starts above the configured window, whatever the checkpoint stored (the setting was lowered)', async () => {
    const chain = new LimitedChain(40, 1_000);
    const { checkpoints, deps } = setup(chain, { logWindow: 5 });
    checkpoints.stored = { block: 9, blockHash: hashOf(9), logWindowBlocks: 2_000 };

    await indexBorrowers(deps, FAR);

    expect(chain.widths().every((width) => width <= 5)).toBe(true);
  });

  it('halves the window on a rate limit too, and pauses before asking again (a failed window)', async () => {
    let refused = 0;
    const chain = new LimitedChain(31, 1_000);
    const source: AccountEventSource = {
      headBlock: () => chain.headBlock(),
      blockHash: (block) => chain.blockHash(block),
      readEvents: async (from, to) => (refused++ < 2 ? { kind: 'rate-limited', reason: 'limit exceeded (code -32005)' } : chain.readEvents(from, to)),
    };
    const failures: unknown[] = [];
    const { borrowers, deps, pauses } = setup(source, { logWindow: 32, windowRetryPauseMs: 750 });

    const summary = await indexBorrowers({ ...deps, onWindowFailed: (f) => failures.push(f.error) }, FAR);

    expect(chain.widths()).toEqual([8, 8, 8, 8]);
    expect(pauses).toEqual([750, 750]);
    expect(failures[0]).toBeInstanceOf(RateLimitedError);
    expect(failures[0]).toHaveProperty('message', "the provider's rate limit refused eth_getLogs for blocks 0–31: limit exceeded (code -32005)");
    expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, refusedWindows: 2, failedWindows: 2 });
    expect([...borrowers.tracked].sort()).toEqual(everyBorrower(0, 31));
  });
});

describe('a run against its deadline', () => {
  it('does not start a window that would end past the deadline, judged by its slowest window so far', async () => {
    const chain = new LimitedChain(99, 1_000);
    const { checkpoints, clock, deps } = setup(chain, { logWindow: 10 });
    chain.onRead = () => (clock.now += chain.reads.length === 2 ? 3_000 : 1_000);

    const summary = await indexBorrowers(deps, 5_500);

    // Windows at t = 0 (1 s) and t = 1,000 (3 s); at t = 4,000 the slowest (3 s) would end past 5,500.
    expect(summary).toMatchObject({ outcome: { kind: 'deadline', remainingBlocks: 80 }, windows: 2, toBlock: 19 });
    expect(checkpoints.stored?.block).toBe(19);
  });

  it('starts no further window once its invocation is given up (the signal is aborted)', async () => {
    const chain = new LimitedChain(99, 1_000);
    const abort = new AbortController();
    const { deps } = setup(chain, { logWindow: 10 });
    chain.onRead = () => chain.reads.length === 3 && abort.abort();

    const summary = await indexBorrowers({ ...deps, signal: abort.signal }, FAR);

    expect(summary).toMatchObject({ outcome: { kind: 'deadline', remainingBlocks: 70 }, windows: 3, toBlock: 29 });
  });
});

/**
 * A JSON-RPC endpoint over ethers' FetchRequest, answering each request from a function as an HTTP server would
 * (status and body), so the errors are the ones ethers raises itself.
 */
function scriptedEndpoint(answer: (method: string, params: unknown[], id: unknown) => { status?: number; statusMessage?: string; body: unknown }): JsonRpcProvider {
  const request = new FetchRequest('http://rpc.invalid/v2/SECRET-API-KEY');
  request.setThrottleParams({ maxAttempts: 1, slotInterval: 1 });
  request.getUrlFunc = async (req): Promise<GetUrlResponse> => {
    const { method, params, id } = JSON.parse(new TextDecoder().decode(req.body!)) as { method: string; params: unknown[]; id: unknown };
    const { status = 200, statusMessage = 'OK', body } = answer(method, params, id);
    return { statusCode: status, statusMessage, headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)) };
  };
  const network = Network.from(1n);
  return new JsonRpcProvider(request, network, { staticNetwork: network, batchMaxCount: 1 });
}

type Refusal = { status?: number; statusMessage?: string; body: unknown };
const rpcError = (code: number, message: string) => (id: unknown) => ({ body: { jsonrpc: '2.0', id, error: { code, message } } });

describe('every kind of refusal providers answer with halves the window, end to end', () => {
  const LIMIT = 5;
  const HEAD = 47;

  it.each<[string, 'range-too-large' | 'rate-limited', (id: unknown) => Refusal]>([
    ['geth/Infura: query returned more than 10000 results (-32005)', 'range-too-large', rpcError(-32005, 'query returned more than 10000 results')],
    ['block range too large', 'range-too-large', rpcError(-32000, 'block range too large')],
    ['requested range exceeds the range limit', 'range-too-large', rpcError(-32600, 'requested range exceeds the range limit of 5 blocks')],
    ['Alchemy: Log response size exceeded', 'range-too-large', rpcError(-32602, 'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range')],
    ['HTTP 413 Payload Too Large', 'range-too-large', () => ({ status: 413, statusMessage: 'Payload Too Large', body: 'request entity too large' })],
    ['EIP-1474 -32005 limit exceeded (rate limit)', 'rate-limited', rpcError(-32005, 'limit exceeded')],
    ['HTTP 429 Too Many Requests', 'rate-limited', () => ({ status: 429, statusMessage: 'Too Many Requests', body: '' })],
  ])('%s → %s', async (_case, kind, refuse) => {
    const refusals: string[] = [];
    const provider = scriptedEndpoint((method, params, id) => {
      if (method === 'eth_blockNumber') return { body: { jsonrpc: '2.0', id, result: toQuantity(HEAD) } };
      if (method === 'eth_getBlockByNumber') return { body: { jsonrpc: '2.0', id, result: { hash: hashOf(Number(params[0])) } } };
      const { fromBlock, toBlock } = params[0] as { fromBlock: string; toBlock: string };
      const [from, to] = [Number(fromBlock), Number(toBlock)];
      if (to - from + 1 > LIMIT) {
        refusals.push(`${from}-${to}`);
        return refuse(id);
      }
      const logs = [];
      for (let block = from; block <= to; block++) logs.push({ address: POOL, topics: [BORROW_TOPIC, RESERVE, pad(borrowerAt(block)), RESERVE], blockNumber: toQuantity(block), data: '0x' });
      return { body: { jsonrpc: '2.0', id, result: logs } };
    });
    const source = new RefusalClassifyingEventSource(new AaveV3EventSource(provider, POOL));
    const { borrowers, checkpoints, deps } = setup(source, { logWindow: 16, logWindowGrowthAfter: 1_000, windowRetryPauseMs: 10 });

    try {
      const summary = await indexBorrowers(deps, FAR);

      // 16 → 8 → 4 blocks: two refusals, then windows of 4 to the head.
      expect(refusals).toEqual(['0-15', '0-7']);
      expect(summary).toMatchObject({ outcome: { kind: 'caught-up' }, refusedWindows: 2, windowBlocks: 4, failedWindows: kind === 'rate-limited' ? 2 : 0 });
      expect([...borrowers.tracked].sort()).toEqual(everyBorrower(0, HEAD));
      expect(checkpoints.stored).toEqual({ block: HEAD, blockHash: hashOf(HEAD), logWindowBlocks: 4 });
    } finally {
      provider.destroy();
    }
  });

  it('says what the node said, never the request URL with its key', async () => {
    const provider = scriptedEndpoint((_method, _params, id) => (id === undefined ? { body: '' } : { status: 413, statusMessage: 'Payload Too Large', body: 'request entity too large' }));
    try {
      const error = await provider.send('eth_getLogs', [{}]).catch((err: unknown) => err);
      expect(String((error as Error).message)).toContain('SECRET-API-KEY');

      expect(classifyLogReadRefusal(error)).toEqual({ kind: 'range-too-large', reason: 'HTTP 413 Payload Too Large | request entity too large' });
    } finally {
      provider.destroy();
    }
  });

  it('leaves other node failures to the retry at the same window', async () => {
    const provider = scriptedEndpoint((_method, _params, id) => rpcError(-32000, 'header not found')(id));
    try {
      const error = await provider.send('eth_getLogs', [{}]).catch((err: unknown) => err);

      expect(classifyLogReadRefusal(error)).toBeUndefined();
      await expect(new RefusalClassifyingEventSource(new AaveV3EventSource(provider, POOL)).readEvents(0, 1)).rejects.toThrow(
        `eth_getLogs for blocks 0–1 of pool ${POOL} failed: header not found`,
      );
    } finally {
      provider.destroy();
    }
  });
});
