import type { EChartsOption } from 'echarts';
import type { StressReport, StrategyResult } from '../report-types';
import { CHART_FONT_FAMILY } from './chart-fonts';
import { GAS_COLOUR, RIVAL_OPACITY, assetColour, strategyColour } from './palette';

/**
 * The report's charts as ECharts options, built from report.json alone (no I/O). Rendering them is
 * chart-svg.ts's job. Line series are clipped to their grid (`clip: true`) and bars/scatter points are data items:
 * browser-check.ts relies on both to count a chart's data marks.
 */

export interface ChartSpec {
  /** File name (without extension) and the figure's id in index.html. */
  name: string;
  title: string;
  /** One line under the chart: how to read it. */
  caption: string;
  width: number;
  height: number;
  option: EChartsOption;
}

export interface ChartPlan {
  charts: ChartSpec[];
  /** Charts left out, and why, said on the page. */
  omitted: { name: string; reason: string }[];
}

const WIDTH = 900;
const HEIGHT = 360;
/** Latency histograms with a wider spread are binned so they keep about this many bars. */
const MAX_LATENCY_BINS = 30;

export function planCharts(report: StressReport): ChartPlan {
  const charts = [
    pricePathChart(report),
    liquidatableChart(report),
    liquidationsPerBlockChart(report),
    cumulativeProfitChart(report),
    badDebtChart(report),
    latencyChart(report),
    gasChart(report),
  ];
  const omitted: ChartPlan['omitted'] = [];
  if (report.strategies.some((s) => s.swaps.length > 0)) charts.push(swapImpactChart(report));
  else omitted.push({ name: 'swap-impact', reason: 'no strategy swapped seized collateral in this run' });
  return { charts, omitted };
}

function baseOption(title: string, hasData: boolean): EChartsOption {
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: CHART_FONT_FAMILY },
    title: { text: title, left: 'center', top: 6, textStyle: { fontSize: 15, fontFamily: CHART_FONT_FAMILY } },
    legend: { top: 32, itemGap: 18, textStyle: { fontFamily: CHART_FONT_FAMILY } },
    grid: { left: 80, right: 80, top: 72, bottom: 56 },
    // A chart whose inputs are all empty says so instead of showing bare axes.
    graphic: hasData
      ? []
      : [{ type: 'text', left: 'center', top: 'middle', style: { text: 'no data in this run', fontSize: 14, fill: '#888' } }],
  };
}

function blockAxis(): EChartsOption['xAxis'] {
  return { type: 'value', name: 'block', nameLocation: 'middle', nameGap: 28, min: 'dataMin', max: 'dataMax' };
}

function pricePathChart(report: StressReport): ChartSpec {
  const assets = report.scenario.assets;
  const priceSeries = assets.map((asset, i) => {
    const points = report.pricePath.filter((p) => p.prices[asset] !== undefined);
    const start = points[0]?.prices[asset];
    const data = start ? points.map((p) => [p.block, (p.prices[asset]! / start) * 100]) : [];
    return { type: 'line' as const, name: asset, step: 'end' as const, showSymbol: false, clip: true, data, color: assetColour(i) };
  });
  const gasSeries = {
    type: 'line' as const,
    name: 'base fee (gwei)',
    yAxisIndex: 1,
    step: 'end' as const,
    showSymbol: false,
    clip: true,
    color: GAS_COLOUR,
    lineStyle: { type: 'dashed' as const },
    data: report.gasPath.map((g) => [g.block, g.baseFeeGwei]),
  };
  const hasData = priceSeries.some((s) => s.data.length > 0) || gasSeries.data.length > 0;
  return {
    name: 'price-path',
    title: 'Price path and base fee',
    caption: 'Each asset\'s oracle price as % of its price at the first block (left axis); the dashed line is the base fee in gwei (right axis).',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption('Price path and base fee', hasData),
      xAxis: blockAxis(),
      yAxis: [
        { type: 'value', name: '% of start', scale: true },
        { type: 'value', name: 'gwei', scale: true, splitLine: { show: false } },
      ],
      series: [...priceSeries, gasSeries],
    },
  };
}

function timelineLines(report: StressReport, value: (p: StrategyResult['timeline'][number]) => number) {
  return report.strategies.map((s, i) => ({
    type: 'line' as const,
    name: s.strategy,
    showSymbol: false,
    clip: true,
    color: strategyColour(i),
    data: s.timeline.map((p) => [p.block, value(p)]),
  }));
}

