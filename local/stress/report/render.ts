import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StressReport } from '../report-types';
import { findChartFonts } from './chart-fonts';
import { renderChartSvg } from './chart-svg';
import { planCharts } from './charts';
import { reportPage } from './page';
import { svgToPng } from './svg-to-png';

export interface RenderedReport {
  indexHtml: string;
  charts: { name: string; svg: string; png: string }[];
}

/**
 * Writes the stress lab's report into outDir: report.json (the report as given, pretty), charts/NAME.svg and
 * charts/NAME.png per chart, and index.html. Returns the paths written.
 */
export async function renderReport(report: StressReport, outDir: string): Promise<RenderedReport> {
  const chartsDir = join(outDir, 'charts');
  await mkdir(chartsDir, { recursive: true });
  await writeFile(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);

  const fonts = findChartFonts();
  const plan = planCharts(report);
  const rendered = plan.charts.map((spec) => ({ ...spec, svg: renderChartSvg(spec) }));
  const charts: RenderedReport['charts'] = [];
  for (const chart of rendered) {
    const svg = join(chartsDir, `${chart.name}.svg`);
    const png = join(chartsDir, `${chart.name}.png`);
    await writeFile(svg, chart.svg);
    await writeFile(png, svgToPng(chart.svg, fonts));
    charts.push({ name: chart.name, svg, png });
  }

  const indexHtml = join(outDir, 'index.html');
  await writeFile(indexHtml, reportPage(report, plan, rendered));
  return { indexHtml, charts };
}
