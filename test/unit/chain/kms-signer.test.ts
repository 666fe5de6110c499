/**
 * KmsSigner against the local KMS stand-in, through the real @aws-sdk/client-kms (no chain). The stand-in signs
 * with ethers' deterministic SigningKey and hands out high-s on every other call, so a KMS-signed transaction
 * must equal, byte for byte, the one ethers' Wallet signs with the same private key.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  DependencyTimeoutException,
  KeyUnavailableException,
  KMSClient,
  KMSInternalException,
  KMSInvalidStateException,
  KMSServiceException,
  NotFoundException,
  DisabledException,
  SignCommand,
} from '@aws-sdk/client-kms';
import { hashMessage, SigningKey, Transaction, verifyMessage, verifyTypedData, Wallet, type TransactionRequest } from 'ethers';
import {
  addressOfPublicKey,
  classifyKmsError,
  KmsDerError,
  KmsKeySpecError,
  KmsRequestError,
  KmsSignatureRecoveryError,
  KmsSigner,
  parseEcdsaSignature,
  parseSecp256k1PublicKey,
  SECP256K1_N,
  toEthereumSignature,
} from '../../../functions/adapters/chain/kms-signer';
import { createJsonRpcProvider } from '../../../functions/adapters/chain/provider';
import { type KmsStandin, startKmsStandin } from '../../../local/kms-standin/kms-standin';

/** Known test keys (never funded anywhere real). */
const PRIVATE_KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const OTHER_PRIVATE_KEY = '0x8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f';
const wallet = new Wallet(PRIVATE_KEY);
const HALF_N = SECP256K1_N / 2n;
const SPKI_SECP256K1_PREFIX = '3056301006072a8648ce3d020106052b8104000a034200';

function kmsClient(endpoint: string, maxAttempts = 3): KMSClient {
  return new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts });
}

function bytes(hex: string): Uint8Array {
  return Buffer.from(hex.replace(/^0x/, ''), 'hex');
}

