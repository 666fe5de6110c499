/**
 * Swap quotes from Uniswap V3's QuoterV2 (`quoteExactInput(path, amountIn)`), pinned to the plan's block. QuoterV2
 * is not a view function (it runs the swap and reverts with the result), so it is called with eth_call, as every
 * other read. Routes: the ones configured for the pair (multi-hop through a deep pool, say) and the direct pool
 * at each configured fee tier; the best output wins. A route without a pool or liquidity reverts inside the quoter: no quote from it.
 */
import { Interface, type JsonRpcProvider } from 'ethers';
import { encodeSwapPath, sameAddress, type SwapRoute } from '../../domain';
import type { SwapQuote, SwapQuoter } from '../../ports/liquidator-contract';
import { classifyCallFailure, isRevert, NodeCallError } from './call-failure';

const QUOTER_V2 = new Interface([
  'function quoteExactInput(bytes path, uint256 amountIn) returns (uint256 amountOut, uint160[] sqrtPriceX96AfterList, uint32[] initializedTicksCrossedList, uint256 gasEstimate)',
]);

/** Uniswap V3's fee tiers (hundredths of a bp). */
export const UNISWAP_V3_FEE_TIERS = [100, 500, 3_000, 10_000] as const;

export interface UniswapV3QuoterOptions {
  /** Direct pools tried for a pair without a configured route. */
  feeTiers?: readonly number[];
  /** Explicit routes (multi-hop or a single chosen pool), tried beside the direct pools for their pair. */
  routes?: readonly SwapRoute[];
  /** eth_call gas for one quote (a quote crossing many ticks is expensive; nodes cap eth_call gas). */
  quoteGas?: bigint;
}

export class UniswapV3Quoter implements SwapQuoter {
  private readonly feeTiers: readonly number[];
  private readonly routes: readonly SwapRoute[];
  private readonly quoteGas: bigint;

  constructor(
    private readonly provider: JsonRpcProvider,
    readonly quoter: string,
    options: UniswapV3QuoterOptions = {},
  ) {
    this.feeTiers = options.feeTiers ?? UNISWAP_V3_FEE_TIERS;
    this.routes = options.routes ?? [];
    this.quoteGas = options.quoteGas ?? 5_000_000n;
    for (const route of this.routes) encodeSwapPath(route); // fails at start-up on a malformed route
  }

  /** The routes tried from `tokenIn` to `tokenOut`: the configured ones for the pair and the direct pool at each fee tier. */
  routesFor(tokenIn: string, tokenOut: string): SwapRoute[] {
    const configured = this.routes.filter((r) => sameAddress(r.tokens[0], tokenIn) && sameAddress(r.tokens[r.tokens.length - 1], tokenOut));
    return [...configured, ...this.feeTiers.map((fee) => ({ tokens: [tokenIn, tokenOut], fees: [fee] }))];
  }

  async bestQuote(tokenIn: string, tokenOut: string, amountInUnits: bigint, block: number): Promise<SwapQuote | undefined> {
    if (amountInUnits === 0n) return undefined;
    const blockTag = `0x${block.toString(16)}`;
    const quotes = await Promise.all(
      this.routesFor(tokenIn, tokenOut).map(async (route): Promise<SwapQuote | undefined> => {
        const data = QUOTER_V2.encodeFunctionData('quoteExactInput', [encodeSwapPath(route), amountInUnits]);
        try {
          const result = (await this.provider.send('eth_call', [{ to: this.quoter, data, gas: `0x${this.quoteGas.toString(16)}` }, blockTag])) as string;
          const [amountOut, , , gasEstimate] = QUOTER_V2.decodeFunctionResult('quoteExactInput', result) as unknown as [bigint, unknown, unknown, bigint];
          return { route, amountInUnits, amountOutUnits: amountOut, swapGasEstimate: gasEstimate };
        } catch (err) {
          const failure = classifyCallFailure(err);
          if (isRevert(failure)) return undefined; // no pool, or not enough liquidity on this route
          // The node failing the quote is not "no route": retryable, never a skip.
          if (failure.kind === 'other') throw err;
          throw new NodeCallError(failure, `quote ${route.tokens.join('→')} at block ${block}`, { cause: err });
        }
      }),
    );
    return quotes.reduce<SwapQuote | undefined>((best, q) => (q && (!best || q.amountOutUnits > best.amountOutUnits) ? q : best), undefined);
  }
}
