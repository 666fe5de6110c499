/**
 * What the operator's actions need to know about our liquidator contract on chain: the creation call (embedded
 * bytecode + constructor arguments), the address a creation lands at, the calldata of `setCaller` and `withdraw`,
 * gas estimates, and the contract's state (owner, callers, balances of the market's assets).
 */
import { AbiCoder, getCreateAddress, Interface, type JsonRpcProvider } from 'ethers';
import { MAX_UINT256 } from '../../domain';
import { LIQUIDATOR_ABI } from './liquidator-contract';
import { LIQUIDATOR_CREATION_BYTECODE } from './liquidator-bytecode';
import { ViewContract } from './view-contract';

const LIQUIDATOR = new Interface(LIQUIDATOR_ABI);
const ERC20 = new Interface(['function balanceOf(address) view returns (uint256)', 'function symbol() view returns (string)']);

export interface LiquidatorState {
  address: string;
  owner: string;
  pool: string;
  swapRouter: string;
  /** The keeper's signers and whether each may call `liquidate`. */
  callers: { address: string; allowed: boolean }[];
  /** Non-zero balances of the market's assets: the profit (and any stock) the contract holds, token units. */
  balances: { asset: string; symbol: string; units: string }[];
}

export class EthersLiquidatorAdmin {
  constructor(private readonly provider: JsonRpcProvider) {}

  /** Creation calldata: the contract's bytecode with `(pool, swapRouter)` ABI-encoded after it. */
  creationData(pool: string, swapRouter: string): string {
    return LIQUIDATOR_CREATION_BYTECODE + AbiCoder.defaultAbiCoder().encode(['address', 'address'], [pool, swapRouter]).slice(2);
  }

  /** Where a creation by `from` at `nonce` lands (CREATE: keccak(rlp(from, nonce))). */
  createdAddress(from: string, nonce: number): string {
    return getCreateAddress({ from, nonce });
  }

  setCallerData(caller: string, allowed: boolean): string {
    return LIQUIDATOR.encodeFunctionData('setCaller', [caller, allowed]);
  }

  /** Sweeps the whole balance of `token` to `to`. */
  withdrawAllData(token: string, to: string): string {
    return LIQUIDATOR.encodeFunctionData('withdraw', [token, to, MAX_UINT256]);
  }

  async estimateGas(tx: { from: string; to: string | null; data: string }): Promise<bigint> {
    return BigInt((await this.provider.send('eth_estimateGas', [{ from: tx.from, ...(tx.to ? { to: tx.to } : {}), data: tx.data }, 'latest'])) as string);
  }

  async hasCode(address: string): Promise<boolean> {
    return (await this.provider.getCode(address)) !== '0x';
  }

  async state(address: string, signers: readonly string[], assets: readonly string[]): Promise<LiquidatorState> {
    const contract = new ViewContract(address, LIQUIDATOR, this.provider);
    const [owner, pool, swapRouter, callers, balances] = await Promise.all([
      contract.read<string>('owner'),
      contract.read<string>('pool'),
      contract.read<string>('swapRouter'),
      Promise.all(signers.map(async (signer) => ({ address: signer, allowed: await contract.read<boolean>('isCaller', [signer]) }))),
      Promise.all(
        assets.map(async (asset) => {
          const token = new ViewContract(asset, ERC20, this.provider);
          const [units, symbol] = await Promise.all([token.read<bigint>('balanceOf', [address]), token.read<string>('symbol').catch(() => asset)]);
          return { asset, symbol, units };
        }),
      ),
    ]);
    return {
      address,
      owner,
      pool,
      swapRouter,
      callers,
      balances: balances.filter((b) => b.units > 0n).map((b) => ({ asset: b.asset, symbol: b.symbol, units: b.units.toString() })),
    };
  }
}
