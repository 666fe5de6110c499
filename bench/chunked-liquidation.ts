/**
 * Incremental reduction and `best` sizing, side by side in one run:
 *
 * (a) thin-pool (Aave v3.6; WBTC/USDC pool $20k a side, one borrower 5 WBTC against 210,000 USDC; WBTC falls to
 *     $50,000): selling the seized WBTC straight into the thin pool, one-shot (the max plan, quoted at the read
 *     block) against chunks within a price-impact budget, each planned at the latest block, sent through our
 *     liquidator contract (flash loan) and followed by the world's arbitrage step (the pool moved back to the
 *     oracle price, as arbitrageurs do between blocks). Recovery = USD the sale returns ÷ oracle USD value of the
 *     collateral sold; debt left and bad debt (debt above the collateral's value) from Pool.getUserAccountData.
 * (b) `best` vs `max` on the differential positions (test/integration/fixtures/funded-differential.json, v3.6,
 *     after ETH −20 % and BTC −16 %): both planned at the same block with real quotes and gas, profit compared.
 */
import { Contract, JsonRpcSigner } from 'ethers';
import { join } from 'node:path';
import { AaveV3FlashLoanTerms } from '../functions/adapters/chain/aave-v3-flash-loan-terms';
import { AaveV3PositionReader } from '../functions/adapters/chain/aave-v3-position-reader';
import { EthersLiquidatorContract } from '../functions/adapters/chain/liquidator-contract';
import { latestBlockNumber, pollReceipt } from '../functions/adapters/chain/provider';
import { UniswapV3Quoter } from '../functions/adapters/chain/uniswap-v3-quoter';
import {
  bestSizing,
  calculateAccountData,
  type CostModel,
  type GasCosts,
  maxSizing,
  ruleSetForPoolVersion,
  selectPair,
  targetHealthSizing,
  twoStepSizing,
  type UserPosition,
  withPoolBalances,
} from '../functions/domain';
import { type FundedPlanningDeps, planBest, planFunded } from '../functions/pipeline/funded-plan';
import { loadScenario, type Scenario } from '../local/world/scenario';
import { startWorld } from '../local/world/world';
import type { BenchResult } from './run';

const USD = (n: number) => BigInt(Math.round(n * 1e8));
const GAS_PRICE = { baseFeePerGasWei: 1_000_000_000n, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 2_000_000_000n };
const gasAt = (nativePriceBase8: bigint): GasCosts => ({ gasUnits: 500_000n, gasPrice: GAS_PRICE, nativePriceBase8, minProfitBase: 0n });
const costsAt = (nativePriceBase8: bigint): CostModel => ({ gasUnitsPerStep: 500_000n, gasPrice: GAS_PRICE, nativePriceBase8, swapCostBps: 30n });
const ACCOUNT = ['function getUserAccountData(address) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256, uint256, uint256, uint256 healthFactor)'];
const BUDGETS_BPS = [100n, 300n];
/** Chunks sent per budget: enough for a steady recovery figure, not to liquidate $210k ~$250 at a time. */
const MAX_CHUNKS = 30;
const toUsd = (base: bigint) => Number(base) / 1e8;

