import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/**
 * Opens a rendered report in headless Chromium (Debian's `chromium` package, driven by playwright-core; no
 * browser download) and checks what a reader would see: every chart figure holds a non-empty SVG with data
 * marks. Console errors, page errors and any request leaving file:// (the page must be self-contained) are
 * returned for the caller to assert on; a full-page screenshot is written to DIR/screenshot.png.
 *
 * A data mark, in ECharts' SSR output: an element ECharts tags as a series' data item
 * (`ecmeta_ssr_type="chart"`: a bar, a scatter dot, a line symbol) with a non-zero box, or a path drawn inside a
 * grid's clip group (`<g clip-path>`: a line or area series, clipped to its grid by charts.ts) with a non-empty
 * `d` and a box wider or taller than nothing. Axes, split lines, ticks and legend icons are neither.
 */

export interface BrowserCheckOptions {
  /** Fail when a chart has no data mark (default true; false for a report that has nothing to draw). */
  requireMarks?: boolean;
  /** Page load timeout, ms (default 30 s). */
  timeoutMs?: number;
}

export interface BrowserCheckResult {
  charts: { name: string; marks: number }[];
  consoleErrors: string[];
  screenshot: string;
}

export class ChromiumNotFoundError extends Error {
  constructor() {
    super('chromium not found: set CHROMIUM_PATH or install Debian\'s chromium package (apt-get install -y chromium)');
    this.name = 'ChromiumNotFoundError';
  }
}

export class ReportCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(`report check failed: ${problems.join('; ')}`);
    this.name = 'ReportCheckError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH, else `chromium` on PATH (what `which chromium` finds). */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.CHROMIUM_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new ChromiumNotFoundError();
    return explicit;
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'chromium');
    if (isExecutable(candidate)) return candidate;
  }
  throw new ChromiumNotFoundError();
}

interface ChartInPage {
  name: string;
  svgChildren: number;
  marks: number;
}

/**
 * Runs in the page. A string, not a function: playwright serialises a function with its source, and tsx/esbuild
 * wrap nested functions in a `__name` helper that does not exist in the page.
 */
const READ_CHARTS_IN_PAGE = `(() => {
  const box = (el) => (typeof el.getBBox === 'function' ? el.getBBox() : { width: 0, height: 0 });
  return Array.from(document.querySelectorAll('figure[data-chart]')).map((figure) => {
    const name = figure.getAttribute('data-chart');
    const svg = figure.querySelector('svg');
    if (!svg) return { name, svgChildren: 0, marks: 0 };
    const items = Array.from(svg.querySelectorAll('[ecmeta_ssr_type="chart"]')).filter((el) => {
      const b = box(el);
      return b.width > 0 && b.height > 0;
    });
    const lines = Array.from(svg.querySelectorAll('g[clip-path] path')).filter((el) => {
      if (el.closest('clipPath')) return false;
      const b = box(el);
      return (el.getAttribute('d') || '').trim() !== '' && (b.width > 0 || b.height > 0);
    });
    return { name, svgChildren: svg.childElementCount, marks: items.length + lines.length };
  });
})()`;

export async function checkReportInBrowser(dir: string, options: BrowserCheckOptions = {}): Promise<BrowserCheckResult> {
  const requireMarks = options.requireMarks ?? true;
  const executablePath = findChromium();
  const browser = await chromium.launch({ executablePath, headless: true, timeout: options.timeoutMs ?? 30_000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => {
      if (req.url().startsWith('file:')) consoleErrors.push(`request failed: ${req.url()}`);
    });
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      consoleErrors.push(`external request (the page must be self-contained): ${url}`);
      return route.abort();
    });

    await page.goto(pathToFileURL(join(dir, 'index.html')).href, { waitUntil: 'load', timeout: options.timeoutMs ?? 30_000 });
    const inPage = await page.evaluate<ChartInPage[]>(READ_CHARTS_IN_PAGE);
    const screenshot = join(dir, 'screenshot.png');
    await page.screenshot({ path: screenshot, fullPage: true });

    const problems: string[] = [];
    if (inPage.length === 0) problems.push('no chart figure in index.html');
    for (const chart of inPage) {
      if (chart.svgChildren === 0) problems.push(`chart ${chart.name}: empty or missing <svg>`);
      else if (requireMarks && chart.marks === 0) problems.push(`chart ${chart.name}: no data mark`);
    }
    if (problems.length > 0) throw new ReportCheckError(problems);
    return { charts: inPage.map(({ name, marks }) => ({ name, marks })), consoleErrors, screenshot };
  } finally {
    await browser.close();
  }
}
