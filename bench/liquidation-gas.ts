/**
 * Gas of real mined liquidations, four ways side by side on one market (the `default` scenario after ETH falls
 * 20 % and BTC 16 %), on Aave v3.6 and V3.0:
 *
 *   direct       Pool.liquidationCall from a funded EOA (inventory held by the signer; the pre-contract path)
 *   inventory    our Liquidator (contracts/src/Liquidator.sol) paying from its own balance, then the swap
 *   flash-swap   our Liquidator with a flash loan, cross-asset pair, seized collateral sold on Uniswap V3
 *   flash-same   our Liquidator with a flash loan, a pair with the same asset on both sides (no swap)
 *
 * Every mode starts from the same anvil snapshot (taken after the price fall) and liquidates the same borrowers
 * in the same order, so direct, inventory and flash-swap compare like with like: same pair, same size (the
 * engine's max sizing, fitted to what the reserves can pay out with a flash loan, so every mode repays the same).
 * Each liquidation is planned by the engine at the block before it (position → sizing → QuoterV2 quote →
 * assessFundedLiquidation) and sent alone in the next block; timestamps are frozen, so nothing accrues between
 * the plan and the transaction and the plan must hold to the wei: the contract's debt-asset balance change must
 * equal `expectedProfitUnits`, and the EOA must pay exactly the planned debt and receive exactly the planned
 * collateral. The bench fails otherwise.
 *
 * The contract and the EOA hold every asset beforehand (steady state: a contract that has run keeps its profits).
 * A contract that has never held the debt asset pays for the balance's storage slot going from zero to non-zero
 * (20,000 instead of 2,900 gas, EIP-2200): measured once by an empty contract on the first flash-swap target.
 */
import { Contract, type JsonRpcProvider, JsonRpcSigner, type TransactionReceipt } from 'ethers';
import { AaveV3FlashLoanTerms } from '../functions/adapters/chain/aave-v3-flash-loan-terms';
import { AaveV3LiquidationExecutor } from '../functions/adapters/chain/aave-v3-liquidation-executor';
import { AaveV3PositionReader } from '../functions/adapters/chain/aave-v3-position-reader';
import { EthersLiquidatorContract } from '../functions/adapters/chain/liquidator-contract';
import { latestBlockNumber, pollReceipt } from '../functions/adapters/chain/provider';
import { UniswapV3Quoter } from '../functions/adapters/chain/uniswap-v3-quoter';
import {
  assessFundedLiquidation,
  calculateAccountData,
  type CostModel,
  exactDebtToCoverUnits,
  fitToAvailableLiquidity,
  type GasCosts,
  type LiquidationPair,
  type LiquidationPlan,
  maxSizing,
  type RuleSet,
  ruleSetForPoolVersion,
  sameAddress,
  selectPair,
  withPoolBalances,
} from '../functions/domain';
import { liquidatorCallOf } from '../functions/pipeline/funded-plan';
import { loadArtifact } from '../local/world/artifacts';
import { Deployer } from '../local/world/deployer';
import { loadScenario, type Scenario } from '../local/world/scenario';
import { startWorld, type World } from '../local/world/world';
import type { BenchResult } from './run';

const AAVE_VERSIONS = ['v3.6', 'v3.0'] as const;
type AaveVersion = (typeof AAVE_VERSIONS)[number];
const MODES = ['direct', 'inventory', 'flash-swap', 'flash-same'] as const;
type Mode = (typeof MODES)[number];
const MODE_LABELS: Record<Mode, string> = {
  direct: 'direct liquidationCall from a funded EOA',
  inventory: 'contract, inventory mode, with swap',
  'flash-swap': 'contract, flash loan, with swap',
  'flash-same': 'contract, flash loan, same asset',
};
/** Borrowers liquidated per mode (distinct within a mode). */
const ACCOUNTS_PER_MODE = 10;
/** The price fall, in percent of the scenario's prices. */
const FALL_PERCENT: Partial<Record<'WETH' | 'WBTC', bigint>> = { WETH: 80n, WBTC: 84n };
const WAD = 10n ** 18n;
const ERC20 = ['function balanceOf(address) view returns (uint256)', 'function transfer(address to, uint256 amount) returns (bool)'];
/** Pairs are found with a flat ranking only; every liquidation is priced with quotes. */
const RANKING: CostModel = {
  gasUnitsPerStep: 0n,
  gasPrice: { baseFeePerGasWei: 0n, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 0n },
  nativePriceBase8: 0n,
  swapCostBps: 0n,
  minProfitBase: -(2n ** 255n),
};
/** The plan's exactness, not whether it pays: no gas, and the contract only has to break even. */
const NO_GAS: GasCosts = { gasUnits: 0n, gasPrice: RANKING.gasPrice, nativePriceBase8: 0n, minProfitBase: -(2n ** 255n) };

