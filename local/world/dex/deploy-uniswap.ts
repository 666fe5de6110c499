/**
 * Deploys Uniswap V3 from the compiled hardhat artifacts in npm (@uniswap/v3-core 1.0.1, @uniswap/v3-periphery
 * 1.4.4, @uniswap/swap-router-contracts 1.3.1), unmodified, so pool addresses follow the periphery's
 * POOL_INIT_CODE_HASH as on every public chain:
 * - UniswapV3Factory (owner = the deployer), with the 1-bp tier enabled as governance did on mainnet;
 * - SwapRouter02 (`exactInput` / `exactInputSingle` of IV3SwapRouter: no deadline field), the router deployed on
 *   every chain Aave runs on; built with factoryV2 = address(0): its V2 functions are unusable, the V3 ones only
 *   read `factoryV3`;
 * - QuoterV2 (a lens: `quoteExactInput(path, amountIn)` reverts internally, call it with eth_call);
 * - NonfungiblePositionManager with no token descriptor (tokenURI is never called locally).
 * `weth9` is only stored by the periphery (used to wrap / unwrap ETH, which nothing does locally).
 */
import { dirname, join } from 'node:path';
import { type Artifact, loadHardhatArtifact } from '../artifacts';
import type { Deployer } from '../deployer';

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

function artifactOf(pkg: string, sourcePath: string): () => Artifact {
  let cached: Artifact | undefined;
  return () => {
    if (!cached) {
      const contractName = sourcePath.split('/').at(-1)!.replace(/\.sol$/, '');
      cached = loadHardhatArtifact(join(dirname(require.resolve(`${pkg}/package.json`)), 'artifacts', sourcePath, `${contractName}.json`));
    }
    return cached;
  };
}

/** The artifacts the local DEX deploys or talks to (ABIs for tests and the world). */
export const UNISWAP_ARTIFACTS = {
  factory: artifactOf('@uniswap/v3-core', 'contracts/UniswapV3Factory.sol'),
  pool: artifactOf('@uniswap/v3-core', 'contracts/UniswapV3Pool.sol'),
  swapRouter02: artifactOf('@uniswap/swap-router-contracts', 'contracts/SwapRouter02.sol'),
  quoterV2: artifactOf('@uniswap/v3-periphery', 'contracts/lens/QuoterV2.sol'),
  positionManager: artifactOf('@uniswap/v3-periphery', 'contracts/NonfungiblePositionManager.sol'),
} as const;

/** The npm packages the artifacts come from (their versions are part of the world's seed cache key). */
export const UNISWAP_PACKAGES = ['@uniswap/v3-core', '@uniswap/v3-periphery', '@uniswap/swap-router-contracts'] as const;

/** Addresses of a deployed Uniswap V3. */
export interface UniswapV3Contracts {
  factory: string;
  /** SwapRouter02 (IV3SwapRouter). */
  swapRouter: string;
  /** QuoterV2. */
  quoter: string;
  /** NonfungiblePositionManager. */
  positionManager: string;
}

/** Deploys factory, NonfungiblePositionManager, SwapRouter02 and QuoterV2 from the deployer's account (5 transactions). */
export async function deployUniswapV3(deployer: Deployer, weth9: string = ZERO_ADDRESS): Promise<UniswapV3Contracts> {
  const factory = await deployer.deploy(UNISWAP_ARTIFACTS.factory());
  // UniswapV3Factory's constructor enables 500/10, 3000/60 and 10000/200; 100/1 came later by governance.
  await deployer.send(factory, 'enableFeeAmount', [100, 1]);
  const factoryAddress = await factory.getAddress();
  const positionManager = await deployer.deploy(UNISWAP_ARTIFACTS.positionManager(), [factoryAddress, weth9, ZERO_ADDRESS]);
  const positionManagerAddress = await positionManager.getAddress();
  const swapRouter = await deployer.deploy(UNISWAP_ARTIFACTS.swapRouter02(), [ZERO_ADDRESS, factoryAddress, positionManagerAddress, weth9]);
  const quoter = await deployer.deploy(UNISWAP_ARTIFACTS.quoterV2(), [factoryAddress, weth9]);
  return {
    factory: factoryAddress,
    swapRouter: await swapRouter.getAddress(),
    quoter: await quoter.getAddress(),
    positionManager: positionManagerAddress,
  };
}
