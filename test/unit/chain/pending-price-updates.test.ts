import { AbiCoder, getAddress, Interface, makeError, toQuantity, Transaction, type TransactionLike, Wallet } from 'ethers';
import {
  decodeFeedCall,
  ocr2ReportMedian,
  PendingPriceUpdates,
  PendingPriceUpdatesError,
  rebuildSignedTransaction,
  type RpcTransaction,
} from '../../../functions/adapters/chain/pending-price-updates';

const coder = AbiCoder.defaultAbiCoder();
const FEEDS = new Interface([
  'function setPrice(int256 answer)',
  'function setRoundData(int256 answer, uint256 updatedAt)',
  'function transmit(bytes32[3] reportContext, bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
  'function latestAnswer() view returns (int256)',
]);
const ZERO_WORD = `0x${'0'.repeat(64)}`;
const WORD_1 = `0x${'0'.repeat(63)}1`;
/** A well-known test key (anvil's first account); signing happens offline. */
const SENDER = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const WATCHED = getAddress('0x00000000000000000000000000000000000feed1');
const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';

/** An OCR2 report as OCR2Aggregator._decodeReport reads it: (observationsTimestamp, rawObservers, observations, juelsPerFeeCoin). */
function ocr2Report(observations: bigint[]): string {
  return coder.encode(['uint32', 'bytes32', 'int192[]', 'int192'], [1_700_000_000, ZERO_WORD, observations, 10n ** 18n]);
}

function transmit(report: string): string {
  return FEEDS.encodeFunctionData('transmit', [[ZERO_WORD, WORD_1, ZERO_WORD], report, [ZERO_WORD], [ZERO_WORD], ZERO_WORD]);
}

/** The fields eth_getTransactionByHash returns for a pending transaction (as anvil 1.7 does: legacy v carries the chain id). */
async function pendingRpcTransaction(fields: TransactionLike<string>): Promise<RpcTransaction & { serialized: string }> {
  const serialized = await SENDER.signTransaction({ nonce: 7, gasLimit: 100_000n, to: WATCHED, chainId: 31337n, data: FEEDS.encodeFunctionData('setPrice', [2_550_00000000n]), ...fields });
  const tx = Transaction.from(serialized);
  const type = tx.type ?? 0;
  return {
    serialized,
    hash: tx.hash!,
    blockNumber: null,
    from: tx.from!.toLowerCase(),
    to: tx.to?.toLowerCase() ?? null,
    nonce: toQuantity(tx.nonce),
    type: toQuantity(type),
    chainId: toQuantity(tx.chainId),
    gas: toQuantity(tx.gasLimit),
    gasPrice: toQuantity(tx.gasPrice ?? tx.maxFeePerGas!),
    ...(type === 2 ? { maxFeePerGas: toQuantity(tx.maxFeePerGas!), maxPriorityFeePerGas: toQuantity(tx.maxPriorityFeePerGas!) } : {}),
    value: toQuantity(tx.value),
    input: tx.data,
    ...(type >= 1 ? { accessList: tx.accessList ?? [] } : {}),
    v: toQuantity(type === 0 ? tx.signature!.networkV! : tx.signature!.yParity),
    r: tx.signature!.r,
    s: tx.signature!.s,
    ...(type >= 1 ? { yParity: toQuantity(tx.signature!.yParity) } : {}),
  };
}

describe('ocr2ReportMedian', () => {
  it.each([
    [[7n], 7n],
    [[1n, 2n, 3n], 2n],
    // An even count takes the upper middle (index length / 2), as OCR2Aggregator._report does.
    [[1n, 2n, 3n, 4n], 3n],
    [[-5n, -3n, 10n, 11n, 12n], 10n],
    [[-(1n << 191n), 0n, (1n << 191n) - 1n], 0n],
  ])('takes observations[length / 2] of %p', (observations, expected) => {
    expect(ocr2ReportMedian(ocr2Report(observations))).toEqual({ kind: 'median', answer: expected });
  });

  it('refuses a report whose length the aggregator would reject', () => {
    expect(ocr2ReportMedian(ocr2Report([1n, 2n, 3n]) + '00'.repeat(32))).toEqual({ kind: 'invalid', reason: 'report is 288 bytes, the aggregator requires 256 for 3 observations' });
  });

  it('refuses a report without observations', () => {
    expect(ocr2ReportMedian(ocr2Report([]))).toEqual({ kind: 'invalid', reason: 'report has no observations' });
  });

  it('refuses a report that does not decode', () => {
    expect(ocr2ReportMedian('0x1234')).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^report does not decode as \(uint32, bytes32, int192\[\], int192\): /) });
  });
});

