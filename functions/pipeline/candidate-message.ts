/**
 * The message the scanner puts on the candidate queue and the worker takes off it: a schema, not a cast.
 * bigint values travel as decimal strings. A body that does not decode is rejected with a reason that names the
 * field, and goes to the dead-letter queue without failing its batch-mates.
 */
import * as z from '../zod';

const address = z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address'));
const decimal = z.string().check(z.regex(/^\d+$/, 'must be a non-negative integer as a decimal string'));
const signedDecimal = z.string().check(z.regex(/^-?\d+$/, 'must be an integer as a decimal string'));
const hex = z.string().check(z.regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes'));

/**
 * A price update of one of the market's feeds seen in the mempool: the candidate is liquidatable once it lands,
 * and the worker plans as if it had (the feed's code replaced by a constant feed with `answer`, by state
 * override) and sends right behind it, priced like it (or in a bundle after `raw`).
 */
export const oracleUpdateSchema = z.strictObject({
  txHash: z.string().check(z.regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte transaction hash')),
  /** The contract the update is sent to (the aggregator the Pool's price source reads). */
  feed: address,
  /** Its new answer, in the feed's decimals. */
  answer: signedDecimal,
  decimals: z.number().check(z.int(), z.nonnegative(), z.lte(36)),
  /** The update's fees: the follower pays the same, so a fee-ordered block keeps it right behind. */
  maxFeePerGas: z.optional(decimal),
  maxPriorityFeePerGas: z.optional(decimal),
  gasPrice: z.optional(decimal),
  /** The update's signed transaction, for a bundle relay (absent when it could not be rebuilt). */
  raw: z.optional(hex),
});

export type OracleUpdateRef = z.infer<typeof oracleUpdateSchema>;

export const candidateMessageSchema = z.strictObject({
    version: z.literal(1, { error: 'must be 1' }),
    chainId: decimal,
    /** The lending market, identified by its Pool address. */
    pool: address,
    borrower: address,
    /** Block at which the scanner saw the account liquidatable. */
    detectedBlock: z.number().check(z.int(), z.nonnegative()),
    /** Health factor at detectedBlock, WAD. */
    healthFactorWad: decimal,
    /** Block at which the account first became liquidatable in this episode (for detection latency). */
    firstLiquidatableBlock: z.number().check(z.int(), z.nonnegative()),
    /** How the candidate was produced. */
    source: z.enum(['scanner', 'trigger', 'oracle-update']),
    /**
     * Do not work on it before this block (the rest of a chunked liquidation waits for arbitrage to refill the
     * pool: chunk-rest.ts). SQS FIFO has no per-message delay, so the worker hands a message that is not yet due
     * back to the queue. Absent on messages written before it existed: due at once.
     */
    notBeforeBlock: z.optional(z.number().check(z.int(), z.nonnegative())),
    /** Found from a pending oracle update (source `oracle-update`): not liquidatable until it lands. */
    oracleUpdate: z.optional(oracleUpdateSchema),
});

export type CandidateMessage = z.infer<typeof candidateMessageSchema>;

export class MalformedMessageError extends Error {
  constructor(readonly problems: string[]) {
    super(`malformed candidate message: ${problems.join('; ')}`);
    this.name = 'MalformedMessageError';
  }
}

/** Parses a raw SQS body; throws MalformedMessageError naming every bad field. */
export function decodeCandidateMessage(body: string): CandidateMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new MalformedMessageError([`body is not JSON (${(err as Error).message})`]);
  }
  const parsed = candidateMessageSchema.safeParse(json);
  if (!parsed.success) {
    throw new MalformedMessageError(parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`));
  }
  return parsed.data;
}

export function encodeCandidateMessage(message: CandidateMessage): string {
  return JSON.stringify(candidateMessageSchema.parse(message));
}

/**
 * FIFO deduplication id: the same borrower seen in the same block by two overlapping scanners is one message.
 * SQS allows 128 characters; this is at most 20 + 42 + 42 + 10 + 3.
 */
export function deduplicationIdOf(message: Pick<CandidateMessage, 'chainId' | 'pool' | 'borrower' | 'detectedBlock'>): string {
  return `${message.chainId}#${message.pool.toLowerCase()}#${message.borrower.toLowerCase()}#${message.detectedBlock}`;
}

/** The market a candidate belongs to, `chainId#pool` (the key of the market in every table). */
export function marketKeyOf(message: Pick<CandidateMessage, 'chainId' | 'pool'>): string {
  return `${message.chainId}#${message.pool.toLowerCase()}`;
}

/**
 * FIFO message group: one group per borrower. SQS hands a group's messages out one at a time, so two candidates
 * for the same account are never worked on at once, while different accounts go out together (up to 10 per
 * batch). The signer's nonce sequence is kept by the worker's send lane, not by the queue.
 */
export function messageGroupIdOf(message: Pick<CandidateMessage, 'chainId' | 'pool' | 'borrower'>): string {
  return `${message.chainId}#${message.pool.toLowerCase()}#${message.borrower.toLowerCase()}`;
}
