/**
 * How every handler is bundled, in one place: the CDK functions (bundleHandler, run during `cdk synth` by
 * lib/constructs/handler-code.ts), bench/bundles.ts and the bundle-budget test all build with esbuildOptionsFor
 * through esbuild's JS API, so the measured bundle is the deployed one (test/infra/functions.test.ts compares
 * the bytes).
 *
 * The AWS SDK v3 (`@aws-sdk/*`, with its `@smithy/*` core) is left to the Lambda runtime rather than bundled.
 * Bundled, it would pin the SDK version, but the worker grows from about 0.97 MB to 1.65 MB and past the 1 MB
 * budget (BENCHMARKS.md, "Function bundles"), and every cold start pays for parsing it. The runtime's SDK
 * serves what the functions use: the DynamoDB, SQS, KMS and Secrets Manager clients and lib-dynamodb, with
 * Powertools (which is bundled) calling them. Powertools and the SDK clients are used only through APIs that
 * are stable across SDK v3 minor versions; `useQueueUrlAsEndpoint`, which a runtime SDK older than the option
 * ignores, only matters for local emulators. Every other dependency (ethers, zod, Powertools, middy) is
 * bundled, at the version in package-lock.json.
 *
 * ENS normalisation (`@adraffy/ens-normalize`, which ethers reaches only to resolve a name that is not a 0x
 * address) is replaced by functions/adapters/chain/ens-unsupported.ts, which refuses names: the functions use
 * 0x addresses only, and its Unicode tables were about 37 kB of every bundle.
 *
 * JMESPath (`@aws-lambda-powertools/jmespath`, which Powertools Idempotency uses to select the idempotency key
 * from each record) is replaced by functions/adapters/aws/jmespath-field-paths.ts, which evaluates the field
 * paths the functions use (`attributes.MessageDeduplicationId`) as the real interpreter does and refuses any other
 * expression: the full lexer, parser and function library were about 24 kB of the worker's bundle.
 *
 * ethers' ENS resolver (`ethers/lib.esm/providers/ens-resolver.js`, which ethers' providers import to resolve names
 * and which brings ethers' Contract class with it) is replaced by functions/adapters/chain/
 * ens-resolver-unsupported.ts, which refuses names as the normaliser's stand-in does: about 21 kB of every bundle
 * with the functions' own reads made through ViewContract (functions/adapters/chain/view-contract.ts). ethers imports
 * it by a relative path, out of `alias`'s reach (esbuild aliases package paths only), so it is replaced by a plugin
 * (MODULE_REPLACEMENTS). NodejsFunction runs esbuild's command line, which takes no plugins; the CDK functions
 * therefore bundle through esbuild's JS API here (bundleHandler, called by lib/constructs/handler-code.ts).
 *
 * Legal comments (the noble-curves and noble-hashes MIT notices, and Powertools' `@preserve` coverage hints) go
 * to `index.js.LEGAL.txt` beside the bundle, in the same asset, instead of the end of index.js (about 1.4 kB).
 */
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const PROJECT_ROOT = join(__dirname, '..');

/** Node.js version the bundles target; the functions run on the matching Lambda runtime (nodejs22.x). */
export const NODE_MAJOR_VERSION = 22;

export const HANDLER_BUNDLING = {
  target: `node${NODE_MAJOR_VERSION}`,
  platform: 'node',
  format: 'cjs',
  minify: true,
  sourcemap: true,
  // Source maps name files and lines; the sources themselves stay out of the asset.
  sourcesContent: false,
  /** Provided by the Lambda Node.js runtime (see above). */
  external: ['@aws-sdk/*', '@smithy/*'],
  /** Package → replacement, relative to the project root (esbuild resolves aliases from its working directory). */
  alias: {
    '@adraffy/ens-normalize': './functions/adapters/chain/ens-unsupported.ts',
    // Both entries the package exports to Idempotency: `search` and `/functions` (PowertoolsFunctions).
    '@aws-lambda-powertools/jmespath': './functions/adapters/aws/jmespath-field-paths.ts',
    '@aws-lambda-powertools/jmespath/functions': './functions/adapters/aws/jmespath-field-paths.ts',
  },
  /** License notices to `index.js.LEGAL.txt`, shipped in the same asset (see above). */
  legalComments: 'external',
} as const;

