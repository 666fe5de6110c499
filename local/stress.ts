/**
 * npm run stress -- --scenario NAME|FILE [--strategies max,two-step,...] [--rival none|naive|fast]
 *                   [--rival-delay BLOCKS] [--out DIR] [--block-time SEC] [--timeout SEC] [--json]
 *
 * The stress lab (local/stress/run-stress.ts): the keeper as deployed (its real handlers on the local runtime)
 * once per sizing strategy, each on a fresh world from the same seed and price path, against an optional rival
 * keeper; writes DIR/index.html (self-contained, opens offline), one SVG and one PNG per chart under DIR/charts,
 * and DIR/report.json. Progress on stderr; a summary table on stdout at the end (or the report as JSON).
 * Exit code 1 when a strategy left accounts liquidatable, executed an opportunity twice or had a revert of its
 * own making.
 */
import { join, resolve } from 'node:path';
import { cliArgs } from './cli-args';
import { SIZING_STRATEGIES, type SizingStrategy } from './session';
import { runStress } from './stress/run-stress';
import { loadScenario, ScenarioError } from './world/scenario';

const USAGE = `usage: npm run stress -- --scenario NAME|FILE [--strategies LIST] [--rival none|naive|fast] [--rival-delay BLOCKS]
                         [--out DIR] [--block-time SEC] [--timeout SEC] [--pending-bounds] [--json]
  --scenario NAME|FILE   the scenario (e.g. may-2021, black-thursday-2020, aug-2024, oct-2025, crash-30)
  --strategies LIST      comma-separated sizing strategies, each run on its own world: ${SIZING_STRATEGIES.join(', ')}
                         (default: max,two-step)
  --rival KIND           none, naive (max size, direct liquidationCall, reacts --rival-delay blocks late) or fast
                         (reacts at the first head it sees, paying a higher priority fee); default: naive
  --rival-delay BLOCKS   how late the naive rival reacts (default: 2)
  --out DIR              where the report goes (default: stress-report/<scenario>)
  --block-time SEC       seconds per block (default: the scenario's)
  --timeout SEC          per strategy (default: the scenario's demo.timeoutSec)
  --pending-bounds       bound each batch item's swap after the sales waiting on the pending block
                         (BATCH_BOUNDS_FROM_PENDING=true)
  --json                 print report.json on stdout instead of the summary table
  -h, --help             print this help`;

async function main(): Promise<void> {
  const values = cliArgs({
    name: 'stress',
    usage: USAGE,
    options: {
      scenario: { type: 'string' },
      strategies: { type: 'string', default: 'max,two-step' },
      rival: { type: 'string', default: 'naive' },
      'rival-delay': { type: 'string' },
      out: { type: 'string' },
      'block-time': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      'pending-bounds': { type: 'boolean', default: false },
    },
  });
  const usageError = (message: string): never => {
    console.error(`stress: ${message}\n${USAGE}`);
    process.exit(2);
  };
  if (!values.scenario) usageError('--scenario is required');
  const strategies = values.strategies.split(',').map((s) => s.trim()) as SizingStrategy[];
  const unknown = strategies.filter((s) => !SIZING_STRATEGIES.includes(s));
  if (unknown.length > 0 || strategies.length === 0) usageError(`--strategies: unknown strategy ${unknown.join(', ')} (one of ${SIZING_STRATEGIES.join(', ')})`);
  if (new Set(strategies).size !== strategies.length) usageError('--strategies: a strategy is listed twice');
  const rival = values.rival as 'none' | 'naive' | 'fast';
  if (!['none', 'naive', 'fast'].includes(rival)) usageError('--rival must be none, naive or fast');
  const whole = (flag: 'rival-delay' | 'block-time' | 'timeout', min: number): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) usageError(`--${flag} must be a whole number ≥ ${min}`);
    return n;
  };
  const rivalDelayBlocks = whole('rival-delay', 0);
  if (rivalDelayBlocks !== undefined && rival !== 'naive') usageError('--rival-delay is for the naive rival');
  const blockTimeSec = whole('block-time', 1);
  const timeoutSec = whole('timeout', 1);

  const scenario = loadScenario(values.scenario!);
  const outDir = resolve(values.out ?? join('stress-report', scenario.name));
  const { report, rendered, sessions } = await runStress({
    scenario,
    strategies,
    rival,
    rivalDelayBlocks,
    outDir,
    blockTimeSec,
    timeoutMs: timeoutSec === undefined ? undefined : timeoutSec * 1000,
    pendingBounds: values['pending-bounds'],
  });
  if (values.json) console.log(JSON.stringify(report));
  else {
    const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);
    const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    console.log('');
    console.log(`stress — "${report.scenario.name}", ${report.scenario.borrowers} borrowers, rival ${report.rival.kind}, ${report.wallSeconds.toFixed(0)} s`);
    const rows = [
      ['strategy', 'ours', 'rival', 'capture', 'profit after gas', 'gas (ours)', 'bad debt', 'cleared', 'latency p50/p95', 'left'],
      ...report.strategies.map((s) => [
        s.strategy,
        String(s.ours.accounts),
        s.rival === null ? '–' : String(s.rival.accounts),
        pct(s.captureRate),
        money(s.profitUsd),
        money(s.ours.gasUsd),
        money(s.badDebtUsd),
        s.clearedBlocks === null ? '–' : `${s.clearedBlocks} blocks`,
        `${s.latencyBlocks.p50 ?? '–'} / ${s.latencyBlocks.p95 ?? '–'}`,
        String(s.remainingLiquidatable),
      ]),
    ];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) console.log(`  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`);
    console.log(`  report: ${rendered.indexHtml}`);
  }
  const ok = sessions.every((s) => s.remainingLiquidatable === 0 && s.duplicateExecutions === 0 && s.reverts + s.failedItems === s.revertsByMarket);
  if (!ok) console.error('stress: FAILED — a strategy left accounts liquidatable, executed an opportunity twice or had a revert of its own making (see the report)');
  process.exitCode = ok ? 0 : 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof ScenarioError ? err.message : `stress: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
