/**
 * Reads, at one block, what an Aave V3 Pool prices each reserve at and the feed behind that price, for the oracle
 * circuit breakers (functions/domain/oracle-breaker.ts), in ONE eth_call: contracts/src/OracleLens.sol, installed
 * by an eth_call state override (no deployment), reads the block's timestamp, the Pool's AaveOracle, the reserve
 * list and, per reserve, its id, variable borrow rate, source, price (AaveOracle.getAssetPrice) and round
 * (`latestRoundData()`). The same readings as AaveV3OracleReader (4 + N calls per block), plus each reserve's
 * variable borrow rate, and without its caches: ids and sources are read at every block.
 *
 * A node that refuses state overrides (call-failure.ts: override-refused) gets the per-call AaveV3OracleReader from
 * then on (told once through `onFallback`). Any other failure (network, rate limit, HTTP 5xx, the lens reverting
 * because the Pool did) fails the read with an OracleReadError, as the per-call reader does; its cause is the
 * node's error, which the worker's classification calls retryable.
 */
import { getAddress, type JsonRpcProvider } from 'ethers';
import type { FeedRound, OracleReading, PoolPrice } from '../../domain/oracle-breaker';
import { AaveV3OracleReader, OracleReadError, type OracleReadResult } from './aave-v3-oracle-reader';
import { classifyCallFailure, isNodeTrouble } from './call-failure';
import {
  ORACLE_LENS_ADDRESS,
  ORACLE_LENS_HEADER_WORDS,
  ORACLE_LENS_RUNTIME_BYTECODE,
  ORACLE_LENS_SELECTOR,
  ORACLE_LENS_STATUS,
  ORACLE_LENS_WORDS_PER_RESERVE,
} from './oracle-lens';

/** `lens-override`: one eth_call per block; `per-call`: AaveV3OracleReader, for nodes that refuse state overrides. */
export type OracleLensReadMode = 'lens-override' | 'per-call';

export interface OracleLensReaderOptions {
  /**
   * Gas allowance of the lens call (anvil needs an explicit gas on big eth_calls). About 50k per reserve was
   * measured on the local market; the default leaves room for a few hundred reserves behind Chainlink proxies and
   * stays under geth's default eth_call cap (RPCGasCap, 50M).
   */
  gas?: bigint;
  /** Told once when the node refuses state overrides and the reader falls back to per-call reads. */
  onFallback?: (reason: string) => void;
}

const DEFAULT_GAS = 30_000_000n;
const ADDRESS_LIMIT = 1n << 160n;
const INT256_SIGN = 1n << 255n;
const UINT256_MODULUS = 1n << 256n;

function reasonOf(err: unknown): string {
  const e = err as { shortMessage?: unknown; message?: unknown };
  return String(e.shortMessage ?? e.message ?? err);
}

function pad32(address: string): string {
  return address.toLowerCase().replace(/^0x/, '').padStart(64, '0');
}

/** ABI encoding of `observe(pool)`, written out (one static argument). */
export function encodeOracleLensCall(pool: string): string {
  return ORACLE_LENS_SELECTOR + pad32(pool);
}

/** What the lens reports for one block, decoded (everything of an OracleReadResult but block and rpcCalls). */
export interface OracleLensObservation {
  blockTimestampSec: bigint;
  oracle: string;
  readings: OracleReading[];
}

class LensWords {
  private readonly hex: string;
  /** Words of the uint256[] (after the ABI offset and length words). */
  readonly count: number;

  constructor(result: string) {
    if (!/^0x(?:[0-9a-fA-F]{64})*$/.test(result)) {
      throw new Error(`oracle lens returned ${result.length > 66 ? `${result.slice(0, 66)}…` : JSON.stringify(result)}, not whole 32-byte words`);
    }
    this.hex = result.slice(2);
    const available = this.hex.length / 64;
    if (available < 2) throw new Error(`oracle lens returned ${available} words, too short for an ABI-encoded uint256[]`);
    const offset = this.raw(0);
    if (offset !== 32n) throw new Error(`oracle lens returned an array at offset ${offset} (expected 32)`);
    const length = this.raw(1);
    if (length !== BigInt(available - 2)) throw new Error(`oracle lens declared ${length} words but returned ${available - 2}`);
    this.count = available - 2;
  }

  private raw(index: number): bigint {
    return BigInt(`0x${this.hex.slice(index * 64, index * 64 + 64)}`);
  }

  at(index: number): bigint {
    return this.raw(index + 2);
  }

  address(index: number, what: string): string {
    const value = this.at(index);
    if (value >= ADDRESS_LIMIT) throw new Error(`oracle lens word ${index} (${what}) is not an address: 0x${value.toString(16)}`);
    return getAddress(`0x${value.toString(16).padStart(40, '0')}`);
  }
}

function decodePrice(status: bigint, priceBase: bigint, reserve: number): PoolPrice {
  switch (status) {
    case ORACLE_LENS_STATUS.ok:
      return { kind: 'price', priceBase };
    case ORACLE_LENS_STATUS.reverted:
      return { kind: 'unavailable', reason: 'getAssetPrice reverted' };
    case ORACLE_LENS_STATUS.shortReturn:
      return { kind: 'unavailable', reason: 'getAssetPrice returned too little data' };
    default:
      throw new Error(`oracle lens reserve ${reserve}: unknown price status ${status}`);
  }
}

