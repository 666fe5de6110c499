/**
 * The execution plan: what the worker decided to send (pair, amounts, health factors, fees, profit after the
 * simulated gas) and, once signed, the transaction that carries it. Typed end to end (bigint amounts whose names
 * carry unit and scale); JSON-safe only at the edges, through the codec below:
 *
 * - the ledger adapter (functions/adapters/store/dynamodb-liquidation-ledger.ts) stores `encodePlan(plan)` and
 *   decodes what it reads, so a stored plan missing a field fails with MalformedPlanError naming the field
 *   instead of reading as 0;
 * - ExecutionResult (execute-candidate.ts) carries the encoded form: Powertools idempotency stores the result as
 *   JSON and replays it as such, so the encoded form is the type a replayed result really has.
 *
 * The encoded plan is flat, every value a string (bigint and counts as decimal strings), with the transaction's
 * fields (`from`, `nonce`, `to`, `data`, `replacements`, `effectiveGasPriceWei`) beside the decision's: the shape
 * ledger items and results have always had.
 *
 * Adding a field: add it to ExecutionPlan (or PlanSubmission) and to its schema below; the `satisfies` clauses
 * do not compile until both agree. A field that plans stored before it lack must be `z.optional(…)` (or carry a
 * documented default), or attempts in flight across the deploy no longer decode.
 */
import * as z from '../zod';
import type { ChunkMarker, CloseFactorRule, FundingMode, LiquidationLimit, SizingStrategyName } from '../domain';

/** The transaction that carries the plan, as the dispatcher (transaction-dispatcher.ts) signed it. */
export interface PlanSubmission {
  /** The signer's address. */
  from: string;
  nonce: number;
  /** Target and calldata: a fee-bumped replacement re-signs exactly these. */
  to: string;
  data: string;
  /** Fee-bumped replacements signed so far (0: the first transaction only). */
  replacements: number;
  /** What the mined (or reverted) transaction paid per gas, from its receipt; absent before. */
  effectiveGasPriceWei?: bigint;
}

export interface ExecutionPlan {
  sizing: SizingStrategyName;
  /** Steps the sizing planned; only the first is sent (a second is left to the next detection of the account). */
  steps: number;
  collateralAsset: string;
  debtAsset: string;
  /** liquidationCall's debtToCover (debt token units); MAX_UINT256 asks for all the close factor allows. */
  debtToCoverUnits: bigint;
  /** Debt the Pool will take (debt token units). */
  debtRepaidUnits: bigint;
  /** Collateral to the liquidator, after the protocol fee (collateral token units). */
  liquidatorCollateralUnits: bigint;
  /** Protocol fee the treasury receives (collateral aToken units): the computed fee as the Pool clamps it. */
  protocolFeeUnits: bigint;
  closeFactor: CloseFactorRule;
  limitedBy: LiquidationLimit;
  healthFactorBeforeWad: bigint;
  healthFactorAfterWad: bigint;
  /**
   * The oracle prices the plan was sized at (base currency, 8 decimals; with a pending update applied when it
   * follows one). Tell a revert on oracle values caused by a price move from one caused by the sizing
   * (revert-attribution.ts). Absent in plans stored before they were kept.
   */
  collateralPriceBase8?: bigint;
  debtPriceBase8?: bigint;
  /** Price of the gas token at the decision's block (base currency, 8 decimals): values gas in base currency. */
  nativePriceBase8: bigint;
  /** Fees at the decision (wei per gas): the first transaction offers these (max fee capped by the gas price cap). */
  baseFeePerGasWei: bigint;
  maxFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
  /** Profit after the simulated gas limit (base currency, 8 decimals; gas also in wei): profitBase is net of all. */
  valueReceivedBase: bigint;
  valueRepaidBase: bigint;
  gasCostWei: bigint;
  gasCostBase: bigint;
  swapCostBase: bigint;
  /** Signed: negative when the liquidation would lose money (such a plan is never sent). */
  profitBase: bigint;
  /** Gas units: the node's estimate, and the limit signed (estimate plus headroom). */
  gasEstimate: bigint;
  gasLimit: bigint;
  /**
   * How our liquidator contract executes it (functions/domain/funded-liquidation.ts). Optional in the stored form
   * only so that plans signed before these fields existed still decode; every plan written now has them.
   */
  funded?: FundedPlanFields;
  /**
   * Set when the liquidation was reduced to a chunk to keep its sale within the price-impact budget
   * (functions/domain/chunked-liquidation.ts): `restRepayUnits` is still owed, for a later candidate
   * (functions/pipeline/chunk-rest.ts). Stored flat as `chunkRestRepayUnits`, `chunkPriceImpactBps`,
   * `chunkMaxPriceImpactBps`, `chunkFullPriceImpactBps`: all four or none (plans stored before it have none).
   */
  chunk?: ChunkMarker;
  /** Absent until the transaction is signed (a dry run never has one). */
  submission?: PlanSubmission;
}