function hasTimeline(report: StressReport): boolean {
  return report.strategies.some((s) => s.timeline.length > 0);
}

function liquidatableChart(report: StressReport): ChartSpec {
  const title = 'Accounts liquidatable';
  return {
    name: 'liquidatable',
    title,
    caption: 'Accounts the observer read as liquidatable at each block, one line per strategy: the faster a line falls back, the faster the book was cleared.',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption(title, hasTimeline(report)),
      xAxis: blockAxis(),
      yAxis: { type: 'value', name: 'accounts', minInterval: 1 },
      series: timelineLines(report, (p) => p.liquidatable),
    },
  };
}

function liquidationsPerBlockChart(report: StressReport): ChartSpec {
  const blocks = report.strategies.flatMap((s) => s.timeline.map((p) => p.block));
  const first = blocks.length > 0 ? Math.min(...blocks) : 0;
  const last = blocks.length > 0 ? Math.max(...blocks) : -1;
  const categories = Array.from({ length: last - first + 1 }, (_, k) => String(first + k));
  // null rather than 0: a block without liquidation draws no bar.
  const perBlock = (s: StrategyResult, side: 'ours' | 'rival') => {
    const counts: (number | null)[] = categories.map(() => null);
    for (const p of s.timeline) if (p[side] > 0) counts[p.block - first] = p[side];
    return counts;
  };
  const series = report.strategies.flatMap((s, i) => {
    const ours = { type: 'bar' as const, name: `${s.strategy}: ours`, stack: s.strategy, color: strategyColour(i), data: perBlock(s, 'ours') };
    if (s.rival === null) return [ours];
    const rival = {
      type: 'bar' as const,
      name: `${s.strategy}: rival`,
      stack: s.strategy,
      color: strategyColour(i),
      itemStyle: { opacity: RIVAL_OPACITY },
      data: perBlock(s, 'rival'),
    };
    return [ours, rival];
  });
  const hasData = report.strategies.some((s) => s.timeline.some((p) => p.ours > 0 || p.rival > 0));
  const title = 'Liquidations per block, ours vs the rival';
  return {
    name: 'liquidations-per-block',
    title,
    caption: 'LiquidationCall events per block: one stacked bar per strategy, solid for ours, pale for the rival competing with that strategy.',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption(title, hasData),
      xAxis: { type: 'category', name: 'block', nameLocation: 'middle', nameGap: 28, data: categories },
      yAxis: { type: 'value', name: 'liquidations', minInterval: 1 },
      series,
    },
  };
}

function cumulativeProfitChart(report: StressReport): ChartSpec {
  const title = 'Cumulative profit';
  return {
    name: 'cumulative-profit',
    title,
    caption: 'Our profit so far (liquidation bonus minus gas, USD at the block\'s oracle price), one line per strategy: higher is better.',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption(title, hasTimeline(report)),
      xAxis: blockAxis(),
      yAxis: { type: 'value', name: 'USD' },
      series: timelineLines(report, (p) => p.cumulativeProfitUsd),
    },
  };
}

function badDebtChart(report: StressReport): ChartSpec {
  const title = 'Bad debt left';
  const lines = timelineLines(report, (p) => p.cumulativeBadDebtUsd).map((s) => ({ ...s, xAxisIndex: 1, yAxisIndex: 1 }));
  const bars = {
    type: 'bar' as const,
    name: 'bad debt at the end',
    xAxisIndex: 0,
    yAxisIndex: 0,
    data: report.strategies.map((s, i) => ({ value: s.badDebtUsd, itemStyle: { color: strategyColour(i) } })),
  };
  return {
    name: 'bad-debt',
    title,
    caption: 'Deficits the Pool recorded (DeficitCreated, USD): left, the total per strategy at the end; right, how it accumulated block by block. Lower is better.',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption(title, report.strategies.length > 0),
      legend: { top: 32, right: 40, itemGap: 18, data: report.strategies.map((s) => s.strategy), textStyle: { fontFamily: CHART_FONT_FAMILY } },
      grid: [
        { left: 80, top: 72, bottom: 56, width: '25%' },
        { left: '45%', right: 40, top: 72, bottom: 56 },
      ],
      xAxis: [
        { type: 'category', gridIndex: 0, data: report.strategies.map((s) => s.strategy) },
        { type: 'value', gridIndex: 1, name: 'block', nameLocation: 'middle', nameGap: 28, min: 'dataMin', max: 'dataMax' },
      ],
      yAxis: [
        { type: 'value', gridIndex: 0, name: 'USD' },
        { type: 'value', gridIndex: 1, name: 'USD' },
      ],
      series: [bars, ...lines],
    },
  };
}

