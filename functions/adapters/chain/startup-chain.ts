/**
 * The start-up check's reads (functions/config/startup-check.ts) through ethers, at the latest block. A call the
 * contract refuses (a revert, or an answer that does not decode) becomes ContractRefusedCall, which the check names
 * by its variable; node trouble propagates as it is and fails the start.
 */
import { Interface, type JsonRpcProvider } from 'ethers';
import { ContractRefusedCall, type StartupChain } from '../../config/startup-check';
import { isRefusedRead, ViewContract } from './view-contract';

const ABI = new Interface([
  'function POOL_REVISION() view returns (uint256)',
  'function ADDRESSES_PROVIDER() view returns (address)',
  'function getPriceOracle() view returns (address)',
  'function isCaller(address) view returns (bool)',
]);

export function ethersStartupChain(provider: JsonRpcProvider): StartupChain {
  const call = async <T>(address: string, fn: 'POOL_REVISION' | 'ADDRESSES_PROVIDER' | 'getPriceOracle' | 'isCaller', ...args: string[]): Promise<T> => {
    try {
      return await new ViewContract(address, ABI, provider).read<T>(fn, args);
    } catch (err) {
      if (isRefusedRead(err)) throw new ContractRefusedCall(address, `${fn}(${args.length > 0 ? 'address' : ''})`);
      throw err;
    }
  };
  return {
    codeAt: (address) => provider.getCode(address),
    poolRevision: (pool) => call<bigint>(pool, 'POOL_REVISION'),
    poolAddressesProvider: (pool) => call<string>(pool, 'ADDRESSES_PROVIDER'),
    priceOracle: (addressesProvider) => call<string>(addressesProvider, 'getPriceOracle'),
    isCaller: (contract, account) => call<boolean>(contract, 'isCaller', account),
    balanceOf: (address) => provider.getBalance(address),
  };
}
