/**
 * What contracts/build.ts compiles. Each set becomes contracts/out/<name>.json.
 * Source unit names are paths relative to the project root; remappings map import prefixes into node_modules.
 */
export interface SourceSet {
  name: string;
  /** Files compiled as entry points (their imports are pulled in by solc). */
  entries: string[];
  remappings: string[];
  /** npm packages whose versions enter the cache key (their sources are read from node_modules). */
  packages: string[];
  /** Our own source folders, hashed file by file into the cache key. */
  ownSourceDirs: string[];
  settings: Record<string, unknown>;
}

const OWN: SourceSet = {
  name: 'own',
  entries: [
    'contracts/src/SettablePriceFeed.sol',
    'contracts/src/TestnetERC20.sol',
    'contracts/src/PositionOpener.sol',
    'contracts/src/HealthLens.sol',
    'contracts/src/OracleLens.sol',
    'contracts/src/PositionLens.sol',
    'contracts/src/QuoteLens.sol',
    'contracts/src/ConstantFeed.sol',
    'contracts/src/Liquidator.sol',
    // Test only: a swap router that attacks the Liquidator calling it (test/integration/liquidator-contract.test.ts).
    'contracts/src/test/HostileCallbacks.sol',
  ],
  remappings: ['@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/'],
  packages: ['@openzeppelin/contracts'],
  ownSourceDirs: ['contracts/src'],
  // No metadata hash: the runtime bytecode then depends only on the source and settings, so the health lens
  // embedded in functions/ can be checked against a fresh compile byte for byte.
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', metadata: { bytecodeHash: 'none' } },
};

/** Root of the Aave v3.6 Solidity sources inside node_modules (BUSL-1.1: local tests only, never shipped). */
const AAVE_V36_SRC = 'node_modules/@aave-dao/aave-v3-origin/src/contracts';

/**
 * Aave v3.6 (npm @aave-dao/aave-v3-origin 3.6.x): only what a local market needs. The logic libraries
 * (Supply/Borrow/Liquidation/FlashLoan/Pool/ConfiguratorLogic) are compiled through the imports of Pool and
 * PoolConfigurator; InitializableImmutableAdminUpgradeabilityProxy is listed so its ABI is available even though
 * the PoolAddressesProvider and ConfiguratorLogic create the proxies themselves.
 *
 * The core contracts import only `openzeppelin-contracts/contracts/...` (Multicall, SafeCast, SafeERC20, ECDSA,
 * ...); `openzeppelin-contracts-upgradeable/` and `solidity-utils/` are imported only by extensions (stata-token,
 * treasury, config-engine) that a market does not need, so they are not remapped.
 *
 * Settings follow the upstream foundry.toml (optimizer on, 200 runs, bytecode_hash none); evmVersion cancun like
 * our own set. anvil runs with --disable-code-size-limit, so the Pool's size needs no via-IR.
 */
const AAVE_V36: SourceSet = {
  name: 'aave-v3.6',
  entries: [
    `${AAVE_V36_SRC}/protocol/configuration/PoolAddressesProvider.sol`,
    `${AAVE_V36_SRC}/protocol/configuration/ACLManager.sol`,
    `${AAVE_V36_SRC}/instances/PoolInstance.sol`,
    `${AAVE_V36_SRC}/instances/PoolConfiguratorInstance.sol`,
    `${AAVE_V36_SRC}/instances/ATokenInstance.sol`,
    `${AAVE_V36_SRC}/instances/VariableDebtTokenInstance.sol`,
    `${AAVE_V36_SRC}/misc/AaveOracle.sol`,
    `${AAVE_V36_SRC}/misc/DefaultReserveInterestRateStrategyV2.sol`,
    `${AAVE_V36_SRC}/helpers/AaveProtocolDataProvider.sol`,
    `${AAVE_V36_SRC}/misc/aave-upgradeability/InitializableImmutableAdminUpgradeabilityProxy.sol`,
  ],
  remappings: ['openzeppelin-contracts/contracts/=node_modules/@openzeppelin/contracts/'],
  packages: ['@aave-dao/aave-v3-origin', '@openzeppelin/contracts'],
  ownSourceDirs: [],
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    metadata: { bytecodeHash: 'none' },
  },
};

export const SOURCE_SETS: SourceSet[] = [OWN, AAVE_V36];
