/**
 * Writes the packed code constants of functions/adapters/chain (packed-bytecode.ts): the deployless lenses'
 * creation code and the runtime code installed by state override. Compiles the `own` set first if it is out of
 * date (contracts/build.ts).
 *
 *   npx tsx contracts/embed-bytecode.ts
 *
 * Run it after changing one of these contracts (or the compiler, or its settings); each constant's unit test
 * fails while the embedded code differs from a fresh compile. Only the string inside `unpackBytecode(…)` is
 * rewritten; the rest of each file is left as it is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packBytecode } from '../functions/adapters/chain/packed-bytecode';
import { buildContracts, type CompiledSet, outPathOf, PROJECT_ROOT } from './build';

interface Embedded {
  /** Under functions/adapters/chain. */
  file: string;
  constant: string;
  contract: string;
  code: 'creation' | 'runtime';
}

export const EMBEDDED: readonly Embedded[] = [
  { file: 'position-lens.ts', constant: 'POSITION_LENS_CREATION_BYTECODE', contract: 'PositionLens', code: 'creation' },
  { file: 'quote-lens.ts', constant: 'QUOTE_LENS_CREATION_BYTECODE', contract: 'QuoteLens', code: 'creation' },
  { file: 'health-lens.ts', constant: 'HEALTH_LENS_RUNTIME_BYTECODE', contract: 'HealthLens', code: 'runtime' },
  { file: 'oracle-lens.ts', constant: 'ORACLE_LENS_RUNTIME_BYTECODE', contract: 'OracleLens', code: 'runtime' },
  { file: 'constant-feed.ts', constant: 'CONSTANT_FEED_RUNTIME_BYTECODE', contract: 'ConstantFeed', code: 'runtime' },
];

/** Base64 characters per source line. */
const LINE_CHARS = 100;

export function renderPacked(constant: string, hex: string): string {
  const packed = packBytecode(hex);
  const lines: string[] = [];
  for (let i = 0; i < packed.length; i += LINE_CHARS) lines.push(`  '${packed.slice(i, i + LINE_CHARS)}'`);
  return `export const ${constant} = unpackBytecode(\n${lines.join(' +\n')},\n);`;
}

export function replaceConstant(source: string, constant: string, hex: string): string {
  const pattern = new RegExp(`export const ${constant} = unpackBytecode\\(\\n[^;]*?\\n\\);`);
  if (!pattern.test(source)) throw new Error(`no \`export const ${constant} = unpackBytecode(…);\` to rewrite`);
  return source.replace(pattern, renderPacked(constant, hex));
}

if (require.main === module) {
  try {
    buildContracts({ log: (line) => console.error(line) });
    const compiled = JSON.parse(readFileSync(outPathOf('own'), 'utf8')) as CompiledSet;
    for (const { file, constant, contract, code } of EMBEDDED) {
      const artifact = compiled.contracts[`contracts/src/${contract}.sol:${contract}`];
      if (!artifact) throw new Error(`${contract} is not in the compiled set "own"`);
      const hex = code === 'creation' ? artifact.bytecode : artifact.deployedBytecode;
      const path = join(PROJECT_ROOT, 'functions', 'adapters', 'chain', file);
      writeFileSync(path, replaceConstant(readFileSync(path, 'utf8'), constant, hex));
      console.error(`embed-bytecode: ${constant}: ${(hex.length - 2) / 2} bytes, ${packBytecode(hex).length} characters packed (${file})`);
    }
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
