/**
 * Reacting to a price update before it is mined, on the `default` local world (Aave v3.6, automine paused by the
 * test): PendingPriceUpdates must see the deployer's pending feed updates in anvil's mempool with their answers,
 * fees and signed bytes, and reads through `withStateOverride(provider, priceOverride(…))` at the current block
 * must predict what the chain reports once the updates are mined: every borrower's health (AaveV3HealthScanner),
 * the same accounts below 1, the oracle lens's readings, AaveOracle's price. The updates are mined with
 * `evm_setNextBlockTimestamp` = the current block's timestamp, so the prediction and the mined block see the same
 * time and no interest accrues between them; the comparison is then exact.
 */
import { Contract, JsonRpcSigner, keccak256, type JsonRpcProvider, Transaction } from 'ethers';
import { AaveV3HealthScanner, type HealthScanResult } from '../../functions/adapters/chain/health-scan';
import { AaveV3OracleLensReader } from '../../functions/adapters/chain/aave-v3-oracle-lens-reader';
import { PendingPriceUpdates } from '../../functions/adapters/chain/pending-price-updates';
import { mergeOverrides, priceOverride, withStateOverride } from '../../functions/adapters/chain/price-override';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { loadScenario } from '../../local/world/scenario';
import { ACCOUNTS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';

jest.setTimeout(120_000);

const WAD = 10n ** 18n;
const GWEI = 10n ** 9n;
const FEED_ABI = [
  'function setPrice(int256 answer)',
  'function setRoundData(int256 answer, uint256 updatedAt)',
  'function latestAnswer() view returns (int256)',
  'function latestRound() view returns (uint256)',
  'function latestTimestamp() view returns (uint256)',
  'function decimals() view returns (uint8)',
  'function description() view returns (string)',
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
  'function getRoundData(uint80 roundId) view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
  'error NoDataPresent(uint80 roundId)',
];
const AAVE_ORACLE_ABI = ['function getAssetPrice(address asset) view returns (uint256)', 'function getSourceOfAsset(address asset) view returns (address)'];
/** The ETH shock of the default scenario: $3,000 → $2,550. */
const WETH_AFTER = 2_550_00000000n;
/** Where the test installs a stand-in for an EACAggregatorProxy: code answering every call with one address word. */
const PROXY_LIKE = '0x00000000000000000000000000000000000a99e0';

function proxyLikeCode(aggregator: string): string {
  // PUSH20 aggregator; PUSH1 0; MSTORE; PUSH1 32; PUSH1 0; RETURN
  return `0x73${aggregator.slice(2).toLowerCase()}60005260206000f3`;
}

function liquidatable(scan: HealthScanResult): string[] {
  return scan.accounts.filter((a) => a.healthFactorWad < WAD).map((a) => a.user).sort();
}

describe('pending price updates on the local world', () => {
  let world: World;
  let provider: JsonRpcProvider;

  beforeAll(async () => {
    world = await startWorld({ scenario: loadScenario('default'), blockTimeSec: 0, services: false, resourcePrefix: 'it-pending-price' });
    provider = world.provider;
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('sees pending feed updates, and reads through the override what the chain reports once they are mined', async () => {
    // Arrange: the feeds AaveOracle reads, resolved to where their updates are sent, watched from the next poll.
    const { WETH, WBTC } = world.info.tokens;
    const oracle = new Contract(world.info.market.aaveOracle, AAVE_ORACLE_ABI, provider);
    const wethSource = (await oracle.getSourceOfAsset(WETH)) as string;
    const wbtcSource = (await oracle.getSourceOfAsset(WBTC)) as string;
    expect([wethSource, wbtcSource]).toEqual([world.info.feeds.WETH, world.info.feeds.WBTC]);
    await provider.send('anvil_setCode', [PROXY_LIKE, proxyLikeCode(wethSource)]);
    const watcher = new PendingPriceUpdates(provider);
    const head = await latestBlockNumber(provider);
    const { resolved, rpcCalls: resolveCalls } = await watcher.resolveAggregators([wethSource, wbtcSource, PROXY_LIKE], head);
    expect(resolved).toEqual([
      { source: wethSource, target: wethSource, via: 'self' },
      { source: wbtcSource, target: wbtcSource, via: 'self' },
      { source: expect.stringMatching(new RegExp(`^${PROXY_LIKE}$`, 'i')), target: wethSource, via: 'aggregator' },
    ]);
    expect(resolveCalls).toBe(3);
    watcher.watch(new Map([[wethSource.toLowerCase(), [WETH]], [wbtcSource.toLowerCase(), [WBTC]]]));
    expect(await watcher.poll()).toMatchObject({ updates: [], filter: 'created', rpcCalls: 2 });

    const headBlock = (await provider.getBlock(head))!;
    const wethFeed = new Contract(wethSource, FEED_ABI, provider);
    const wbtcFeed = new Contract(wbtcSource, FEED_ABI, provider);
    const wethRound = (await wethFeed.latestRound({ blockTag: head })) as bigint;
    const wbtcRound = (await wbtcFeed.latestRound({ blockTag: head })) as bigint;
    const wbtcAnswer = (await wbtcFeed.latestAnswer({ blockTag: head })) as bigint;
    const wbtcUpdatedAt = BigInt(headBlock.timestamp) - 600n;
    const borrowers = world.info.borrowers.map((b) => b.address);

    // Act 1: two updates wait in the mempool: ETH falls 15% (type 2), and WBTC's round is re-stamped (legacy).
    await provider.send('evm_setAutomine', [false]);
    let ethHash: string;
    let btcHash: string;
    try {
      const deployer = new JsonRpcSigner(provider, ACCOUNTS.deployer);
      ethHash = await deployer.sendUncheckedTransaction({
        to: wethSource,
        data: wethFeed.interface.encodeFunctionData('setPrice', [WETH_AFTER]),
        type: 2,
        maxFeePerGas: 50n * GWEI,
        maxPriorityFeePerGas: 2n * GWEI,
        gasLimit: 100_000n,
      });
      btcHash = await deployer.sendUncheckedTransaction({
        to: wbtcSource,
        data: wbtcFeed.interface.encodeFunctionData('setRoundData', [wbtcAnswer, wbtcUpdatedAt]),
        type: 0,
        gasPrice: 40n * GWEI,
        gasLimit: 100_000n,
      });
    } catch (err) {
      await provider.send('evm_setAutomine', [true]);
      throw err;
    }
    const poll = await watcher.poll();

    // Assert 1: both seen, decoded, priced and rebuilt byte for byte.
    expect(await latestBlockNumber(provider)).toBe(head);
    expect(poll).toMatchObject({ hashes: 2, mined: 0, gone: 0, filter: 'existing', rpcCalls: 3 });
    const eth = poll.updates.find((u) => u.txHash === ethHash)!;
    const btc = poll.updates.find((u) => u.txHash === btcHash)!;
    expect(eth).toMatchObject({
      kind: 'answer',
      method: 'setPrice',
      answer: WETH_AFTER,
      updatedAt: { kind: 'inclusion-block' },
      from: ACCOUNTS.deployer,
      to: wethSource,
      assets: [WETH],
      gasLimit: 100_000n,
      fees: { kind: 'eip1559', maxFeePerGas: 50n * GWEI, maxPriorityFeePerGas: 2n * GWEI },
    });
    expect(btc).toMatchObject({
      kind: 'answer',
      method: 'setRoundData',
      answer: wbtcAnswer,
      updatedAt: { kind: 'explicit', sec: wbtcUpdatedAt },
      nonce: eth.nonce + 1,
      to: wbtcSource,
      assets: [WBTC],
      fees: { kind: 'legacy', gasPrice: 40n * GWEI },
    });
    for (const update of [eth, btc]) {
      if (update.raw.kind !== 'signed') throw new Error(`raw transaction of ${update.txHash} unavailable: ${update.raw.reason}`);
      expect(keccak256(update.raw.serialized)).toBe(update.txHash);
      // The legacy one too carries the chain id (EIP-155), rebuilt from anvil's v.
      expect(Transaction.from(update.raw.serialized)).toMatchObject({ from: ACCOUNTS.deployer, chainId: BigInt(world.info.chainId) });
    }

    // Act 2: predict, at the current block, through the overrides the updates imply.
    const override = mergeOverrides(
      priceOverride({ feed: wethSource, answer: WETH_AFTER, decimals: 8, updatedAtSec: BigInt(headBlock.timestamp), roundId: wethRound + 1n }),
      priceOverride({ feed: wbtcSource, answer: wbtcAnswer, decimals: 8, updatedAtSec: wbtcUpdatedAt, roundId: wbtcRound + 1n }),
    );
    const predicting = withStateOverride(provider, override);
    const fallbacks: string[] = [];
    const before = await new AaveV3HealthScanner(provider, world.info.market.pool).scan(borrowers, head);
    const predicted = await new AaveV3HealthScanner(predicting, world.info.market.pool, { onFallback: (r) => fallbacks.push(r) }).scan(borrowers, head);
    const predictedOracle = await new AaveV3OracleLensReader(predicting, world.info.market.pool).readAt(head);
    const predictedPrice = (await new Contract(world.info.market.aaveOracle, AAVE_ORACLE_ABI, predicting).getAssetPrice(WETH, { blockTag: head })) as bigint;
    const overriddenFeed = new Contract(wethSource, FEED_ABI, predicting);
    const round = await overriddenFeed.latestRoundData({ blockTag: head });
    const feedView = {
      latestAnswer: await overriddenFeed.latestAnswer({ blockTag: head }),
      latestRound: await overriddenFeed.latestRound({ blockTag: head }),
      latestTimestamp: await overriddenFeed.latestTimestamp({ blockTag: head }),
      decimals: await overriddenFeed.decimals({ blockTag: head }),
      description: await overriddenFeed.description({ blockTag: head }),
      round: [...round],
      sameRound: [...(await overriddenFeed.getRoundData(wethRound + 1n, { blockTag: head }))],
    };
    const otherRound = await overriddenFeed.getRoundData(wethRound, { blockTag: head }).catch((err: unknown) => err);
    // getRoundData exists only in ConstantFeed (SettablePriceFeed has none): its estimate succeeds only through the override.
    const getRoundData = { to: wethSource, data: wethFeed.interface.encodeFunctionData('getRoundData', [wethRound + 1n]) };
    const estimated = await predicting.estimateGas(getRoundData);
    const estimatedWithoutOverride = await provider.estimateGas(getRoundData).catch((err: unknown) => err);

    // Act 3: mine the updates at the same timestamp, and read the chain.
    await provider.send('evm_setNextBlockTimestamp', [headBlock.timestamp]);
    await provider.send('evm_mine', []);
    await provider.send('evm_setAutomine', [true]);
    const mined = head + 1;
    for (const hash of [ethHash, btcHash]) expect(await pollReceipt(provider, hash)).toMatchObject({ status: 1, blockNumber: mined });
    expect((await provider.getBlock(mined))!.timestamp).toBe(headBlock.timestamp);
    const actual = await new AaveV3HealthScanner(provider, world.info.market.pool).scan(borrowers, mined);
    const actualOracle = await new AaveV3OracleLensReader(provider, world.info.market.pool).readAt(mined);
    const actualPrice = (await oracle.getAssetPrice(WETH, { blockTag: mined })) as bigint;
    const actualRound = [...(await wethFeed.latestRoundData({ blockTag: mined }))];
    predicting.destroy();

    // Assert 2: the prediction is the chain's answer.
    expect(fallbacks).toEqual([]);
    expect(predicted.mode).toBe('lens-override');
    expect(predicted.unreadable).toEqual([]);
    expect(predicted.accounts).toEqual(actual.accounts);
    expect(liquidatable(predicted)).toEqual(liquidatable(actual));
    // …and the update matters: it makes accounts liquidatable that were not.
    expect(liquidatable(actual).length).toBeGreaterThan(liquidatable(before).length);
    expect(predictedOracle).toEqual({ ...actualOracle, block: head });
    expect(predictedPrice).toBe(WETH_AFTER);
    expect(actualPrice).toBe(WETH_AFTER);
    expect(round.toArray()).toEqual(actualRound);
    expect(feedView).toEqual({
      latestAnswer: WETH_AFTER,
      latestRound: wethRound + 1n,
      latestTimestamp: BigInt(headBlock.timestamp),
      decimals: 8n,
      description: '',
      round: [wethRound + 1n, WETH_AFTER, BigInt(headBlock.timestamp), BigInt(headBlock.timestamp), wethRound + 1n],
      sameRound: [wethRound + 1n, WETH_AFTER, BigInt(headBlock.timestamp), BigInt(headBlock.timestamp), wethRound + 1n],
    });
    expect(otherRound).toMatchObject({ code: 'CALL_EXCEPTION', revert: { name: 'NoDataPresent', args: [wethRound] } });
    expect(estimated).toBeGreaterThan(21_000n);
    expect(estimatedWithoutOverride).toMatchObject({ code: 'CALL_EXCEPTION' });
  });

  it('reports a mined update as mined, not pending, and a re-created filter after the node dropped it', async () => {
    // Arrange
    const watcher = new PendingPriceUpdates(provider);
    watcher.watch(new Map([[world.info.feeds.WETH.toLowerCase(), [world.info.tokens.WETH]]]));
    await watcher.poll();
    const deployer = new JsonRpcSigner(provider, ACCOUNTS.deployer);
    const feed = new Contract(world.info.feeds.WETH, FEED_ABI, deployer);

    // Act: automine is back on, so the update is mined before the poll fetches it.
    const tx = await feed.getFunction('setPrice').send(2_600_00000000n);
    await pollReceipt(provider, tx.hash);
    const afterMined = await watcher.poll();
    // The node drops the filter (anvil expires one after 5 unpolled minutes; removing it is the same to a client).
    await provider.send('eth_uninstallFilter', [(watcher as unknown as { filterId: string }).filterId]);
    const afterDropped = await watcher.poll();

    // Assert
    expect(afterMined).toMatchObject({ updates: [], hashes: 1, mined: 1, filter: 'existing' });
    expect(afterDropped).toMatchObject({ updates: [], filter: 'recreated', rpcCalls: 3 });
  });
});
