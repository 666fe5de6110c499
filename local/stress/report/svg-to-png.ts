import { Resvg } from '@resvg/resvg-js';
import { findChartFonts, type ChartFonts } from './chart-fonts';

/**
 * SVG → PNG with resvg (a full SVG renderer, in-process: no browser needed to write the report). System fonts are
 * not scanned (slow, and machine-dependent): only the charts' own font files are loaded, and their absence is an
 * error rather than a PNG without text (see chart-fonts.ts). Rendered at twice the SVG's size for sharp text.
 */
export function svgToPng(svg: string, fonts: ChartFonts = findChartFonts()): Buffer {
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'zoom', value: 2 },
    font: {
      loadSystemFonts: false,
      fontFiles: fonts.files,
      defaultFontFamily: fonts.defaultFamily,
      sansSerifFamily: fonts.defaultFamily,
    },
  });
  return resvg.render().asPng();
}
