/**
 * Builds, simulates and prices an Aave V3 `liquidationCall`. Sending (nonce, fees, signing, receipts) belongs
 * to the execution layer; this adapter answers "would this exact call succeed at that block, and with how much
 * gas" as a typed outcome, never by throwing for a revert.
 */
import { AbiCoder, Interface, type JsonRpcProvider } from 'ethers';
import { AAVE_CUSTOM_ERRORS, AAVE_V30_ERROR_CODES } from './aave-errors';
import { classifyCallFailure, isRevert, NodeCallError } from './call-failure';
import { revertDataOf } from './revert-data';

const POOL = new Interface([
  'function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken)',
  ...AAVE_CUSTOM_ERRORS,
]);

/** A direct `Pool.liquidationCall` (tests, benches, the stress lab's rival; the keeper goes through its contract). */
export interface LiquidationCall {
  collateralAsset: string;
  debtAsset: string;
  user: string;
  debtToCoverUnits: bigint;
  receiveAToken: boolean;
}

export type LiquidationSimulation =
  | { kind: 'ok'; block: number; gasEstimate: bigint; gasLimit: bigint }
  | { kind: 'revert'; block: number; reason: string; data?: string };

export interface ExecutorOptions {
  /** Gas limit = estimate × headroom / 10,000. Liquidations estimated bare revert now and then; 12,500 = +25 %. */
  gasHeadroomBps?: bigint;
}

/** Names an Aave revert: custom error (v3.3+), `Errors` code (V3.0), or the node's own message. */
export function decodeRevert(data: string | undefined, fallbackMessage: string): string {
  if (data && data.length >= 10) {
    if (data.startsWith('0x08c379a0')) {
      // Error(string): V3.0 reverts with a numeric `Errors` code.
      const [message] = AbiCoder.defaultAbiCoder().decode(['string'], `0x${data.slice(10)}`) as unknown as [string];
      const name = AAVE_V30_ERROR_CODES[message];
      return name ? `${name} (${message})` : message;
    }
    try {
      const parsed = POOL.parseError(data);
      if (parsed) return parsed.args.length > 0 ? `${parsed.name}(${parsed.args.map(String).join(', ')})` : parsed.name;
    } catch {
      // not one of the Pool's custom errors
    }
  }
  return fallbackMessage;
}

export class AaveV3LiquidationExecutor {
  private readonly headroomBps: bigint;

  constructor(
    private readonly provider: JsonRpcProvider,
    readonly pool: string,
    options: ExecutorOptions = {},
  ) {
    this.headroomBps = options.gasHeadroomBps ?? 12_500n;
    if (this.headroomBps < 10_000n) throw new Error(`gasHeadroomBps must be at least 10000, got ${this.headroomBps}`);
  }

  buildTransaction(request: LiquidationCall): { to: string; data: string } {
    return {
      to: this.pool,
      data: POOL.encodeFunctionData('liquidationCall', [
        request.collateralAsset,
        request.debtAsset,
        request.user,
        request.debtToCoverUnits,
        request.receiveAToken,
      ]),
    };
  }

  /** Runs the call as `from` on the state of `block` and estimates its gas there. */
  async simulate(request: LiquidationCall, from: string, block: number): Promise<LiquidationSimulation> {
    const tx = { ...this.buildTransaction(request), from };
    const blockTag = `0x${block.toString(16)}`;
    try {
      await this.provider.send('eth_call', [tx, blockTag]);
      const estimate = BigInt(await this.provider.send('eth_estimateGas', [tx, blockTag]));
      return { kind: 'ok', block, gasEstimate: estimate, gasLimit: (estimate * this.headroomBps) / 10_000n };
    } catch (err) {
      const data = revertDataOf(err);
      const message = (err as Error).message ?? String(err);
      // Only a revert is an outcome; node errors, transport errors, timeouts and rate limits are the caller's to retry.
      const failure = classifyCallFailure(err);
      if (!isRevert(failure)) throw failure.kind === 'other' ? err : new NodeCallError(failure, `liquidationCall simulation at block ${block}`, { cause: err });
      return { kind: 'revert', block, reason: decodeRevert(data, message), data };
    }
  }
}
