/**
 * A world whose start fails stops everything it began (issue 14 item 4): DynamoDB Local and fauxqs boot in
 * parallel with seeding, and a seeding that fails before they are up must not leave them running inside a
 * long-lived process (a stress lab starting world after world, a Jest run).
 */
import { runningChildren } from '../../local/world/processes';
import { loadScenario, type Scenario } from '../../local/world/scenario';
import { startWorld } from '../../local/world/world';

jest.setTimeout(180_000);

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a world that fails to start', () => {
  it('stops DynamoDB Local, fauxqs and the seeding anvil before it rejects, and names the cause', async () => {
    // Arrange: USDC cannot be borrowed, yet the default scenario's borrowers borrow it: seeding fails on chain
    // after the services were started, before DynamoDB Local's JVM is up.
    const base = loadScenario('default');
    const scenario: Scenario = { ...base, name: 'failing-seed', assets: { ...base.assets, USDC: { ...base.assets.USDC!, borrowingEnabled: false } } };
    const seen = new Map<number, string>();
    const watch = setInterval(() => {
      for (const { name, pid } of runningChildren()) seen.set(pid, name);
    }, 20);

    // Act
    const outcome = await startWorld({ scenario, blockTimeSec: 0, resourcePrefix: 'it-failed' }).then(
      () => 'started',
      (error: Error) => error,
    );
    clearInterval(watch);

    // Assert: the rejection names what failed; every process seen during the start is gone.
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/opening positions borrowers\[0\] … .* failed.*reverted/);
    expect([...new Set(seen.values())].sort()).toEqual(['anvil', 'dynamodb-local', 'fauxqs']);
    expect([...seen].filter(([pid]) => isAlive(pid))).toEqual([]);
    expect(runningChildren()).toEqual([]);
  });
});
