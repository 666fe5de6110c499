/**
 * RPC calls per worker decision: re-reading a candidate's position, planning it and simulating it, through the
 * worker's own adapters and settings (functions/handlers/worker.ts `executeCandidateDepsFromConfig`: the position
 * reader, the oracle's native price from its snapshot, the fee read, QuoterV2 and the flash-loan premium, our
 * Liquidator's simulation; the steps of `decide` and `prepare` in functions/pipeline/execute-candidate.ts), with
 * the position reader's per-call reads (what the worker did until now) and with its lens (PositionLens.sol, one
 * deployless eth_call for the market at a block and one per user), side by side in one run on one chain.
 *
 * World: `many-reserves` (24 reserves, liquid eMode borrowers) when local/scenarios/many-reserves.json exists and
 * starts, else `crash-30` (3 reserves), said in the result's name. Its volatile assets (every asset priced above
 * $2) are set 30 % lower, then at the next block the first CANDIDATES borrowers the Pool reports liquidatable are
 * decided one after the other at that block, each mode with fresh adapters (empty caches) on its own provider
 * through a counting proxy (local/chaos/rpc-fault-proxy.ts, no faults). Each step's calls are the proxy's count
 * across it (the steps run one at a time, and nothing else talks to that proxy):
 *   read      positions.read (the market snapshot on the block's first decision, then the user)
 *   fees      chain.feesAfter (eth_feeHistory) and the native price (the reader's snapshot: no call)
 *   plan      selectPair + planFunded / planBest: QuoterV2 per route tried (configured routes and one direct pool
 *             per fee tier), the flash-loan premium on the block's first decision
 *   simulate  Liquidator.simulate: eth_call, then eth_estimateGas
 * The first decision at a block pays the block's shared reads (market snapshot, premium); the figures of record are
 * the later decisions' (mean), and the first's next to them. Fails (throws) if the lens's read is not 1 call per
 * later decision and 2 on the first, or if a mode decided a candidate differently (same plan and simulated profit).
 * Also reports the gas the lens calls use at that block (eth_estimateGas straight to the node, not counted).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type JsonRpcProvider, Contract } from 'ethers';
import { AaveV3FlashLoanTerms } from '../functions/adapters/chain/aave-v3-flash-loan-terms';
import { AaveV3PositionReader, type PositionReadMode } from '../functions/adapters/chain/aave-v3-position-reader';
import { ethersChainGateway } from '../functions/adapters/chain/ethers-chain-gateway';
import { EthersLiquidatorContract } from '../functions/adapters/chain/liquidator-contract';
import { createJsonRpcProvider, latestBlockNumber } from '../functions/adapters/chain/provider';
import { encodePositionLensCall, POSITION_LENS_FLAGS } from '../functions/adapters/chain/position-lens';
import { UniswapV3Quoter } from '../functions/adapters/chain/uniswap-v3-quoter';
import { loadPipelineConfig, type PipelineConfig } from '../functions/config/pipeline-config';
import { calculateAccountData, type GasCosts, isBestSizing, priceImpactBudgetOf, selectPair } from '../functions/domain';
import { aaveOracleNativePrice, aavePositionSource } from '../functions/adapters/chain/aave-v3-protocol';
import { planBest, planFunded } from '../functions/pipeline/funded-plan';
import { sizingStrategyFor } from '../functions/pipeline/execute-candidate';
import { QUEUES, TABLES } from '../lib/resources';
import { type RpcFaultProxy, startRpcFaultProxy } from '../local/chaos/rpc-fault-proxy';
import { localPipelineEnv } from '../local/runtime/pipeline-env';
import { type AssetSymbol, loadScenario, type Scenario } from '../local/world/scenario';
import { startWorld, type World } from '../local/world/world';
import type { BenchResult } from './run';

const MANY_RESERVES = join(__dirname, '..', 'local', 'scenarios', 'many-reserves.json');
const FALLBACK_SCENARIO = join(__dirname, '..', 'local', 'scenarios', 'crash-30.json');
const CANDIDATES = 10;
const SHOCK_BPS = 7_000n;
const STEPS = ['read', 'fees', 'plan', 'simulate'] as const;
type Step = (typeof STEPS)[number];
const MODES: readonly PositionReadMode[] = ['per-call', 'lens'];
const TARGET_CALLS_PER_DECISION = 4;
const POOL = ['function getUserAccountData(address user) view returns (uint256, uint256, uint256, uint256, uint256, uint256 healthFactor)'];

const log = (line: string) => console.error(`  ${line}`);

type StepCalls = Record<Step, number>;

interface Decided {
  user: string;
  calls: StepCalls;
  /** What was decided, to check both modes decided alike. */
  outcome: string;
}

