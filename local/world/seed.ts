/**
 * Builds a scenario's market on an automining anvil: tokens, price feeds, the Aave market (v3.6 or v3.0), the
 * Uniswap V3 DEX with a pool per pair, our Liquidator contract (contracts/src/Liquidator.sol), liquidity, the
 * borrowers' positions and the utilisation whale if the scenario has one. The liquidator accounts hold ETH only.
 * The result is dumped with `anvil_dumpState` and cached, so later boots load it in well under a second instead of deploying
 * again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, JsonRpcSigner, type JsonRpcProvider, ZeroAddress } from 'ethers';
import { anvilVersion } from './anvil';
import { loadArtifact } from './artifacts';
import { Deployer } from './deployer';
import type { AaveMarket, DeployAaveMarket } from './aave/market';
import { createPools, type DexDeployment, deployUniswapV3 } from './dex';
import { UNISWAP_PACKAGES } from './dex/deploy-uniswap';
import {
  type AssetSymbol,
  type EModeCategorySpec,
  dexPoolListings,
  liquidityProviderSupplyUnits,
  PRICE_DECIMALS,
  type Scenario,
  type UtilisationSpec,
} from './scenario';

export const CACHE_DIR = join(__dirname, '..', '..', '.cache', 'world');

/** anvil's default dev accounts (mnemonic "test test … junk"), by role. */
export const ACCOUNTS = {
  deployer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  liquidityProvider: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  /**
   * Dev accounts 2, 3, 10 and 11: up to four keeper signers (local/runtime/pipeline-env.ts `signers`). The first
   * owns the liquidator contract, the others are its authorised callers; all hold ETH only.
   */
  liquidators: [
    '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    '0xBcd4042DE499D14e55001CcbB24a551F3b954096',
    '0x71bE63f3384f5fb98995898A86B02Fb2426c5788',
  ],
  /** Dev account 4: owns the DEX pools' full-range positions. */
  dexLiquidityProvider: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
  /** Dev account 5: swaps pools back to the oracle price after a shock (local/world/dex/arbitrage.ts). */
  arbitrageur: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
} as const;

/**
 * Private keys of anvil's public test mnemonic for the liquidator accounts. They hold value only on a local
 * anvil; the pipeline's local signer uses them.
 */
export const LOCAL_LIQUIDATOR_KEYS = [
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897',
  '0x701b615bbdfb9de65240bc28bd21bbc0d996645a3dd57e7b12bc2bdf6f192c82',
] as const;

export interface SeededBorrower {
  label: string;
  address: string;
}

/** Everything the world needs to know about a seeded market; cached beside the state dump. */
export interface SeedResult {
  cacheKey: string;
  market: AaveMarket;
  tokens: Record<string, string>;
  feeds: Record<string, string>;
  borrowers: SeededBorrower[];
  /** Uniswap V3 contracts and the pools, one per pair of listed assets (local/world/dex). */
  dex: DexDeployment;
  /**
   * Our Liquidator (contracts/src/Liquidator.sol) over the market's Pool and the DEX's SwapRouter02, deployed by
   * the first liquidator account (its owner), every other liquidator account authorised with `setCaller`.
   */
  liquidatorContract: string;
  /** Block and timestamp of the last seeding block: the world resumes time from here. */
  seededBlock: number;
  seededTimestamp: number;
}

export interface SeedCache {
  result: SeedResult;
  /** anvil state file (JSON) for `anvil --load-state`. */
  statePath: string;
}

