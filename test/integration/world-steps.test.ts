/**
 * Scenario steps on a running world: a step moving two assets lands both oracle prices (and the arbitrage of
 * every pool holding them) in ONE block, and a gas step holds the chain's base fee from its block until the next
 * gas step, through anvil's EIP-1559 drift, while the world's own transactions and keeper-priced ones still land.
 */
import { Contract, parseUnits, toQuantity } from 'ethers';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(180_000);

const ORACLE_ABI = ['function getAssetPrice(address asset) view returns (uint256)'];
const gwei = (n: number) => parseUnits(String(n), 'gwei');
const usd = (n: number) => BigInt(n) * 10n ** 8n;

describe('scenario steps on a running world (1 s blocks, same-block price updates)', () => {
  const scenario: Scenario = {
    ...loadScenario('default'),
    shocks: [
      { afterBlocks: 2, prices: { WETH: usd(2_550), WBTC: usd(50_000) }, baseFeeWei: gwei(60) },
      { afterBlocks: 8, prices: {}, baseFeeWei: gwei(10) },
    ],
  };
  let world: World;
  const lines: string[] = [];
  let lastStepBlock = 0;

  const baseFeeAt = async (block: number) => BigInt(((await world.provider.send('eth_getBlockByNumber', [toQuantity(block), false])) as { baseFeePerGas: string }).baseFeePerGas);
  const waitForBlock = async (block: number) => {
    while ((await latestBlockNumber(world.provider)) < block) await new Promise((resolve) => setTimeout(resolve, 200));
  };

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 1, services: false });
    lastStepBlock = await world.runShocks((line) => lines.push(line)).done;
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('lands both prices of a step in one block, with the swaps of every pool holding them, and says so', async () => {
    // Arrange
    const stepBlock = Number(/\(block (\d+)\)/.exec(lines[0])![1]);
    const oracle = new Contract(world.info.market.aaveOracle, ORACLE_ABI, world.provider);
    const priceAt = async (asset: 'WETH' | 'WBTC', block: number) => (await oracle.getAssetPrice(world.info.tokens[asset], { blockTag: block })) as bigint;

    // Act
    const before = [await priceAt('WETH', stepBlock - 1), await priceAt('WBTC', stepBlock - 1)];
    const after = [await priceAt('WETH', stepBlock), await priceAt('WBTC', stepBlock)];
    const swapBlocks = await Promise.all(
      world.info.dex.pools.map(async (pool) => (await world.provider.getLogs({ address: pool.address, fromBlock: world.info.startBlock, toBlock: stepBlock })).map((l) => l.blockNumber)),
    );

    // Assert
    expect(lines[0]).toBe(`shock: WETH → $2,550, WBTC → $50,000, base fee 60 gwei (block ${stepBlock})`);
    expect(before).toEqual([scenario.assets.WETH!.priceUsd, scenario.assets.WBTC!.priceUsd]);
    expect(after).toEqual([usd(2_550), usd(50_000)]);
    // All three pools hold WETH or WBTC and each pair's price ratio moved: each was swapped to the new prices in the step's block and not before.
    expect(swapBlocks).toEqual(world.info.dex.pools.map(() => [stepBlock]));
  });

  it('holds the base fee from a gas step until the next one, then holds that one', async () => {
    // Arrange: the first step's block to the second's, and five blocks after it.
    const firstBlock = Number(/\(block (\d+)\)/.exec(lines[0])![1]);
    expect(lines[1]).toBe(`shock: base fee 10 gwei (block ${lastStepBlock})`);
    await waitForBlock(lastStepBlock + 5);

    // Act
    const held = await Promise.all(Array.from({ length: lastStepBlock - firstBlock }, (_, i) => baseFeeAt(firstBlock + i)));
    const after = await Promise.all(Array.from({ length: 6 }, (_, i) => baseFeeAt(lastStepBlock + i)));

    // Assert: at least six blocks at 60 gwei (anvil alone would have let it fall 12.5 % a block), then 10 gwei.
    expect(held.length).toBeGreaterThanOrEqual(6);
    expect(held).toEqual(held.map(() => gwei(60)));
    expect(after).toEqual(after.map(() => gwei(10)));
    expect(await baseFeeAt(firstBlock - 1)).toBeLessThan(gwei(10));
  });

  it('mines the world\'s own transactions and one priced as the keeper prices it under a sixfold base fee', async () => {
    // Arrange: the base fee six times the one held now.
    await world.holdBaseFee(gwei(60));
    await waitForBlock((await latestBlockNumber(world.provider)) + 2);
    const trader = (await world.provider.send('eth_accounts', []) as string[])[6];

    // Act: a feed update with its arbitrage (anvil prices these at the next base fee + 1 gwei), funding (ethers'
    // 2 × base fee + tip), and a keeper-priced transfer: 2 × the next base fee eth_feeHistory reports + tip.
    const priceBlock = await world.setPrice('WETH', usd(2_500));
    await world.fundAccount(trader);
    const history = (await world.provider.send('eth_feeHistory', [toQuantity(1), 'latest', []])) as { baseFeePerGas: string[] };
    const nextBaseFeeWei = BigInt(history.baseFeePerGas[1]);
    const hash = (await world.provider.send('eth_sendTransaction', [
      { type: '0x2', from: trader, to: trader, value: '0x0', gas: toQuantity(21_000), maxFeePerGas: toQuantity(2n * nextBaseFeeWei + gwei(1)), maxPriorityFeePerGas: toQuantity(gwei(1)) },
    ])) as string;
    const receipt = await pollReceipt(world.provider, hash);

    // Assert
    expect(await baseFeeAt(priceBlock)).toBe(gwei(60));
    expect(receipt.status).toBe(1);
    expect(await baseFeeAt(receipt.blockNumber)).toBe(gwei(60));
  });
});