describe('decodeFeedCall', () => {
  it('reads setPrice(int256): the answer, updatedAt being the inclusion block’s timestamp', () => {
    expect(decodeFeedCall(FEEDS.encodeFunctionData('setPrice', [2_550_00000000n]))).toEqual({ kind: 'answer', method: 'setPrice', answer: 2_550_00000000n, updatedAt: { kind: 'inclusion-block' } });
    expect(decodeFeedCall(FEEDS.encodeFunctionData('setPrice', [-1n]))).toMatchObject({ answer: -1n });
  });

  it('reads setRoundData(int256,uint256): the answer and the updatedAt it names', () => {
    expect(decodeFeedCall(FEEDS.encodeFunctionData('setRoundData', [99_000_000n, 1_600_000_000n]))).toEqual({
      kind: 'answer',
      method: 'setRoundData',
      answer: 99_000_000n,
      updatedAt: { kind: 'explicit', sec: 1_600_000_000n },
    });
  });

  it('reads an OCR2 transmit: the report’s median', () => {
    const input = transmit(ocr2Report([2_549_00000000n, 2_550_00000000n, 2_551_00000000n, 2_552_00000000n]));
    expect(decodeFeedCall(input)).toEqual({ kind: 'answer', method: 'transmit', answer: 2_551_00000000n, updatedAt: { kind: 'inclusion-block' } });
  });

  it('calls a transmit with a report the aggregator would reject unrecognised', () => {
    expect(decodeFeedCall(transmit(ocr2Report([])))).toEqual({ kind: 'unrecognised', selector: '0xb1dc65a4', reason: 'transmit: report has no observations' });
  });

  it.each([
    ['another function', FEEDS.encodeFunctionData('latestAnswer'), { selector: '0x50d25bcd', reason: 'not a known price update' }],
    ['a plain transfer', '0x', { selector: '0x', reason: 'input shorter than a selector' }],
    ['a truncated setPrice', FEEDS.encodeFunctionData('setPrice', [1n]).slice(0, 40), { selector: '0xf7a30806', reason: expect.stringMatching(/^input does not decode: /) }],
  ])('calls %s unrecognised, never guessed', (_label, input, expected) => {
    expect(decodeFeedCall(input)).toEqual({ kind: 'unrecognised', ...expected });
  });
});

