/**
 * EthersLiquidatorContract.simulate / simulateBatch / estimateBatchGas / revertOf on a scripted node
 * (scripted-node.ts: errors as ethers raises them): a revert is an outcome, named and classified as before; the node
 * failing the call or the gas estimate is thrown as a retryable NodeCallError, never reported as "simulation
 * reverted".
 */
import { Interface } from 'ethers';
import { NodeCallError } from '../../../functions/adapters/chain/call-failure';
import { EthersLiquidatorContract, LIQUIDATOR_ABI } from '../../../functions/adapters/chain/liquidator-contract';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import type { LiquidatorCall } from '../../../functions/ports/liquidator-contract';
import { NODE_ERRORS, type NodeAnswer, scriptedNode } from './scripted-node';

const LIQUIDATOR = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const FROM = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const iface = new Interface(LIQUIDATOR_ABI);
const CALL: LiquidatorCall = {
  collateralAsset: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
  debtAsset: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
  user: '0x1111111111111111111111111111111111111111',
  debtToCoverUnits: 1_000_000n,
  swapPath: '0x',
  amountOutMinimumUnits: 0n,
  minProfitUnits: 1n,
  flashLoan: true,
};
const PROFIT_BELOW_MINIMUM = iface.encodeErrorResult('ProfitBelowMinimum', [-5n, 1n]);

function node(answers: { call?: NodeAnswer; estimate?: NodeAnswer }) {
  return scriptedNode((method) => {
    if (method === 'eth_call') return answers.call ?? { result: iface.encodeFunctionResult('liquidate', [42n]) };
    if (method === 'eth_estimateGas') return answers.estimate ?? { result: '0x61a80' };
    return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } };
  });
}

