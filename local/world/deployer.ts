import { Contract, ContractFactory, type InterfaceAbi, type JsonRpcProvider, type Signer, type TransactionReceipt } from 'ethers';
import { pollReceipt } from '../../functions/adapters/chain/provider';
import { type Artifact, linkBytecode } from './artifacts';

/**
 * Deploys contracts and sends transactions from one account, waiting for each receipt by polling (see
 * functions/adapters/chain/provider.ts). Every failure names the contract and method.
 */
export class Deployer {
  constructor(
    readonly provider: JsonRpcProvider,
    readonly signer: Signer,
  ) {}

  async deploy(artifact: Artifact, args: unknown[] = [], libraries: Record<string, string> = {}): Promise<Contract> {
    const bytecode = linkBytecode(artifact, libraries);
    const factory = new ContractFactory(artifact.abi as InterfaceAbi, bytecode, this.signer);
    const request = await factory.getDeployTransaction(...args);
    const tx = await this.signer.sendTransaction(request);
    const receipt = await pollReceipt(this.provider, tx.hash);
    if (receipt.status !== 1 || !receipt.contractAddress) {
      throw new Error(`deploying ${artifact.contractName} reverted (tx ${tx.hash})`);
    }
    return new Contract(receipt.contractAddress, artifact.abi as InterfaceAbi, this.signer);
  }

  /** Attaches an ABI at an address, connected to the deployer's signer. */
  at(artifact: Artifact, address: string): Contract {
    return new Contract(address, artifact.abi as InterfaceAbi, this.signer);
  }

  /**
   * Calls a state-changing method and waits for a successful receipt. Without a gasLimit override the estimate gets a
   * quarter more: the estimate runs in the pending block, and a transaction mined a second later can cost more than
   * estimated (a Uniswap V3 mint writes an oracle observation only when the block timestamp moved since the pool's
   * last one), which ran seeding out of gas on a loaded machine.
   */
  async send(contract: Contract, method: string, args: unknown[] = [], overrides: Record<string, unknown> = {}): Promise<TransactionReceipt> {
    const fn = contract.getFunction(method);
    const gasLimit = overrides.gasLimit ?? ((await fn.estimateGas(...args, overrides)) * 5n) / 4n;
    const tx = await fn.send(...args, { ...overrides, gasLimit });
    const receipt = await pollReceipt(this.provider, tx.hash);
    if (receipt.status !== 1) throw new Error(`${method} on ${await contract.getAddress()} reverted (tx ${tx.hash})`);
    return receipt;
  }
}
