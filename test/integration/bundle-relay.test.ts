/**
 * The Flashbots adapter (functions/adapters/chain/flashbots-bundle-relay.ts) against the local stand-in relay
 * (local/relay/bundle-relay-server.ts) in front of a world whose price updates wait in a fee-ordered mempool
 * (1 s blocks): a bundle [pending oracle update, our transaction priced like it] lands in its target block in
 * that order; a bundle a fee-ordered builder would reorder, one for a mined block and a bad signature are refused;
 * a bundle for a later block is held and forwarded when the block before it is mined.
 */
import { BaseWallet, SigningKey, Wallet } from 'ethers';
import { BundleRelayError, FlashbotsBundleRelay } from '../../functions/adapters/chain/flashbots-bundle-relay';
import { latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { type BundleRelayServer, startBundleRelay } from '../../local/relay/bundle-relay-server';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { LOCAL_LIQUIDATOR_KEYS } from '../../local/world/seed';
import { startWorld, type World } from '../../local/world/world';
import { justAfterABlock, waitForPendingUpdate } from './support';

jest.setTimeout(180_000);

/** The relay's identity key: signs requests only, holds nothing. */
const AUTH_KEY = '0x8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f';
const GWEI = 1_000_000_000n;
const usd = (n: number) => BigInt(Math.round(n * 1e8));

describe('bundle relay stand-in behind the Flashbots adapter (mempool price updates, 1 s blocks)', () => {
  const scenario: Scenario = { ...loadScenario('default'), shocks: [] };
  /** The keeper's account (liquidator 0), sending a plain transfer where a liquidation would go. */
  const keeper = new Wallet(LOCAL_LIQUIDATOR_KEYS[0]);
  const authSigner = new BaseWallet(new SigningKey(AUTH_KEY));
  let world: World;
  let relay: BundleRelayServer;
  let adapter: FlashbotsBundleRelay;

  /** Our transaction, signed, with the fees given (a transfer to ourselves: 21,000 gas). */
  async function ourTransaction(fees: { maxFeePerGasWei: bigint; maxPriorityFeePerGasWei: bigint }): Promise<string> {
    return keeper.signTransaction({
      type: 2,
      chainId: BigInt(world.info.chainId),
      nonce: await world.provider.getTransactionCount(keeper.address, 'pending'),
      to: keeper.address,
      value: 1n,
      gasLimit: 21_000n,
      maxFeePerGas: fees.maxFeePerGasWei,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGasWei,
    });
  }

  beforeAll(async () => {
    world = await startWorld({ scenario, blockTimeSec: 1, services: false, priceUpdates: 'mempool' });
    relay = await startBundleRelay({ upstreamRpcUrl: world.info.rpcUrl });
    adapter = new FlashbotsBundleRelay({ url: relay.url, authSigner });
  });

  afterAll(async () => {
    await relay?.stop();
    await world?.stop();
  });

  it('lands [pending update, ours priced like it] in the target block, in that order', async () => {
    // Arrange
    const head = await justAfterABlock(world);
    const settled = world.setPrice('WETH', usd(2_700));
    const update = await waitForPendingUpdate(world, 'WETH');
    const ours = await ourTransaction(update);

    // Act
    const { bundleHash } = await adapter.sendBundle({ txs: [update.raw, ours], blockNumber: head + 1 });
    const outcome = await relay.outcomeOf(bundleHash);

    // Assert
    expect(outcome).toEqual({ landed: true });
    const updateBlock = await settled;
    expect(updateBlock).toBe(head + 1);
    const bundle = relay.bundles.find((b) => b.bundleHash === bundleHash)!;
    expect(bundle).toMatchObject({ signer: authSigner.address, blockNumber: head + 1, receivedAtBlock: head });
    const [updateReceipt, ourReceipt] = await Promise.all(bundle.txHashes.map((h) => pollReceipt(world.provider, h)));
    expect(updateReceipt.hash).toBe(update.hash);
    expect(ourReceipt.blockNumber).toBe(updateBlock);
    expect(ourReceipt.index).toBe(updateReceipt.index + 1);
  });

  it('refuses bundles a fee-ordered block would not hold in order, and one for a mined block', async () => {
    // Arrange
    const head = await justAfterABlock(world);
    const settled = world.setPrice('WETH', usd(2_600));
    const update = await waitForPendingUpdate(world, 'WETH');
    const accepted = relay.bundles.length;
    const payingMore = await ourTransaction({ maxFeePerGasWei: update.maxFeePerGasWei + GWEI, maxPriorityFeePerGasWei: update.maxPriorityFeePerGasWei + GWEI });
    // Same tip, a higher max fee: a builder keeps the order (equal effective tip), anvil would not.
    const higherMaxFee = await ourTransaction({ maxFeePerGasWei: update.maxFeePerGasWei + GWEI, maxPriorityFeePerGasWei: update.maxPriorityFeePerGasWei });
    const equal = await ourTransaction(update);

    // Act
    const outbid = adapter.sendBundle({ txs: [update.raw, payingMore], blockNumber: head + 1 });
    const anvilWouldReorder = adapter.sendBundle({ txs: [update.raw, higherMaxFee], blockNumber: head + 1 });
    const late = adapter.sendBundle({ txs: [update.raw, equal], blockNumber: head });

    // Assert
    await expect(outbid).rejects.toThrow(
      new RegExp(`relay refused it \\(HTTP 200, code -32000\\): a fee-ordered builder would not keep this order: txs\\[1\\] \\(0x[0-9a-f]{64}\\) pays an effective priority fee of ${update.maxPriorityFeePerGasWei + GWEI} wei/gas, more than txs\\[0\\] \\(${update.hash}\\) at ${update.maxPriorityFeePerGasWei}`),
    );
    await expect(anvilWouldReorder).rejects.toThrow('this node would not keep this order: anvil sorts its mempool by maxFeePerGas');
    await expect(late).rejects.toThrow(`bundle for block ${head}, but block ${head} is already mined`);
    await expect(outbid).rejects.toMatchObject({ retryable: false, rpcCode: -32000 });
    expect(relay.bundles).toHaveLength(accepted);
    await settled;
  });

  it('refuses a bad or missing signature with HTTP 403, as Flashbots does', async () => {
    // Arrange: a signer claiming another address than the key that signs
    const impostor = new FlashbotsBundleRelay({ url: relay.url, authSigner: { address: keeper.address, signMessage: (m) => authSigner.signMessage(m) } });
    const head = await latestBlockNumber(world.provider);
    const ours = await ourTransaction({ maxFeePerGasWei: 10n * GWEI, maxPriorityFeePerGasWei: GWEI });
    const accepted = relay.bundles.length;

    // Act
    const forged = impostor.sendBundle({ txs: [ours], blockNumber: head + 1 });
    const unsigned = await fetch(relay.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendBundle', params: [{ txs: [ours], blockNumber: `0x${(head + 1).toString(16)}` }] }),
    });

    // Assert
    await expect(forged).rejects.toThrow('relay refused it (HTTP 403, code -32025): invalid flashbots signature');
    await expect(forged).rejects.toBeInstanceOf(BundleRelayError);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32025, message: 'missing X-Flashbots-Signature header' } });
    expect(relay.bundles).toHaveLength(accepted);
    expect(await world.provider.getTransactionCount(keeper.address, 'pending')).toBe(await world.provider.getTransactionCount(keeper.address, 'latest'));
  });

  it('holds a bundle for a later block until the block before it is mined', async () => {
    // Arrange
    const head = await justAfterABlock(world);
    const ours = await ourTransaction({ maxFeePerGasWei: 10n * GWEI, maxPriorityFeePerGasWei: GWEI });

    // Act
    const { bundleHash } = await adapter.sendBundle({ txs: [ours], blockNumber: head + 2 });
    const pendingRightAfter = await world.provider.getTransactionCount(keeper.address, 'pending');
    const outcome = await relay.outcomeOf(bundleHash);

    // Assert: not in the mempool while held, mined in the target block once forwarded
    expect(pendingRightAfter).toBe(await world.provider.getTransactionCount(keeper.address, head));
    expect(outcome).toEqual({ landed: true });
    const receipt = await pollReceipt(world.provider, relay.bundles.find((b) => b.bundleHash === bundleHash)!.txHashes[0]);
    expect(receipt.blockNumber).toBe(head + 2);
  });
});
