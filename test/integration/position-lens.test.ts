/**
 * The position reader's lens mode (contracts/src/PositionLens.sol as a deployless eth_call) reads exactly what its
 * per-call mode reads: the same market snapshot and, for every borrower of the world, the same position field by
 * field, on Aave v3.6 (liquid eMode, virtual accounting, grace periods) and V3.0 (@aave/core-v3: stable debt, eMode
 * categories by reserve, a category priced by its own source). And it costs 1 eth_call for the market at a block
 * plus 1 per user, counted by a proxy between the reader and the node (local/chaos/rpc-fault-proxy.ts, no faults).
 */
import { Contract, JsonRpcSigner } from 'ethers';
import { join } from 'node:path';
import { AaveV3PositionReader, type PositionReaderOptions } from '../../functions/adapters/chain/aave-v3-position-reader';
import { createJsonRpcProvider, latestBlockNumber } from '../../functions/adapters/chain/provider';
import { poolVersionProfile, type RuleSet, ruleSetForPoolVersion } from '../../functions/domain';
import { type RpcFaultProxy, startRpcFaultProxy } from '../../local/chaos/rpc-fault-proxy';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(300_000);

const POOL = ['function getUserEMode(address user) view returns (uint256)'];
const CONFIGURATOR = ['function setReservePause(address asset, bool paused, uint40 gracePeriod)'];

/** V3.0, eMode category 1 priced by WETH (test/integration/fixtures/emode-price-source.json). */
const priceSourceScenario = loadScenario(join(__dirname, 'fixtures', 'emode-price-source.json'));

interface Case {
  name: string;
  scenario: () => Scenario;
  ruleSet: RuleSet;
  version: ConstructorParameters<typeof AaveV3PositionReader>[3];
  /** Sets a grace period on WETH (3.1+ Pools) so that the lens has one to read. */
  gracePeriod?: boolean;
}

const CASES: Case[] = [
  { name: 'Aave v3.6', scenario: () => ({ ...loadScenario(join(__dirname, 'fixtures', 'differential.json')), aave: 'v3.6' }), ruleSet: ruleSetForPoolVersion('v3.6'), version: {}, gracePeriod: true },
  { name: 'Aave V3.0', scenario: () => ({ ...loadScenario(join(__dirname, 'fixtures', 'differential.json')), aave: 'v3.0' }), ruleSet: 'v3.0', version: {} },
  { name: 'Aave V3.0, eMode price source', scenario: () => priceSourceScenario, ruleSet: 'v3.0', version: { eModeModel: 'categories-with-price-source' } },
];

