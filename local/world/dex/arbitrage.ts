/**
 * Moves pools of the local DEX to target prices, as arbitrageurs do on a real market after an oracle update: the
 * arbitrageur account swaps through SwapRouter02.exactInputSingle with `sqrtPriceLimitX96` = the target, so the
 * pool stops exactly there and takes only the input it needs (the router's callback pays the pool's delta).
 * The arbitrageur mints its input (TestnetERC20 `mint` is open) and keeps what it buys.
 */
import { Contract, Interface, type InterfaceAbi, type JsonRpcProvider, MaxUint256 } from 'ethers';
import type { AssetSymbol } from '../scenario';
import { UNISWAP_ARTIFACTS } from './deploy-uniswap';
import type { DexPool } from './pools';
import { TESTNET_ERC20_ABI } from './pools';
import { MAX_SQRT_RATIO, MIN_SQRT_RATIO, sqrtPriceX96FromPrices, swapInputToReachPrice } from './price-math';
import { type MiningMode, type RawCall, sendInOneBlock } from './same-block';

/** A pool and the sqrtPriceX96 it should be moved to. */
export interface PoolTarget {
  pool: DexPool;
  sqrtPriceX96: bigint;
}

/** Gas limits of the arbitrage transactions (explicit, see same-block.ts); a full-range swap uses ~120k. */
const GAS = { mint: 120_000n, approve: 80_000n, swap: 3_000_000n } as const;

/** Rounds after the first when a pool did not reach its target (someone else's swap or liquidity in the way). */
const MAX_EXTRA_ROUNDS = 3;

const erc20 = new Interface(TESTNET_ERC20_ABI);
let routerInterface: Interface | undefined;
let poolInterface: Interface | undefined;
const router = () => (routerInterface ??= new Interface(UNISWAP_ARTIFACTS.swapRouter02().abi as InterfaceAbi));
const poolAbi = () => (poolInterface ??= new Interface(UNISWAP_ARTIFACTS.pool().abi as InterfaceAbi));

/**
 * The target of `pool` implied by USD oracle prices (8 decimals) of its two assets: the price at which a swap
 * through the pool pays what the oracle says, before fee and impact.
 */
export function oracleTarget(pool: DexPool, pricesBase8: Partial<Record<AssetSymbol, bigint>>): PoolTarget {
  const price = (symbol: AssetSymbol) => {
    const p = pricesBase8[symbol];
    if (p === undefined) throw new Error(`moving pool ${pool.pair} needs a ${symbol} price`);
    return p;
  };
  return {
    pool,
    sqrtPriceX96: sqrtPriceX96FromPrices(
      { priceBase8: price(pool.symbol0), decimals: pool.decimals0 },
      { priceBase8: price(pool.symbol1), decimals: pool.decimals1 },
    ),
  };
}

/** A pool's current sqrtPriceX96 and active liquidity at `blockTag`. */
export async function readPoolState(
  provider: JsonRpcProvider,
  poolAddress: string,
  blockTag: number | 'latest' = 'latest',
): Promise<{ sqrtPriceX96: bigint; tick: number; liquidity: bigint }> {
  const pool = new Contract(poolAddress, poolAbi(), provider);
  const [slot0, liquidity] = await Promise.all([
    pool.getFunction('slot0').staticCall({ blockTag }) as Promise<{ sqrtPriceX96: bigint; tick: bigint }>,
    pool.getFunction('liquidity').staticCall({ blockTag }) as Promise<bigint>,
  ]);
  return { sqrtPriceX96: slot0.sqrtPriceX96, tick: Number(slot0.tick), liquidity };
}

/**
 * The transactions that move each pool to its target from the current (latest) state: per input token, a mint
 * to the arbitrageur when its balance is short and an approval of the router when the allowance is; then one
 * exactInputSingle per pool not at its target. Each swap offers twice the computed input (plus one whole token)
 * so liquidity added since does not leave it short; the pool takes only what reaching the limit costs.
 */