const POSITIONS_PER_TX = 250;
const POOL_SUPPLY_ABI = ['function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode)'];
const POOL_LIQUIDITY_ABI = ['function getVirtualUnderlyingBalance(address asset) view returns (uint128)'];
const BALANCE_ABI = ['function balanceOf(address) view returns (uint256)'];
const CONFIGURATOR_ABI = [
  'function configureReserveAsCollateral(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)',
];
/** eMode configuration, V3.0 (@aave/core-v3): one category per asset, with a price source. */
const CONFIGURATOR_EMODE_V30_ABI = [
  'function setEModeCategory(uint8 categoryId, uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, address oracle, string label)',
  'function setAssetEModeCategory(address asset, uint8 newCategoryId)',
];
/** eMode configuration, 3.2+ (aave-v3-origin): collateral and borrowable bitmaps. */
const CONFIGURATOR_EMODE_V36_ABI = [
  'function setEModeCategory(uint8 categoryId, uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, string label)',
  'function setAssetCollateralInEMode(address asset, uint8 categoryId, bool allowed)',
  'function setAssetBorrowableInEMode(address asset, uint8 categoryId, bool borrowable)',
];
/** Gas per opened position, measured with margin; set explicitly because estimating 100 creations is slow. */
const GAS_PER_POSITION = 1_500_000n;

function hashSources(dir: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.ts')) hash.update(name).update(readFileSync(join(dir, name)));
  }
  return hash.digest('hex');
}

function compiledKey(set: string): string {
  const path = join(__dirname, '..', '..', 'contracts', 'out', `${set}.json`);
  if (!existsSync(path)) throw new Error(`compiled contracts for set "${set}" not found: run \`npm run build:contracts\``);
  // The cache key is the first field written; avoid parsing megabytes of JSON for it.
  const head = readFileSync(path, 'utf8').slice(0, 300);
  const match = /"cacheKey":"([0-9a-f]+)"/.exec(head);
  if (!match) throw new Error(`contracts/out/${set}.json has no cache key: rebuild with \`npm run build:contracts -- --force\``);
  return match[1];
}

function packageVersion(pkg: string): string {
  return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
}

/**
 * Changes whenever the market, the positions (the utilisation whale included), the contracts, the packages
 * deployed from or the seeding code change. Shocks and block time are left out: the running world applies them.
 */
export function seedCacheKey(scenario: Scenario): string {
  const hash = createHash('sha256');
  const replacer = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);
  const seeded = {
    aave: scenario.aave,
    assets: scenario.assets,
    emodeCategories: scenario.emodeCategories,
    positions: scenario.positions,
    dex: scenario.dex,
    utilisation: scenario.utilisation,
  };
  hash.update(JSON.stringify(seeded, replacer));
  hash.update(compiledKey('own'));
  // v3.6 is compiled from source (its key covers the package); V3.0 deploys the npm package's own artifacts.
  if (scenario.aave === 'v3.6') hash.update(compiledKey('aave-v3.6'));
  else hash.update(`@aave/core-v3@${packageVersion('@aave/core-v3')}`);
  hash.update(hashSources(__dirname));
  hash.update(hashSources(join(__dirname, 'aave')));
  hash.update(hashSources(join(__dirname, 'dex')));
  for (const pkg of UNISWAP_PACKAGES) hash.update(`${pkg}@${packageVersion(pkg)}`);
  hash.update(anvilVersion());
  return hash.digest('hex').slice(0, 24);
}

const resultPath = (key: string) => join(CACHE_DIR, `${key}.json`);
const statePath = (key: string) => join(CACHE_DIR, `${key}.state.json`);

export function readSeedCache(key: string): SeedCache | undefined {
  if (!existsSync(resultPath(key)) || !existsSync(statePath(key))) return undefined;
  try {
    return { result: JSON.parse(readFileSync(resultPath(key), 'utf8')) as SeedResult, statePath: statePath(key) };
  } catch {
    return undefined;
  }
}

/** Where a seeding anvil should write its state on exit (`anvil --dump-state`) before it is committed. */
export function pendingStatePath(key: string): string {
  mkdirSync(CACHE_DIR, { recursive: true });
  return join(CACHE_DIR, `${key}.state.${process.pid}.tmp`);
}

/**
 * Commits a seeded market to the cache: the state file dumped by anvil on exit is renamed into place first,
 * the result second, so a reader never sees a result without its state.
 */