async function bootWorld(): Promise<{ world: World; scenario: Scenario; note: string }> {
  if (existsSync(MANY_RESERVES)) {
    try {
      const scenario = loadScenario(MANY_RESERVES);
      return { world: await startWorld({ scenario, blockTimeSec: 0, services: false }), scenario, note: 'many-reserves' };
    } catch (err) {
      log(`many-reserves did not start (${(err as Error).message}); using crash-30`);
    }
  } else {
    log('local/scenarios/many-reserves.json does not exist yet; using crash-30');
  }
  const scenario = loadScenario(FALLBACK_SCENARIO);
  return { world: await startWorld({ scenario, blockTimeSec: 0, services: false }), scenario, note: 'crash-30 (many-reserves not available)' };
}

/** The worker's configuration for the world, as the local runtime builds it; tables and queues are never used here. */
function workerConfig(world: World): PipelineConfig {
  const tables = Object.fromEntries(Object.keys(TABLES).map((key) => [key, `bench-${key}`]));
  const queues = Object.fromEntries(Object.keys(QUEUES).map((key) => [key, `http://127.0.0.1:1/bench-${key}`]));
  const info = { ...world.info, dynamodb: { endpoint: 'http://127.0.0.1:1', tables }, sqs: { endpoint: 'http://127.0.0.1:1', queues } } as typeof world.info;
  return loadPipelineConfig(localPipelineEnv(info));
}

/** The worker's adapters on `provider` (executeCandidateDepsFromConfig), the reader in `mode`. */
function workerAdapters(provider: JsonRpcProvider, config: PipelineConfig, liquidator: string, mode: PositionReadMode) {
  const reader = new AaveV3PositionReader(provider, config.pool, config.ruleSet, config.poolVersion, {
    mode,
    onFallback: (reason) => log(`position reader fell back: ${reason}`),
  });
  const swap = config.worker.swap;
  return {
    reader,
    positions: aavePositionSource(reader),
    nativePrice: aaveOracleNativePrice(reader, config.worker.nativePriceAsset!),
    chain: ethersChainGateway(provider),
    quoter: new UniswapV3Quoter(provider, swap.quoter!, { feeTiers: swap.feeTiers, routes: swap.routes }),
    flashTerms: new AaveV3FlashLoanTerms(provider, config.pool),
    liquidator: new EthersLiquidatorContract(provider, liquidator, { gasHeadroomBps: config.worker.gasHeadroomBps }),
  };
}

