/**
 * ViewContract (functions/adapters/chain/view-contract.ts) against ethers' Contract, which it replaces in the
 * functions, on the same scripted node (scripted-node.ts): the same eth_call, the same values, the same errors for
 * a custom-error revert, an empty answer and a node failure.
 */
import { Contract, Interface, isError } from 'ethers';
import { ViewContract } from '../../../functions/adapters/chain/view-contract';
import { NODE_ERRORS, type NodeAnswer, scriptedNode } from './scripted-node';

const TARGET = '0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2';
const USER = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const ABI = new Interface([
  'function balanceOf(address) view returns (uint256)',
  'function getReserveData(address asset) view returns (tuple(uint256 configuration, uint16 id, address aTokenAddress))',
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
  'function isLiquidationAllowed() view returns (bool)',
  'error ReserveInactive(address asset)',
]);

/** A node answering each eth_call by the function it calls; `answers` may override any of them. */
function node(answers: Partial<Record<string, () => NodeAnswer>> = {}) {
  return scriptedNode((method, params) => {
    if (method !== 'eth_call') return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } };
    const fn = ABI.getFunction((params[0] as { data: string }).data.slice(0, 10))!;
    const answer = answers[fn.name];
    if (answer) return answer();
    switch (fn.name) {
      case 'balanceOf':
        return { result: ABI.encodeFunctionResult(fn, [123_456_789n]) };
      case 'getReserveData':
        return { result: ABI.encodeFunctionResult(fn, [[1n << 200n, 7, USER]]) };
      case 'latestRoundData':
        return { result: ABI.encodeFunctionResult(fn, [9n, -5n, 1_700_000_000n, 1_700_000_012n, 9n]) };
      default:
        return { result: ABI.encodeFunctionResult(fn, [true]) };
    }
  });
}

/** The same call through both, on two fresh nodes with the same script: values, or errors, and the requests. */
async function both(fn: string, args: unknown[], blockTag: number | undefined, answers?: Parameters<typeof node>[0]) {
  const viaView = node(answers);
  const viaContract = node(answers);
  const settle = (p: Promise<unknown>) => p.then((value) => ({ value }), (error: unknown) => ({ error }));
  const view = await settle(new ViewContract(TARGET, ABI, viaView).read(fn, args, blockTag));
  const contract = await settle(new Contract(TARGET, ABI, viaContract).getFunction(fn).staticCall(...args, ...(blockTag === undefined ? [] : [{ blockTag }])));
  const requests = [viaView.requests.map((r) => r.params), viaContract.requests.map((r) => r.params)];
  viaView.destroy();
  viaContract.destroy();
  return { view, contract, requests };
}

describe('ViewContract reads as ethers Contract does', () => {
  it('one output: the value itself, from the same eth_call at the block', async () => {
    const { view, contract, requests } = await both('balanceOf', [USER.toLowerCase()], 0x1234);

    expect(view).toEqual({ value: 123_456_789n });
    expect(contract).toEqual(view);
    expect(requests[0]).toEqual(requests[1]);
    expect(requests[0]).toEqual([[{ to: TARGET.toLowerCase(), data: ABI.encodeFunctionData('balanceOf', [USER]) }, '0x1234']]);
  });

  it('a struct and several outputs: ethers Results with the named fields; no block tag reads the latest block', async () => {
    const reserve = await both('getReserveData', [USER], 9);
    const round = await both('latestRoundData', [], undefined);

    const data = (reserve.view as { value: { configuration: bigint; id: bigint; aTokenAddress: string } }).value;
    expect([data.configuration, data.id, data.aTokenAddress]).toEqual([1n << 200n, 7n, USER]);
    expect((reserve.view as { value: unknown[] }).value.toString()).toBe((reserve.contract as { value: unknown[] }).value.toString());
    const r = (round.view as { value: { answer: bigint; updatedAt: bigint } }).value;
    expect([r.answer, r.updatedAt]).toEqual([-5n, 1_700_000_012n]);
    expect((round.view as { value: unknown[] }).value.toString()).toBe((round.contract as { value: unknown[] }).value.toString());
    expect(round.requests[0]).toEqual(round.requests[1]);
    expect((round.requests[0][0] as unknown[])[1]).toBe('latest');
  });

  it('a revert with a custom error: the same CALL_EXCEPTION, decoded by the ABI', async () => {
    const data = ABI.encodeErrorResult('ReserveInactive', [USER]);
    const { view, contract } = await both('isLiquidationAllowed', [], 5, { isLiquidationAllowed: () => ({ error: { code: 3, message: 'execution reverted', data } }) });

    const viewError = (view as { error: Error & { revert?: { name: string; args: unknown[] }; data?: string } }).error;
    const contractError = (contract as { error: Error & { revert?: unknown; data?: string } }).error;
    expect(isError(viewError, 'CALL_EXCEPTION')).toBe(true);
    expect(viewError.revert?.name).toBe('ReserveInactive');
    expect(viewError.revert?.args).toEqual([USER]);
    expect(viewError.message).toBe(contractError.message);
    expect(viewError.data).toBe(contractError.data);
  });

  it('an empty answer: the same BAD_DATA', async () => {
    const { view, contract } = await both('balanceOf', [USER], 5, { balanceOf: () => ({ result: '0x' }) });

    const viewError = (view as { error: Error }).error;
    expect(isError(viewError, 'BAD_DATA')).toBe(true);
    expect(viewError.message).toBe((contract as { error: Error }).error.message);
  });

  it('a node failure: passed on as ethers raised it, not decoded as a revert', async () => {
    const { view, contract } = await both('balanceOf', [USER], 5, { balanceOf: () => ({ error: NODE_ERRORS.headerNotFound }) });

    // ethers words a failed eth_call as a CALL_EXCEPTION without data; the node's answer stays in `info`.
    const viewError = (view as { error: Error & { revert?: unknown; data?: unknown; info?: unknown } }).error;
    expect(viewError.message).toBe((contract as { error: Error }).error.message);
    expect(JSON.stringify(viewError.info)).toContain('header not found');
    expect(viewError.data ?? null).toBeNull();
    expect(viewError.revert ?? null).toBeNull();
  });

  it('a function the ABI does not have, or the wrong number of arguments: refused before any call', async () => {
    const provider = node();
    const view = new ViewContract(TARGET, ABI, provider);

    await expect(view.read('totalSupply')).rejects.toThrow(`totalSupply with 0 argument(s) is not in the ABI of ${TARGET}`);
    await expect(view.read('balanceOf', [])).rejects.toThrow('balanceOf with 0 argument(s) is not in the ABI');
    expect(provider.requests).toEqual([]);
    provider.destroy();
  });
});
