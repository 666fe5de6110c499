/**
 * What the pipeline needs from a lending protocol, as role interfaces. The Aave V3 adapter
 * (functions/adapters/chain/aave-v3-protocol.ts) implements them; a second protocol (Morpho Blue is next)
 * implements the same ports and brings its own pure rules beside functions/domain, without changes here.
 */
import type { RuleSet, UserPosition } from '../domain';

/** One account's headline health, as the protocol reports it (base currency, 8 decimals). */
export interface AccountHealthReading {
  user: string;
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  /** WAD; 2^256 − 1 when the account has no debt. */
  healthFactorWad: bigint;
}

export interface HealthScanner {
  /** Health of many accounts, every read pinned to `block`. */
  scan(users: readonly string[], block: number): Promise<{ accounts: AccountHealthReading[]; rpcCalls: number }>;
}

export interface PositionReader {
  readonly ruleSet: RuleSet;
  /** The full position at `block`, with everything the liquidation rules need. */
  readPosition(user: string, block: number): Promise<UserPosition>;
}

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

export interface LiquidationSimulator {
  /** Target and calldata of the call (what a signer will sign). */
  buildTransaction(call: LiquidationCall): { to: string; data: string };
  /** Would the call succeed from `from` on the state of `block`, and with what gas limit? */
  simulate(call: LiquidationCall, from: string, block: number): Promise<LiquidationSimulation>;
}

export interface LendingProtocolAdapter {
  readonly protocol: string;
  readonly scanner: HealthScanner;
  readonly reader: PositionReader;
  readonly simulator: LiquidationSimulator;
}
