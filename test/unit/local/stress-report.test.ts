/**
 * The report renderer's small decisions: latency histogram bins, where the charts' fonts and chromium are found
 * (and the errors when they are not), and that the PNG renderer really draws text.
 */
import { ChromiumNotFoundError, findChromium } from '../../../local/stress/report/browser-check';
import { ChartFontMissingError, findChartFonts } from '../../../local/stress/report/chart-fonts';
import { latencyBins } from '../../../local/stress/report/charts';
import { svgToPng } from '../../../local/stress/report/svg-to-png';

describe('latencyBins', () => {
  it.each([
    { values: [[]], labels: ['0'], width: 1 },
    { values: [[0, 2], [1]], labels: ['0', '1', '2'], width: 1 },
    { values: [[29]], labels: Array.from({ length: 30 }, (_, k) => String(k)), width: 1 },
    // 31 one-block bins would be too many: two-block bins, 0–1 … 30–31.
    { values: [[30]], labels: Array.from({ length: 16 }, (_, k) => `${2 * k}–${2 * k + 1}`), width: 2 },
  ])('bins $values into $width-block bins', ({ values, labels, width }) => {
    expect(latencyBins(values)).toEqual({ labels, width });
  });
});

describe('findChartFonts', () => {
  it('takes the first family with a file present', () => {
    const fonts = findChartFonts((path) => path.includes('liberation/LiberationSans-Regular'));
    expect(fonts).toEqual({ defaultFamily: 'Liberation Sans', files: ['/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf'] });
  });

  it('says which package to install when no font is there', () => {
    expect(() => findChartFonts(() => false)).toThrow(ChartFontMissingError);
    expect(() => findChartFonts(() => false)).toThrow(/install Debian's fonts-dejavu-core or fonts-liberation/);
  });
});

describe('findChromium', () => {
  it('rejects a CHROMIUM_PATH that is not an executable', () => {
    expect(() => findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).toThrow(ChromiumNotFoundError);
    expect(() => findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).toThrow(/set CHROMIUM_PATH or install Debian's chromium/);
  });

  it('fails with the same advice when chromium is not on PATH', () => {
    expect(() => findChromium({ PATH: '/nonexistent' })).toThrow(/set CHROMIUM_PATH or install Debian's chromium/);
  });
});

describe('svgToPng', () => {
  it('draws text with the charts\' font', () => {
    // Arrange: the same canvas with and without a line of text.
    const svg = (body: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">${body}</svg>`;

    // Act
    const blank = svgToPng(svg(''));
    const text = svgToPng(svg('<text x="5" y="25" font-family="sans-serif" font-size="16">Liquidations 42</text>'));

    // Assert: glyphs make the PNG measurably larger than a blank one (a missing font would leave it blank).
    expect(text.length).toBeGreaterThan(blank.length + 500);
  });
});