/** The contract call and its market figures at the decision's block. */
export interface FundedPlanFields {
  funding: FundingMode;
  /** Our liquidator contract, the transaction's target. */
  liquidatorContract: string;
  /** Uniswap V3 path bytes of the sale (`0x`: same asset on both sides, no swap). */
  swapPath: string;
  /** QuoterV2's output for the collateral received, at the decision's block (the collateral itself without a swap). */
  quotedAmountOutUnits: bigint;
  amountOutMinimumUnits: bigint;
  /** liquidationCall's finite debtToCover, the flash loan's amount (0 in inventory mode). */
  flashLoanUnits: bigint;
  flashLoanPremiumBps: bigint;
  flashLoanPremiumUnits: bigint;
  /** What the contract keeps: quoted output − debt repaid − premium (debt units; signed). */
  expectedProfitUnits: bigint;
  /** The contract's on-chain guard (debt units): the call reverts if it would keep less. */
  minProfitUnits: bigint;
  /** Set when the sized repay was reduced to fit the reserves' available liquidity: the repay first sized. */
  reducedFromRepayUnits?: bigint;
}

/** The plan as the ledger stores it and results carry it: flat, every value a string. */
export type EncodedPlan = z.input<typeof encodedPlanSchema>;

/** A stored plan that does not decode; `problems` name each field. Permanent: the stored item needs a person. */
export class MalformedPlanError extends Error {
  readonly retryable = false;
  constructor(
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`malformed execution plan (${where}): ${problems.join('; ')}`);
    this.name = 'MalformedPlanError';
  }
}

// ── The codec ───────────────────────────────────────────────────────────────────────────────────────────────

const SIZING_STRATEGIES = ['max', 'target-health', 'two-step', 'best'] as const satisfies readonly SizingStrategyName[];
const CLOSE_FACTOR_RULES = ['half-of-reserve-debt', 'all-of-reserve-debt', 'half-of-total-debt'] as const satisfies readonly CloseFactorRule[];
const LIQUIDATION_LIMITS = ['requested', 'close-factor', 'collateral-balance', 'dust-rule'] as const satisfies readonly LiquidationLimit[];
/** `true` only when `List` names every member of `Union`: a rule the domain adds must be added above. */
type Lists<List extends readonly string[], Union extends string> = [Exclude<Union, List[number]>] extends [never] ? true : false;
const LISTS_ARE_COMPLETE: [Lists<typeof SIZING_STRATEGIES, SizingStrategyName>, Lists<typeof CLOSE_FACTOR_RULES, CloseFactorRule>, Lists<typeof LIQUIDATION_LIMITS, LiquidationLimit>] = [true, true, true];
void LISTS_ARE_COMPLETE;

const expecting = (expected: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? `required (${expected})` : `must be ${expected}`) });

