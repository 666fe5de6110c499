/**
 * The `dust-edge` scenario on Aave v3.6 exercises the dust back-off of max sizing. After its −12 % shock every
 * liquidatable account sits at HF 0.95–1, where the 50 % close factor applies to positions of $2,000 or more per
 * reserve. The listed borrowers hold WETH and WBTC against USDC: half of their debt would seize so much of either
 * collateral that under $1,000 of it is left, so the Pool refuses the max liquidation (MustNotLeaveDust,
 * LiquidationLogic.executeLiquidationCall) and the max plan backs off to the largest repay that leaves $1,000,
 * reporting `limitedBy: 'dust-rule'`. Sent as a direct `liquidationCall` from a funded account: the plan's repay
 * goes through, one unit more reverts with MustNotLeaveDust. Last, the same plan after the collateral's price
 * fell 2 %: the Pool refuses it with MustNotLeaveDust too, and revert attribution (functions/pipeline/
 * revert-attribution.ts, with the Aave oracle read through the worker's adapter) blames the market, while the
 * refusal of one unit more at unchanged prices stays ours.
 */
import { Contract, Interface } from 'ethers';
import { aaveOraclePrices } from '../../functions/adapters/chain/aave-v3-protocol';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { classifyRevert, decodeLiquidatorRevert } from '../../functions/adapters/chain/liquidator-contract';
import {
  type LiquidationPlan,
  MAX_UINT256,
  maxSizing,
  MIN_LEFTOVER_BASE,
  planLiquidation,
  ruleSetForPoolVersion,
  type SizingContext,
  type UserPosition,
  withPoolBalances,
} from '../../functions/domain';
import type { BestEffort } from '../../functions/pipeline/best-effort';
import { attributeRevert } from '../../functions/pipeline/revert-attribution';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const POOL_ABI = [
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
  'function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)',
];
const POOL = new Interface(POOL_ABI);
const MUST_NOT_LEAVE_DUST = new Interface(['error MustNotLeaveDust()']).getError('MustNotLeaveDust')!.selector;
const WAD = 10n ** 18n;
const CLOSE_FACTOR_HF_THRESHOLD_WAD = 95n * WAD / 100n;
/** Explicit gas for eth_call of a liquidation (TOOLCHAIN gotcha 4). */
const CALL_GAS = 3_000_000n;

function revertDataOf(err: unknown): string | undefined {
  const e = err as { data?: unknown; error?: { data?: unknown }; info?: { error?: { data?: unknown } } };
  return [e.data, e.error?.data, e.info?.error?.data].find((c): c is string => typeof c === 'string' && c.startsWith('0x'));
}

