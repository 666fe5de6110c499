/**
 * Stands in for ethers' ENS resolver module (`ethers/lib.esm/providers/ens-resolver.js`) in the Lambda bundles
 * (lib/bundling.ts, MODULE_REPLACEMENTS; tests and local tools run with the real module). ethers' providers reach it
 * only to resolve a name or look up an address's name (`resolveName`, `lookupAddress`, `getResolver`), which the
 * pipeline never does: it takes and passes 0x addresses only, and its bundles already refuse to normalise a name
 * (ens-unsupported.ts). The real module carries ethers' Contract class with it; the two were about 21 kB of every
 * bundle.
 *
 * Every entry point fails loudly with the same refusal as a name reaching the normaliser.
 */
import { ensNameRefused } from './ens-unsupported';

export class EnsResolver {
  constructor(_provider: unknown, _address: string, name: string) {
    throw ensNameRefused(name);
  }

  static async fromName(_provider: unknown, name: string): Promise<never> {
    throw ensNameRefused(name);
  }

  static async lookupAddress(_provider: unknown, address: string): Promise<never> {
    throw ensNameRefused(`the name of ${address}`);
  }

  static async getEnsAddress(): Promise<never> {
    throw ensNameRefused('the ENS registry');
  }
}

/** Exported by the module it replaces (re-exported by `ethers`); never constructed by the functions. */
export class MulticoinProviderPlugin {
  constructor(readonly name: string) {
    throw ensNameRefused(`the multicoin plugin ${name}`);
  }
}
