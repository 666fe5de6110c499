import { AbiCoder, type JsonRpcProvider } from 'ethers';
import { AaveV3HealthScanner } from '../../../functions/adapters/chain/health-scan';

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
