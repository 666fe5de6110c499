/**
 * A bundle relay: an ordered list of signed transactions offered to block builders for one block, all included
 * in that order or none (Flashbots `eth_sendBundle`). The keeper uses it to land a liquidation right behind the
 * oracle update that makes it possible: `txs: [updateRaw, liquidationRaw]`.
 */

export interface Bundle {
  /** Signed raw transactions (0x-prefixed, as eth_sendRawTransaction takes them), in the order they must land. */
  txs: string[];
  /** The one block the bundle is valid for. */
  blockNumber: number;
  /** Unix seconds: the bundle is valid only in a block with at least this timestamp. */
  minTimestamp?: number;
  /** Unix seconds: the bundle is valid only in a block with at most this timestamp. */
  maxTimestamp?: number;
  /** Hashes of transactions in `txs` allowed to revert without voiding the bundle. */
  revertingTxHashes?: string[];
}

export interface BundleRelay {
  /**
   * Hands the bundle to the relay. Resolves with the relay's hash of it once accepted; acceptance is no promise of
   * inclusion (a bundle not included in its block simply expires). Rejects with the relay's reason when refused.
   */
  sendBundle(bundle: Bundle): Promise<{ bundleHash: string }>;
}