describe('EthersLiquidatorContract on node errors', () => {
  it('simulates a liquidation through the scripted node', async () => {
    const provider = node({});
    await expect(new EthersLiquidatorContract(provider, LIQUIDATOR).simulate(CALL, FROM, 7)).resolves.toEqual({
      kind: 'ok',
      block: 7,
      gasEstimate: 400_000n,
      gasLimit: 500_000n,
      profitUnits: 42n,
    });
    provider.destroy();
  });

  it('still reports a revert with data as a revert, named and classified', async () => {
    const provider = node({ call: { error: { code: 3, message: 'execution reverted', data: PROFIT_BELOW_MINIMUM } } });
    await expect(new EthersLiquidatorContract(provider, LIQUIDATOR).simulate(CALL, FROM, 7)).resolves.toEqual({
      kind: 'revert',
      block: 7,
      reason: 'ProfitBelowMinimum(-5, 1)',
      revertClass: 'market-moved',
      data: PROFIT_BELOW_MINIMUM,
    });
    provider.destroy();
  });

  it('still reports a revert without data (geth) as a revert', async () => {
    const provider = node({ call: { error: NODE_ERRORS.revertedWithoutData } });
    const simulation = await new EthersLiquidatorContract(provider, LIQUIDATOR).simulate(CALL, FROM, 7);
    expect(simulation).toMatchObject({ kind: 'revert', block: 7, revertClass: 'model' });
    provider.destroy();
  });

  it.each<[string, { call?: NodeAnswer; estimate?: NodeAnswer }, string]>([
    ['header not found on the call', { call: { error: NODE_ERRORS.headerNotFound } }, 'node-error: header not found (code -32000)'],
    ['a rate limit on the call', { call: { error: NODE_ERRORS.rateLimited } }, 'rate-limited: daily request count exceeded, request rate limited (code -32005)'],
    ['header not found on the gas estimate', { estimate: { error: NODE_ERRORS.headerNotFound } }, 'node-error: header not found (code -32000)'],
  ])('throws %s as a retryable NodeCallError, not a revert', async (_case, answers, said) => {
    const provider = node(answers);
    const error = await new EthersLiquidatorContract(provider, LIQUIDATOR).simulate(CALL, FROM, 7).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NodeCallError);
    expect((error as Error).message).toBe(`simulating liquidate of ${CALL.user} at block 7: ${said}`);
    expect(classifyWorkerFailure(error)).toBe('retryable');
    provider.destroy();
  });

  it('throws a batch simulation the node failed as a retryable NodeCallError', async () => {
    const provider = node({ call: { error: NODE_ERRORS.missingTrieNode } });
    const error = await new EthersLiquidatorContract(provider, LIQUIDATOR).simulateBatch([CALL, CALL], FROM, 7).catch((err: unknown) => err);
    expect((error as Error).message).toBe('simulating liquidateBatch of 2 items at block 7: node-error: missing trie node 3c8f…(path ) <nil> (code -32000)');
    expect(classifyWorkerFailure(error)).toBe('retryable');
    provider.destroy();
  });

  it('simulates a batch on the pending block when asked: the call and its gas estimate both at "pending", the result naming the read block', async () => {
    const items = [[true, 1n, 2n, 3n, 0n, 3n, '0x'], [true, 4n, 5n, 6n, 0n, 2n, '0x']];
    const provider = scriptedNode((method) => {
      if (method === 'eth_call') return { result: iface.encodeFunctionResult('liquidateBatch', [items]) };
      if (method === 'eth_estimateGas') return { result: '0x61a80' };
      return { error: { code: -32601, message: `the method ${method} does not exist/is not available` } };
    });

    const simulation = await new EthersLiquidatorContract(provider, LIQUIDATOR).simulateBatch([CALL, CALL], FROM, 7, 'pending');

    expect(simulation).toMatchObject({ kind: 'ok', block: 7, gasEstimate: 400_000n });
    expect(provider.requests.map((r) => [r.method, (r.params as unknown[])[1]])).toEqual([
      ['eth_call', 'pending'],
      ['eth_estimateGas', 'pending'],
    ]);
    provider.destroy();
  });

  it('estimates a batch\'s gas alone: one eth_estimateGas at the block, no eth_call; a revert is an outcome, a node failure is thrown', async () => {
    const provider = node({});
    const contract = new EthersLiquidatorContract(provider, LIQUIDATOR);
    await expect(contract.estimateBatchGas([CALL, CALL], FROM, 7)).resolves.toEqual({ kind: 'ok', block: 7, gasEstimate: 400_000n, gasLimit: 500_000n });
    expect(provider.requests.map((r) => [r.method, (r.params as unknown[])[1]])).toEqual([['eth_estimateGas', '0x7']]);
    provider.destroy();

    const reverting = node({ estimate: { error: { code: 3, message: 'execution reverted', data: PROFIT_BELOW_MINIMUM } } });
    await expect(new EthersLiquidatorContract(reverting, LIQUIDATOR).estimateBatchGas([CALL], FROM, 7)).resolves.toMatchObject({
      kind: 'revert',
      block: 7,
      reason: 'ProfitBelowMinimum(-5, 1)',
    });
    reverting.destroy();

    const failing = node({ estimate: { error: NODE_ERRORS.headerNotFound } });
    const error = await new EthersLiquidatorContract(failing, LIQUIDATOR).estimateBatchGas([CALL, CALL], FROM, 7).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NodeCallError);
    expect((error as Error).message).toBe('estimating liquidateBatch of 2 items at block 7: node-error: header not found (code -32000)');
    failing.destroy();
  });

  it('names the pending block in a failed pending simulation', async () => {
    const provider = node({ call: { error: NODE_ERRORS.internal } });
    const error = await new EthersLiquidatorContract(provider, LIQUIDATOR).simulateBatch([CALL, CALL], FROM, 7, 'pending').catch((err: unknown) => err);
    expect((error as Error).message).toBe('simulating liquidateBatch of 2 items at the pending block: node-error: internal error (code -32603)');
    provider.destroy();
  });
});
