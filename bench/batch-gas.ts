/**
 * Gas per liquidation of `Liquidator.liquidateBatch` at batch sizes 1, 5 and 10 against single `liquidate` calls,
 * side by side on one market (the `default` scenario after ETH falls 20 % and BTC 16 %, as bench/liquidation-gas.ts),
 * on Aave v3.6 and V3.0. Every run starts from the same anvil snapshot and liquidates the same borrowers in the
 * same order, flash-loan funded, cross-asset pairs with the seized collateral sold on Uniswap V3:
 *
 *   single     one `liquidate` transaction per borrower, each planned by the engine at the block before it
 *   batch N    the first N borrowers in one `liquidateBatch`, all planned at the snapshot (a flash loan per item)
 *   inventory  the ten in one batch paid from the contract's stock: the batch's flash loans cost the difference,
 *              the most that one loan per debt asset (instead of per item) could save
 *
 * Batch items share pools, so each item's swap bound allows 5 % and its minimum profit is 0; every item must go
 * through (the bench fails otherwise) and the receipt's outcomes must equal the simulated ones. The contract
 * holds every asset beforehand (steady state: no zero → non-zero balance slot, see liquidation-gas).
 */
import { Contract, type JsonRpcProvider, JsonRpcSigner, type TransactionReceipt } from 'ethers';
import { AaveV3FlashLoanTerms } from '../functions/adapters/chain/aave-v3-flash-loan-terms';
import { AaveV3PositionReader } from '../functions/adapters/chain/aave-v3-position-reader';
import { EthersLiquidatorContract } from '../functions/adapters/chain/liquidator-contract';
import { latestBlockNumber, pollReceipt } from '../functions/adapters/chain/provider';
import { UniswapV3Quoter } from '../functions/adapters/chain/uniswap-v3-quoter';
import {
  assessFundedLiquidation,
  calculateAccountData,
  type CostModel,
  fitToAvailableLiquidity,
  type GasCosts,
  type LiquidationPair,
  maxSizing,
  type RuleSet,
  ruleSetForPoolVersion,
  sameAddress,
  selectPair,
  withPoolBalances,
} from '../functions/domain';
import { liquidatorCallOf } from '../functions/pipeline/funded-plan';
import type { LiquidatorCall } from '../functions/ports/liquidator-contract';
import { loadArtifact } from '../local/world/artifacts';
import { Deployer } from '../local/world/deployer';
import { loadScenario, type Scenario } from '../local/world/scenario';
import { startWorld, type World } from '../local/world/world';
import type { BenchResult } from './run';

const AAVE_VERSIONS = ['v3.6', 'v3.0'] as const;
type AaveVersion = (typeof AAVE_VERSIONS)[number];
const BATCH_SIZES = [1, 5, 10] as const;
const TARGETS = 10;
const FALL_PERCENT: Partial<Record<'WETH' | 'WBTC', bigint>> = { WETH: 80n, WBTC: 84n };
/** Items of one batch share pools: each swap moves the next one's price. */
const BATCH_SLIPPAGE_BPS = 500n;
const WAD = 10n ** 18n;
const ERC20 = ['function balanceOf(address) view returns (uint256)', 'function transfer(address to, uint256 amount) returns (bool)'];
const RANKING: CostModel = {
  gasUnitsPerStep: 0n,
  gasPrice: { baseFeePerGasWei: 0n, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 0n },
  nativePriceBase8: 0n,
  swapCostBps: 0n,
  minProfitBase: -(2n ** 255n),
};
const NO_GAS: GasCosts = { gasUnits: 0n, gasPrice: RANKING.gasPrice, nativePriceBase8: 0n, minProfitBase: -(2n ** 255n) };

interface Target extends LiquidationPair {
  user: string;
}

interface WorldFigures {
  aave: AaveVersion;
  /** Gas of each single `liquidate`, target order. */
  single: bigint[];
  /** Gas of the whole batch, by size. */
  batch: Map<number, bigint>;
  /** Gas of the ten-item batch from inventory. */
  inventoryBatch: bigint;
  pairs: string[];
}

async function snapshot(provider: JsonRpcProvider): Promise<string> {
  return (await provider.send('evm_snapshot', [])) as string;
}

async function revertTo(provider: JsonRpcProvider, id: string): Promise<void> {
  if (!((await provider.send('evm_revert', [id])) as boolean)) throw new Error(`anvil could not revert to snapshot ${id}`);
}

class BatchGasBench {
  private readonly provider: JsonRpcProvider;
  private readonly ruleSet: RuleSet;
  private readonly signer: JsonRpcSigner;

  constructor(
    private readonly world: World,
    private readonly aave: AaveVersion,
    private readonly liquidator: { contract: string; eoa: string },
  ) {
    this.provider = world.provider;
    this.ruleSet = ruleSetForPoolVersion(aave);
    this.signer = new JsonRpcSigner(this.provider, liquidator.eoa);
  }

