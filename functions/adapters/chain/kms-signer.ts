/**
 * An ethers v6 signer whose private key never leaves AWS KMS: a key of spec ECC_SECG_P256K1 (usage SIGN_VERIFY)
 * signs 32-byte digests; this adapter turns KMS's DER answers into Ethereum signatures.
 *
 * KMS speaks ASN.1 DER in both directions we need, and only in two fixed shapes, so a tiny strict reader is
 * enough (no ASN.1 dependency): the SubjectPublicKeyInfo of GetPublicKey and the ECDSA-Sig-Value of Sign. Any
 * other shape is rejected with the byte offset where it stopped making sense.
 */
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  AbstractSigner,
  assert,
  assertArgument,
  computeAddress,
  copyRequest,
  getAddress,
  getBytes,
  hashMessage,
  hexlify,
  recoverAddress,
  resolveAddress,
  resolveProperties,
  Signature,
  toBeHex,
  toBigInt,
  Transaction,
  TypedDataEncoder,
  type Provider,
  type TransactionLike,
  type TransactionRequest,
  type TypedDataDomain,
  type TypedDataField,
} from 'ethers';

/** Order n of the secp256k1 group (SEC 2 v2, §2.4.1). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** n / 2 rounded down; n is odd, so `s > HALF_N` is exactly EIP-2's `s > n/2`. */
const SECP256K1_HALF_N = SECP256K1_N >> 1n;

// ---------------------------------------------------------------------------------------------------------
// Errors: typed, with `cause`, classified once here (STYLE.md habit 6).
// ---------------------------------------------------------------------------------------------------------

/** Names are spelled out, not taken from the class: a minifying bundler renames classes. */
export class KmsSignerError extends Error {
  override name = 'KmsSignerError';
}

/** KMS returned bytes that are not the DER structure expected (or not a secp256k1 point). */
export class KmsDerError extends KmsSignerError {
  override name = 'KmsDerError';
}

/** The key is not an ECC_SECG_P256K1 SIGN_VERIFY key (by KeySpec, KeyUsage or the curve named in its SPKI). */
export class KmsKeySpecError extends KmsSignerError {
  override name = 'KmsKeySpecError';
}

/** A signature that recovers to neither v = 27 nor v = 28: KMS signed with another key, or the digest differs. */
export class KmsSignatureRecoveryError extends KmsSignerError {
  override name = 'KmsSignatureRecoveryError';
}

export type KmsOperation = 'GetPublicKey' | 'Sign';

/**
 * Retryable: the same request may succeed later (throttling, KMS or network trouble): send it back to the queue.
 * Permanent: it will fail the same way until someone changes the key, its policy or the code: record and ack.
 */
export interface KmsErrorClassification {
  kind: 'retryable' | 'permanent';
  /** KMS exception name (`ThrottlingException`), Node socket code (`ECONNRESET`) or this module's error name. */
  code: string;
}

/** A KMS call failed; `cause` is the SDK's error, `classification` says what to do about it. */
export class KmsRequestError extends KmsSignerError {
  constructor(
    readonly operation: KmsOperation,
    readonly keyId: string,
    readonly classification: KmsErrorClassification,
    cause: unknown,
  ) {
    const detail = stringField(cause, 'message') ?? String(cause);
    super(`KMS ${operation} for key ${keyId} failed (${classification.kind}: ${classification.code}): ${detail}`, { cause });
  }

  override name = 'KmsRequestError';
}

/**
 * KMS exceptions that may pass on retry. The SDK has already retried these (standard retry mode, 3 attempts) by
 * the time they reach us; the queue's redelivery is the slower second retry. KeyUnavailableException is a 500
 * that AWS documents as "You can retry the request" (custom key store briefly unreachable).
 */
