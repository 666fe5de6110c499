/**
 * A local stand-in for the two AWS KMS operations an Ethereum signer needs, speaking the real wire protocol
 * (JSON 1.1 over HTTP, `X-Amz-Target: TrentService.<Operation>`, base64 blobs, `{"__type", "message"}` errors
 * with HTTP 400), so the real `@aws-sdk/client-kms` talks to it unchanged:
 *
 *   new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
 *
 * It holds known secp256k1 private keys by key id and signs 32-byte digests with ethers' `SigningKey` (RFC 6979,
 * deterministic). KMS itself does not normalise s, so every other signature is returned in its HIGH-s form
 * (s > n/2) on purpose: a client that forgets EIP-2 normalisation fails half the time here, not in production.
 * Request signatures (SigV4) are not checked.
 *
 * The DER here is written independently of the reader in functions/adapters/chain/kms-signer.ts, so a test of
 * one against the other is not a test of the same code twice.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getBytes, hexlify, SigningKey, toBeArray } from 'ethers';

/** `disabled` answers DisabledException, as KMS does for a disabled key; `throttling` answers every call with ThrottlingException (fault injection). */
export type KmsStandinKeyState = 'enabled' | 'disabled' | 'throttling';

export type KmsStandinKey =
  | { spec?: 'ECC_SECG_P256K1'; privateKey: string; state?: KmsStandinKeyState }
  /** A NIST P-256 key (fresh on every start): GetPublicKey answers a real P-256 SPKI, Sign is refused. */
  | { spec: 'ECC_NIST_P256'; state?: KmsStandinKeyState };

export interface KmsStandinOptions {
  /** By key id; requests may name the id or its ARN `arn:aws:kms:us-east-1:000000000000:key/<id>`. */
  keys: Record<string, KmsStandinKey>;
}

export interface KmsStandinRequest {
  operation: string;
  keyId: string | undefined;
}