  /** The first TARGETS liquidatable borrowers with a cross-asset pair the engine sizes and the reserves can fund. */
  async findTargets(): Promise<Target[]> {
    const block = await latestBlockNumber(this.provider);
    const reader = new AaveV3PositionReader(this.provider, this.world.info.market.pool, this.ruleSet);
    const context = { liquidator: this.liquidator.contract, receiveAToken: false };
    const targets: Target[] = [];
    for (const borrower of this.world.info.borrowers) {
      if (targets.length === TARGETS) break;
      const position = withPoolBalances(await reader.readPosition(borrower.address, block));
      if (calculateAccountData(position).healthFactorWad >= WAD) continue;
      const selection = selectPair(position, { sizing: maxSizing, costs: RANKING, ...context });
      const pick = selection.candidates.find(
        (c) => c.kind === 'sized' && !sameAddress(c.pair.collateralAsset, c.pair.debtAsset) && fitToAvailableLiquidity(position, c.steps[0], 'flash-loan', context).kind !== 'none',
      );
      if (pick) targets.push({ user: borrower.address, ...pick.pair });
    }
    return targets;
  }

  /** The contract call for `target` at `block`: max sizing fitted to the reserves, quoted, assessed by the engine. */
  async callAt(target: Target, block: number, funding: 'flash-loan' | 'inventory', maxSlippageBps: bigint): Promise<LiquidatorCall> {
    const reader = new AaveV3PositionReader(this.provider, this.world.info.market.pool, this.ruleSet);
    const quoter = new UniswapV3Quoter(this.provider, this.world.info.dex.quoter);
    const context = { liquidator: this.liquidator.contract, receiveAToken: false };
    const position = withPoolBalances(await reader.readPosition(target.user, block));
    const sized = maxSizing.size(position, target, context);
    if (sized.kind !== 'liquidate') throw new Error(`${this.aave} ${target.user}: not sized: ${sized.reason}`);
    const fit = fitToAvailableLiquidity(position, sized.steps[0], 'flash-loan', context);
    if (fit.kind === 'none') throw new Error(`${this.aave} ${target.user}: no available liquidity`);
    const quote = await quoter.bestQuote(fit.plan.collateralAsset, fit.plan.debtAsset, fit.plan.liquidatorCollateralUnits, block);
    if (!quote) throw new Error(`${this.aave} ${target.user}: no quote`);
    const premiumBps = await new AaveV3FlashLoanTerms(this.provider, this.world.info.market.pool).premiumBps(block);
    const assessment = assessFundedLiquidation(
      fit.plan,
      { kind: 'swap', route: quote.route, amountInUnits: quote.amountInUnits, amountOutUnits: quote.amountOutUnits },
      { mode: funding, ruleSet: this.ruleSet, flashLoanPremiumBps: premiumBps, maxSlippageBps },
      NO_GAS,
    );
    if (assessment.kind !== 'profitable') throw new Error(`${this.aave} ${target.user}: ${assessment.reason}`);
    return liquidatorCallOf(assessment.liquidation);
  }

  /** One `liquidate` per target, each planned at the block before it. */
  async single(targets: readonly Target[]): Promise<bigint[]> {
    const contract = new EthersLiquidatorContract(this.provider, this.liquidator.contract);
    const gas: bigint[] = [];
    for (const target of targets) {
      const block = await latestBlockNumber(this.provider);
      const call = await this.callAt(target, block, 'flash-loan', 0n);
      const simulation = await contract.simulate(call, this.liquidator.eoa, block);
      if (simulation.kind !== 'ok') throw new Error(`${this.aave} single ${target.user}: simulation reverted: ${simulation.reason}`);
      gas.push((await this.send({ ...contract.buildTransaction(call), gasLimit: simulation.gasLimit }, `single ${target.user}`)).gasUsed);
    }
    return gas;
  }