const decimal = z.string(expecting('a non-negative integer as a decimal string')).check(z.regex(/^\d+$/, 'must be a non-negative integer as a decimal string'));
const signedDecimal = z.string(expecting('an integer as a decimal string')).check(z.regex(/^-?\d+$/, 'must be an integer as a decimal string'));
/** bigint ⇄ decimal string. */
const amount = z.codec(decimal, z.bigint(), { decode: (text) => BigInt(text), encode: (value) => value.toString() });
const signedAmount = z.codec(signedDecimal, z.bigint(), { decode: (text) => BigInt(text), encode: (value) => value.toString() });
/** A small count (steps, nonce, replacements) ⇄ decimal string. */
const count = z.codec(decimal, z.number().check(z.int(), z.nonnegative(), z.lte(Number.MAX_SAFE_INTEGER)), { decode: (text) => Number(text), encode: (value) => String(value) });
const address = z.string(expecting('a 0x-prefixed 20-byte hex address')).check(z.regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address'));
const callData = z.string(expecting('0x-prefixed hex bytes')).check(z.regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes'));
const oneOf = <const Values extends readonly [string, ...string[]]>(values: Values) => z.enum(values, expecting(`one of ${values.join(', ')}`));

type Decided = Omit<ExecutionPlan, 'submission' | 'funded' | 'chunk'>;

const decidedFields = {
  sizing: oneOf(SIZING_STRATEGIES),
  steps: count,
  collateralAsset: address,
  debtAsset: address,
  debtToCoverUnits: amount,
  debtRepaidUnits: amount,
  liquidatorCollateralUnits: amount,
  protocolFeeUnits: amount,
  closeFactor: oneOf(CLOSE_FACTOR_RULES),
  limitedBy: oneOf(LIQUIDATION_LIMITS),
  healthFactorBeforeWad: amount,
  healthFactorAfterWad: amount,
  collateralPriceBase8: z.optional(amount),
  debtPriceBase8: z.optional(amount),
  nativePriceBase8: amount,
  baseFeePerGasWei: amount,
  maxFeePerGasWei: amount,
  maxPriorityFeePerGasWei: amount,
  valueReceivedBase: amount,
  valueRepaidBase: amount,
  gasCostWei: amount,
  gasCostBase: amount,
  swapCostBase: amount,
  profitBase: signedAmount,
  gasEstimate: amount,
  gasLimit: amount,
} satisfies { [K in keyof Decided]-?: z.ZodMiniType<Decided[K], undefined extends Decided[K] ? string | undefined : string> };

const FUNDING_MODES = ['flash-loan', 'inventory'] as const satisfies readonly FundingMode[];

/** Flat in the stored form, all present together (or none: a plan stored before they existed). */
const fundedFields = {
  funding: oneOf(FUNDING_MODES),
  liquidatorContract: address,
  swapPath: z.string(expecting('0x-prefixed hex bytes')).check(z.regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes')),
  quotedAmountOutUnits: amount,
  amountOutMinimumUnits: amount,
  flashLoanUnits: amount,
  flashLoanPremiumBps: amount,
  flashLoanPremiumUnits: amount,
  expectedProfitUnits: signedAmount,
  minProfitUnits: amount,
  reducedFromRepayUnits: z.optional(amount),
} satisfies { [K in keyof FundedPlanFields]-?: z.ZodMiniType<FundedPlanFields[K], string | undefined> };
const FUNDED_KEYS = Object.keys(fundedFields) as (keyof FundedPlanFields)[];
const REQUIRED_FUNDED_KEYS = FUNDED_KEYS.filter((key) => key !== 'reducedFromRepayUnits');

/** The chunk marker, flat: `chunk` + the field's name. */
const chunkFields = {
  chunkRestRepayUnits: amount,
  chunkPriceImpactBps: amount,
  chunkMaxPriceImpactBps: amount,
  chunkFullPriceImpactBps: amount,
} as const;
const CHUNK_KEYS = Object.keys(chunkFields) as (keyof typeof chunkFields)[];
const optionalChunkFields = {
  chunkRestRepayUnits: z.optional(amount),
  chunkPriceImpactBps: z.optional(amount),
  chunkMaxPriceImpactBps: z.optional(amount),
  chunkFullPriceImpactBps: z.optional(amount),
};

function flatChunk(chunk: ChunkMarker | undefined): Partial<Record<keyof typeof chunkFields, bigint>> {
  if (!chunk) return {};
  return {
    chunkRestRepayUnits: chunk.restRepayUnits,
    chunkPriceImpactBps: chunk.priceImpactBps,
    chunkMaxPriceImpactBps: chunk.maxPriceImpactBps,
    chunkFullPriceImpactBps: chunk.fullPriceImpactBps,
  };
}

/** Present together once the plan has a transaction. */
const TRANSACTION_FIELDS = ['from', 'nonce', 'to', 'data'] as const;

const submissionFields = {
  from: z.optional(address),
  nonce: z.optional(count),
  to: z.optional(address),
  data: z.optional(callData),
  /**
   * Plans stored before this codec wrote `replacements` only once a replacement was signed: absent with a
   * transaction means 0. (Informational: the replacement limit counts the ledger's transactions.)
   */
  replacements: z.optional(count),
  effectiveGasPriceWei: z.optional(amount),
} satisfies { [K in keyof PlanSubmission]-?: z.ZodMiniType<PlanSubmission[K] | undefined, string | undefined> };

const optionalFundedFields = Object.fromEntries(Object.entries(fundedFields).map(([key, schema]) => [key, z.optional(schema)])) as {
  [K in keyof typeof fundedFields]: z.ZodMiniOptional<(typeof fundedFields)[K]>;
};

const encodedPlanSchema = z.object({ ...decidedFields, ...optionalFundedFields, ...optionalChunkFields, ...submissionFields });

/** The stored form of `plan`. Throws (ZodError) on a value no decoder would accept back, e.g. a negative amount. */
export function encodePlan(plan: ExecutionPlan): EncodedPlan {
  const { submission, funded, chunk, ...decided } = plan;
  const encoded: Record<string, string | undefined> = z.encode(encodedPlanSchema, { ...decided, ...funded, ...flatChunk(chunk), ...submission });
  // No `undefined` values: the result is JSON, and a DynamoDB item.
  return Object.fromEntries(Object.entries(encoded).filter(([, value]) => value !== undefined)) as EncodedPlan;
}

/** The plan a stored form holds; `where` names it in the error (e.g. the ledger's opportunity). Unknown fields are dropped. */
export function decodePlan(stored: unknown, where: string): ExecutionPlan {
  const parsed = z.safeDecode(encodedPlanSchema, stored as EncodedPlan);
  if (!parsed.success) throw new MalformedPlanError(where, parsed.error.issues.map((issue) => `${issue.path.join('.') || '(plan)'}: ${issue.message}`));
  const { from, nonce, to, data, replacements, effectiveGasPriceWei, ...rest } = parsed.data;
  const decided: Decided & { funded?: FundedPlanFields; chunk?: ChunkMarker } = Object.fromEntries(
    Object.entries(rest).filter(([key]) => !(FUNDED_KEYS as string[]).includes(key) && !(CHUNK_KEYS as string[]).includes(key)),
  ) as Decided;
  const chunkPresent = CHUNK_KEYS.filter((key) => parsed.data[key] !== undefined);
  if (chunkPresent.length > 0) {
    const { chunkRestRepayUnits, chunkPriceImpactBps, chunkMaxPriceImpactBps, chunkFullPriceImpactBps } = parsed.data;
    if (chunkRestRepayUnits === undefined || chunkPriceImpactBps === undefined || chunkMaxPriceImpactBps === undefined || chunkFullPriceImpactBps === undefined) {
      const missing = CHUNK_KEYS.filter((key) => parsed.data[key] === undefined);
      throw new MalformedPlanError(where, missing.map((field) => `${field}: required (the plan is a chunk: ${chunkPresent.join(', ')} present)`));
    }
    decided.chunk = {
      restRepayUnits: chunkRestRepayUnits,
      priceImpactBps: chunkPriceImpactBps,
      maxPriceImpactBps: chunkMaxPriceImpactBps,
      fullPriceImpactBps: chunkFullPriceImpactBps,
    };
  }
  const fundedPresent = REQUIRED_FUNDED_KEYS.filter((key) => parsed.data[key] !== undefined);
  if (fundedPresent.length > 0) {
    const missing = REQUIRED_FUNDED_KEYS.filter((key) => parsed.data[key] === undefined);
    if (missing.length > 0) throw new MalformedPlanError(where, missing.map((field) => `${field}: required (the plan is funded: ${fundedPresent.join(', ')} present)`));
    decided.funded = Object.fromEntries(FUNDED_KEYS.filter((key) => parsed.data[key] !== undefined).map((key) => [key, parsed.data[key]])) as unknown as FundedPlanFields;
  }
  const present = TRANSACTION_FIELDS.filter((field) => parsed.data[field] !== undefined);
  if (present.length === 0) {
    const stray = (['replacements', 'effectiveGasPriceWei'] as const).filter((field) => parsed.data[field] !== undefined);
    if (stray.length > 0) throw new MalformedPlanError(where, stray.map((field) => `${field}: present without a transaction (from, nonce, to, data)`));
    return decided;
  }
  if (from === undefined || nonce === undefined || to === undefined || data === undefined) {
    const missing = TRANSACTION_FIELDS.filter((field) => parsed.data[field] === undefined);
    throw new MalformedPlanError(where, missing.map((field) => `${field}: required (the plan has a transaction: ${present.join(', ')} present)`));
  }
  const submission: PlanSubmission = { from, nonce, to, data, replacements: replacements ?? 0 };
  if (effectiveGasPriceWei !== undefined) submission.effectiveGasPriceWei = effectiveGasPriceWei;
  return { ...decided, submission };
}
