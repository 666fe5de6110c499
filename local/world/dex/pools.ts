/**
 * Creates the local DEX's pools: one Uniswap V3 pool per listed pair, initialised at the oracle prices, with one
 * full-range position from the DEX liquidity provider's account.
 *
 * Depth: `depthUsd` is the USD value of EACH side of a pool's liquidity at the price it opens at — the pool
 * holds `depthUsd` worth of token0 and `depthUsd` worth of token1 (2 × depthUsd in all), valued at the oracle
 * prices, rounded down to whole token units of the smallest decimal. The position spans the full tick range (the
 * widest multiples of the tick spacing), so the pool behaves as a constant-product pool: selling X USD worth of
 * one token into depth D pays an average price D / (D + X) of the pre-trade price before the fee (a price impact
 * of X / (D + X): 0.4 % for $200k into $50M) and leaves the pool price at (D / (D + X))² of where it was.
 */
import { Contract, MaxUint256 } from 'ethers';
import type { Deployer } from '../deployer';
import type { AssetSymbol } from '../scenario';
import type { UniswapV3Contracts } from './deploy-uniswap';
import { UNISWAP_ARTIFACTS } from './deploy-uniswap';
import { type FeeTier, TICK_SPACING } from './fee-tiers';
import { pairName } from './pairs';
import { amountForUsd, fullRangeTicks, sqrtPriceX96FromPrices } from './price-math';

/** A pool of the local DEX, as the world reports it (JSON-serialisable). */
export interface DexPool {
  /** Canonical pair name, base/quote: `WETH/USDC`, `WBTC/USDC`, `WBTC/WETH`. */
  pair: string;
  /** The pool's token0 (the lower address) and token1, and their asset symbols. */
  token0: string;
  token1: string;
  symbol0: AssetSymbol;
  symbol1: AssetSymbol;
  /** Token decimals of token0 and token1. */
  decimals0: number;
  decimals1: number;
  /** Fee tier in hundredths of a bp (500 = 0.05 %): the `fee` of a path or of exactInputSingle. */
  fee: FeeTier;
  address: string;
}

/** One pool to create. `depthUsd`: whole USD per side (see the file header); 0 = no pool for this pair. */
export interface PoolListing {
  assets: [AssetSymbol, AssetSymbol];
  depthUsd: bigint;
  feeTier: FeeTier;
}

/** A listed token with its oracle price at seeding time. */
export interface ListedToken {
  address: string;
  decimals: number;
  priceBase8: bigint;
}

/** `type(uint256).max`: positions are minted in the block they are sent, the deadline never binds locally. */
const NO_DEADLINE = MaxUint256;

/**
 * Creates and initialises each pool at the oracle price, then mints its full-range liquidity from `lp`'s account
 * (TestnetERC20 `mint` is open, so the LP mints what it deposits). Pools with `depthUsd` 0 are skipped.
 * Transactions: one mint and one approval per token, then two per pool.
 */
export async function createPools(
  lp: Deployer,
  uniswap: UniswapV3Contracts,
  tokens: Partial<Record<AssetSymbol, ListedToken>>,
  listings: readonly PoolListing[],
): Promise<DexPool[]> {
  const lpAddress = await lp.signer.getAddress();
  const token = (symbol: AssetSymbol): ListedToken => {
    const t = tokens[symbol];
    if (!t) throw new Error(`DEX pool needs ${symbol}, which is not listed`);
    return t;
  };

  const planned = listings
    .filter((l) => l.depthUsd > 0n)
    .map((l) => {
      const [a, b] = l.assets;
      const [symbol0, symbol1] = BigInt(token(a).address) < BigInt(token(b).address) ? [a, b] : [b, a];
      const t0 = token(symbol0);
      const t1 = token(symbol1);
      return {
        pair: pairName(a, b),
        symbol0,
        symbol1,
        fee: l.feeTier,
        sqrtPriceX96: sqrtPriceX96FromPrices(t0, t1),
        amount0: amountForUsd(l.depthUsd, t0),
        amount1: amountForUsd(l.depthUsd, t1),
      };
    });

  // Fund the LP once per token for all its positions.
  const totals = new Map<AssetSymbol, bigint>();
  for (const p of planned) {
    totals.set(p.symbol0, (totals.get(p.symbol0) ?? 0n) + p.amount0);
    totals.set(p.symbol1, (totals.get(p.symbol1) ?? 0n) + p.amount1);
  }
  for (const [symbol, total] of totals) {
    const t = new Contract(token(symbol).address, TESTNET_ERC20_ABI, lp.signer);
    await lp.send(t, 'mint', [lpAddress, total]);
    await lp.send(t, 'approve', [uniswap.positionManager, total]);
  }

  const manager = lp.at(UNISWAP_ARTIFACTS.positionManager(), uniswap.positionManager);
  const factory = lp.at(UNISWAP_ARTIFACTS.factory(), uniswap.factory);
  const pools: DexPool[] = [];
  for (const p of planned) {
    const token0 = token(p.symbol0).address;
    const token1 = token(p.symbol1).address;
    await lp.send(manager, 'createAndInitializePoolIfNecessary', [token0, token1, p.fee, p.sqrtPriceX96]);
    const { tickLower, tickUpper } = fullRangeTicks(TICK_SPACING[p.fee]);
    await lp.send(manager, 'mint', [
      {
        token0,
        token1,
        fee: p.fee,
        tickLower,
        tickUpper,
        amount0Desired: p.amount0,
        amount1Desired: p.amount1,
        // Nothing else trades while seeding: the position takes what the initial price implies.
        amount0Min: 0n,
        amount1Min: 0n,
        recipient: lpAddress,
        deadline: NO_DEADLINE,
      },
    ]);
    const address = String(await factory.getFunction('getPool').staticCall(token0, token1, p.fee));
    pools.push({ pair: p.pair, token0, token1, symbol0: p.symbol0, symbol1: p.symbol1, decimals0: token(p.symbol0).decimals, decimals1: token(p.symbol1).decimals, fee: p.fee, address });
  }
  return pools;
}

/** The ERC-20 calls the DEX makes on TestnetERC20 (contracts/src/TestnetERC20.sol: `mint` is open to anyone). */
export const TESTNET_ERC20_ABI = [
  'function mint(address to, uint256 amount)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
] as const;
