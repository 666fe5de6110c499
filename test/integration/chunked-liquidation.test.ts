/**
 * Incremental reduction and `best` on the local world's thin-pool scenario (Aave v3.6; a WBTC/USDC Uniswap V3 pool
 * with $20,000 a side, one borrower holding 5 WBTC against 210,000 USDC). WBTC falls to $50,000 (HF 0.93, 100 %
 * close factor): selling the whole max plan's collateral into the thin pool cannot repay the flash loan. With a
 * price-impact budget the planner sends the largest chunk within it; the test sends that chunk through our
 * liquidator contract and reads the pool before and after: the pool's price moved by at most the budget, and the
 * contract kept exactly the planned profit. Then `best` at one block is never below `max`, with and without a budget.
 */
import { Contract, JsonRpcSigner } from 'ethers';
import { AaveV3FlashLoanTerms } from '../../functions/adapters/chain/aave-v3-flash-loan-terms';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { EthersLiquidatorContract } from '../../functions/adapters/chain/liquidator-contract';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { UniswapV3Quoter } from '../../functions/adapters/chain/uniswap-v3-quoter';
import {
  bestSizing,
  type CostModel,
  type GasCosts,
  maxSizing,
  ruleSetForPoolVersion,
  selectPair,
  targetHealthSizing,
  twoStepSizing,
  type UserPosition,
} from '../../functions/domain';
import { type FundedPlanning, planBest, planFunded } from '../../functions/pipeline/funded-plan';
import { findPool } from '../../local/world/dex';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const SLOT0 = ['function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16, uint16, uint16, uint8, bool)'];
const USD = (n: number) => BigInt(n) * 100_000_000n;
const GAS_PRICE = { baseFeePerGasWei: 1_000_000_000n, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 2_000_000_000n };
const GAS: GasCosts = { gasUnits: 500_000n, gasPrice: GAS_PRICE, nativePriceBase8: USD(3_000), minProfitBase: 0n };
const COSTS: CostModel = { gasUnitsPerStep: 500_000n, gasPrice: GAS_PRICE, nativePriceBase8: USD(3_000), swapCostBps: 30n };
const BUDGET_BPS = 300n;

function liquidation(planning: FundedPlanning) {
  if (planning.kind !== 'liquidate') throw new Error(`expected a liquidation, got ${planning.reason}: ${planning.detail}`);
  return planning.choice;
}

/**
 * How far the price of the token sold fell in the pool between two sqrtPriceX96 (bps, float): the pool's price is
 * token1 per token0 ∝ sqrtPrice², so token0's price moves with sqrtPrice² and token1's with its inverse.
 */
function fallBps(before: bigint, after: bigint, soldIsToken0: boolean): number {
  const ratio = soldIsToken0 ? Number(after) / Number(before) : Number(before) / Number(after);
  return (1 - ratio * ratio) * 10_000;
}

