/**
 * An endpoint URL is a secret: a hosted provider's URL carries its API key in the path (`/v2/<key>`), the query
 * (`?apikey=<key>`) or the userinfo (`https://user:<key>@host`). ethers v6 writes the whole request URL into its
 * errors (FetchResponse.assertOk: `info.requestUrl`, repeated in `message`, `shortMessage` and the `stack`; the
 * `request` and `response` objects hold it too), and those errors end in logs, ledger reasons and outcomes. The
 * chain adapters redact at their edge with this (provider.ts for every JSON-RPC endpoint, the public one and the
 * private submission one; flashbots-bundle-relay.ts for the bundle relay), so nothing they throw carries the URL.
 *
 * What is replaced, longest first, wherever it occurs in a string:
 * - the URL as given, and as the WHATWG parser writes it (`href`, with and without its trailing slash), by the
 *   redacted form: scheme and host (with the port) only, `https://eth-mainnet.example.com/…redacted`;
 * - its path with query and fragment (`/v2/<key>?x=y`), as a server or a client echoes the request line, by `/…redacted`;
 * - each part that may be a key on its own (a path segment, a query value, the fragment, the user name and the
 *   password, raw and percent-decoded) of at least MIN_SECRET_PART_LENGTH characters, by `…redacted`: a provider
 *   that says "invalid API key <key>" in its answer. Shorter parts (`v2`, `rpc`) are left, they name no one.
 * A URL with nothing but a scheme and a host (a local node) has nothing to hide and is left as it is.
 */
import { types } from 'node:util';
import { FetchRequest, FetchResponse } from 'ethers';

export const REDACTED = '…redacted';

/** Parts shorter than this are not redacted on their own (only as part of the URL or its path). */
export const MIN_SECRET_PART_LENGTH = 8;

/** How deep `redact` follows nested errors and objects; anything deeper is replaced by a placeholder. */
const MAX_DEPTH = 12;

/** An error of any realm: Node's own (a socket's ECONNRESET) are not `instanceof` the Error of a vm context (Jest's). */
function isError(value: object): boolean {
  return value instanceof Error || types.isNativeError(value);
}

