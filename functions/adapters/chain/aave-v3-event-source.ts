/**
 * The account events of one Aave V3 Pool, read with eth_getLogs. The seven events and their topics are the
 * same in V3.0 (@aave/core-v3 contracts/interfaces/IPool.sol) and v3.6 (aave-v3-origin
 * src/contracts/interfaces/IPool.sol); the logic libraries emit them by DELEGATECALL (V3.0) or as internal
 * code of the Pool, so every log's address is the Pool proxy. test/unit/pipeline/index-borrowers.test.ts checks
 * the signatures against both IPool.sol sources in node_modules.
 *
 * The same eth_getLogs also asks for DeficitCreated (v3.3+; a V3.0 Pool never emits it), and the details of
 * LiquidationCall and DeficitCreated logs are decoded for the capture-rate and bad-debt records
 * (functions/pipeline/record-liquidations.ts).
 */
import { id, Interface, type JsonRpcProvider, toQuantity } from 'ethers';
import * as z from '../../zod';
import type { AccountEvent, AccountEventKind, AccountEventRead, AccountEventSource } from '../../pipeline/index-borrowers';
import type { DeficitLog, LiquidationLog } from '../../ports/market-liquidations';

interface PoolEvent {
  kind: AccountEventKind;
  /** Canonical signature (enum `InterestRateMode` is `uint8` in the ABI). */
  signature: string;
  /** Index in `topics` of the account whose position changed (topics[0] is the event's hash). */
  accountTopic: 1 | 2 | 3;
}

export const AAVE_V3_ACCOUNT_EVENTS: readonly PoolEvent[] = [
  // Supply(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referralCode)
  { kind: 'supply', signature: 'Supply(address,address,address,uint256,uint16)', accountTopic: 2 },
  // Withdraw(address indexed reserve, address indexed user, address indexed to, uint256 amount)
  { kind: 'withdraw', signature: 'Withdraw(address,address,address,uint256)', accountTopic: 2 },
  // Borrow(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount,
  //        InterestRateMode interestRateMode, uint256 borrowRate, uint16 indexed referralCode)
  { kind: 'borrow', signature: 'Borrow(address,address,address,uint256,uint8,uint256,uint16)', accountTopic: 2 },
  // Repay(address indexed reserve, address indexed user, address indexed repayer, uint256 amount, bool useATokens)
  { kind: 'repay', signature: 'Repay(address,address,address,uint256,bool)', accountTopic: 2 },
  // LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, …)
  { kind: 'liquidation', signature: 'LiquidationCall(address,address,address,uint256,uint256,address,bool)', accountTopic: 3 },
  // ReserveUsedAsCollateralEnabled / Disabled(address indexed reserve, address indexed user)
  { kind: 'collateral-enabled', signature: 'ReserveUsedAsCollateralEnabled(address,address)', accountTopic: 2 },
  { kind: 'collateral-disabled', signature: 'ReserveUsedAsCollateralDisabled(address,address)', accountTopic: 2 },
];

const BY_TOPIC = new Map(AAVE_V3_ACCOUNT_EVENTS.map((event) => [id(event.signature), event]));

/**
 * The two logs read in full. LiquidationCall: IPool.sol (both versions); DeficitCreated: aave-v3-origin
 * src/contracts/interfaces/IPool.sol (v3.3+), emitted by LiquidationLogic._burnBadDebt.
 */
export const POOL_DETAIL_EVENTS = new Interface([
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
  'event DeficitCreated(address indexed user, address indexed debtAsset, uint256 amountCreated)',
]);
const LIQUIDATION_TOPIC = POOL_DETAIL_EVENTS.getEvent('LiquidationCall')!.topicHash;
const DEFICIT_TOPIC = POOL_DETAIL_EVENTS.getEvent('DeficitCreated')!.topicHash;
const TOPICS = [...BY_TOPIC.keys(), DEFICIT_TOPIC];

/**
 * Node answers that mean "ask for fewer blocks", as providers word them: geth/Infura "query returned more than
 * 10000 results", Alchemy "Log response size exceeded", QuickNode "eth_getLogs is limited to a 10,000 range",
 * Ankr "block range is too wide", BSC "exceed maximum block range: 50000", Chainstack "Block range limit exceeded",
 * Erigon "query exceeds max block range", and "too many results"-style variants.
 */
export const RANGE_TOO_LARGE =
  /too many (results|logs|blocks)|returned more than|response size|block range|range (is )?too (large|wide|big)|exceeds? (the )?max(imum)? (block )?range|range limit|limited to (a )?[\d,]+ (block )?range|max(imum)? results|query timeout/i;

const hex = z.string().check(z.regex(/^0x[0-9a-fA-F]*$/, 'must be 0x-prefixed hex'));
const word = z.string().check(z.regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hex word'));
const logSchema = z.object({
  address: z.string(),
  topics: z.array(word).check(z.minLength(1)),
  blockNumber: hex,
  data: z._default(hex, '0x'),
  transactionHash: z.optional(word),
  logIndex: z.optional(hex),
  removed: z.optional(z.boolean()),
});
type RawLog = z.output<typeof logSchema>;
const logsSchema = z.array(logSchema);
const blockSchema = z.nullable(z.object({ hash: word }));

export class EventSourceError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'EventSourceError';
  }
}