describe('dust-edge scenario on Aave v3.6', () => {
  const scenario = loadScenario('dust-edge');
  const ruleSet = ruleSetForPoolVersion(scenario.aave);
  let world: World;
  let pool: Contract;
  let reader: AaveV3PositionReader;
  let keeper: string;
  let context: SizingContext;
  let shockBlock: number;
  const listed = ['borrowers[0]', 'borrowers[1]', 'borrowers[2]'];
  const address = (symbol: 'WBTC' | 'USDC' | 'WETH') => world.info.tokens[symbol];
  const borrower = (label: string) => world.info.borrowers.find((b) => b.label === label)!.address;

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    await world.fundAccount(world.info.accounts.liquidators[0]);
    pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    reader = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSet);
    keeper = world.info.accounts.liquidators[0];
    context = { liquidator: keeper, receiveAToken: false };
    // Every price of every shock in one block: the scenario's end state.
    const prices = Object.assign({}, ...scenario.shocks.map((s) => s.prices)) as typeof scenario.shocks[number]['prices'];
    shockBlock = await world.setPrices(prices);
  });

  afterAll(async () => {
    await world?.stop();
  });

  const healthFactorOf = async (user: string, block: number) => ((await pool.getUserAccountData(user, { blockTag: block })) as { healthFactor: bigint }).healthFactor;
  const readPosition = async (user: string, block: number): Promise<UserPosition> => withPoolBalances(await reader.readPosition(user, block));
  const callLiquidation = (plan: LiquidationPlan, debtToCoverUnits: bigint, block: number) =>
    world.provider.call({
      from: keeper,
      to: world.info.market.pool,
      data: POOL.encodeFunctionData('liquidationCall', [plan.collateralAsset, plan.debtAsset, plan.user, debtToCoverUnits, false]),
      gasLimit: CALL_GAS,
      blockTag: block,
    });

  it('leaves every liquidatable account between HF 0.95 and 1 after the shock, where the 50 % close factor applies', async () => {
    let liquidatable = 0;
    for (const b of world.info.borrowers) {
      const hf = await healthFactorOf(b.address, shockBlock);
      if (hf >= WAD) continue;
      liquidatable++;
      expect({ label: b.label, aboveThreshold: hf > CLOSE_FACTOR_HF_THRESHOLD_WAD }).toEqual({ label: b.label, aboveThreshold: true });
    }
    expect(liquidatable).toBeGreaterThan(listed.length);
  });

  describe.each(listed)('%s', (label) => {
    it.each(['WETH', 'WBTC'] as const)('%s / USDC: the max plan backs off for the dust rule; its repay goes through, one unit more reverts with MustNotLeaveDust', async (collateral) => {
      const user = borrower(label);
      const position = await readPosition(user, shockBlock);
      const pair = { collateralAsset: address(collateral), debtAsset: address('USDC') };

      const refused = planLiquidation(position, { ...pair, debtToCoverUnits: MAX_UINT256, ...context });
      if (refused.kind !== 'skip' || refused.reason !== 'must-not-leave-dust') throw new Error(`expected MustNotLeaveDust on the max liquidation, got ${refused.kind}`);
      expect(refused.refusedPlan.closeFactor).toBe('half-of-total-debt');
      expect(refused.collateralLeftBase).toBeLessThan(MIN_LEFTOVER_BASE);

      const sized = maxSizing.size(position, pair, context);
      if (sized.kind !== 'liquidate') throw new Error(`expected a max plan, got ${sized.reason}`);
      const [plan] = sized.steps;
      expect(plan).toMatchObject({ limitedBy: 'dust-rule', closeFactor: 'half-of-total-debt', debtToCoverUnits: plan.debtRepaidUnits });
      expect(plan.debtRepaidUnits).toBeLessThan(refused.refusedPlan.debtRepaidUnits);

      expect(await callLiquidation(plan, plan.debtToCoverUnits, shockBlock)).toBe('0x');
      let revertData: string | undefined;
      await callLiquidation(plan, plan.debtToCoverUnits + 1n, shockBlock).then(
        () => {
          throw new Error('expected one unit more to revert');
        },
        (err: unknown) => {
          revertData = revertDataOf(err);
        },
      );
      expect(revertData).toBe(MUST_NOT_LEAVE_DUST);
    });
  });

  // Last: it moves the WETH price for good.
  it('blames the market for a MustNotLeaveDust after the oracle moved, and the plan for one at unchanged prices', async () => {
    const user = borrower('borrowers[0]');
    const position = await readPosition(user, shockBlock);
    const pair = { collateralAsset: address('WETH'), debtAsset: address('USDC') };
    const sized = maxSizing.size(position, pair, context);
    if (sized.kind !== 'liquidate') throw new Error(`expected a max plan, got ${sized.reason}`);
    const [plan] = sized.steps;
    expect(plan.limitedBy).toBe('dust-rule');
    const failures: string[] = [];
    const deps = { oraclePrices: aaveOraclePrices(reader), bestEffort: { failed: (step) => failures.push(step) } satisfies BestEffort };
    const refusal = async (debtToCoverUnits: bigint, block: number) => {
      const err = await callLiquidation(plan, debtToCoverUnits, block).then(
        () => {
          throw new Error(`expected a revert at block ${block}`);
        },
        (e: unknown) => e,
      );
      const reason = decodeLiquidatorRevert(revertDataOf(err), String(err));
      return { reason, revertClass: classifyRevert(reason) };
    };

    const oneUnitMore = await refusal(plan.debtToCoverUnits + 1n, shockBlock);
    expect(oneUnitMore).toEqual({ reason: 'MustNotLeaveDust', revertClass: 'model' });
    expect(await attributeRevert(deps, oneUnitMore, plan, shockBlock, { opportunity: 'dust-edge' })).toEqual(oneUnitMore);

    const [wethBefore] = await deps.oraclePrices.pricesBase8At(shockBlock, [pair.collateralAsset]);
    expect(wethBefore).toBe(plan.collateralPriceBase8);
    const movedBlock = await world.setPrices({ WETH: (wethBefore * 98n) / 100n });
    const afterMove = await refusal(plan.debtToCoverUnits, movedBlock);
    expect(afterMove).toEqual({ reason: 'MustNotLeaveDust', revertClass: 'model' });
    const attributed = await attributeRevert(deps, afterMove, plan, movedBlock, { opportunity: 'dust-edge' });
    expect(attributed.revertClass).toBe('market-moved');
    expect(attributed.reason).toContain(`collateral ${wethBefore} → ${(wethBefore * 98n) / 100n}`);
    expect(failures).toEqual([]);
  });
});
