/**
 * The stress lab end to end: `crash-30` (300 borrowers, ETH −30 % in three steps) with two sizing strategies
 * against the naive rival, each strategy on its own world in this one process. The report's figures are checked
 * against the Pool's own events, read here independently while each world still runs; then index.html is opened
 * in Debian's chromium: every chart must have rendered data marks, with no console error, and a screenshot is
 * written.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Interface } from 'ethers';
import type { SizingStrategy } from '../../local/session';
import { checkReportInBrowser } from '../../local/stress/report/browser-check';
import { RIVAL_ACCOUNT } from '../../local/stress/rival';
import { runStress } from '../../local/stress/run-stress';
import { loadScenario } from '../../local/world/scenario';

jest.setTimeout(900_000);

const POOL_EVENTS = new Interface([
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
  'event DeficitCreated(address indexed user, address indexed debtAsset, uint256 amountCreated)',
]);

interface ChainFigures {
  start: number;
  ours: { liquidations: number; accounts: Set<string> };
  rival: { liquidations: number; accounts: Set<string> };
  others: number;
  deficits: number;
  /** Liquidations per block, relative to the world's start block. */
  perBlock: Map<number, { ours: number; rival: number }>;
}

describe('npm run stress -- --scenario crash-30 --strategies max,two-step --rival naive', () => {
  let outDir: string;
  const chain = new Map<SizingStrategy, ChainFigures>();
  let result: Awaited<ReturnType<typeof runStress>>;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'stress-'));
    result = await runStress({
      scenario: loadScenario('crash-30'),
      strategies: ['max', 'two-step'],
      rival: 'naive',
      outDir,
      say: () => undefined,
      beforeStop: async (strategy, world) => {
        const start = world.info.startBlock;
        const end = await world.provider.getBlockNumber();
        const figures: ChainFigures = { start, ours: { liquidations: 0, accounts: new Set() }, rival: { liquidations: 0, accounts: new Set() }, others: 0, deficits: 0, perBlock: new Map() };
        for (const log of await world.provider.getLogs({ address: world.info.market.pool, fromBlock: start, toBlock: end })) {
          const event = POOL_EVENTS.parseLog(log);
          if (event?.name === 'DeficitCreated') figures.deficits++;
          if (event?.name !== 'LiquidationCall') continue;
          const liquidator = (event.args.liquidator as string).toLowerCase();
          const side = liquidator === world.info.liquidatorContract.toLowerCase() ? figures.ours : liquidator === RIVAL_ACCOUNT.toLowerCase() ? figures.rival : undefined;
          if (!side) {
            figures.others++;
            continue;
          }
          side.liquidations++;
          side.accounts.add((event.args.user as string).toLowerCase());
          const row = figures.perBlock.get(log.blockNumber - start) ?? { ours: 0, rival: 0 };
          row[side === figures.ours ? 'ours' : 'rival']++;
          figures.perBlock.set(log.blockNumber - start, row);
        }
        chain.set(strategy, figures);
      },
    });
  });

  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('runs both strategies to the end: nothing left liquidatable, no opportunity executed twice, the rival took part', () => {
    expect(result.report.strategies.map((s) => s.strategy)).toEqual(['max', 'two-step']);
    for (const s of result.report.strategies) {
      expect(s.remainingLiquidatable).toBe(0);
      expect(s.duplicateExecutions).toBe(0);
      expect(s.liquidatableAccounts).toBeGreaterThan(0);
      expect(s.ours.liquidations).toBeGreaterThan(0);
      expect(s.rival).not.toBeNull();
      expect(s.rival!.liquidations).toBeGreaterThan(0);
      expect(s.rival!.gasUsd).toBeGreaterThan(0);
    }
    expect(result.report.rival).toEqual({ kind: 'naive', delayBlocks: 2 });
  });

  it("agrees with the Pool's events: liquidations and accounts by side, capture rate, bad debt, per-block counts", () => {
    for (const s of result.report.strategies) {
      const figures = chain.get(s.strategy as SizingStrategy)!;
      expect(figures.others).toBe(0);
      expect(s.ours.liquidations).toBe(figures.ours.liquidations);
      expect(s.ours.accounts).toBe(figures.ours.accounts.size);
      expect(s.rival!.liquidations).toBe(figures.rival.liquidations);
      expect(s.rival!.accounts).toBe(figures.rival.accounts.size);
      expect(s.captureRate).toBeCloseTo(s.ours.debtRepaidUsd / (s.ours.debtRepaidUsd + s.rival!.debtRepaidUsd), 12);
      expect(s.captureRate! > 0 && s.captureRate! < 1).toBe(true);
      expect(s.badDebtUsd === 0).toBe(figures.deficits === 0);
      for (const point of s.timeline) {
        const onChain = figures.perBlock.get(point.block) ?? { ours: 0, rival: 0 };
        expect({ block: point.block, ours: point.ours, rival: point.rival }).toEqual({ block: point.block, ...onChain });
      }
      expect(s.latencyBlocks.values).toHaveLength(s.ours.accounts);
    }
  });

  it('renders a report that opens in chromium with every chart drawn and no console error', async () => {
    const check = await checkReportInBrowser(outDir);
    const expected = ['price-path', 'liquidatable', 'liquidations-per-block', 'cumulative-profit', 'bad-debt', 'latency', 'gas', 'swap-impact'];
    expect(check.charts.map((c) => c.name).sort()).toEqual([...expected].sort());
    for (const chart of check.charts) expect(chart.marks).toBeGreaterThan(0);
    expect(check.consoleErrors).toEqual([]);
    expect((await stat(check.screenshot)).size).toBeGreaterThan(10_000);
    const written = JSON.parse(await readFile(join(outDir, 'report.json'), 'utf8'));
    expect(written.strategies.map((s: { strategy: string }) => s.strategy)).toEqual(['max', 'two-step']);
  });
});

describe('npm run stress (command line)', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'local/stress.ts', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: 'true' } });

  it('answers --help with the usage', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: npm run stress');
  });

  it.each([
    [['--scenario', 'crash-30', '--bogus'], /bogus/],
    [['--scenario', 'crash-30', '--strategies', 'max,fastest'], /unknown strategy fastest/],
    [['--scenario', 'crash-30', '--rival', 'smart'], /--rival must be none, naive or fast/],
    [['--strategies', 'max'], /--scenario is required/],
  ])('refuses %j with one line and the usage, no stack trace', (args, message) => {
    const refused = run(...args);
    expect(refused.status).toBe(2);
    const [first, ...rest] = refused.stderr.trim().split('\n');
    expect(first).toMatch(message);
    expect(rest.join('\n')).toContain('usage: npm run stress');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});
