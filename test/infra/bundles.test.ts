/**
 * The worker's bundle budget, measured as bench/bundles.ts measures it: esbuild's JS API in memory with the
 * options the CDK functions bundle with (lib/bundling.ts).
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptionsFor, HANDLER_BUNDLING, WORKER_BUNDLE_BUDGET_BYTES } from '../../lib/bundling';
import { PIPELINE_FUNCTIONS } from '../../lib/pipeline-functions';
const PROJECT_ROOT = join(__dirname, '..', '..');

it(`bundles the worker within ${WORKER_BUNDLE_BUDGET_BYTES} bytes, leaving the AWS SDK to the runtime`, async () => {
  const result = await build({ ...esbuildOptionsFor(join(PROJECT_ROOT, PIPELINE_FUNCTIONS.worker.entry)), write: false, logLevel: 'silent' });
  const js = result.outputFiles.find((f) => f.path.endsWith('index.js'))!;
  const text = js.text;

  expect(js.contents.byteLength).toBeLessThanOrEqual(WORKER_BUNDLE_BUDGET_BYTES);
  expect(text).toMatch(/require\("@aws-sdk\/client-kms"\)/);
  expect(HANDLER_BUNDLING.external).toEqual(['@aws-sdk/*', '@smithy/*']);
  // ethers is bundled, not expected from the runtime.
  expect(text).not.toMatch(/require\("ethers"\)/);
  // ENS normalisation is the stand-in (lib/bundling.ts, alias), not @adraffy/ens-normalize's Unicode tables.
  expect(text).toContain("ENS names are not resolved by the pipeline's functions");
  // JMESPath is the field-path stand-in (lib/bundling.ts, alias), not the package's parser and function library.
  expect(text).toContain('is not supported in the bundled functions: only field paths');
  expect(text).not.toContain('funcPowertoolsJson');
  // License notices ship beside the bundle, not inside it.
  expect(result.outputFiles.find((f) => f.path.endsWith('index.js.LEGAL.txt'))?.text).toContain('noble-curves - MIT License');
  expect(text).not.toContain('Bundled license information');
});
