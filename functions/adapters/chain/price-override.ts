/**
 * "As if the pending price update had landed": eth_call state overrides that put a constant Chainlink-style feed
 * (contracts/src/ConstantFeed.sol) at a feed's address, and a provider that adds such an override to every
 * eth_call and eth_estimateGas it sends, so the existing readers (health lens, oracle lens, AaveOracle through a
 * Contract) and gas estimates see the new price without knowing about it.
 *
 * The override object is geth's (`eth_call` / `eth_estimateGas` third parameter, `{ [address]: { code, state } }`):
 * `state` REPLACES the account's whole storage, so the feed answers only from the four slots written here. anvil
 * 1.7 honours it on both methods (test/integration/pending-price-updates.test.ts).
 */
import { isAddress, JsonRpcProvider, type JsonRpcApiProviderOptions, type JsonRpcPayload, type JsonRpcResult, Network } from 'ethers';
import { CONSTANT_FEED_RUNTIME_BYTECODE, CONSTANT_FEED_SLOTS } from './constant-feed';

/** One account's override, as geth and anvil take it: quantities and words are 0x-prefixed hex. */
export interface AccountOverride {
  code?: string;
  /** Replaces the whole storage: slot (32-byte hex) → value (32-byte hex). */
  state?: Record<string, string>;
  /** Changes only the listed slots. */
  stateDiff?: Record<string, string>;
  balance?: string;
  nonce?: string;
}

/** The JSON-RPC state-override object: address → what that account looks like for the call. */
export type StateOverride = Record<string, AccountOverride>;

export interface ConstantPrice {
  /** The address AaveOracle reads (its source for the asset): for Chainlink, the EACAggregatorProxy. */
  feed: string;
  /** In the feed's own decimals; negative answers are written as their two's complement. */
  answer: bigint;
  /** 0–255 (a uint8). */
  decimals: number;
  /** Reported as updatedAt and startedAt, seconds since the epoch. */
  updatedAtSec: bigint;
  /** 0 ≤ roundId < 2^80 (a uint80). */
  roundId: bigint;
}

const UINT256_MODULUS = 1n << 256n;
const INT256_MIN = -(1n << 255n);
const INT256_MAX = (1n << 255n) - 1n;
const UINT80_LIMIT = 1n << 80n;

function word(value: bigint): string {
  return `0x${value.toString(16).padStart(64, '0')}`;
}

/**
 * A state override replacing `feed` with ConstantFeed answering `answer`, `decimals`, `updatedAtSec` and `roundId`
 * (ConstantFeed.sol's documented slots; every other slot reads zero). Throws a RangeError for a value its Solidity
 * type cannot hold, rather than letting the contract truncate it.
 */
export function priceOverride(price: ConstantPrice): StateOverride {
  const { feed, answer, decimals, updatedAtSec, roundId } = price;
  if (!isAddress(feed)) throw new RangeError(`feed ${JSON.stringify(feed)} is not an address`);
  if (answer < INT256_MIN || answer > INT256_MAX) throw new RangeError(`answer ${answer} does not fit an int256`);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 255) throw new RangeError(`decimals ${decimals} is not a uint8`);
  if (updatedAtSec < 0n || updatedAtSec >= UINT256_MODULUS) throw new RangeError(`updatedAtSec ${updatedAtSec} is not a uint256`);
  if (roundId < 0n || roundId >= UINT80_LIMIT) throw new RangeError(`roundId ${roundId} is not a uint80`);
  return {
    [feed.toLowerCase()]: {
      code: CONSTANT_FEED_RUNTIME_BYTECODE,
      state: {
        [word(CONSTANT_FEED_SLOTS.answer)]: word(answer < 0n ? answer + UINT256_MODULUS : answer),
        [word(CONSTANT_FEED_SLOTS.updatedAt)]: word(updatedAtSec),
        [word(CONSTANT_FEED_SLOTS.decimals)]: word(BigInt(decimals)),
        [word(CONSTANT_FEED_SLOTS.roundId)]: word(roundId),
      },
    },
  };
}

