/**
 * The local world's DEX: Uniswap V3 (factory, SwapRouter02, QuoterV2, NonfungiblePositionManager) deployed from
 * the npm artifacts, one pool per pair of listed assets at the oracle prices, and the arbitrage step that keeps
 * pools at the oracle price when a shock moves it.
 *
 * What a liquidator needs from here:
 * - `WorldInfo.dex` (world.ts): `{ factory, swapRouter, quoter, positionManager, pools: DexPool[] }`;
 * - `encodeV3Path([tokenIn, …, tokenOut], [fee, …])` for SwapRouter02.exactInput / QuoterV2.quoteExactInput;
 * - `findPool(pools, a, b)` for the pool of a pair;
 * - `World.setPrice` moves the oracle and the pools in one block; `World.movePool` moves one pool alone.
 */
import type { AssetSymbol } from '../scenario';
import type { UniswapV3Contracts } from './deploy-uniswap';
import type { DexPool } from './pools';

export { deployUniswapV3, UNISWAP_ARTIFACTS, type UniswapV3Contracts } from './deploy-uniswap';
export { FEE_TIERS, type FeeTier, TICK_SPACING } from './fee-tiers';
export { pairName } from './pairs';
export { encodeV3Path } from './path';
export { createPools, type DexPool, type PoolListing } from './pools';
export { movePoolsToTargets, oracleTarget, type PoolTarget, readPoolState } from './arbitrage';
export { sqrtPriceX96FromPrices } from './price-math';

/** A deployed local DEX: the Uniswap contracts and the pools (JSON-serialisable; `WorldInfo.dex`). */
export interface DexDeployment extends UniswapV3Contracts {
  pools: DexPool[];
}

/** The pool between two assets (either order), or undefined when the world has none for that pair. */
export function findPool(pools: readonly DexPool[], a: AssetSymbol, b: AssetSymbol): DexPool | undefined {
  return pools.find((p) => (p.symbol0 === a && p.symbol1 === b) || (p.symbol0 === b && p.symbol1 === a));
}
