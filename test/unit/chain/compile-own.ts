/**
 * A fresh compile of one of our contracts with the own set's settings (contracts/source-sets.ts), for the tests
 * that check the creation code embedded in functions/ (the deployless lenses) against it byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_SETS } from '../../../contracts/source-sets';

// solc ships CommonJS without types for its wrapper.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = require('solc') as { compile(input: string): string };

/** `0x`-prefixed creation bytecode of `contract` in `source` (a path from the project root). */
export function freshCreationBytecode(source: string, contract: string): string {
  const own = SOURCE_SETS.find((set) => set.name === 'own')!;
  const input = {
    language: 'Solidity',
    sources: { [source]: { content: readFileSync(join(__dirname, '..', '..', '..', source), 'utf8') } },
    settings: { ...own.settings, outputSelection: { '*': { '*': ['evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as { contracts: Record<string, Record<string, { evm: { bytecode: { object: string } } }>> };
  return `0x${output.contracts[source][contract].evm.bytecode.object}`;
}
