/**
 * AaveV3PositionReader on a scripted node (scripted-node.ts): a node that fails its calls fails the read with a
 * retryable NodeCallError (not the permanent CALL_EXCEPTION ethers raises), and the failed market snapshot is not
 * kept for the next read. A lens call that panics (arithmetic underflow: a node serving a block while it seals the
 * next) is made once more at the same block before the read fails.
 */
import { AaveV3PositionReader } from '../../../functions/adapters/chain/aave-v3-position-reader';
import { NodeCallError } from '../../../functions/adapters/chain/call-failure';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { NODE_ERRORS, scriptedNode } from './scripted-node';

const POOL = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
const USER = '0x1111111111111111111111111111111111111111';

describe('AaveV3PositionReader on node errors', () => {
  it.each([
    ['header not found', NODE_ERRORS.headerNotFound, 'node-error: header not found (code -32000)'],
    ['a rate limit', NODE_ERRORS.rateLimited, 'rate-limited: daily request count exceeded, request rate limited (code -32005)'],
  ])('fails readPosition on %s with a retryable NodeCallError', async (_case, nodeError, said) => {
    const node = scriptedNode((method) => (method === 'eth_getBlockByNumber' ? { result: null } : { error: nodeError }));
    const reader = new AaveV3PositionReader(node, POOL, 'v3.3');

    const error = await reader.readPosition(USER, 7).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(NodeCallError);
    expect((error as Error).message).toMatch(new RegExp(`^reading the (market|position of ${USER}) at block 7: ${said.replace(/[()]/g, '\\$&')}$`));
    expect(classifyWorkerFailure(error)).toBe('retryable');
    node.destroy();
  });

  it('does not keep a market snapshot the node failed', async () => {
    let calls = 0;
    const node = scriptedNode(() => {
      calls++;
      return { error: NODE_ERRORS.headerNotFound };
    });
    const reader = new AaveV3PositionReader(node, POOL, 'v3.3');

    await expect(reader.marketAt(7)).rejects.toThrow('reading the market at block 7: node-error: header not found (code -32000)');
    const afterFirst = calls;
    await expect(reader.marketAt(7)).rejects.toThrow(NodeCallError);

    expect(calls).toBeGreaterThan(afterFirst);
    node.destroy();
  });

  /** Panic(0x11), as anvil answers a view whose interest math underflows. */
  const PANIC_17 = { code: 3, message: 'execution reverted: panic: arithmetic underflow or overflow (0x11)', data: `0x4e487b71${(17).toString(16).padStart(64, '0')}` };
  const lensCalls = (node: { requests: { method: string; params?: unknown }[] }) => node.requests.filter((r) => r.method === 'eth_call').map((r) => JSON.stringify(r.params));

  it('makes a lens call that panicked once more at the same block, after the pause, and takes its answer', async () => {
    const answers = [{ error: PANIC_17 }, { error: NODE_ERRORS.headerNotFound }];
    const node = scriptedNode((method) => (method === 'eth_call' ? (answers.shift() ?? { error: NODE_ERRORS.headerNotFound }) : { result: null }));
    const reader = new AaveV3PositionReader(node, POOL, 'v3.3', {}, { panicRereadMs: 0 });

    // The second answer (here a node error, so that nothing else needs scripting) is the one the read reports.
    await expect(reader.marketAt(7)).rejects.toThrow('reading the market at block 7: node-error: header not found (code -32000)');
    const calls = lensCalls(node);
    expect(calls).toHaveLength(2);
    expect(calls[1]).toBe(calls[0]);
    expect(JSON.parse(calls[0])[1]).toBe('0x7');
    node.destroy();
  });

  it('fails the read, retryable, when the lens panics again', async () => {
    const node = scriptedNode((method) => (method === 'eth_call' ? { error: PANIC_17 } : { result: null }));
    const error = await new AaveV3PositionReader(node, POOL, 'v3.3', {}, { panicRereadMs: 0 }).marketAt(7).catch((err: unknown) => err);

    expect(error).toMatchObject({ code: 'CALL_EXCEPTION', revert: { name: 'Panic', args: [17] } });
    expect(classifyWorkerFailure(error)).toBe('retryable');
    expect(lensCalls(node)).toHaveLength(2);
    node.destroy();
  });

  it('leaves a revert as ethers raised it (permanent unless an arithmetic panic)', async () => {
    const node = scriptedNode((method) => (method === 'eth_getBlockByNumber' ? { result: null } : { error: { code: 3, message: 'execution reverted', data: '0x12345678' } }));
    const error = await new AaveV3PositionReader(node, POOL, 'v3.3').readPosition(USER, 7).catch((err: unknown) => err);
    expect(error).not.toBeInstanceOf(NodeCallError);
    expect(error).toMatchObject({ code: 'CALL_EXCEPTION', data: '0x12345678' });
    expect(classifyWorkerFailure(error)).toBe('permanent');
    // Not a panic: neither lens call (the market's and the user's) is made again.
    const calls = lensCalls(node);
    expect(calls).toHaveLength(2);
    expect(new Set(calls).size).toBe(2);
    node.destroy();
  });
});