interface Target extends LiquidationPair {
  user: string;
  label: string;
}

interface Executed {
  user: string;
  gasUsed: bigint;
  /** Contract modes: profit in debt-asset units. Direct: debt paid (positive) and collateral received. */
  planned: { profitUnits?: bigint; debtPaidUnits?: bigint; collateralUnits?: bigint };
  realised: { profitUnits?: bigint; debtPaidUnits?: bigint; collateralUnits?: bigint };
}

interface ModeRun {
  mode: Mode;
  executed: Executed[];
  skipped: string[];
}

interface WorldFigures {
  aave: AaveVersion;
  runs: ModeRun[];
  /** The first flash-swap target again, by a contract that never held a token. */
  emptyContractRun: ModeRun | undefined;
  /** Its gas minus the same liquidation's by the contract that holds every asset. */
  firstHoldingExtraGas: bigint | undefined;
}

const absolute = (x: bigint) => (x < 0n ? -x : x);

function median(values: readonly bigint[]): bigint {
  if (values.length === 0) return 0n;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2n;
}

/** Σ|realised − planned| over a run: debt-asset units (profit, debt paid) and, for the direct mode, collateral units. */
function deviations(run: ModeRun): { debtUnits: bigint; collateralUnits: bigint } {
  let debtUnits = 0n;
  let collateralUnits = 0n;
  for (const e of run.executed) {
    debtUnits += absolute((e.realised.profitUnits ?? 0n) - (e.planned.profitUnits ?? 0n));
    debtUnits += absolute((e.realised.debtPaidUnits ?? 0n) - (e.planned.debtPaidUnits ?? 0n));
    collateralUnits += absolute((e.realised.collateralUnits ?? 0n) - (e.planned.collateralUnits ?? 0n));
  }
  return { debtUnits, collateralUnits };
}

/** One snapshot id per revert: anvil drops a snapshot when it reverts to it. */
async function snapshot(provider: JsonRpcProvider): Promise<string> {
  return (await provider.send('evm_snapshot', [])) as string;
}

async function revertTo(provider: JsonRpcProvider, id: string): Promise<void> {
  if (!((await provider.send('evm_revert', [id])) as boolean)) throw new Error(`anvil could not revert to snapshot ${id}`);
}

class GasBench {
  private readonly provider: JsonRpcProvider;
  private readonly ruleSet: RuleSet;
  private readonly symbols: Map<string, string>;

  constructor(
    private readonly world: World,
    private readonly aave: AaveVersion,
    private readonly log: (line: string) => void,
  ) {
    this.provider = world.provider;
    this.ruleSet = ruleSetForPoolVersion(aave);
    this.symbols = new Map(Object.entries(world.info.tokens).map(([symbol, address]) => [address.toLowerCase(), symbol]));
  }

  pairName(pair: LiquidationPair): string {
    return `${this.symbols.get(pair.collateralAsset.toLowerCase())}/${this.symbols.get(pair.debtAsset.toLowerCase())}`;
  }

  private balance(token: string, holder: string, block: number): Promise<bigint> {
    return new Contract(token, ERC20, this.provider).balanceOf(holder, { blockTag: block }) as Promise<bigint>;
  }

