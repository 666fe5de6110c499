/**
 * npx tsx bench/bundles.ts [--json]
 *
 * Bundles every Lambda handler in memory with esbuild, with the options the CDK functions are bundled with
 * (lib/bundling.ts), and reports the minified JavaScript's size (the source map is shipped alongside and
 * reported apart). Also reports what bundling the AWS SDK would add, the choice lib/bundling.ts argues against.
 * Exits 1 when the worker's bundle exceeds its budget (WORKER_BUNDLE_BUDGET_BYTES).
 */
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
    usage: `usage: npx tsx bench/bundles.ts [--json]
  --json       print the sizes and the worker's budget as JSON instead of a table
  -h, --help   print this help
exit status 1 when the worker's bundle exceeds its budget (${WORKER_BUNDLE_BUDGET_BYTES} bytes)`,
    options: { json: { type: 'boolean', default: false } },
  });
  const sizes: BundleSize[] = [];
  for (const handler of Object.keys(PIPELINE_FUNCTIONS) as PipelineFunctionName[]) sizes.push(await measure(handler));
  const worker = sizes.find((s) => s.handler === 'worker')!;
  const withinBudget = worker.bytes <= WORKER_BUNDLE_BUDGET_BYTES;

  if (values.json) {
    console.log(JSON.stringify({ budget: { handler: 'worker', maxBytes: WORKER_BUNDLE_BUDGET_BYTES, withinBudget }, bundles: sizes }, null, 2));
  } else {
    const kb = (n: number) => (n / 1000).toFixed(1).padStart(8);
    console.log(`handler   ${'bytes'.padStart(10)} ${'kB'.padStart(8)} ${'gzip kB'.padStart(8)} ${'map kB'.padStart(8)} ${'+SDK kB'.padStart(8)} ${'ms'.padStart(6)}`);
    for (const s of sizes) {
      console.log(
        `${s.handler.padEnd(9)} ${s.bytes.toString().padStart(10)} ${kb(s.bytes)} ${kb(s.gzipBytes)} ${kb(s.sourceMapBytes)} ${kb(s.withSdkBytes)} ${s.buildMs.toString().padStart(6)}`,
      );
    }
    console.log(`\nworker budget ${WORKER_BUNDLE_BUDGET_BYTES} bytes: ${withinBudget ? 'within' : 'EXCEEDED'} (${worker.bytes} bytes)`);
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
