/**
 * The swap quoter and the direct liquidationCall simulator on a node that fails or reverts (scripted-node.ts: the
 * answers go through ethers' own error handling): a revert is the call's outcome (no route on that pool; a
 * simulated revert), a node error is not — it is thrown as a retryable NodeCallError, never taken for "no route".
 */
import { NodeCallError } from '../../../functions/adapters/chain/call-failure';
import { AaveV3LiquidationExecutor } from '../../../functions/adapters/chain/aave-v3-liquidation-executor';
import { UniswapV3Quoter } from '../../../functions/adapters/chain/uniswap-v3-quoter';
import { classifyWorkerFailure } from '../../../functions/adapters/failure-classification';
import { NODE_ERRORS, type NodeAnswer, scriptedNode } from './scripted-node';

const WETH = `0x${'aa'.repeat(20)}`;
const USDC = `0x${'bb'.repeat(20)}`;
const QUOTER = `0x${'cc'.repeat(20)}`;
const POOL = `0x${'dd'.repeat(20)}`;
/** Error(string) "SPL" (a Uniswap pool's price-limit revert), ABI-encoded. */
const SPL_REVERT = '0x08c379a00000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000353504c0000000000000000000000000000000000000000000000000000000000';

describe('UniswapV3Quoter on a failing node', () => {
  it('a route whose quote reverts has no quote; the node failing the quote throws a retryable NodeCallError', async () => {
    const reverting = scriptedNode((): NodeAnswer => ({ error: { code: 3, message: 'execution reverted: SPL', data: SPL_REVERT } }));
    const quoter = new UniswapV3Quoter(reverting, QUOTER, { feeTiers: [500] });
    await expect(quoter.bestQuote(WETH, USDC, 10n ** 18n, 100)).resolves.toBeUndefined();
    reverting.destroy();

    for (const error of [NODE_ERRORS.headerNotFound, NODE_ERRORS.rateLimited, NODE_ERRORS.internal]) {
      const failing = scriptedNode((): NodeAnswer => ({ error }));
      const thrown = await new UniswapV3Quoter(failing, QUOTER, { feeTiers: [500] }).bestQuote(WETH, USDC, 10n ** 18n, 100).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(NodeCallError);
      expect(classifyWorkerFailure(thrown)).toBe('retryable');
      failing.destroy();
    }
  });
});

describe('AaveV3LiquidationExecutor.simulate on a failing node', () => {
  const call = { collateralAsset: WETH, debtAsset: USDC, user: `0x${'ee'.repeat(20)}`, debtToCoverUnits: 1_000n, receiveAToken: false };

  it('a revert is a simulated revert; header not found is a retryable NodeCallError, not a revert', async () => {
    const reverting = scriptedNode((): NodeAnswer => ({ error: NODE_ERRORS.revertedWithoutData }));
    await expect(new AaveV3LiquidationExecutor(reverting, POOL).simulate(call, WETH, 100)).resolves.toMatchObject({ kind: 'revert', block: 100 });
    reverting.destroy();

    const failing = scriptedNode((): NodeAnswer => ({ error: NODE_ERRORS.headerNotFound }));
    const thrown = await new AaveV3LiquidationExecutor(failing, POOL).simulate(call, WETH, 100).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(NodeCallError);
    expect(classifyWorkerFailure(thrown)).toBe('retryable');
    failing.destroy();
  });
});
