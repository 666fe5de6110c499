/**
 * The world's 'mempool' price updates on anvil with 1 s interval mining and `--order fees`: setPrice leaves the
 * feed update pending until the next interval block, resolves with the block it was mined in, and the arbitrage
 * swaps behind it put the pools at the new price by the end of that same block. A transaction sent while the
 * update waits, priced exactly like it, lands right behind it in its block, ahead of the arbitrage; one paying
 * more lands ahead of it. Also pins how anvil 1.7.1 orders by fee (measured): by maxFeePerGas, ties by arrival,
 * the priority fee playing no part.
 */
import { Contract, parseUnits, toQuantity, type TransactionReceipt } from 'ethers';
import { pollReceipt } from '../../functions/adapters/chain/provider';
import { readPoolState } from '../../local/world/dex';
import { ASSET_DECIMALS, loadScenario, type Scenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';
import { justAfterABlock, waitForPendingUpdate } from './support';

jest.setTimeout(180_000);

/** anvil dev accounts 6, 8 and 7 (the operator treasury, idle here): plain ETH transfers of the test's own. */
const FOLLOWER = '0x976EA74026E726554dB657fA54763abd0C3a0aa9';
const OTHER = '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f';
const LATECOMER = '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955';
const FEED_ABI = ['function latestAnswer() view returns (int256)'];
const gwei = (n: number) => parseUnits(String(n), 'gwei');
const usd = (n: number) => BigInt(Math.round(n * 1e8));

/** Price of token0 in token1, raw units, from a sqrtPriceX96 (float: compared within one tick). */
function rawPriceFromSqrt(sqrtPriceX96: bigint): number {
  const sqrt = Number(sqrtPriceX96) / 2 ** 96;
  return sqrt * sqrt;
}
const ONE_TICK = 1e-4;

async function sendTransfer(world: World, from: string, fees: { maxFeePerGasWei: bigint; maxPriorityFeePerGasWei: bigint }): Promise<string> {
  return (await world.provider.send('eth_sendTransaction', [
    {
      type: '0x2',
      from,
      to: from,
      value: '0x1',
      gas: toQuantity(21_000),
      maxFeePerGas: toQuantity(fees.maxFeePerGasWei),
      maxPriorityFeePerGas: toQuantity(fees.maxPriorityFeePerGasWei),
    },
  ])) as string;
}

describe("local world with 'mempool' price updates (1 s blocks, anvil --order fees)", () => {
  const scenario: Scenario = { ...loadScenario('default'), shocks: [] };
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 1, services: false, priceUpdates: 'mempool' });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('refuses automine, where nothing can wait in the mempool', async () => {
    await expect(startWorld({ scenario, blockTimeSec: 0, services: false, priceUpdates: 'mempool' })).rejects.toThrow(
      "priceUpdates 'mempool' needs interval mining (blockTimeSec > 0)",
    );
  });

  it('says so in WorldInfo', () => {
    expect(world.info.priceUpdates).toEqual({ mode: 'mempool', priorityFeeWei: gwei(3).toString() });
  });

  it('keeps the update pending until the next block; an equal-priced follower lands right behind it, ahead of the arbitrage; a higher-paying one ahead of it', async () => {
    // Arrange
    const newPrice = usd(2_700);
    const headBefore = await justAfterABlock(world);

    // Act
    const settled = world.setPrice('WETH', newPrice);
    const update = await waitForPendingUpdate(world, 'WETH');
    const follower = await sendTransfer(world, FOLLOWER, update);
    const ahead = await sendTransfer(world, OTHER, {
      maxFeePerGasWei: update.maxFeePerGasWei + gwei(1),
      maxPriorityFeePerGasWei: update.maxPriorityFeePerGasWei + gwei(1),
    });
    const stillPending = (await world.provider.send('eth_getTransactionByHash', [update.hash])) as { blockNumber: string | null };
    const updateBlock = await settled;

    // Assert: pending while the block was open, then mined in the block setPrice resolved with
    expect(stillPending.blockNumber).toBeNull();
    expect(update.maxPriorityFeePerGasWei).toBe(gwei(3));
    const [updateReceipt, followerReceipt, aheadReceipt] = await Promise.all([update.hash, follower, ahead].map((h) => pollReceipt(world.provider, h)));
    expect(updateReceipt.status).toBe(1);
    expect(updateReceipt.blockNumber).toBe(updateBlock);
    expect(updateBlock).toBe(headBefore + 1);
    // Fee order within the block
    expect(followerReceipt.blockNumber).toBe(updateBlock);
    expect(aheadReceipt.blockNumber).toBe(updateBlock);
    expect(aheadReceipt.index).toBeLessThan(updateReceipt.index);
    expect(followerReceipt.index).toBe(updateReceipt.index + 1);
    // The arbitrage (lower fees) comes after the follower, in the same block
    const block = await world.provider.getBlock(updateBlock, true);
    const arbitrage = block!.prefetchedTransactions.filter((tx) => tx.from === world.info.accounts.arbitrageur);
    expect(arbitrage.length).toBeGreaterThan(0);
    for (const tx of arbitrage) expect(tx.index).toBeGreaterThan(followerReceipt.index);
    // The oracle and every WETH pool at the new price by the end of the update's block
    const feed = new Contract(world.info.feeds.WETH!, FEED_ABI, world.provider);
    expect(await feed.getFunction('latestAnswer').staticCall({ blockTag: updateBlock - 1 })).toBe(scenario.assets.WETH!.priceUsd);
    expect(await feed.getFunction('latestAnswer').staticCall({ blockTag: updateBlock })).toBe(newPrice);
    const prices: Record<string, bigint> = { WETH: newPrice, USDC: scenario.assets.USDC!.priceUsd, WBTC: scenario.assets.WBTC!.priceUsd };
    const wethPools = world.info.dex.pools.filter((p) => p.symbol0 === 'WETH' || p.symbol1 === 'WETH');
    expect(wethPools.length).toBeGreaterThan(0);
    for (const pool of wethPools) {
      const { sqrtPriceX96 } = await readPoolState(world.provider, pool.address, updateBlock);
      const expected = (Number(prices[pool.symbol0]) / Number(prices[pool.symbol1])) * 10 ** (ASSET_DECIMALS[pool.symbol1] - ASSET_DECIMALS[pool.symbol0]);
      expect(Math.abs(rawPriceFromSqrt(sqrtPriceX96) / expected - 1)).toBeLessThan(ONE_TICK);
    }
  });

  it('anvil 1.7.1 orders by maxFeePerGas, then arrival, whatever the priority fee: a lower tip at a higher max fee lands ahead of the update, and of two at its max fee the first sent lands first', async () => {
    // Arrange
    await justAfterABlock(world);

    // Act: a builder ordering by effective priority fee would put `equalTip` ahead of `lowTipFirst` and both
    // behind the update, and `lowTipHigherMax` (1 gwei) behind all three
    const settled = world.setPrice('WETH', usd(2_600));
    const update = await waitForPendingUpdate(world, 'WETH');
    const lowTipFirst = await sendTransfer(world, FOLLOWER, { maxFeePerGasWei: update.maxFeePerGasWei, maxPriorityFeePerGasWei: gwei(1) });
    const equalTip = await sendTransfer(world, OTHER, update);
    const lowTipHigherMax = await sendTransfer(world, LATECOMER, { maxFeePerGasWei: update.maxFeePerGasWei + 1n, maxPriorityFeePerGasWei: gwei(1) });
    const updateBlock = await settled;

    // Assert
    const receipts: TransactionReceipt[] = await Promise.all([update.hash, lowTipFirst, equalTip, lowTipHigherMax].map((h) => pollReceipt(world.provider, h)));
    for (const r of receipts) expect(r.blockNumber).toBe(updateBlock);
    expect(receipts.map((r) => r.index)).toEqual([1, 2, 3, 0].map((i) => receipts[3].index + i));
  });

  it('runShocks goes through the mempool too and reports the update block', async () => {
    // Arrange: the world's runShocks reads the scenario it was started with; a shock two blocks after the start is due
    scenario.shocks = [{ afterBlocks: 2, prices: { WBTC: usd(57_000) } }];

    // Act
    const lines: string[] = [];
    const lastBlock = await world.runShocks((line) => lines.push(line)).done;

    // Assert
    const feed = new Contract(world.info.feeds.WBTC!, FEED_ABI, world.provider);
    expect(await feed.getFunction('latestAnswer').staticCall({ blockTag: lastBlock - 1 })).toBe(scenario.assets.WBTC!.priceUsd);
    expect(await feed.getFunction('latestAnswer').staticCall({ blockTag: lastBlock })).toBe(usd(57_000));
    expect(lines).toEqual([`shock: WBTC → $57,000 (block ${lastBlock})`]);
  });
});