export async function planPoolMoves(
  provider: JsonRpcProvider,
  swapRouter: string,
  arbitrageur: string,
  targets: readonly PoolTarget[],
): Promise<RawCall[]> {
  const swaps: { target: PoolTarget; tokenIn: string; tokenOut: string; amountIn: bigint }[] = [];
  for (const target of targets) {
    const { pool, sqrtPriceX96 } = target;
    if (sqrtPriceX96 <= MIN_SQRT_RATIO || sqrtPriceX96 >= MAX_SQRT_RATIO) throw new Error(`target price of ${pool.pair} is out of range`);
    const state = await readPoolState(provider, pool.address);
    const move = swapInputToReachPrice(state.liquidity, state.sqrtPriceX96, sqrtPriceX96, pool.fee);
    if (move.kind === 'at-target') continue;
    swaps.push({
      target,
      tokenIn: move.zeroForOne ? pool.token0 : pool.token1,
      tokenOut: move.zeroForOne ? pool.token1 : pool.token0,
      amountIn: move.amountIn * 2n + 10n ** BigInt(move.zeroForOne ? pool.decimals0 : pool.decimals1),
    });
  }

  const needs = new Map<string, bigint>();
  for (const s of swaps) needs.set(s.tokenIn, (needs.get(s.tokenIn) ?? 0n) + s.amountIn);
  const calls: RawCall[] = [];
  for (const [tokenIn, need] of needs) {
    const token = new Contract(tokenIn, erc20, provider);
    const [balance, allowance] = await Promise.all([
      token.getFunction('balanceOf').staticCall(arbitrageur) as Promise<bigint>,
      token.getFunction('allowance').staticCall(arbitrageur, swapRouter) as Promise<bigint>,
    ]);
    if (balance < need) {
      calls.push({ label: `mint ${tokenIn} to the arbitrageur`, from: arbitrageur, to: tokenIn, data: erc20.encodeFunctionData('mint', [arbitrageur, need - balance]), gas: GAS.mint, mustSucceed: true });
    }
    if (allowance < need) {
      calls.push({ label: `approve ${tokenIn} to the router`, from: arbitrageur, to: tokenIn, data: erc20.encodeFunctionData('approve', [swapRouter, MaxUint256]), gas: GAS.approve, mustSucceed: true });
    }
  }
  for (const s of swaps) {
    calls.push({
      label: `arbitrage swap on ${s.target.pool.pair}`,
      from: arbitrageur,
      to: swapRouter,
      data: router().encodeFunctionData('exactInputSingle', [
        {
          tokenIn: s.tokenIn,
          tokenOut: s.tokenOut,
          fee: s.target.pool.fee,
          recipient: arbitrageur,
          amountIn: s.amountIn,
          amountOutMinimum: 0n,
          sqrtPriceLimitX96: s.target.sqrtPriceX96,
        },
      ]),
      gas: GAS.swap,
      // A swap planned on a state another swap changed first may revert; the pool's price after the block decides.
      mustSucceed: false,
    });
  }
  return calls;
}

export interface PoolMoveOptions {
  swapRouter: string;
  arbitrageur: string;
  mining: MiningMode;
  /** Sent first, in the same block as the first round of swaps (e.g. the oracle update). */
  leading?: RawCall[];
  /** Runs around each block this mines while mining is paused (sendInOneBlock's `beforeBlock`). */
  beforeBlock?: () => Promise<void>;
}

/**
 * Moves every target pool to its price. The leading calls and the swaps are mined in ONE block; only when a pool
 * did not get there (a pending swap of someone else's landed first in that block, or liquidity the plan did not
 * see) do further rounds follow, one block each. Resolves with the first block (the one holding the leading
 * calls) and the block after which every pool is at its target; throws when one is not after the last round.
 */
export async function movePoolsToTargets(
  provider: JsonRpcProvider,
  targets: readonly PoolTarget[],
  options: PoolMoveOptions,
): Promise<{ firstBlock: number; settledBlock: number }> {
  const leading = options.leading ?? [];
  let pending = [...targets];
  let firstBlock: number | undefined;
  let settledBlock = 0;
  for (let round = 0; round <= MAX_EXTRA_ROUNDS && (pending.length > 0 || round === 0); round++) {
    const { blockNumber, mined } = await sendInOneBlock(provider, options.mining, async () => [
      ...(round === 0 ? leading : []),
      ...(await planPoolMoves(provider, options.swapRouter, options.arbitrageur, pending)),
    ], options.beforeBlock);
    firstBlock ??= blockNumber;
    settledBlock = blockNumber;
    const fatal = mined.find((m) => m.receipt.status !== 1 && m.call.mustSucceed);
    if (fatal) throw new Error(`${fatal.call.label} reverted (tx ${fatal.receipt.hash})`);
    const states = await Promise.all(pending.map((t) => readPoolState(provider, t.pool.address, blockNumber)));
    pending = pending.filter((t, i) => states[i].sqrtPriceX96 !== t.sqrtPriceX96);
  }
  if (pending.length > 0) {
    throw new Error(`pools ${pending.map((t) => t.pool.pair).join(', ')} did not reach their target price after ${MAX_EXTRA_ROUNDS + 1} rounds`);
  }
  return { firstBlock: firstBlock!, settledBlock };
}
