import { Contract, type JsonRpcPayload, type JsonRpcProvider, type JsonRpcResult } from 'ethers';
import { CONSTANT_FEED_RUNTIME_BYTECODE } from '../../../functions/adapters/chain/constant-feed';
import {
  mergeOverrides,
  paramsWithOverride,
  priceOverride,
  type StateOverride,
  StateOverrideConflictError,
  withStateOverride,
} from '../../../functions/adapters/chain/price-override';
import { createJsonRpcProvider } from '../../../functions/adapters/chain/provider';

const FEED = '0x5424384B256154046E9667dDFaaa5e550145215e';
const LENS = '0x000000000000000000000000000000004c454e53';
const TARGET = '0x1111111111111111111111111111111111111111';
const slot = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const ANSWER_2550 = 2_550_00000000n;

describe('priceOverride', () => {
  it('places ConstantFeed at the feed with its four documented slots', () => {
    const override = priceOverride({ feed: FEED, answer: ANSWER_2550, decimals: 8, updatedAtSec: 1_700_000_000n, roundId: (2n << 64n) | 7n });

    expect(override).toEqual({
      [FEED.toLowerCase()]: {
        code: CONSTANT_FEED_RUNTIME_BYTECODE,
        state: {
          [slot(0)]: '0x0000000000000000000000000000000000000000000000000000003b5f2f3600', // 255,000,000,000
          [slot(1)]: '0x000000000000000000000000000000000000000000000000000000006553f100', // 1,700,000,000
          [slot(2)]: '0x0000000000000000000000000000000000000000000000000000000000000008',
          [slot(3)]: '0x0000000000000000000000000000000000000000000000020000000000000007', // phase 2, round 7
        },
      },
    });
  });

  it.each([
    [-1n, `0x${'f'.repeat(64)}`],
    [-(1n << 255n), `0x8${'0'.repeat(63)}`],
    [(1n << 255n) - 1n, `0x7${'f'.repeat(63)}`],
  ])('writes the answer %p as its int256 two’s complement', (answer, expected) => {
    const override = priceOverride({ feed: FEED, answer, decimals: 8, updatedAtSec: 0n, roundId: 0n });
    expect(override[FEED.toLowerCase()].state![slot(0)]).toBe(expected);
  });

  it.each([
    [{ answer: 1n << 255n }, 'answer 57896044618658097711785492504343953926634992332820282019728792003956564819968 does not fit an int256'],
    [{ decimals: 256 }, 'decimals 256 is not a uint8'],
    [{ decimals: 1.5 }, 'decimals 1.5 is not a uint8'],
    [{ updatedAtSec: -1n }, 'updatedAtSec -1 is not a uint256'],
    [{ roundId: 1n << 80n }, 'roundId 1208925819614629174706176 is not a uint80'],
    [{ feed: '0x1234' }, 'feed "0x1234" is not an address'],
  ])('refuses %p rather than let the contract truncate it', (change, message) => {
    const price = { feed: FEED, answer: 1n, decimals: 8, updatedAtSec: 0n, roundId: 0n, ...change };
    expect(() => priceOverride(price)).toThrow(new RangeError(message));
  });
});

describe('mergeOverrides', () => {
  it('puts both overrides in one object', () => {
    expect(mergeOverrides({ [LENS]: { code: '0x00' } }, { [TARGET]: { code: '0x01' } })).toEqual({ [LENS]: { code: '0x00' }, [TARGET]: { code: '0x01' } });
  });

  it('refuses one address in both, whatever its case', () => {
    const a = { [FEED]: { code: '0x00' } };
    const b = { [FEED.toLowerCase()]: { code: '0x01' } };
    expect(() => mergeOverrides(a, b)).toThrow(StateOverrideConflictError);
    expect(() => mergeOverrides(a, b)).toThrow(`state overrides conflict: both override ${FEED.toLowerCase()}`);
  });
});