async function thinPool(rows: BenchResult['rows']): Promise<void> {
  const scenario = loadScenario('thin-pool');
  const ruleSet = ruleSetForPoolVersion(scenario.aave);
  for (const budget of [undefined, ...BUDGETS_BPS]) {
    const world = await startWorld({ scenario, services: false, blockTimeSec: 0 });
    try {
      await world.provider.send('anvil_setBlockTimestampInterval', [0]);
      await world.setPrice('WBTC', USD(50_000));
      const deps: FundedPlanningDeps = {
        quoter: new UniswapV3Quoter(world.provider, world.info.dex.quoter, { feeTiers: [3_000] }),
        flashTerms: new AaveV3FlashLoanTerms(world.provider, world.info.market.pool),
      };
      const reader = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSet);
      const contract = new EthersLiquidatorContract(world.provider, world.info.liquidatorContract);
      const keeper = world.info.accounts.liquidators[0];
      const borrower = world.info.borrowers[0].address;
      const label = budget === undefined ? 'one-shot' : `chunks ≤ ${budget} bps`;
      const settings = { funding: 'flash-loan' as const, ruleSet, maxSlippageBps: 0n, ...(budget === undefined ? {} : { maxPriceImpactBps: budget }) };
      const gas = gasAt(USD(3_000));
      let receivedUsd = 0;
      let soldOracleUsd = 0;
      let chunks = 0;
      let profitUsd = 0;
      for (let i = 0; i < (budget === undefined ? 1 : MAX_CHUNKS); i++) {
        const block = await latestBlockNumber(world.provider);
        const position: UserPosition = await reader.readPosition(borrower, block);
        if (calculateAccountData(withPoolBalances(position)).healthFactorWad >= 10n ** 18n) break;
        const candidates = selectPair(position, { sizing: maxSizing, costs: costsAt(USD(3_000)), liquidator: world.info.liquidatorContract, receiveAToken: false }).candidates;
        if (budget === undefined) {
          // One-shot: the max plan's whole collateral sold at once, as quoted at the read block (a flash loan cannot
          // repay from it, so the keeper skips; the figure is what the sale would recover).
          const sized = candidates.find((c) => c.kind === 'sized');
          if (sized?.kind !== 'sized') break;
          const plan = sized.steps[0];
          const quote = await deps.quoter.bestQuote(plan.collateralAsset, plan.debtAsset, plan.liquidatorCollateralUnits, block);
          receivedUsd += Number(quote?.amountOutUnits ?? 0n) / 1e6;
          soldOracleUsd += (Number(plan.liquidatorCollateralUnits) / 1e8) * 50_000;
          const planning = await planFunded(deps, position, candidates, block, gas, settings);
          rows.push({ label: `thin-pool one-shot: keeper's verdict (1 = sent, 0 = skipped)`, value: planning.kind === 'liquidate' ? 1 : 0, unit: '' });
          break;
        }
        const planning = await planFunded(deps, position, candidates, block, gas, settings);
        if (planning.kind !== 'liquidate') break;
        const { call, liquidation } = planning.choice;
        const simulation = await contract.simulate(call, keeper, block);
        if (simulation.kind !== 'ok' || simulation.profitUnits !== liquidation.expectedProfitUnits) throw new Error(`chunk ${i}: simulation disagrees with the plan`);
        const tx = await new JsonRpcSigner(world.provider, keeper).sendTransaction({ ...contract.buildTransaction(call), gasLimit: simulation.gasLimit });
        if ((await pollReceipt(world.provider, tx.hash)).status !== 1) throw new Error(`chunk ${i} reverted`);
        const [event] = await contract.liquidationsIn(tx.hash);
        if (event.profitUnits !== liquidation.expectedProfitUnits) throw new Error(`chunk ${i}: realised profit differs from the plan`);
        receivedUsd += Number(event.swapAmountOutUnits) / 1e6;
        soldOracleUsd += (Number(event.collateralSeizedUnits) / 1e8) * 50_000;
        profitUsd += toUsd(liquidation.profitBase);
        chunks++;
        // The arbitrage step between blocks: the thin pool back at the oracle price.
        await world.movePool('WBTC/USDC', { WBTC: USD(50_000), USDC: USD(1) });
      }
      const account = (await new Contract(world.info.market.pool, ACCOUNT, world.provider).getUserAccountData(borrower)) as { totalCollateralBase: bigint; totalDebtBase: bigint };
      const badDebt = account.totalDebtBase > account.totalCollateralBase ? account.totalDebtBase - account.totalCollateralBase : 0n;
      rows.push({ label: `thin-pool ${label}: recovery (sale USD ÷ oracle USD)`, value: soldOracleUsd > 0 ? (100 * receivedUsd) / soldOracleUsd : 0, unit: '%' });
      rows.push({ label: `thin-pool ${label}: collateral sold (oracle value)`, value: soldOracleUsd, unit: 'USD' });
      if (budget !== undefined) {
        rows.push({ label: `thin-pool ${label}: chunks mined`, value: chunks, unit: '' });
        rows.push({ label: `thin-pool ${label}: mean chunk (oracle value)`, value: chunks > 0 ? soldOracleUsd / chunks : 0, unit: 'USD' });
        rows.push({ label: `thin-pool ${label}: profit after gas, all chunks`, value: profitUsd, unit: 'USD' });
      }
      rows.push({ label: `thin-pool ${label}: debt left after`, value: toUsd(account.totalDebtBase), unit: 'USD' });
      rows.push({ label: `thin-pool ${label}: bad debt (debt above collateral)`, value: toUsd(badDebt), unit: 'USD' });
    } finally {
      await world.stop();
    }
  }
}

