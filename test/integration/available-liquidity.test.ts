/**
 * The `available-liquidity` scenario on Aave v3.6: the WBTC reserve is 80 % borrowed by a whale, so after the WBTC
 * shock its virtual underlying balance (1 WBTC) is below what a max liquidation of borrowers[0] pays the liquidator
 * (about 2.11 WBTC). The domain's max plan, sent as a direct `liquidationCall` from a funded liquidator account,
 * reverts on the Pool's checked subtraction from the virtual balance (Panic 0x11: LiquidationLogic.
 * _burnCollateralATokens → ReserveLogic.updateInterestRatesAndVirtualBalance, aave-v3-origin 3.6); the same plan
 * fitted to the available liquidity goes through. The whale stays healthy through every shock, and
 * the scenario's seed cache key follows its `utilisation` field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbiCoder, Contract, Interface } from 'ethers';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import {
  findReserve,
  fitToAvailableLiquidity,
  type LiquidationPlan,
  maxSizing,
  ruleSetForPoolVersion,
  type SizingContext,
  type UserPosition,
  withPoolBalances,
} from '../../functions/domain';
import { loadScenario, parseScenario, SCENARIO_DIR, WHALE_LABEL, WHALE_MIN_HEALTH_FACTOR } from '../../local/world/scenario';
import { seedCacheKey } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const POOL_ABI = [
  'function getVirtualUnderlyingBalance(address asset) view returns (uint128)',
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
  'function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)',
];
const POOL = new Interface(POOL_ABI);
const WAD = 10n ** 18n;
/** Solidity's Panic(uint256) with code 0x11: arithmetic underflow or overflow in checked arithmetic. */
const PANIC_UNDERFLOW = `0x4e487b71${AbiCoder.defaultAbiCoder().encode(['uint256'], [0x11]).slice(2)}`;
/** Explicit gas for eth_call of a liquidation (TOOLCHAIN gotcha 4). */
const CALL_GAS = 3_000_000n;

function revertDataOf(err: unknown): string | undefined {
  const e = err as { data?: unknown; error?: { data?: unknown }; info?: { error?: { data?: unknown } } };
  return [e.data, e.error?.data, e.info?.error?.data].find((c): c is string => typeof c === 'string' && c.startsWith('0x'));
}