describe('paramsWithOverride', () => {
  const ours: StateOverride = { [TARGET]: { code: '0x01' } };
  const call = { to: TARGET, data: '0x' };

  it.each([
    ['eth_call at a block', [call, '0x10'], [call, '0x10', ours]],
    ['eth_estimateGas as ethers sends it (no block)', [call], [call, null, ours]],
    ['a caller’s null override', [call, 'latest', null], [call, 'latest', ours]],
    ['a caller’s override, merged', [call, 'latest', { [LENS]: { code: '0x00' } }], [call, 'latest', { [LENS]: { code: '0x00' }, ...ours }]],
    ['block overrides after it, kept', [call, 'latest', {}, { time: '0x1' }], [call, 'latest', ours, { time: '0x1' }]],
  ])('%s', (_label, params, expected) => {
    expect(paramsWithOverride(params, ours)).toEqual(expected);
  });
});

describe('withStateOverride', () => {
  const override = priceOverride({ feed: FEED, answer: ANSWER_2550, decimals: 8, updatedAtSec: 1_700_000_000n, roundId: 1n });
  const WORD = `0x${'0'.repeat(63)}1`;
  let inner: JsonRpcProvider;
  let wrapped: JsonRpcProvider;
  let sent: JsonRpcPayload[];

  beforeEach(() => {
    // The pipeline's own provider, with its transport answered here instead of by a node.
    inner = createJsonRpcProvider('http://127.0.0.1:9', 31337n);
    sent = [];
    jest.spyOn(inner, '_send').mockImplementation(async (payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> => {
      const payloads = Array.isArray(payload) ? payload : [payload];
      sent.push(...payloads);
      return payloads.map((p) => ({ id: p.id, result: p.method === 'eth_estimateGas' ? '0x5208' : p.method === 'eth_blockNumber' ? '0x10' : WORD }));
    });
    wrapped = withStateOverride(inner, override);
  });

  afterEach(() => {
    wrapped.destroy();
    inner.destroy();
  });

  it('adds the override to provider.call', async () => {
    await wrapped.call({ to: TARGET, data: '0x50d25bcd' });
    expect(sent).toHaveLength(1);
    expect(sent[0].method).toBe('eth_call');
    expect(sent[0].params).toEqual([{ to: TARGET.toLowerCase(), data: '0x50d25bcd' }, 'latest', override]);
  });

  it('adds the override to provider.estimateGas, with a null block before it', async () => {
    const gas = await wrapped.estimateGas({ to: TARGET, data: '0x' });
    expect(gas).toBe(21_000n);
    expect(sent.map((p) => p.method)).toEqual(['eth_estimateGas']);
    expect(sent[0].params).toEqual([{ to: TARGET.toLowerCase(), data: '0x' }, null, override]);
  });

  it('adds the override to a Contract call pinned to a block', async () => {
    const feed = new Contract(TARGET, ['function latestAnswer() view returns (int256)'], wrapped);
    expect(await feed.latestAnswer({ blockTag: 16 })).toBe(1n);
    expect(sent[0].params).toEqual([{ to: TARGET.toLowerCase(), data: '0x50d25bcd' }, '0x10', override]);
  });

  it('merges the override a lens passes itself', async () => {
    const lens = { [LENS]: { code: '0x00' } };
    await wrapped.send('eth_call', [{ to: LENS, data: '0x' }, '0x10', lens]);
    expect(sent[0].params).toEqual([{ to: LENS, data: '0x' }, '0x10', { ...lens, ...override }]);
  });

  it('refuses a caller’s override of the same feed without sending anything', async () => {
    const conflicting = { [FEED]: { code: '0x00' } };
    await expect(wrapped.send('eth_call', [{ to: FEED, data: '0x' }, 'latest', conflicting])).rejects.toThrow(`state overrides conflict: both override ${FEED.toLowerCase()}`);
    expect(sent).toEqual([]);
  });

  it('leaves every other method alone', async () => {
    expect(await wrapped.send('eth_blockNumber', [])).toBe('0x10');
    expect(sent[0].params).toEqual([]);
  });

  it('keeps the inner provider’s options and leaves the inner provider untouched', async () => {
    expect(wrapped._getOption('batchMaxCount')).toBe(1);
    expect(wrapped._getOption('cacheTimeout')).toBe(-1);
    expect(wrapped._getOption('staticNetwork')).toBe(inner._getOption('staticNetwork'));
    expect(wrapped._getConnection().url).toBe('http://127.0.0.1:9');

    await inner.call({ to: TARGET, data: '0x' });
    expect(sent[0].params).toEqual([{ to: TARGET.toLowerCase(), data: '0x' }, 'latest']);
  });
});
