/**
 * npx tsx bench/bundles.ts [--json]
 *
 * Bundles every Lambda handler in memory with esbuild, with the options the CDK functions are bundled with
 * (lib/bundling.ts), and reports the minified JavaScript's size (the source map is shipped alongside and
 * reported apart). Also reports what bundling the AWS SDK would add, the choice lib/bundling.ts argues against,
 * and the worker's cold initialisation (measureColdInit). Exits 1 when the worker's bundle exceeds its budget
 * (WORKER_BUNDLE_BUDGET_BYTES).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { esbuildOptionsFor, WORKER_BUNDLE_BUDGET_BYTES } from '../lib/bundling';
import { PIPELINE_FUNCTIONS, type PipelineFunctionName } from '../lib/pipeline-functions';
import { cliArgs } from '../local/cli-args';

const PROJECT_ROOT = join(__dirname, '..');

export interface BundleSize {
  handler: PipelineFunctionName;
  entry: string;
  /** Minified JavaScript as deployed (index.js). */
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  /** The same bundle with the AWS SDK v3 bundled too (not deployed; for comparison). */
  withSdkBytes: number;
  buildMs: number;
}

/** Fresh Node processes per cold-initialisation figure. */
const COLD_INIT_RUNS = 10;

export interface ColdInit {
  runs: number;
  /** `require` of the bundle, the AWS SDK clients it requires (from the runtime on Lambda) included. */
  withSdkMs: { median: number; min: number; max: number };
  /** `require` of the bundle alone: the SDK clients it requires are loaded before the clock starts. */
  bundleOnlyMs: { median: number; min: number; max: number };
}

function spread(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { median: round(median), min: round(sorted[0]), max: round(sorted[sorted.length - 1]) };
}

/**
 * The Lambda init phase of a bundle: in a fresh `node` process, the time to `require` it. The worker wires its
 * adapters on the first invocation (functions/handlers/worker.ts, `handler`: config, RPC and AWS clients), so
 * loading the module, which defines `handler`, is all its init phase does; the wiring needs the network (the
 * RPC's chain id, the liquidator contract's code) and belongs to the first invocation. The bundle is written to
 * a temporary directory; `@aws-sdk/*`, external as on Lambda, resolves from this project's node_modules.
 */
