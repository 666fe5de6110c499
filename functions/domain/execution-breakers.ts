/**
 * Execution circuit breakers: may the keeper send liquidation transactions on a market right now? Pure: the
 * stored counters and the current time come in, a verdict or the next counters go out. The DynamoDB adapter
 * (functions/adapters/store/dynamodb-execution-breakers.ts) keeps the counters and applies `afterOutcome`'s rules
 * as atomic updates; the worker and the scanner ask before acting.
 *
 * Three breakers, checked in this order (the first open one is reported):
 * - `kill-switch`: an operator turned execution off (trigger `pause`); only an operator turns it back on.
 * - `revert-streak`: `revertStreakLimit` mined-but-reverted transactions in a row pause execution for
 *   `revertCooldownMs`. Reverts in a row mean the keeper's view of the chain and the chain disagree (a wrong
 *   price, a competitor that always wins, a broken executor), and each one burns gas. After the cooldown the
 *   streak is still at the limit, so the breaker is half-open: one more revert pauses again at once, a mined
 *   transaction resets the streak.
 * - `daily-gas-budget`: gas paid (gasUsed · effectiveGasPrice, wei, reverted transactions included) since 00:00
 *   UTC has reached `dailyGasBudgetWei`; execution resumes at the next UTC midnight, when the total starts at 0.
 *
 * A fourth check needs no stored state: `gasPriceCapCheck` refuses a transaction whose max fee per gas is above
 * a configured cap (fees that high mean congestion in which a liquidation's profit goes to gas).
 *
 * Times are unix milliseconds. UTC days are whole multiples of 86,400,000 ms: unix time has no leap seconds.
 */

export const DAY_MS = 86_400_000;

export type KillSwitch = { on: false } | { on: true; by: string; reason: string; sinceMs: number };

/** What the adapter stores per market, as of one read. */
export interface ExecutionBreakerCounters {
  killSwitch: KillSwitch;
  /** Mined transactions that reverted since the last one that succeeded. */
  consecutiveReverts: number;
  /** Execution is paused by the revert streak before this time (absent: never paused). */
  pausedUntilMs?: number;
  /** The UTC day (`YYYY-MM-DD`) `gasSpentTodayWei` belongs to. */
  day: string;
  /** Gas paid on `day`, wei. */
  gasSpentTodayWei: bigint;
}

export interface ExecutionBreakerSettings {
  /** Reverts in a row that open the breaker (≥ 1). */
  revertStreakLimit: number;
  /** How long the revert streak pauses execution. */
  revertCooldownMs: number;
  /** Gas a market may pay per UTC day, wei; absent: no budget. */
  dailyGasBudgetWei?: bigint;
}

export type ExecutionBreakerReason = 'kill-switch' | 'revert-streak' | 'daily-gas-budget';

export type ExecutionBreakerState =
  | { kind: 'closed' }
  /** `untilMs`: when the breaker closes by itself (absent for the kill switch, which waits for an operator). */
  | { kind: 'open'; reason: ExecutionBreakerReason; detail: string; untilMs?: number };

export type GasPriceCapState = { kind: 'closed' } | { kind: 'open'; reason: 'gas-price-cap'; detail: string };

/**
 * A transaction of the market's that was mined, and what its gas cost (gasUsed · effectiveGasPrice, wei).
 * `reverted-by-market`: it reverted because the market moved between the plan and its block (the pool past the
 * slippage bound or the profit guard, the account liquidated or recovered first): its gas counts, but it says
 * nothing about our sizing, so it neither lengthens nor resets the revert streak.
 */
export interface ExecutionOutcome {
  kind: 'mined' | 'reverted' | 'reverted-by-market';
  gasCostWei: bigint;
}