/** `toThrow(new E(message))` compares messages only; this also checks the class. */
function expectThrown(act: () => unknown, errorClass: new (message: string) => Error, message: string): void {
  let thrown: unknown;
  try {
    act();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  expect((thrown as Error).message).toBe(message);
}

describe('KmsSigner against the KMS stand-in', () => {
  let standin: KmsStandin;
  let client: KMSClient;
  let signer: KmsSigner;

  beforeAll(async () => {
    standin = await startKmsStandin({
      keys: {
        keeper: { privateKey: PRIVATE_KEY },
        'disabled-key': { privateKey: OTHER_PRIVATE_KEY, state: 'disabled' },
        'busy-key': { privateKey: OTHER_PRIVATE_KEY, state: 'throttling' },
        'p256-key': { spec: 'ECC_NIST_P256' },
      },
    });
    client = kmsClient(standin.endpoint);
    signer = new KmsSigner({ client, keyId: 'keeper' });
  });
  afterAll(async () => {
    client?.destroy();
    await standin?.stop();
  });

  it("derives the key's Ethereum address from the DER public key and asks KMS only once", async () => {
    const fresh = new KmsSigner({ client, keyId: 'keeper' });
    const before = standin.requests.length;

    const addresses = await Promise.all([fresh.getAddress(), fresh.getAddress()]);
    await fresh.signMessage('one');
    await fresh.connect(null).signMessage('two');

    expect(addresses).toEqual([wallet.address, wallet.address]);
    expect(standin.requests.slice(before).map((r) => r.operation)).toEqual(['GetPublicKey', 'Sign', 'Sign']);
  });

  it('is served high-s on every other signature by the stand-in (the fixture exercises EIP-2)', async () => {
    const digest = bytes(hashMessage('fixture'));
    const signatures = [];
    for (let i = 0; i < 4; i += 1) {
      const { Signature } = await client.send(
        new SignCommand({ KeyId: 'keeper', Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      );
      signatures.push(parseEcdsaSignature(Signature!));
    }

    expect(signatures.filter(({ s }) => s > HALF_N)).toHaveLength(2);
    expect(new Set(signatures.map(({ s }) => (s > HALF_N ? SECP256K1_N - s : s))).size).toBe(1);
  });

  it('signs 20 EIP-1559 transactions that recover to the key with low s, identical to an ethers Wallet', async () => {
    for (let nonce = 0; nonce < 20; nonce += 1) {
      const request: TransactionRequest = {
        type: 2,
        chainId: 31337n,
        nonce,
        to: '0x000000000000000000000000000000000000dEaD',
        value: 10n ** 15n * BigInt(nonce + 1),
        gasLimit: 21_000n,
        maxFeePerGas: 2_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
      };

      const signed = await signer.signTransaction(request);

      const parsed = Transaction.from(signed);
      expect(parsed.from).toBe(wallet.address);
      expect(BigInt(parsed.signature!.s)).toBeLessThanOrEqual(HALF_N);
      expect(signed).toBe(await wallet.signTransaction(request));
    }
  });

  it('signs a legacy (EIP-155) transaction', async () => {
    const request: TransactionRequest = {
      type: 0,
      chainId: 31337n,
      nonce: 7,
      to: '0x000000000000000000000000000000000000dEaD',
      value: 1n,
      gasLimit: 21_000n,
      gasPrice: 3_000_000_000n,
    };

    const signed = await signer.signTransaction(request);

    expect(Transaction.from(signed).from).toBe(wallet.address);
    expect(signed).toBe(await wallet.signTransaction(request));
  });

  it('refuses a transaction whose from is another address', async () => {
    const request: TransactionRequest = { from: new Wallet(OTHER_PRIVATE_KEY).address, to: wallet.address, chainId: 1n, gasLimit: 21_000n };

    await expect(signer.signTransaction(request)).rejects.toThrow('transaction from address mismatch');
  });

  it('signs EIP-191 messages and EIP-712 typed data that ethers verifies', async () => {
    const domain = { name: 'Keeper', version: '1', chainId: 31337n, verifyingContract: '0x000000000000000000000000000000000000bEEF' };
    const types = { Liquidation: [{ name: 'user', type: 'address' }, { name: 'debtToCoverWei', type: 'uint256' }] };
    const value = { user: '0x000000000000000000000000000000000000dEaD', debtToCoverWei: 55_000n * 10n ** 6n };

    const messageSignatures = [await signer.signMessage('liquidate'), await signer.signMessage('liquidate')];
    const typedSignature = await signer.signTypedData(domain, types, value);

    expect(messageSignatures.map((signature) => verifyMessage('liquidate', signature))).toEqual([wallet.address, wallet.address]);
    expect(messageSignatures[1]).toBe(await wallet.signMessage('liquidate'));
    expect(verifyTypedData(domain, types, value, typedSignature)).toBe(wallet.address);
    expect(typedSignature).toBe(await wallet.signTypedData(domain, types, value));
  });

  it('connects to a provider without losing its key', async () => {
    const provider = createJsonRpcProvider('http://127.0.0.1:9', 31337);

    const connected = signer.connect(provider);

    expect(connected).toBeInstanceOf(KmsSigner);
    expect(connected.provider).toBe(provider);
    expect(connected.keyId).toBe('keeper');
    expect(await connected.getAddress()).toBe(wallet.address);
    provider.destroy();
  });

  describe('KMS errors, typed and classified', () => {
    it.each([
      ['an unknown key', 'no-such-key', NotFoundException, 'permanent', /KMS GetPublicKey for key no-such-key failed \(permanent: NotFoundException\): Key '.*no-such-key' does not exist/],
      ['a disabled key', 'disabled-key', DisabledException, 'permanent', /KMS GetPublicKey for key disabled-key failed \(permanent: DisabledException\): .* is disabled/],
      ['a throttled key', 'busy-key', KMSServiceException, 'retryable', /KMS GetPublicKey for key busy-key failed \(retryable: ThrottlingException\): Rate exceeded/],
    ])('%s', async (_label, keyId, causeClass, kind, message) => {
      const failing = new KmsSigner({ client: kmsClient(standin.endpoint, 1), keyId });

      const error: unknown = await failing.signMessage('x').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(KmsRequestError);
      expect((error as KmsRequestError).message).toMatch(message);
      expect((error as KmsRequestError).cause).toBeInstanceOf(causeClass);
      expect(classifyKmsError(error).kind).toBe(kind);
    });

    it('refuses a key that is not ECC_SECG_P256K1', async () => {
      const p256 = new KmsSigner({ client, keyId: 'p256-key' });

      const error: unknown = await p256.getAddress().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(KmsKeySpecError);
      expect((error as KmsKeySpecError).message).toBe('KMS key p256-key has key spec ECC_NIST_P256, expected ECC_SECG_P256K1');
      expect(classifyKmsError(error)).toEqual({ kind: 'permanent', code: 'KmsKeySpecError' });
    });

    it('classifies an unreachable endpoint as retryable', async () => {
      const gone = await startKmsStandin({ keys: {} });
      await gone.stop();
      const offline = new KmsSigner({ client: kmsClient(gone.endpoint, 1), keyId: 'keeper' });

      const error: unknown = await offline.getAddress().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(KmsRequestError);
      expect((error as KmsRequestError).message).toMatch(/^KMS GetPublicKey for key keeper failed \(retryable: ECONNREFUSED\)/);
    });

    it.each([
      ['ThrottlingException', 'retryable', new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' })],
      ['DependencyTimeoutException', 'retryable', new DependencyTimeoutException({ $metadata: {}, message: 'x' })],
      ['KMSInternalException', 'retryable', new KMSInternalException({ $metadata: {}, message: 'x' })],
      ['KeyUnavailableException', 'retryable', new KeyUnavailableException({ $metadata: {}, message: 'x' })],
      ['an unknown server fault', 'retryable', new KMSServiceException({ name: 'NewServerException', $fault: 'server', $metadata: {}, message: 'x' })],
      ['ECONNRESET', 'retryable', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
      ['TimeoutError', 'retryable', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
      ['AccessDeniedException', 'permanent', new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'x' })],
      ['NotFoundException', 'permanent', new NotFoundException({ $metadata: {}, message: 'x' })],
      ['DisabledException', 'permanent', new DisabledException({ $metadata: {}, message: 'x' })],
      ['KMSInvalidStateException', 'permanent', new KMSInvalidStateException({ $metadata: {}, message: 'pending deletion' })],
      ['an unknown client fault', 'permanent', new KMSServiceException({ name: 'NewClientException', $fault: 'client', $metadata: {}, message: 'x' })],
      ['a malformed signature', 'permanent', new KmsDerError('ECDSA-Sig-Value: truncated at byte 0')],
      ['a thrown string', 'permanent', 'boom'],
      ['an SDK-wrapped socket error', 'retryable', new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:9')],
    ])('classifies %s as %s', (_label, kind, error) => {
      expect(classifyKmsError(error).kind).toBe(kind);
    });
  });
});

describe('DER reading', () => {
  const publicKey = new SigningKey(PRIVATE_KEY).publicKey;
  const spki = `0x${SPKI_SECP256K1_PREFIX}${publicKey.slice(2)}`;

  it('reads the uncompressed point of a secp256k1 SubjectPublicKeyInfo', () => {
    expect(parseSecp256k1PublicKey(bytes(spki))).toBe(publicKey);
  });

  it.each([
    ['empty input', '0x', KmsDerError, 'SubjectPublicKeyInfo: truncated at byte 0'],
    ['a truncated key', spki.slice(0, -2), KmsDerError, 'SubjectPublicKeyInfo: length 86 runs past the end (85 bytes left)'],
    ['a trailing byte', `${spki}00`, KmsDerError, 'SubjectPublicKeyInfo: 1 trailing byte(s) after byte 88'],
    [
      'a compressed point',
      `0x3036301006072a8648ce3d020106052b8104000a032200${SigningKey.computePublicKey(publicKey, true).slice(2)}`,
      KmsDerError,
      'subjectPublicKey: expected 0 unused bits and a 65-byte uncompressed point (0x04 || x || y)',
    ],
    [
      'a P-256 key',
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
      KmsKeySpecError,
      'EC key on curve 1.2.840.10045.3.1.7, expected secp256k1 1.3.132.0.10',
    ],
    [
      'an Ed25519 key',
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
      KmsKeySpecError,
      'not an EC public key: algorithm 1.3.101.112, expected id-ecPublicKey 1.2.840.10045.2.1',
    ],
    [
      'an RSA key (long-form length)',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
      KmsDerError,
      'SubjectPublicKeyInfo: long-form length at byte 1 (expected < 128 bytes)',
    ],
  ])('rejects %s', (_label, hex, errorClass, message) => {
    expectThrown(() => parseSecp256k1PublicKey(bytes(hex)), errorClass, message);
  });

  it('rejects a point that is not on secp256k1', () => {
    const offCurve = `${spki.slice(0, -2)}${spki.endsWith('00') ? '01' : '00'}`;

    expectThrown(() => addressOfPublicKey(parseSecp256k1PublicKey(bytes(offCurve))), KmsDerError, 'subjectPublicKey: not a point on secp256k1');
  });

  it('reads (r, s) from an ECDSA-Sig-Value, with and without a sign-padding zero', () => {
    expect(parseEcdsaSignature(bytes('0x3006020101020102'))).toEqual({ r: 1n, s: 2n });
    expect(parseEcdsaSignature(bytes('0x30070202008002017f'))).toEqual({ r: 128n, s: 127n });
  });

  const n = SECP256K1_N.toString(16);
  it.each([
    ['empty input', '0x', 'ECDSA-Sig-Value: truncated at byte 0'],
    ['a SET instead of a SEQUENCE', '0x3106020101020101', 'ECDSA-Sig-Value: expected tag 0x30 at byte 0, found 0x31'],
    ['a length past the end', '0x30060201010201', 'ECDSA-Sig-Value: length 6 runs past the end (5 bytes left)'],
    ['a trailing byte', '0x300602010102010100', 'ECDSA-Sig-Value: 1 trailing byte(s) after byte 8'],
    ['a long-form length', '0x3081060201010201', 'ECDSA-Sig-Value: long-form length at byte 1 (expected < 128 bytes)'],
    ['s as a BIT STRING', '0x3006020101030101', 'ECDSA-Sig-Value s: expected tag 0x02 at byte 3, found 0x03'],
    ['a third INTEGER', '0x3009020101020101020101', 'ECDSA-Sig-Value: 3 trailing byte(s) after byte 6'],
    ['an empty r', '0x30050200020101', 'ECDSA-Sig-Value r: empty INTEGER'],
    ['a negative r', '0x3006020181020101', 'ECDSA-Sig-Value r: negative INTEGER'],
    ['a non-minimal r', '0x300702020001020101', 'ECDSA-Sig-Value r: non-minimal INTEGER (superfluous leading 0x00)'],
    ['r = 0', '0x3006020100020101', 'ECDSA-Sig-Value r: 0 is outside [1, n - 1]'],
    ['s = n', `0x3026020101022100${n}`, `ECDSA-Sig-Value s: ${SECP256K1_N} is outside [1, n - 1]`],
  ])('rejects %s', (_label, hex, message) => {
    expectThrown(() => parseEcdsaSignature(bytes(hex)), KmsDerError, message);
  });

  it('refuses a signature that recovers to neither v = 27 nor v = 28', () => {
    const digest = hashMessage('liquidate');
    const { r, s } = new SigningKey(OTHER_PRIVATE_KEY).sign(digest);

    expectThrown(
      () => toEthereumSignature(digest, { r: BigInt(r), s: BigInt(s) }, wallet.address),
      KmsSignatureRecoveryError,
      `signature over ${digest} recovers to neither v = 27 nor v = 28 for ${wallet.address}`,
    );
  });
});