/**
 * The worker's bundle (minified JavaScript, source map excluded) must stay within 490 kB = 490,000 bytes, under
 * the 500 kB the cold start is held to. History (BENCHMARKS.md, "Function bundles"): 610 kB before the ENS and
 * JMESPath stand-ins; 500 kB until the position lens brought its creation code (about 18.5 kB of hex, which turns
 * a position read on a 24-reserve market from 52 eth_calls into 1); up to 530 kB, then 509.5 kB once the contract
 * code the functions carry was packed (packed-bytecode.ts) and the worker's one borrower-table write moved out of
 * the borrower store; 506.5 kB with revert attribution, the sale recheck, batch bounds from the pending block and
 * the batch worst-case gas, less what the worker-only settings parser and the SSM parameter provider saved; 484.8 kB
 * since ethers' ENS resolver is replaced and the functions read contracts through ViewContract instead of ethers'
 * Contract (both about 21 kB).
 */
export const WORKER_BUNDLE_BUDGET_BYTES = 490_000;

/**
 * Files inside packages → replacement, relative to the project root: what `alias` cannot reach because the
 * package imports the file by a relative path (see above). Applied by moduleReplacements.
 */
export const MODULE_REPLACEMENTS = {
  'node_modules/ethers/lib.esm/providers/ens-resolver.js': './functions/adapters/chain/ens-resolver-unsupported.ts',
} as const;

/** esbuild plugin: an import that resolves to a file of MODULE_REPLACEMENTS resolves to its replacement instead. */
function moduleReplacements(): Plugin {
  // esbuild reports the importer's real directory; the project may be reached through a symbolic link.
  const root = realpathSync(PROJECT_ROOT);
  const byFile = new Map(Object.entries(MODULE_REPLACEMENTS).map(([file, by]) => [join(root, file), join(root, by)]));
  const names = Object.keys(MODULE_REPLACEMENTS).map((file) => file.split('/').pop()!.replace(/[.]/g, '\\.'));
  return {
    name: 'module-replacements',
    setup(bundler) {
      bundler.onResolve({ filter: new RegExp(`^\\.{1,2}/(.*/)?(${names.join('|')})$`) }, (args) => {
        const replacement = byFile.get(resolve(args.resolveDir, args.path));
        return replacement ? { path: replacement } : undefined;
      });
    },
  };
}

/** Options for esbuild's JS API (`build({ ...esbuildOptionsFor(entry), write: false })`). */
export function esbuildOptionsFor(entryPoint: string): BuildOptions & { outfile: string } {
  return {
    entryPoints: [entryPoint],
    bundle: true,
    target: HANDLER_BUNDLING.target,
    platform: HANDLER_BUNDLING.platform,
    format: HANDLER_BUNDLING.format,
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourcemap,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    external: [...HANDLER_BUNDLING.external],
    alias: { ...HANDLER_BUNDLING.alias },
    legalComments: HANDLER_BUNDLING.legalComments,
    absWorkingDir: PROJECT_ROOT,
    outfile: 'index.js',
    plugins: [moduleReplacements()],
  };
}

/**
 * Bundles one handler into `outputDir` (index.js, index.js.map, index.js.LEGAL.txt), as `cdk synth` ships it: the
 * bytes bench/bundles.ts measures in memory, written out.
 */
export async function bundleHandler(entryPoint: string, outputDir: string): Promise<void> {
  await build({ ...esbuildOptionsFor(entryPoint), outfile: join(outputDir, 'index.js'), logLevel: 'warning' });
}
