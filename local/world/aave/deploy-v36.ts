/**
 * Deploys a complete local Aave v3.6 market from the `aave-v3.6` source set (contracts/source-sets.ts, compiled
 * from npm @aave-dao/aave-v3-origin 3.6.x by contracts/build.ts).
 *
 * The order follows upstream's deployment procedures (src/deployments/contracts/procedures/AaveV3SetupProcedure.sol
 * and friends), reduced to what supply / borrow / liquidationCall / flashLoanSimple need: no rewards controller, no
 * registry, no price-oracle sentinel, no eMode categories. Flash loans are enabled on every reserve with a 5 bps
 * premium, as on Aave Ethereum Core. Everything is done by the deployer's account,
 * which ends as PoolAddressesProvider owner, ACL admin, pool admin, risk admin and emergency admin.
 *
 * v3.6 specifics that shape the order (all cited from the Solidity):
 * - `Pool(provider, interestRateStrategy)`: the rate strategy is ONE contract per market and an immutable of the
 *   Pool implementation (`RESERVE_INTEREST_RATE_STRATEGY`), so it is deployed before the Pool. Per-reserve curves
 *   live inside it and are passed as `InitReserveInput.interestRateData` (ConfiguratorLogic.executeInitReserve →
 *   `setInterestRateParams(asset, interestRateData)`).
 * - `AToken(pool, rewardsController, treasury)`: the treasury and rewards controller are immutables of the aToken
 *   implementation (no longer `initialize` parameters), so the implementation is deployed after the Pool proxy
 *   exists, with `LOCAL_TREASURY`. A zero rewards controller is allowed: every `handleAction` is guarded by
 *   `address(REWARDS_CONTROLLER) != address(0)` (IncentivizedERC20, MintableIncentivizedERC20).
 * - `ACLManager(provider)` reads `provider.getACLAdmin()` in its constructor and reverts on zero, so the ACL admin
 *   is set on the provider first.
 * - `initReserves` leaves a reserve active, unpaused, unfrozen, with virtual accounting on, but with LTV 0, no
 *   liquidation threshold and borrowing disabled: collateral parameters, borrowing, reserve factor and the
 *   liquidation protocol fee are set per reserve afterwards.
 */
import { AbiCoder, type Contract } from 'ethers';
import { type Artifact, loadArtifact } from '../artifacts';
import type { Deployer } from '../deployer';
import {
  type AaveMarket,
  assertValidListings,
  type DeployAaveMarket,
  type DeployedReserve,
  LOCAL_MARKET_ID,
  LOCAL_RATE_CURVE,
  LOCAL_TREASURY,
  type ReserveListing,
  USD_BASE_CURRENCY,
  USD_BASE_UNIT,
} from './market';

const SET = 'aave-v3.6';
const SRC = 'node_modules/@aave-dao/aave-v3-origin/src/contracts';


const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/**
 * Flash-loan premium in bps, as on Aave v3 Ethereum Core today. v3.6 charges it as
 * `amount.percentMulCeil(premium)` (FlashLoanLogic.executeFlashLoanSimple: rounded UP) and sends all of it to
 * the treasury (Pool.FLASHLOAN_PREMIUM_TO_PROTOCOL() is the constant 100_00 since v3.4).
 */
export const V36_FLASHLOAN_PREMIUM_BPS = 5;

/**
 * Aave's custom errors (`Errors` library, 90+ errors) are only partly present in each contract's ABI. Adding them
 * to every contract we talk to lets ethers name the error when a call's gas estimate reverts (`ReserveFrozen()`
 * instead of "unknown custom error").
 */
function withAaveErrors(artifact: Artifact): Artifact {
  const errors = loadArtifact(SET, `${SRC}/protocol/libraries/helpers/Errors.sol:Errors`).abi as { type: string; name?: string }[];
  const abi = artifact.abi as { type: string; name?: string }[];
  const known = new Set(abi.filter((f) => f.type === 'error').map((f) => f.name));
  return { ...artifact, abi: [...abi, ...errors.filter((f) => f.type === 'error' && !known.has(f.name))] };
}

function artifact(name: string): Artifact {
  return withAaveErrors(loadArtifact(SET, name));
}

/** A view call that returns an address; the result is checked at runtime instead of trusting ethers' `any`. */
async function readAddress(contract: Contract, method: string, args: unknown[] = []): Promise<string> {
  const value: unknown = await contract.getFunction(method).staticCall(...args);
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    throw new Error(`${method} returned ${String(value)}, expected an address`);
  }
  if (value === ZERO_ADDRESS) throw new Error(`${method}(${args.join(', ')}) returned the zero address`);
  return value;
}

