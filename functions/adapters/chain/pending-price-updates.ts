/**
 * Price updates waiting in the node's mempool: the transactions that will move a price feed the Aave market reads,
 * seen before they are mined, so the keeper can compute which accounts the new price makes liquidatable (reading
 * through price-override.ts's `withStateOverride`) and send their liquidations right behind the update.
 *
 * Each poll asks the node for the pending transactions it learned of since the last poll
 * (`eth_newPendingTransactionFilter` + `eth_getFilterChanges`), fetches each one (`eth_getTransactionByHash`: a
 * pending filter yields hashes only) and decodes those sent to a watched address:
 * - the local world's SettablePriceFeed: `setPrice(int256)`, `setRoundData(int256,uint256)`
 *   (contracts/src/SettablePriceFeed.sol);
 * - a Chainlink OCR2 aggregator: `transmit(bytes32[3],bytes,bytes32[],bytes32[],bytes32)`.
 * Anything else sent to a watched address is reported as `unrecognised`, never guessed at.
 *
 * A decoded answer is what the transaction asks for, not a promise it lands: it may revert (a stale OCR report, a
 * median outside the aggregator's min/max answer, a caller that is not the feed's owner or a transmitter) or be
 * replaced. Cost: one eth_getTransactionByHash per pending transaction the node sees, watched or not.
 */
import { AbiCoder, getAddress, Interface, Signature, Transaction, type TransactionLike } from 'ethers';
import * as z from '../../zod';
import { mapWithConcurrency } from '../concurrency';
import { classifyCallFailure, isRevert } from './call-failure';
import { type JsonRpcSend, rpcErrorText } from './aave-v3-event-source';

