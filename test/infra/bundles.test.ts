/**
 * The worker's bundle budget, measured as bench/bundles.ts measures it: esbuild's JS API in memory with the
 * options the CDK functions bundle with (lib/bundling.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  // ethers' ENS resolver is the stand-in (lib/bundling.ts, MODULE_REPLACEMENTS), and with it ethers' Contract is gone.
  expect(text).not.toContain('function resolve(bytes, bytes) view returns (bytes)');
  expect(text).not.toContain('contract runner does not support calling');
  // License notices ship beside the bundle, not inside it.
  expect(result.outputFiles.find((f) => f.path.endsWith('index.js.LEGAL.txt'))?.text).toContain('noble-curves - MIT License');
  expect(text).not.toContain('Bundled license information');
});

it('a bundled provider refuses ENS names loudly, through the resolver stand-in', async () => {
  // A program bundled with the functions' options: a name to resolve, a name to look up, and a 0x address.
  const probe = `
    import { JsonRpcProvider, Network, resolveAddress } from 'ethers';
    const network = Network.from(1);
    const provider = new JsonRpcProvider('http://127.0.0.1:9', network, { staticNetwork: network });
    const outcome = (p: unknown) => Promise.resolve(p).then((v) => 'value ' + String(v), (e: Error) => 'error ' + e.message);
    (async () => {
      const results = [
        await outcome(provider.resolveName('vitalik.eth')),
        await outcome(provider.lookupAddress('0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045')),
        await outcome(resolveAddress('0xd8da6bf26964af9d7eed9e03e53415d37aa96045', provider)),
      ];
      process.stdout.write(JSON.stringify(results));
      provider.destroy();
    })();
  `;
  const options = esbuildOptionsFor(join(PROJECT_ROOT, PIPELINE_FUNCTIONS.worker.entry));
  const result = await build({ ...options, entryPoints: undefined, stdin: { contents: probe, resolveDir: PROJECT_ROOT, loader: 'ts' }, write: false, logLevel: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'ens-probe-'));
  try {
    const file = join(dir, 'probe.js');
    writeFileSync(file, result.outputFiles.find((f) => f.path.endsWith('index.js'))!.contents);
    const [resolved, lookedUp, address] = JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 })) as string[];

    expect(resolved).toBe(`error ENS names are not resolved by the pipeline's functions (got "vitalik.eth"): use a 0x address`);
    expect(lookedUp).toContain("error ENS names are not resolved by the pipeline's functions");
    expect(address).toBe('value 0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
