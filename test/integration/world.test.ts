/**
 * Boots the local world with the `default` scenario on Aave v3.6 and v3.0, reads getUserAccountData for every
 * borrower and checks the health factor the scenario implies, before and after a price shock. Also checks that
 * DynamoDB Local and fauxqs hold the pipeline's tables and queues, and that stopping leaves nothing running.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Contract, type EventLog, getAddress, getCreateAddress } from 'ethers';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { TABLES } from '../../lib/resources';
import { localDynamoDbClient, localSqsClient } from '../../local/world/resources';
import { ASSET_DECIMALS, type AssetSymbol, loadScenario, type PositionSpec, type Scenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(180_000);

const LIQUIDATOR_ABI = [
  'function owner() view returns (address)',
  'function pool() view returns (address)',
  'function swapRouter() view returns (address)',
  'function isCaller(address account) view returns (bool)',
  'event CallerSet(address indexed caller, bool allowed)',
];

const POOL_ABI = [
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
];

/**
 * The health factor a position should have, computed here from the scenario alone (not from the world's
 * code): collateral × average LT / debt, in USD floats. V3.0 floors the average liquidation threshold of a
 * multi-collateral position to whole bps (GenericLogic.calculateUserAccountData:
 * `avgLiquidationThreshold / totalCollateralInBaseCurrency`); v3.6 keeps the weighted sum unrounded.
 */
function impliedHealthFactor(p: PositionSpec, prices: Record<string, bigint>, scenario: Scenario): number {
  // Values in base units (USD, 8 decimals), rounded down per reserve as the Pool does.
  const base = (asset: string, amount: bigint) => (amount * prices[asset]) / 10n ** BigInt(ASSET_DECIMALS[asset as AssetSymbol]);
  let collateral = 0n;
  let weightedBps = 0n;
  let debt = 0n;
  for (const [asset, amount] of Object.entries(p.collateral)) {
    collateral += base(asset, amount!);
    weightedBps += base(asset, amount!) * BigInt(scenario.assets[asset as AssetSymbol]!.liquidationThresholdBps);
  }
  for (const [asset, amount] of Object.entries(p.debt)) debt += base(asset, amount!);
  const averageLtBps =
    scenario.aave === 'v3.0' ? Number(weightedBps / collateral) : Number(weightedBps) / Number(collateral);
  return (Number(collateral) * averageLtBps) / 10_000 / Number(debt);
}

describe.each(['v3.6', 'v3.0'] as const)('local world on Aave %s', (aave) => {
  const scenario: Scenario = { ...loadScenario('default'), aave };
  let world: World;
  let pool: Contract;
  const prices: Record<string, bigint> = Object.fromEntries(
    Object.entries(scenario.assets).map(([asset, params]) => [asset, params!.priceUsd]),
  );

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, resourcePrefix: `it-${aave.replace('.', '')}` });
    pool = new Contract(world.info.market.pool, POOL_ABI, world.provider);
  });

  afterAll(async () => {
    await world?.stop();
  });

  async function expectImpliedHealthFactors(): Promise<number> {
    const block = await latestBlockNumber(world.provider);
    let below1 = 0;
    expect(world.info.borrowers).toHaveLength(scenario.positions.length);
    for (const [i, borrower] of world.info.borrowers.entries()) {
      const position = scenario.positions[i];
      expect(borrower.label).toBe(position.label);
      const data = await pool.getUserAccountData(borrower.address, { blockTag: block });
      const onChain = Number(data.healthFactor) / 1e18;
      const implied = impliedHealthFactor(position, prices, scenario);
      // Interest accrues for the seconds since opening and balances round by a wei: 1e-6 relative is far
      // tighter than any mistake in amounts, prices or thresholds would produce.
      expect(Math.abs(onChain - implied) / implied).toBeLessThan(1e-6);
      if (onChain < 1) below1++;
    }
    return below1;
  }

  it('opens every scenario borrower with the health factor the scenario implies', async () => {
    expect(world.info.market.version).toBe(aave);
    const below1 = await expectImpliedHealthFactors();
    expect(below1).toBe(0);
  });

  it('moves health factors as implied after a price shock', async () => {
    const shock = scenario.shocks[0];
    await world.setPrices(shock.prices);
    Object.assign(prices, shock.prices);
    const below1 = await expectImpliedHealthFactors();
    // The default scenario's first shock (ETH −15%) must make some borrowers liquidatable.
    expect(below1).toBeGreaterThan(0);
  });

  it('deploys our Liquidator from the first liquidator account over the Pool and SwapRouter02, the other accounts authorised', async () => {
    const { liquidatorContract, accounts, market, dex } = world.info;
    const liquidator = new Contract(liquidatorContract, LIQUIDATOR_ABI, world.provider);
    const [owner, poolAddress, swapRouter] = await Promise.all([
      liquidator.owner() as Promise<string>,
      liquidator.pool() as Promise<string>,
      liquidator.swapRouter() as Promise<string>,
    ]);
    expect(getAddress(owner)).toBe(getAddress(accounts.liquidators[0]));
    expect(getAddress(poolAddress)).toBe(getAddress(market.pool));
    expect(getAddress(swapRouter)).toBe(getAddress(dex.swapRouter));
    // CREATE addresses follow sender and nonce: the contract is the first transaction the owner account sent.
    expect(getAddress(liquidatorContract)).toBe(getCreateAddress({ from: accounts.liquidators[0], nonce: 0 }));
    for (const caller of accounts.liquidators) expect(await liquidator.isCaller(caller)).toBe(true);
    for (const stranger of [accounts.deployer, accounts.liquidityProvider, accounts.arbitrageur]) expect(await liquidator.isCaller(stranger)).toBe(false);
    const callerSet = await liquidator.queryFilter(liquidator.filters.CallerSet(), 0);
    expect(callerSet.map((e) => (e as EventLog).args.toArray())).toEqual(accounts.liquidators.slice(1).map((caller) => [getAddress(caller), true]));
  });

  it('creates the pipeline tables and queues from lib/resources.ts', async () => {
    const ddb = localDynamoDbClient(world.info.dynamodb!.endpoint);
    const sqs = localSqsClient(world.info.sqs!.endpoint);
    try {
      const ledger = await ddb.send(new DescribeTableCommand({ TableName: world.info.dynamodb!.tables.ledger }));
      expect(ledger.Table?.KeySchema).toEqual([
        { AttributeName: TABLES.ledger.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: TABLES.ledger.sortKey.name, KeyType: 'RANGE' },
      ]);
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: world.info.sqs!.queues.candidates, AttributeNames: ['All'] }),
      );
      expect(attrs.Attributes?.FifoQueue).toBe('true');
      expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
    } finally {
      ddb.destroy();
      sqs.destroy();
    }
  });
});

describe('stopping the world', () => {
  it('leaves no process listening', async () => {
    const world = await startWorld({ scenario: loadScenario('default'), blockTimeSec: 0, services: true });
    const { rpcUrl } = world.info;
    const ddbEndpoint = world.info.dynamodb!.endpoint;
    await world.stop();
    await expect(fetch(rpcUrl, { method: 'POST', body: '{}' })).rejects.toThrow(/fetch failed/);
    await expect(fetch(ddbEndpoint)).rejects.toThrow(/fetch failed/);
  });
});