function decodeFeed(status: bigint, source: string, answerWord: bigint, updatedAtSec: bigint, reserve: number): FeedRound {
  switch (status) {
    case ORACLE_LENS_STATUS.ok:
      // int256 answer, sent as its two's complement.
      return { kind: 'round', source, answer: answerWord >= INT256_SIGN ? answerWord - UINT256_MODULUS : answerWord, updatedAtSec };
    case ORACLE_LENS_STATUS.noSource:
      // Worded as AaveV3OracleReader.readFeed words it.
      return { kind: 'unavailable', source, reason: 'no source (base currency or fallback oracle only)' };
    case ORACLE_LENS_STATUS.noCode:
      return { kind: 'unavailable', source, reason: 'latestRoundData failed: no code at source' };
    case ORACLE_LENS_STATUS.reverted:
      return { kind: 'unavailable', source, reason: 'latestRoundData failed: reverted' };
    case ORACLE_LENS_STATUS.shortReturn:
      return { kind: 'unavailable', source, reason: 'latestRoundData failed: returned too little data' };
    default:
      throw new Error(`oracle lens reserve ${reserve}: unknown feed status ${status}`);
  }
}

/**
 * Decodes OracleLens.observe's `uint256[]` (layout in contracts/src/OracleLens.sol). Throws, naming what is wrong,
 * on anything that is not exactly that layout: a short or ragged result, a word count that disagrees with the
 * reserve count, an address word wider than 160 bits, an unknown status.
 */
export function decodeOracleLensResult(result: string): OracleLensObservation {
  const words = new LensWords(result);
  if (words.count < ORACLE_LENS_HEADER_WORDS) {
    throw new Error(`oracle lens returned ${words.count} words, fewer than its ${ORACLE_LENS_HEADER_WORDS}-word header`);
  }
  const reserves = words.at(2);
  const expected = BigInt(ORACLE_LENS_HEADER_WORDS) + reserves * BigInt(ORACLE_LENS_WORDS_PER_RESERVE);
  if (BigInt(words.count) !== expected) {
    throw new Error(`oracle lens returned ${words.count} words for ${reserves} reserves (expected ${expected})`);
  }
  const readings: OracleReading[] = [];
  for (let i = 0; i < Number(reserves); i++) {
    const o = ORACLE_LENS_HEADER_WORDS + i * ORACLE_LENS_WORDS_PER_RESERVE;
    const reserveId = words.at(o + 1);
    if (reserveId >= 1n << 16n) throw new Error(`oracle lens reserve ${i}: id ${reserveId} does not fit a uint16`);
    const source = words.address(o + 3, `source of reserve ${i}`);
    readings.push({
      asset: words.address(o, `asset of reserve ${i}`),
      reserveId: Number(reserveId),
      price: decodePrice(words.at(o + 4), words.at(o + 5), i),
      feed: decodeFeed(words.at(o + 6), source, words.at(o + 7), words.at(o + 8), i),
      variableBorrowRateRay: words.at(o + 2),
    });
  }
  return { blockTimestampSec: words.at(0), oracle: words.address(1, 'oracle'), readings };
}

type LensAttempt = { kind: 'read'; result: OracleReadResult } | { kind: 'refused'; reason: string };

/**
 * AaveV3OracleReader's readAt in one eth_call per block (rpcCalls: 1), each reading carrying its reserve's
 * variable borrow rate. Falls back for good to AaveV3OracleReader when the node refuses state overrides.
 */
export class AaveV3OracleLensReader {
  private mode: OracleLensReadMode = 'lens-override';
  private perCall?: AaveV3OracleReader;
  private readonly calldata: string;
  private readonly gasHex: string;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly poolAddress: string,
    private readonly options: OracleLensReaderOptions = {},
  ) {
    this.calldata = encodeOracleLensCall(poolAddress);
    this.gasHex = `0x${(options.gas ?? DEFAULT_GAS).toString(16)}`;
  }

  get currentMode(): OracleLensReadMode {
    return this.mode;
  }

  async readAt(block: number): Promise<OracleReadResult> {
    if (this.mode === 'per-call') return this.perCallReader().readAt(block);
    const attempt = await this.readWithLens(block);
    if (attempt.kind === 'read') return attempt.result;
    this.mode = 'per-call';
    this.options.onFallback?.(`node refused the eth_call state override (${attempt.reason}); reading the oracle with 4 + N calls per block`);
    const read = await this.perCallReader().readAt(block);
    // The refused lens call was a request too.
    return { ...read, rpcCalls: read.rpcCalls + 1 };
  }

  private perCallReader(): AaveV3OracleReader {
    this.perCall ??= new AaveV3OracleReader(this.provider, this.poolAddress);
    return this.perCall;
  }

  private async readWithLens(block: number): Promise<LensAttempt> {
    const call = { to: ORACLE_LENS_ADDRESS, data: this.calldata, gas: this.gasHex };
    const override = { [ORACLE_LENS_ADDRESS]: { code: ORACLE_LENS_RUNTIME_BYTECODE } };
    let result: unknown;
    try {
      result = await this.provider.send('eth_call', [call, `0x${block.toString(16)}`, override]);
    } catch (err) {
      const failure = classifyCallFailure(err);
      if (failure.kind === 'override-refused') return { kind: 'refused', reason: failure.reason };
      // Node trouble keeps its kind in the message; a revert of the lens (the Pool reverted) is in ethers' words.
      const said = isNodeTrouble(failure) ? `${failure.kind}: ${failure.reason}` : reasonOf(err);
      throw new OracleReadError(block, `oracle lens call failed: ${said}`, { cause: err });
    }
    // The lens always returns at least its header: an empty result means the node ran the call without the
    // override (a node that ignores the third parameter), against an address that has no code.
    if (result === '0x') return { kind: 'refused', reason: 'the call returned no data: the node ignored the override' };
    try {
      const observation = decodeOracleLensResult(String(result));
      return { kind: 'read', result: { block, ...observation, rpcCalls: 1 } };
    } catch (err) {
      throw new OracleReadError(block, reasonOf(err), { cause: err });
    }
  }
}