/** Two overrides name the same account: which one should win is the caller's decision, never guessed here. */
export class StateOverrideConflictError extends Error {
  constructor(readonly address: string) {
    super(`state overrides conflict: both override ${address}`);
    this.name = 'StateOverrideConflictError';
  }
}

/** Both overrides in one object. Addresses are compared case-insensitively; one address in both throws. */
export function mergeOverrides(a: StateOverride, b: StateOverride): StateOverride {
  const seen = new Set(Object.keys(a).map((address) => address.toLowerCase()));
  for (const address of Object.keys(b)) {
    if (seen.has(address.toLowerCase())) throw new StateOverrideConflictError(address.toLowerCase());
  }
  return { ...a, ...b };
}

/** Methods whose third parameter is a state override (geth: `eth_call(args, block, overrides, blockOverrides)`, `eth_estimateGas(args, block, overrides)`). */
const OVERRIDABLE_METHODS = new Set(['eth_call', 'eth_estimateGas']);

/**
 * The params of an eth_call / eth_estimateGas with `override` added to the caller's own (params[2]). A missing
 * block parameter becomes `null`, which geth and anvil read as "not given" (their default block): ethers sends
 * eth_estimateGas as `[tx]` alone, and the override can only go third.
 */
export function paramsWithOverride(params: readonly unknown[], override: StateOverride): unknown[] {
  const [transaction, block = null, callerOverride, ...rest] = params;
  const merged = callerOverride === undefined || callerOverride === null ? override : mergeOverrides(callerOverride as StateOverride, override);
  return [transaction, block, merged, ...rest];
}

const PROVIDER_OPTION_KEYS: (keyof JsonRpcApiProviderOptions)[] = ['polling', 'staticNetwork', 'batchStallTime', 'batchMaxSize', 'batchMaxCount', 'cacheTimeout', 'pollingInterval'];

/**
 * A JsonRpcProvider whose every eth_call and eth_estimateGas carries `override` (merged with any override the
 * caller passed, conflicts throwing StateOverrideConflictError), sending through the inner provider's transport.
 *
 * Where the override is added: ethers v6 routes `provider.call`, `provider.estimateGas` and Contract calls through
 * `_perform` → `send(method, params)`, as are direct `provider.send('eth_call', …)` calls (the health and oracle
 * lenses); `send` queues the payload and the drain hands it to `_send`, the transport. So `send` rewrites the
 * params (a conflict rejects that one call, before anything is sent, and never a whole batch), and `_send` is the
 * inner provider's own (its FetchRequest with retries and timeout, its body codec: provider.ts's
 * NativeJsonRpcProvider). Options (batching, cache, polling, static network) are copied from the inner provider.
 */
class StateOverrideJsonRpcProvider extends JsonRpcProvider {
  constructor(
    private readonly inner: JsonRpcProvider,
    private readonly override: StateOverride,
  ) {
    const options: JsonRpcApiProviderOptions = {};
    for (const key of PROVIDER_OPTION_KEYS) Object.assign(options, { [key]: inner._getOption(key) });
    const staticNetwork = options.staticNetwork;
    super(inner._getConnection(), staticNetwork instanceof Network ? staticNetwork : undefined, options);
  }

  override async send(method: string, params: unknown[] | Record<string, unknown>): Promise<unknown> {
    if (OVERRIDABLE_METHODS.has(method) && Array.isArray(params)) return super.send(method, paramsWithOverride(params, this.override));
    return super.send(method, params);
  }

  override _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    return this.inner._send(payload);
  }
}

/** See StateOverrideJsonRpcProvider. Destroying the returned provider leaves the inner one running. */
export function withStateOverride(provider: JsonRpcProvider, override: StateOverride): JsonRpcProvider {
  return new StateOverrideJsonRpcProvider(provider, override);
}
