/**
 * `npm run demo` as a user runs it, for the shipped scenarios: the demo process must exit 0 and its JSON
 * report must show every account that became liquidatable liquidated, with no duplicate transaction, no revert
 * of our own making (a revert the market caused is decoded and counted apart) and nothing left liquidatable, by liquidator accounts that held no token, through the contract with flash loans. The report is measured from the chain by the demo's observer, not taken from
 * the pipeline's own outcomes.
 * The small scenarios run at 1 s blocks to keep the suite short; latency in blocks is what the report measures.
 * `mass` (10,000 borrowers, 3,760 liquidatable in one block) runs at its own 2 s blocks with at most four signers;
 * how many blocks it takes to clear depends on the machine and is the benchmark's (BENCHMARKS.md), not asserted.
 * `large` is a benchmark only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(600_000);

const ROOT = join(__dirname, '..', '..');
/**
 * A demo prints a line per block and per candidate (every one below 1,000 borrowers): `many-reserves` writes about
 * 0.8 MB, and spawnSync kills a child (SIGTERM, status 143) whose output passes its 1 MB default.
 */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

interface DemoReport {
  scenario: string;
  liquidatableAccounts: number;
  liquidated: number;
  remainingLiquidatable: number;
  duplicateExecutions: number;
  reverts: number;
  failedItems: number;
  revertsByMarket: number;
  timedOut: boolean;
  liquidationTransactions: number;
  clearedBlocks: number | null;
  transactions: { from: string; by: 'ours' | 'companion' }[];
  funding: string;
  signerTokenHoldingsAtStartUsd: number;
  profitRealizedUsd: number;
  liquidations: { borrower: string; debtRepaidUsd: number }[];
}

/** Runs `npm run demo` with `args` and returns its JSON report, after asserting it exited 0 (its tail shown if not). */
function runDemo(args: string[]): DemoReport {
  const report = join(mkdtempSync(join(tmpdir(), 'demo-')), 'report.json');
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'local', 'demo.ts'), ...args, '--report', report], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: MAX_OUTPUT_BYTES,
    env: { ...process.env, CI: 'true' },
  });
  const tail = `${run.stdout}\n${run.stderr}`.split('\n').slice(-25).join('\n');
  expect({ status: run.status, tail }).toEqual({ status: 0, tail });
  return JSON.parse(readFileSync(report, 'utf8')) as DemoReport;
}

/** Every account that became liquidatable liquidated once, capital-free, with no revert of our own making. */
function expectClearedOnce(result: DemoReport, scenario: string): void {
  expect(result.scenario).toBe(scenario);
  expect(result.timedOut).toBe(false);
  expect(result.liquidatableAccounts).toBeGreaterThan(0);
  expect(result.liquidated).toBe(result.liquidatableAccounts);
  expect(result.remainingLiquidatable).toBe(0);
  expect(result.duplicateExecutions).toBe(0);
  // Only reverted transactions and failed batch items the market caused (decoded from the chain).
  expect(result.reverts + result.failedItems).toBe(result.revertsByMarket);
  expect(result.liquidations.every((l) => l.debtRepaidUsd > 0)).toBe(true);
  // Capital-free: the keeper's accounts held no token, every liquidation went through the contract with a flash
  // loan, and the contract's balance grew (measured from the chain).
  expect(result.funding).toBe('flash-loan');
  expect(result.signerTokenHoldingsAtStartUsd).toBe(0);
  expect(result.profitRealizedUsd).toBeGreaterThan(0);
}

describe.each(['default', 'small-positions', 'dust-edge', 'crash-30', 'thin-pool', 'available-liquidity', 'many-reserves'])('npm run demo -- --scenario %s', (scenario) => {
  it('liquidates every liquidatable account once, with no revert', () => {
    expectClearedOnce(runDemo(['--scenario', scenario, '--block-time', '1', '--timeout', '420']), scenario);
  });
});

describe('npm run demo -- --scenario mass', () => {
  // About 5 minutes on a 2-core machine (BENCHMARKS.md), plus about 2 to seed its world when the cache is cold
  // (shared with mass-world.test.ts: whichever runs first pays it).
  it('liquidates all of a crash that makes 3,760 accounts liquidatable in one block, once each, with four signers and no revert of ours', () => {
    const result = runDemo(['--scenario', 'mass', '--block-time', '2', '--signers', '4', '--timeout', '900']);
    expectClearedOnce(result, 'mass');
    expect(result.liquidatableAccounts).toBeGreaterThanOrEqual(3_000);
    // Signers: the accounts that sent our transactions, read from the chain.
    expect(new Set(result.transactions.filter((t) => t.by === 'ours').map((t) => t.from)).size).toBeLessThanOrEqual(4);
    // Batches: far fewer transactions than accounts.
    expect(result.liquidationTransactions).toBeLessThan(result.liquidated / 5);
    expect(result.clearedBlocks).toBeGreaterThan(0);
    // The figure issue 11 targets (150 blocks at 2 s), for the CI log; a benchmark, so not asserted.
    console.log(`mass: ${result.liquidated} of ${result.liquidatableAccounts} liquidated in ${result.liquidationTransactions} transactions, cleared in ${result.clearedBlocks} blocks`);
  }, 1_500_000);
});

interface FollowReport extends DemoReport {
  sameBlockLiquidations: { count: number; share: number | null };
  bundles?: { blockNumber: number; txs: number; outcome: { landed: boolean | 'pending'; reason?: string } }[];
}

describe('npm run demo -- --scenario crash-30 --price-updates mempool --follow-pending --bundle-relay', () => {
  it('lands liquidations in their oracle update\'s own block, behind it in bundles, once each and with no revert of ours', () => {
    const result = runDemo([
      // 4 s blocks: the whole local stack (anvil, DynamoDB Local, fauxqs, every handler) shares the machine, and a
      // busy CI machine can take longer than a 2 s block from pending update to bundle; the 2 s figures are the
      // benchmark's (bench/oracle-backrun.ts), measured on an otherwise idle machine.
      ...['--scenario', 'crash-30', '--block-time', '4', '--price-updates', 'mempool', '--follow-pending', '--bundle-relay'],
      ...['--signers', '4', '--worker-concurrency', '4', '--timeout', '420'],
    ]) as FollowReport;
    expect(result.liquidated).toBe(result.liquidatableAccounts);
    expect(result.remainingLiquidatable).toBe(0);
    expect(result.duplicateExecutions).toBe(0);
    expect(result.reverts + result.failedItems).toBe(result.revertsByMarket);
    // The first shock makes 14 accounts liquidatable, few enough for one round of the workers: they are liquidated
    // in the update's own block (a block-following keeper can only be a block later). The share over the whole
    // crash is the benchmark's (bench/oracle-backrun.ts), not asserted here.
    expect(result.sameBlockLiquidations.count).toBeGreaterThanOrEqual(10);
    // Through the relay: at least one bundle [update, ours] landed in its block in that order.
    expect(result.bundles?.some((b) => b.outcome.landed === true && b.txs === 2)).toBe(true);
  });
});
