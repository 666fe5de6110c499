/**
 * The stress lab's report renderer against Debian's chromium: a hand-built report (two strategies, the naive
 * rival, 40 blocks; one strategy swaps its seized collateral, the other does not) is rendered to a temp dir, its
 * files are checked, then index.html is opened headless and every chart must show data marks, with no console
 * error. Reports with nothing to draw (no liquidation, no rival) must render too.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SideFigures, StrategyResult, StressReport, TimelinePoint } from '../../local/stress/report-types';
import { ReportCheckError, checkReportInBrowser } from '../../local/stress/report/browser-check';
import { renderReport } from '../../local/stress/report/render';

jest.setTimeout(120_000);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const BLOCKS = 40;

function side(liquidations: number, debtRepaidUsd: number, gasUsd: number): SideFigures {
  return { accounts: liquidations, liquidations, debtRepaidUsd, bonusUsd: debtRepaidUsd * 0.05, gasEth: gasUsd / 2_000, gasUsd, transactions: liquidations };
}

/**
 * 12 accounts turn liquidatable at block 10 (the crash), cleared `perBlock` per block from block 11, ours on even
 * blocks and the rival's on odd ones; 3 more at block 25, all cleared by us at block 27; bad debt of $250 from block 30.
 */
function timeline(perBlock: number, profitPerLiquidationUsd: number): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  let open = 0;
  let profit = 0;
  for (let block = 0; block < BLOCKS; block++) {
    if (block === 10) open += 12;
    if (block === 25) open += 3;
    let ours = 0;
    let rival = 0;
    if (block > 10 && block < 25 && open > 0) {
      const cleared = Math.min(open, perBlock);
      if (block % 2 === 0) ours = cleared;
      else rival = cleared;
      open -= cleared;
    }
    if (block === 27) {
      ours = open;
      open = 0;
    }
    profit += ours * profitPerLiquidationUsd;
    points.push({ block, liquidatable: open, ours, rival, cumulativeProfitUsd: profit, cumulativeBadDebtUsd: block >= 30 ? 250 : 0 });
  }
  return points;
}

function strategy(name: string, perBlock: number, swaps: StrategyResult['swaps']): StrategyResult {
  const points = timeline(perBlock, 40);
  const ours = points.reduce((n, p) => n + p.ours, 0);
  const rival = points.reduce((n, p) => n + p.rival, 0);
  return {
    strategy: name,
    blocks: { start: 1_000, end: 1_000 + BLOCKS - 1 },
    wallSeconds: 42,
    liquidatableAccounts: 15,
    ours: side(ours, ours * 1_000, ours * 3.5),
    rival: side(rival, rival * 1_000, rival * 2),
    captureRate: ours / (ours + rival),
    profitUsd: points[points.length - 1]!.cumulativeProfitUsd,
    badDebtUsd: 250,
    clearedBlocks: 17,
    latencyBlocks: { p50: 2, p95: 6, max: 7, values: [1, 1, 2, 2, 2, 3, 4, 6, 7] },
    remainingLiquidatable: 0,
    duplicateExecutions: 0,
    reverts: 1,
    timeline: points,
    swaps,
  };
}

function crashReport(): StressReport {
  return {
    scenario: {
      name: 'synthetic-crash',
      description: 'ETH −30 % and BTC −20 % at block 10, gas ×6',
      sources: ['hand-made for the renderer test'],
      borrowers: 300,
      blockTimeSec: 12,
      assets: ['WETH', 'WBTC', 'USDC'],
    },
    rival: { kind: 'naive', delayBlocks: 2 },
    generatedAt: '2026-11-01T00:00:00.000Z',
    wallSeconds: 90,
    pricePath: [
      { block: 0, prices: { WETH: 2_000, WBTC: 60_000, USDC: 1 } },
      { block: 10, prices: { WETH: 1_400, WBTC: 48_000, USDC: 1 } },
      { block: 20, prices: { WETH: 1_500, WBTC: 50_000, USDC: 1 } },
      { block: BLOCKS - 1, prices: { WETH: 1_500, WBTC: 50_000, USDC: 1 } },
    ],
    gasPath: [
      { block: 0, baseFeeGwei: 20 },
      { block: 10, baseFeeGwei: 120 },
      { block: 22, baseFeeGwei: 40 },
      { block: BLOCKS - 1, baseFeeGwei: 40 },
    ],
    strategies: [
      strategy('max', 3, []),
      strategy('two-step', 2, [
        { block: 12, collateral: 'WETH', priceImpactBps: 35, soldUsd: 8_000 },
        { block: 14, collateral: 'WBTC', priceImpactBps: 12, soldUsd: 3_000 },
        { block: 27, collateral: 'WETH', priceImpactBps: -4, soldUsd: 1_500 },
      ]),
    ],
  };
}

/** A calm run: nobody liquidated anything, no rival. */
function quietReport(): StressReport {
  const nobody: StrategyResult = {
    strategy: 'max',
    blocks: { start: 1_000, end: 1_019 },
    wallSeconds: 10,
    liquidatableAccounts: 0,
    ours: side(0, 0, 0),
    rival: null,
    captureRate: null,
    profitUsd: 0,
    badDebtUsd: 0,
    clearedBlocks: null,
    latencyBlocks: { p50: null, p95: null, max: null, values: [] },
    remainingLiquidatable: 0,
    duplicateExecutions: 0,
    reverts: 0,
    timeline: Array.from({ length: 20 }, (_, block) => ({ block, liquidatable: 0, ours: 0, rival: 0, cumulativeProfitUsd: 0, cumulativeBadDebtUsd: 0 })),
    swaps: [],
  };
  return {
    scenario: { name: 'calm', borrowers: 10, blockTimeSec: 2, assets: ['WETH'] },
    rival: { kind: 'none', delayBlocks: null },
    generatedAt: '2026-11-01T00:00:00.000Z',
    wallSeconds: 5,
    pricePath: [{ block: 0, prices: { WETH: 2_000 } }, { block: 19, prices: { WETH: 2_000 } }],
    gasPath: [{ block: 0, baseFeeGwei: 1 }, { block: 19, baseFeeGwei: 1 }],
    strategies: [nobody, { ...nobody, strategy: 'two-step' }],
  };
}

