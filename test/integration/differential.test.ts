/**
 * Engine vs chain, to the wei. On a local Aave market (v3.6 and V3.0), prices move so that seeded random
 * positions become liquidatable; for each one the engine reads the position at block N, picks a pair and a size
 * (max, target-health or the first step of two-step, in turn), the simulator checks the call at block N, and
 * the call is sent. Its on-chain effects — debt repaid, collateral received by the liquidator, protocol fee to
 * the treasury, the borrower's health factor, collateral and debt after — must equal the prediction exactly.
 *
 * Block timestamps are frozen (anvil_setBlockTimestampInterval 0), so the transaction in block N+1 runs at the
 * timestamp of block N: no interest accrues between the read and the call, which is what "at that block" means.
 *
 * The Pool works from scaled balances × indexes, never from balanceOf (withPoolBalances). Every position read
 * here must already hold those figures, and a copy whose balanceOf fields are one wei off (what reads answered
 * from two states look like) must be planned exactly as the position itself.
 */
import { Contract, JsonRpcSigner } from 'ethers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  aTokenBalanceUnits,
  aTokenScaledOutflow,
  type CostModel,
  calculateAccountData,
  findReserve,
  MAX_UINT256,
  planLiquidation,
  type LiquidationPlan,
  ruleSetForPoolVersion,
  selectPair,
  type SizingStrategy,
  maxSizing,
  targetHealthSizing,
  twoStepSizing,
  sameAddress,
  type UserPosition,
  withPoolBalances,
} from '../../functions/domain';
import { AaveV3LiquidationExecutor } from '../../functions/adapters/chain/aave-v3-liquidation-executor';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { LOCAL_TREASURY } from '../../local/world/aave/market';
import { loadScenario, parseScenario, type Scenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(600_000);

const POOL_EVENTS = [
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
  'event DeficitCreated(address indexed user, address indexed debtAsset, uint256 amountCreated)',
  'function getUserAccountData(address user) view returns (uint256, uint256, uint256, uint256, uint256, uint256 healthFactor)',
  'function getUserEMode(address user) view returns (uint256)',
];
const ERC20 = [
  'function balanceOf(address) view returns (uint256)',
  'function scaledBalanceOf(address) view returns (uint256)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
];
const WAD = 10n ** 18n;

/** Every non-zero balanceOf one wei high; V3.0 debt only on the collateral side (its debt has a stable part). */
function offByOne(position: UserPosition): UserPosition {
  const bump = (units: bigint) => (units === 0n ? units : units + 1n);
  return {
    ...position,
    reserves: position.reserves.map((r) => ({
      ...r,
      collateralBalanceUnits: bump(r.collateralBalanceUnits),
      debtBalanceUnits: position.ruleSet === 'v3.0' ? r.debtBalanceUnits : bump(r.debtBalanceUnits),
    })),
  };
}

/** Costs are zero here: the test is about exactness, not whether a liquidation pays. */
const FREE: CostModel = {
  gasUnitsPerStep: 0n,
  gasPrice: { baseFeePerGasWei: 0n, maxPriorityFeePerGasWei: 0n, maxFeePerGasWei: 0n },
  nativePriceBase8: 0n,
  swapCostBps: 0n,
  minProfitBase: -(2n ** 255n),
};

const STRATEGIES: SizingStrategy[] = [
  maxSizing,
  targetHealthSizing({ targetHealthFactorWad: 1_050_000_000_000_000_000n }),
  twoStepSizing(),
];

interface Tally {
  executed: number;
  byStrategy: Record<string, number>;
  closeFactors: Set<string>;
  limitedBy: Set<string>;
  deficits: number;
  /** Liquidations where a plain max call would revert with MustNotLeaveDust (v3.3+), so sizing had to adapt. */
  dustEdges: number;
  /** Liquidations of positions whose total debt was under $2,000 (full close on v3.3+). */
  smallPositions: number;
  /** Liquidations of borrowers in an eMode category, and of those the ones whose collateral took the category's bonus. */
  eMode: number;
  eModeBonus: number;
  skipped: Record<string, number>;
  mismatches: string[];
}

type Prices = Record<string, bigint>;
interface DifferentialWorld {
  name: string;
  aave: 'v3.6' | 'v3.0';
  scenario: () => Scenario;
  /** Price moves, in order; after each, every liquidatable borrower is liquidated and checked. */
  waves: (scenario: Scenario) => { name: string; prices: Prices }[];
}

const fixture = () => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'differential.json'), 'utf8')) as Record<string, unknown>;
/** ETH and BTC fall (ETH/BTC collateral against USDC debt), then rise (USDC collateral against ETH/BTC debt). */
const fallAndRise = (scenario: Scenario) => [
  { name: 'fall', prices: { WETH: (scenario.assets.WETH!.priceUsd * 80n) / 100n, WBTC: (scenario.assets.WBTC!.priceUsd * 84n) / 100n } },
  { name: 'rise', prices: { WETH: (scenario.assets.WETH!.priceUsd * 125n) / 100n, WBTC: (scenario.assets.WBTC!.priceUsd * 122n) / 100n } },
];

