/**
 * Stands in for `@adraffy/ens-normalize` in the Lambda bundles (lib/bundling.ts aliases the package to this file;
 * tests and local tools run with the real package). ethers reaches ENS normalisation only to resolve a name
 * that is not a 0x address (a contract target, a transaction's `to`, an address in EIP-712 data). The pipeline
 * takes and passes only 0x addresses (pipeline-config.ts, the message schemas), so its bundles never resolve a
 * name; the real normaliser (its Unicode tables) was about 37 kB of the worker's bundle.
 *
 * A name reaching it fails loudly: ethers reports `invalid ENS name (<this message>)`, as for a malformed name.
 */
export function ens_normalize(name: string): string {
  throw ensNameRefused(name);
}

/** The refusal, shared with ethers' ENS resolver's stand-in (ens-resolver-unsupported.ts). */
export function ensNameRefused(name: unknown): Error {
  return new Error(`ENS names are not resolved by the pipeline's functions (got ${JSON.stringify(name)}): use a 0x address`);
}