async function bestVsMax(rows: BenchResult['rows'], ratios: BenchResult['ratios']): Promise<void> {
  const scenario: Scenario = { ...loadScenario(join(__dirname, '..', 'test', 'integration', 'fixtures', 'funded-differential.json')), aave: 'v3.6' };
  const ruleSet = ruleSetForPoolVersion(scenario.aave);
  const world = await startWorld({ scenario, services: false, blockTimeSec: 0 });
  try {
    await world.setPrice('WETH', (scenario.assets.WETH!.priceUsd * 80n) / 100n);
    await world.setPrice('WBTC', (scenario.assets.WBTC!.priceUsd * 84n) / 100n);
    const nativePriceBase8 = (scenario.assets.WETH!.priceUsd * 80n) / 100n;
    const deps: FundedPlanningDeps = {
      quoter: new UniswapV3Quoter(world.provider, world.info.dex.quoter),
      flashTerms: new AaveV3FlashLoanTerms(world.provider, world.info.market.pool),
    };
    const reader = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSet);
    const best = bestSizing([targetHealthSizing({ targetHealthFactorWad: 1_050_000_000_000_000_000n }), twoStepSizing()]);
    const block = await latestBlockNumber(world.provider);
    const settings = { funding: 'flash-loan' as const, ruleSet, maxSlippageBps: 0n };
    let compared = 0;
    let below = 0;
    let better = 0;
    let gainUsd = 0;
    let maxProfitUsd = 0;
    const won: Record<string, number> = {};
    const started = Date.now();
    for (const borrower of world.info.borrowers) {
      const position = await reader.readPosition(borrower.address, block);
      if (calculateAccountData(withPoolBalances(position)).healthFactorWad >= 10n ** 18n) continue;
      const candidates = selectPair(position, { sizing: maxSizing, costs: costsAt(nativePriceBase8), liquidator: world.info.liquidatorContract, receiveAToken: false }).candidates;
      const asMax = await planFunded(deps, position, candidates, block, gasAt(nativePriceBase8), settings);
      if (asMax.kind !== 'liquidate') continue;
      const asBest = await planBest(deps, position, best, block, gasAt(nativePriceBase8), settings, { costs: costsAt(nativePriceBase8), liquidator: world.info.liquidatorContract });
      compared++;
      const maxProfit = asMax.choice.liquidation.profitBase;
      const bestProfit = asBest.kind === 'liquidate' ? asBest.choice.liquidation.profitBase : -(2n ** 255n);
      if (bestProfit < maxProfit) below++;
      if (bestProfit > maxProfit) better++;
      if (asBest.kind === 'liquidate') won[asBest.choice.bestOf ?? 'none'] = (won[asBest.choice.bestOf ?? 'none'] ?? 0) + 1;
      gainUsd += toUsd(bestProfit - maxProfit);
      maxProfitUsd += toUsd(maxProfit);
    }
    rows.push({ label: 'best vs max: positions compared (same block)', value: compared, unit: '' });
    rows.push({ label: 'best vs max: best below max', value: below, unit: '' });
    rows.push({ label: 'best vs max: best strictly above max', value: better, unit: '' });
    for (const [strategy, count] of Object.entries(won)) rows.push({ label: `best vs max: plans won by ${strategy}`, value: count, unit: '' });
    rows.push({ label: 'best vs max: mean gain per position', value: compared > 0 ? gainUsd / compared : 0, unit: 'USD' });
    rows.push({ label: 'best vs max: total gain / total max profit', value: maxProfitUsd > 0 ? (100 * gainUsd) / maxProfitUsd : 0, unit: '%' });
    rows.push({ label: 'best vs max: planning time per position (both)', value: compared > 0 ? (Date.now() - started) / compared : 0, unit: 'ms' });
    if (maxProfitUsd > 0) ratios.push({ label: 'best / max total profit', value: (maxProfitUsd + gainUsd) / maxProfitUsd });
  } finally {
    await world.stop();
  }
}

export async function chunkedLiquidation(): Promise<BenchResult> {
  const rows: BenchResult['rows'] = [];
  const ratios: BenchResult['ratios'] = [];
  await thinPool(rows);
  await bestVsMax(rows, ratios);
  return { name: 'chunked-liquidation', rows, ratios };
}
