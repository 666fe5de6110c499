/**
 * The position reader reads what the configured Pool version has, not what its rule set suggests: 3.1 and 3.2
 * liquidate by the 3.0 rules but carry reserve grace periods (and virtual balances), so a reader configured as 3.1
 * must see a grace period that a 3.0 reader has no call for. Checked on the local 3.6 Pool, whose
 * `getLiquidationGracePeriod` is the 3.1 call: the grace period is set by unpausing a reserve with one
 * (PoolConfigurator.setReservePause), as a market's emergency admin does.
 */
import { Contract, JsonRpcSigner } from 'ethers';
import { join } from 'node:path';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { MAX_UINT256, planLiquidation, poolVersionProfile, sameAddress } from '../../functions/domain';
import { loadScenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const CONFIGURATOR = ['function setReservePause(address asset, bool paused, uint40 gracePeriod)'];
const POOL = ['function getLiquidationGracePeriod(address asset) view returns (uint40)'];
const GRACE_SEC = 3_600n;

describe('the position reader by Pool version', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ scenario: loadScenario(join(__dirname, 'fixtures', 'funded-differential.json')), blockTimeSec: 0, services: false });
    const configurator = new Contract(world.info.market.poolConfigurator, CONFIGURATOR, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
    await (await configurator.setReservePause(world.info.tokens.WETH, true, 0)).wait();
    await (await configurator.setReservePause(world.info.tokens.WETH, false, GRACE_SEC)).wait();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('configured as 3.1 (3.0 rules), reads the reserve grace period; configured as 3.0, has none to read', async () => {
    const block = await latestBlockNumber(world.provider);
    const until = (await new Contract(world.info.market.pool, POOL, world.provider).getLiquidationGracePeriod(world.info.tokens.WETH, { blockTag: block })) as bigint;
    const { timestamp } = (await world.provider.getBlock(block))!;
    // Set to the unpausing block's timestamp + the grace period: still ahead of the head.
    expect(until).toBeGreaterThan(BigInt(timestamp));
    expect(until).toBeLessThanOrEqual(BigInt(timestamp) + GRACE_SEC);

    const v31 = new AaveV3PositionReader(world.provider, world.info.market.pool, 'v3.0', poolVersionProfile('3.1'));
    const v30 = new AaveV3PositionReader(world.provider, world.info.market.pool, 'v3.0', poolVersionProfile('3.0'));
    const weth = (reader: AaveV3PositionReader) => reader.marketAt(block).then((m) => m.reserves.find((r) => sameAddress(r.asset, world.info.tokens.WETH))!);
    expect((await weth(v31)).liquidationGracePeriodUntil).toBe(until);
    expect((await weth(v30)).liquidationGracePeriodUntil).toBe(0n);
    expect(v31.features).toEqual({ liquidationGracePeriod: true, virtualAccounting: true, stableDebt: true });
    expect(new AaveV3PositionReader(world.provider, world.info.market.pool, 'v3.0', poolVersionProfile('3.2')).eModeModel).toBe('liquid');
  });

  it('a 3.1 reader\'s position carries the grace period, so the engine holds a WETH liquidation until it has passed', async () => {
    const block = await latestBlockNumber(world.provider);
    const v31 = new AaveV3PositionReader(world.provider, world.info.market.pool, 'v3.0', poolVersionProfile('3.1'));
    const v30 = new AaveV3PositionReader(world.provider, world.info.market.pool, 'v3.0', poolVersionProfile('3.0'));
    const liquidator = world.info.accounts.liquidators[0];
    let checked = 0;
    for (const borrower of world.info.borrowers.slice(0, 40)) {
      const [p31, p30] = await Promise.all([v31.readPosition(borrower.address, block), v30.readPosition(borrower.address, block)]);
      const weth = p31.reserves.find((r) => sameAddress(r.asset, world.info.tokens.WETH) && r.collateralBalanceUnits > 0n);
      const debt = p31.reserves.find((r) => r.debtBalanceUnits > 0n);
      if (!weth || !debt) continue;
      expect(weth.liquidationGracePeriodUntil).toBeGreaterThan(p31.blockTimestamp);
      const request = { collateralAsset: weth.asset, debtAsset: debt.asset, debtToCoverUnits: MAX_UINT256, liquidator };
      expect(planLiquidation(p31, request)).toMatchObject({ kind: 'skip', reason: 'liquidation-grace-period' });
      // Without the grace period the same pair is judged on its health (these positions are healthy).
      expect(planLiquidation(p30, request)).toMatchObject({ kind: 'skip', reason: 'healthy' });
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});