export function commitSeedCache(result: SeedResult, dumpedStatePath: string): SeedCache {
  if (!existsSync(dumpedStatePath)) throw new Error(`anvil wrote no state dump at ${dumpedStatePath}`);
  renameSync(dumpedStatePath, statePath(result.cacheKey));
  const tmp = `${resultPath(result.cacheKey)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(result));
  renameSync(tmp, resultPath(result.cacheKey));
  return { result, statePath: statePath(result.cacheKey) };
}

async function loadDeployer(version: Scenario['aave']): Promise<DeployAaveMarket> {
  if (version === 'v3.6') return (await import('./aave/deploy-v36')).deployAaveV36;
  return (await import('./aave/deploy-v30')).deployAaveV30;
}

/**
 * Seeds the scenario on a fresh automining anvil reached by `provider`. The state itself is saved by anvil
 * when it exits (`--dump-state`, see commitSeedCache): faster than `anvil_dumpState`, and a 10,000-borrower
 * state is too large to load back over RPC.
 */
export async function seedMarket(
  provider: JsonRpcProvider,
  scenario: Scenario,
  cacheKey: string,
  log: (line: string) => void,
): Promise<SeedResult> {
  const admin = new Deployer(provider, new JsonRpcSigner(provider, ACCOUNTS.deployer));
  const lp = new Deployer(provider, new JsonRpcSigner(provider, ACCOUNTS.liquidityProvider));
  const token = loadArtifact('own', 'TestnetERC20');
  const feed = loadArtifact('own', 'SettablePriceFeed');
  const symbols = Object.keys(scenario.assets) as AssetSymbol[];

  const tokens: Record<string, Contract> = {};
  const feeds: Record<string, Contract> = {};
  for (const symbol of symbols) {
    tokens[symbol] = await admin.deploy(token, [`Local ${symbol}`, symbol, scenario.assets[symbol]!.decimals]);
    feeds[symbol] = await admin.deploy(feed, [PRICE_DECIMALS, `${symbol} / USD`, scenario.assets[symbol]!.priceUsd]);
  }

  log(`world: deploying Aave ${scenario.aave} market`);
  const deploy = await loadDeployer(scenario.aave);
  const market = await deploy(
    admin,
    await Promise.all(
      symbols.map(async (symbol) => {
        const a = scenario.assets[symbol]!;
        return {
          symbol,
          decimals: scenario.assets[symbol]!.decimals,
          underlying: await tokens[symbol].getAddress(),
          feed: await feeds[symbol].getAddress(),
          ltvBps: a.ltvBps,
          liquidationThresholdBps: a.liquidationThresholdBps,
          liquidationBonusBps: a.liquidationBonusBps,
          protocolFeeBps: a.protocolFeeBps,
          reserveFactorBps: a.reserveFactorBps,
          borrowingEnabled: a.borrowingEnabled,
        };
      }),
    ),
  );

  log('world: deploying Uniswap V3 and its pools');
  const uniswap = await deployUniswapV3(admin, scenario.assets.WETH ? await tokens.WETH.getAddress() : undefined);
  const dexLp = new Deployer(provider, new JsonRpcSigner(provider, ACCOUNTS.dexLiquidityProvider));
  const listedTokens = Object.fromEntries(
    await Promise.all(
      symbols.map(async (symbol) => [
        symbol,
        { address: await tokens[symbol].getAddress(), decimals: scenario.assets[symbol]!.decimals, priceBase8: scenario.assets[symbol]!.priceUsd },
      ]),
    ),
  ) as Record<AssetSymbol, { address: string; decimals: number; priceBase8: bigint }>;
  const dex: DexDeployment = { ...uniswap, pools: await createPools(dexLp, uniswap, listedTokens, dexPoolListings(scenario)) };
  log(`world: DEX pools ${dex.pools.map((p) => `${p.pair} (${p.fee / 100} bp)`).join(', ')}`);

  log('world: deploying the Liquidator contract');
  const liquidatorOwner = new Deployer(provider, new JsonRpcSigner(provider, ACCOUNTS.liquidators[0]));
  const liquidatorContract = await liquidatorOwner.deploy(loadArtifact('own', 'Liquidator'), [market.pool, dex.swapRouter]);
  for (const caller of ACCOUNTS.liquidators.slice(1)) await liquidatorOwner.send(liquidatorContract, 'setCaller', [caller, true]);

  // Liquidity for every borrowed asset (liquidityProviderSupplyUnits: twice its debt, so every borrow fits).
  const lpPool = new Contract(market.pool, POOL_SUPPLY_ABI, lp.signer);
  for (const [asset, amount] of Object.entries(liquidityProviderSupplyUnits(scenario.positions, scenario.assets)) as [AssetSymbol, bigint][]) {
    const lpToken = lp.at(token, await tokens[asset].getAddress());
    await lp.send(lpToken, 'mint', [ACCOUNTS.liquidityProvider, amount]);
    await lp.send(lpToken, 'approve', [market.pool, amount]);
    await lp.send(lpPool, 'supply', [await tokens[asset].getAddress(), amount, ACCOUNTS.liquidityProvider, 0]);
  }

  // Positions may open anywhere above HF 1 (e.g. 1.01), which the LTV check at borrow time forbids when
  // LTV < LT. Raise LTV to LT while seeding and restore the scenario's LTV afterwards.
  const configurator = new Contract(market.poolConfigurator, CONFIGURATOR_ABI, admin.signer);
  const setLtv = async (ltvOf: (symbol: AssetSymbol) => number) => {
    for (const symbol of symbols) {
      const a = scenario.assets[symbol]!;
      if (a.ltvBps === 0) continue;
      await admin.send(configurator, 'configureReserveAsCollateral', [
        await tokens[symbol].getAddress(),
        ltvOf(symbol),
        a.liquidationThresholdBps,
        a.liquidationBonusBps,
      ]);
    }
  };
  await setLtv((symbol) => scenario.assets[symbol]!.liquidationThresholdBps);
  // eMode categories, their LTV raised to their LT while seeding too (a borrower in eMode borrows against it).
  const categories = Object.values(scenario.emodeCategories ?? {});
  const setCategories = async (ltvOf: (c: EModeCategorySpec) => number, assign: boolean) => {
    for (const c of categories) {
      if (scenario.aave === 'v3.0') {
        const v30 = new Contract(market.poolConfigurator, CONFIGURATOR_EMODE_V30_ABI, admin.signer);
        const source = c.priceSource === undefined ? ZeroAddress : await addressOf(c.priceSource);
        await admin.send(v30, 'setEModeCategory', [c.id, ltvOf(c), c.liquidationThresholdBps, c.liquidationBonusBps, source, c.label]);
        if (assign) for (const asset of new Set(c.collateral)) await admin.send(v30, 'setAssetEModeCategory', [await addressOf(asset), c.id]);
      } else {
        const v36 = new Contract(market.poolConfigurator, CONFIGURATOR_EMODE_V36_ABI, admin.signer);
        await admin.send(v36, 'setEModeCategory', [c.id, ltvOf(c), c.liquidationThresholdBps, c.liquidationBonusBps, c.label]);
        if (!assign) continue;
        for (const asset of c.collateral) await admin.send(v36, 'setAssetCollateralInEMode', [await addressOf(asset), c.id, true]);
        for (const asset of c.borrowable) await admin.send(v36, 'setAssetBorrowableInEMode', [await addressOf(asset), c.id, true]);
      }
    }
    if (categories.length > 0) log(`world: eMode categories ${categories.map((c) => `${c.id} (${c.label})`).join(', ')}`);
  };

  const addressOf = (symbol: string) => tokens[symbol].getAddress();
  await setCategories((c) => c.liquidationThresholdBps, true);
  const opener = await admin.deploy(loadArtifact('own', 'PositionOpener'));
  const borrowers: SeededBorrower[] = [];
  // The utilisation whale opens last: it borrows what the positions left in its reserves.
  const toOpen = scenario.utilisation ? [...scenario.positions, scenario.utilisation.whale] : scenario.positions;
  for (let start = 0; start < toOpen.length; start += POSITIONS_PER_TX) {
    const chunk = toOpen.slice(start, start + POSITIONS_PER_TX);
    const encoded = await Promise.all(
      chunk.map(async (p, i) => ({
        salt: `0x${(start + i).toString(16).padStart(64, '0')}`,
        collateralAssets: await Promise.all(Object.keys(p.collateral).map(addressOf)),
        collateralAmounts: Object.values(p.collateral),
        debtAssets: await Promise.all(Object.keys(p.debt).map(addressOf)),
        debtAmounts: Object.values(p.debt),
        eModeCategory: p.emode ?? 0,
      })),
    );
    let receipt;
    try {
      receipt = await admin.send(opener, 'open', [market.pool, encoded], { gasLimit: GAS_PER_POSITION * BigInt(chunk.length) });
    } catch (err) {
      throw new Error(
        `opening positions ${chunk[0].label} … ${chunk[chunk.length - 1].label} failed; a listed borrower may be too close to HF 1 to borrow (${(err as Error).message})`,
        { cause: err },
      );
    }
    const opened = receipt.logs
      .map((entry) => {
        try {
          return opener.interface.parseLog(entry);
        } catch {
          return null;
        }
      })
      .filter((parsed) => parsed?.name === 'PositionOpened');
    opened.forEach((event, i) => borrowers.push({ label: chunk[i].label, address: event!.args.borrower as string }));
    log(`world: opened ${borrowers.length}/${toOpen.length} positions`);
  }
  await setLtv((symbol) => scenario.assets[symbol]!.ltvBps);
  // After the reserves: V3.0 wants a category's LTV above its members' (PoolConfigurator.setEModeCategory).
  if (categories.length > 0) await setCategories((c) => c.ltvBps, false);
  if (scenario.utilisation) await checkUtilisation(provider, scenario.aave, market, scenario.utilisation, log);

  // The liquidator accounts hold ETH only (anvil's dev balance): the keeper liquidates through its contract with
  // flash loans. Tests that liquidate directly from an account fund it themselves (World.fundAccount).

  const block = await provider.getBlock('latest');
  if (!block) throw new Error('anvil returned no latest block');
  return {
    cacheKey,
    market,
    tokens: Object.fromEntries(await Promise.all(symbols.map(async (s) => [s, await tokens[s].getAddress()] as const))),
    feeds: Object.fromEntries(await Promise.all(symbols.map(async (s) => [s, await feeds[s].getAddress()] as const))),
    borrowers,
    dex,
    liquidatorContract: await liquidatorContract.getAddress(),
    seededBlock: block.number,
    seededTimestamp: block.timestamp,
  };
}

/**
 * Reads what each `utilisation` reserve can pay out once the whale has borrowed (v3.6: the virtual underlying
 * balance; V3.0: the aToken's underlying) and fails the seeding unless it is what the scenario computed.
 */
async function checkUtilisation(
  provider: JsonRpcProvider,
  version: Scenario['aave'],
  market: AaveMarket,
  utilisation: UtilisationSpec,
  log: (line: string) => void,
): Promise<void> {
  const pool = new Contract(market.pool, POOL_LIQUIDITY_ABI, provider);
  for (const [asset, expected] of Object.entries(utilisation.reserves) as [AssetSymbol, NonNullable<UtilisationSpec['reserves'][AssetSymbol]>][]) {
    const reserve = market.reserves[asset];
    const availableUnits =
      version === 'v3.6'
        ? ((await pool.getVirtualUnderlyingBalance(reserve.underlying)) as bigint)
        : ((await new Contract(reserve.underlying, BALANCE_ABI, provider).balanceOf(reserve.aToken)) as bigint);
    if (availableUnits !== expected.availableUnits) {
      throw new Error(`seeding: the ${asset} reserve has ${availableUnits} units available after the whale's borrow, the scenario computed ${expected.availableUnits}`);
    }
    log(`world: ${asset} reserve ${Number(expected.targetBps) / 100} % borrowed, ${availableUnits} units available`);
  }
}