/** decide + simulate of one candidate (execute-candidate.ts), each step's calls counted at the proxy. */
async function decideOne(adapters: ReturnType<typeof workerAdapters>, config: PipelineConfig, proxy: RpcFaultProxy, user: string, signer: string, block: number): Promise<Decided> {
  const calls: StepCalls = { read: 0, fees: 0, plan: 0, simulate: 0 };
  const counted = async <T>(step: Step, work: () => Promise<T>): Promise<T> => {
    const before = proxy.stats().calls;
    const result = await work();
    calls[step] += proxy.stats().calls - before;
    return result;
  };
  const read = await counted('read', () => adapters.positions.read(user, block));
  if (read.kind !== 'position') return { user, calls, outcome: `unsupported: ${read.reason}` };
  const hf = calculateAccountData(read.position).healthFactorWad;
  const [gasPrice, nativePriceBase8] = await counted('fees', () => Promise.all([adapters.chain.feesAfter(block), adapters.nativePrice.nativePriceBase8(block)]));
  const w = config.worker;
  const sizing = sizingStrategyFor(w.sizing, w.targetHealthFactorWad, w.maxPriceImpactBps);
  const assumedGasPerStep = 500_000n;
  const costs = { gasUnitsPerStep: assumedGasPerStep, gasPrice, nativePriceBase8, swapCostBps: w.swapCostBps, minProfitBase: w.minProfitBase };
  const selection = selectPair(read.position, { sizing, costs, liquidator: adapters.liquidator.address, receiveAToken: false });
  if (!selection.candidates.some((c) => c.kind === 'sized')) return { user, calls, outcome: `hf ${hf}: no liquidatable pair` };
  const gas: GasCosts = { gasUnits: assumedGasPerStep, gasPrice, nativePriceBase8, minProfitBase: w.minProfitBase };
  const budget = priceImpactBudgetOf(sizing);
  const settings = { funding: w.funding, ruleSet: config.ruleSet, maxSlippageBps: w.maxSlippageBps, ...(budget === undefined ? {} : { maxPriceImpactBps: budget }) };
  const funded = await counted('plan', () =>
    isBestSizing(sizing)
      ? planBest(adapters, read.position, sizing, block, gas, settings, { costs, liquidator: adapters.liquidator.address })
      : planFunded(adapters, read.position, selection.candidates, block, gas, settings),
  );
  if (funded.kind === 'skip') return { user, calls, outcome: `hf ${hf}: skip ${funded.reason}` };
  const simulation = await counted('simulate', () => adapters.liquidator.simulate(funded.choice.call, signer, block));
  const simulated = simulation.kind === 'ok' ? `profit ${simulation.profitUnits}` : `revert ${JSON.stringify(simulation)}`;
  const plan = funded.choice.plan;
  return { user, calls, outcome: `hf ${hf}: ${plan.collateralAsset}/${plan.debtAsset} repay ${plan.debtRepaidUnits}, ${simulated}` };
}

/** Gas the lens calls use at `block` (eth_estimateGas, straight to the node: not counted), with the reader's flags. */
async function lensGas(world: World, reader: AaveV3PositionReader, users: readonly string[], block: number): Promise<{ market: bigint; users: bigint[] }> {
  const f = POSITION_LENS_FLAGS;
  const flags =
    (reader.features.liquidationGracePeriod ? f.gracePeriod : 0n) |
    (reader.features.virtualAccounting ? f.virtualAccounting : 0n) |
    (reader.features.stableDebt ? f.stableDebt : 0n) |
    (reader.eModeModel === 'liquid' ? f.liquidEMode : 0n);
  const estimate = async (user: string, callFlags: bigint) =>
    BigInt((await world.provider.send('eth_estimateGas', [{ data: encodePositionLensCall(world.info.market.pool, user, callFlags, 0) }, `0x${block.toString(16)}`])) as string);
  return { market: await estimate('0x0000000000000000000000000000000000000000', flags), users: await Promise.all(users.map((user) => estimate(user, f.user | flags))) };
}

const total = (c: StepCalls) => STEPS.reduce((sum, step) => sum + c[step], 0);
const mean = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);

