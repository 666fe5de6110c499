/**
 * Where the worker records what it did for each opportunity. An opportunity is (chain, market, borrower,
 * detected block); at most one attempt per opportunity is ever claimed (a conditional write), so a message
 * delivered twice never becomes two transactions.
 */
export type AttemptOutcome =
  | { kind: 'stale'; healthFactorWad: bigint; block: number }
  | { kind: 'skipped'; reason: string; block: number }
  | { kind: 'dry-run'; block: number; plan: Record<string, string> }
  | { kind: 'sent'; txHash: string; block: number; plan: Record<string, string> }
  | { kind: 'mined'; txHash: string; block: number; minedBlock: number; gasUsed: bigint; plan: Record<string, string> }
  | { kind: 'reverted'; txHash: string; block: number; minedBlock: number; reason: string; plan: Record<string, string> }
  | { kind: 'failed'; reason: string; block: number };

export interface LiquidationLedger {
  /** Claims the opportunity; false if it was already claimed (by this or another worker). */
  claim(opportunity: string, attempt: string, nowIso: string): Promise<boolean>;
  record(opportunity: string, attempt: string, outcome: AttemptOutcome, nowIso: string): Promise<void>;
}