/**
 * `InitReserveInput.interestRateData`: `abi.encode(IDefaultInterestRateStrategyV2.InterestRateData)` with
 * `(uint16 optimalUsageRatio, uint32 baseVariableBorrowRate, uint32 variableRateSlope1, uint32 variableRateSlope2)`,
 * all in bps (DefaultReserveInterestRateStrategyV2 scales them to ray by 1e23). The strategy requires
 * 1% ≤ optimal ≤ 99%, slope1 ≤ slope2 and base + slope1 + slope2 ≤ 1000%.
 */
function encodeRateData(curve: typeof LOCAL_RATE_CURVE): string {
  return AbiCoder.defaultAbiCoder().encode(
    ['tuple(uint16,uint32,uint32,uint32)'],
    [[curve.optimalUsageBps, curve.baseRateBps, curve.slope1Bps, curve.slope2Bps]],
  );
}

export const deployAaveV36: DeployAaveMarket = async (deployer: Deployer, reserves: ReserveListing[]): Promise<AaveMarket> => {
  assertValidListings(reserves, 'v3.6');

  const admin = await deployer.signer.getAddress();

  const a = {
    provider: artifact('PoolAddressesProvider'),
    acl: artifact('ACLManager'),
    rateStrategy: artifact('DefaultReserveInterestRateStrategyV2'),
    pool: artifact('PoolInstance'),
    configurator: artifact('PoolConfiguratorInstance'),
    oracle: artifact('AaveOracle'),
    dataProvider: artifact('AaveProtocolDataProvider'),
    aToken: artifact('ATokenInstance'),
    variableDebtToken: artifact('VariableDebtTokenInstance'),
  };

  // 1. Addresses provider, owned by the deployer; it is the registry every other contract reads its peers from.
  const provider = await deployer.deploy(a.provider, [LOCAL_MARKET_ID, admin]);
  const providerAddress = await provider.getAddress();

  // 2. ACL: the admin must be on the provider before ACLManager's constructor reads it.
  await deployer.send(provider, 'setACLAdmin', [admin]);
  const acl = await deployer.deploy(a.acl, [providerAddress]);
  await deployer.send(provider, 'setACLManager', [await acl.getAddress()]);
  await deployer.send(acl, 'addPoolAdmin', [admin]);
  await deployer.send(acl, 'addRiskAdmin', [admin]);
  await deployer.send(acl, 'addEmergencyAdmin', [admin]);

  // 3. The market's single interest-rate strategy (an immutable of the Pool implementation, see header).
  const rateStrategy = await deployer.deploy(a.rateStrategy, [providerAddress]);

  // 4. External logic libraries. PoolInstance links Borrow/FlashLoan/Liquidation/Pool/SupplyLogic;
  //    FlashLoanLogic itself links BorrowLogic; PoolConfiguratorInstance links ConfiguratorLogic.
  const libraries: Record<string, string> = {};
  for (const name of ['BorrowLogic', 'SupplyLogic', 'LiquidationLogic', 'PoolLogic', 'ConfiguratorLogic', 'FlashLoanLogic']) {
    const lib = await deployer.deploy(loadArtifact(SET, name), [], libraries);
    libraries[name] = await lib.getAddress();
  }

  // 5. Pool: the provider deploys an InitializableImmutableAdminUpgradeabilityProxy and calls
  //    `initialize(provider)` on it (PoolAddressesProvider._updateImpl).
  const poolImpl = await deployer.deploy(a.pool, [providerAddress, await rateStrategy.getAddress()], libraries);
  await deployer.send(provider, 'setPoolImpl', [await poolImpl.getAddress()]);
  const poolAddress = await readAddress(provider, 'getPool');

  // 6. PoolConfigurator, same pattern; its initialize caches `provider.getPool()`, hence after step 5.
  const configuratorImpl = await deployer.deploy(a.configurator, [], libraries);
  await deployer.send(provider, 'setPoolConfiguratorImpl', [await configuratorImpl.getAddress()]);
  const configurator = deployer.at(a.configurator, await readAddress(provider, 'getPoolConfigurator'));

  // 7. Oracle over the given feeds (no fallback oracle), USD base with 8 decimals.
  const oracle = await deployer.deploy(a.oracle, [
    providerAddress,
    reserves.map((r) => r.underlying),
    reserves.map((r) => r.feed),
    ZERO_ADDRESS,
    USD_BASE_CURRENCY,
    USD_BASE_UNIT,
  ]);
  await deployer.send(provider, 'setPriceOracle', [await oracle.getAddress()]);

  // 8. Data provider (its constructor reads and requires `provider.getPool()`).
  const dataProvider = await deployer.deploy(a.dataProvider, [providerAddress]);
  await deployer.send(provider, 'setPoolDataProvider', [await dataProvider.getAddress()]);

  // 9. Token implementations shared by all reserves; each reserve gets its own proxies in initReserves.
  const aTokenImpl = await deployer.deploy(a.aToken, [poolAddress, ZERO_ADDRESS, LOCAL_TREASURY]);
  const variableDebtTokenImpl = await deployer.deploy(a.variableDebtToken, [poolAddress, ZERO_ADDRESS]);

  // 10. List every reserve in one transaction (ConfiguratorInputTypes.InitReserveInput; `params` is passed to
  //     the tokens' initialize and unused by the standard implementations).
  const interestRateData = encodeRateData(LOCAL_RATE_CURVE);
  const aTokenImplAddress = await aTokenImpl.getAddress();
  const variableDebtTokenImplAddress = await variableDebtTokenImpl.getAddress();
  await deployer.send(configurator, 'initReserves', [
    reserves.map((r) => ({
      aTokenImpl: aTokenImplAddress,
      variableDebtTokenImpl: variableDebtTokenImplAddress,
      underlyingAsset: r.underlying,
      aTokenName: `Aave ${LOCAL_MARKET_ID} ${r.symbol}`,
      aTokenSymbol: `a${LOCAL_MARKET_ID}${r.symbol}`,
      variableDebtTokenName: `Aave ${LOCAL_MARKET_ID} Variable Debt ${r.symbol}`,
      variableDebtTokenSymbol: `variableDebt${LOCAL_MARKET_ID}${r.symbol}`,
      params: '0x',
      interestRateData,
    })),
  ]);

  // 11. Risk parameters. Caps stay 0 (= unlimited), debt ceiling 0 (not isolated), no eMode. Flash loans are on
  //     (initReserves leaves them off), so a keeper can fund liquidations with flashLoanSimple.
  for (const r of reserves) {
    // A zero threshold is initReserves' state already; configureReserveAsCollateral(…, 0, 0, 0) would only add
    // a `_checkNoSuppliers` call.
    if (r.liquidationThresholdBps !== 0) {
      await deployer.send(configurator, 'configureReserveAsCollateral', [
        r.underlying,
        r.ltvBps,
        r.liquidationThresholdBps,
        r.liquidationBonusBps,
      ]);
    }
    if (r.borrowingEnabled) await deployer.send(configurator, 'setReserveBorrowing', [r.underlying, true]);
    if (r.reserveFactorBps !== 0) await deployer.send(configurator, 'setReserveFactor', [r.underlying, r.reserveFactorBps]);
    if (r.protocolFeeBps !== 0) await deployer.send(configurator, 'setLiquidationProtocolFee', [r.underlying, r.protocolFeeBps]);
    await deployer.send(configurator, 'setReserveFlashLoaning', [r.underlying, true]);
  }
  // PoolConfigurator.updateFlashloanPremium(uint128 bps) → Pool.updateFlashloanPremium; one premium per market.
  await deployer.send(configurator, 'updateFlashloanPremium', [V36_FLASHLOAN_PREMIUM_BPS]);

  // 12. Token proxies created by initReserves.
  const pool = deployer.at(a.pool, poolAddress);
  const deployed: Record<string, DeployedReserve> = {};
  for (const r of reserves) {
    deployed[r.symbol] = {
      symbol: r.symbol,
      decimals: r.decimals,
      underlying: r.underlying,
      aToken: await readAddress(pool, 'getReserveAToken', [r.underlying]),
      variableDebtToken: await readAddress(pool, 'getReserveVariableDebtToken', [r.underlying]),
      feed: r.feed,
    };
  }

  return {
    version: 'v3.6',
    poolAddressesProvider: providerAddress,
    pool: poolAddress,
    poolConfigurator: await configurator.getAddress(),
    aclManager: await acl.getAddress(),
    aaveOracle: await oracle.getAddress(),
    protocolDataProvider: await dataProvider.getAddress(),
    treasury: LOCAL_TREASURY,
    reserves: deployed,
  };
};