export function measureColdInit(js: Uint8Array, runs = COLD_INIT_RUNS): ColdInit {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-cold-init-'));
  try {
    const bundle = join(dir, 'index.js');
    writeFileSync(bundle, js);
    const sdkModules = [...new Set([...Buffer.from(js).toString('utf8').matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1]))];
    const probe = (preload: string[]) =>
      `for (const m of ${JSON.stringify(preload)}) require(m);` +
      `const started = performance.now(); const loaded = require(${JSON.stringify(bundle)}); const ms = performance.now() - started;` +
      `if (typeof loaded.handler !== 'function') throw new Error('the bundle exports no handler');` +
      `process.stdout.write(String(ms));`;
    const env = {
      PATH: process.env.PATH ?? '',
      NODE_PATH: join(PROJECT_ROOT, 'node_modules'),
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const timeOnce = (preload: string[]) => Number(execFileSync(process.execPath, ['-e', probe(preload)], { env, encoding: 'utf8' }));
    const withSdk: number[] = [];
    const bundleOnly: number[] = [];
    // Alternated, so a disturbance of the machine falls on both figures alike.
    for (let i = 0; i < runs; i++) {
      withSdk.push(timeOnce([]));
      bundleOnly.push(timeOnce(sdkModules));
    }
    return { runs, withSdkMs: spread(withSdk), bundleOnlyMs: spread(bundleOnly) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(handler: PipelineFunctionName): Promise<BundleSize> {
  const entry = PIPELINE_FUNCTIONS[handler].entry;
  const options = esbuildOptionsFor(join(PROJECT_ROOT, entry));
  const startedMs = performance.now();
  const deployed = await build({ ...options, write: false, logLevel: 'silent' });
  const buildMs = performance.now() - startedMs;
  const withSdk = await build({ ...options, external: [], sourcemap: false, write: false, logLevel: 'silent' });
  const file = (outputs: typeof deployed.outputFiles, suffix: string) => outputs.find((f) => f.path.endsWith(suffix))!.contents;
  const js = file(deployed.outputFiles, 'index.js');
  return {
    handler,
    entry,
    bytes: js.byteLength,
    gzipBytes: gzipSync(js).byteLength,
    sourceMapBytes: file(deployed.outputFiles, 'index.js.map').byteLength,
    withSdkBytes: file(withSdk.outputFiles, 'index.js').byteLength,
    buildMs: Math.round(buildMs),
  };
}

async function main(): Promise<void> {
  const values = cliArgs({
    name: 'bundles',
    usage: `usage: npx tsx bench/bundles.ts [--json] [--against <index.js>]
  --json                 print the sizes and the worker's budget as JSON instead of a table
  --against <index.js>   also time the cold initialisation of another worker bundle (e.g. an older commit's),
                         alternating with this tree's worker, three rounds of ${COLD_INIT_RUNS} each
  -h, --help             print this help
exit status 1 when the worker's bundle exceeds its budget (${WORKER_BUNDLE_BUDGET_BYTES} bytes)`,
    options: { json: { type: 'boolean', default: false }, against: { type: 'string' } },
  });
  const sizes: BundleSize[] = [];
  for (const handler of Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[]) sizes.push(await measure(handler));
  const worker = sizes.find((s) => s.handler === 'worker')!;
  const withinBudget = worker.bytes <= WORKER_BUNDLE_BUDGET_BYTES;
  const workerBuild = await build({ ...esbuildOptionsFor(join(PROJECT_ROOT, worker.entry)), write: false, logLevel: 'silent' });
  const workerJs = workerBuild.outputFiles.find((f) => f.path.endsWith('index.js'))!.contents;
  const coldInit = measureColdInit(workerJs);
  // Side by side: the same rounds alternate the two bundles, so the machine's drift falls on both alike.
  const against = values.against === undefined ? undefined : { file: values.against, js: readFileSync(values.against) };
  const rounds = against
    ? [1, 2, 3].map((round) => {
        if (!values.json) process.stderr.write(`cold initialisation, round ${round} of 3…\n`);
        return { round, thisTree: measureColdInit(workerJs), against: measureColdInit(against.js) };
      })
    : [];

  if (values.json) {
    const comparison = against ? { against: { file: against.file, bytes: against.js.byteLength }, rounds } : {};
    console.log(JSON.stringify({ budget: { handler: 'worker', maxBytes: WORKER_BUNDLE_BUDGET_BYTES, withinBudget }, bundles: sizes, workerColdInit: coldInit, ...comparison }, null, 2));
  } else {
    const kb = (n: number) => (n / 1000).toFixed(1).padStart(8);
    console.log(`handler   ${'bytes'.padStart(10)} ${'kB'.padStart(8)} ${'gzip kB'.padStart(8)} ${'map kB'.padStart(8)} ${'+SDK kB'.padStart(8)} ${'ms'.padStart(6)}`);
    for (const s of sizes) {
      console.log(
        `${s.handler.padEnd(9)} ${s.bytes.toString().padStart(10)} ${kb(s.bytes)} ${kb(s.gzipBytes)} ${kb(s.sourceMapBytes)} ${kb(s.withSdkBytes)} ${s.buildMs.toString().padStart(6)}`,
      );
    }
    console.log(`\nworker budget ${WORKER_BUNDLE_BUDGET_BYTES} bytes: ${withinBudget ? 'within' : 'EXCEEDED'} (${worker.bytes} bytes)`);
    const ms = (t: ColdInit['withSdkMs']) => `median ${t.median} ms (${t.min}–${t.max})`;
    console.log(`worker cold init, require in a fresh node, ${coldInit.runs} runs: ${ms(coldInit.withSdkMs)} with its AWS SDK clients, ${ms(coldInit.bundleOnlyMs)} the bundle alone`);
    if (against) {
      console.log(`\nside by side, rounds alternating: this tree's worker (${worker.bytes} bytes) vs ${against.file} (${against.js.byteLength} bytes)`);
      for (const r of rounds) {
        console.log(
          `round ${r.round}: with SDK clients ${r.thisTree.withSdkMs.median} vs ${r.against.withSdkMs.median} ms; the bundle alone ${r.thisTree.bundleOnlyMs.median} vs ${r.against.bundleOnlyMs.median} ms`,
        );
      }
    }
  }
  if (!withinBudget) {
    console.error(`bundles: the worker bundle is ${worker.bytes} bytes, over its budget of ${WORKER_BUNDLE_BUDGET_BYTES}`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(`bundles: ${(err as Error).message}`);
  process.exit(1);
});