describe('chunked liquidation on thin-pool', () => {
  const scenario = loadScenario('thin-pool');
  const ruleSet = ruleSetForPoolVersion(scenario.aave);
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ scenario, services: false, blockTimeSec: 0 });
    // Frozen timestamps: nothing accrues between the plan's block and the transaction's.
    await world.provider.send('anvil_setBlockTimestampInterval', [0]);
    await world.setPrice('WBTC', USD(50_000));
  });
  afterAll(async () => {
    await world?.stop();
  });

  const deps = (routed: boolean) => ({
    // Direct WBTC/USDC only (the thin pool), or also through WETH's deep pools.
    quoter: new UniswapV3Quoter(world.provider, world.info.dex.quoter, {
      feeTiers: [3_000, 500],
      routes: routed ? [{ tokens: [world.info.tokens.WBTC, world.info.tokens.WETH, world.info.tokens.USDC], fees: [500, 500] }] : [],
    }),
    flashTerms: new AaveV3FlashLoanTerms(world.provider, world.info.market.pool),
  });
  const settings = { funding: 'flash-loan' as const, ruleSet, maxSlippageBps: 0n };
  const borrower = () => world.info.borrowers[0].address;
  const read = (block: number): Promise<UserPosition> => new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSet).readPosition(borrower(), block);
  const maxCandidates = (position: UserPosition) =>
    selectPair(position, { sizing: maxSizing, costs: COSTS, liquidator: world.info.liquidatorContract, receiveAToken: false }).candidates;

  it('one-shot: selling the max plan into the thin pool cannot repay the flash loan', async () => {
    const block = await latestBlockNumber(world.provider);
    const position = await read(block);
    const planning = await planFunded(deps(false), position, maxCandidates(position), block, GAS, settings);
    expect(planning.kind).toBe('skip');
    expect(planning.verdicts.find((v) => v.pair.startsWith(world.info.tokens.WBTC))?.verdict).toBe('swap-below-repayment');
  });

  it(`a chunk within ${BUDGET_BPS} bps moves the pool by at most that, and the contract keeps exactly the planned profit`, async () => {
    const block = await latestBlockNumber(world.provider);
    const position = await read(block);
    const choice = liquidation(await planFunded(deps(false), position, maxCandidates(position), block, GAS, { ...settings, maxPriceImpactBps: BUDGET_BPS }));
    expect(choice.chunk).toMatchObject({ maxPriceImpactBps: BUDGET_BPS });
    expect(choice.chunk!.priceImpactBps).toBeLessThanOrEqual(BUDGET_BPS);
    expect(choice.chunk!.restRepayUnits).toBeGreaterThan(0n);

    const contract = new EthersLiquidatorContract(world.provider, world.info.liquidatorContract);
    const keeper = world.info.accounts.liquidators[0];
    const simulation = await contract.simulate(choice.call, keeper, block);
    if (simulation.kind !== 'ok') throw new Error(`simulation reverted: ${simulation.reason}`);
    expect(simulation.profitUnits).toBe(choice.liquidation.expectedProfitUnits);

    const thin = findPool(world.info.dex.pools, 'WBTC', 'USDC')!;
    const pool = new Contract(thin.address, SLOT0, world.provider);
    const before = (await pool.slot0({ blockTag: block })).sqrtPriceX96 as bigint;
    const tx = await new JsonRpcSigner(world.provider, keeper).sendTransaction({ ...contract.buildTransaction(choice.call), gasLimit: simulation.gasLimit });
    const receipt = await pollReceipt(world.provider, tx.hash);
    expect(receipt.status).toBe(1);
    const after = (await pool.slot0({ blockTag: receipt.blockNumber })).sqrtPriceX96 as bigint;
    const moved = fallBps(before, after, thin.symbol0 === 'WBTC');
    expect(moved).toBeLessThanOrEqual(Number(BUDGET_BPS));
    // The largest chunk within the budget, not a timid one: the search stops within 0.1 % of the repay.
    expect(moved).toBeGreaterThan(Number(BUDGET_BPS) * 0.97);
    const [event] = await contract.liquidationsIn(tx.hash);
    expect(event.profitUnits).toBe(choice.liquidation.expectedProfitUnits);
    expect(event.debtRepaidUnits).toBe(choice.plan.debtRepaidUnits);
    // The rest is still owed: the one-shot repay (the whole debt here) less this chunk's, to the unit the debt
    // token's scaled balance rounds by (balance = scaled × index, rayMul).
    const leftDebt = (await read(receipt.blockNumber)).reserves.find((r) => r.asset.toLowerCase() === world.info.tokens.USDC.toLowerCase())!.debtBalanceUnits;
    expect(leftDebt - choice.chunk!.restRepayUnits).toBeGreaterThanOrEqual(0n);
    expect(leftDebt - choice.chunk!.restRepayUnits).toBeLessThanOrEqual(1n);
  });

  it('best is never below max at the same block, with and without a budget, on the thin pool and through WETH', async () => {
    // Arbitrage brings the thin pool back to the oracle after the chunk above.
    await world.movePool('WBTC/USDC', { WBTC: USD(50_000), USDC: USD(1) });
    const block = await latestBlockNumber(world.provider);
    const position = await read(block);
    const best = bestSizing([targetHealthSizing({ targetHealthFactorWad: 1_050_000_000_000_000_000n }), twoStepSizing()]);
    const profitOf = (planning: FundedPlanning) => (planning.kind === 'liquidate' ? planning.choice.liquidation.profitBase : undefined);
    const rows = [];
    for (const routed of [false, true]) {
      for (const budget of [undefined, BUDGET_BPS]) {
        const s = budget === undefined ? settings : { ...settings, maxPriceImpactBps: budget };
        const asMax = profitOf(await planFunded(deps(routed), position, maxCandidates(position), block, GAS, s));
        const asBest = await planBest(deps(routed), position, best, block, GAS, s, { costs: COSTS, liquidator: world.info.liquidatorContract });
        rows.push({ routed, budget, asMax, asBest: profitOf(asBest), bestOf: asBest.kind === 'liquidate' ? asBest.choice.bestOf : undefined });
      }
    }
    for (const row of rows) {
      if (row.asMax !== undefined) expect({ ...row, notBelow: row.asBest !== undefined && row.asBest >= row.asMax }).toMatchObject({ notBelow: true });
    }
    // Through WETH's deep pools the whole max plan is profitable; on the thin pool only a chunk is.
    expect(rows.find((r) => r.routed && r.budget === undefined)?.asMax).toBeGreaterThan(0n);
    expect(rows.find((r) => !r.routed && r.budget === BUDGET_BPS)?.asBest).toBeGreaterThan(0n);
  });
});