const WORLDS: DifferentialWorld[] = [
  // Liquid eMode: category 1 covers WETH and WBTC collateral; its borrowers also hold USDC, outside the bitmap.
  { name: 'Aave v3.6', aave: 'v3.6', scenario: () => parseScenario(fixture(), 'differential.json'), waves: fallAndRise },
  {
    // V3.0 with a category price source: for category 1's borrowers WETH and WBTC are both priced as WETH, so
    // its eMode borrowers hold USDC against WETH or WBTC debt (WBTC debt at ETH's price) and the rise takes them.
    name: 'Aave V3.0',
    aave: 'v3.0',
    scenario: () => {
      const json = fixture();
      const generate = json.generate as Record<string, unknown>[];
      return parseScenario(
        {
          ...json,
          aave: 'v3.0',
          emodeCategories: { '1': { ...(json.emodeCategories as Record<string, object>)['1'], label: 'priced as ETH', priceSource: 'WETH' } },
          generate: [generate[0], { ...generate[1], collateral: ['USDC'], debt: ['WETH', 'WBTC'] }],
        },
        'differential.json (V3.0, category price source)',
      );
    },
    waves: fallAndRise,
  },
  // 24 reserves (decimals 6, 8, 18), two eMode categories: the scenario's own shocks.
  {
    name: 'Aave v3.6, many-reserves',
    aave: 'v3.6',
    scenario: () => ({ ...loadScenario('many-reserves'), blockTimeSec: 0 }),
    waves: (scenario) => scenario.shocks.map((shock, i) => ({ name: `shock ${i + 1}`, prices: shock.prices as Prices })),
  },
];

