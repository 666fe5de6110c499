import { AbiCoder, type JsonRpcProvider } from 'ethers';
import { NodeCallError } from '../../../functions/adapters/chain/call-failure';
import { AaveV3HealthScanner } from '../../../functions/adapters/chain/health-scan';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { NODE_ERRORS, type NodeAnswer, scriptedNode } from './scripted-node';

const POOL = '0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2';
const USERS = ['0x1111111111111111111111111111111111111111', '0x2222222222222222222222222222222222222222'];
const coder = AbiCoder.defaultAbiCoder();

/**
 * A node stand-in that refuses eth_call's third (state override) argument the way geth-style nodes without
 * override support answer, and serves plain getUserAccountData / getUserConfiguration calls.
 */
function nodeWithoutOverrides(calls: unknown[][]): JsonRpcProvider {
  return {
    send: async (method: string, params: unknown[]) => {
      calls.push(params);
      if (method !== 'eth_call') throw new Error(`unexpected ${method}`);
      if (params.length > 2) throw Object.assign(new Error('invalid params: too many arguments, want at most 2'), { code: -32602 });
      const data = (params[0] as { data: string }).data;
      const user = BigInt(`0x${data.slice(10)}`);
      if (data.startsWith('0xbf92857c')) {
        return coder.encode(['uint256', 'uint256', 'uint256', 'uint256', 'uint256', 'uint256'], [100n, 50n, 0n, 8250n, 8000n, user]);
      }
      return coder.encode(['uint256'], [3n]);
    },
  } as unknown as JsonRpcProvider;
}