describe('available-liquidity scenario on Aave v3.6', () => {
  const scenario = loadScenario('available-liquidity');
  const ruleSet = ruleSetForPoolVersion(scenario.aave);
  let world: World;
  let pool: Contract;
  let reader: AaveV3PositionReader;
  let keeper: string;
  let context: SizingContext;
  const address = (symbol: 'WBTC' | 'USDC' | 'WETH') => world.info.tokens[symbol];
  const borrower = (label: string) => world.info.borrowers.find((b) => b.label === label)!.address;

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    // Liquidates directly from an account (the engine against the Pool itself): the account holds the debt assets.
    await world.fundAccount(world.info.accounts.liquidators[0]);
    pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
    reader = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSet);
    keeper = world.info.accounts.liquidators[0];
    context = { liquidator: keeper, receiveAToken: false };
  });

  afterAll(async () => {
    await world?.stop();
  });

  const healthFactorOf = async (user: string, block: number) => ((await pool.getUserAccountData(user, { blockTag: block })) as { healthFactor: bigint }).healthFactor;
  const readPosition = async (user: string, block: number): Promise<UserPosition> => withPoolBalances(await reader.readPosition(user, block));

  /** eth_call of liquidationCall(debtToCover = plan's argument) from the funded keeper account at `block`. */
  const callLiquidation = (plan: LiquidationPlan, block: number) =>
    world.provider.call({
      from: keeper,
      to: world.info.market.pool,
      data: POOL.encodeFunctionData('liquidationCall', [plan.collateralAsset, plan.debtAsset, plan.user, plan.debtToCoverUnits, false]),
      gasLimit: CALL_GAS,
      blockTag: block,
    });

  it('seeds the WBTC reserve 80 % borrowed by a whale opened after the positions, at health factor 20', async () => {
    const block = await latestBlockNumber(world.provider);
    expect(world.info.borrowers.map((b) => b.label)).toEqual(['borrowers[0]', 'borrowers[1]', WHALE_LABEL]);
    const available = (await pool.getVirtualUnderlyingBalance(address('WBTC'), { blockTag: block })) as bigint;
    // 5 WBTC supplied by borrowers[0]; the whale borrowed 4.
    expect(available).toBe(10n ** 8n);
    expect(available).toBe(scenario.utilisation!.reserves.WBTC!.availableUnits);
    const whaleHf = await healthFactorOf(borrower(WHALE_LABEL), block);
    expect(whaleHf).toBeGreaterThan(199n * WAD / 10n);
  });

  it('after the WBTC shock, a max plan seizes more than the reserve holds and reverts; fitted to it, it goes through', async () => {
    const shock = scenario.shocks.find((s) => s.prices.WBTC !== undefined)!;
    const block = await world.setPrice('WBTC', shock.prices.WBTC!);
    const victim = borrower('borrowers[0]');
    const position = await readPosition(victim, block);
    const available = (await pool.getVirtualUnderlyingBalance(address('WBTC'), { blockTag: block })) as bigint;
    expect(findReserve(position, address('WBTC'))!.availableLiquidityUnits).toBe(available);
    // HF 5 × 52,000 × 0.78 / 210,000 = 0.9657: liquidatable, above 0.95, so the 50 % close factor applies.
    expect(await healthFactorOf(victim, block)).toBeLessThan(WAD);

    const sized = maxSizing.size(position, { collateralAsset: address('WBTC'), debtAsset: address('USDC') }, context);
    if (sized.kind !== 'liquidate') throw new Error(`expected a max plan, got ${sized.reason}`);
    const maxPlan = sized.steps[0];
    // 105,000 USDC repaid → 105,000 / 52,000 × 1.05 = 2.1202 WBTC seized, 2.1101 to the liquidator after the fee.
    expect(maxPlan.closeFactor).toBe('half-of-total-debt');
    expect(maxPlan.debtRepaidUnits).toBe(maxPlan.maxLiquidatableDebtUnits);
    expect(maxPlan.liquidatorCollateralUnits).toBeGreaterThan(available);
    const share = Number(available) / Number(maxPlan.liquidatorCollateralUnits);
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.6);

    let revertData: string | undefined;
    await callLiquidation(maxPlan, block).then(
      () => {
        throw new Error('expected the max liquidation to revert');
      },
      (err: unknown) => {
        revertData = revertDataOf(err);
      },
    );
    expect(revertData).toBe(PANIC_UNDERFLOW);

    const fit = fitToAvailableLiquidity(position, maxPlan, 'inventory', context);
    if (fit.kind !== 'reduced') throw new Error(`expected a reduced plan, got ${fit.kind}`);
    expect(fit.plannedRepayUnits).toBe(maxPlan.debtRepaidUnits);
    expect(fit.plan.liquidatorCollateralUnits).toBeLessThanOrEqual(available);
    expect(fit.plan.debtRepaidUnits).toBeGreaterThan(0n);
    expect(fit.plan.debtRepaidUnits).toBeLessThan(maxPlan.debtRepaidUnits);
    // Liquidates part now: 1 WBTC at $52,000 / 1.05 ≈ 49,760 USDC, not 105,000.
    expect(fit.plan.debtRepaidUnits).toBeGreaterThan(49_000n * 10n ** 6n);
    expect(await callLiquidation(fit.plan, block)).toBe('0x');
  });

  it('keeps the whale healthy through every shock; the ordinary borrower liquidates within the reserves', async () => {
    const shock = scenario.shocks.find((s) => s.prices.WETH !== undefined)!;
    const block = await world.setPrice('WETH', shock.prices.WETH!);
    // About 1,939 WETH at $1,900 × 0.825 against 4 WBTC at $52,000: HF ≈ 14.6.
    expect(await healthFactorOf(borrower(WHALE_LABEL), block)).toBeGreaterThan(BigInt(WHALE_MIN_HEALTH_FACTOR) * WAD);

    const ordinary = borrower('borrowers[1]');
    expect(await healthFactorOf(ordinary, block)).toBeLessThan(WAD);
    const position = await readPosition(ordinary, block);
    const sized = maxSizing.size(position, { collateralAsset: address('WETH'), debtAsset: address('USDC') }, context);
    if (sized.kind !== 'liquidate') throw new Error(`expected a max plan, got ${sized.reason}`);
    const fit = fitToAvailableLiquidity(position, sized.steps[0], 'flash-loan', context);
    expect(fit.kind).toBe('fits');
    expect(await callLiquidation(sized.steps[0], block)).toBe('0x');
  });
});

describe('available-liquidity seed cache key', () => {
  const json = JSON.parse(readFileSync(join(SCENARIO_DIR, 'available-liquidity.json'), 'utf8')) as Record<string, unknown>;

  it('changes with the utilisation target and without it', () => {
    const shipped = seedCacheKey(parseScenario(json));
    expect(seedCacheKey(parseScenario({ ...json, utilisation: { WBTC: 0.9 } }))).not.toBe(shipped);
    const { utilisation: _dropped, ...without } = json;
    expect(seedCacheKey(parseScenario(without))).not.toBe(shipped);
    // Shocks are applied by the running world, not seeded.
    expect(seedCacheKey(parseScenario({ ...json, shocks: [] }))).toBe(shipped);
  });
});