/** Fees the transaction offers: type 2 (and later) by max fee and tip, types 0 and 1 by gas price. */
export type TransactionFees =
  | { kind: 'eip1559'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
  | { kind: 'legacy'; gasPrice: bigint };

/** The signed transaction as broadcast (what a bundle relay needs), or why it could not be rebuilt. */
export type SignedTransaction = { kind: 'signed'; serialized: string } | { kind: 'unavailable'; reason: string };

export type PriceUpdateMethod = 'setPrice' | 'setRoundData' | 'transmit';

/**
 * The updatedAt the feed will report once the update lands: the timestamp of the block that includes it
 * (setPrice; an OCR2 aggregator records `block.timestamp` as updatedAt), or the one the call names (setRoundData).
 */
export type PendingUpdatedAt = { kind: 'inclusion-block' } | { kind: 'explicit'; sec: bigint };

/** A decoded call to a feed; pure, no I/O. */
export type FeedCall =
  | { kind: 'answer'; method: PriceUpdateMethod; answer: bigint; updatedAt: PendingUpdatedAt }
  | { kind: 'unrecognised'; selector: string; reason: string };

interface PendingFeedTransaction {
  txHash: string;
  /** Checksummed. */
  from: string;
  nonce: number;
  /** The watched address the transaction calls (for Chainlink: the aggregator, not the proxy AaveOracle reads). */
  to: string;
  /** The reserve assets priced by `to`, as given to `watch`. */
  assets: readonly string[];
  gasLimit: bigint;
  fees: TransactionFees;
  raw: SignedTransaction;
}

export type PendingPriceUpdate = PendingFeedTransaction & FeedCall;

export interface PendingPricePoll {
  /** Transactions to watched addresses, in the order the node listed their hashes. */
  updates: PendingPriceUpdate[];
  /** New pending hashes the node listed this poll. */
  hashes: number;
  /** Listed hashes already mined, or no longer known to the node, when fetched. */
  mined: number;
  gone: number;
  /**
   * `created`: the first poll (or the first after `close`), which only starts the filter: the node lists what
   * arrives after that. `recreated`: the node had dropped the filter (it expires unpolled; anvil after 5 minutes),
   * so transactions that arrived since the previous poll were missed.
   */
  filter: 'existing' | 'created' | 'recreated';
  /** JSON-RPC requests made by this poll. */
  rpcCalls: number;
}

/** A watched feed's source as AaveOracle reports it, and the address its updates are sent to. */
export interface ResolvedFeedSource {
  source: string;
  target: string;
  /** `aggregator`: the source answered `aggregator()` (an EACAggregatorProxy); `self`: it did not. */
  via: 'aggregator' | 'self';
}

export interface PendingPriceUpdatesOptions {
  /** eth_getTransactionByHash calls in flight at once (default 8). */
  concurrency?: number;
}

export class PendingPriceUpdatesError extends Error {
  constructor(
    readonly operation: 'poll' | 'resolveAggregators' | 'close',
    message: string,
    options: { cause: unknown },
  ) {
    super(`pending price updates: ${operation} failed: ${message}`, options);
    this.name = 'PendingPriceUpdatesError';
  }
}

const FEED_INTERFACE = new Interface([
  // contracts/src/SettablePriceFeed.sol
  'function setPrice(int256 answer)',
  'function setRoundData(int256 answer, uint256 updatedAt)',
  // Chainlink OCR2Aggregator (smartcontractkit/libocr, contract2/OCR2Aggregator.sol, `transmit`)
  'function transmit(bytes32[3] reportContext, bytes report, bytes32[] rs, bytes32[] ss, bytes32 rawVs)',
  // EACAggregatorProxy
  'function aggregator() view returns (address)',
]);
const SET_PRICE = FEED_INTERFACE.getFunction('setPrice')!;
const SET_ROUND_DATA = FEED_INTERFACE.getFunction('setRoundData')!;
const TRANSMIT = FEED_INTERFACE.getFunction('transmit')!;
const AGGREGATOR_CALL = FEED_INTERFACE.encodeFunctionData('aggregator');

/** OCR2Aggregator._decodeReport: `abi.decode(rawReport, (uint32, bytes32, int192[], int192))`. */
const OCR2_REPORT_TYPES = ['uint32', 'bytes32', 'int192[]', 'int192'];

/**
 * The answer an OCR2 report sets, as smartcontractkit/libocr contract2/OCR2Aggregator.sol computes it:
 * `_requireExpectedReportLength` (5 words + one per observation, else the transaction reverts "report length
 * mismatch"), then in `_report` `median = report.observations[report.observations.length/2]` (observations arrive
 * sorted; the contract does not re-sort). The same in smartcontractkit/chainlink's DualAggregator (a port of it).
 * Returns a reason instead when the aggregator would revert on the report's shape alone.
 */
export function ocr2ReportMedian(report: string): { kind: 'median'; answer: bigint } | { kind: 'invalid'; reason: string } {
  let observations: bigint[];
  try {
    observations = (AbiCoder.defaultAbiCoder().decode(OCR2_REPORT_TYPES, report)[2] as bigint[]).map((o) => BigInt(o));
  } catch (err) {
    return { kind: 'invalid', reason: `report does not decode as (uint32, bytes32, int192[], int192): ${messageOf(err)}` };
  }
  const reportBytes = (report.length - 2) / 2;
  const expectedBytes = 32 * 5 + 32 * observations.length;
  if (reportBytes !== expectedBytes) return { kind: 'invalid', reason: `report is ${reportBytes} bytes, the aggregator requires ${expectedBytes} for ${observations.length} observations` };
  if (observations.length === 0) return { kind: 'invalid', reason: 'report has no observations' };
  return { kind: 'median', answer: observations[Math.floor(observations.length / 2)] };
}

/** What a transaction's input asks a feed to do (pure). */
export function decodeFeedCall(input: string): FeedCall {
  const selector = input.slice(0, 10).toLowerCase();
  const unrecognised = (reason: string): FeedCall => ({ kind: 'unrecognised', selector, reason });
  if (input.length < 10) return unrecognised('input shorter than a selector');
  try {
    if (selector === SET_PRICE.selector) {
      const [answer] = FEED_INTERFACE.decodeFunctionData(SET_PRICE, input);
      return { kind: 'answer', method: 'setPrice', answer: BigInt(answer as bigint), updatedAt: { kind: 'inclusion-block' } };
    }
    if (selector === SET_ROUND_DATA.selector) {
      const [answer, updatedAt] = FEED_INTERFACE.decodeFunctionData(SET_ROUND_DATA, input);
      return { kind: 'answer', method: 'setRoundData', answer: BigInt(answer as bigint), updatedAt: { kind: 'explicit', sec: BigInt(updatedAt as bigint) } };
    }
    if (selector === TRANSMIT.selector) {
      const report = FEED_INTERFACE.decodeFunctionData(TRANSMIT, input)[1] as string;
      const median = ocr2ReportMedian(report);
      if (median.kind === 'invalid') return unrecognised(`transmit: ${median.reason}`);
      return { kind: 'answer', method: 'transmit', answer: median.answer, updatedAt: { kind: 'inclusion-block' } };
    }
  } catch (err) {
    return unrecognised(`input does not decode: ${messageOf(err)}`);
  }
  return unrecognised('not a known price update');
}

const quantity = z.string().check(z.regex(/^0x[0-9a-fA-F]+$/, 'must be a hex quantity'));
const hex = z.string().check(z.regex(/^0x[0-9a-fA-F]*$/, 'must be 0x-prefixed hex'));
const word = z.string().check(z.regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hex word'));
const address = z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte address'));

/** eth_getTransactionByHash's answer (geth's RPCTransaction), the fields used here. */
const rpcTransactionSchema = z.object({
  hash: word,
  blockNumber: z.optional(z.nullable(quantity)),
  from: address,
  to: z.optional(z.nullable(address)),
  nonce: quantity,
  type: z.optional(quantity),
  chainId: z.optional(quantity),
  gas: quantity,
  gasPrice: z.optional(quantity),
  maxFeePerGas: z.optional(quantity),
  maxPriorityFeePerGas: z.optional(quantity),
  value: quantity,
  input: hex,
  accessList: z.optional(z.array(z.object({ address, storageKeys: z.array(word) }))),
  v: z.optional(quantity),
  r: quantity,
  s: quantity,
  yParity: z.optional(quantity),
});
export type RpcTransaction = z.infer<typeof rpcTransactionSchema>;

const hashesSchema = z.array(word);

function typeOf(tx: RpcTransaction): number {
  return tx.type === undefined ? 0 : Number(BigInt(tx.type));
}

function feesOf(tx: RpcTransaction): TransactionFees {
  if (typeOf(tx) >= 2) {
    if (tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined) throw new Error(`type ${typeOf(tx)} transaction ${tx.hash} has no maxFeePerGas/maxPriorityFeePerGas`);
    return { kind: 'eip1559', maxFeePerGas: BigInt(tx.maxFeePerGas), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas) };
  }
  if (tx.gasPrice === undefined) throw new Error(`type ${typeOf(tx)} transaction ${tx.hash} has no gasPrice`);
  return { kind: 'legacy', gasPrice: BigInt(tx.gasPrice) };
}

/**
 * The signed transaction rebuilt from the node's fields (ethers `Transaction.from({...fields, signature})`), kept
 * only if it hashes to the node's hash: then its bytes are exactly those the sender signed and broadcast. Types 0,
 * 1 and 2; a blob transaction (3) cannot be rebuilt from these fields (its network form carries the blobs) and a
 * set-code transaction (4) is not handled yet: both are reported unavailable.
 */
export function rebuildSignedTransaction(tx: RpcTransaction): SignedTransaction {
  const type = typeOf(tx);
  if (type > 2) return { kind: 'unavailable', reason: `type ${type} transactions are not rebuilt` };
  try {
    const signature =
      type === 0
        ? Signature.from({ r: tx.r, s: tx.s, v: BigInt(tx.v ?? '0x0') })
        : Signature.from({ r: tx.r, s: tx.s, yParity: Number(BigInt(tx.yParity ?? tx.v ?? '0x0')) as 0 | 1 });
    // A legacy transaction's chain id is in its v (EIP-155; none before it), whether or not the node reports one.
    const chainId = type === 0 ? (signature.networkV === null ? 0n : Signature.getChainId(signature.networkV)) : BigInt(tx.chainId ?? '0x0');
    const fields: TransactionLike<string> = {
      type,
      chainId,
      nonce: Number(BigInt(tx.nonce)),
      gasLimit: BigInt(tx.gas),
      to: tx.to ?? null,
      value: BigInt(tx.value),
      data: tx.input,
      signature,
    };
    if (type === 2) Object.assign(fields, { maxFeePerGas: BigInt(tx.maxFeePerGas!), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas!) });
    else fields.gasPrice = BigInt(tx.gasPrice!);
    if (type >= 1) fields.accessList = tx.accessList ?? [];
    const rebuilt = Transaction.from(fields);
    if (rebuilt.hash !== tx.hash.toLowerCase()) return { kind: 'unavailable', reason: `rebuilt transaction hashes to ${rebuilt.hash}, not ${tx.hash}` };
    return { kind: 'signed', serialized: rebuilt.serialized };
  } catch (err) {
    return { kind: 'unavailable', reason: `could not rebuild the signed transaction: ${messageOf(err)}` };
  }
}


