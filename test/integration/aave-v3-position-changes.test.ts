/**
 * AaveV3PositionChanges on the real local world (anvil with the `default` market, automine), on v3.6 and V3.0:
 * two fresh accounts supply, borrow, repay, withdraw and move aTokens; the market's admin (the deployer: pool and
 * risk admin, local/world/aave/deploy-v36.ts and deploy-v30.ts) changes collateral parameters and the protocol
 * fee, creates an eMode category and puts WETH and USDC in it; then one account enters it. Each step's blocks are
 * asked afterwards, and the answer must name exactly the accounts, reserves and everyone-flag the chain changed,
 * with `rpcCalls` equal to the requests the node really received.
 *
 * The tests of one describe run in order and build on each other (the eMode step needs the borrow).
 */
import { Contract, JsonRpcProvider, JsonRpcSigner, parseUnits, ZeroAddress } from 'ethers';
import { AaveV3PositionChanges, type PositionChanges } from '../../functions/adapters/chain/aave-v3-position-changes';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { Deployer } from '../../local/world/deployer';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(120_000);

/** Addresses no role of the world uses, impersonated on anvil. */
const ALICE = '0x00000000000000000000000000000000000a11ce';
const BOB = '0x0000000000000000000000000000000000000b0b';
const CAROL_LIQUIDATOR = '0x00000000000000000000000000000000000ca201';

const POOL_ABI = [
  'function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode)',
  'function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf)',
  'function repay(address asset, uint256 amount, uint256 interestRateMode, address onBehalfOf) returns (uint256)',
  'function withdraw(address asset, uint256 amount, address to) returns (uint256)',
  'function setUserEMode(uint8 categoryId)',
  'function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)',
];
const ATOKEN_ABI = ['function transfer(address to, uint256 amount) returns (bool)'];
const CONFIGURATOR_ABI = [
  'function configureReserveAsCollateral(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)',
  'function setLiquidationProtocolFee(address asset, uint256 newFee)',
  // v3.6 (aave-v3-origin IPoolConfigurator)
  'function setEModeCategory(uint8 categoryId, uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, string label)',
  'function setAssetCollateralInEMode(address asset, uint8 categoryId, bool collateral)',
  'function setAssetBorrowableInEMode(address asset, uint8 categoryId, bool borrowable)',
  // V3.0 (@aave/core-v3 IPoolConfigurator)
  'function setEModeCategory(uint8 categoryId, uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, address oracle, string label)',
  'function setAssetEModeCategory(address asset, uint8 newCategoryId)',
];

/** The world's provider, counting the JSON-RPC requests that go through it. */
function countingRpc(provider: JsonRpcProvider): { send: JsonRpcProvider['send']; requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    send: (method, params) => {
      requests.push(method);
      return provider.send(method, params);
    },
  };
}

