/**
 * Execution breakers, table-driven. Values hand-checked: revert streak limit 3, cooldown 600,000 ms (10 min),
 * daily gas budget 0.05 ETH = 50,000,000,000,000,000 wei; "now" is 2024-01-15T12:00:00Z = 1,705,320,000,000 ms,
 * whose next UTC midnight is 2024-01-16T00:00:00Z = 1,705,363,200,000 ms (19,738 days · 86,400,000 ms).
 */
import {
  afterOutcome,
  evaluateExecutionBreakers,
  type ExecutionBreakerCounters,
  type ExecutionBreakerSettings,
  type ExecutionBreakerState,
  type ExecutionOutcome,
  gasPriceCapCheck,
  type GasPriceCapState,
  initialBreakerCounters,
  nextUtcMidnightMs,
  utcDayOf,
} from '../../../functions/domain/execution-breakers';

const NOW = 1_705_320_000_000;
const MIDNIGHT = 1_705_363_200_000;
const MINUTE = 60_000;
const FINNEY = 10n ** 15n;
const GWEI = 10n ** 9n;
const BUDGET = 50n * FINNEY;
const SETTINGS: ExecutionBreakerSettings = { revertStreakLimit: 3, revertCooldownMs: 10 * MINUTE, dailyGasBudgetWei: BUDGET };

const counters = (over: Partial<ExecutionBreakerCounters> = {}): ExecutionBreakerCounters => ({
  killSwitch: { on: false },
  consecutiveReverts: 0,
  day: '2024-01-15',
  gasSpentTodayWei: 0n,
  ...over,
});
const KILL_ON = { on: true as const, by: 'trigger:req-1', reason: 'oracle incident', sinceMs: NOW - 60 * MINUTE };

describe('utcDayOf / nextUtcMidnightMs', () => {
  it.each<[number, string, number]>([
    [0, '1970-01-01', 86_400_000],
    [NOW, '2024-01-15', MIDNIGHT],
    [MIDNIGHT - 1, '2024-01-15', MIDNIGHT],
    [MIDNIGHT, '2024-01-16', MIDNIGHT + 86_400_000],
  ])('%d ms is on %s, next midnight %d', (nowMs, day, next) => {
    expect(utcDayOf(nowMs)).toBe(day);
    expect(nextUtcMidnightMs(nowMs)).toBe(next);
  });
});

describe('evaluateExecutionBreakers', () => {
  it.each<[string, ExecutionBreakerCounters, ExecutionBreakerSettings, number, ExecutionBreakerState]>([
    ['nothing recorded', initialBreakerCounters(NOW), SETTINGS, NOW, { kind: 'closed' }],
    [
      'kill switch on: open, with who and why, no end time',
      counters({ killSwitch: KILL_ON }),
      SETTINGS,
      NOW,
      { kind: 'open', reason: 'kill-switch', detail: 'kill switch on since 2024-01-15T11:00:00.000Z by trigger:req-1: oracle incident' },
    ],
    [
      'kill switch is reported before a pause and an exhausted budget',
      counters({ killSwitch: KILL_ON, consecutiveReverts: 3, pausedUntilMs: NOW + MINUTE, gasSpentTodayWei: BUDGET }),
      SETTINGS,
      NOW,
      { kind: 'open', reason: 'kill-switch', detail: 'kill switch on since 2024-01-15T11:00:00.000Z by trigger:req-1: oracle incident' },
    ],
    [
      'paused 1 ms more: open until the pause ends',
      counters({ consecutiveReverts: 3, pausedUntilMs: NOW + 1 }),
      SETTINGS,
      NOW,
      { kind: 'open', reason: 'revert-streak', detail: '3 consecutive reverts (limit 3): paused until 2024-01-15T12:00:00.001Z', untilMs: NOW + 1 },
    ],
    ['a pause ends at pausedUntilMs exactly', counters({ consecutiveReverts: 3, pausedUntilMs: NOW }), SETTINGS, NOW, { kind: 'closed' }],
    // Half-open: the streak is still above the limit, but nothing pauses until the next revert.
    ['after the pause, a streak of 5 alone does not open', counters({ consecutiveReverts: 5, pausedUntilMs: NOW - 1 }), SETTINGS, NOW, { kind: 'closed' }],
    [
      'a pause is reported before an exhausted budget',
      counters({ consecutiveReverts: 4, pausedUntilMs: NOW + 10 * MINUTE, gasSpentTodayWei: BUDGET }),
      SETTINGS,
      NOW,
      { kind: 'open', reason: 'revert-streak', detail: '4 consecutive reverts (limit 3): paused until 2024-01-15T12:10:00.000Z', untilMs: NOW + 10 * MINUTE },
    ],
    [
      'spent exactly the budget today: open until midnight UTC',
      counters({ gasSpentTodayWei: BUDGET }),
      SETTINGS,
      NOW,
      {
        kind: 'open',
        reason: 'daily-gas-budget',
        detail: 'gas spent on 2024-01-15 (UTC) is 50000000000000000 wei, budget 50000000000000000 wei',
        untilMs: MIDNIGHT,
      },
    ],
    ['1 wei under the budget', counters({ gasSpentTodayWei: BUDGET - 1n }), SETTINGS, NOW, { kind: 'closed' }],
    ["yesterday's total does not count today", counters({ day: '2024-01-14', gasSpentTodayWei: 10n * BUDGET }), SETTINGS, NOW, { kind: 'closed' }],
    ['the same total a moment before midnight still counts', counters({ gasSpentTodayWei: BUDGET }), SETTINGS, MIDNIGHT - 1, expect.objectContaining({ reason: 'daily-gas-budget', untilMs: MIDNIGHT })],
    ['at midnight the day is new', counters({ gasSpentTodayWei: BUDGET }), SETTINGS, MIDNIGHT, { kind: 'closed' }],
    ['no budget configured', counters({ gasSpentTodayWei: 10n ** 24n }), { ...SETTINGS, dailyGasBudgetWei: undefined }, NOW, { kind: 'closed' }],
    [
      'a zero budget allows nothing',
      counters(),
      { ...SETTINGS, dailyGasBudgetWei: 0n },
      NOW,
      { kind: 'open', reason: 'daily-gas-budget', detail: 'gas spent on 2024-01-15 (UTC) is 0 wei, budget 0 wei', untilMs: MIDNIGHT },
    ],
  ])('%s', (_name, stored, settings, nowMs, expected) => {
    expect(evaluateExecutionBreakers(stored, settings, nowMs)).toEqual(expected);
  });
});

