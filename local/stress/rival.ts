/**
 * A rival keeper for the stress lab: an independent, simple bot in the same world, competing with the pipeline
 * for the same accounts. It has its own account (anvil dev account 8) and its own funds (the world mints it every
 * asset): no flash loan, no DEX, no batching, no sizing — it calls the Pool's `liquidationCall` directly with
 * `type(uint256).max` (the Pool caps it at the close factor) on the account's largest debt and largest
 * collateral, as the simplest public liquidation bots do.
 *
 * - `naive` reacts `delayBlocks` blocks after it first sees an account liquidatable (default 2) and pays the
 *   node's suggested priority fee;
 * - `fast` reacts at the first head at which it sees the account liquidatable and pays three times the suggested
 *   priority fee, so a builder ordering by fee puts it ahead of a keeper paying the suggestion.
 *
 * It reads every borrower's health at each new head itself (through the same Pool lens as the observer, one
 * call per 500 accounts) rather than through the pipeline's or the observer's view of the chain.
 */
import { Contract, JsonRpcSigner, MaxUint256 } from 'ethers';
import { AaveV3HealthScanner } from '../../functions/adapters/chain/health-scan';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import type { Companion } from '../session';
import type { World } from '../world/world';

/** anvil dev account 8: no role in the world (local/world/anvil.ts LOCAL_DEV_ACCOUNTS). */
export const RIVAL_ACCOUNT = '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f';
export const DEFAULT_NAIVE_DELAY_BLOCKS = 2;
/** A liquidation that did not land is tried again after this many blocks if the account is still liquidatable. */
const RETRY_AFTER_BLOCKS = 4;
const FAST_PRIORITY_MULTIPLIER = 3n;

const POOL_ABI = ['function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)'];
const ERC20_ABI = ['function balanceOf(address) view returns (uint256)'];
const ORACLE_ABI = ['function getAssetsPrices(address[] assets) view returns (uint256[])'];
const WAD = 10n ** 18n;

export interface RivalOptions {
  kind: 'naive' | 'fast';
  /** Blocks between first seeing an account liquidatable and acting (naive only; fast acts at once). */
  delayBlocks?: number;
  say?: (line: string) => void;
}

export interface RivalStats {
  sent: number;
  /** Liquidations the node's gas estimate refused (someone else was first, or the account recovered). */
  refused: number;
}

export async function startRival(world: World, options: RivalOptions): Promise<Companion & { stats: RivalStats }> {
  const say = options.say ?? (() => undefined);
  const delayBlocks = options.kind === 'fast' ? 0 : (options.delayBlocks ?? DEFAULT_NAIVE_DELAY_BLOCKS);
  const { provider } = world;
  const { market } = world.info;
  await world.fundAccount(RIVAL_ACCOUNT);
  const signer = new JsonRpcSigner(provider, RIVAL_ACCOUNT);
  const pool = new Contract(market.pool, POOL_ABI, signer);
  const oracle = new Contract(market.aaveOracle, ORACLE_ABI, provider);
  const reserves = Object.values(market.reserves);
  const health = new AaveV3HealthScanner(provider, market.pool);
  const borrowers = world.info.borrowers.map((b) => b.address);
  const firstSeen = new Map<string, number>();
  const attempted = new Map<string, number>();
  const stats: RivalStats = { sent: 0, refused: 0 };
  let stopped = false;

  /** The account's largest debt and largest collateral by oracle value, or undefined when it has none. */
  const pairOf = async (user: string) => {
    const prices = (await oracle.getAssetsPrices(reserves.map((r) => r.underlying))) as bigint[];
    const values = await Promise.all(
      reserves.map(async (r, i) => {
        const [collateral, debt] = (await Promise.all([
          new Contract(r.aToken, ERC20_ABI, provider).balanceOf(user),
          new Contract(r.variableDebtToken, ERC20_ABI, provider).balanceOf(user),
        ])) as [bigint, bigint];
        const scale = 10n ** BigInt(r.decimals);
        return { asset: r.underlying, collateralBase: (collateral * prices[i]) / scale, debtBase: (debt * prices[i]) / scale };
      }),
    );
    const collateral = values.reduce((a, b) => (b.collateralBase > a.collateralBase ? b : a));
    const debt = values.reduce((a, b) => (b.debtBase > a.debtBase ? b : a));
    return collateral.collateralBase > 0n && debt.debtBase > 0n ? { collateral: collateral.asset, debt: debt.asset } : undefined;
  };

  const liquidate = async (user: string, head: number) => {
    attempted.set(user, head);
    const pair = await pairOf(user);
    if (!pair) return;
    const fees = await provider.getFeeData();
    const suggestedTip = fees.maxPriorityFeePerGas ?? 1_000_000_000n;
    const tip = options.kind === 'fast' ? suggestedTip * FAST_PRIORITY_MULTIPLIER : suggestedTip;
    const base = (await provider.getBlock('latest'))?.baseFeePerGas ?? 0n;
    const args = [pair.collateral, pair.debt, user, MaxUint256, false] as const;
    let gasLimit: bigint;
    try {
      gasLimit = await pool.liquidationCall.estimateGas(...args);
    } catch {
      stats.refused++;
      return;
    }
    await pool.liquidationCall(...args, { gasLimit: (gasLimit * 13n) / 10n, maxPriorityFeePerGas: tip, maxFeePerGas: base * 2n + tip });
    stats.sent++;
  };

  let lastHead = -1;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const head = await latestBlockNumber(provider).catch(() => lastHead);
      if (head === lastHead) continue;
      lastHead = head;
      try {
        const { accounts } = await health.scan(borrowers, head);
        const due: string[] = [];
        for (const a of accounts) {
          const user = a.user.toLowerCase();
          if (!(a.healthFactorWad < WAD && a.totalDebtBase > 0n && a.totalCollateralBase > 0n)) {
            firstSeen.delete(user);
            continue;
          }
          if (!firstSeen.has(user)) firstSeen.set(user, head);
          const last = attempted.get(user);
          if (head >= firstSeen.get(user)! + delayBlocks && (last === undefined || head >= last + RETRY_AFTER_BLOCKS)) due.push(a.user);
        }
        // One after another: the node numbers an unlocked account's transactions as they arrive.
        for (const user of due) {
          if (stopped) break;
          await liquidate(user.toLowerCase(), head);
        }
      } catch (error) {
        say(`rival: block ${head}: ${(error as Error).message}`);
      }
    }
  })();

  return {
    addresses: [RIVAL_ACCOUNT],
    stats,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