/** Integer-block bins from 0 to the largest latency, widened so there are at most MAX_LATENCY_BINS. */
export function latencyBins(values: number[][]): { labels: string[]; width: number } {
  const max = Math.max(0, ...values.flat());
  const width = Math.max(1, Math.ceil((max + 1) / MAX_LATENCY_BINS));
  const count = Math.floor(max / width) + 1;
  const labels = Array.from({ length: count }, (_, k) =>
    width === 1 ? String(k) : `${k * width}–${k * width + width - 1}`,
  );
  return { labels, width };
}

function latencyChart(report: StressReport): ChartSpec {
  const values = report.strategies.map((s) => s.latencyBlocks.values);
  const bins = latencyBins(values);
  const series = report.strategies.map((s, i) => {
    const counts: (number | null)[] = bins.labels.map(() => null);
    for (const v of s.latencyBlocks.values) {
      const k = Math.floor(Math.max(0, v) / bins.width);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return { type: 'bar' as const, name: s.strategy, color: strategyColour(i), data: counts };
  });
  const title = 'Detection latency';
  return {
    name: 'latency',
    title,
    caption: 'Accounts by blocks between first becoming liquidatable and our first liquidation of them, one bar colour per strategy: mass on the left is faster.',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption(title, values.some((v) => v.length > 0)),
      xAxis: { type: 'category', name: 'blocks', nameLocation: 'middle', nameGap: 28, data: bins.labels },
      yAxis: { type: 'value', name: 'accounts', minInterval: 1 },
      series,
    },
  };
}

function gasChart(report: StressReport): ChartSpec {
  const ours = {
    type: 'bar' as const,
    name: 'ours',
    color: GAS_COLOUR,
    data: report.strategies.map((s, i) => ({ value: s.ours.gasUsd, itemStyle: { color: strategyColour(i) } })),
  };
  const anyRival = report.strategies.some((s) => s.rival !== null);
  const rival = {
    type: 'bar' as const,
    name: 'rival',
    color: GAS_COLOUR,
    itemStyle: { opacity: RIVAL_OPACITY },
    data: report.strategies.map((s, i) => ({ value: s.rival?.gasUsd ?? null, itemStyle: { color: strategyColour(i) } })),
  };
  const title = 'Gas paid';
  return {
    name: 'gas',
    title,
    caption: 'Gas paid in USD per strategy (gasUsed × effective gas price): solid for ours, pale for the rival in the same world.',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption(title, report.strategies.length > 0),
      xAxis: { type: 'category', data: report.strategies.map((s) => s.strategy) },
      yAxis: { type: 'value', name: 'USD' },
      series: anyRival ? [ours, rival] : [ours],
    },
  };
}

function swapImpactChart(report: StressReport): ChartSpec {
  const maxSoldUsd = Math.max(1, ...report.strategies.flatMap((s) => s.swaps.map((w) => w.soldUsd)));
  // Dot area proportional to the USD sold, between 4 and 18 px wide.
  const symbolSize = (value: number[]) => Math.max(4, Math.sqrt(Math.max(0, value[2]!) / maxSoldUsd) * 18);
  const series = report.strategies.flatMap((s, i) =>
    s.swaps.length === 0
      ? []
      : [{
          type: 'scatter' as const,
          name: s.strategy,
          color: strategyColour(i),
          symbolSize,
          data: s.swaps.map((w) => [w.block, w.priceImpactBps, w.soldUsd]),
        }],
  );
  const title = 'Swap price impact';
  return {
    name: 'swap-impact',
    title,
    caption: 'Each dot is one swap of seized collateral: its price against the oracle in bps (higher = received less), dot area ∝ USD sold.',
    width: WIDTH,
    height: HEIGHT,
    option: {
      ...baseOption(title, true),
      xAxis: blockAxis(),
      yAxis: { type: 'value', name: 'bps', scale: true },
      series,
    },
  };
}
