/**
 * `BundleRelay` over a Flashbots-format relay (relay.flashbots.net, and builders that accept the same API).
 *
 * What was checked: the Flashbots docs' "JSON-RPC Endpoints" page (flashbots-auction/advanced/rpc-endpoint) and the
 * "Authentication" section (flashbots-protect/nonce-management), read from stored copies of docs.flashbots.net.
 * The request is JSON-RPC `eth_sendBundle` with `params: [{ txs, blockNumber (hex string), minTimestamp?,
 * maxTimestamp?, revertingTxHashes? }]` (timestamps as numbers) and the answer `{ result: { bundleHash } }`. Every
 * request carries `X-Flashbots-Signature: <address>:<signature>`: an EIP-191 personal_sign, by any key (the
 * searcher's identity, not a funded account), of the keccak256 of the exact body written as its 0x hex string —
 * the docs' ethers example is `wallet.signMessage(id(body))`. Refusals, from users' reports
 * (flashbots/ethers-provider-flashbots-bundle issues 65 and 110, flashbots/mev-share issue 25): HTTP 403 with
 * `{"error":"missing X-Flashbots-Signature header"}` or `{"error":"error in signature check …"}`, and JSON-RPC
 * `{"error":{"code":-32025,"message":"invalid flashbots signature"}}`; both shapes are read.
 *
 * No retries here: a bundle not accepted is simply not included, and the caller decides whether to send another
 * for the next block. The failure says whether trying again can help (`BundleRelayError.retryable`).
 */
import { id } from 'ethers';
import type { Bundle, BundleRelay } from '../../ports/bundle-relay';
import * as z from '../../zod';
import { UrlRedactor } from './redact-url';

/** The key that signs requests (an ethers `Wallet` / `BaseWallet` fits): identity only, it pays for nothing. */
export interface FlashbotsAuthSigner {
  readonly address: string;
  /** EIP-191 personal_sign of a string's UTF-8 bytes. */
  signMessage(message: string): Promise<string>;
}

export interface FlashbotsBundleRelayOptions {
  url: string;
  authSigner: FlashbotsAuthSigner;
  /** Per request (default 5 s: a bundle is for the next block or two). */
  timeoutMs?: number;
}

/**
 * A refused or failed `eth_sendBundle`. `retryable`: the relay was unreachable, timed out, throttled (HTTP 429) or
 * failed itself (5xx): another attempt may be accepted. Everything else (signature, bundle contents, a past block)
 * would be refused again as it is.
 */
export class BundleRelayError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
    readonly rpcCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BundleRelayError';
  }
}

/** The `eth_sendBundle` params object, as the relay takes it. */
export function flashbotsBundleParams(bundle: Bundle): Record<string, unknown> {
  return {
    txs: bundle.txs,
    blockNumber: `0x${bundle.blockNumber.toString(16)}`,
    ...(bundle.minTimestamp !== undefined ? { minTimestamp: bundle.minTimestamp } : {}),
    ...(bundle.maxTimestamp !== undefined ? { maxTimestamp: bundle.maxTimestamp } : {}),
    ...(bundle.revertingTxHashes !== undefined ? { revertingTxHashes: bundle.revertingTxHashes } : {}),
  };
}

/** The X-Flashbots-Signature value for `body`: `<address>:<personal_sign of keccak256(body) as 0x hex>`. */
export async function flashbotsSignature(signer: FlashbotsAuthSigner, body: string): Promise<string> {
  return `${signer.address}:${await signer.signMessage(id(body))}`;
}

const rpcErrorSchema = z.union([z.string(), z.object({ code: z.optional(z.number()), message: z.string() })]);
const responseSchema = z.object({
  result: z.optional(z.nullable(z.object({ bundleHash: z.string() }))),
  error: z.optional(rpcErrorSchema),
});

/**
 * The relay's URL may carry a key like an RPC URL (redact-url.ts): errors name its redacted form, and what they
 * carry from fetch and from the relay's answer is redacted before it leaves.
 */
export class FlashbotsBundleRelay implements BundleRelay {
  private nextId = 1;
  private readonly redactor: UrlRedactor;

  constructor(private readonly options: FlashbotsBundleRelayOptions) {
    this.redactor = new UrlRedactor(options.url);
  }

  async sendBundle(bundle: Bundle): Promise<{ bundleHash: string }> {
    try {
      return await this.send(bundle);
    } catch (error) {
      throw this.redactor.redact(error);
    }
  }

  private async send(bundle: Bundle): Promise<{ bundleHash: string }> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method: 'eth_sendBundle', params: [flashbotsBundleParams(bundle)] });
    const where = `eth_sendBundle for block ${bundle.blockNumber} to ${this.redactor.redacted}`;
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-flashbots-signature': await flashbotsSignature(this.options.authSigner, body) },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
      });
    } catch (err) {
      // Node's fetch says only "fetch failed"; the socket's code (ECONNREFUSED, …) is on its cause.
      const code = (err as { cause?: { code?: unknown } }).cause?.code;
      throw new BundleRelayError(`${where}: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, true, undefined, undefined, { cause: err });
    }
    const text = await response.text();
    const retryableStatus = response.status === 429 || response.status >= 500;
    let parsed: z.infer<typeof responseSchema> | undefined;
    try {
      const decoded = responseSchema.safeParse(JSON.parse(text));
      if (decoded.success) parsed = decoded.data;
    } catch {
      parsed = undefined;
    }
    const error = parsed?.error;
    if (error !== undefined) {
      const [message, code] = typeof error === 'string' ? [error, undefined] : [error.message, error.code];
      throw new BundleRelayError(`${where}: relay refused it (HTTP ${response.status}${code !== undefined ? `, code ${code}` : ''}): ${message}`, retryableStatus, response.status, code);
    }
    if (!response.ok) throw new BundleRelayError(`${where}: HTTP ${response.status}: ${text.slice(0, 300)}`, retryableStatus, response.status);
    if (!parsed?.result) throw new BundleRelayError(`${where}: unexpected answer: ${text.slice(0, 300)}`, false, response.status);
    return { bundleHash: parsed.result.bundleHash };
  }
}