  /**
   * Liquidatable borrowers at the snapshot, with the pair each mode liquidates: the engine's max-sized pairs,
   * cross-asset ones for direct / inventory / flash-swap, same-asset ones for flash-same.
   */
  async findTargets(liquidator: string): Promise<{ cross: Target[]; same: Target[] }> {
    const block = await latestBlockNumber(this.provider);
    const reader = new AaveV3PositionReader(this.provider, this.world.info.market.pool, this.ruleSet);
    const cross: Target[] = [];
    const same: Target[] = [];
    for (const borrower of this.world.info.borrowers) {
      const position = withPoolBalances(await reader.readPosition(borrower.address, block));
      if (calculateAccountData(position).healthFactorWad >= WAD) continue;
      const selection = selectPair(position, { sizing: maxSizing, costs: RANKING, liquidator, receiveAToken: false });
      const fits = selection.candidates.filter(
        (c) => c.kind === 'sized' && fitToAvailableLiquidity(position, c.steps[0], 'flash-loan', { liquidator, receiveAToken: false }).kind !== 'none',
      );
      // The pair the engine would pick where it is of the kind wanted, else the first sized one of that kind.
      const preferred = selection.kind === 'liquidate' ? selection.pair : undefined;
      const pick = (wantSame: boolean) => {
        const ofKind = fits.filter((c) => sameAddress(c.pair.collateralAsset, c.pair.debtAsset) === wantSame);
        return ofKind.find((c) => preferred && sameAddress(c.pair.collateralAsset, preferred.collateralAsset) && sameAddress(c.pair.debtAsset, preferred.debtAsset)) ?? ofKind[0];
      };
      const crossPick = pick(false);
      const samePick = pick(true);
      if (crossPick && cross.length < ACCOUNTS_PER_MODE) cross.push({ user: borrower.address, label: borrower.label, ...crossPick.pair });
      if (samePick && same.length < ACCOUNTS_PER_MODE) same.push({ user: borrower.address, label: borrower.label, ...samePick.pair });
    }
    return { cross, same };
  }

  /** The engine's plan for `target` at `block`: max sizing of the pair, fitted to the reserves for a flash loan. */
  private async planAt(
    reader: AaveV3PositionReader,
    target: Target,
    liquidator: string,
    block: number,
  ): Promise<{ kind: 'plan'; plan: LiquidationPlan } | { kind: 'skip'; reason: string }> {
    const position = withPoolBalances(await reader.readPosition(target.user, block));
    const context = { liquidator, receiveAToken: false };
    const sized = maxSizing.size(position, target, context);
    if (sized.kind !== 'liquidate') return { kind: 'skip', reason: `not sized: ${sized.reason}` };
    const fit = fitToAvailableLiquidity(position, sized.steps[0], 'flash-loan', context);
    return fit.kind === 'none' ? { kind: 'skip', reason: 'no available liquidity' } : { kind: 'plan', plan: fit.plan };
  }

