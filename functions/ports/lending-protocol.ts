/**
 * The lending protocol as the pipeline reaches it: what the scanner reads at a block and what the worker reads to
 * decide a liquidation. The Aave V3 adapter (functions/adapters/chain/aave-v3-protocol.ts) implements it, and each
 * handler wires it once; a second protocol (Morpho Blue is next) is a second implementation, with its own pure
 * rules beside functions/domain, and nothing else changes. The role interfaces are the use cases' own
 * (scan-blocks, account-reads, execute-candidate, the liquidator contract's flash-loan terms).
 */
import type { PositionChangeSource } from '../pipeline/account-reads';
import type { CandidatePositionSource, NativePriceSource } from '../pipeline/execute-candidate';
import type { OraclePriceSource } from '../pipeline/transaction-dispatcher';
import type { AccountScanner, OracleSource, PendingUpdateWatch } from '../pipeline/scan-blocks';
import type { FlashLoanTermsSource } from './liquidator-contract';

/** What the scanner reads: account health in chunks, the oracle once per block, what changed, pending updates. */
export interface ScannerProtocolReads {
  accounts: AccountScanner;
  oracle: OracleSource;
  changes: PositionChangeSource;
  /** Only when the scanner follows pending oracle updates. */
  pendingUpdates?: PendingUpdateWatch;
}

/**
 * What the worker reads to decide one liquidation: the position, the flash-loan terms, the gas token's price; and
 * the oracle's prices at a block, which tell a refusal on oracle values after a price move from our own mistake.
 */
export interface ExecutionProtocolReads {
  positions: CandidatePositionSource;
  flashTerms: FlashLoanTermsSource;
  nativePrice: NativePriceSource;
  oraclePrices: OraclePriceSource;
}

export interface ScannerReadOptions {
  /** Accounts per health read. */
  chunkSize: number;
  followPendingUpdates: boolean;
  /** Told once when the node refuses the one-call oracle read and the adapter reads per call. */
  onOracleFallback?: (reason: string) => void;
}

export interface ExecutionReadOptions {
  /** The reserve whose price is the gas token's (WETH on Ethereum). */
  nativePriceAsset: string;
  /** Told once when the node refuses a one-call read (a lens) and the adapter reads per call. */
  onLensFallback?: (reason: string) => void;
}

/**
 * One lending market on one chain connection, in two roles so that each function bundles only its own side: the
 * scanner's reads, and the worker's (and trigger's) reads.
 */
export interface ScannerProtocol {
  readonly protocol: string;
  scannerReads(options: ScannerReadOptions): ScannerProtocolReads;
}

export interface ExecutionProtocol {
  readonly protocol: string;
  executionReads(options: ExecutionReadOptions): ExecutionProtocolReads;
  /** The market's assets at `block` (what the contract may hold a balance of). */
  marketAssets(block: number): Promise<string[]>;
}