/** The text a node put in a JSON-RPC error (ethers wraps it in `error` or, for HTTP errors, `info.responseBody`). */
export function rpcErrorText(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const parts: string[] = [];
  const nested = (err as { error?: unknown }).error;
  if (typeof nested === 'object' && nested !== null && typeof (nested as { message?: unknown }).message === 'string') {
    parts.push((nested as { message: string }).message);
  }
  const info = (err as { info?: unknown }).info;
  if (typeof info === 'object' && info !== null && typeof (info as { responseBody?: unknown }).responseBody === 'string') {
    parts.push((info as { responseBody: string }).responseBody);
  }
  if (parts.length === 0 && err instanceof Error) parts.push(err.message);
  return parts.join(' | ');
}

/** Only `send` is used, so tests can answer with canned JSON-RPC results and errors. */
export type JsonRpcSend = Pick<JsonRpcProvider, 'send'>;

export class AaveV3EventSource implements AccountEventSource {
  private readonly pool: string;

  constructor(
    private readonly rpc: JsonRpcSend,
    pool: string,
  ) {
    this.pool = pool.toLowerCase();
  }

  async headBlock(): Promise<number> {
    return Number(hex.parse(await this.rpc.send('eth_blockNumber', [])));
  }

  async blockHash(block: number): Promise<string> {
    const parsed = blockSchema.safeParse(await this.rpc.send('eth_getBlockByNumber', [toQuantity(block), false]));
    if (!parsed.success) throw new EventSourceError(`eth_getBlockByNumber(${block}) returned a malformed block: ${parsed.error.message}`);
    if (!parsed.data) throw new EventSourceError(`the node has no block ${block}`);
    return parsed.data.hash.toLowerCase();
  }

  async readEvents(fromBlock: number, toBlock: number): Promise<AccountEventRead> {
    let raw: unknown;
    try {
      raw = await this.rpc.send('eth_getLogs', [
        { address: this.pool, fromBlock: toQuantity(fromBlock), toBlock: toQuantity(toBlock), topics: [TOPICS] },
      ]);
    } catch (err) {
      const text = rpcErrorText(err);
      if (RANGE_TOO_LARGE.test(text)) return { kind: 'range-too-large', reason: text };
      throw new EventSourceError(`eth_getLogs for blocks ${fromBlock}–${toBlock} of pool ${this.pool} failed: ${text}`, err);
    }
    const parsed = logsSchema.safeParse(raw);
    if (!parsed.success) {
      throw new EventSourceError(`eth_getLogs for blocks ${fromBlock}–${toBlock} returned malformed logs: ${parsed.error.message}`);
    }
    const events: AccountEvent[] = [];
    const liquidations: LiquidationLog[] = [];
    const deficits: DeficitLog[] = [];
    for (const log of parsed.data) {
      // `removed` is only set on filter subscriptions; a range query answers from the canonical chain.
      if (log.removed || log.address.toLowerCase() !== this.pool) continue;
      const topic0 = log.topics[0].toLowerCase();
      if (topic0 === LIQUIDATION_TOPIC) liquidations.push(decodeLiquidation(log));
      if (topic0 === DEFICIT_TOPIC) deficits.push(decodeDeficit(log));
      const event = BY_TOPIC.get(topic0);
      const topic = event ? log.topics[event.accountTopic] : undefined;
      if (!event || !topic) continue;
      // An indexed address is the last 20 bytes of its 32-byte topic.
      events.push({ kind: event.kind, account: `0x${topic.slice(26).toLowerCase()}`, block: Number(log.blockNumber) });
    }
    return { kind: 'events', events, liquidations, deficits };
  }
}

/** Where a log sits: its transaction and index (required for the logs recorded one item each). */
function positionOf(log: RawLog): { txHash: string; logIndex: number; block: number } {
  if (!log.transactionHash || log.logIndex === undefined) {
    throw new EventSourceError(`a log of block ${Number(log.blockNumber)} has no transactionHash or logIndex`);
  }
  return { txHash: log.transactionHash.toLowerCase(), logIndex: Number(log.logIndex), block: Number(log.blockNumber) };
}

function decodeDetail(name: 'LiquidationCall' | 'DeficitCreated', log: RawLog) {
  try {
    return POOL_DETAIL_EVENTS.decodeEventLog(name, log.data, log.topics);
  } catch (err) {
    throw new EventSourceError(`a ${name} log of block ${Number(log.blockNumber)} does not decode: ${(err as Error).message}`, err);
  }
}

function decodeLiquidation(log: RawLog): LiquidationLog {
  const args = decodeDetail('LiquidationCall', log);
  return {
    ...positionOf(log),
    borrower: (args.user as string).toLowerCase(),
    liquidator: (args.liquidator as string).toLowerCase(),
    collateralAsset: (args.collateralAsset as string).toLowerCase(),
    debtAsset: (args.debtAsset as string).toLowerCase(),
    debtRepaid: args.debtToCover as bigint,
    collateralSeized: args.liquidatedCollateralAmount as bigint,
    receiveAToken: args.receiveAToken as boolean,
  };
}

function decodeDeficit(log: RawLog): DeficitLog {
  const args = decodeDetail('DeficitCreated', log);
  return { ...positionOf(log), borrower: (args.user as string).toLowerCase(), debtAsset: (args.debtAsset as string).toLowerCase(), amount: args.amountCreated as bigint };
}