describe('afterOutcome', () => {
  const reverted = (gasCostWei = FINNEY): ExecutionOutcome => ({ kind: 'reverted', gasCostWei });
  const mined = (gasCostWei = FINNEY): ExecutionOutcome => ({ kind: 'mined', gasCostWei });

  it.each<[string, ExecutionBreakerCounters, ExecutionOutcome, ExecutionBreakerSettings, number, ExecutionBreakerCounters]>([
    ['first revert: streak 1, no pause, its gas counted', initialBreakerCounters(NOW), reverted(), SETTINGS, NOW, counters({ consecutiveReverts: 1, gasSpentTodayWei: FINNEY })],
    [
      'third revert reaches the limit: paused for the cooldown (12:00 + 10 min)',
      counters({ consecutiveReverts: 2, gasSpentTodayWei: 2n * FINNEY }),
      reverted(),
      SETTINGS,
      NOW,
      counters({ consecutiveReverts: 3, pausedUntilMs: NOW + 10 * MINUTE, gasSpentTodayWei: 3n * FINNEY }),
    ],
    [
      'a revert after the cooldown (half-open) pauses again at once',
      counters({ consecutiveReverts: 3, pausedUntilMs: NOW + 10 * MINUTE }),
      reverted(),
      SETTINGS,
      NOW + 10 * MINUTE,
      counters({ consecutiveReverts: 4, pausedUntilMs: NOW + 20 * MINUTE, gasSpentTodayWei: FINNEY }),
    ],
    [
      'a later pause already stored is kept (12:15 > 12:00 + 10 min)',
      counters({ consecutiveReverts: 5, pausedUntilMs: NOW + 15 * MINUTE }),
      reverted(),
      SETTINGS,
      NOW,
      counters({ consecutiveReverts: 6, pausedUntilMs: NOW + 15 * MINUTE, gasSpentTodayWei: FINNEY }),
    ],
    ['limit 1: the first revert pauses', initialBreakerCounters(NOW), reverted(0n), { ...SETTINGS, revertStreakLimit: 1 }, NOW, counters({ consecutiveReverts: 1, pausedUntilMs: NOW + 10 * MINUTE })],
    [
      'mined resets the streak; a running pause runs out',
      counters({ consecutiveReverts: 4, pausedUntilMs: NOW + 5 * MINUTE, gasSpentTodayWei: 7n * FINNEY }),
      mined(2n * FINNEY),
      SETTINGS,
      NOW,
      counters({ consecutiveReverts: 0, pausedUntilMs: NOW + 5 * MINUTE, gasSpentTodayWei: 9n * FINNEY }),
    ],
    [
      'the last millisecond of the day adds to its total',
      counters({ gasSpentTodayWei: 40n * FINNEY }),
      mined(),
      SETTINGS,
      MIDNIGHT - 1,
      counters({ gasSpentTodayWei: 41n * FINNEY }),
    ],
    [
      'midnight UTC starts a new day at 0',
      counters({ gasSpentTodayWei: 40n * FINNEY }),
      mined(),
      SETTINGS,
      MIDNIGHT,
      counters({ day: '2024-01-16', gasSpentTodayWei: FINNEY }),
    ],
    [
      'a revert the market caused: its gas counts, the streak neither grows nor resets',
      counters({ consecutiveReverts: 2, gasSpentTodayWei: 2n * FINNEY }),
      { kind: 'reverted-by-market', gasCostWei: FINNEY },
      SETTINGS,
      NOW,
      counters({ consecutiveReverts: 2, gasSpentTodayWei: 3n * FINNEY }),
    ],
    [
      'a new day keeps the streak (reverts in a row are counted across midnight)',
      counters({ day: '2024-01-14', consecutiveReverts: 1, gasSpentTodayWei: 40n * FINNEY }),
      reverted(),
      SETTINGS,
      NOW,
      counters({ consecutiveReverts: 2, gasSpentTodayWei: FINNEY }),
    ],
  ])('%s', (_name, before, outcome, settings, nowMs, expected) => {
    expect(afterOutcome(before, outcome, settings, nowMs)).toEqual(expected);
  });

  it('opens at the limit, closes after the cooldown, reopens on the next revert, and closes for good after a success', () => {
    // Arrange
    const at = (state: ExecutionBreakerCounters, nowMs: number) => evaluateExecutionBreakers(state, SETTINGS, nowMs).kind;
    let state = initialBreakerCounters(NOW);

    // Act + Assert: 12:00, 12:01 revert: still closed; 12:02 third revert: open until 12:12.
    state = afterOutcome(state, reverted(), SETTINGS, NOW);
    state = afterOutcome(state, reverted(), SETTINGS, NOW + MINUTE);
    expect(at(state, NOW + MINUTE)).toBe('closed');
    state = afterOutcome(state, reverted(), SETTINGS, NOW + 2 * MINUTE);
    expect(evaluateExecutionBreakers(state, SETTINGS, NOW + 2 * MINUTE)).toMatchObject({ kind: 'open', reason: 'revert-streak', untilMs: NOW + 12 * MINUTE });
    expect(at(state, NOW + 12 * MINUTE - 1)).toBe('open');
    expect(at(state, NOW + 12 * MINUTE)).toBe('closed');
    // 12:13 one more revert: open until 12:23.
    state = afterOutcome(state, reverted(), SETTINGS, NOW + 13 * MINUTE);
    expect(evaluateExecutionBreakers(state, SETTINGS, NOW + 13 * MINUTE)).toMatchObject({ kind: 'open', untilMs: NOW + 23 * MINUTE });
    // 12:30 a success: streak 0, so the next revert alone does not pause.
    state = afterOutcome(state, mined(), SETTINGS, NOW + 30 * MINUTE);
    state = afterOutcome(state, reverted(), SETTINGS, NOW + 31 * MINUTE);
    expect(state.consecutiveReverts).toBe(1);
    expect(at(state, NOW + 31 * MINUTE)).toBe('closed');
    expect(state.gasSpentTodayWei).toBe(6n * FINNEY);
  });
});

describe('gasPriceCapCheck', () => {
  it.each<[string, bigint, bigint | undefined, GasPriceCapState]>([
    ['below the cap', 30n * GWEI, 50n * GWEI, { kind: 'closed' }],
    ['at the cap exactly', 50n * GWEI, 50n * GWEI, { kind: 'closed' }],
    ['1 wei above the cap', 50n * GWEI + 1n, 50n * GWEI, { kind: 'open', reason: 'gas-price-cap', detail: 'max fee per gas 50000000001 wei is above the cap 50000000000 wei' }],
    ['no cap', 10_000n * GWEI, undefined, { kind: 'closed' }],
  ])('%s', (_name, maxFeePerGasWei, capWei, expected) => {
    expect(gasPriceCapCheck(maxFeePerGasWei, capWei)).toEqual(expected);
  });
});
