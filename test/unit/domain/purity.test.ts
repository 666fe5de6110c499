/**
 * Keeps functions/domain pure: no SDKs, no ethers, no Node built-ins, no environment, no clock, and no reaching
 * out of the folder (ports, adapters and handlers depend on the domain, never the reverse).
 */
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const DOMAIN_DIR = resolve(__dirname, '../../../functions/domain');

const FORBIDDEN_PACKAGES = [/^ethers(\/|$)/, /^@aws-sdk\//, /^aws-sdk(\/|$)/, /^@aws-lambda-powertools\//, /^@middy\//, /^aws-lambda$/];
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const FORBIDDEN_TEXT = [/process\.env/, /Date\.now\(/];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs|cjs)$/.test(entry) ? [path] : [];
  });
}

/** Every module specifier: static/dynamic imports, re-exports, require(). */
function importedSpecifiers(source: string): string[] {
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]));
}

/** Problems in one file; `file` locates relative imports. */
function violations(file: string, source: string): string[] {
  const problems: string[] = [];
  for (const specifier of importedSpecifiers(source)) {
    if (specifier.startsWith('.')) {
      const target = resolve(dirname(file), specifier);
      if (relative(DOMAIN_DIR, target).startsWith('..')) problems.push(`imports ${specifier} from outside functions/domain`);
    } else if (NODE_BUILTINS.has(specifier)) {
      problems.push(`imports the Node built-in ${specifier}`);
    } else if (FORBIDDEN_PACKAGES.some((pattern) => pattern.test(specifier))) {
      problems.push(`imports ${specifier}`);
    } else {
      problems.push(`imports the package ${specifier} (the domain has no dependencies)`);
    }
  }
  for (const pattern of FORBIDDEN_TEXT) if (pattern.test(source)) problems.push(`mentions ${pattern.source.replace(/\\/g, '')}`);
  return problems;
}

describe('functions/domain purity', () => {
  const files = sourceFiles(DOMAIN_DIR);

  it('finds the domain sources', () => {
    expect(files.map((file) => relative(DOMAIN_DIR, file))).toEqual(expect.arrayContaining(['index.ts', 'liquidation.ts', 'health.ts']));
  });

  it.each(files.map((file) => [relative(DOMAIN_DIR, file), file]))('%s imports nothing impure', (_name, file) => {
    expect(violations(file, readFileSync(file, 'utf8'))).toEqual([]);
  });

  // The detector itself: each line below must be caught.
  const sample = join(DOMAIN_DIR, 'sample.ts');
  it.each<[string, string]>([
    ["import { Contract } from 'ethers';", 'imports ethers'],
    ["import { SQSClient } from '@aws-sdk/client-sqs';", 'imports @aws-sdk/client-sqs'],
    ["import { Logger } from '@aws-lambda-powertools/logger';", 'imports @aws-lambda-powertools/logger'],
    ["import { readFileSync } from 'node:fs';", 'imports the Node built-in node:fs'],
    ["const crypto = require('crypto');", 'imports the Node built-in crypto'],
    ["export { x } from '../adapters/chain/provider';", 'imports ../adapters/chain/provider from outside functions/domain'],
    ["const m = await import('zod');", 'imports the package zod (the domain has no dependencies)'],
    ['const url = process.env.RPC_URL;', 'mentions process.env'],
    ['const now = Date.now();', 'mentions Date.now('],
  ])('catches %s', (source, problem) => {
    expect(violations(sample, source)).toEqual([problem]);
  });
});