/** The bench (bench/run.ts `rpc-per-decision`). */
export async function rpcPerDecision(): Promise<BenchResult> {
  const { world, scenario, note } = await bootWorld();
  const proxies: RpcFaultProxy[] = [];
  const providers: JsonRpcProvider[] = [];
  try {
    const config = workerConfig(world);
    const reserves = Object.keys(scenario.assets).length;
    log(`world ${note}: ${reserves} reserves, ${world.info.borrowers.length} borrowers`);
    // Scenario prices are base-8 USD (local/world/scenario.ts).
    for (const [symbol, asset] of Object.entries(scenario.assets)) {
      if (!asset || asset.priceUsd <= 2_00000000n) continue;
      await world.setPrice(symbol as AssetSymbol, (asset.priceUsd * SHOCK_BPS) / 10_000n);
    }
    const block = await latestBlockNumber(world.provider);
    const pool = new Contract(world.info.market.pool, POOL, world.provider);
    const candidates: string[] = [];
    for (const borrower of world.info.borrowers) {
      const data = (await pool.getUserAccountData(borrower.address, { blockTag: block })) as { healthFactor: bigint };
      if (data.healthFactor < 10n ** 18n) candidates.push(borrower.address);
      if (candidates.length === CANDIDATES) break;
    }
    if (candidates.length === 0) throw new Error(`no borrower is liquidatable at block ${block} after the shock`);
    log(`block ${block}: deciding ${candidates.length} liquidatable borrowers in each mode`);

    const signer = world.info.accounts.liquidators[0];
    const byMode = new Map<PositionReadMode, Decided[]>();
    for (const mode of MODES) {
      const proxy = await startRpcFaultProxy({ upstream: world.info.rpcUrl, seed: 1 });
      proxies.push(proxy);
      const provider = createJsonRpcProvider(proxy.url, config.chainId);
      providers.push(provider);
      const adapters = workerAdapters(provider, config, world.info.liquidatorContract, mode);
      const decided: Decided[] = [];
      for (const user of candidates) decided.push(await decideOne(adapters, config, proxy, user, signer, block));
      if (adapters.reader.currentMode !== mode) throw new Error(`the ${mode} reader ended in mode ${adapters.reader.currentMode}`);
      byMode.set(mode, decided);
    }

    const gas = await lensGas(world, workerAdapters(world.provider, config, world.info.liquidatorContract, 'lens').reader, candidates, block);
    const [perCall, lens] = [byMode.get('per-call')!, byMode.get('lens')!];
    const differing = perCall.filter((d, i) => d.outcome !== lens[i].outcome);
    if (differing.length > 0) {
      throw new Error(`the modes decided differently: ${differing.map((d, i) => `${d.user}: ${d.outcome} vs ${lens[i].outcome}`).join('; ')}`);
    }
    const [lensFirst, ...lensLater] = lens;
    if (lensFirst.calls.read !== 2 || lensLater.some((d) => d.calls.read !== 1)) {
      throw new Error(`lens reads per decision: ${lens.map((d) => d.calls.read).join(', ')} (expected 2, then 1)`);
    }
    for (const d of lens) log(`lens  ${d.outcome}: ${JSON.stringify(d.calls)}`);

    const rows: BenchResult['rows'] = [];
    const figures = (mode: PositionReadMode, decided: Decided[]) => {
      const [first, ...later] = decided;
      rows.push({ label: `${mode}: calls, first decision at the block`, value: total(first.calls), unit: 'calls' });
      rows.push({ label: `${mode}: calls per later decision`, value: mean(later.map((d) => total(d.calls))), unit: 'calls' });
      for (const step of STEPS) rows.push({ label: `${mode}:   ${step} (later decisions)`, value: mean(later.map((d) => d.calls[step])), unit: 'calls' });
    };
    figures('per-call', perCall);
    figures('lens', lens);
    const laterTotal = (decided: Decided[]) => mean(decided.slice(1).map((d) => total(d.calls)));
    const laterRead = (decided: Decided[]) => mean(decided.slice(1).map((d) => d.calls.read));
    rows.push({ label: `target: calls per decision`, value: TARGET_CALLS_PER_DECISION, unit: 'calls' });
    rows.push({ label: 'lens gas: market call', value: Number(gas.market) / 1e6, unit: 'M gas' });
    rows.push({ label: 'lens gas: user call (mean)', value: Number(gas.users.reduce((a, b) => a + b, 0n) / BigInt(gas.users.length)) / 1e6, unit: 'M gas' });
    return {
      name: `rpc-per-decision (${note}, ${reserves} reserves, ${candidates.length} candidates at one block)`,
      rows,
      ratios: [
        { label: 'per-call / lens, calls per later decision', value: laterTotal(perCall) / laterTotal(lens) },
        { label: 'per-call / lens, position read per decision', value: laterRead(perCall) / laterRead(lens) },
      ],
    };
  } finally {
    for (const provider of providers) provider.destroy();
    for (const proxy of proxies) await proxy.close();
    await world.stop();
  }
}
