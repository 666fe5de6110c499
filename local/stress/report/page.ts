import type { StressReport, StrategyResult } from '../report-types';
import type { ChartPlan } from './charts';
import { strategyColour } from './palette';

/**
 * index.html: one self-contained page (inline CSS, the charts' SVG inline, no script, no external URL), so it
 * opens offline from file:// and shows the charts even with scripts disabled. Links to the SVG/PNG files are
 * relative to the page.
 */

export interface RenderedChart {
  name: string;
  title: string;
  caption: string;
  svg: string;
}

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const DASH = '—';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function orDash<T>(value: T | null, show: (v: T) => string): string {
  return value === null ? DASH : show(value);
}

function rivalLabel(report: StressReport): string {
  const { kind, delayBlocks } = report.rival;
  if (kind === 'none') return 'none';
  return delayBlocks === null ? kind : `${kind}, reacting ${delayBlocks} block${delayBlocks === 1 ? '' : 's'} late`;
}

function scenarioSection(report: StressReport): string {
  const s = report.scenario;
  const sources = s.sources && s.sources.length > 0
    ? `<ul>${s.sources.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>`
    : DASH;
  const rows: [string, string][] = [
    ['Scenario', escapeHtml(s.name)],
    ['Description', s.description ? escapeHtml(s.description) : DASH],
    ['Sources of the price path', sources],
    ['Borrowers', String(s.borrowers)],
    ['Assets', escapeHtml(s.assets.join(', '))],
    ['Block time', `${s.blockTimeSec} s`],
    ['Rival', escapeHtml(rivalLabel(report))],
    ['Generated', `${escapeHtml(report.generatedAt)} in ${report.wallSeconds.toFixed(0)} s`],
  ];
  return `<table class="scenario">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function summaryRow(s: StrategyResult, index: number): string {
  const cells = [
    `<span class="swatch" style="background:${strategyColour(index)}"></span>${escapeHtml(s.strategy)}`,
    `${s.ours.liquidations} / ${s.rival === null ? DASH : s.rival.liquidations}`,
    orDash(s.captureRate, (r) => `${(r * 100).toFixed(1)} %`),
    usd.format(s.profitUsd),
    `${usd.format(s.ours.gasUsd)} / ${s.rival === null ? DASH : usd.format(s.rival.gasUsd)}`,
    usd.format(s.badDebtUsd),
    orDash(s.clearedBlocks, String),
    `${orDash(s.latencyBlocks.p50, String)} / ${orDash(s.latencyBlocks.p95, String)}`,
    String(s.remainingLiquidatable),
    String(s.duplicateExecutions),
    String(s.reverts),
  ];
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

function summaryTable(report: StressReport): string {
  const head = [
    'Strategy',
    'Liquidations ours / rival',
    'Capture rate',
    'Profit',
    'Gas ours / rival',
    'Bad debt',
    'Cleared in (blocks)',
    'Latency p50 / p95 (blocks)',
    'Still liquidatable',
    'Duplicates',
    'Reverts',
  ];
  return `<table class="summary"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>` +
    `<tbody>${report.strategies.map(summaryRow).join('')}</tbody></table>`;
}

function figure(chart: RenderedChart): string {
  return `<figure id="${chart.name}" data-chart="${chart.name}">${chart.svg}` +
    `<figcaption>${escapeHtml(chart.caption)} ` +
    `<a href="charts/${chart.name}.svg">SVG</a> · <a href="charts/${chart.name}.png">PNG</a></figcaption></figure>`;
}

const STYLE = `
body { font-family: 'DejaVu Sans', 'Liberation Sans', sans-serif; margin: 24px auto; max-width: 960px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
table.summary td { text-align: right; } table.summary td:first-child { text-align: left; white-space: nowrap; }
table.scenario ul { margin: 0; padding-left: 18px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
figure { margin: 18px 0; } figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: #444; }
.note { font-size: 13px; color: #555; }
`;

export function reportPage(report: StressReport, plan: ChartPlan, charts: RenderedChart[]): string {
  const omitted = plan.omitted
    .map((o) => `<p class="note" data-omitted="${o.name}">No ${o.name} chart: ${escapeHtml(o.reason)}.</p>`)
    .join('');
  const title = `Stress lab: ${escapeHtml(report.scenario.name)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head>
<body>
<h1>${title}</h1>
<h2>Scenario</h2>
${scenarioSection(report)}
<h2>Per strategy</h2>
${summaryTable(report)}
<p class="note">USD at the oracle price of the block it happened in; latency from an account's first liquidatable block to our first liquidation of it; ${DASH} means no data. The numbers are in <a href="report.json">report.json</a>.</p>
<h2>Charts</h2>
${charts.map(figure).join('\n')}
${omitted}
</body></html>
`;
}
