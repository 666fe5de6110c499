import { existsSync } from 'node:fs';

/**
 * The charts' font. resvg (the PNG renderer) draws no text without a font it was given or found, and a chart
 * without its axis labels would still "render". So the charts name the families Debian ships with what the
 * report needs: DejaVu Sans (fonts-dejavu-core, which fontconfig-config, hence libfontconfig1, hence `chromium`,
 * depends on first) and Liberation Sans (fonts-liberation, which `chromium` recommends). The same family list
 * is written into the SVG, so chromium and resvg pick the same face.
 */
export const CHART_FONT_FAMILY = 'DejaVu Sans, Liberation Sans, sans-serif';

const FONT_FILES: { family: string; files: string[] }[] = [
  {
    family: 'DejaVu Sans',
    files: ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'],
  },
  {
    family: 'Liberation Sans',
    files: [
      '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
      '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
    ],
  },
];

export interface ChartFonts {
  /** The family text falls back to when a chart names none that was loaded. */
  defaultFamily: string;
  files: string[];
}

export class ChartFontMissingError extends Error {
  constructor(looked: string[]) {
    super(
      `no font for the charts' text: looked for ${looked.join(', ')}; ` +
        'install Debian\'s fonts-dejavu-core or fonts-liberation (both come with the chromium package)',
    );
    this.name = 'ChartFontMissingError';
  }
}

/** The first of the charts' families installed on this machine, with its files. */
export function findChartFonts(fileExists: (path: string) => boolean = existsSync): ChartFonts {
  for (const { family, files } of FONT_FILES) {
    const present = files.filter(fileExists);
    if (present.length > 0) return { defaultFamily: family, files: present };
  }
  throw new ChartFontMissingError(FONT_FILES.flatMap((f) => f.files));
}
