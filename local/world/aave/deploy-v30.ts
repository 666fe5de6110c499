/**
 * Deploys a complete local Aave V3.0 market from the compiled hardhat artifacts shipped in npm `@aave/core-v3`
 * (1.19.x: Pool / PoolConfigurator revision 1, close factor 50% above HF 0.95 and 100% below).
 *
 * Everything is sent from the deployer's single account, which ends as owner of the PoolAddressesProvider,
 * ACL admin, pool admin, risk admin and emergency admin (the world reconfigures reserves while seeding).
 *
 * Transactions are sent strictly one after another on purpose: anvil assigns the nonce of an
 * `eth_sendTransaction` itself, so a fixed order gives the same contract addresses on every run (stable
 * snapshots, readable logs), and no gas estimate is ever taken against a state that a concurrent transaction is
 * about to change. The market is 28 + 5 per reserve transactions (43 for three reserves) and deploys in
 * ~0.65 s on anvil anyway.
 */
import { dirname, join } from 'node:path';
import { ZeroAddress, type Contract } from 'ethers';
import { type Artifact, loadHardhatArtifact } from '../artifacts';
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

/** Root of the hardhat artifacts: `<root>/<sourceName>/<ContractName>.json`, mirroring the Solidity tree. */
const ARTIFACTS_ROOT = join(dirname(require.resolve('@aave/core-v3/package.json')), 'artifacts');


/** Aave's rates are rays (1e27 = 100%); our curve is in bps (1e4 = 100%), so 1 bps = 1e23 ray. */
const RAY_PER_BPS = 10n ** 23n;

/**
 * Flash-loan premium in bps, the V3.0 launch value (Aave V3 Ethereum started at 9 bps). V3.0 charges it as
 * `amount.percentMul(premium)` (FlashLoanLogic.executeFlashLoanSimple: rounded half UP, not ceiling) and sends
 * `premium.percentMul(FLASHLOAN_PREMIUM_TO_PROTOCOL)` of it to the treasury; that share stays at its default 0,
 * so the whole premium goes to suppliers.
 */
export const V30_FLASHLOAN_PREMIUM_BPS = 9;

/** Short prefix used in aToken / debt-token names and symbols (mainnet uses "Eth": aEthWETH). */
const TOKEN_PREFIX = 'Loc';

const artifactCache = new Map<string, Artifact>();

/** Loads `contracts/…/X.sol/X.json` by Solidity source path and contract name (as linkReferences name them). */
function coreV3(sourceName: string, contractName: string): Artifact {
  const key = `${sourceName}:${contractName}`;
  let artifact = artifactCache.get(key);
  if (!artifact) {
    artifact = loadHardhatArtifact(join(ARTIFACTS_ROOT, sourceName, `${contractName}.json`));
    artifactCache.set(key, artifact);
  }
  return artifact;
}

const ARTIFACTS = {
  PoolAddressesProvider: () => coreV3('contracts/protocol/configuration/PoolAddressesProvider.sol', 'PoolAddressesProvider'),
  ACLManager: () => coreV3('contracts/protocol/configuration/ACLManager.sol', 'ACLManager'),
  Pool: () => coreV3('contracts/protocol/pool/Pool.sol', 'Pool'),
  PoolConfigurator: () => coreV3('contracts/protocol/pool/PoolConfigurator.sol', 'PoolConfigurator'),
  AaveOracle: () => coreV3('contracts/misc/AaveOracle.sol', 'AaveOracle'),
  AaveProtocolDataProvider: () => coreV3('contracts/misc/AaveProtocolDataProvider.sol', 'AaveProtocolDataProvider'),
  DefaultReserveInterestRateStrategy: () =>
    coreV3('contracts/protocol/pool/DefaultReserveInterestRateStrategy.sol', 'DefaultReserveInterestRateStrategy'),
  AToken: () => coreV3('contracts/protocol/tokenization/AToken.sol', 'AToken'),
  StableDebtToken: () => coreV3('contracts/protocol/tokenization/StableDebtToken.sol', 'StableDebtToken'),
  VariableDebtToken: () => coreV3('contracts/protocol/tokenization/VariableDebtToken.sol', 'VariableDebtToken'),
} as const;

/**
 * Deploys a contract after deploying (once, memoised in `deployed`) every external library its bytecode links
 * to, recursively: `Pool` links 7 libraries, and one of them (FlashLoanLogic) itself links BorrowLogic. The
 * library list is read from the artifacts' linkReferences rather than hard-coded, so it cannot drift from
 * the package. `deployed` is keyed `source.sol:Library`, the form `linkBytecode` accepts.
 */
