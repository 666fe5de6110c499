/**
 * Read-only calls to a contract, made as ethers' Contract makes a view call (its `staticCall`): the arguments
 * encoded with the contract's ABI, `provider.call` with the block tag, a revert that carries data re-thrown as the
 * ABI decodes it (`Interface.makeError`, a CALL_EXCEPTION naming the custom error), the result decoded (an empty
 * or short answer is ethers' BAD_DATA), and a single output returned as it is, several as ethers' `Result`.
 *
 * The functions only ever read through Contract; its method proxies, event filters, listeners and transaction
 * sending were about 13 kB of every bundle (BENCHMARKS.md, "Function bundles"). The ABI is an `Interface` built
 * once per module, where each `new Contract` parsed its human-readable ABI again.
 *
 * Addresses are 0x strings: an argument of type `address` is checked by the ABI coder, and no name is resolved
 * (the functions refuse ENS names, lib/bundling.ts).
 */
import { type BlockTag, type Interface, isCallException, isError, type JsonRpcProvider } from 'ethers';
import { classifyCallFailure, isRevert } from './call-failure';

export class ViewContract {
  constructor(
    readonly target: string,
    readonly abi: Interface,
    private readonly provider: Pick<JsonRpcProvider, 'call'>,
  ) {}

  /** `fn(...args)` at `blockTag` (the node's latest block when omitted). */
  async read<T>(fn: string, args: readonly unknown[] = [], blockTag?: BlockTag): Promise<T> {
    const fragment = this.abi.getFunction(fn, [...args]);
    if (!fragment) throw new TypeError(`${fn} with ${args.length} argument(s) is not in the ABI of ${this.target}`);
    const tx = { to: this.target, data: this.abi.encodeFunctionData(fragment, [...args]), ...(blockTag === undefined ? {} : { blockTag }) };
    let returned: string;
    try {
      returned = await this.provider.call(tx);
    } catch (error) {
      if (isCallException(error) && error.data) throw this.abi.makeError(error.data, tx);
      throw error;
    }
    const result = this.abi.decodeFunctionResult(fragment, returned);
    return (result.length === 1 ? result[0] : result) as T;
  }
}

/**
 * The contract answered "no" to a read: a revert (call-failure.ts: with or without data) or return data that does
 * not decode (BAD_DATA, e.g. an address without code or without the function). Anything else — the node failing
 * the call (ethers reports that as a CALL_EXCEPTION too, "missing revert data"), network, rate limit — is not the
 * contract's answer.
 */
export function isRefusedRead(err: unknown): boolean {
  return isError(err, 'BAD_DATA') || (isError(err, 'CALL_EXCEPTION') && isRevert(classifyCallFailure(err)));
}
