import * as echarts from 'echarts';
import type { ChartSpec } from './charts';

/** One chart to SVG with ECharts' server-side renderer (no DOM; animation is off in every option). */
export function renderChartSvg(spec: ChartSpec): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: spec.width, height: spec.height });
  try {
    chart.setOption(spec.option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