describe.each(CASES)('position lens vs per-call reads on $name', ({ scenario, ruleSet, version, gracePeriod }) => {
  let world: World;
  let proxy: RpcFaultProxy;

  beforeAll(async () => {
    world = await startWorld({ scenario: scenario(), blockTimeSec: 0, services: false });
    if (gracePeriod) {
      const configurator = new Contract(world.info.market.poolConfigurator, CONFIGURATOR, new JsonRpcSigner(world.provider, ACCOUNTS.deployer));
      await (await configurator.setReservePause(world.info.tokens.WETH, true, 0)).wait();
      await (await configurator.setReservePause(world.info.tokens.WETH, false, 3_600)).wait();
    }
    proxy = await startRpcFaultProxy({ upstream: world.info.rpcUrl, seed: 1 });
  });
  afterAll(async () => {
    await proxy?.close();
    await world?.stop();
  });

  /** A reader on its own provider through the counting proxy, and the calls it made since it was created. */
  function countedReader(options: PositionReaderOptions) {
    const provider = createJsonRpcProvider(proxy.url, 31_337);
    const before = proxy.stats();
    const reader = new AaveV3PositionReader(provider, world.info.market.pool, ruleSet, version, options);
    const calls = () => {
      const now = proxy.stats();
      const byMethod = Object.fromEntries(
        Object.entries(now.byMethod)
          .map(([method, stats]) => [method, stats.calls - (before.byMethod[method]?.calls ?? 0)] as const)
          .filter(([, n]) => n > 0),
      );
      return { total: now.calls - before.calls, byMethod };
    };
    return { reader, calls, close: () => provider.destroy() };
  }

  it('reads the same market snapshot and, for every borrower, the same position field by field', async () => {
    const block = await latestBlockNumber(world.provider);
    const lens = countedReader({});
    const perCall = countedReader({ mode: 'per-call' });
    try {
      const [lensMarket, perCallMarket] = [await lens.reader.marketAt(block), await perCall.reader.marketAt(block)];
      expect(lensMarket).toEqual(perCallMarket);
      if (gracePeriod) expect(lensMarket.reserves.some((r) => r.liquidationGracePeriodUntil > 0n)).toBe(true);

      const pool = new Contract(world.info.market.pool, POOL, world.provider);
      let inEMode = 0;
      for (const borrower of world.info.borrowers) {
        const [fromLens, fromCalls] = [await lens.reader.readPosition(borrower.address, block), await perCall.reader.readPosition(borrower.address, block)];
        expect({ borrower: borrower.label, ...fromLens }).toEqual({ borrower: borrower.label, ...fromCalls });
        expect(fromLens.reserves.length).toBeGreaterThan(0);
        if (((await pool.getUserEMode(borrower.address, { blockTag: block })) as bigint) !== 0n) inEMode++;
      }
      // The worlds have eMode borrowers, so the category's read is compared too.
      expect(inEMode).toBeGreaterThan(0);
      expect(lens.reader.currentMode).toBe('lens');
    } finally {
      lens.close();
      perCall.close();
    }
  });

  it('reads N users at one block with 1 + N eth_calls (the per-call reads grow with the reserves)', async () => {
    const block = await latestBlockNumber(world.provider);
    const users = world.info.borrowers.slice(0, 10).map((b) => b.address);
    const lens = countedReader({});
    const perCall = countedReader({ mode: 'per-call' });
    try {
      await Promise.all(users.map((user) => lens.reader.readPosition(user, block)));
      expect(lens.calls()).toEqual({ total: 1 + users.length, byMethod: { eth_call: 1 + users.length } });

      await Promise.all(users.map((user) => perCall.reader.readPosition(user, block)));
      const reserves = (await lens.reader.marketAt(block)).reserves.length;
      // At least the per-reserve aToken reads of every user (2 a reserve).
      expect(perCall.calls().total).toBeGreaterThan(users.length * 2 * reserves);
    } finally {
      lens.close();
      perCall.close();
    }
  });

  it('reads as the configured version: a 3.1 profile on a 3.6 Pool or the 3.0 profile, the same in both modes', async () => {
    const block = await latestBlockNumber(world.provider);
    const profiles = ruleSet === 'v3.0' ? [poolVersionProfile('3.0')] : [poolVersionProfile('3.1'), poolVersionProfile('3.0')];
    for (const profile of profiles) {
      // A 3.6 Pool has no getEModeCategoryData: the profiles are read with liquid eMode, as its borrowers use it.
      const asConfigured = ruleSet === 'v3.0' ? profile : { ...profile, eModeModel: 'liquid' as const };
      const provider = createJsonRpcProvider(proxy.url, 31_337);
      const lens = new AaveV3PositionReader(provider, world.info.market.pool, ruleSet, asConfigured);
      const perCall = new AaveV3PositionReader(provider, world.info.market.pool, ruleSet, asConfigured, { mode: 'per-call' });
      try {
        expect(await lens.marketAt(block)).toEqual(await perCall.marketAt(block));
        for (const borrower of world.info.borrowers.slice(0, 20)) {
          expect(await lens.readPosition(borrower.address, block)).toEqual(await perCall.readPosition(borrower.address, block));
        }
      } finally {
        provider.destroy();
      }
    }
  });
});

describe('position lens on a node that will not run it', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ scenario: { ...loadScenario(join(__dirname, 'fixtures', 'differential.json')), aave: 'v3.6' }, blockTimeSec: 0, services: false });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('falls back to per-call reads, said once, when the call runs out of the gas the node allows', async () => {
    const block = await latestBlockNumber(world.provider);
    const reasons: string[] = [];
    // A node capping eth_call gas (geth's RPCGasCap) runs the call with its cap: here a cap below what the lens needs.
    const capped = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSetForPoolVersion('v3.6'), {}, { gas: 400_000n, onFallback: (reason) => reasons.push(reason) });
    const perCall = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSetForPoolVersion('v3.6'), {}, { mode: 'per-call' });

    for (const borrower of world.info.borrowers.slice(0, 5)) {
      expect(await capped.readPosition(borrower.address, block)).toEqual(await perCall.readPosition(borrower.address, block));
    }
    expect(capped.currentMode).toBe('per-call');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^node refused the position lens call \(.+\); reading with one eth_call per reserve and per read from now on$/);
  });
});