/** An object literal's prototype, of any realm (Object.prototype has none above it), or none. */
function isPlainObject(prototype: object | null): boolean {
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** The URL with nothing but its scheme and host (and port), or the URL itself when it carries nothing more. */
export function redactedUrl(url: string): string {
  const parsed = parseUrl(url);
  if (!parsed) return REDACTED;
  return hasSecretParts(parsed) ? `${parsed.protocol}//${parsed.host}/${REDACTED}` : url;
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function hasSecretParts(url: URL): boolean {
  return url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '';
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

interface Needle {
  secret: string;
  replacement: string;
}

function needlesOf(url: string): Needle[] {
  const parsed = parseUrl(url);
  if (!parsed) return url === '' ? [] : [{ secret: url, replacement: REDACTED }];
  if (!hasSecretParts(parsed)) return [];
  const redacted = redactedUrl(url);
  const needles: Needle[] = [url, parsed.href, parsed.href.replace(/\/$/, '')].map((secret) => ({ secret, replacement: redacted }));
  const pathAndMore = `${parsed.pathname}${parsed.search}${parsed.hash}`;
  if (pathAndMore !== '/' && pathAndMore !== '') needles.push({ secret: pathAndMore, replacement: `/${REDACTED}` });
  const parts = [
    parsed.username,
    parsed.password,
    ...parsed.pathname.split('/'),
    ...[...parsed.searchParams.values()],
    parsed.search.slice(1),
    parsed.hash.slice(1),
  ];
  for (const part of parts) {
    for (const form of new Set([part, decoded(part)])) {
      if (form.length >= MIN_SECRET_PART_LENGTH) needles.push({ secret: form, replacement: REDACTED });
    }
  }
  // Longest first: the whole URL becomes its redacted form before its parts are looked for.
  const unique = new Map<string, Needle>();
  for (const needle of needles) if (!unique.has(needle.secret)) unique.set(needle.secret, needle);
  return [...unique.values()].sort((a, b) => b.secret.length - a.secret.length);
}

/**
 * Redaction of one URL from strings, errors and the objects they carry. `redact` returns its argument itself when
 * it holds nothing to redact, otherwise a copy (errors keep their prototype, so `instanceof` and `code` still
 * work): ethers defines `code` and `shortMessage` read-only, so an error cannot be redacted in place.
 */
export class UrlRedactor {
  /** What the URL is shown as (see redactedUrl). */
  readonly redacted: string;
  private readonly needles: Needle[];

  constructor(url: string) {
    this.redacted = redactedUrl(url);
    this.needles = needlesOf(url);
  }

  /** `text` with every occurrence of the URL and its secret parts replaced. */
  redactText(text: string): string {
    let result = text;
    for (const { secret, replacement } of this.needles) if (result.includes(secret)) result = result.split(secret).join(replacement);
    return result;
  }

  /**
   * `value` with the URL redacted from every string in it: an error's message, stack and every own property
   * (ethers' `shortMessage`, `info`, nested `error`, `cause`, a thrown `payload`), arrays and plain objects at any
   * depth. ethers' FetchRequest and FetchResponse become copies whose URL is redacted. Other class instances an
   * error may carry (Node's IncomingMessage in ethers' "bad response data", sockets) hold the URL where it cannot
   * be reached: they are replaced by `[ClassName]`.
   */
  redact<T>(value: T): T {
    if (this.needles.length === 0) return value;
    return this.copy(value, 0, new Map(), new Map()) as T;
  }

  private holdsSecret(text: string): boolean {
    return this.needles.some(({ secret }) => text.includes(secret));
  }

  /**
   * Whether `value` must be copied: it reaches a string holding the URL, a class instance that is replaced, or
   * (to be safe) an object already being looked at: an object of a cycle is copied, so that no copy leads back to
   * an original.
   */
  private needsCopy(value: unknown, depth: number, memo: Map<object, boolean>): boolean {
    if (typeof value === 'string') return this.holdsSecret(value);
    if (typeof value !== 'object' || value === null) return false;
    const known = memo.get(value);
    if (known !== undefined) return known;
    if (depth > MAX_DEPTH) return true;
    if (ArrayBuffer.isView(value) || value instanceof Date) return false;
    if (value instanceof FetchRequest) return this.holdsSecret(value.url);
    if (value instanceof FetchResponse) return this.holdsSecret(value.statusMessage) || (value.request !== null && this.holdsSecret(value.request.url));
    if (!Array.isArray(value) && !isError(value) && !isPlainObject(Object.getPrototypeOf(value) as object | null)) return true;
    memo.set(value, true);
    const result = Reflect.ownKeys(value).some((key) => this.needsCopy(Reflect.get(value, key), depth + 1, memo));
    memo.set(value, result);
    return result;
  }

  private copy(value: unknown, depth: number, copies: Map<object, unknown>, memo: Map<object, boolean>): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (typeof value !== 'object' || value === null) return value;
    if (copies.has(value)) return copies.get(value);
    if (!this.needsCopy(value, depth, memo)) return value;
    if (depth > MAX_DEPTH) return '[…]';
    if (value instanceof FetchRequest) return this.requestCopy(value);
    if (value instanceof FetchResponse) return this.responseCopy(value);
    if (Array.isArray(value)) {
      const items: unknown[] = [];
      copies.set(value, items);
      for (const item of value) items.push(this.copy(item, depth + 1, copies, memo));
      return items;
    }
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (!isError(value) && !isPlainObject(prototype)) return `[${(value as { constructor?: { name?: string } }).constructor?.name ?? 'object'}]`;
    // Same prototype, every own property (message and stack too) copied as a plain writable one.
    const copy = Object.create(prototype) as object;
    copies.set(value, copy);
    for (const key of Reflect.ownKeys(value)) {
      const enumerable = Object.getOwnPropertyDescriptor(value, key)?.enumerable ?? true;
      Object.defineProperty(copy, key, { value: this.copy(Reflect.get(value, key), depth + 1, copies, memo), enumerable, writable: true, configurable: true });
    }
    return copy;
  }

  private requestCopy(request: FetchRequest): FetchRequest {
    const url = this.redactText(request.url);
    if (url === request.url) return request;
    const copy = request.clone();
    copy.url = url;
    return copy;
  }

  private responseCopy(response: FetchResponse): FetchResponse {
    const request = response.request ? this.requestCopy(response.request) : undefined;
    const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, this.redactText(value)]));
    return new FetchResponse(response.statusCode, this.redactText(response.statusMessage), headers, response.body, request);
  }
}
