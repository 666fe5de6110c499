/**
 * eMode with a category price source, Aave V3.0 (@aave/core-v3): for a user of the category, every asset of the
 * category is priced by the source (here WETH's oracle price), in the health factor (GenericLogic) and in the
 * liquidation (LiquidationLogic._getConfigurationData), and the category's LT and bonus replace the reserves'.
 * The reader must see the Pool's numbers: the health factor equals getUserAccountData to the wei whatever the
 * WBTC price does, and a max liquidation seizes exactly what the engine planned.
 */
import { join } from 'node:path';
import { Contract, JsonRpcSigner } from 'ethers';
import { AaveV3LiquidationExecutor } from '../../functions/adapters/chain/aave-v3-liquidation-executor';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { calculateAccountData, findReserve, MAX_UINT256, planLiquidation } from '../../functions/domain';
import { loadScenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const POOL = [
  'function getUserAccountData(address user) view returns (uint256, uint256, uint256, uint256, uint256, uint256 healthFactor)',
  'function getUserEMode(address user) view returns (uint256)',
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
];
const WAD = 10n ** 18n;

/** V3.0, eMode category 1 priced by WETH (test/integration/fixtures/emode-price-source.json). */
const scenario = loadScenario(join(__dirname, 'fixtures', 'emode-price-source.json'));

describe('eMode category with a price source (Aave V3.0)', () => {
  let world: World;
  let reader: AaveV3PositionReader;
  let pool: Contract;

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    await world.fundAccount(world.info.accounts.liquidators[0]);
    await world.provider.send('anvil_setBlockTimestampInterval', [0]);
    reader = new AaveV3PositionReader(world.provider, world.info.market.pool, 'v3.0', { eModeModel: 'categories-with-price-source' });
    pool = new Contract(world.info.market.pool, POOL, world.provider);
  });
  afterAll(async () => {
    await world?.stop();
  });

  async function healthFactors(block: number) {
    return Promise.all(
      world.info.borrowers.map(async (b) => ({
        engine: calculateAccountData(await reader.readPosition(b.address, block)).healthFactorWad,
        chain: (await pool.getUserAccountData(b.address, { blockTag: block })).healthFactor as bigint,
      })),
    );
  }

  it('reads the category\'s price for WBTC and its LT: the health factor is the Pool\'s, and WBTC\'s own price does not move it', async () => {
    const [inEMode] = world.info.borrowers;
    expect(await pool.getUserEMode(inEMode.address)).toBe(1n);
    const before = await healthFactors(await latestBlockNumber(world.provider));
    for (const hf of before) expect(hf.engine).toBe(hf.chain);
    const position = await reader.readPosition(inEMode.address, await latestBlockNumber(world.provider));
    expect(findReserve(position, world.info.tokens.WBTC)).toMatchObject({ priceBase8: 3000n * 10n ** 8n, liquidationThresholdBps: 9000n, liquidationBonusBps: 10400n });
    // USDC is outside the category: its own LT and price.
    expect(findReserve(position, world.info.tokens.USDC)).toMatchObject({ priceBase8: 10n ** 8n, liquidationThresholdBps: 7800n });

    await world.setPrice('WBTC', 30_000n * 10n ** 8n);
    const after = await healthFactors(await latestBlockNumber(world.provider));
    for (const hf of after) expect(hf.engine).toBe(hf.chain);
    expect(after[0].engine).toBe(before[0].engine);
    expect(after[1].engine).toBeLessThan(before[1].engine);
  });

  it('liquidates the eMode borrower exactly as planned once WETH rises, with the category\'s bonus at the source\'s price', async () => {
    await world.setPrice('WETH', 3_300n * 10n ** 8n);
    const [inEMode] = world.info.borrowers;
    const block = await latestBlockNumber(world.provider);
    const position = await reader.readPosition(inEMode.address, block);
    const account = calculateAccountData(position);
    expect(account.healthFactorWad).toBeLessThan(WAD);
    expect(account.healthFactorWad).toBe((await pool.getUserAccountData(inEMode.address, { blockTag: block })).healthFactor as bigint);

    const liquidator = world.info.accounts.liquidators[0];
    const request = { collateralAsset: world.info.tokens.WBTC, debtAsset: world.info.tokens.WETH, debtToCoverUnits: MAX_UINT256, liquidator };
    const outcome = planLiquidation(position, request);
    if (outcome.kind !== 'liquidate') throw new Error(`expected a plan, got ${JSON.stringify(outcome)}`);
    const executor = new AaveV3LiquidationExecutor(world.provider, world.info.market.pool);
    const call = { collateralAsset: request.collateralAsset, debtAsset: request.debtAsset, user: inEMode.address, debtToCoverUnits: outcome.plan.debtToCoverUnits, receiveAToken: false };
    const simulation = await executor.simulate(call, liquidator, block);
    expect(simulation.kind).toBe('ok');
    const tx = await new JsonRpcSigner(world.provider, liquidator).sendTransaction({ ...executor.buildTransaction(call), gasLimit: 2_000_000n });
    const receipt = await pollReceipt(world.provider, tx.hash);
    expect(receipt.status).toBe(1);
    const event = receipt.logs.map((log) => pool.interface.parseLog(log)).find((e) => e?.name === 'LiquidationCall');
    expect({ debt: event?.args.debtToCover as bigint, collateral: event?.args.liquidatedCollateralAmount as bigint }).toEqual({
      debt: outcome.plan.debtRepaidUnits,
      collateral: outcome.plan.liquidatorCollateralUnits,
    });
    // At the source's price: the seized WBTC is worth the debt plus 4 % at $3,300, not at WBTC's $30,000.
    const seizedUsd8 = (outcome.plan.liquidatorCollateralUnits * 3_300n * 10n ** 8n) / 10n ** 8n;
    const repaidUsd8 = (outcome.plan.debtRepaidUnits * 3_300n * 10n ** 8n) / 10n ** 18n;
    expect(Number(seizedUsd8 - repaidUsd8) / Number(repaidUsd8)).toBeGreaterThan(0.03);
    expect((await pool.getUserAccountData(inEMode.address)).healthFactor as bigint).toBe(outcome.plan.healthFactorAfterWad);
  });
});
