/**
 * How long the local world takes to be ready: compiling Aave v3.6 from a cold cache, seeding a market from
 * scratch (deploy + open positions + fund liquidators) versus loading the cached anvil state, for the
 * `default` scenario (43 borrowers) and the `large` one (10,000 borrowers). Chain only (no DynamoDB/SQS), so
 * the figures measure the market, not the JVM start of DynamoDB Local.
 */
import { buildContracts } from '../contracts/build';
import { loadScenario } from '../local/world/scenario';
import { startWorld } from '../local/world/world';
import type { BenchResult } from './run';

async function bootSeconds(scenarioName: string, reseed: boolean): Promise<number> {
  const started = process.hrtime.bigint();
  const world = await startWorld({ scenario: loadScenario(scenarioName), blockTimeSec: 0, services: false, reseed });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await world.stop();
  return seconds;
}

export async function worldBoot(): Promise<BenchResult> {
  const compile = buildContracts({ force: true, log: (line) => console.error(`  ${line}`) });
  const rows: BenchResult['rows'] = [{ label: 'compile Aave v3.6 + own contracts (cold)', value: compile.reduce((s, r) => s + r.seconds, 0), unit: 's' }];
  const ratios: BenchResult['ratios'] = [];
  for (const scenario of ['default', 'large']) {
    const seeded = await bootSeconds(scenario, true);
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) warm.push(await bootSeconds(scenario, false));
    const warmMedian = warm.sort((a, b) => a - b)[1];
    console.error(`  ${scenario}: seeded ${seeded.toFixed(2)} s, cached ${warmMedian.toFixed(2)} s`);
    rows.push({ label: `${scenario}: boot, seeding from scratch`, value: seeded, unit: 's' });
    rows.push({ label: `${scenario}: boot from cached state (median of 3)`, value: warmMedian, unit: 's' });
    ratios.push({ label: `${scenario}: cached boot speed-up`, value: seeded / warmMedian });
  }
  return { name: 'world-boot', rows, ratios };
}
