/**
 * The stress lab's report (`report.json`) and what the renderer draws from it. Blocks in timelines are
 * relative to the world's start block (every strategy's world starts from the same seeded state, so block k is
 * the same moment of the price path in each). USD figures are valued at the oracle price of the block they
 * happened in; `null` means "no data" (no liquidation at all, say), never zero.
 */

export type RivalKind = 'none' | 'naive' | 'fast';

export interface StressReport {
  scenario: {
    name: string;
    description?: string;
    /** Where the price path's shape comes from (the scenario file's `sources`). */
    sources?: string[];
    borrowers: number;
    blockTimeSec: number;
    assets: string[];
  };
  rival: { kind: RivalKind; delayBlocks: number | null };
  generatedAt: string;
  wallSeconds: number;
  /** The oracle price path (USD) at every block where it changed, plus the first and the last block. */
  pricePath: { block: number; prices: Record<string, number> }[];
  /** The base fee (gwei) at every block where it changed, plus the first and the last block. */
  gasPath: { block: number; baseFeeGwei: number }[];
  strategies: StrategyResult[];
}

export interface SideFigures {
  /** Accounts liquidated (a LiquidationCall by this side; an account liquidated twice counts once). */
  accounts: number;
  /** LiquidationCall events by this side. */
  liquidations: number;
  /** Debt repaid, USD. */
  debtRepaidUsd: number;
  /** Collateral received minus debt repaid, USD, before gas. */
  bonusUsd: number;
  /** Gas paid by this side's transactions (gasUsed × effective gas price), in ETH and USD. */
  gasEth: number;
  gasUsd: number;
  transactions: number;
}

export interface StrategyResult {
  strategy: string;
  blocks: { start: number; end: number };
  wallSeconds: number;
  /** Accounts the observer saw liquidatable at some block. */
  liquidatableAccounts: number;
  ours: SideFigures;
  rival: SideFigures | null;
  /** Ours ÷ (ours + rival), by debt repaid in USD; null when nobody liquidated anything. */
  captureRate: number | null;
  /** Our profit: the liquidator contract's balance change (USD) minus our gas (USD). */
  profitUsd: number;
  /** Bad debt left (the Pool's DeficitCreated events), USD. */
  badDebtUsd: number;
  /** First liquidatable block → last liquidation (by anyone), in blocks; null without liquidation. */
  clearedBlocks: number | null;
  /** Our detection latency: first liquidatable block → our first liquidation of the account, in blocks. */
  latencyBlocks: { p50: number | null; p95: number | null; max: number | null; values: number[] };
  remainingLiquidatable: number;
  duplicateExecutions: number;
  reverts: number;
  timeline: TimelinePoint[];
  /** Our swaps of seized collateral: price impact against the oracle, in bps (positive = received less). */
  swaps: { block: number; collateral: string; priceImpactBps: number; soldUsd: number }[];
}

export interface TimelinePoint {
  block: number;
  /** Accounts liquidatable at this block (the observer's read). */
  liquidatable: number;
  /** LiquidationCall events in this block, ours and the rival's. */
  ours: number;
  rival: number;
  /** Our cumulative profit up to and including this block (bonus − gas, USD). */
  cumulativeProfitUsd: number;
  /** Cumulative bad debt (USD) up to and including this block. */
  cumulativeBadDebtUsd: number;
}
