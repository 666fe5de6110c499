/**
 * Swap quotes from Uniswap V3's QuoterV2 (`quoteExactInput(path, amountIn)`), pinned to the plan's block. QuoterV2
 * is not a view function (it runs the swap and reverts with the result), so it is called with eth_call, as every
 * other read. Routes: the ones configured for the pair (multi-hop through a deep pool, say) and the direct pool
 * at each configured fee tier; the best output wins. A route without a pool or liquidity reverts inside the quoter: no quote from it.
 *
 * Every route of a sale is quoted in ONE eth_call through the deployless quote lens (quote-lens.ts); a node that
 * refuses that call (its gas cap, say) gets one eth_call per route from then on, told once through `onFallback`.
 */
import { Interface, type JsonRpcProvider } from 'ethers';
import { encodeSwapPath, sameAddress, type SwapRoute } from '../../domain';
import type { SwapQuote, SwapQuoter } from '../../ports/liquidator-contract';
import { classifyCallFailure, isRevert, NodeCallError } from './call-failure';
import { lensRefusal } from './lens-refusal';
import { decodeQuoteLens, quoteLensCallData } from './quote-lens';

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
  /** Gas of the quote lens's one call (every route); default quoteGas × routes, at most 50M (a default geth's cap). */
  lensGasCap?: bigint;
  /** Called once if the quote lens is refused and quotes fall back to one eth_call per route. */
  onFallback?: (reason: string) => void;
}

export class UniswapV3Quoter implements SwapQuoter {
  private readonly feeTiers: readonly number[];
  private readonly routes: readonly SwapRoute[];
  private readonly quoteGas: bigint;
  private readonly lensGasCap: bigint;
  private lens = true;

  constructor(
    private readonly provider: JsonRpcProvider,
    readonly quoter: string,
    private readonly options: UniswapV3QuoterOptions = {},
  ) {
    this.feeTiers = options.feeTiers ?? UNISWAP_V3_FEE_TIERS;
    this.routes = options.routes ?? [];
    this.quoteGas = options.quoteGas ?? 5_000_000n;
    this.lensGasCap = options.lensGasCap ?? 50_000_000n;
    for (const route of this.routes) encodeSwapPath(route); // fails at start-up on a malformed route
  }

  /** The routes tried from `tokenIn` to `tokenOut`: the configured ones for the pair and the direct pool at each fee tier. */
  routesFor(tokenIn: string, tokenOut: string): SwapRoute[] {
    const configured = this.routes.filter((r) => sameAddress(r.tokens[0], tokenIn) && sameAddress(r.tokens[r.tokens.length - 1], tokenOut));
    return [...configured, ...this.feeTiers.map((fee) => ({ tokens: [tokenIn, tokenOut], fees: [fee] }))];
  }

  async bestQuote(tokenIn: string, tokenOut: string, amountInUnits: bigint, block: number): Promise<SwapQuote | undefined> {
    if (amountInUnits === 0n) return undefined;
    const routes = this.routesFor(tokenIn, tokenOut);
    const quotes = (this.lens ? await this.quotesByLens(routes, amountInUnits, block) : undefined) ?? (await this.quotesByRoute(routes, amountInUnits, block));
    return quotes.reduce<SwapQuote | undefined>((best, q) => (q && (!best || q.amountOutUnits > best.amountOutUnits) ? q : best), undefined);
  }

  /** Every route in one eth_call; undefined (and per-route quotes from then on) when the node refuses the call. */
  private async quotesByLens(routes: SwapRoute[], amountInUnits: bigint, block: number): Promise<(SwapQuote | undefined)[] | undefined> {
    const perRoute = this.quoteGas * BigInt(routes.length);
    const gas = perRoute < this.lensGasCap ? perRoute : this.lensGasCap;
    const data = quoteLensCallData(this.quoter, routes.map(encodeSwapPath), amountInUnits);
    let result: string;
    try {
      result = (await this.provider.send('eth_call', [{ data, gas: `0x${gas.toString(16)}` }, `0x${block.toString(16)}`])) as string;
    } catch (err) {
      // The node refusing the call for its gas, or a revert of the whole call: per route from now on.
      const failure = classifyCallFailure(err);
      const refusal = lensRefusal(err) ?? (isRevert(failure) ? failure.reason : undefined);
      if (refusal === undefined) {
        if (failure.kind === 'other') throw err;
        throw new NodeCallError(failure, `quote ${routes.length} routes at block ${block}`, { cause: err });
      }
      this.lens = false;
      this.options.onFallback?.(`quote lens refused (${refusal}); one eth_call per route from now on`);
      return undefined;
    }
    return decodeQuoteLens(result, routes.length).map((q, i) =>
      q === undefined ? undefined : { route: routes[i], amountInUnits, amountOutUnits: q.amountOutUnits, swapGasEstimate: q.gasEstimate },
    );
  }

  private async quotesByRoute(routes: SwapRoute[], amountInUnits: bigint, block: number): Promise<(SwapQuote | undefined)[]> {
    const blockTag = `0x${block.toString(16)}`;
    return Promise.all(
      routes.map(async (route): Promise<SwapQuote | undefined> => {
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
  }
}