describe.each(['v3.6', 'v3.0'] as const)('position changes on Aave %s', (aave) => {
  const scenario: Scenario = { ...loadScenario('default'), aave };
  let world: World;
  let weth: string;
  let usdc: string;
  /** Shared by the tests, as one scanner keeps one instance. */
  let rpc: ReturnType<typeof countingRpc>;
  let changes: AaveV3PositionChanges;

  const as = (account: string) => new Deployer(world.provider, new JsonRpcSigner(world.provider, account));
  const pool = (deployer: Deployer) => new Contract(world.info.market.pool, POOL_ABI, deployer.signer);
  const admin = () => as(ACCOUNTS.deployer);
  const configurator = () => new Contract(world.info.market.poolConfigurator, CONFIGURATOR_ABI, admin().signer);

  /** Runs `act`, then asks for the blocks it mined; checks rpcCalls against the requests the node saw. */
  async function changesOf(act: () => Promise<void>): Promise<PositionChanges> {
    const fromBlock = (await latestBlockNumber(world.provider)) + 1;
    await act();
    const toBlock = await latestBlockNumber(world.provider);
    const before = rpc.requests.length;
    const found = await changes.changesIn(fromBlock, toBlock);
    expect(found.rpcCalls).toBe(rpc.requests.length - before);
    return found;
  }

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    weth = world.info.tokens.WETH.toLowerCase();
    usdc = world.info.tokens.USDC.toLowerCase();
    for (const account of [ALICE, BOB, CAROL_LIQUIDATOR]) {
      await world.provider.send('anvil_impersonateAccount', [account]);
      await world.provider.send('anvil_setBalance', [account, '0x56bc75e2d63100000']); // 100 ETH
    }
    await world.fundAccount(ALICE);
    rpc = countingRpc(world.provider);
    changes = new AaveV3PositionChanges(rpc, world.info.market.pool);
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('names the accounts of supply, borrow, repay, withdraw and an aToken transfer; the first call learns the addresses', async () => {
    const alice = as(ALICE);
    const aWeth = new Contract(world.info.market.reserves.WETH.aToken, ATOKEN_ABI, alice.signer);

    const found = await changesOf(async () => {
      await alice.send(pool(alice), 'supply', [weth, parseUnits('10', 18), ALICE, 0]);
      await alice.send(pool(alice), 'borrow', [usdc, parseUnits('5000', 6), 2, 0, ALICE]);
      await alice.send(pool(alice), 'repay', [usdc, parseUnits('1000', 6), 2, ALICE]);
      await alice.send(pool(alice), 'withdraw', [weth, parseUnits('1', 18), ALICE]);
      await alice.send(aWeth, 'transfer', [BOB, parseUnits('2', 18)]);
    });

    // ADDRESSES_PROVIDER, getReservesList, getPoolConfigurator, getReserveData × 3 reserves, then eth_getLogs.
    expect(found).toEqual({ accounts: new Set([ALICE, BOB]), reserves: new Set(), everyone: false, rpcCalls: 7 });
  });

  it('names the reserves whose collateral parameters or protocol fee the admin set, in one request', async () => {
    const found = await changesOf(async () => {
      await admin().send(configurator(), 'configureReserveAsCollateral', [weth, 8000, 8250, 10500]);
      await admin().send(configurator(), 'setLiquidationProtocolFee', [usdc, 1000]);
    });

    expect(found).toEqual({ accounts: new Set(), reserves: new Set([weth, usdc]), everyone: false, rpcCalls: 1 });
  });

  it('an eMode category is everyone, an asset joining it is its reserve, and a user entering it is that user', async () => {
    const category = await changesOf(async () => {
      if (aave === 'v3.6') {
        await admin().send(configurator(), 'setEModeCategory(uint8,uint16,uint16,uint16,string)', [1, 9000, 9300, 10100, 'ETH and dollars']);
        await admin().send(configurator(), 'setAssetCollateralInEMode', [weth, 1, true]);
        await admin().send(configurator(), 'setAssetBorrowableInEMode', [usdc, 1, true]);
      } else {
        await admin().send(configurator(), 'setEModeCategory(uint8,uint16,uint16,uint16,address,string)', [1, 9000, 9300, 10100, ZeroAddress, 'ETH and dollars']);
        await admin().send(configurator(), 'setAssetEModeCategory', [weth, 1]);
        await admin().send(configurator(), 'setAssetEModeCategory', [usdc, 1]);
      }
    });
    const alice = as(ALICE);
    const user = await changesOf(async () => {
      await alice.send(pool(alice), 'setUserEMode', [1]);
    });

    expect(category).toEqual({ accounts: new Set(), reserves: new Set([weth, usdc]), everyone: true, rpcCalls: 1 });
    expect(user).toEqual({ accounts: new Set([ALICE]), reserves: new Set(), everyone: false, rpcCalls: 1 });
  });

  it('a fresh instance over all of it: the union, with the addresses learned once', async () => {
    const fresh = new AaveV3PositionChanges(world.provider, world.info.market.pool);

    const found = await fresh.changesIn(world.info.startBlock, await latestBlockNumber(world.provider));

    expect(found).toEqual({ accounts: new Set([ALICE, BOB]), reserves: new Set([weth, usdc]), everyone: true, rpcCalls: 7 });
  });

  it('a liquidation paid in aTokens names the borrower, and through the aToken transfers the liquidator and the treasury', async () => {
    // Alice: 7 WETH against ~4,000 USDC in eMode (threshold 93%): liquidatable below ~$614 an ETH. The price move
    // (feed and DEX swaps) emits nothing the market watches, so it may fall inside the range.
    await world.fundAccount(CAROL_LIQUIDATOR);
    const carol = as(CAROL_LIQUIDATOR);

    const found = await changesOf(async () => {
      await world.setPrice('WETH', 500_00000000n);
      await carol.send(pool(carol), 'liquidationCall', [weth, usdc, ALICE, parseUnits('1000', 6), true]);
    });

    // LiquidationLogic: the seized aWETH goes to the liquidator and the protocol fee's share to the treasury, each
    // by AToken.transferOnLiquidation (a BalanceTransfer).
    expect(found).toEqual({
      accounts: new Set([ALICE, CAROL_LIQUIDATOR, world.info.market.treasury.toLowerCase()]),
      reserves: new Set(),
      everyone: false,
      rpcCalls: 1,
    });
  });
});