  /** Runs one mode over `targets` from the current state; the caller reverts to the snapshot around it. */
  async run(mode: Mode, targets: readonly Target[], liquidator: { contract: string; eoa: string }): Promise<ModeRun> {
    // Fresh adapters per run: the reader caches by block number, and a revert reuses block numbers.
    const reader = new AaveV3PositionReader(this.provider, this.world.info.market.pool, this.ruleSet);
    const quoter = new UniswapV3Quoter(this.provider, this.world.info.dex.quoter);
    const flashTerms = new AaveV3FlashLoanTerms(this.provider, this.world.info.market.pool);
    const contract = new EthersLiquidatorContract(this.provider, liquidator.contract);
    const executor = new AaveV3LiquidationExecutor(this.provider, this.world.info.market.pool);
    const signer = new JsonRpcSigner(this.provider, liquidator.eoa);
    const holder = mode === 'direct' ? liquidator.eoa : liquidator.contract;
    const result: ModeRun = { mode, executed: [], skipped: [] };

    for (const [index, target] of targets.entries()) {
      const where = `${this.aave} ${mode} ${index + 1}/${targets.length} ${target.label} ${this.pairName(target)}`;
      const block = await latestBlockNumber(this.provider);
      const sizing = await this.planAt(reader, target, holder, block);
      if (sizing.kind === 'skip') {
        result.skipped.push(`${where}: ${sizing.reason}`);
        continue;
      }
      const { plan } = sizing;

      let request: { to: string; data: string; gasLimit: bigint };
      let planned: Executed['planned'];
      if (mode === 'direct') {
        const call = { collateralAsset: plan.collateralAsset, debtAsset: plan.debtAsset, user: plan.user, debtToCoverUnits: exactDebtToCoverUnits(plan), receiveAToken: false };
        const simulation = await executor.simulate(call, liquidator.eoa, block);
        if (simulation.kind !== 'ok') throw new Error(`${where}: simulation reverted: ${simulation.reason}`);
        request = { ...executor.buildTransaction(call), gasLimit: simulation.gasLimit };
        planned = { debtPaidUnits: plan.debtRepaidUnits, collateralUnits: plan.liquidatorCollateralUnits };
      } else {
        const sameAsset = sameAddress(plan.collateralAsset, plan.debtAsset);
        const quote = sameAsset ? undefined : await quoter.bestQuote(plan.collateralAsset, plan.debtAsset, plan.liquidatorCollateralUnits, block);
        if (!sameAsset && !quote) {
          result.skipped.push(`${where}: no quote`);
          continue;
        }
        const funding = mode === 'inventory' ? 'inventory' : 'flash-loan';
        const premiumBps = funding === 'flash-loan' ? await flashTerms.premiumBps(block) : 0n;
        const assessment = assessFundedLiquidation(
          plan,
          quote ? { kind: 'swap', route: quote.route, amountInUnits: quote.amountInUnits, amountOutUnits: quote.amountOutUnits } : { kind: 'same-asset' },
          { mode: funding, ruleSet: this.ruleSet, flashLoanPremiumBps: premiumBps, maxSlippageBps: 0n },
          NO_GAS,
        );
        if (assessment.kind !== 'profitable') {
          result.skipped.push(`${where}: ${assessment.reason}`);
          continue;
        }
        const call = liquidatorCallOf(assessment.liquidation);
        const simulation = await contract.simulate(call, liquidator.eoa, block);
        if (simulation.kind !== 'ok') throw new Error(`${where}: simulation reverted: ${simulation.reason}`);
        request = { ...contract.buildTransaction(call), gasLimit: simulation.gasLimit };
        planned = { profitUnits: assessment.liquidation.expectedProfitUnits };
      }

      const receipt = await this.send(signer, request, where);
      const after = receipt.blockNumber;
      const before = after - 1;
      const [debtBefore, debtAfter, collateralBefore, collateralAfter] = await Promise.all([
        this.balance(plan.debtAsset, holder, before),
        this.balance(plan.debtAsset, holder, after),
        this.balance(plan.collateralAsset, holder, before),
        this.balance(plan.collateralAsset, holder, after),
      ]);
      const realised: Executed['realised'] =
        mode === 'direct' ? { debtPaidUnits: debtBefore - debtAfter, collateralUnits: collateralAfter - collateralBefore } : { profitUnits: debtAfter - debtBefore };
      result.executed.push({ user: target.user, gasUsed: receipt.gasUsed, planned, realised });
      const shown = mode === 'direct'
        ? `paid ${realised.debtPaidUnits} (plan ${planned.debtPaidUnits}), received ${realised.collateralUnits} (plan ${planned.collateralUnits})`
        : `profit ${realised.profitUnits} (plan ${planned.profitUnits})`;
      this.log(`  ${where}: gas ${receipt.gasUsed}, ${shown}`);
    }
    return result;
  }

  private async send(signer: JsonRpcSigner, request: { to: string; data: string; gasLimit: bigint }, where: string): Promise<TransactionReceipt> {
    const tx = await signer.sendTransaction(request);
    const receipt = await pollReceipt(this.provider, tx.hash);
    if (receipt.status !== 1) throw new Error(`${where}: reverted on chain (tx ${tx.hash})`);
    if (receipt.blockNumber !== (await latestBlockNumber(this.provider))) throw new Error(`${where}: another transaction was mined after it`);
    return receipt;
  }
}