describe('rebuildSignedTransaction', () => {
  it.each([
    ['type 2', { type: 2, maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n }],
    ['type 1 with an access list', { type: 1, gasPrice: 20_000_000_000n, accessList: [{ address: WETH, storageKeys: [ZERO_WORD] }] }],
    ['legacy with EIP-155', { type: 0, gasPrice: 20_000_000_000n }],
  ])('rebuilds %s to the bytes the sender signed', async (_label, fields) => {
    const tx = await pendingRpcTransaction(fields);
    expect(rebuildSignedTransaction(tx)).toEqual({ kind: 'signed', serialized: tx.serialized });
  });

  it('rebuilds a legacy transaction whose node reports no chain id (it is in v)', async () => {
    const { chainId: _omitted, ...tx } = await pendingRpcTransaction({ type: 0, gasPrice: 20_000_000_000n });
    expect(rebuildSignedTransaction(tx)).toEqual({ kind: 'signed', serialized: tx.serialized });
  });

  it('leaves it unavailable, saying why, when a field the node reported does not match the hash', async () => {
    const tx = await pendingRpcTransaction({ type: 2, maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n });
    const rebuilt = rebuildSignedTransaction({ ...tx, gas: toQuantity(100_001n) });
    expect(rebuilt).toEqual({ kind: 'unavailable', reason: expect.stringMatching(new RegExp(`^rebuilt transaction hashes to 0x[0-9a-f]{64}, not ${tx.hash}$`)) });
  });

  it('leaves a blob transaction unavailable', async () => {
    const tx = await pendingRpcTransaction({ type: 2, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    expect(rebuildSignedTransaction({ ...tx, type: '0x3' })).toEqual({ kind: 'unavailable', reason: 'type 3 transactions are not rebuilt' });
  });
});

/** A node answering from a script: `filters` is what eth_newPendingTransactionFilter hands out, in turn. */
class FakeNode {
  readonly calls: { method: string; params: unknown[] }[] = [];
  readonly transactions = new Map<string, unknown>();
  changes: Record<string, string[] | 'gone'> = {};
  private readonly filters: string[];

  constructor(filters: string[]) {
    this.filters = [...filters];
  }

  send = async (method: string, params: unknown[]): Promise<unknown> => {
    this.calls.push({ method, params });
    switch (method) {
      case 'eth_newPendingTransactionFilter':
        return this.filters.shift();
      case 'eth_getFilterChanges': {
        const changes = this.changes[params[0] as string];
        // What ethers makes of anvil's {"code":-32000,"message":"filter not found"}.
        if (changes === undefined || changes === 'gone') throw makeError('could not coalesce error', 'UNKNOWN_ERROR', { error: { code: -32000, message: 'filter not found' }, payload: { method, params, id: 1, jsonrpc: '2.0' } });
        this.changes[params[0] as string] = [];
        return changes;
      }
      case 'eth_getTransactionByHash':
        return this.transactions.get(params[0] as string) ?? null;
      case 'eth_uninstallFilter':
        return true;
      default:
        throw new Error(`unexpected ${method}`);
    }
  };
}

describe('PendingPriceUpdates.poll', () => {
  it('starts a filter on the first poll, then reports pending updates to watched feeds only', async () => {
    // Arrange
    const node = new FakeNode(['0xf1']);
    const update = await pendingRpcTransaction({ type: 2, maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n });
    const other = await pendingRpcTransaction({ type: 2, nonce: 8, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, to: WETH });
    const mined = { ...(await pendingRpcTransaction({ type: 0, nonce: 6, gasPrice: 1n })), blockNumber: '0x10' };
    const goneHash = `0x${'ab'.repeat(32)}`;
    for (const tx of [update, other, mined]) node.transactions.set(tx.hash, tx);
    const watcher = new PendingPriceUpdates(node, { concurrency: 2 });
    watcher.watch(new Map([[WATCHED.toLowerCase(), [WETH]]]));
    node.changes['0xf1'] = [];

    // Act
    const first = await watcher.poll();
    node.changes['0xf1'] = [other.hash, update.hash, mined.hash, goneHash];
    const second = await watcher.poll();

    // Assert
    expect(first).toEqual({ updates: [], hashes: 0, mined: 0, gone: 0, filter: 'created', rpcCalls: 2 });
    expect(second).toEqual({
      updates: [
        {
          txHash: update.hash,
          from: SENDER.address,
          nonce: 7,
          to: WATCHED,
          assets: [WETH],
          gasLimit: 100_000n,
          fees: { kind: 'eip1559', maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n },
          raw: { kind: 'signed', serialized: update.serialized },
          kind: 'answer',
          method: 'setPrice',
          answer: 2_550_00000000n,
          updatedAt: { kind: 'inclusion-block' },
        },
      ],
      hashes: 4,
      mined: 1,
      gone: 1,
      filter: 'existing',
      rpcCalls: 5,
    });
    expect(node.calls.map((c) => c.method)).toEqual([
      'eth_newPendingTransactionFilter',
      'eth_getFilterChanges',
      'eth_getFilterChanges',
      ...Array(4).fill('eth_getTransactionByHash'),
    ]);
  });

  it('reports legacy fees and anything else sent to a watched feed as unrecognised', async () => {
    const node = new FakeNode(['0xf1']);
    const tx = await pendingRpcTransaction({ type: 0, gasPrice: 20_000_000_000n, data: FEEDS.encodeFunctionData('latestAnswer') });
    node.transactions.set(tx.hash, tx);
    node.changes['0xf1'] = [tx.hash];
    const watcher = new PendingPriceUpdates(node);
    watcher.watch(new Map([[WATCHED, [WETH]]]));

    const { updates } = await watcher.poll();

    expect(updates).toEqual([expect.objectContaining({ kind: 'unrecognised', selector: '0x50d25bcd', reason: 'not a known price update', fees: { kind: 'legacy', gasPrice: 20_000_000_000n } })]);
  });

  it('re-creates the filter when the node says it is gone, and says so', async () => {
    // Arrange
    const node = new FakeNode(['0xf1', '0xf2']);
    const update = await pendingRpcTransaction({ type: 2, maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n });
    node.transactions.set(update.hash, update);
    const watcher = new PendingPriceUpdates(node);
    watcher.watch(new Map([[WATCHED, [WETH]]]));
    node.changes['0xf1'] = [];
    await watcher.poll();
    node.changes['0xf1'] = 'gone';
    node.changes['0xf2'] = [update.hash];

    // Act
    const poll = await watcher.poll();

    // Assert
    expect(poll).toMatchObject({ filter: 'recreated', hashes: 1, rpcCalls: 4, updates: [expect.objectContaining({ txHash: update.hash, answer: 2_550_00000000n })] });
    expect(node.calls.slice(2).map((c) => [c.method, ...c.params])).toEqual([
      ['eth_getFilterChanges', '0xf1'],
      ['eth_newPendingTransactionFilter'],
      ['eth_getFilterChanges', '0xf2'],
      ['eth_getTransactionByHash', update.hash],
    ]);
  });

  it('wraps any other failure in PendingPriceUpdatesError with its cause', async () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:8545');
    const watcher = new PendingPriceUpdates({ send: () => Promise.reject(cause) });

    const error = await watcher.poll().catch((err: unknown) => err);

    expect(error).toBeInstanceOf(PendingPriceUpdatesError);
    expect(error).toMatchObject({ message: 'pending price updates: poll failed: connect ECONNREFUSED 127.0.0.1:8545', operation: 'poll', cause });
  });

  it('refuses a transaction the node describes malformed', async () => {
    const node = new FakeNode(['0xf1']);
    node.changes['0xf1'] = [WORD_1];
    node.transactions.set(WORD_1, { hash: WORD_1, from: 'nobody' });
    const watcher = new PendingPriceUpdates(node);

    await expect(watcher.poll()).rejects.toThrow(/^pending price updates: poll failed: eth_getTransactionByHash\(0x0+1\) answered /);
  });

  it('removes its filter on close, and starts a new one on the next poll', async () => {
    const node = new FakeNode(['0xf1', '0xf2']);
    node.changes['0xf1'] = [];
    node.changes['0xf2'] = [];
    const watcher = new PendingPriceUpdates(node);
    await watcher.poll();

    await watcher.close();
    const next = await watcher.poll();

    expect(node.calls.find((c) => c.method === 'eth_uninstallFilter')?.params).toEqual(['0xf1']);
    expect(next.filter).toBe('created');
  });
});

describe('PendingPriceUpdates.resolveAggregators', () => {
  const PROXY = getAddress('0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419');
  const AGGREGATOR = getAddress('0xe62b71cf983019bff55bc83b48601ce8419650cc');
  const SETTABLE = WATCHED;
  const NO_CODE = getAddress('0x000000000000000000000000000000000000dead');
  const SELF_POINTING = '0x2222222222222222222222222222222222222222';
  const word = (address: string) => `0x${address.slice(2).toLowerCase().padStart(64, '0')}`;

  function node(answers: Record<string, () => unknown>) {
    const calls: unknown[][] = [];
    return {
      calls,
      send: async (method: string, params: unknown[]) => {
        calls.push([method, ...params]);
        return answers[(params[0] as { to: string }).to]();
      },
    };
  }
  /** What ethers makes of a revert without data ({"code":3,"message":"execution reverted","data":"0x"} on anvil). */
  const revert = () => {
    throw makeError('execution reverted (no data present; likely require(false) occurred', 'CALL_EXCEPTION', { action: 'call', data: '0x', reason: null, transaction: { to: SETTABLE, data: '0x245a7bfc' }, invocation: null, revert: null });
  };

  it('follows a proxy to its aggregator and keeps everything else as its own target', async () => {
    const fake = node({
      [PROXY]: () => word(AGGREGATOR),
      [SETTABLE]: revert,
      [NO_CODE]: () => '0x',
      [SELF_POINTING]: () => word(SELF_POINTING),
    });
    const watcher = new PendingPriceUpdates(fake);

    const result = await watcher.resolveAggregators([PROXY, SETTABLE, NO_CODE, SELF_POINTING], 20);

    expect(result).toEqual({
      resolved: [
        { source: PROXY, target: AGGREGATOR, via: 'aggregator' },
        { source: SETTABLE, target: SETTABLE, via: 'self' },
        { source: NO_CODE, target: NO_CODE, via: 'self' },
        { source: SELF_POINTING, target: SELF_POINTING, via: 'self' },
      ],
      rpcCalls: 4,
    });
    expect(fake.calls[0]).toEqual(['eth_call', { to: PROXY, data: '0x245a7bfc' }, '0x14']);
  });

  it('fails, with the cause, when the node fails rather than the call', async () => {
    const cause = makeError('missing revert data', 'CALL_EXCEPTION', { action: 'call', data: null, reason: null, transaction: { to: PROXY, data: '0x245a7bfc' }, invocation: null, revert: null, info: { error: { code: -32000, message: 'header not found' } } });
    const watcher = new PendingPriceUpdates(node({ [PROXY]: () => Promise.reject(cause) }));

    await expect(watcher.resolveAggregators([PROXY], 20)).rejects.toMatchObject({ name: 'PendingPriceUpdatesError', operation: 'resolveAggregators', cause });
  });
});
