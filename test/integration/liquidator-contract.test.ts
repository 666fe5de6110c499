/**
 * Our liquidator contract (contracts/src/Liquidator.sol) on the local world — a real Aave market (v3.6 and V3.0)
 * with flash loans at a non-zero premium, and Uniswap V3 — exercised and attacked:
 * - access: only authorised callers liquidate, only the owner sets callers and withdraws;
 * - forged callbacks: executeOperation called directly, and a flash loan someone else starts with the contract
 *   as receiver;
 * - flash-loan liquidations of a same-asset pair (no swap) and of a cross-asset pair (WETH sold for USDC on
 *   Uniswap V3), and an inventory one: each leaves exactly the profit it reports, its Liquidated event equals the
 *   balance changes, the token transfers and the Pool's LiquidationCall event, and no allowance is left;
 * - the profit guard, when someone else's swap moved the pool after the plan;
 * - re-entry and forged callbacks from inside a liquidation, through a hostile swap router
 *   (contracts/src/test/HostileCallbacks.sol).
 *
 * Block timestamps are frozen (anvil_setBlockTimestampInterval 0), so a call simulated at block N runs in block
 * N + 1 on the same state and interest: the simulated profit is the mined one, to the wei.
 */
import { Contract, ContractFactory, Interface, type InterfaceAbi, JsonRpcSigner, type Log, type TransactionReceipt, ZeroAddress } from 'ethers';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { EthersLiquidatorContract } from '../../functions/adapters/chain/liquidator-contract';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import {
  calculateAccountData,
  exactDebtToCoverUnits,
  flashLoanPremiumUnits,
  type LiquidationPlan,
  MAX_UINT256,
  planLiquidation,
  ruleSetForPoolVersion,
  sameAddress,
} from '../../functions/domain';
import { loadArtifact } from '../../local/world/artifacts';
import { Deployer } from '../../local/world/deployer';
import { encodeV3Path, findPool } from '../../local/world/dex';
import { type AssetSymbol, loadScenario, type Scenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(600_000);

const ERC20_ABI = [
  'function balanceOf(address) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function transfer(address to, uint256 amount) returns (bool)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
];
const POOL_ABI = [
  'function flashLoanSimple(address receiverAddress, address asset, uint256 amount, bytes params, uint16 referralCode)',
  'function FLASHLOAN_PREMIUM_TOTAL() view returns (uint128)',
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
];
const UNISWAP_POOL_ABI = [
  'event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick)',
];
const QUOTER_ABI = [
  'function quoteExactInput(bytes path, uint256 amountIn) returns (uint256 amountOut, uint160[] sqrtPriceX96AfterList, uint32[] initializedTicksCrossedList, uint256 gasEstimate)',
];
const WAD = 10n ** 18n;
const PRICE_UNIT = 10n ** 8n;

interface LiquidationParams {
  collateralAsset: string;
  debtAsset: string;
  user: string;
  debtToCover: bigint;
  swapPath: string;
  amountOutMinimum: bigint;
  minProfit: bigint;
}

/** The Liquidated event of a receipt, as plain bigints. */
interface Liquidated {
  user: string;
  collateralAsset: string;
  debtAsset: string;
  debtRepaid: bigint;
  collateralSeized: bigint;
  swapAmountOut: bigint;
  flashPremium: bigint;
  profit: bigint;
}

interface Candidate {
  user: string;
  plan: LiquidationPlan;
  debtToCover: bigint;
}

const LIQUIDATOR = loadArtifact('own', 'Liquidator');
const HOSTILE_ROUTER = loadArtifact('own', 'HostileSwapRouter');
const LIQUIDATOR_IFACE = new Interface(LIQUIDATOR.abi as InterfaceAbi);

function revertDataOf(err: unknown): string | undefined {
  const e = err as { data?: unknown; error?: { data?: unknown }; info?: { error?: { data?: unknown } } };
  return [e.data, e.error?.data, e.info?.error?.data].find((c): c is string => typeof c === 'string' && c.startsWith('0x'));
}

/** The custom error of the Liquidator a call reverted with; fails the test on success or on any other revert. */
async function revertOf(call: Promise<unknown>): Promise<{ name: string; args: unknown[] }> {
  try {
    await call;
  } catch (err) {
    const data = revertDataOf(err);
    const parsed = data ? LIQUIDATOR_IFACE.parseError(data) : null;
    if (!parsed) throw new Error(`expected a Liquidator error, got: ${(err as Error).message}`, { cause: err });
    return { name: parsed.name, args: [...parsed.args] };
  }
  throw new Error('expected a revert, the call succeeded');
}

describe.each(['v3.6', 'v3.0'] as const)('Liquidator contract on Aave %s', (aave) => {
  const scenario: Scenario = { ...loadScenario('default'), aave };
  const ruleSet = ruleSetForPoolVersion(aave);
  const gasUsed: Record<string, bigint> = {};
  let world: World;
  let owner: JsonRpcSigner;
  /** The world's second liquidator account: neither owner nor (until a test authorises it) a caller. */
  let stranger: JsonRpcSigner;
  let liquidator: Contract;
  let liquidatorAddress: string;
  let reader: AaveV3PositionReader;
  let premiumBps: bigint;
  let tokens: Record<AssetSymbol, string>;

  const erc20 = (token: string) => new Contract(token, ERC20_ABI, world.provider);
  const balanceAt = (token: string, holder: string, block: number) => erc20(token).balanceOf(holder, { blockTag: block }) as Promise<bigint>;

  async function send(signer: JsonRpcSigner, to: string, data: string, gasLimit?: bigint): Promise<TransactionReceipt> {
    const limit = gasLimit ?? ((await signer.estimateGas({ to, data })) * 13n) / 10n; // TOOLCHAIN gotcha 6: headroom
    const tx = await signer.sendTransaction({ to, data, gasLimit: limit });
    return pollReceipt(world.provider, tx.hash);
  }

  async function sendLiquidate(signer: JsonRpcSigner, target: string, p: LiquidationParams, flashLoan: boolean): Promise<TransactionReceipt> {
    const receipt = await send(signer, target, LIQUIDATOR_IFACE.encodeFunctionData('liquidate', [p, flashLoan]));
    expect(receipt.status).toBe(1);
    return receipt;
  }

  function simulate(signer: JsonRpcSigner, p: LiquidationParams, flashLoan: boolean, target = liquidator): Promise<bigint> {
    return target.connect(signer).getFunction('liquidate').staticCall(p, flashLoan) as Promise<bigint>;
  }

  function parseLogs(logs: readonly Log[], address: string, abi: InterfaceAbi) {
    const iface = new Interface(abi);
    return logs.filter((l) => sameAddress(l.address, address)).map((l) => iface.parseLog(l)!).filter((e) => e !== null);
  }

  function liquidatedEvents(receipt: TransactionReceipt, at = liquidatorAddress): Liquidated[] {
    return parseLogs(receipt.logs, at, LIQUIDATOR.abi as InterfaceAbi)
      .filter((e) => e.name === 'Liquidated')
      .map((e) => ({
        user: e.args.user as string,
        collateralAsset: e.args.collateralAsset as string,
        debtAsset: e.args.debtAsset as string,
        debtRepaid: e.args.debtRepaid as bigint,
        collateralSeized: e.args.collateralSeized as bigint,
        swapAmountOut: e.args.swapAmountOut as bigint,
        flashPremium: e.args.flashPremium as bigint,
        profit: e.args.profit as bigint,
      }));
  }

  /** Sum of `token` Transfer values from `from` to `to` in a receipt (either may be undefined = anyone). */
  function transferred(receipt: TransactionReceipt, token: string, from?: string, to?: string): bigint {
    return parseLogs(receipt.logs, token, ERC20_ABI)
      .filter((e) => e.name === 'Transfer')
      .filter((e) => (from === undefined || sameAddress(e.args.from, from)) && (to === undefined || sameAddress(e.args.to, to)))
      .reduce((sum, e) => sum + (e.args.value as bigint), 0n);
  }

  async function expectNoAllowances(holder: string, assets: string[], block: number): Promise<void> {
    const spenders = [world.info.market.pool, world.info.dex.swapRouter];
    const allowances = await Promise.all(
      assets.flatMap((token) => spenders.map((spender) => erc20(token).allowance(holder, spender, { blockTag: block }) as Promise<bigint>)),
    );
    expect(allowances).toEqual(allowances.map(() => 0n));
  }

  /**
   * A liquidatable borrower of the pair and the engine's plan for liquidating as much as allowed, with the finite
   * debtToCover that reproduces it (what the keeper sends). `skip` borrowers are passed over.
   */
  async function findCandidate(collateral: AssetSymbol, debt: AssetSymbol, skip: readonly string[] = []): Promise<Candidate> {
    const block = await latestBlockNumber(world.provider);
    for (const borrower of world.info.borrowers) {
      if (skip.some((s) => sameAddress(s, borrower.address))) continue;
      const position = await reader.readPosition(borrower.address, block);
      if (calculateAccountData(position).healthFactorWad >= WAD) continue;
      const outcome = planLiquidation(position, {
        collateralAsset: tokens[collateral],
        debtAsset: tokens[debt],
        debtToCoverUnits: MAX_UINT256,
        liquidator: liquidatorAddress,
      });
      if (outcome.kind === 'liquidate' && outcome.plan.debtRepaidUnits > 0n) {
        return { user: borrower.address, plan: outcome.plan, debtToCover: exactDebtToCoverUnits(outcome.plan) };
      }
    }
    throw new Error(`no liquidatable ${collateral}/${debt} borrower in the world`);
  }

  /** The direct Uniswap V3 path between two assets through the world's pool for the pair. */
  function pathOf(from: AssetSymbol, to: AssetSymbol): string {
    const pool = findPool(world.info.dex.pools, from, to);
    if (!pool) throw new Error(`the world has no ${from}/${to} pool`);
    return encodeV3Path([tokens[from], tokens[to]], [pool.fee]);
  }

  /** QuoterV2's output for selling `amountIn` along `path` at the latest block. */
  async function quote(path: string, amountIn: bigint): Promise<bigint> {
    const quoter = new Contract(world.info.dex.quoter, QUOTER_ABI, world.provider);
    const [amountOut] = (await quoter.getFunction('quoteExactInput').staticCall(path, amountIn)) as [bigint];
    return amountOut;
  }

  /** Cross-asset params for a candidate: the plan's collateral sold along the direct pool, 1 % slippage allowed. */
  async function swapParams(c: Candidate, from: AssetSymbol, to: AssetSymbol, minProfit = 0n): Promise<LiquidationParams> {
    const swapPath = pathOf(from, to);
    const amountOut = await quote(swapPath, c.plan.liquidatorCollateralUnits);
    return {
      collateralAsset: tokens[from],
      debtAsset: tokens[to],
      user: c.user,
      debtToCover: c.debtToCover,
      swapPath,
      amountOutMinimum: (amountOut * 99n) / 100n,
      minProfit,
    };
  }

  function sameAssetParams(c: Candidate, asset: AssetSymbol, minProfit = 0n): LiquidationParams {
    return { collateralAsset: tokens[asset], debtAsset: tokens[asset], user: c.user, debtToCover: c.debtToCover, swapPath: '0x', amountOutMinimum: 0n, minProfit };
  }

  /**
   * What every successful liquidation must satisfy: one Liquidated event whose numbers are the Pool's
   * LiquidationCall event, the token transfers and the contract's balance changes; the premium the Pool's rule
   * gives; the profit the call returned in simulation; no allowance left.
   */
  async function expectExactLiquidation(
    receipt: TransactionReceipt,
    p: LiquidationParams,
    options: { flashLoan: boolean; simulatedProfit: bigint; contract?: string },
  ): Promise<Liquidated> {
    const at = options.contract ?? liquidatorAddress;
    const events = liquidatedEvents(receipt, at);
    expect(events).toHaveLength(1);
    const event = events[0];
    const sameAsset = sameAddress(p.collateralAsset, p.debtAsset);
    const [poolEvent] = parseLogs(receipt.logs, world.info.market.pool, POOL_ABI).filter((e) => e.name === 'LiquidationCall');
    const after = receipt.blockNumber;
    const before = after - 1;
    const [debtBefore, debtAfter, collateralBefore, collateralAfter] = await Promise.all([
      balanceAt(p.debtAsset, at, before),
      balanceAt(p.debtAsset, at, after),
      balanceAt(p.collateralAsset, at, before),
      balanceAt(p.collateralAsset, at, after),
    ]);
    const debtReserve = Object.values(world.info.market.reserves).find((r) => sameAddress(r.underlying, p.debtAsset))!;
    const collateralReserve = Object.values(world.info.market.reserves).find((r) => sameAddress(r.underlying, p.collateralAsset))!;
    const expectedPremium = options.flashLoan ? flashLoanPremiumUnits(ruleSet, p.debtToCover, premiumBps) : 0n;

    // The event against the Pool's own account of the liquidation.
    expect(event.user).toBe(poolEvent.args.user);
    expect(event.collateralAsset).toBe(poolEvent.args.collateralAsset);
    expect(event.debtAsset).toBe(poolEvent.args.debtAsset);
    expect(event.debtRepaid).toBe(poolEvent.args.debtToCover);
    expect(event.collateralSeized).toBe(poolEvent.args.liquidatedCollateralAmount);
    expect(poolEvent.args.liquidator).toBe(at);
    expect(poolEvent.args.receiveAToken).toBe(false);
    expect(event.flashPremium).toBe(expectedPremium);

    // Profit: the contract's balance change over the transaction, the simulated return value, and the sum.
    expect(event.profit).toBe(debtAfter - debtBefore);
    expect(event.profit).toBe(options.simulatedProfit);
    expect(event.profit).toBeGreaterThanOrEqual(p.minProfit);
    const proceeds = sameAsset ? event.collateralSeized : event.swapAmountOut;
    expect(event.profit).toBe(proceeds - event.debtRepaid - event.flashPremium);

    // Token movements: the debt paid to the debt aToken; the loan in and loan + premium out; the swap.
    const debtToAToken = transferred(receipt, p.debtAsset, at, debtReserve.aToken);
    if (options.flashLoan) {
      expect(transferred(receipt, p.debtAsset, debtReserve.aToken, at)).toBe(p.debtToCover + (sameAsset ? event.collateralSeized : 0n));
      expect(debtToAToken).toBe(event.debtRepaid + p.debtToCover + event.flashPremium);
    } else {
      expect(debtToAToken).toBe(event.debtRepaid);
    }
    if (sameAsset) {
      expect(event.swapAmountOut).toBe(0n);
    } else {
      // Exactly the seized collateral was sold: the contract's collateral balance is where it started.
      expect(collateralAfter).toBe(collateralBefore);
      expect(transferred(receipt, p.collateralAsset, collateralReserve.aToken, at)).toBe(event.collateralSeized);
      const uniswapPool = findPool(world.info.dex.pools, symbolOf(p.collateralAsset), symbolOf(p.debtAsset))!;
      const [swap] = parseLogs(receipt.logs, uniswapPool.address, UNISWAP_POOL_ABI).filter((e) => e.name === 'Swap');
      const collateralIsToken0 = sameAddress(uniswapPool.token0, p.collateralAsset);
      const amountIn = (collateralIsToken0 ? swap.args.amount0 : swap.args.amount1) as bigint;
      const amountOut = -((collateralIsToken0 ? swap.args.amount1 : swap.args.amount0) as bigint);
      expect(amountIn).toBe(event.collateralSeized);
      expect(amountOut).toBe(event.swapAmountOut);
      expect(swap.args.recipient).toBe(at);
      expect(event.swapAmountOut).toBeGreaterThanOrEqual(p.amountOutMinimum);
    }
    await expectNoAllowances(at, [p.collateralAsset, p.debtAsset], after);
    return event;
  }

  function symbolOf(token: string): AssetSymbol {
    const entry = (Object.entries(tokens) as [AssetSymbol, string][]).find(([, address]) => sameAddress(address, token));
    if (!entry) throw new Error(`${token} is not a world token`);
    return entry[0];
  }

  async function deployLiquidator(from: JsonRpcSigner, pool: string, router: string): Promise<Contract> {
    return new Deployer(world.provider, from).deploy(LIQUIDATOR, [pool, router]);
  }

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    await world.provider.send('anvil_setBlockTimestampInterval', [0]);
    owner = new JsonRpcSigner(world.provider, world.info.accounts.liquidators[0]);
    stranger = new JsonRpcSigner(world.provider, world.info.accounts.liquidators[1]);
    // The owner stocks the contract for inventory mode; the keeper's accounts start with ETH only.
    await world.fundAccount(world.info.accounts.liquidators[0]);
    tokens = world.info.tokens as Record<AssetSymbol, string>;
    reader = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSet);
    premiumBps = (await new Contract(world.info.market.pool, POOL_ABI, world.provider).FLASHLOAN_PREMIUM_TOTAL()) as bigint;
    liquidator = await deployLiquidator(owner, world.info.market.pool, world.info.dex.swapRouter);
    liquidatorAddress = await liquidator.getAddress();
    // ETH falls 20 %: positions with ETH collateral become liquidatable; the DEX pools follow in the same block.
    await world.setPrice('WETH', (scenario.assets.WETH!.priceUsd * 80n) / 100n);
  });
  afterAll(async () => {
    console.log(`Aave ${aave}: Liquidator gas used`, JSON.stringify(Object.fromEntries(Object.entries(gasUsed).map(([k, v]) => [k, Number(v)]))));
    await world?.stop();
  });

  it('runs on a market that charges a flash-loan premium', () => {
    expect(premiumBps).toBeGreaterThan(0n);
  });

  it('is owned by its deployer, who is always an authorised caller; no zero addresses', async () => {
    expect(await liquidator.owner()).toBe(await owner.getAddress());
    expect(await liquidator.pool()).toBe(world.info.market.pool);
    expect(await liquidator.swapRouter()).toBe(world.info.dex.swapRouter);
    expect(await liquidator.isCaller(await owner.getAddress())).toBe(true);
    expect(await liquidator.isCaller(await stranger.getAddress())).toBe(false);

    // Revoking the owner changes nothing: it stays a caller.
    expect((await send(owner, liquidatorAddress, LIQUIDATOR_IFACE.encodeFunctionData('setCaller', [await owner.getAddress(), false]))).status).toBe(1);
    expect(await liquidator.isCaller(await owner.getAddress())).toBe(true);

    const factory = new ContractFactory(LIQUIDATOR.abi as InterfaceAbi, LIQUIDATOR.bytecode, owner);
    for (const args of [
      [ZeroAddress, world.info.dex.swapRouter],
      [world.info.market.pool, ZeroAddress],
    ]) {
      const deploy = await factory.getDeployTransaction(...args);
      expect(await revertOf(owner.call(deploy))).toEqual({ name: 'ZeroAddress', args: [] });
    }
  });

  it('refuses liquidate from an account it has not authorised', async () => {
    const c = await findCandidate('WETH', 'USDC');
    const p = await swapParams(c, 'WETH', 'USDC');
    // The same call passes from the owner: only the caller differs.
    expect(await simulate(owner, p, true)).toBeGreaterThan(0n);
    for (const flashLoan of [true, false]) {
      expect(await revertOf(simulate(stranger, p, flashLoan))).toEqual({ name: 'Unauthorized', args: [await stranger.getAddress()] });
    }
  });

  it('lets only the owner set callers and withdraw', async () => {
    const strangerAddress = await stranger.getAddress();
    const asStranger = liquidator.connect(stranger);
    expect(await revertOf(asStranger.getFunction('setCaller').staticCall(strangerAddress, true))).toEqual({ name: 'Unauthorized', args: [strangerAddress] });
    expect(await revertOf(asStranger.getFunction('withdraw').staticCall(tokens.USDC, strangerAddress, MAX_UINT256))).toEqual({
      name: 'Unauthorized',
      args: [strangerAddress],
    });
    const asOwner = liquidator.connect(owner);
    expect(await revertOf(asOwner.getFunction('setCaller').staticCall(ZeroAddress, true))).toEqual({ name: 'ZeroAddress', args: [] });
    expect(await revertOf(asOwner.getFunction('withdraw').staticCall(tokens.USDC, ZeroAddress, 1n))).toEqual({ name: 'ZeroAddress', args: [] });
  });

  it('refuses a forged callback: executeOperation called directly, whoever calls it', async () => {
    const c = await findCandidate('WETH', 'USDC');
    const params = LIQUIDATOR_IFACE.getAbiCoder().encode(
      ['tuple(address,address,address,uint256,bytes,uint256,uint256)'],
      [[tokens.WETH, tokens.USDC, c.user, c.debtToCover, pathOf('WETH', 'USDC'), 0n, 0n]],
    );
    for (const caller of [stranger, owner]) {
      const call = liquidator.connect(caller).getFunction('executeOperation').staticCall(tokens.USDC, c.debtToCover, 0n, liquidatorAddress, params);
      expect(await revertOf(call)).toEqual({ name: 'InvalidCallback', args: [await caller.getAddress(), liquidatorAddress] });
    }
  });

  it('refuses a flash loan someone else starts with the contract as receiver', async () => {
    const c = await findCandidate('WETH', 'USDC');
    const params = LIQUIDATOR_IFACE.getAbiCoder().encode(
      ['tuple(address,address,address,uint256,bytes,uint256,uint256)'],
      [[tokens.WETH, tokens.USDC, c.user, c.debtToCover, pathOf('WETH', 'USDC'), 0n, 0n]],
    );
    const pool = new Contract(world.info.market.pool, POOL_ABI, stranger);
    const call = pool.getFunction('flashLoanSimple').staticCall(liquidatorAddress, tokens.USDC, c.debtToCover, params, 0);
    expect(await revertOf(call)).toEqual({ name: 'InvalidCallback', args: [world.info.market.pool, await stranger.getAddress()] });
  });

  it('rejects a swap path that does not lead from the collateral to the debt asset', async () => {
    const c = await findCandidate('WETH', 'USDC');
    const good = await swapParams(c, 'WETH', 'USDC');
    const sameAsset = await findCandidate('WETH', 'WETH');
    const bad: LiquidationParams[] = [
      { ...good, swapPath: '0x' },
      { ...good, swapPath: pathOf('USDC', 'WETH') },
      { ...good, swapPath: encodeV3Path([tokens.WETH, tokens.WBTC], [500]) },
      { ...good, swapPath: good.swapPath.slice(0, -2) },
      { ...good, swapPath: `${good.swapPath}00` },
      { ...sameAssetParams(sameAsset, 'WETH'), swapPath: pathOf('WETH', 'USDC') },
    ];
    for (const p of bad) {
      for (const flashLoan of [true, false]) expect(await revertOf(simulate(owner, p, flashLoan))).toEqual({ name: 'InvalidSwapPath', args: [] });
    }
  });

  it('liquidates a same-asset pair with a flash loan, no swap, and keeps exactly the profit it reports', async () => {
    const c = await findCandidate('WETH', 'WETH');
    const planned = await simulate(owner, sameAssetParams(c, 'WETH'), true);
    expect(planned).toBeGreaterThan(0n);
    // The guard: one wei more than the call can make reverts, with the profit it would have made.
    expect(await revertOf(simulate(owner, sameAssetParams(c, 'WETH', planned + 1n), true))).toEqual({
      name: 'ProfitBelowMinimum',
      args: [planned, planned + 1n],
    });

    const p = sameAssetParams(c, 'WETH', planned);
    const receipt = await sendLiquidate(owner, liquidatorAddress, p, true);
    gasUsed['flash-loan, same asset'] = receipt.gasUsed;
    const event = await expectExactLiquidation(receipt, p, { flashLoan: true, simulatedProfit: planned });
    // The engine's plan, made before the call, is what the Pool did.
    expect(event.debtRepaid).toBe(c.plan.debtRepaidUnits);
    expect(event.collateralSeized).toBe(c.plan.liquidatorCollateralUnits);
    expect(event.flashPremium).toBeGreaterThan(0n);
  });

  it('liquidates a cross-asset pair with a flash loan, selling exactly the seized collateral on Uniswap V3', async () => {
    const c = await findCandidate('WETH', 'USDC');
    const probe = await swapParams(c, 'WETH', 'USDC');
    const planned = await simulate(owner, probe, true);
    expect(planned).toBeGreaterThan(0n);
    const p = { ...probe, minProfit: planned };

    const receipt = await sendLiquidate(owner, liquidatorAddress, p, true);
    gasUsed['flash-loan, swap'] = receipt.gasUsed;
    const event = await expectExactLiquidation(receipt, p, { flashLoan: true, simulatedProfit: planned });
    expect(event.debtRepaid).toBe(c.plan.debtRepaidUnits);
    expect(event.collateralSeized).toBe(c.plan.liquidatorCollateralUnits);
    expect(event.flashPremium).toBeGreaterThan(0n);
  });

  it('lets an authorised caller that is not the owner liquidate, until the owner revokes it', async () => {
    const strangerAddress = await stranger.getAddress();
    const granted = await send(owner, liquidatorAddress, LIQUIDATOR_IFACE.encodeFunctionData('setCaller', [strangerAddress, true]));
    expect(parseLogs(granted.logs, liquidatorAddress, LIQUIDATOR.abi as InterfaceAbi).map((e) => [e.name, ...e.args])).toEqual([['CallerSet', strangerAddress, true]]);
    expect(await liquidator.isCaller(strangerAddress)).toBe(true);

    const c = await findCandidate('WETH', 'USDC');
    const p = await swapParams(c, 'WETH', 'USDC');
    const planned = await simulate(stranger, p, true);
    const receipt = await sendLiquidate(stranger, liquidatorAddress, p, true);
    const event = await expectExactLiquidation(receipt, p, { flashLoan: true, simulatedProfit: planned });
    expect(event.user).toBe(c.user);

    await send(owner, liquidatorAddress, LIQUIDATOR_IFACE.encodeFunctionData('setCaller', [strangerAddress, false]));
    expect(await liquidator.isCaller(strangerAddress)).toBe(false);
    const next = await swapParams(await findCandidate('WETH', 'USDC'), 'WETH', 'USDC');
    expect(await revertOf(simulate(stranger, next, true))).toEqual({ name: 'Unauthorized', args: [strangerAddress] });
  });

  it('liquidates from its own stock in inventory mode, and the owner sweeps the profit', async () => {
    const c = await findCandidate('WETH', 'USDC');
    const p = await swapParams(c, 'WETH', 'USDC');
    // Stock: exactly what the liquidation repays, on top of the profit earned so far.
    const ownerAddress = await owner.getAddress();
    const usdc = erc20(tokens.USDC);
    await send(owner, tokens.USDC, usdc.interface.encodeFunctionData('transfer', [liquidatorAddress, c.plan.debtRepaidUnits]));
    // Without a loan there is no premium: the same call with one makes exactly the premium less.
    const planned = await simulate(owner, p, false);
    expect(planned - (await simulate(owner, p, true))).toBe(flashLoanPremiumUnits(ruleSet, p.debtToCover, premiumBps));

    const receipt = await sendLiquidate(owner, liquidatorAddress, { ...p, minProfit: planned }, false);
    gasUsed['inventory, swap'] = receipt.gasUsed;
    const event = await expectExactLiquidation(receipt, { ...p, minProfit: planned }, { flashLoan: false, simulatedProfit: planned });
    expect(event.flashPremium).toBe(0n);

    // Withdraw everything: amount = type(uint256).max sweeps the whole balance to the owner.
    const balance = (await usdc.balanceOf(liquidatorAddress)) as bigint;
    const ownerBefore = (await usdc.balanceOf(ownerAddress)) as bigint;
    const swept = await send(owner, liquidatorAddress, LIQUIDATOR_IFACE.encodeFunctionData('withdraw', [tokens.USDC, ownerAddress, MAX_UINT256]));
    expect(parseLogs(swept.logs, liquidatorAddress, LIQUIDATOR.abi as InterfaceAbi).map((e) => [e.name, ...e.args])).toEqual([['Withdrawn', tokens.USDC, ownerAddress, balance]]);
    expect(await usdc.balanceOf(liquidatorAddress)).toBe(0n);
    expect(await usdc.balanceOf(ownerAddress)).toBe(ownerBefore + balance);
  });

  it('reverts with ProfitBelowMinimum when someone else’s swap moved the pool after the plan', async () => {
    const c = await findCandidate('WETH', 'USDC');
    // The plan, at this block: the quote's output with 5 % slippage allowed, the simulated profit as the minimum.
    const probe = await swapParams(c, 'WETH', 'USDC');
    const p = { ...probe, amountOutMinimum: (probe.amountOutMinimum * 95n) / 99n };
    const planned = await simulate(owner, p, true);
    p.minProfit = planned;

    // Someone sells ETH into the pool: 2 % below the oracle. The router's bound still holds; the profit does not.
    const oraclePrice = (scenario.assets.WETH!.priceUsd * 80n) / 100n;
    await world.movePool('WETH/USDC', { WETH: (oraclePrice * 98n) / 100n, USDC: PRICE_UNIT });
    const moved = await revertOf(simulate(owner, p, true));
    expect(moved.name).toBe('ProfitBelowMinimum');
    const [profitNow, minProfit] = moved.args as [bigint, bigint];
    expect(minProfit).toBe(planned);
    expect(profitNow).toBeLessThan(planned);

    // Sent anyway (explicit gas, no estimate): mined, reverted, nothing moved; the keeper's adapter names it.
    const usdcBefore = (await erc20(tokens.USDC).balanceOf(liquidatorAddress)) as bigint;
    const receipt = await send(owner, liquidatorAddress, LIQUIDATOR_IFACE.encodeFunctionData('liquidate', [p, true]), 3_000_000n);
    expect(receipt.status).toBe(0);
    expect(await erc20(tokens.USDC).balanceOf(liquidatorAddress)).toBe(usdcBefore);
    const named = await new EthersLiquidatorContract(world.provider, liquidatorAddress).revertOf(receipt.hash);
    expect(named.revertClass).toBe('market-moved');
    expect(named.reason).toMatch(/^ProfitBelowMinimum\(/);

    // The pool back at the oracle price for the tests after this one.
    await world.movePool('WETH/USDC', { WETH: oraclePrice, USDC: PRICE_UNIT });
  });

  describe('attacked from inside a liquidation by a hostile swap router', () => {
    let victim: Contract;
    let victimAddress: string;
    let hostile: Contract;
    let hostileAddress: string;
    let p: LiquidationParams;

    beforeAll(async () => {
      const deployer = new Deployer(world.provider, owner);
      hostile = await deployer.deploy(HOSTILE_ROUTER);
      hostileAddress = await hostile.getAddress();
      victim = await deployLiquidator(owner, world.info.market.pool, hostileAddress);
      victimAddress = await victim.getAddress();
      // The router is even an authorised caller: only the lock and the callback checks stand in its way.
      await send(owner, victimAddress, LIQUIDATOR_IFACE.encodeFunctionData('setCaller', [hostileAddress, true]));
      const c = await findCandidate('WETH', 'USDC');
      p = { ...(await swapParams(c, 'WETH', 'USDC')), amountOutMinimum: 0n };
      const usdc = erc20(tokens.USDC);
      await send(owner, tokens.USDC, usdc.interface.encodeFunctionData('transfer', [victimAddress, c.plan.debtRepaidUnits]));
    });

    async function attack(payloadTarget: string, payload: string, flashLoan: boolean) {
      await send(owner, hostileAddress, hostile.interface.encodeFunctionData('arm', [payloadTarget, payload]));
      return revertOf(simulate(owner, p, flashLoan, victim));
    }

    it('cannot re-enter liquidate, in either mode', async () => {
      const reenter = LIQUIDATOR_IFACE.encodeFunctionData('liquidate', [p, false]);
      for (const flashLoan of [false, true]) expect(await attack(victimAddress, reenter, flashLoan)).toEqual({ name: 'Reentrancy', args: [] });
    });

    it('cannot call executeOperation itself while a flash loan is open', async () => {
      const params = LIQUIDATOR_IFACE.getAbiCoder().encode(
        ['tuple(address,address,address,uint256,bytes,uint256,uint256)'],
        [[p.collateralAsset, p.debtAsset, p.user, p.debtToCover, p.swapPath, p.amountOutMinimum, p.minProfit]],
      );
      const forged = LIQUIDATOR_IFACE.encodeFunctionData('executeOperation', [tokens.USDC, p.debtToCover, 0n, victimAddress, params]);
      expect(await attack(victimAddress, forged, true)).toEqual({ name: 'InvalidCallback', args: [hostileAddress, victimAddress] });
    });

    it('cannot start a flash loan to it while a liquidation runs', async () => {
      const flash = new Interface(POOL_ABI).encodeFunctionData('flashLoanSimple', [victimAddress, tokens.USDC, p.debtToCover, '0x', 0]);
      for (const flashLoan of [false, true]) {
        expect(await attack(world.info.market.pool, flash, flashLoan)).toEqual({ name: 'InvalidCallback', args: [world.info.market.pool, hostileAddress] });
      }
    });

    it('cannot withdraw the stock', async () => {
      const withdraw = LIQUIDATOR_IFACE.encodeFunctionData('withdraw', [tokens.USDC, hostileAddress, MAX_UINT256]);
      expect(await attack(victimAddress, withdraw, false)).toEqual({ name: 'Unauthorized', args: [hostileAddress] });
    });
  });
});
