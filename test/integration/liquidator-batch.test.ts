/**
 * `Liquidator.liquidateBatch` (contracts/src/Liquidator.sol) on the local world — a real Aave market (v3.6 and
 * V3.0) with a non-zero flash-loan premium, and Uniswap V3 — through the keeper's adapter
 * (EthersLiquidatorContract: buildBatchTransaction, simulateBatch, batchOutcomesIn), exercised and attacked:
 * - access: only authorised callers batch; the per-item entry `liquidateItem` refuses everyone but the contract;
 *   an empty batch is refused; an item short of gas reverts the whole batch (so gas estimation covers every item);
 * - a batch mixing flash-loan and inventory items, different pairs and borrowers: each item's event equals the
 *   Pool's LiquidationCall event, its premium the Pool's rule, the contract keeps the sum of the items' profits,
 *   and no allowance is left; an item whose own profit guard fails is rolled back alone;
 * - ten liquidatable accounts, one liquidated by someone else in an earlier transaction: the other nine go
 *   through in one transaction, and the receipt reports each item's own outcome (the one that lost, market-moved);
 * - re-entry and forged callbacks from inside a batch item, through a hostile swap router
 *   (contracts/src/test/HostileCallbacks.sol): the item fails with the check that stopped it, the batch goes on.
 *
 * Block timestamps are frozen (anvil_setBlockTimestampInterval 0), so a batch simulated at block N runs in block
 * N + 1 on the same state and interest: the simulated outcomes are the mined ones, to the wei.
 */
import { Contract, Interface, type InterfaceAbi, JsonRpcSigner, type Log, type TransactionReceipt } from 'ethers';
import { AaveV3PositionReader } from '../../functions/adapters/chain/aave-v3-position-reader';
import { EthersLiquidatorContract } from '../../functions/adapters/chain/liquidator-contract';
import { batchGasOf, boundAfterSalesAhead, worstCaseGas } from '../../functions/pipeline/batch-execution';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import {
  amountOutMinimumOf,
  calculateAccountData,
  exactDebtToCoverUnits,
  flashLoanPremiumUnits,
  MAX_UINT256,
  planLiquidation,
  ruleSetForPoolVersion,
  sameAddress,
} from '../../functions/domain';
import type { BatchItemOutcome, LiquidatorBatchSimulation, LiquidatorCall } from '../../functions/ports/liquidator-contract';
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
];
const POOL_ABI = [
  'function flashLoanSimple(address receiverAddress, address asset, uint256 amount, bytes params, uint16 referralCode)',
  'function FLASHLOAN_PREMIUM_TOTAL() view returns (uint128)',
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
];
const QUOTER_ABI = [
  'function quoteExactInput(bytes path, uint256 amountIn) returns (uint256 amountOut, uint160[] sqrtPriceX96AfterList, uint32[] initializedTicksCrossedList, uint256 gasEstimate)',
];
const WAD = 10n ** 18n;
/** Pairs tried for each borrower, in order (the world's borrowers hold WETH/WBTC and owe USDC/WETH). */
const PAIRS: [AssetSymbol, AssetSymbol][] = [
  ['WETH', 'USDC'],
  ['WBTC', 'USDC'],
  ['WBTC', 'WETH'],
  ['WETH', 'WETH'],
];
/** Items of one batch share pools: each swap moves the price the next one gets, so the bound allows 5 %. */
const SLIPPAGE_PERCENT = 5n;

const LIQUIDATOR = loadArtifact('own', 'Liquidator');
const HOSTILE_ROUTER = loadArtifact('own', 'HostileSwapRouter');
const LIQUIDATOR_IFACE = new Interface(LIQUIDATOR.abi as InterfaceAbi);
const POOL_IFACE = new Interface(POOL_ABI);

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

function okItems(simulation: LiquidatorBatchSimulation): BatchItemOutcome[] {
  if (simulation.kind !== 'ok') throw new Error(`the batch reverted: ${simulation.reason}`);
  return simulation.items;
}