describe('health scan fallback', () => {
  it('falls back to per-account calls, says so once, and returns the same shape', async () => {
    const calls: unknown[][] = [];
    const notices: string[] = [];
    const scanner = new AaveV3HealthScanner(nodeWithoutOverrides(calls), POOL, { onFallback: (reason) => notices.push(reason) });

    const first = await scanner.scan(USERS, 7);
    expect(first.mode).toBe('per-account');
    expect(first.accounts.map((a) => [a.user, a.totalCollateralBase, a.healthFactorWad, a.userConfiguration])).toEqual([
      [USERS[0], 100n, BigInt(USERS[0]), 3n],
      [USERS[1], 100n, BigInt(USERS[1]), 3n],
    ]);
    // Every fallback call is pinned to the requested block.
    expect(calls.slice(1).every((params) => params[1] === '0x7')).toBe(true);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/node refused the eth_call state override \(invalid params/);

    await scanner.scan(USERS, 8);
    expect(scanner.currentMode).toBe('per-account');
    expect(notices).toHaveLength(1);
  });

  it('does not mistake a transport failure for a refused override', async () => {
    const failing = { send: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8545')) } as unknown as JsonRpcProvider;
    const scanner = new AaveV3HealthScanner(failing, POOL);
    await expect(scanner.scan(USERS, 7)).rejects.toThrow('connect ECONNREFUSED 127.0.0.1:8545');
    expect(scanner.currentMode).toBe('lens-override');
  });
});

describe('health scan with an account the Pool cannot report on', () => {
  it('isolates the reverting account by splitting its chunk and reads everyone else', async () => {
    const bad = USERS[1];
    let calls = 0;
    const node = {
      send: async (_method: string, params: unknown[]) => {
        calls++;
        const data = (params[0] as { data: string }).data;
        // Users are the 32-byte words after selector, pool, offset and length.
        const users = (data.slice(10 + 64 * 3).match(/.{64}/g) ?? []).map((w) => `0x${w.slice(24)}`);
        if (users.includes(bad)) {
          throw Object.assign(new Error('execution reverted: Panic due to OVERFLOW(17)'), { code: 'CALL_EXCEPTION', shortMessage: 'execution reverted: Panic due to OVERFLOW(17)' });
        }
        return coder.encode(['uint256[]'], [users.flatMap((u) => [1n, 2n, 3n, 4n, 5n, BigInt(u), 0n])]);
      },
    } as unknown as JsonRpcProvider;
    const users = [USERS[0], bad, '0x3333333333333333333333333333333333333333', '0x4444444444444444444444444444444444444444'];
    const scanner = new AaveV3HealthScanner(node, POOL, { chunkSize: 4 });

    const result = await scanner.scan(users, 9);
    expect(result.accounts.map((a) => a.user)).toEqual([users[0], users[2], users[3]]);
    expect(result.unreadable).toEqual([{ user: bad, reason: 'execution reverted: Panic due to OVERFLOW(17)' }]);
    // 4 → [2 | 2] → the reverting pair → [1 | 1]: five calls, counted for cost accounting.
    expect(result.rpcCalls).toBe(5);
    expect(calls).toBe(5);
  });
});

/**
 * The same scanner on a real ethers JsonRpcProvider whose transport is scripted (scripted-node.ts): every node
 * error reaches the scanner the way ethers raises it (a CALL_EXCEPTION "missing revert data" with the node's
 * error in info.error), not as a hand-made error.
 */
describe('health scan on errors as ethers raises them', () => {
  const accountData = (user: string) => coder.encode(['uint256', 'uint256', 'uint256', 'uint256', 'uint256', 'uint256'], [100n, 50n, 0n, 8250n, 8000n, BigInt(user)]);
  const lensWords = (users: string[]) => coder.encode(['uint256[]'], [users.flatMap((u) => [100n, 50n, 0n, 8250n, 8000n, BigInt(u), 3n])]);
  const usersOfLensCall = (data: string) => (data.slice(10 + 64 * 3).match(/.{64}/g) ?? []).map((w) => `0x${w.slice(24)}`);
  const userOfCall = (data: string) => `0x${data.slice(10 + 24)}`;

  /** A Pool and lens stand-in: `lens` answers calls with an override, `perAccount` the plain ones (default: serve). */
  function pool(behaviour: { lens?: (users: string[]) => NodeAnswer; perAccount?: (user: string, selector: string) => NodeAnswer | undefined }) {
    return scriptedNode((method, params) => {
      if (method !== 'eth_call') return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } };
      const data = (params[0] as { data: string }).data;
      if (params.length > 2) return behaviour.lens ? behaviour.lens(usersOfLensCall(data)) : { result: lensWords(usersOfLensCall(data)) };
      const user = userOfCall(data);
      const answer = behaviour.perAccount?.(user, data.slice(0, 10));
      if (answer) return answer;
      return { result: data.startsWith('0xbf92857c') ? accountData(user) : coder.encode(['uint256'], [3n]) };
    });
  }

  const expectedAccounts = (users: string[]) => users.map((user) => expect.objectContaining({ user, totalCollateralBase: 100n, healthFactorWad: BigInt(user), userConfiguration: 3n }));

  it.each([
    ['geth (too many arguments)', NODE_ERRORS.overrideTooManyArguments, 'too many arguments, want at most 2 (code -32602)'],
    ['Hardhat', NODE_ERRORS.overrideHardhat, 'Expected between 1 and 2 arguments and got 3 (code -32602)'],
  ])('falls back once when %s refuses the override, and reads the same accounts', async (_case, refusal, said) => {
    // Arrange
    const notices: string[] = [];
    const node = pool({ lens: () => ({ error: refusal }) });
    const scanner = new AaveV3HealthScanner(node, POOL, { onFallback: (reason) => notices.push(reason) });

    // Act
    const first = await scanner.scan(USERS, 7);
    const second = await scanner.scan(USERS, 8);

    // Assert
    expect(first).toMatchObject({ mode: 'per-account', unreadable: [], accounts: expectedAccounts(USERS) });
    expect(second.mode).toBe('per-account');
    expect(notices).toEqual([`node refused the eth_call state override (${said}); reading accounts one call each`]);
    expect(node.requests.filter((r) => (r.params as unknown[]).length > 2)).toHaveLength(1);
    node.destroy();
  });

  it('falls back when the node ignores the override (an empty result)', async () => {
    const notices: string[] = [];
    const node = pool({ lens: () => ({ result: '0x' }) });
    const scanner = new AaveV3HealthScanner(node, POOL, { onFallback: (reason) => notices.push(reason) });

    const result = await scanner.scan(USERS, 7);

    expect(result).toMatchObject({ mode: 'per-account', unreadable: [], accounts: expectedAccounts(USERS) });
    expect(notices).toEqual(['node refused the eth_call state override (the call returned no data: the node ignored the override); reading accounts one call each']);
    node.destroy();
  });

  it.each([
    ['header not found', NODE_ERRORS.headerNotFound, 'node-error: header not found (code -32000)'],
    ['a rate limit', NODE_ERRORS.rateLimited, 'rate-limited: daily request count exceeded, request rate limited (code -32005)'],
    ['missing trie node', NODE_ERRORS.missingTrieNode, 'node-error: missing trie node'],
  ])('fails the lens scan on %s with a retryable error, without falling back or splitting', async (_case, nodeError, message) => {
    // Arrange
    const notices: string[] = [];
    const node = pool({ lens: () => ({ error: nodeError }) });
    const scanner = new AaveV3HealthScanner(node, POOL, { chunkSize: 2, onFallback: (reason) => notices.push(reason) });

    // Act
    const error = await scanner.scan(USERS, 7).catch((err: unknown) => err);

    // Assert
    expect(error).toBeInstanceOf(NodeCallError);
    expect((error as Error).message).toContain(`health lens call for 2 accounts at block 7: ${message}`);
    expect(classifyWorkerFailure(error)).toBe('retryable');
    expect(scanner.currentMode).toBe('lens-override');
    expect(notices).toEqual([]);
    // No split: a node error is not an account's revert.
    expect(node.requests).toHaveLength(1);
    node.destroy();
  });

  it('fails a per-account scan on a node error instead of calling the account unreadable', async () => {
    const node = pool({ perAccount: (user) => (user === USERS[1] ? { error: NODE_ERRORS.headerNotFound } : undefined) });
    const scanner = new AaveV3HealthScanner(node, POOL, { mode: 'per-account' });

    await expect(scanner.scan(USERS, 7)).rejects.toThrow(`getUserAccountData of ${USERS[1]} at block 7: node-error: header not found (code -32000)`);
    node.destroy();
  });

  it.each([
    ['with data (a Panic)', { code: 3, message: 'execution reverted: panic: arithmetic underflow or overflow (0x11)', data: `0x4e487b71${(17n).toString(16).padStart(64, '0')}` }, 'execution reverted: Panic due to OVERFLOW(17)'],
    ['without data (geth)', NODE_ERRORS.revertedWithoutData, 'execution reverted (code -32000)'],
  ])('still calls an account whose getUserAccountData reverts %s unreadable, in both modes', async (_case, revert, reason) => {
    const bad = USERS[1];
    const node = pool({
      lens: (users) => (users.includes(bad) ? { error: revert } : { result: lensWords(users) }),
      perAccount: (user, selector) => (user === bad && selector === '0xbf92857c' ? { error: revert } : undefined),
    });

    const lens = await new AaveV3HealthScanner(node, POOL).scan(USERS, 7);
    const perAccount = await new AaveV3HealthScanner(node, POOL, { mode: 'per-account' }).scan(USERS, 7);

    expect(lens).toMatchObject({ mode: 'lens-override', accounts: expectedAccounts([USERS[0]]), unreadable: [{ user: bad, reason }] });
    expect(perAccount).toMatchObject({ mode: 'per-account', accounts: expectedAccounts([USERS[0]]), unreadable: [{ user: bad, reason }] });
    node.destroy();
  });
});