async function deployLinked(
  deployer: Deployer,
  artifact: Artifact,
  args: unknown[],
  deployed: Map<string, string>,
): Promise<Contract> {
  const libraries: Record<string, string> = {};
  for (const [sourceName, libs] of Object.entries(artifact.linkReferences ?? {})) {
    for (const libName of Object.keys(libs)) {
      const key = `${sourceName}:${libName}`;
      let address = deployed.get(key);
      if (!address) {
        const library = await deployLinked(deployer, coreV3(sourceName, libName), [], deployed);
        address = await library.getAddress();
        deployed.set(key, address);
      }
      libraries[key] = address;
    }
  }
  return deployer.deploy(artifact, args, libraries);
}

/** `ConfiguratorInputTypes.InitReserveInput` for one listing, as ethers encodes a tuple from an object. */
function initReserveInput(
  listing: ReserveListing,
  impls: { aToken: string; stableDebtToken: string; variableDebtToken: string; rateStrategy: string },
) {
  const symbol = listing.symbol;
  return {
    aTokenImpl: impls.aToken,
    stableDebtTokenImpl: impls.stableDebtToken,
    variableDebtTokenImpl: impls.variableDebtToken,
    underlyingAssetDecimals: listing.decimals,
    interestRateStrategyAddress: impls.rateStrategy,
    underlyingAsset: listing.underlying,
    treasury: LOCAL_TREASURY,
    // No incentives on a local market; address(0) makes the tokens skip the handleAction hook.
    incentivesController: ZeroAddress,
    aTokenName: `Aave Local ${symbol}`,
    aTokenSymbol: `a${TOKEN_PREFIX}${symbol}`,
    variableDebtTokenName: `Aave Local Variable Debt ${symbol}`,
    variableDebtTokenSymbol: `variableDebt${TOKEN_PREFIX}${symbol}`,
    stableDebtTokenName: `Aave Local Stable Debt ${symbol}`,
    stableDebtTokenSymbol: `stableDebt${TOKEN_PREFIX}${symbol}`,
    params: '0x',
  };
}