const ALL_CHARTS = ['price-path', 'liquidatable', 'liquidations-per-block', 'cumulative-profit', 'bad-debt', 'latency', 'gas', 'swap-impact'];

describe('stress report', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stress-report-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('renders every chart of a crash with a rival as SVG and PNG, and each shows data marks in chromium', async () => {
    // Arrange
    const report = crashReport();
    const dir = await tempDir();

    // Act
    const rendered = await renderReport(report, dir);
    const check = await checkReportInBrowser(dir);

    // Assert: files
    expect(rendered.indexHtml).toBe(join(dir, 'index.html'));
    expect(rendered.charts.map((c) => c.name)).toEqual(ALL_CHARTS);
    expect(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))).toEqual(report);
    for (const chart of rendered.charts) {
      const svg = await readFile(chart.svg, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('ecmeta_ssr_type');
      const png = await readFile(chart.png);
      expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      expect(png.length).toBeGreaterThan(10_000);
    }
    const html = await readFile(rendered.indexHtml, 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain('<script');
    expect(html).toContain('naive, reacting 2 blocks late');
    expect(html).toContain('hand-made for the renderer test');

    // Assert: in the browser. Marks are at least one line per series for line charts (3 assets + the base
    // fee; 2 strategies), one bar per non-empty block and side, one dot per swap.
    expect(check.consoleErrors).toEqual([]);
    expect(check.charts.map((c) => c.name)).toEqual(ALL_CHARTS);
    const marks = Object.fromEntries(check.charts.map((c) => [c.name, c.marks]));
    expect(marks['price-path']).toBeGreaterThanOrEqual(4);
    expect(marks['liquidatable']).toBeGreaterThanOrEqual(2);
    expect(marks['cumulative-profit']).toBeGreaterThanOrEqual(2);
    const nonEmptyBars = report.strategies.reduce(
      (n, s) => n + s.timeline.filter((p) => p.ours > 0).length + s.timeline.filter((p) => p.rival > 0).length,
      0,
    );
    expect(marks['liquidations-per-block']).toBe(nonEmptyBars);
    expect(marks['bad-debt']).toBe(4); // two bars, two lines
    expect(marks['gas']).toBe(4); // ours and the rival's, per strategy
    expect(marks['latency']).toBe(2 * 6); // values fall in 6 distinct one-block bins, per strategy
    expect(marks['swap-impact']).toBe(3);
    const screenshot = await readFile(check.screenshot);
    expect(check.screenshot).toBe(join(dir, 'screenshot.png'));
    expect(screenshot.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect((await stat(check.screenshot)).size).toBeGreaterThan(50_000);
  });

  it('omits the swap-impact chart and says so when no strategy swapped', async () => {
    // Arrange
    const report = crashReport();
    report.strategies = report.strategies.map((s) => ({ ...s, swaps: [] }));
    const dir = await tempDir();

    // Act
    const rendered = await renderReport(report, dir);
    const check = await checkReportInBrowser(dir);

    // Assert
    expect(rendered.charts.map((c) => c.name)).toEqual(ALL_CHARTS.filter((n) => n !== 'swap-impact'));
    expect(await readFile(rendered.indexHtml, 'utf8')).toContain('No swap-impact chart: no strategy swapped seized collateral in this run.');
    expect(check.consoleErrors).toEqual([]);
    expect(check.charts.every((c) => c.marks > 0)).toBe(true);
  });

  it('renders a run without any liquidation and without a rival', async () => {
    // Arrange
    const dir = await tempDir();

    // Act
    const rendered = await renderReport(quietReport(), dir);
    const check = await checkReportInBrowser(dir, { requireMarks: false });

    // Assert
    expect(rendered.charts.map((c) => c.name)).toEqual(ALL_CHARTS.filter((n) => n !== 'swap-impact'));
    expect(check.consoleErrors).toEqual([]);
    const marks = Object.fromEntries(check.charts.map((c) => [c.name, c.marks]));
    expect(marks['liquidations-per-block']).toBe(0);
    expect(marks['latency']).toBe(0);
    const html = await readFile(rendered.indexHtml, 'utf8');
    expect(html).toContain('<tr><th>Rival</th><td>none</td></tr>');
    expect(await readFile(join(dir, 'charts', 'latency.svg'), 'utf8')).toContain('no data in this run');
  });

  it('fails the browser check when a chart has no series data', async () => {
    // Arrange: no timeline at all, so the timeline charts have no series data.
    const report = quietReport();
    report.strategies = report.strategies.map((s) => ({ ...s, timeline: [] }));
    const dir = await tempDir();
    await renderReport(report, dir);

    // Act
    const check = checkReportInBrowser(dir);

    // Assert
    await expect(check).rejects.toThrow(ReportCheckError);
    await expect(check).rejects.toThrow(/chart liquidatable: no data mark.*chart cumulative-profit: no data mark/);
  });
});