export interface KmsStandin {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Every request received, in order (what a test asserts caching and request shapes with). */
  readonly requests: readonly KmsStandinRequest[];
  stop(): Promise<void>;
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const ARN_PREFIX = 'arn:aws:kms:us-east-1:000000000000:key/';

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

class KmsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** One DER element; every element written here is shorter than 128 bytes, so the length is short-form (X.690 §8.1.3.4). */
function derElement(tag: number, content: Uint8Array): Uint8Array {
  if (content.length > 127) throw new Error(`DER content of ${content.length} bytes needs a long-form length`);
  return concat([new Uint8Array([tag, content.length]), content]);
}

/** A positive DER INTEGER: minimal big-endian bytes, with a 0x00 prefix when the top bit is set (X.690 §8.3). */
function derPositiveInteger(value: bigint): Uint8Array {
  const bytes = toBeArray(value);
  return derElement(0x02, bytes[0] & 0x80 ? concat([new Uint8Array([0]), bytes]) : bytes);
}

/** RFC 3279 §2.2.3 ECDSA-Sig-Value. */
function derSignature(r: bigint, s: bigint): Uint8Array {
  return derElement(0x30, concat([derPositiveInteger(r), derPositiveInteger(s)]));
}

/** RFC 5480 SubjectPublicKeyInfo for an uncompressed secp256k1 point. */
function derSecp256k1Spki(uncompressedPoint: string): Uint8Array {
  const algorithm = derElement(
    0x30,
    concat([derElement(0x06, getBytes('0x2a8648ce3d0201')), derElement(0x06, getBytes('0x2b8104000a'))]),
  );
  return derElement(0x30, concat([algorithm, derElement(0x03, concat([new Uint8Array([0]), getBytes(uncompressedPoint)]))]));
}

interface HeldKey {
  spec: 'ECC_SECG_P256K1' | 'ECC_NIST_P256';
  state: KmsStandinKeyState;
  spki: Uint8Array;
  signingKey?: SigningKey;
}

function holdKey(key: KmsStandinKey): HeldKey {
  if (key.spec === 'ECC_NIST_P256') {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    return { spec: key.spec, state: key.state ?? 'enabled', spki: publicKey.export({ type: 'spki', format: 'der' }) };
  }
  const signingKey = new SigningKey(key.privateKey);
  return { spec: 'ECC_SECG_P256K1', state: key.state ?? 'enabled', spki: derSecp256k1Spki(signingKey.publicKey), signingKey };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': randomUUID() });
  response.end(JSON.stringify(body));
}

export async function startKmsStandin(options: KmsStandinOptions): Promise<KmsStandin> {
  const keys = new Map(Object.entries(options.keys).map(([id, key]) => [id, holdKey(key)]));
  const requests: KmsStandinRequest[] = [];
  let signatureCount = 0;

  function keyFor(keyId: unknown): { arn: string; key: HeldKey } {
    if (typeof keyId !== 'string' || keyId === '') throw new KmsFault('ValidationException', 'KeyId is required');
    const id = keyId.startsWith(ARN_PREFIX) ? keyId.slice(ARN_PREFIX.length) : keyId;
    const arn = `${ARN_PREFIX}${id}`;
    const key = keys.get(id);
    if (!key) throw new KmsFault('NotFoundException', `Key '${arn}' does not exist`);
    if (key.state === 'disabled') throw new KmsFault('DisabledException', `${arn} is disabled.`);
    if (key.state === 'throttling') throw new KmsFault('ThrottlingException', 'Rate exceeded');
    return { arn, key };
  }

  function getPublicKey(input: Record<string, unknown>): object {
    const { arn, key } = keyFor(input.KeyId);
    return {
      KeyId: arn,
      PublicKey: Buffer.from(key.spki).toString('base64'),
      KeySpec: key.spec,
      CustomerMasterKeySpec: key.spec,
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    };
  }

  function sign(input: Record<string, unknown>): object {
    const { arn, key } = keyFor(input.KeyId);
    if (!key.signingKey) throw new KmsFault('UnsupportedOperationException', `kms-standin signs with ECC_SECG_P256K1 keys only, not ${key.spec}`);
    if (input.SigningAlgorithm !== 'ECDSA_SHA_256') {
      throw new KmsFault('InvalidKeyUsageException', `The signing algorithm ${String(input.SigningAlgorithm)} is not valid for ${arn}`);
    }
    if (input.MessageType !== 'DIGEST') throw new KmsFault('ValidationException', 'kms-standin supports MessageType DIGEST only');
    const digest = typeof input.Message === 'string' ? Buffer.from(input.Message, 'base64') : Buffer.alloc(0);
    if (digest.length !== 32) throw new KmsFault('ValidationException', 'Digest is invalid length for algorithm ECDSA_SHA_256.');
    const signature = key.signingKey.sign(hexlify(digest));
    signatureCount += 1;
    const s = BigInt(signature.s);
    const returnedS = signatureCount % 2 === 0 ? SECP256K1_N - s : s; // every other one high-s (see above)
    return {
      KeyId: arn,
      Signature: Buffer.from(derSignature(BigInt(signature.r), returnedS)).toString('base64'),
      SigningAlgorithm: 'ECDSA_SHA_256',
    };
  }

  const operations: Record<string, (input: Record<string, unknown>) => object> = {
    'TrentService.GetPublicKey': getPublicKey,
    'TrentService.Sign': sign,
  };

  const server = createServer((request, response) => {
    void (async () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      let input: Record<string, unknown> = {};
      try {
        const body = await readBody(request);
        try {
          input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
        } catch {
          throw new KmsFault('SerializationException', 'request body is not JSON');
        }
        requests.push({ operation: target.replace(/^TrentService\./, ''), keyId: typeof input.KeyId === 'string' ? input.KeyId : undefined });
        const operation = operations[target];
        if (!operation) throw new KmsFault('UnknownOperationException', `kms-standin does not implement ${target || '(no X-Amz-Target)'}`);
        reply(response, 200, operation(input));
      } catch (error) {
        if (error instanceof KmsFault) reply(response, 400, { __type: error.type, message: error.message });
        else reply(response, 500, { __type: 'KMSInternalException', message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