export const deployAaveV30: DeployAaveMarket = async (deployer, reserves) => {
  assertValidListings(reserves, 'v3.0');

  const admin = await deployer.signer.getAddress();

  // 1. Addresses provider: registry of the market's components; it deploys and owns the Pool and
  //    PoolConfigurator proxies. Owner = deployer.
  const provider = await deployer.deploy(ARTIFACTS.PoolAddressesProvider(), [LOCAL_MARKET_ID, admin]);
  const providerAddress = await provider.getAddress();

  // 2. Access control. ACLManager's constructor reads the ACL admin from the provider, so it is set first.
  await deployer.send(provider, 'setACLAdmin', [admin]);
  const aclManager = await deployer.deploy(ARTIFACTS.ACLManager(), [providerAddress]);
  const aclManagerAddress = await aclManager.getAddress();
  await deployer.send(provider, 'setACLManager', [aclManagerAddress]);
  await deployer.send(aclManager, 'addPoolAdmin', [admin]);
  await deployer.send(aclManager, 'addRiskAdmin', [admin]);
  await deployer.send(aclManager, 'addEmergencyAdmin', [admin]);

  // 3. Pool implementation, linked to its libraries; `setPoolImpl` creates the proxy and calls
  //    `initialize(provider)` on it. From here on "the pool" means the proxy.
  const libraries = new Map<string, string>();
  const poolImpl = await deployLinked(deployer, ARTIFACTS.Pool(), [providerAddress], libraries);
  await deployer.send(provider, 'setPoolImpl', [await poolImpl.getAddress()]);
  const poolAddress = String(await provider.getFunction('getPool')());

  // 4. Configurator (links ConfiguratorLogic). Its initializer caches provider.getPool(), so it must come after
  //    the pool.
  const configuratorImpl = await deployLinked(deployer, ARTIFACTS.PoolConfigurator(), [], libraries);
  await deployer.send(provider, 'setPoolConfiguratorImpl', [await configuratorImpl.getAddress()]);
  const configuratorAddress = String(await provider.getFunction('getPoolConfigurator')());
  const configurator = deployer.at(ARTIFACTS.PoolConfigurator(), configuratorAddress);

  // 5. Price oracle over the given 8-decimal feeds, USD base. No fallback oracle: a missing or non-positive
  //    price then reverts instead of silently reading another source.
  const oracle = await deployer.deploy(ARTIFACTS.AaveOracle(), [
    providerAddress,
    reserves.map((r) => r.underlying),
    reserves.map((r) => r.feed),
    ZeroAddress,
    USD_BASE_CURRENCY,
    USD_BASE_UNIT,
  ]);
  const oracleAddress = await oracle.getAddress();
  await deployer.send(provider, 'setPriceOracle', [oracleAddress]);

  // 6. Read-side helper (getUserReserveData, getReserveConfigurationData, ...).
  const dataProvider = await deployer.deploy(ARTIFACTS.AaveProtocolDataProvider(), [providerAddress]);
  const dataProviderAddress = await dataProvider.getAddress();
  await deployer.send(provider, 'setPoolDataProvider', [dataProviderAddress]);

  // 7. One interest-rate strategy shared by every reserve (they all use LOCAL_RATE_CURVE). All parameters are
  //    rays. Stable-rate parameters are zero: stable borrowing stays disabled on every reserve, and a zero
  //    optimal stable/total ratio keeps the strategy's divisions well defined (MAX_EXCESS... = 1 ray).
  const rateStrategy = await deployer.deploy(ARTIFACTS.DefaultReserveInterestRateStrategy(), [
    providerAddress,
    BigInt(LOCAL_RATE_CURVE.optimalUsageBps) * RAY_PER_BPS,
    BigInt(LOCAL_RATE_CURVE.baseRateBps) * RAY_PER_BPS,
    BigInt(LOCAL_RATE_CURVE.slope1Bps) * RAY_PER_BPS,
    BigInt(LOCAL_RATE_CURVE.slope2Bps) * RAY_PER_BPS,
    0n, // stableRateSlope1
    0n, // stableRateSlope2
    0n, // baseStableRateOffset
    0n, // stableRateExcessOffset
    0n, // optimalStableToTotalDebtRatio
  ]);

  // 8. Token implementations. Their immutable POOL must be the pool proxy: `initialize` checks it.
  const aTokenImpl = await deployer.deploy(ARTIFACTS.AToken(), [poolAddress]);
  const stableDebtImpl = await deployer.deploy(ARTIFACTS.StableDebtToken(), [poolAddress]);
  const variableDebtImpl = await deployer.deploy(ARTIFACTS.VariableDebtToken(), [poolAddress]);
  const impls = {
    aToken: await aTokenImpl.getAddress(),
    stableDebtToken: await stableDebtImpl.getAddress(),
    variableDebtToken: await variableDebtImpl.getAddress(),
    rateStrategy: await rateStrategy.getAddress(),
  };

  // 9. List every reserve in one transaction: creates the three token proxies per reserve and leaves each
  //    reserve active, unpaused, unfrozen, with a fresh configuration word (no LTV, borrowing off, stable
  //    borrowing off, no caps, no eMode, no isolation).
  await deployer.send(configurator, 'initReserves', [reserves.map((r) => initReserveInput(r, impls))]);

  // 10. Risk parameters. Stable-rate borrowing needs no call: initReserve wrote it as disabled, and it is never
  //     enabled here. Flash loans are enabled as on mainnet reserves, so a keeper can fund liquidations with
  //     `flashLoanSimple`, at V30_FLASHLOAN_PREMIUM_BPS.
  for (const r of reserves) {
    const bonus = r.liquidationThresholdBps === 0 ? 0 : r.liquidationBonusBps; // LT 0 requires bonus 0
    await deployer.send(configurator, 'configureReserveAsCollateral', [
      r.underlying,
      r.ltvBps,
      r.liquidationThresholdBps,
      bonus,
    ]);
    await deployer.send(configurator, 'setReserveBorrowing', [r.underlying, r.borrowingEnabled]);
    await deployer.send(configurator, 'setLiquidationProtocolFee', [r.underlying, r.protocolFeeBps]);
    await deployer.send(configurator, 'setReserveFactor', [r.underlying, r.reserveFactorBps]);
    await deployer.send(configurator, 'setReserveFlashLoaning', [r.underlying, true]);
  }
  // PoolConfigurator.updateFlashloanPremiumTotal(uint128 bps) → Pool.updateFlashloanPremiums(total, toProtocol).
  await deployer.send(configurator, 'updateFlashloanPremiumTotal', [V30_FLASHLOAN_PREMIUM_BPS]);

  // 11. Token proxy addresses, as the pool records them.
  const pool = deployer.at(ARTIFACTS.Pool(), poolAddress);
  const deployedReserves: Record<string, DeployedReserve> = {};
  for (const r of reserves) {
    const data = (await pool.getFunction('getReserveData')(r.underlying)) as {
      aTokenAddress: string;
      variableDebtTokenAddress: string;
    };
    deployedReserves[r.symbol] = {
      symbol: r.symbol,
      decimals: r.decimals,
      underlying: r.underlying,
      aToken: data.aTokenAddress,
      variableDebtToken: data.variableDebtTokenAddress,
      feed: r.feed,
    };
  }

  const market: AaveMarket = {
    version: 'v3.0',
    poolAddressesProvider: providerAddress,
    pool: poolAddress,
    poolConfigurator: configuratorAddress,
    aclManager: aclManagerAddress,
    aaveOracle: oracleAddress,
    protocolDataProvider: dataProviderAddress,
    treasury: LOCAL_TREASURY,
    reserves: deployedReserves,
  };
  return market;
};