describe.each(WORLDS.map((w) => [w.name, w] as const))('engine vs chain on %s', (_name, config) => {
  const { aave } = config;
  const scenario: Scenario = config.scenario();
  let world: World;
  const tally: Tally = { executed: 0, byStrategy: {}, closeFactors: new Set(), limitedBy: new Set(), deficits: 0, dustEdges: 0, smallPositions: 0, eMode: 0, eModeBonus: 0, skipped: {}, mismatches: [] };

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    // Liquidates directly from an account (the engine against the Pool itself): the account holds the debt assets.
    await world.fundAccount(world.info.accounts.liquidators[0]);
    await world.provider.send('anvil_setBlockTimestampInterval', [0]);
  });
  afterAll(async () => {
    await world?.stop();
  });

  async function liquidateEverything(wave: string): Promise<void> {
    const { provider } = world;
    const ruleSet = ruleSetForPoolVersion(aave);
    const reader = new AaveV3PositionReader(provider, world.info.market.pool, ruleSet);
    const executor = new AaveV3LiquidationExecutor(provider, world.info.market.pool);
    const liquidator = world.info.accounts.liquidators[0];
    const signer = new JsonRpcSigner(provider, liquidator);
    const pool = new Contract(world.info.market.pool, POOL_EVENTS, provider);
    const balance = (token: string, owner: string, block: number) =>
      new Contract(token, ERC20, provider).balanceOf(owner, { blockTag: block }) as Promise<bigint>;
    const scaledBalance = (token: string, owner: string, block: number) =>
      new Contract(token, ERC20, provider).scaledBalanceOf(owner, { blockTag: block }) as Promise<bigint>;
    const reserveOf = (asset: string) => Object.values(world.info.market.reserves).find((r) => sameAddress(r.underlying, asset))!;

    for (const [index, borrower] of world.info.borrowers.entries()) {
      const block = await latestBlockNumber(provider);
      const position = await reader.readPosition(borrower.address, block);
      if (withPoolBalances(position) !== position) tally.mismatches.push(`${wave} ${borrower.label}: balanceOf differs from scaled × index`);
      const healthFactorWad = calculateAccountData(position).healthFactorWad;
      if (healthFactorWad >= WAD) continue;
      // The health factor the engine computes (eMode LT and price included) is the Pool's, at the same block.
      const [accountBefore, eModeCategory] = await Promise.all([
        pool.getUserAccountData(borrower.address, { blockTag: block }),
        pool.getUserEMode(borrower.address, { blockTag: block }) as Promise<bigint>,
      ]);
      if ((accountBefore.healthFactor as bigint) !== healthFactorWad) {
        tally.mismatches.push(`${wave} ${borrower.label}: health factor before: chain ${accountBefore.healthFactor}, engine ${healthFactorWad}`);
      }
      const sizing = STRATEGIES[index % STRATEGIES.length];
      const options = { sizing, costs: FREE, liquidator, receiveAToken: false };
      const selection = selectPair(position, options);
      if (!isDeepStrictEqual(selectPair(offByOne(position), options), selection)) {
        tally.mismatches.push(`${wave} ${borrower.label}: balanceOf one wei off changed the plan`);
      }
      if (selection.kind !== 'liquidate') {
        tally.skipped[selection.reason] = (tally.skipped[selection.reason] ?? 0) + 1;
        continue;
      }
      const plan: LiquidationPlan = selection.steps[0];
      const where = `${wave} ${borrower.label} ${borrower.address} (${sizing.name})`;

      const call = {
        collateralAsset: plan.collateralAsset,
        debtAsset: plan.debtAsset,
        user: borrower.address,
        debtToCoverUnits: plan.debtToCoverUnits,
        receiveAToken: false,
      };
      const simulation = await executor.simulate(call, liquidator, block);
      if (simulation.kind !== 'ok') {
        tally.mismatches.push(`${where}: simulation reverted: ${simulation.reason}`);
        continue;
      }
      const collateral = reserveOf(plan.collateralAsset);
      const debt = reserveOf(plan.debtAsset);
      const [collBefore, debtBefore, treasuryScaledBefore] = await Promise.all([
        balance(collateral.underlying, liquidator, block),
        balance(debt.underlying, liquidator, block),
        scaledBalance(collateral.aToken, LOCAL_TREASURY, block),
      ]);
      const tx = await signer.sendTransaction({ ...executor.buildTransaction(call), gasLimit: simulation.gasLimit });
      const receipt = await pollReceipt(provider, tx.hash);
      if (receipt.status !== 1) {
        tally.mismatches.push(`${where}: liquidationCall reverted on chain (tx ${tx.hash})`);
        continue;
      }
      const after = receipt.blockNumber;
      const [collAfter, debtAfter, treasuryAfter, account, positionAfter] = await Promise.all([
        balance(collateral.underlying, liquidator, after),
        balance(debt.underlying, liquidator, after),
        balance(collateral.aToken, LOCAL_TREASURY, after),
        pool.getUserAccountData(borrower.address, { blockTag: after }),
        reader.readPosition(borrower.address, after),
      ]);
      const events = receipt.logs.map((log) => {
        try {
          return pool.interface.parseLog(log);
        } catch {
          return null;
        }
      });
      const aToken = new Contract(collateral.aToken, ERC20, provider);
      const feeTransfer = receipt.logs
        .filter((log) => sameAddress(log.address, collateral.aToken))
        .map((log) => aToken.interface.parseLog(log))
        .find((e) => e?.name === 'Transfer' && sameAddress(e.args.from, borrower.address) && sameAddress(e.args.to, LOCAL_TREASURY));
      // The treasury's balance is its scaled balance times the index, rounded: predict it from the scaled
      // amount the fee moves (AToken transferOnLiquidation), not as "balance + fee".
      const liquidityIndexRay = findReserve(position, plan.collateralAsset)!.scaled!.liquidityIndexRay;
      const treasuryPredicted = aTokenBalanceUnits(
        ruleSet,
        treasuryScaledBefore + aTokenScaledOutflow(ruleSet, plan.protocolFeeUnits, liquidityIndexRay),
        liquidityIndexRay,
      );
      const event = events.find((e) => e?.name === 'LiquidationCall');
      const deficits = events.filter((e) => e?.name === 'DeficitCreated').map((e) => ({ asset: e!.args.debtAsset as string, amountUnits: e!.args.amountCreated as bigint }));

      const checks: [string, bigint, bigint][] = [
        ['debt repaid (event)', event?.args.debtToCover as bigint, plan.debtRepaidUnits],
        ['collateral to liquidator (event)', event?.args.liquidatedCollateralAmount as bigint, plan.liquidatorCollateralUnits],
        ['collateral received by liquidator', collAfter - collBefore, plan.liquidatorCollateralUnits],
        ['debt paid by liquidator', debtBefore - debtAfter, plan.debtRepaidUnits],
        ['protocol fee to treasury (aToken Transfer)', (feeTransfer?.args.value as bigint | undefined) ?? 0n, plan.protocolFeeUnits],
        ['treasury aToken balance after', treasuryAfter, treasuryPredicted],
        ['health factor after', account.healthFactor as bigint, plan.healthFactorAfterWad],
        ['deficits created', BigInt(deficits.length), BigInt(plan.deficits.length)],
      ];
      for (const predicted of plan.positionAfter.reserves) {
        const actual = positionAfter.reserves.find((r) => sameAddress(r.asset, predicted.asset));
        checks.push([`collateral left ${predicted.asset}`, actual?.collateralBalanceUnits ?? 0n, predicted.collateralBalanceUnits]);
        checks.push([`debt left ${predicted.asset}`, actual?.debtBalanceUnits ?? 0n, predicted.debtBalanceUnits]);
      }
      plan.deficits.forEach((d, i) => checks.push([`deficit ${d.asset}`, deficits[i]?.amountUnits ?? -1n, d.amountUnits]));
      for (const [what, actual, predicted] of checks) {
        if (actual !== predicted) tally.mismatches.push(`${where}: ${what}: chain ${actual}, engine ${predicted} (Δ ${actual - predicted})`);
      }
      tally.executed++;
      if (eModeCategory !== 0n) {
        tally.eMode++;
        // The category's bonus, where it differs from the collateral reserve's own.
        const symbol = Object.entries(world.info.tokens).find(([, address]) => sameAddress(address, plan.collateralAsset))![0];
        if (findReserve(position, plan.collateralAsset)!.liquidationBonusBps !== BigInt(scenario.assets[symbol]!.liquidationBonusBps)) tally.eModeBonus++;
      }
      tally.byStrategy[sizing.name] = (tally.byStrategy[sizing.name] ?? 0) + 1;
      tally.closeFactors.add(plan.closeFactor);
      tally.limitedBy.add(plan.limitedBy);
      tally.deficits += plan.deficits.length;
      const pairs = position.reserves.flatMap((c) => position.reserves.map((d) => ({ collateralAsset: c.asset, debtAsset: d.asset })));
      const dustEdge = pairs.some((pair) => {
        const naiveMax = planLiquidation(position, { ...pair, debtToCoverUnits: MAX_UINT256, liquidator });
        return naiveMax.kind === 'skip' && naiveMax.reason === 'must-not-leave-dust';
      });
      if (dustEdge) tally.dustEdges++;
      if (plan.accountBefore.totalDebtBase < 2_000n * 10n ** 8n) tally.smallPositions++;
    }
  }

  it('predicts every liquidation to the wei after each price move', async () => {
    for (const wave of config.waves(scenario)) {
      await world.setPrices(wave.prices);
      await liquidateEverything(wave.name);
    }
    expect(tally.mismatches).toEqual([]);
  });

  it('exercised every strategy, both close-factor regimes and the collateral limit, with no revert', () => {
    console.log(`${config.name}: ${tally.executed} liquidations executed`, JSON.stringify({ ...tally, closeFactors: [...tally.closeFactors], limitedBy: [...tally.limitedBy], mismatches: tally.mismatches.length }));
    expect(tally.executed).toBeGreaterThanOrEqual(100);
    expect(Object.keys(tally.byStrategy).sort()).toEqual(['max', 'target-health', 'two-step']);
    expect(tally.closeFactors.size).toBeGreaterThanOrEqual(2);
    expect(tally.smallPositions).toBeGreaterThan(0);
    // Borrowers in eMode were liquidated, some with their category's bonus (where it covers the collateral).
    expect(tally.eMode).toBeGreaterThanOrEqual(config.name.includes('many-reserves') ? 60 : 20);
    if (aave === 'v3.6') expect(tally.eModeBonus).toBeGreaterThan(0);
    if (config.name === 'Aave v3.6') expect(tally.dustEdges).toBeGreaterThan(0);
  });
});
