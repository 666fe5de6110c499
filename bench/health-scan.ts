/**
 * Health scan of the `large` scenario (10,000 borrowers) at one block, three ways, side by side:
 * serial getUserAccountData eth_calls (one in flight), the same calls with 8 in flight, and the HealthLens
 * through an eth_call state override. Every path must return identical accounts, or the benchmark fails.
 */
import { latestBlockNumber } from '../functions/adapters/chain/provider';
import { type AccountHealth, AaveV3HealthScanner, type HealthScanMode } from '../functions/adapters/chain/health-scan';
import { loadScenario } from '../local/world/scenario';
import { startWorld } from '../local/world/world';
import type { BenchResult } from './run';

/** Serial calls are slow; a sample gives a stable rate without a minute-long run. */
const SERIAL_SAMPLE = 2_000;

function sameAccounts(a: AccountHealth[], b: AccountHealth[]): boolean {
  return a.length === b.length && a.every((x, i) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) === JSON.stringify(b[i], (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export async function healthScan(): Promise<BenchResult> {
  const world = await startWorld({ scenario: loadScenario('large'), blockTimeSec: 0, services: false, log: (l) => console.error(`  ${l}`) });
  try {
    const users = world.info.borrowers.map((b) => b.address);
    const block = await latestBlockNumber(world.provider);
    const run = async (label: string, mode: HealthScanMode, options: { concurrency: number; chunkSize?: number }, sample: string[]) => {
      const scanner = new AaveV3HealthScanner(world.provider, world.info.market.pool, { mode, ...options });
      const started = process.hrtime.bigint();
      const result = await scanner.scan(sample, block);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rate = sample.length / seconds;
      console.error(`  ${label}: ${sample.length} accounts in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} accounts/s, ${result.rpcCalls} RPC calls`);
      return { result, rate, seconds };
    };

    const serial = await run('serial eth_call', 'per-account', { concurrency: 1 }, users.slice(0, SERIAL_SAMPLE));
    const concurrent = await run('eth_call, 8 in flight', 'per-account', { concurrency: 8 }, users);
    const lensRuns = [];
    for (let i = 0; i < 3; i++) lensRuns.push(await run(`lens override #${i + 1} (chunks of 500, 2 in flight)`, 'lens-override', { concurrency: 2, chunkSize: 500 }, users));
    const lens = lensRuns.sort((a, b) => a.rate - b.rate)[1];

    if (!sameAccounts(lens.result.accounts, concurrent.result.accounts)) throw new Error('lens and per-account scans disagree');
    if (!sameAccounts(lens.result.accounts.slice(0, SERIAL_SAMPLE), serial.result.accounts)) throw new Error('lens and serial scans disagree');
    const liquidatable = lens.result.accounts.filter((a) => a.healthFactorWad < 10n ** 18n).length;
    console.error(`  all three paths agree on every account (${liquidatable} below HF 1 at block ${block})`);

    return {
      name: 'health-scan (10,000 borrowers, anvil)',
      rows: [
        { label: 'serial eth_call getUserAccountData', value: serial.rate, unit: 'accounts/s' },
        { label: 'eth_call getUserAccountData, 8 in flight', value: concurrent.rate, unit: 'accounts/s' },
        { label: 'HealthLens state override (median of 3)', value: lens.rate, unit: 'accounts/s' },
        { label: 'RPC calls per 10,000-account scan (lens)', value: lens.result.rpcCalls, unit: 'calls' },
      ],
      ratios: [
        { label: 'lens vs serial', value: lens.rate / serial.rate },
        { label: 'lens vs 8 in flight', value: lens.rate / concurrent.rate },
      ],
    };
  } finally {
    await world.stop();
  }
}