const RETRYABLE_KMS_EXCEPTIONS = new Set([
  'ThrottlingException',
  'DependencyTimeoutException',
  'KMSInternalException',
  'KeyUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Errors that need a human: wrong key, wrong policy, disabled or deleted key, wrong request. */
const PERMANENT_KMS_EXCEPTIONS = new Set([
  'AccessDeniedException',
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
  'InvalidGrantTokenException',
  'ValidationException',
  'UnrecognizedClientException',
  'IncorrectKeyException',
]);

/** Socket-level failures before KMS answered (Node `error.code`). */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * The SDK's retry middleware (@smithy/core `asSdkError`) replaces a thrown value that is not an `Error` of its
 * own realm with `new Error("AWS SDK error wrapper for <text>")`, dropping `code`. A Node socket error inside a
 * jest sandbox is such a value; its code survives only in the text.
 */
const SDK_WRAPPED_NETWORK_ERROR = /^AWS SDK error wrapper for .*\b(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND)\b/;

/** A string property of a thrown value, read without trusting `instanceof` (errors may come from another realm). */
function stringField(error: unknown, key: 'name' | 'code' | 'message' | '$fault'): string | undefined {
  if (typeof error !== 'object' || error === null || !(key in error)) return undefined;
  const value: unknown = (error as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Retryable vs permanent for anything a KMS signer call may throw. Unknown KMS server faults (HTTP 5xx) are
 * retryable, every other unknown error permanent, so a new failure mode is seen once rather than looping.
 */
export function classifyKmsError(error: unknown): KmsErrorClassification {
  if (error instanceof KmsRequestError) return error.classification;
  if (error instanceof KmsSignerError) return { kind: 'permanent', code: error.name };
  const name = stringField(error, 'name') ?? 'UnknownError';
  if (PERMANENT_KMS_EXCEPTIONS.has(name)) return { kind: 'permanent', code: name };
  if (RETRYABLE_KMS_EXCEPTIONS.has(name)) return { kind: 'retryable', code: name };
  const code = stringField(error, 'code') ?? stringField(error, 'message')?.match(SDK_WRAPPED_NETWORK_ERROR)?.[1];
  if (code && RETRYABLE_NETWORK_CODES.has(code)) return { kind: 'retryable', code };
  if (stringField(error, '$fault') === 'server') return { kind: 'retryable', code: name };
  return { kind: 'permanent', code: name };
}

// ---------------------------------------------------------------------------------------------------------
// DER reading (X.690 §8/§10): short-form lengths only, since both structures are under 128 bytes.
// ---------------------------------------------------------------------------------------------------------

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;

/** id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1). */
const OID_EC_PUBLIC_KEY = '0x2a8648ce3d0201';
/** secp256k1, 1.3.132.0.10 (SEC 2 v2, §A.2.1). */
const OID_SECP256K1 = '0x2b8104000a';

interface Tlv {
  content: Uint8Array;
  /** Offset just past this element. */
  end: number;
}

function byteHex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

function readTlv(der: Uint8Array, offset: number, tag: number, what: string): Tlv {
  if (offset + 2 > der.length) throw new KmsDerError(`${what}: truncated at byte ${offset}`);
  if (der[offset] !== tag) {
    throw new KmsDerError(`${what}: expected tag ${byteHex(tag)} at byte ${offset}, found ${byteHex(der[offset])}`);
  }
  const length = der[offset + 1];
  if (length & 0x80) throw new KmsDerError(`${what}: long-form length at byte ${offset + 1} (expected < 128 bytes)`);
  const end = offset + 2 + length;
  if (end > der.length) throw new KmsDerError(`${what}: length ${length} runs past the end (${der.length - offset - 2} bytes left)`);
  return { content: der.subarray(offset + 2, end), end };
}

function expectEnd(der: Uint8Array, end: number, what: string): void {
  if (end !== der.length) throw new KmsDerError(`${what}: ${der.length - end} trailing byte(s) after byte ${end}`);
}

/** Dotted form of a DER OID, for error messages (X.690 §8.19). */
function oidToString(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let arc = 0n;
  for (const byte of content) {
    arc = (arc << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0n;
    }
  }
  if (arcs.length === 0) return '(empty)';
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join('.');
}

/**
 * The uncompressed secp256k1 point (0x04 || x || y, 65 bytes) inside KMS's GetPublicKey `PublicKey`, a DER
 * SubjectPublicKeyInfo (RFC 5280 §4.1; EC form RFC 5480 §2):
 *
 *   SEQUENCE {
 *     SEQUENCE { OID id-ecPublicKey, OID secp256k1 }   -- AlgorithmIdentifier, namedCurve parameters
 *     BIT STRING { 0x00 unused bits, 0x04 || x || y }  -- ECPoint, uncompressed (SEC 1 v2 §2.3.3)
 *   }
 */
export function parseSecp256k1PublicKey(spki: Uint8Array): string {
  const outer = readTlv(spki, 0, TAG_SEQUENCE, 'SubjectPublicKeyInfo');
  expectEnd(spki, outer.end, 'SubjectPublicKeyInfo');
  const algorithm = readTlv(outer.content, 0, TAG_SEQUENCE, 'AlgorithmIdentifier');
  const algorithmOid = readTlv(algorithm.content, 0, TAG_OID, 'algorithm OID');
  if (hexlify(algorithmOid.content) !== OID_EC_PUBLIC_KEY) {
    throw new KmsKeySpecError(`not an EC public key: algorithm ${oidToString(algorithmOid.content)}, expected id-ecPublicKey 1.2.840.10045.2.1`);
  }
  const curveOid = readTlv(algorithm.content, algorithmOid.end, TAG_OID, 'namedCurve OID');
  expectEnd(algorithm.content, curveOid.end, 'AlgorithmIdentifier');
  if (hexlify(curveOid.content) !== OID_SECP256K1) {
    throw new KmsKeySpecError(`EC key on curve ${oidToString(curveOid.content)}, expected secp256k1 1.3.132.0.10`);
  }
  const bits = readTlv(outer.content, algorithm.end, TAG_BIT_STRING, 'subjectPublicKey');
  expectEnd(outer.content, bits.end, 'SubjectPublicKeyInfo');
  if (bits.content.length !== 66 || bits.content[0] !== 0x00 || bits.content[1] !== 0x04) {
    throw new KmsDerError('subjectPublicKey: expected 0 unused bits and a 65-byte uncompressed point (0x04 || x || y)');
  }
  return hexlify(bits.content.subarray(1));
}

/** A DER INTEGER as a scalar in [1, n − 1]: positive, minimally encoded (X.690 §8.3.2). */
function readScalar(content: Uint8Array, what: string): bigint {
  if (content.length === 0) throw new KmsDerError(`${what}: empty INTEGER`);
  if (content[0] & 0x80) throw new KmsDerError(`${what}: negative INTEGER`);
  if (content.length > 1 && content[0] === 0x00 && (content[1] & 0x80) === 0) {
    throw new KmsDerError(`${what}: non-minimal INTEGER (superfluous leading 0x00)`);
  }
  const value = toBigInt(content);
  if (value === 0n || value >= SECP256K1_N) throw new KmsDerError(`${what}: ${value} is outside [1, n - 1]`);
  return value;
}

/** (r, s) from KMS's Sign `Signature`, a DER ECDSA-Sig-Value (RFC 3279 §2.2.3): SEQUENCE { r INTEGER, s INTEGER }. */
export function parseEcdsaSignature(der: Uint8Array): { r: bigint; s: bigint } {
  const outer = readTlv(der, 0, TAG_SEQUENCE, 'ECDSA-Sig-Value');
  expectEnd(der, outer.end, 'ECDSA-Sig-Value');
  const r = readTlv(outer.content, 0, TAG_INTEGER, 'ECDSA-Sig-Value r');
  const s = readTlv(outer.content, r.end, TAG_INTEGER, 'ECDSA-Sig-Value s');
  expectEnd(outer.content, s.end, 'ECDSA-Sig-Value');
  return { r: readScalar(r.content, 'ECDSA-Sig-Value r'), s: readScalar(s.content, 'ECDSA-Sig-Value s') };
}

/** The Ethereum address of an uncompressed secp256k1 point; rejects points not on the curve. */
export function addressOfPublicKey(point: string): string {
  try {
    return computeAddress(point);
  } catch (cause) {
    throw new KmsDerError('subjectPublicKey: not a point on secp256k1', { cause });
  }
}

/**
 * KMS's (r, s) as an Ethereum signature over `digest` by `address`:
 * - s is normalised to the low half (EIP-2: s > n/2 is invalid in a transaction; n − s is the same signature);
 * - KMS gives no recovery id, so v = 27 and v = 28 are tried and the one recovering `address` is kept.
 */
export function toEthereumSignature(digest: string, rs: { r: bigint; s: bigint }, address: string): Signature {
  const s = rs.s > SECP256K1_HALF_N ? SECP256K1_N - rs.s : rs.s;
  let lastCause: unknown;
  for (const v of [27, 28] as const) {
    const signature = Signature.from({ r: toBeHex(rs.r, 32), s: toBeHex(s, 32), v });
    try {
      if (recoverAddress(digest, signature) === address) return signature;
    } catch (cause) {
      lastCause = cause; // r is not the x of a curve point for this parity
    }
  }
  throw new KmsSignatureRecoveryError(`signature over ${digest} recovers to neither v = 27 nor v = 28 for ${address}`, {
    cause: lastCause,
  });
}

// ---------------------------------------------------------------------------------------------------------
// The signer
// ---------------------------------------------------------------------------------------------------------

export interface KmsSignerOptions {
  client: KMSClient;
  /** Key id, key ARN, alias name or alias ARN of an ECC_SECG_P256K1 / SIGN_VERIFY key. */
  keyId: string;
}

export class KmsSigner extends AbstractSigner {
  readonly keyId: string;
  readonly #client: KMSClient;
  /** The key's address: fetched once (GetPublicKey), shared with signers made by `connect`; a failure is not cached. */
  #address: { pending?: Promise<string> } = {};

  constructor(options: KmsSignerOptions, provider: Provider | null = null) {
    super(provider);
    this.keyId = options.keyId;
    this.#client = options.client;
  }

  connect(provider: Provider | null): KmsSigner {
    const signer = new KmsSigner({ client: this.#client, keyId: this.keyId }, provider);
    signer.#address = this.#address;
    return signer;
  }

  getAddress(): Promise<string> {
    const cache = this.#address;
    if (cache.pending) return cache.pending;
    const pending = this.#loadAddress().catch((error: unknown) => {
      if (cache.pending === pending) delete cache.pending;
      throw error;
    });
    cache.pending = pending;
    return pending;
  }

  /** Same contract as ethers' `BaseWallet.signTransaction`: resolves names, checks `from`, signs the unsigned hash. */
  async signTransaction(request: TransactionRequest): Promise<string> {
    const tx = copyRequest(request);
    const { to, from } = await resolveProperties({
      to: tx.to ? resolveAddress(tx.to, this) : undefined,
      from: tx.from ? resolveAddress(tx.from, this) : undefined,
    });
    if (to != null) tx.to = to;
    if (from != null) {
      assertArgument(getAddress(from) === (await this.getAddress()), 'transaction from address mismatch', 'tx.from', from);
      delete tx.from;
    }
    const unsigned = Transaction.from(tx as TransactionLike<string>);
    unsigned.signature = await this.#signDigest(unsigned.unsignedHash);
    return unsigned.serialized;
  }

  /** EIP-191 personal message. */
  async signMessage(message: string | Uint8Array): Promise<string> {
    return (await this.#signDigest(hashMessage(message))).serialized;
  }

  /** EIP-712 typed data; ENS names in it are resolved through the provider, as ethers' Wallet does. */
  async signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    const populated = await TypedDataEncoder.resolveNames(domain, types, value, async (name) => {
      assert(this.provider != null, 'cannot resolve ENS names without a provider', 'UNSUPPORTED_OPERATION', {
        operation: 'resolveName',
        info: { name },
      });
      const address = await this.provider.resolveName(name);
      assert(address != null, 'unconfigured ENS name', 'UNCONFIGURED_NAME', { value: name });
      return address;
    });
    return (await this.#signDigest(TypedDataEncoder.hash(populated.domain, types, populated.value))).serialized;
  }

  async #loadAddress(): Promise<string> {
    const key = await this.#call('GetPublicKey', () => this.#client.send(new GetPublicKeyCommand({ KeyId: this.keyId })));
    if (key.KeySpec !== 'ECC_SECG_P256K1') {
      throw new KmsKeySpecError(`KMS key ${this.keyId} has key spec ${key.KeySpec ?? '(none)'}, expected ECC_SECG_P256K1`);
    }
    if (key.KeyUsage !== 'SIGN_VERIFY') {
      throw new KmsKeySpecError(`KMS key ${this.keyId} has key usage ${key.KeyUsage ?? '(none)'}, expected SIGN_VERIFY`);
    }
    return addressOfPublicKey(parseSecp256k1PublicKey(key.PublicKey ?? new Uint8Array()));
  }

  async #signDigest(digest: string): Promise<Signature> {
    const [address, signed] = await Promise.all([
      this.getAddress(),
      this.#call('Sign', () =>
        this.#client.send(
          new SignCommand({
            KeyId: this.keyId,
            Message: getBytes(digest),
            MessageType: 'DIGEST',
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        ),
      ),
    ]);
    return toEthereumSignature(digest, parseEcdsaSignature(signed.Signature ?? new Uint8Array()), address);
  }

  async #call<T>(operation: KmsOperation, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (cause) {
      throw new KmsRequestError(operation, this.keyId, classifyKmsError(cause), cause);
    }
  }
}
