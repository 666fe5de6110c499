import type { ExecutionFaults, ExecutionStep } from '../../../functions/pipeline/execute-candidate';
import { CRASH_STEPS, crashAt, type CrashStep, SimulatedCrash } from '../../../local/chaos/crash-points';

/** Runs `reach(step)` and returns the crash it threw, or 'passed'. */
function attempt(points: { reach(step: CrashStep): void }, step: CrashStep): SimulatedCrash | 'passed' {
  try {
    points.reach(step);
    return 'passed';
  } catch (err) {
    if (err instanceof SimulatedCrash) return err;
    throw err;
  }
}

describe('crashAt', () => {
  it('crashes the first time the step is reached and passes afterwards', () => {
    // Arrange
    const points = crashAt('after-broadcast');

    // Act
    const first = attempt(points, 'after-broadcast');
    const second = attempt(points, 'after-broadcast');

    // Assert
    expect(first).toBeInstanceOf(SimulatedCrash);
    expect(first).toMatchObject({ name: 'SimulatedCrash', step: 'after-broadcast', occurrence: 1, message: 'simulated crash at after-broadcast (#1)' });
    expect(second).toBe('passed');
    expect(points.reached('after-broadcast')).toBe(2);
    expect(points.remaining()).toBe(0);
  });

  it.each<[number, ('crash' | 'pass')[]]>([
    [0, ['pass', 'pass', 'pass']],
    [1, ['crash', 'pass', 'pass']],
    [2, ['crash', 'crash', 'pass']],
    [3, ['crash', 'crash', 'crash']],
  ])('times %d: crashes that many times, then passes', (times, expected) => {
    const points = crashAt('after-sign', { times });
    const seen = [0, 1, 2].map(() => (attempt(points, 'after-sign') === 'passed' ? 'pass' : 'crash'));
    expect(seen).toEqual(expected);
  });

  it('numbers the crashes of a step', () => {
    const points = crashAt('before-receipt', { times: 2 });
    expect([attempt(points, 'before-receipt'), attempt(points, 'before-receipt')]).toEqual([
      expect.objectContaining({ occurrence: 1, message: 'simulated crash at before-receipt (#1)' }),
      expect.objectContaining({ occurrence: 2, message: 'simulated crash at before-receipt (#2)' }),
    ]);
  });

  it('lets every other step pass, and counts them', () => {
    // Arrange
    const points = crashAt('after-receipt');

    // Act: a whole execution up to the receipt.
    const outcomes = CRASH_STEPS.map((step) => [step, attempt(points, step) === 'passed' ? 'pass' : 'crash']);

    // Assert
    expect(outcomes).toEqual([
      ['after-claim', 'pass'],
      ['after-sign', 'pass'],
      ['after-broadcast', 'pass'],
      ['before-receipt', 'pass'],
      ['after-receipt', 'crash'],
    ]);
    expect(CRASH_STEPS.map((step) => points.reached(step))).toEqual([1, 1, 1, 1, 1]);
  });

  it.each<[string, () => unknown, string]>([
    ['negative times', () => crashAt('after-claim', { times: -1 }), 'times must be a non-negative integer, got -1'],
    ['fractional times', () => crashAt('after-claim', { times: 1.5 }), 'times must be a non-negative integer, got 1.5'],
    [
      'an unknown step (from untyped input)',
      () => crashAt('after-coffee' as CrashStep),
      'unknown crash step after-coffee: expected one of after-claim, after-sign, after-broadcast, before-receipt, after-receipt',
    ],
  ])('refuses %s', (_name, make, message) => {
    expect(make).toThrow(message);
  });

  it('plugs into the execution use case as its faults', () => {
    // The steps are the pipeline's: a renamed step fails type-checking here (npm run typecheck).
    const faults: ExecutionFaults = crashAt('after-claim');
    const steps: readonly ExecutionStep[] = CRASH_STEPS;
    expect(() => faults.reach('after-claim')).toThrow('simulated crash at after-claim (#1)');
    expect(steps).toHaveLength(5);
  });
});