/** The UTC calendar day of a time, `YYYY-MM-DD`. */
export function utcDayOf(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** 00:00 UTC of the day after `nowMs`'s. */
export function nextUtcMidnightMs(nowMs: number): number {
  return (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Counters of a market nothing was ever recorded for. */
export function initialBreakerCounters(nowMs: number): ExecutionBreakerCounters {
  return { killSwitch: { on: false }, consecutiveReverts: 0, day: utcDayOf(nowMs), gasSpentTodayWei: 0n };
}

/** Gas paid so far on the UTC day of `nowMs`: the stored total if it is that day's, else 0 (a new day). */
export function gasSpentOnDayOf(counters: ExecutionBreakerCounters, nowMs: number): bigint {
  return counters.day === utcDayOf(nowMs) ? counters.gasSpentTodayWei : 0n;
}

/**
 * The pause a revert streak of `consecutiveReverts` (counted after the latest revert) starts at `nowMs`:
 * `nowMs + revertCooldownMs` once the streak is at or above the limit, else none.
 */
export function revertPauseUntil(consecutiveReverts: number, settings: ExecutionBreakerSettings, nowMs: number): number | undefined {
  return consecutiveReverts >= settings.revertStreakLimit ? nowMs + settings.revertCooldownMs : undefined;
}

/** Open or closed at `nowMs`. A pause ends at `pausedUntilMs` exactly; a budget is exhausted once spent ≥ budget. */
export function evaluateExecutionBreakers(counters: ExecutionBreakerCounters, settings: ExecutionBreakerSettings, nowMs: number): ExecutionBreakerState {
  const { killSwitch } = counters;
  if (killSwitch.on) {
    return { kind: 'open', reason: 'kill-switch', detail: `kill switch on since ${iso(killSwitch.sinceMs)} by ${killSwitch.by}: ${killSwitch.reason}` };
  }
  if (counters.pausedUntilMs !== undefined && nowMs < counters.pausedUntilMs) {
    return {
      kind: 'open',
      reason: 'revert-streak',
      detail: `${counters.consecutiveReverts} consecutive reverts (limit ${settings.revertStreakLimit}): paused until ${iso(counters.pausedUntilMs)}`,
      untilMs: counters.pausedUntilMs,
    };
  }
  const budgetWei = settings.dailyGasBudgetWei;
  const spentWei = gasSpentOnDayOf(counters, nowMs);
  if (budgetWei !== undefined && spentWei >= budgetWei) {
    return {
      kind: 'open',
      reason: 'daily-gas-budget',
      detail: `gas spent on ${utcDayOf(nowMs)} (UTC) is ${spentWei} wei, budget ${budgetWei} wei`,
      untilMs: nextUtcMidnightMs(nowMs),
    };
  }
  return { kind: 'closed' };
}

/**
 * The counters after a transaction of the market was mined at `nowMs`:
 * - its gas cost adds to the total of `nowMs`'s UTC day (a new day starts from 0);
 * - a revert adds one to the streak, and at the limit pauses until `nowMs + revertCooldownMs` (a pause that
 *   already ends later is kept: two workers recording reverts never shorten each other's pause);
 * - a success resets the streak to 0 (a running pause still runs out: a transaction sent before the pause and
 *   mined during it says little about the next one);
 * - a revert caused by the market (`reverted-by-market`) leaves the streak as it is.
 */
export function afterOutcome(
  counters: ExecutionBreakerCounters,
  outcome: ExecutionOutcome,
  settings: ExecutionBreakerSettings,
  nowMs: number,
): ExecutionBreakerCounters {
  const gasSpentTodayWei = gasSpentOnDayOf(counters, nowMs) + outcome.gasCostWei;
  const day = utcDayOf(nowMs);
  if (outcome.kind === 'mined') return { ...counters, consecutiveReverts: 0, day, gasSpentTodayWei };
  if (outcome.kind === 'reverted-by-market') return { ...counters, day, gasSpentTodayWei };
  const consecutiveReverts = counters.consecutiveReverts + 1;
  const pause = revertPauseUntil(consecutiveReverts, settings, nowMs);
  const pausedUntilMs = pause === undefined || (counters.pausedUntilMs ?? 0) >= pause ? counters.pausedUntilMs : pause;
  return { ...counters, consecutiveReverts, day, gasSpentTodayWei, ...(pausedUntilMs === undefined ? {} : { pausedUntilMs }) };
}

/** Refuses a transaction whose max fee per gas (wei) is above the cap; no cap (undefined) refuses nothing. */
export function gasPriceCapCheck(maxFeePerGasWei: bigint, capWei: bigint | undefined): GasPriceCapState {
  if (capWei === undefined || maxFeePerGasWei <= capWei) return { kind: 'closed' };
  return { kind: 'open', reason: 'gas-price-cap', detail: `max fee per gas ${maxFeePerGasWei} wei is above the cap ${capWei} wei` };
}