describe.each(['v3.6', 'v3.0'] as const)('Liquidator.liquidateBatch on Aave %s', (aave) => {
  const scenario: Scenario = { ...loadScenario('default'), aave };
  const ruleSet = ruleSetForPoolVersion(aave);
  let world: World;
  let owner: JsonRpcSigner;
  let ownerAddress: string;
  let stranger: JsonRpcSigner;
  let strangerAddress: string;
  let liquidatorAddress: string;
  let contract: EthersLiquidatorContract;
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

  async function snapshot(): Promise<string> {
    return (await world.provider.send('evm_snapshot', [])) as string;
  }
  async function revertTo(id: string): Promise<void> {
    expect(await world.provider.send('evm_revert', [id])).toBe(true);
  }

  function pathOf(from: AssetSymbol, to: AssetSymbol): string | undefined {
    const pool = findPool(world.info.dex.pools, from, to);
    return pool ? encodeV3Path([tokens[from], tokens[to]], [pool.fee]) : undefined;
  }

  async function quote(path: string, amountIn: bigint): Promise<bigint> {
    const quoter = new Contract(world.info.dex.quoter, QUOTER_ABI, world.provider);
    const [amountOut] = (await quoter.getFunction('quoteExactInput').staticCall(path, amountIn)) as [bigint];
    return amountOut;
  }

  /**
   * Calls for up to `count` distinct liquidatable borrowers at the latest block, the first pair of PAIRS each can be
   * liquidated with (the engine's max plan, with the finite debtToCover that reproduces it), flash-loan funded,
   * minProfit 0. `only` restricts the pairs, `skip` passes borrowers over.
   */
  async function plannedCalls(count: number, options: { only?: readonly [AssetSymbol, AssetSymbol][]; skip?: readonly string[] } = {}): Promise<LiquidatorCall[]> {
    const block = await latestBlockNumber(world.provider);
    const calls: LiquidatorCall[] = [];
    for (const borrower of world.info.borrowers) {
      if (calls.length === count) break;
      if ((options.skip ?? []).some((s) => sameAddress(s, borrower.address))) continue;
      const position = await reader.readPosition(borrower.address, block);
      if (calculateAccountData(position).healthFactorWad >= WAD) continue;
      for (const [collateral, debt] of options.only ?? PAIRS) {
        const swapPath = collateral === debt ? '0x' : pathOf(collateral, debt);
        if (swapPath === undefined) continue;
        const outcome = planLiquidation(position, {
          collateralAsset: tokens[collateral],
          debtAsset: tokens[debt],
          debtToCoverUnits: MAX_UINT256,
          liquidator: liquidatorAddress,
        });
        if (outcome.kind !== 'liquidate' || outcome.plan.debtRepaidUnits === 0n) continue;
        const amountOut = swapPath === '0x' ? 0n : await quote(swapPath, outcome.plan.liquidatorCollateralUnits);
        calls.push({
          collateralAsset: tokens[collateral],
          debtAsset: tokens[debt],
          user: borrower.address,
          debtToCoverUnits: exactDebtToCoverUnits(outcome.plan),
          swapPath,
          amountOutMinimumUnits: (amountOut * (100n - SLIPPAGE_PERCENT)) / 100n,
          minProfitUnits: 0n,
          flashLoan: true,
        });
        break;
      }
    }
    return calls;
  }

  function poolLiquidations(logs: readonly Log[]) {
    return logs
      .filter((l) => sameAddress(l.address, world.info.market.pool))
      .map((l) => POOL_IFACE.parseLog(l))
      .filter((e) => e?.name === 'LiquidationCall')
      .map((e) => e!.args);
  }

  async function expectNoAllowances(holder: string, block: number): Promise<void> {
    const spenders = [world.info.market.pool, world.info.dex.swapRouter];
    const allowances = await Promise.all(
      Object.values(tokens).flatMap((token) => spenders.map((spender) => erc20(token).allowance(holder, spender, { blockTag: block }) as Promise<bigint>)),
    );
    expect(allowances).toEqual(allowances.map(() => 0n));
  }

  /**
   * What a mined batch must satisfy: its receipt's outcomes are the simulated ones; each successful item matches
   * the Pool's LiquidationCall event for its borrower (in order), carries the Pool's premium for a flash loan (none
   * from inventory) and the profit its proceeds leave; the contract's balance of each debt asset rose by the sum
   * of that asset's item profits; no allowance is left.
   */
  async function expectMinedBatch(receipt: TransactionReceipt, calls: readonly LiquidatorCall[], simulated: readonly BatchItemOutcome[]): Promise<BatchItemOutcome[]> {
    expect(receipt.status).toBe(1);
    const outcomes = await contract.batchOutcomesIn(receipt.hash);
    expect(outcomes).toEqual(simulated);
    expect(outcomes.map((o) => o.index)).toEqual(calls.map((_c, i) => i));
    const poolEvents = poolLiquidations(receipt.logs);
    const succeeded = outcomes.filter((o) => o.ok);
    expect(poolEvents).toHaveLength(succeeded.length);
    for (const [k, outcome] of succeeded.entries()) {
      const call = calls[outcome.index];
      const pool = poolEvents[k];
      expect(outcome.user).toBe(call.user);
      expect([pool.user, pool.collateralAsset, pool.debtAsset, pool.liquidator]).toEqual([call.user, call.collateralAsset, call.debtAsset, liquidatorAddress]);
      expect(outcome.debtRepaidUnits).toBe(pool.debtToCover);
      expect(outcome.collateralSeizedUnits).toBe(pool.liquidatedCollateralAmount);
      expect(outcome.flashPremiumUnits).toBe(call.flashLoan ? flashLoanPremiumUnits(ruleSet, call.debtToCoverUnits, premiumBps) : 0n);
      const sameAsset = sameAddress(call.collateralAsset, call.debtAsset);
      const proceeds = sameAsset ? outcome.collateralSeizedUnits : outcome.swapAmountOutUnits;
      expect(outcome.profitUnits).toBe(proceeds - outcome.debtRepaidUnits - outcome.flashPremiumUnits);
      expect(outcome.profitUnits).toBeGreaterThanOrEqual(call.minProfitUnits);
      if (!sameAsset) expect(outcome.swapAmountOutUnits).toBeGreaterThanOrEqual(call.amountOutMinimumUnits);
    }
    for (const debtAsset of new Set(calls.map((c) => c.debtAsset))) {
      const [before, after] = await Promise.all([balanceAt(debtAsset, liquidatorAddress, receipt.blockNumber - 1), balanceAt(debtAsset, liquidatorAddress, receipt.blockNumber)]);
      const profits = succeeded.filter((o) => o.ok && sameAddress(calls[o.index].debtAsset, debtAsset)).reduce((sum, o) => sum + (o.ok ? o.profitUnits : 0n), 0n);
      expect(after - before).toBe(profits);
    }
    await expectNoAllowances(liquidatorAddress, receipt.blockNumber);
    return outcomes;
  }

  async function sendBatch(calls: readonly LiquidatorCall[]): Promise<{ receipt: TransactionReceipt; simulated: BatchItemOutcome[] }> {
    const simulation = await contract.simulateBatch(calls, ownerAddress, await latestBlockNumber(world.provider));
    const simulated = okItems(simulation);
    const tx = await owner.sendTransaction({ ...contract.buildBatchTransaction(calls), gasLimit: simulation.kind === 'ok' ? simulation.gasLimit : 0n });
    return { receipt: await pollReceipt(world.provider, tx.hash), simulated };
  }

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 0, services: false });
    await world.provider.send('anvil_setBlockTimestampInterval', [0]);
    owner = new JsonRpcSigner(world.provider, world.info.accounts.liquidators[0]);
    ownerAddress = await owner.getAddress();
    stranger = new JsonRpcSigner(world.provider, world.info.accounts.liquidators[1]);
    strangerAddress = await stranger.getAddress();
    // The owner stocks the contract for inventory items; the keeper's accounts start with ETH only.
    await world.fundAccount(ownerAddress);
    tokens = world.info.tokens as Record<AssetSymbol, string>;
    reader = new AaveV3PositionReader(world.provider, world.info.market.pool, ruleSet);
    premiumBps = (await new Contract(world.info.market.pool, POOL_ABI, world.provider).FLASHLOAN_PREMIUM_TOTAL()) as bigint;
    liquidatorAddress = await (await new Deployer(world.provider, owner).deploy(LIQUIDATOR, [world.info.market.pool, world.info.dex.swapRouter])).getAddress();
    contract = new EthersLiquidatorContract(world.provider, liquidatorAddress);
    // ETH falls 20 % and BTC 16 %: enough accounts become liquidatable for a batch of ten (bench/liquidation-gas.ts).
    await world.setPrice('WETH', (scenario.assets.WETH!.priceUsd * 80n) / 100n);
    await world.setPrice('WBTC', (scenario.assets.WBTC!.priceUsd * 84n) / 100n);
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('refuses a batch from an account it has not authorised, and an empty batch', async () => {
    const calls = await plannedCalls(2);
    expect(calls).toHaveLength(2);
    const block = await latestBlockNumber(world.provider);
    // The same batch passes from the owner: only the caller differs.
    expect(okItems(await contract.simulateBatch(calls, ownerAddress, block)).every((o) => o.ok)).toBe(true);
    const refused = await contract.simulateBatch(calls, strangerAddress, block);
    expect(refused).toMatchObject({ kind: 'revert', reason: `Unauthorized(${strangerAddress})`, revertClass: 'model' });
    expect(await contract.simulateBatch([], ownerAddress, block)).toMatchObject({ kind: 'revert', reason: 'EmptyBatch', revertClass: 'model' });
  });

  it('refuses its per-item entry from anyone but itself, the owner included', async () => {
    const [call] = await plannedCalls(1);
    const asContract = new Contract(liquidatorAddress, LIQUIDATOR.abi as InterfaceAbi, world.provider);
    const p = [call.collateralAsset, call.debtAsset, call.user, call.debtToCoverUnits, call.swapPath, call.amountOutMinimumUnits, call.minProfitUnits];
    for (const [signer, address] of [
      [stranger, strangerAddress],
      [owner, ownerAddress],
    ] as const) {
      for (const flashLoan of [true, false]) {
        const direct = asContract.connect(signer).getFunction('liquidateItem').staticCall(p, flashLoan);
        expect(await revertOf(direct)).toEqual({ name: 'Unauthorized', args: [address] });
      }
    }
  });

  it('reverts the whole batch when an item runs out of gas, and estimates a limit at which every item has enough', async () => {
    const calls = await plannedCalls(2);
    const block = await latestBlockNumber(world.provider);
    const simulation = await contract.simulateBatch(calls, ownerAddress, block);
    expect(okItems(simulation).every((o) => o.ok)).toBe(true);
    const tx = { ...contract.buildBatchTransaction(calls), from: ownerAddress };
    const blockTag = `0x${block.toString(16)}`;
    // A limit that leaves the first item short: not a failed item, the whole call reverts.
    const short = world.provider.send('eth_call', [{ ...tx, gas: '0x186a0' }, blockTag]); // 100,000
    expect(await revertOf(short)).toEqual({ name: 'ItemOutOfGas', args: [0n] });
    // At the bare estimate, every item still goes through (headroom is for the state changing before inclusion).
    if (simulation.kind !== 'ok') throw new Error('unreachable');
    const atEstimate = (await world.provider.send('eth_call', [{ ...tx, gas: `0x${simulation.gasEstimate.toString(16)}` }, blockTag])) as string;
    const [results] = LIQUIDATOR_IFACE.decodeFunctionResult('liquidateBatch', atEstimate) as unknown as [{ ok: boolean }[]];
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(simulation.gasLimit).toBe((simulation.gasEstimate * 12_500n) / 10_000n);
  });

  it('sizes a batch for its items failing in their block: ten items failing at their last guard need more than half again the successful estimate', async () => {
    const calls = await plannedCalls(10);
    expect(calls).toHaveLength(10);
    const block = await latestBlockNumber(world.provider);
    const succeeding = await contract.simulateBatch(calls, ownerAddress, block);
    expect(okItems(succeeding).every((o) => o.ok)).toBe(true);
    if (succeeding.kind !== 'ok') throw new Error('unreachable');
    const failed = jest.fn();
    const worst = await worstCaseGas({ bestEffort: { failed } }, contract, calls, ownerAddress, block);
    expect(failed).not.toHaveBeenCalled();
    expect(worst).toBeDefined();
    // Each failed item rolls back the storage it warmed: the next pays for it cold again.
    expect(worst!.gasEstimate).toBeGreaterThan((succeeding.gasEstimate * 3n) / 2n);

    // The same ten items, every one failing at its profit guard in its block (the pool moved under them, say).
    const failing = { ...contract.buildBatchTransaction(calls.map((c) => ({ ...c, minProfitUnits: 10n ** 40n }))), from: ownerAddress };
    const blockTag = `0x${block.toString(16)}`;
    const run = (gas: bigint) => world.provider.send('eth_call', [{ ...failing, gas: `0x${gas.toString(16)}` }, blockTag]) as Promise<string>;
    // At half again the successful estimate, the limit without the worst case, the whole batch reverts.
    expect(await revertOf(run((succeeding.gasEstimate * 3n) / 2n))).toMatchObject({ name: 'ItemOutOfGas' });
    // At the limit it is now sent with, it goes through, every item reported failed.
    const { gasLimit } = batchGasOf(succeeding, succeeding, undefined, worst);
    const [results] = LIQUIDATOR_IFACE.decodeFunctionResult('liquidateBatch', await run(gasLimit)) as unknown as [{ ok: boolean }[]];
    expect(results.map((r) => r.ok)).toEqual(calls.map(() => false));
  });

  it('mixes flash-loan and inventory items, pairs and borrowers in one transaction; an item below its own profit guard is rolled back alone', async () => {
    const id = await snapshot();
    // The world's WETH borrowers are few: pick one first, then two USDC borrowers among the rest.
    const other = await plannedCalls(1, { only: [['WBTC', 'WETH'], ['WETH', 'WETH']] });
    const ethUsdc = await plannedCalls(1, { only: [['WETH', 'USDC']], skip: other.map((c) => c.user) });
    const btcUsdc = await plannedCalls(1, { only: [['WBTC', 'USDC']], skip: [...other, ...ethUsdc].map((c) => c.user) });
    const cross = [...ethUsdc, ...btcUsdc];
    expect(cross).toHaveLength(2);
    expect(other).toHaveLength(1);
    // Inventory for the second item: exactly what it may repay, on top of nothing the contract held.
    const inventoryItem = { ...cross[1], flashLoan: false };
    await send(owner, inventoryItem.debtAsset, erc20(inventoryItem.debtAsset).interface.encodeFunctionData('transfer', [liquidatorAddress, inventoryItem.debtToCoverUnits]));
    const calls = [cross[0], inventoryItem, other[0]];
    expect(new Set(calls.map((c) => c.user)).size).toBe(3);
    expect(new Set(calls.map((c) => `${c.collateralAsset}/${c.debtAsset}`)).size).toBe(3);

    const block = await latestBlockNumber(world.provider);
    const probe = okItems(await contract.simulateBatch(calls, ownerAddress, block));
    expect(probe.map((o) => o.ok)).toEqual([true, true, true]);
    // Each item's guard is its own minProfit, net of its own premium: one wei more than the first item makes fails it alone.
    const firstProfit = probe[0].ok ? probe[0].profitUnits : 0n;
    const greedy = okItems(await contract.simulateBatch([{ ...calls[0], minProfitUnits: firstProfit + 1n }, calls[1], calls[2]], ownerAddress, block));
    expect(greedy[0]).toEqual({ index: 0, user: calls[0].user, ok: false, reason: `ProfitBelowMinimum(${firstProfit}, ${firstProfit + 1n})`, revertClass: 'market-moved' });
    expect(greedy.slice(1)).toEqual(probe.slice(1));

    // Mined with every item's simulated profit as its minimum.
    const guarded = calls.map((c, i) => ({ ...c, minProfitUnits: probe[i].ok ? probe[i].profitUnits : 0n }));
    const { receipt, simulated } = await sendBatch(guarded);
    const outcomes = await expectMinedBatch(receipt, guarded, simulated);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    expect(outcomes).toEqual(probe);
    await revertTo(id);
  });

  it('liquidates nine of ten accounts in one transaction when someone else liquidated the tenth first, and reports each item', async () => {
    const id = await snapshot();
    const calls = await plannedCalls(10);
    expect(calls).toHaveLength(10);
    const planned = okItems(await contract.simulateBatch(calls, ownerAddress, await latestBlockNumber(world.provider)));
    expect(planned.every((o) => o.ok)).toBe(true);

    // Someone else's contract liquidates the fourth account with the same plan, in an earlier transaction.
    const competitor = await new Deployer(world.provider, stranger).deploy(LIQUIDATOR, [world.info.market.pool, world.info.dex.swapRouter]);
    const lost = 3;
    const c = calls[lost];
    const first = await send(
      stranger,
      await competitor.getAddress(),
      LIQUIDATOR_IFACE.encodeFunctionData('liquidate', [[c.collateralAsset, c.debtAsset, c.user, c.debtToCoverUnits, c.swapPath, 0n, 0n], true]),
    );
    expect(first.status).toBe(1);
    expect(poolLiquidations(first.logs).map((e) => e.user)).toEqual([c.user]);

    const { receipt, simulated } = await sendBatch(calls);
    const outcomes = await expectMinedBatch(receipt, calls, simulated);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(9);
    const failed = outcomes[lost];
    expect(failed).toMatchObject({ index: lost, user: c.user, ok: false, revertClass: 'market-moved' });
    console.log(`Aave ${aave}: batch of 10, one lost to a competitor (${failed.ok ? '' : failed.reason}): ${receipt.gasUsed} gas`);
    await revertTo(id);
  });

  it('on the pending block, sees a batch waiting in the mempool: bounded after it, the next batch goes through behind it; bounded at the read block, it fails', async () => {
    const id = await snapshot();
    const calls = await plannedCalls(7, { only: [['WETH', 'USDC']] });
    expect(calls).toHaveLength(7);
    // Another worker's batch (four WETH sales into the WETH/USDC pool) and ours (three more), both the owner's.
    const [ahead, ours] = [calls.slice(0, 4).map((c) => ({ ...c, amountOutMinimumUnits: 0n })), calls.slice(4).map((c) => ({ ...c, amountOutMinimumUnits: 0n }))];

    /** Sends `ahead` to the mempool, prices `ours` at the read block and on the pending block, mines both in one block. */
    async function race(boundOf: (atBlock: BatchItemOutcome & { ok: true }, pending: BatchItemOutcome) => bigint): Promise<{ outcomes: BatchItemOutcome[]; atBlock: BatchItemOutcome[]; pending: BatchItemOutcome[] }> {
      const block = await latestBlockNumber(world.provider);
      const aheadSimulation = await contract.simulateBatch(ahead, ownerAddress, block);
      await world.provider.send('evm_setAutomine', [false]);
      try {
        await owner.sendTransaction({ ...contract.buildBatchTransaction(ahead), gasLimit: aheadSimulation.kind === 'ok' ? aheadSimulation.gasLimit : 0n });
        const atBlock = okItems(await contract.simulateBatch(ours, ownerAddress, block));
        const pendingSimulation = await contract.simulateBatch(ours, ownerAddress, block, 'pending');
        const pending = okItems(pendingSimulation);
        const bounded = ours.map((c, i) => {
          const item = atBlock[i];
          if (!item.ok) throw new Error(`item ${i} failed at the read block: ${item.reason}`);
          return { ...c, amountOutMinimumUnits: boundOf(item, pending[i]) };
        });
        const tx = await owner.sendTransaction({ ...contract.buildBatchTransaction(bounded), gasLimit: pendingSimulation.kind === 'ok' ? (pendingSimulation.gasLimit * 3n) / 2n : 0n });
        await world.provider.send('evm_mine', []);
        const receipt = await pollReceipt(world.provider, tx.hash);
        expect(receipt.status).toBe(1);
        return { outcomes: await contract.batchOutcomesIn(receipt.hash), atBlock, pending };
      } finally {
        await world.provider.send('evm_setAutomine', [true]);
      }
    }

    // An allowance the sales ahead exceed: they move the pool by more than 0.1 % for each of our items.
    const allowanceBps = 10n;
    const afterAhead = await race((atBlock, pending) => boundAfterSalesAhead(atBlock, pending, allowanceBps));
    // Every item gets less on the pending block than its bound at the read block would let through.
    for (const [i, item] of afterAhead.atBlock.entries()) {
      const pending = afterAhead.pending[i];
      expect(item.ok && pending.ok).toBe(true);
      if (item.ok && pending.ok) expect(pending.swapAmountOutUnits).toBeLessThan(amountOutMinimumOf(item.swapAmountOutUnits, allowanceBps));
    }
    expect(afterAhead.outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    await revertTo(id);

    const id2 = await snapshot();
    const readBlockOnly = await race((atBlock) => amountOutMinimumOf(atBlock.swapAmountOutUnits, allowanceBps));
    expect(readBlockOnly.outcomes.map((o) => (o.ok ? 'ok' : o.reason))).toEqual(['Too little received', 'Too little received', 'Too little received']);
    await revertTo(id2);
  });

  describe('attacked from inside a batch item by a hostile swap router', () => {
    let victim: EthersLiquidatorContract;
    let victimAddress: string;
    let hostile: Contract;
    let hostileAddress: string;
    let calls: LiquidatorCall[];

    beforeAll(async () => {
      const deployer = new Deployer(world.provider, owner);
      hostile = await deployer.deploy(HOSTILE_ROUTER);
      hostileAddress = await hostile.getAddress();
      victimAddress = await (await deployer.deploy(LIQUIDATOR, [world.info.market.pool, hostileAddress])).getAddress();
      victim = new EthersLiquidatorContract(world.provider, victimAddress);
      // The router is even an authorised caller: only the lock and the callback checks stand in its way.
      await send(owner, victimAddress, LIQUIDATOR_IFACE.encodeFunctionData('setCaller', [hostileAddress, true]));
      // Item 0 never reaches the router (same asset, no swap); item 1 sells on it and is attacked.
      const [sameAsset] = await plannedCalls(1, { only: [['WETH', 'WETH']] });
      const [cross] = await plannedCalls(1, { only: [['WETH', 'USDC']], skip: [sameAsset.user] });
      calls = [sameAsset, { ...cross, amountOutMinimumUnits: 0n }];
      // Stock for the attacked item in inventory mode: what it may repay.
      await send(owner, tokens.USDC, erc20(tokens.USDC).interface.encodeFunctionData('transfer', [victimAddress, cross.debtToCoverUnits]));
    });

    /** The batch, simulated with the router armed: item 0 goes through, item 1 fails with the check that stopped the attack. */
    async function attack(payloadTarget: string, payload: string, flashLoan: boolean): Promise<string> {
      await send(owner, hostileAddress, hostile.interface.encodeFunctionData('arm', [payloadTarget, payload]));
      const items = okItems(await victim.simulateBatch([calls[0], { ...calls[1], flashLoan }], ownerAddress, await latestBlockNumber(world.provider)));
      expect(items[0].ok).toBe(true);
      const attacked = items[1];
      if (attacked.ok) throw new Error('the attacked item went through');
      expect(attacked.revertClass).toBe('model');
      return attacked.reason;
    }

    const item = () => [calls[1].collateralAsset, calls[1].debtAsset, calls[1].user, calls[1].debtToCoverUnits, calls[1].swapPath, 0n, 0n];

    it('cannot re-enter liquidateBatch or liquidate, in either mode', async () => {
      const batch = LIQUIDATOR_IFACE.encodeFunctionData('liquidateBatch', [[[item(), false]]]);
      const single = LIQUIDATOR_IFACE.encodeFunctionData('liquidate', [item(), false]);
      for (const flashLoan of [false, true]) {
        expect(await attack(victimAddress, batch, flashLoan)).toBe('Reentrancy');
        expect(await attack(victimAddress, single, flashLoan)).toBe('Reentrancy');
      }
    });

    it('cannot call the per-item entry itself', async () => {
      const direct = LIQUIDATOR_IFACE.encodeFunctionData('liquidateItem', [item(), false]);
      for (const flashLoan of [false, true]) expect(await attack(victimAddress, direct, flashLoan)).toBe(`Unauthorized(${hostileAddress})`);
    });

    it('cannot call executeOperation itself while an item’s flash loan is open', async () => {
      const params = LIQUIDATOR_IFACE.getAbiCoder().encode(['tuple(address,address,address,uint256,bytes,uint256,uint256)'], [item()]);
      const forged = LIQUIDATOR_IFACE.encodeFunctionData('executeOperation', [tokens.USDC, calls[1].debtToCoverUnits, 0n, victimAddress, params]);
      expect(await attack(victimAddress, forged, true)).toBe(`InvalidCallback(${hostileAddress}, ${victimAddress})`);
    });

    it('cannot start a flash loan to it during a batch', async () => {
      const flash = POOL_IFACE.encodeFunctionData('flashLoanSimple', [victimAddress, tokens.USDC, calls[1].debtToCoverUnits, '0x', 0]);
      for (const flashLoan of [false, true]) {
        expect(await attack(world.info.market.pool, flash, flashLoan)).toBe(`InvalidCallback(${world.info.market.pool}, ${hostileAddress})`);
      }
    });

    it('leaves no allowance after a mined batch whose attacked item was rolled back', async () => {
      const batch = LIQUIDATOR_IFACE.encodeFunctionData('liquidateBatch', [[[item(), false]]]);
      await send(owner, hostileAddress, hostile.interface.encodeFunctionData('arm', [victimAddress, batch]));
      const attacked = [calls[0], { ...calls[1], flashLoan: true }];
      const simulation = await victim.simulateBatch(attacked, ownerAddress, await latestBlockNumber(world.provider));
      if (simulation.kind !== 'ok') throw new Error(`the batch reverted: ${simulation.reason}`);
      const tx = await owner.sendTransaction({ ...victim.buildBatchTransaction(attacked), gasLimit: simulation.gasLimit });
      const receipt = await pollReceipt(world.provider, tx.hash);
      expect(receipt.status).toBe(1);
      const outcomes = await victim.batchOutcomesIn(receipt.hash);
      expect(outcomes.map((o) => [o.index, o.ok])).toEqual([
        [0, true],
        [1, false],
      ]);
      expect(outcomes).toEqual(simulation.items);
      const spenders = [world.info.market.pool, hostileAddress];
      const allowances = await Promise.all(
        Object.values(tokens).flatMap((token) => spenders.map((spender) => erc20(token).allowance(victimAddress, spender, { blockTag: receipt.blockNumber }) as Promise<bigint>)),
      );
      expect(allowances).toEqual(allowances.map(() => 0n));
    });
  });
});