async function measureWorld(aave: AaveVersion): Promise<WorldFigures> {
  const log = (line: string) => console.error(line);
  const scenario: Scenario = { ...loadScenario('default'), aave };
  log(`  ${aave}: starting the default world`);
  const world = await startWorld({ scenario, blockTimeSec: 0, services: false });
  try {
    const { provider } = world;
    await provider.send('anvil_setBlockTimestampInterval', [0]);
    const eoa = world.info.accounts.liquidators[0];
    // The direct path needs the debt assets in the account; the keeper's accounts start with ETH only.
    await world.fundAccount(eoa);
    const owner = new JsonRpcSigner(provider, eoa);
    const deployer = new Deployer(provider, owner);
    const liquidatorArtifact = loadArtifact('own', 'Liquidator');
    const args = [world.info.market.pool, world.info.dex.swapRouter];
    const funded = await (await deployer.deploy(liquidatorArtifact, args)).getAddress();
    const empty = await (await deployer.deploy(liquidatorArtifact, args)).getAddress();
    // The funded contract's stock: a quarter of what the EOA holds of every asset (the EOA keeps the rest).
    for (const token of Object.values(world.info.tokens)) {
      const erc20 = new Contract(token, ERC20, owner);
      const held = (await erc20.balanceOf(eoa)) as bigint;
      await deployer.send(erc20, 'transfer', [funded, held / 4n]);
    }
    for (const [asset, percent] of Object.entries(FALL_PERCENT) as ['WETH' | 'WBTC', bigint][]) {
      await world.setPrice(asset, (scenario.assets[asset]!.priceUsd * percent) / 100n);
    }

    const bench = new GasBench(world, aave, log);
    const targets = await bench.findTargets(funded);
    log(`  ${aave}: ${targets.cross.length} cross-asset targets (${targets.cross.map((t) => bench.pairName(t)).join(', ')}), ${targets.same.length} same-asset (${targets.same.map((t) => bench.pairName(t)).join(', ')})`);
    const runs: ModeRun[] = [];
    let emptyContractRun: ModeRun | undefined;
    let firstHoldingExtraGas: bigint | undefined;
    for (const mode of MODES) {
      const id = await snapshot(provider);
      runs.push(await bench.run(mode, mode === 'flash-same' ? targets.same : targets.cross, { contract: funded, eoa }));
      await revertTo(provider, id);
    }
    const flashSwap = runs.find((r) => r.mode === 'flash-swap')!;
    if (targets.cross.length > 0 && flashSwap.executed[0]?.user === targets.cross[0].user) {
      const id = await snapshot(provider);
      log(`  ${aave}: the first flash-swap target again, by a contract that has never held a token`);
      emptyContractRun = await bench.run('flash-swap', targets.cross.slice(0, 1), { contract: empty, eoa });
      await revertTo(provider, id);
      const [first] = emptyContractRun.executed;
      if (first) firstHoldingExtraGas = first.gasUsed - flashSwap.executed[0].gasUsed;
    }
    for (const run of runs) for (const skip of run.skipped) log(`  skipped ${skip}`);
    return { aave, runs, emptyContractRun, firstHoldingExtraGas };
  } finally {
    await world.stop();
  }
}

