/**
 * How every handler is bundled, in one place: the CDK functions (NodejsFunction runs the local esbuild with
 * these options) and bench/bundles.ts plus the bundle-budget test (esbuild's JS API) read the same values, so
 * the measured bundle is the deployed one.
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
 * Legal comments (the noble-curves and noble-hashes MIT notices, and Powertools' `@preserve` coverage hints) go
 * to `index.js.LEGAL.txt` beside the bundle, in the same asset, instead of the end of index.js (about 1.4 kB).
 */
import { join } from 'node:path';

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
 * The worker's bundle (minified JavaScript, source map excluded) must stay within 508 kB = 508,000 bytes. It was
 * 500 kB until the position lens (functions/adapters/chain/position-lens.ts) brought its creation code, about
 * 18.5 kB of hex, which turns a position read on a 24-reserve market from 52 eth_calls into 1 (BENCHMARKS.md,
 * "Function bundles" and "rpc-per-decision"); then 530 kB, until the contract code the functions carry was
 * packed (packed-bytecode.ts) and the worker's one borrower-table write moved out of the borrower store
 * (dynamodb-enqueue-marks.ts): 528.7 → 509.5 kB; 510.0 kB with revert attribution (functions/pipeline/
 * revert-attribution.ts, +1.4 kB, less 0.9 kB from writing the Aave error tables more compactly); 511.4 kB with
 * the lens re-read and the sale recheck (functions/pipeline/sale-recheck.ts); 508.7 kB since the worker parses
 * its own settings only (pipeline-config.ts loadWorkerConfig: not the scanner's and indexer's); 509.7 kB with the
 * batch bounds from the pending block (functions/pipeline/batch-execution.ts `salesAhead`, a setting); 510.0 kB
 * with a disagreeing batch round simulated again; 510.4 kB with a batch's worst-case gas (worstCaseGas); 506.2 kB
 * since the liquidator-address parameter is read through a provider of its own (functions/adapters/aws/
 * ssm-parameters.ts) instead of Powertools' SSMProvider, and the budget 508 kB; 506.5 kB with the worst case's
 * gas asked for alone (estimateBatchGas).
 */
export const WORKER_BUNDLE_BUDGET_BYTES = 508_000;

/** Options for esbuild's JS API (`build({ ...esbuildOptionsFor(entry), write: false })`). */
export function esbuildOptionsFor(entryPoint: string) {
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
  };
}
