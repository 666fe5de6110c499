/**
 * `npx cdk synth` of bin/app.ts through the real CLI and cdk.json, offline (TOOLCHAIN.md, gotcha 13): the app
 * command works, the default config loads, the four handlers are bundled by the local esbuild (no Docker), and
 * the CLI-side validation (cdk-nag) passes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadDeploymentConfig } from '../../lib/config';

const PROJECT_ROOT = join(__dirname, '..', '..');
const SYNTH_TIMEOUT_MS = 120_000;

const outdir = mkdtempSync(join(tmpdir(), 'keeper-cdk-synth-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

it(
  'synthesizes both stacks of the example config offline',
  async () => {
    const { name } = loadDeploymentConfig(join(PROJECT_ROOT, 'deploy', 'config.example.json'));

    const run = promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '-o', outdir], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1' },
      timeout: SYNTH_TIMEOUT_MS,
    });

    await expect(run).resolves.toBeDefined();
    for (const stack of [`${name}-stateful`, `${name}-pipeline`]) {
      expect(existsSync(join(outdir, `${stack}.template.json`))).toBe(true);
    }
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);

    const pipeline = JSON.parse(readFileSync(join(outdir, `${name}-pipeline.template.json`), 'utf8'));
    const functions = Object.values(pipeline.Resources as Record<string, { Type: string; Properties: { Code: { S3Key: string } } }>).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      expect(existsSync(join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.js'))).toBe(true);
    }
  },
  SYNTH_TIMEOUT_MS + 10_000,
);