export async function liquidationGas(): Promise<BenchResult> {
  const started = process.hrtime.bigint();
  const figures: WorldFigures[] = [];
  for (const aave of AAVE_VERSIONS) figures.push(await measureWorld(aave));

  const rows: BenchResult['rows'] = [];
  const ratios: BenchResult['ratios'] = [];
  const problems: string[] = [];
  let deviationDebtUnits = 0n;
  let deviationCollateralUnits = 0n;
  let liquidations = 0;
  for (const { aave, runs, emptyContractRun, firstHoldingExtraGas } of figures) {
    const medianOf = (mode: Mode) => median(runs.find((r) => r.mode === mode)!.executed.map((e) => e.gasUsed));
    for (const run of emptyContractRun ? [...runs, emptyContractRun] : runs) {
      const { debtUnits, collateralUnits } = deviations(run);
      deviationDebtUnits += debtUnits;
      deviationCollateralUnits += collateralUnits;
      liquidations += run.executed.length;
      if (debtUnits !== 0n || collateralUnits !== 0n) problems.push(`${aave} ${run.mode}: realised − planned Σ|Δ| = ${debtUnits} debt units, ${collateralUnits} collateral units`);
    }
    for (const run of runs) {
      // flash-same needs a same-asset pair in the scenario; the other modes must liquidate.
      if (run.mode !== 'flash-same' && run.executed.length < 3) problems.push(`${aave} ${run.mode}: only ${run.executed.length} liquidations`);
      if (run.executed.length === 0) continue;
      rows.push({ label: `${aave} ${MODE_LABELS[run.mode]} (median of ${run.executed.length})`, value: Number(medianOf(run.mode)), unit: 'gas' });
    }
    if (firstHoldingExtraGas !== undefined) rows.push({ label: `${aave} extra gas, first liquidation by an empty contract`, value: Number(firstHoldingExtraGas), unit: 'gas' });
    const direct = medianOf('direct');
    const inventory = medianOf('inventory');
    const flashSwap = medianOf('flash-swap');
    // Same borrowers, same state: the per-borrower difference isolates what a mode adds.
    const paired = (more: Mode, less: Mode) => {
      const lessGas = new Map(runs.find((r) => r.mode === less)!.executed.map((e) => [e.user, e.gasUsed]));
      const differences = runs.find((r) => r.mode === more)!.executed.flatMap((e) => (lessGas.has(e.user) ? [e.gasUsed - lessGas.get(e.user)!] : []));
      return { count: differences.length, median: median(differences) };
    };
    const flashCost = paired('flash-swap', 'inventory');
    const contractAndSwapCost = paired('inventory', 'direct');
    rows.push({ label: `${aave} the flash loan's gas: flash-swap − inventory, per borrower (median of ${flashCost.count})`, value: Number(flashCost.median), unit: 'gas' });
    rows.push({ label: `${aave} contract + swap: inventory − direct, per borrower (median of ${contractAndSwapCost.count})`, value: Number(contractAndSwapCost.median), unit: 'gas' });
    console.error(
      `  ${aave}: median gas direct ${direct}, inventory ${inventory}, flash-swap ${flashSwap}, flash-same ${medianOf('flash-same')}; ` +
        `flash/direct ${(Number(flashSwap) / Number(direct)).toFixed(3)}×, flash/inventory ${(Number(flashSwap) / Number(inventory)).toFixed(3)}×, ` +
        `inventory/direct ${(Number(inventory) / Number(direct)).toFixed(3)}×; flash loan +${flashCost.median}, contract + swap +${contractAndSwapCost.median} per borrower`,
    );
    if (direct > 0n && flashSwap > 0n) ratios.push({ label: `${aave} gas, flash loan + swap vs direct`, value: Number(flashSwap) / Number(direct) });
    if (inventory > 0n && flashSwap > 0n) ratios.push({ label: `${aave} gas, flash loan + swap vs inventory contract`, value: Number(flashSwap) / Number(inventory) });
    if (direct > 0n && inventory > 0n) ratios.push({ label: `${aave} gas, inventory contract vs direct`, value: Number(inventory) / Number(direct) });
  }
  rows.push({ label: 'liquidations mined and checked against their plan', value: liquidations, unit: '' });
  rows.push({ label: 'Σ|realised − planned| profit and debt paid, debt units', value: Number(deviationDebtUnits), unit: 'units' });
  rows.push({ label: 'Σ|realised − planned| collateral received (direct)', value: Number(deviationCollateralUnits), unit: 'units' });
  rows.push({ label: 'wall time, both worlds', value: Number(process.hrtime.bigint() - started) / 1e9, unit: 's' });
  if (problems.length > 0) throw new Error(`liquidation-gas: ${problems.join('; ')}`);
  return { name: 'liquidation-gas', rows, ratios };
}
