/**
 * Transactions signed through KMS (the local stand-in, via the real @aws-sdk/client-kms) are accepted by a real
 * anvil: the node recovers the KMS key's address as the sender, nonces advance and value moves.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { type JsonRpcProvider, toQuantity, Wallet } from 'ethers';
import { KmsSigner, SECP256K1_N } from '../../functions/adapters/chain/kms-signer';
import { createJsonRpcProvider, latestBlockNumber, pollReceipt } from '../../functions/adapters/chain/provider';
import { type KmsStandin, startKmsStandin } from '../../local/kms-standin/kms-standin';
import { type Anvil, startAnvil } from '../../local/world/anvil';

jest.setTimeout(120_000);

/** A known test key, not one of anvil's dev accounts, so only the balance set below funds it. */
const PRIVATE_KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const RECIPIENT = '0x000000000000000000000000000000000000dEaD';
const ONE_ETHER_WEI = 10n ** 18n;

describe('KmsSigner on anvil', () => {
  let anvil: Anvil;
  let standin: KmsStandin;
  let client: KMSClient;
  let provider: JsonRpcProvider;
  let signer: KmsSigner;

  beforeAll(async () => {
    [anvil, standin] = await Promise.all([startAnvil({ blockTimeSec: 0 }), startKmsStandin({ keys: { keeper: { privateKey: PRIVATE_KEY } } })]);
    provider = createJsonRpcProvider(anvil.rpcUrl, 31337);
    client = new KMSClient({ endpoint: standin.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    signer = new KmsSigner({ client, keyId: 'keeper' }, provider);
    await provider.send('anvil_setBalance', [await signer.getAddress(), toQuantity(10n * ONE_ETHER_WEI)]);
  });
  afterAll(async () => {
    provider?.destroy();
    client?.destroy();
    await Promise.all([anvil?.process.stop(), standin?.stop()]);
  });

  it('sends EIP-1559 transactions that anvil mines from the KMS address', async () => {
    const address = await signer.getAddress();
    expect(address).toBe(new Wallet(PRIVATE_KEY).address);
    // Reads are pinned to block numbers: ethers would answer a repeated `latest` read from its 250 ms cache.
    const startBlock = await latestBlockNumber(provider);
    const recipientBeforeWei = await provider.getBalance(RECIPIENT, startBlock);
    let lastBlock = startBlock;

    const valuesWei = [1n, 2n, 3n, 4n].map((tenths) => tenths * 10n ** 17n);
    for (const [nonce, value] of valuesWei.entries()) {
      // The nonce is given: ethers' provider shares identical reads for 250 ms (`cacheTimeout`), so a nonce it
      // fills in right after the previous receipt is the stale one ("nonce too low"). Fees and gas are filled in.
      const sent = await signer.sendTransaction({ type: 2, to: RECIPIENT, value, nonce });
      const receipt = await pollReceipt(provider, sent.hash, { timeoutMs: 10_000 });
      const mined = await provider.getTransaction(sent.hash);

      lastBlock = receipt.blockNumber;
      expect(receipt.status).toBe(1);
      expect(receipt.from).toBe(address);
      expect(mined?.from).toBe(address);
      expect(mined?.type).toBe(2);
      expect(mined?.nonce).toBe(nonce);
      expect(BigInt(mined!.signature.s)).toBeLessThanOrEqual(SECP256K1_N / 2n);
    }

    expect(lastBlock).toBe(startBlock + valuesWei.length);
    expect(await provider.getTransactionCount(address, lastBlock)).toBe(valuesWei.length);
    expect((await provider.getBalance(RECIPIENT, lastBlock)) - recipientBeforeWei).toBe(valuesWei.reduce((sum, v) => sum + v, 0n));
  });
});
