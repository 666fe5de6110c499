/**
 * tsx lib/bundle-handler.ts <entry> <output-dir>
 *
 * Bundles one Lambda handler into <output-dir> (index.js, index.js.map, index.js.LEGAL.txt) with the options and
 * module replacements of lib/bundling.ts. `cdk synth` runs it for each function (lib/constructs/handler-code.ts);
 * <entry> is relative to the project root.
 */
import { join } from 'node:path';
import { bundleHandler } from './bundling';

const USAGE = 'usage: tsx lib/bundle-handler.ts <entry> <output-dir>   (entry relative to the project root, e.g. functions/handlers/worker.ts)';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = args.find((arg) => arg.startsWith('-'));
if (unknown || args.length !== 2) {
  console.error(unknown ? `unknown option ${unknown}` : `expected 2 arguments, got ${args.length}`);
  console.error(USAGE);
  process.exit(2);
}
const [entry, outputDir] = args;
bundleHandler(join(__dirname, '..', entry), outputDir).catch((err: unknown) => {
  // esbuild has printed its messages already; this names the handler.
  console.error(`bundling ${entry} failed: ${(err as Error).message.split('\n')[0]}`);
  process.exit(1);
});
