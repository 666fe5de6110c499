/**
 * Compiles the Solidity the local world needs with solcjs (no native toolchain, no network) and caches the
 * output in contracts/out/<set>.json. A set is rebuilt only when its cache key changes: the compiler version,
 * the settings, the entry files, the versions of the npm packages it reads, and the text of our own sources.
 *
 *   npx tsx contracts/build.ts            build what is out of date
 *   npx tsx contracts/build.ts --force    rebuild everything
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SOURCE_SETS, type SourceSet } from './source-sets';

// solc ships CommonJS without types for its wrapper.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = require('solc') as { version(): string; compile(input: string, cb: { import: (p: string) => unknown }): string };

export const PROJECT_ROOT = join(__dirname, '..');
export const OUT_DIR = join(PROJECT_ROOT, 'contracts', 'out');

export interface CompiledContract {
  sourceName: string;
  contractName: string;
  abi: unknown[];
  /** Creation bytecode, 0x-prefixed; may contain `__$…$__` library placeholders (see linkReferences). */
  bytecode: string;
  /** Runtime bytecode, 0x-prefixed (what an eth_call state override installs). */
  deployedBytecode: string;
  linkReferences: Record<string, Record<string, { start: number; length: number }[]>>;
}

export interface CompiledSet {
  set: string;
  cacheKey: string;
  solcVersion: string;
  /** Fully qualified name `source.sol:Contract` → artifact. */
  contracts: Record<string, CompiledContract>;
}

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<
      string,
      {
        abi: unknown[];
        evm: {
          bytecode: { object: string; linkReferences: CompiledContract['linkReferences'] };
          deployedBytecode: { object: string };
        };
      }
    >
  >;
}

function packageVersion(pkg: string): string {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function listSolidity(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listSolidity(path);
    return entry.name.endsWith('.sol') ? [path] : [];
  });
}

export function cacheKeyOf(set: SourceSet): string {
  const hash = createHash('sha256');
  hash.update(solc.version());
  hash.update(JSON.stringify(set.settings));
  hash.update(JSON.stringify(set.entries));
  hash.update(JSON.stringify(set.remappings));
  for (const pkg of set.packages) hash.update(`${pkg}@${packageVersion(pkg)}`);
  for (const dir of set.ownSourceDirs) {
    for (const file of listSolidity(join(PROJECT_ROOT, dir)).sort()) {
      hash.update(relative(PROJECT_ROOT, file));
      hash.update(readFileSync(file));
    }
  }
  return hash.digest('hex');
}

export function outPathOf(setName: string): string {
  return join(OUT_DIR, `${setName}.json`);
}

function isFresh(set: SourceSet, key: string): boolean {
  const path = outPathOf(set.name);
  if (!existsSync(path)) return false;
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as CompiledSet).cacheKey === key;
  } catch {
    return false;
  }
}

/** Source unit names are paths relative to the project root; remappings point into node_modules. */
function readSource(path: string): { contents: string } | { error: string } {
  const full = join(PROJECT_ROOT, path);
  if (!existsSync(full)) return { error: `source not found: ${path}` };
  return { contents: readFileSync(full, 'utf8') };
}

export function compileSet(set: SourceSet): CompiledSet {
  const sources = Object.fromEntries(set.entries.map((entry) => [entry, { content: readFileSync(join(PROJECT_ROOT, entry), 'utf8') }]));
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...set.settings,
      remappings: set.remappings,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: readSource })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`solc failed for set ${set.name}:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  }
  const contracts: Record<string, CompiledContract> = {};
  for (const [sourceName, bySource] of Object.entries(output.contracts ?? {})) {
    for (const [contractName, c] of Object.entries(bySource)) {
      if (c.evm.bytecode.object.length === 0) continue; // interfaces and abstract contracts
      contracts[`${sourceName}:${contractName}`] = {
        sourceName,
        contractName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        linkReferences: c.evm.bytecode.linkReferences,
      };
    }
  }
  return { set: set.name, cacheKey: cacheKeyOf(set), solcVersion: solc.version(), contracts };
}

export interface BuildReport {
  set: string;
  status: 'cached' | 'compiled';
  seconds: number;
  contracts: number;
}

export function buildContracts(options: { force?: boolean; log?: (line: string) => void } = {}): BuildReport[] {
  const log = options.log ?? (() => undefined);
  mkdirSync(OUT_DIR, { recursive: true });
  return SOURCE_SETS.map((set) => {
    const started = process.hrtime.bigint();
    const key = cacheKeyOf(set);
    if (!options.force && isFresh(set, key)) {
      log(`contracts: ${set.name} up to date`);
      const cached = JSON.parse(readFileSync(outPathOf(set.name), 'utf8')) as CompiledSet;
      return { set: set.name, status: 'cached', seconds: 0, contracts: Object.keys(cached.contracts).length };
    }
    log(`contracts: compiling ${set.name} (${set.entries.length} entry files, solc ${solc.version()}) …`);
    const compiled = compileSet(set);
    // Write to a temporary file and rename, so an interrupted build never leaves a half-written cache.
    const tmp = `${outPathOf(set.name)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(compiled));
    renameSync(tmp, outPathOf(set.name));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    log(`contracts: ${set.name} compiled ${Object.keys(compiled.contracts).length} contracts in ${seconds.toFixed(1)} s`);
    return { set: set.name, status: 'compiled', seconds, contracts: Object.keys(compiled.contracts).length };
  });
}

if (require.main === module) {
  const force = process.argv.includes('--force');
  try {
    const reports = buildContracts({ force, log: (line) => console.error(line) });
    if (process.argv.includes('--json')) console.log(JSON.stringify(reports));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
