/**
 * What the worker needs to get a transaction mined: a signer (a local key or AWS KMS) and an EVM chain
 * gateway (fees, nonces, broadcast, receipts). Amounts in wei, gas in gas units.
 */
import type { Eip1559GasPrice } from '../domain';

/** An EIP-1559 transaction to sign. */
export interface UnsignedTransaction {
  chainId: bigint;
  nonce: number;
  /** null: a contract creation (the operator's deploy-liquidator); every liquidation calls a contract. */
  to: string | null;
  data: string;
  valueWei: bigint;
  gasLimit: bigint;
  maxFeePerGasWei: bigint;
  maxPriorityFeePerGasWei: bigint;
}

export interface SignedTransaction {
  /** 0x-prefixed serialized signed transaction, as eth_sendRawTransaction takes it. */
  raw: string;
  /** Its hash, known before it is broadcast (so it can be recorded first). */
  hash: string;
}

/** Holds the liquidator's key: a local key (LocalKeySigner) or KMS (KmsSigner through EthersSignerAdapter). */
export interface Signer {
  readonly address: string;
  signTransaction(tx: UnsignedTransaction): Promise<SignedTransaction>;
}

export type BroadcastResult =
  | { kind: 'accepted' }
  /**
   * The node refused the transaction: it is in no mempool. `retryable`: a later attempt may succeed;
   * `nonceUsed`: the nonce is already taken on chain (by a mined transaction).
   */
  | { kind: 'rejected'; reason: string; retryable: boolean; nonceUsed?: boolean }
  /** Transport failure: the transaction may or may not have reached the node. */
  | { kind: 'unknown'; reason: string };

export interface ReceiptSummary {
  txHash: string;
  status: 'success' | 'reverted';
  blockNumber: number;
  gasUsed: bigint;
  effectiveGasPriceWei: bigint;
}

/** What the worker needs from the chain beyond the protocol ports (EVM JSON-RPC). */
export interface ChainGateway {
  latestBlock(): Promise<number>;
  /** Fees for a transaction sent right after `block`: the next block's base fee, a priority fee, the max fee to offer. */
  feesAfter(block: number): Promise<Eip1559GasPrice>;
  /** Transactions of `address` mined so far (eth_getTransactionCount at `latest`): every lower nonce is used. */
  confirmedNonce(address: string): Promise<number>;
  /** Sends through the private submission endpoint when one is configured, else (or on its failure) the public RPC. */
  broadcast(rawTransaction: string): Promise<BroadcastResult>;
  /** The receipt of the first of `txHashes` found mined, or `undefined` if none is within `timeoutMs`. */
  receiptOfAny(txHashes: readonly string[], timeoutMs: number): Promise<ReceiptSummary | undefined>;
}
