/**
 * A handler's deployment package: the bundle lib/bundling.ts describes (bundleHandler, esbuild's JS API with its
 * module replacements), made on the build machine during `cdk synth` through CDK's local bundling. It is the
 * package NodejsFunction would make, with the plugin its esbuild command line cannot take (lib/bundling.ts).
 *
 * The bundle is built by lib/bundle-handler.ts in a child process, since CDK's local bundling is synchronous and
 * esbuild runs plugins only in its asynchronous API. A failed bundle fails the synth with esbuild's messages;
 * there is no Docker fallback (build machines have no Docker engine, as with NodejsFunction's
 * `forceDockerBundling: false` before).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

const PROJECT_ROOT = join(__dirname, '..', '..');
const BUNDLE_SCRIPT = join(PROJECT_ROOT, 'lib', 'bundle-handler.ts');

/** The package of the handler at `entry` (relative to the project root); its handler is `index.handler`. */
export function handlerCode(entry: string): lambda.Code {
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    // Hashed from the bundle: the project directory itself is neither fingerprinted nor copied.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; never run, since local bundling below either bundles or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
      // Part of CDK's asset cache key, which cannot see into `local`: one cache entry per handler.
      environment: { HANDLER_ENTRY: entry },
      local: {
        tryBundle(outputDir: string): boolean {
          execFileSync(process.execPath, [require.resolve('tsx/cli'), BUNDLE_SCRIPT, entry, outputDir], {
            cwd: PROJECT_ROOT,
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          return true;
        },
      },
    },
  });
}
