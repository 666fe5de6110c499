import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompiledContract, CompiledSet } from '../../contracts/build';

const OUT_DIR = join(__dirname, '..', '..', 'contracts', 'out');
const loaded = new Map<string, CompiledSet>();

export type Artifact = Pick<CompiledContract, 'abi' | 'bytecode' | 'deployedBytecode' | 'linkReferences'> & {
  contractName: string;
};

function loadSet(set: string): CompiledSet {
  const cached = loaded.get(set);
  if (cached) return cached;
  const path = join(OUT_DIR, `${set}.json`);
  if (!existsSync(path)) {
    throw new Error(`compiled contracts for set "${set}" not found at ${path}: run \`npm run build:contracts\``);
  }
  const compiled = JSON.parse(readFileSync(path, 'utf8')) as CompiledSet;
  loaded.set(set, compiled);
  return compiled;
}

/**
 * An artifact from a compiled set by contract name (`Pool`) or fully qualified name (`path.sol:Pool`).
 * A short name that matches several contracts is refused rather than guessed.
 */
export function loadArtifact(set: string, name: string): Artifact {
  const { contracts } = loadSet(set);
  if (contracts[name]) return contracts[name];
  const matches = Object.values(contracts).filter((c) => c.contractName === name);
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new Error(`contract ${name} not found in compiled set "${set}"`);
  throw new Error(
    `contract name ${name} is ambiguous in set "${set}": ${matches.map((m) => `${m.sourceName}:${m.contractName}`).join(', ')}`,
  );
}

/** Hardhat-format artifact from an npm package (e.g. @aave/core-v3's compiled V3.0 contracts). */
export function loadHardhatArtifact(path: string): Artifact {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Artifact;
  return json;
}

/**
 * Replaces library placeholders in creation bytecode with deployed library addresses.
 * `libraries` is keyed by library name (`LiquidationLogic`) or fully qualified `source.sol:LiquidationLogic`.
 */
export function linkBytecode(artifact: Artifact, libraries: Record<string, string>): string {
  let code = artifact.bytecode.startsWith('0x') ? artifact.bytecode.slice(2) : artifact.bytecode;
  for (const [sourceName, libs] of Object.entries(artifact.linkReferences ?? {})) {
    for (const [libName, refs] of Object.entries(libs)) {
      const address = libraries[`${sourceName}:${libName}`] ?? libraries[libName];
      if (!address) throw new Error(`${artifact.contractName} needs library ${libName} (${sourceName}) linked`);
      const hex = address.toLowerCase().replace(/^0x/, '');
      for (const { start, length } of refs) {
        code = code.slice(0, start * 2) + hex + code.slice((start + length) * 2);
      }
    }
  }
  if (code.includes('__$') || code.includes('__')) {
    const unresolved = /__\$?[0-9a-zA-Z_:.$]{1,36}\$?__/.exec(code);
    if (unresolved) throw new Error(`${artifact.contractName} has an unlinked library placeholder ${unresolved[0]}`);
  }
  return `0x${code}`;
}