  /** The targets in one `liquidateBatch`, all planned at the current block; every item must go through. */
  async batch(targets: readonly Target[], funding: 'flash-loan' | 'inventory'): Promise<bigint> {
    const contract = new EthersLiquidatorContract(this.provider, this.liquidator.contract);
    const block = await latestBlockNumber(this.provider);
    const calls: LiquidatorCall[] = [];
    for (const target of targets) calls.push({ ...(await this.callAt(target, block, funding, BATCH_SLIPPAGE_BPS)), minProfitUnits: 0n });
    const where = `batch of ${calls.length} (${funding})`;
    const simulation = await contract.simulateBatch(calls, this.liquidator.eoa, block);
    if (simulation.kind !== 'ok') throw new Error(`${this.aave} ${where}: reverted: ${simulation.reason}`);
    const failed = simulation.items.filter((i) => !i.ok);
    if (failed.length > 0) throw new Error(`${this.aave} ${where}: items failed in simulation: ${JSON.stringify(failed)}`);
    const receipt = await this.send({ ...contract.buildBatchTransaction(calls), gasLimit: simulation.gasLimit }, where);
    const mined = await contract.batchOutcomesIn(receipt.hash);
    if (JSON.stringify(mined, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) !== JSON.stringify(simulation.items, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) {
      throw new Error(`${this.aave} ${where}: mined outcomes differ from the simulated ones`);
    }
    console.error(`  ${this.aave} ${where}: gas ${receipt.gasUsed} (${receipt.gasUsed / BigInt(calls.length)} per item; estimate ${simulation.gasEstimate})`);
    return receipt.gasUsed;
  }

  private async send(request: { to: string; data: string; gasLimit: bigint }, where: string): Promise<TransactionReceipt> {
    const tx = await this.signer.sendTransaction(request);
    const receipt = await pollReceipt(this.provider, tx.hash);
    if (receipt.status !== 1) throw new Error(`${this.aave} ${where}: reverted on chain (tx ${tx.hash})`);
    return receipt;
  }
}

async function measureWorld(aave: AaveVersion): Promise<WorldFigures> {
  const scenario: Scenario = { ...loadScenario('default'), aave };
  console.error(`  ${aave}: starting the default world`);
  const world = await startWorld({ scenario, blockTimeSec: 0, services: false });
  try {
    const { provider } = world;
    await provider.send('anvil_setBlockTimestampInterval', [0]);
    const eoa = world.info.accounts.liquidators[0];
    await world.fundAccount(eoa);
    const owner = new JsonRpcSigner(provider, eoa);
    const deployer = new Deployer(provider, owner);
    const contract = await (await deployer.deploy(loadArtifact('own', 'Liquidator'), [world.info.market.pool, world.info.dex.swapRouter])).getAddress();
    // The contract's stock (steady state, and the inventory batch's funds): a quarter of what the EOA holds.
    for (const token of Object.values(world.info.tokens)) {
      const erc20 = new Contract(token, ERC20, owner);
      await deployer.send(erc20, 'transfer', [contract, ((await erc20.balanceOf(eoa)) as bigint) / 4n]);
    }
    for (const [asset, percent] of Object.entries(FALL_PERCENT) as ['WETH' | 'WBTC', bigint][]) {
      await world.setPrice(asset, (scenario.assets[asset]!.priceUsd * percent) / 100n);
    }
    const bench = new BatchGasBench(world, aave, { contract, eoa });
    const targets = await bench.findTargets();
    if (targets.length < TARGETS) throw new Error(`${aave}: only ${targets.length} targets`);
    const symbols = new Map(Object.entries(world.info.tokens).map(([symbol, address]) => [address.toLowerCase(), symbol]));
    const pairs = targets.map((t) => `${symbols.get(t.collateralAsset.toLowerCase())}/${symbols.get(t.debtAsset.toLowerCase())}`);
    console.error(`  ${aave}: targets ${pairs.join(', ')}`);

    const around = async <T>(run: () => Promise<T>): Promise<T> => {
      const id = await snapshot(provider);
      try {
        return await run();
      } finally {
        await revertTo(provider, id);
      }
    };
    const single = await around(() => bench.single(targets));
    const batch = new Map<number, bigint>();
    for (const size of BATCH_SIZES) batch.set(size, await around(() => bench.batch(targets.slice(0, size), 'flash-loan')));
    const inventoryBatch = await around(() => bench.batch(targets, 'inventory'));
    return { aave, single, batch, inventoryBatch, pairs };
  } finally {
    await world.stop();
  }
}

export async function batchGas(): Promise<BenchResult> {
  const started = process.hrtime.bigint();
  const rows: BenchResult['rows'] = [];
  const ratios: BenchResult['ratios'] = [];
  for (const aave of AAVE_VERSIONS) {
    const { single, batch, inventoryBatch } = await measureWorld(aave);
    const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
    const singleMean = sum(single) / BigInt(single.length);
    rows.push({ label: `${aave} single liquidate, flash loan + swap (mean of ${single.length})`, value: Number(singleMean), unit: 'gas/liq' });
    for (const size of BATCH_SIZES) {
      const perItem = batch.get(size)! / BigInt(size);
      // Against the same borrowers' single liquidations.
      const singleSame = sum(single.slice(0, size)) / BigInt(size);
      rows.push({ label: `${aave} liquidateBatch of ${size}, flash loan per item`, value: Number(perItem), unit: 'gas/liq' });
      rows.push({ label: `${aave}   per liquidation, of the same singles`, value: (100 * Number(perItem)) / Number(singleSame), unit: '%' });
      ratios.push({ label: `${aave} batch of ${size} vs single liquidate, per liquidation`, value: Number(perItem) / Number(singleSame) });
    }
    const flashPerItem = (batch.get(10)! - inventoryBatch) / 10n;
    rows.push({ label: `${aave} liquidateBatch of 10, inventory`, value: Number(inventoryBatch / 10n), unit: 'gas/liq' });
    rows.push({ label: `${aave} a flash loan inside a batch of 10 (flash − inventory)`, value: Number(flashPerItem), unit: 'gas/liq' });
  }
  rows.push({ label: 'wall time, both worlds', value: Number(process.hrtime.bigint() - started) / 1e9, unit: 's' });
  return { name: 'batch-gas', rows, ratios };
}