function messageOf(err: unknown): string {
  const e = err as { shortMessage?: unknown; message?: unknown };
  return String(e.shortMessage ?? e.message ?? err);
}

/** geth, anvil and erigon: "filter not found"; nethermind: "Filter with id … does not exist". */
const FILTER_GONE = /filter not found|filter .*does not exist/i;

type Send = (method: string, params: unknown[]) => Promise<unknown>;

/**
 * Watches the node's mempool for price updates to the watched feeds. Keeps one pending-transaction filter on the
 * node (each hash is listed once per filter); not safe for concurrent polls.
 */
export class PendingPriceUpdates {
  private watched = new Map<string, readonly string[]>();
  private filterId: string | undefined;
  private readonly concurrency: number;

  constructor(
    private readonly provider: JsonRpcSend,
    options: PendingPriceUpdatesOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 8;
    if (this.concurrency < 1) throw new RangeError(`concurrency must be at least 1, got ${this.concurrency}`);
  }

  /** The addresses whose incoming transactions are decoded (any case) → the reserve assets each one prices. */
  watch(feeds: ReadonlyMap<string, readonly string[]>): void {
    this.watched = new Map([...feeds].map(([feed, assets]) => [feed.toLowerCase(), assets]));
  }

  /**
   * Where each source's updates are sent, at `block`: an EACAggregatorProxy (what AaveOracle.getSourceOfAsset
   * returns on mainnet) forwards reads to its current `aggregator()`, and the oracles transmit to that aggregator;
   * a source that does not answer `aggregator()` with an address (a revert, no code, too little data, zero, itself:
   * the local SettablePriceFeed, a price-cap adapter) is its own target. One eth_call per source.
   */
  async resolveAggregators(sources: readonly string[], block: number): Promise<{ resolved: ResolvedFeedSource[]; rpcCalls: number }> {
    const blockTag = `0x${block.toString(16)}`;
    try {
      const resolved = await mapWithConcurrency(sources, this.concurrency, async (source): Promise<ResolvedFeedSource> => {
        const self: ResolvedFeedSource = { source: getAddress(source), target: getAddress(source), via: 'self' };
        let result: string;
        try {
          result = (await this.provider.send('eth_call', [{ to: source, data: AGGREGATOR_CALL }, blockTag])) as string;
        } catch (err) {
          // Reverted (no `aggregator()`): its own target. A node failing the call is not an answer: thrown.
          if (isRevert(classifyCallFailure(err))) return self;
          throw err;
        }
        if (!/^0x[0-9a-fA-F]{64}/.test(result)) return self;
        const value = BigInt(result.slice(0, 66));
        if (value === 0n || value >> 160n !== 0n) return self;
        const target = getAddress(`0x${value.toString(16).padStart(40, '0')}`);
        return target === self.source ? self : { source: self.source, target, via: 'aggregator' };
      });
      return { resolved, rpcCalls: sources.length };
    } catch (err) {
      throw new PendingPriceUpdatesError('resolveAggregators', `aggregator() at block ${block}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** Pending transactions to watched feeds that the node learned of since the last poll. */
  async poll(): Promise<PendingPricePoll> {
    let rpcCalls = 0;
    const send: Send = (method, params) => {
      rpcCalls++;
      return this.provider.send(method, params);
    };
    try {
      const { hashes, filter } = await this.newPendingHashes(send);
      let mined = 0;
      let gone = 0;
      const fetched = await mapWithConcurrency(hashes, this.concurrency, async (hash) => {
        const answer = await send('eth_getTransactionByHash', [hash]);
        if (answer === null) {
          gone++;
          return undefined;
        }
        const parsed = rpcTransactionSchema.safeParse(answer);
        if (!parsed.success) throw new Error(`eth_getTransactionByHash(${hash}) answered ${parsed.error.message}`);
        if (parsed.data.blockNumber !== undefined && parsed.data.blockNumber !== null) {
          mined++;
          return undefined;
        }
        return parsed.data;
      });
      const updates: PendingPriceUpdate[] = [];
      for (const tx of fetched) {
        const assets = tx?.to ? this.watched.get(tx.to.toLowerCase()) : undefined;
        if (tx && assets) updates.push(this.toUpdate(tx, assets));
      }
      return { updates, hashes: hashes.length, mined, gone, filter, rpcCalls };
    } catch (err) {
      throw new PendingPriceUpdatesError('poll', messageOf(err), { cause: err });
    }
  }

  /** Removes the node's filter (best effort: an expired filter is already gone). The next poll starts a new one. */
  async close(): Promise<void> {
    const id = this.filterId;
    this.filterId = undefined;
    if (id === undefined) return;
    try {
      await this.provider.send('eth_uninstallFilter', [id]);
    } catch (err) {
      throw new PendingPriceUpdatesError('close', `eth_uninstallFilter(${id}): ${messageOf(err)}`, { cause: err });
    }
  }

  private async newPendingHashes(send: Send): Promise<{ hashes: string[]; filter: PendingPricePoll['filter'] }> {
    let filter: PendingPricePoll['filter'] = 'existing';
    if (this.filterId === undefined) {
      this.filterId = await this.newFilter(send);
      filter = 'created';
    }
    let changes: unknown;
    try {
      changes = await send('eth_getFilterChanges', [this.filterId]);
    } catch (err) {
      if (!FILTER_GONE.test(rpcErrorText(err))) throw err;
      this.filterId = await this.newFilter(send);
      filter = 'recreated';
      changes = await send('eth_getFilterChanges', [this.filterId]);
    }
    const parsed = hashesSchema.safeParse(changes);
    if (!parsed.success) throw new Error(`eth_getFilterChanges answered ${parsed.error.message} (expected transaction hashes)`);
    return { hashes: parsed.data, filter };
  }

  private async newFilter(send: Send): Promise<string> {
    const id = await send('eth_newPendingTransactionFilter', []);
    if (typeof id !== 'string') throw new Error(`eth_newPendingTransactionFilter answered ${JSON.stringify(id)}, not a filter id`);
    return id;
  }

  private toUpdate(tx: RpcTransaction, assets: readonly string[]): PendingPriceUpdate {
    return {
      txHash: tx.hash,
      from: getAddress(tx.from),
      nonce: Number(BigInt(tx.nonce)),
      to: getAddress(tx.to!),
      assets,
      gasLimit: BigInt(tx.gas),
      fees: feesOf(tx),
      raw: rebuildSignedTransaction(tx),
      ...decodeFeedCall(tx.input),
    };
  }
}
