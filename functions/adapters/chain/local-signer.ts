/**
 * Signers of the worker's transactions, behind the `Signer` port (functions/ports/transactions.ts):
 * - `EthersSignerAdapter` adapts any ethers v6 signer (a `Wallet`, the KMS signer in kms-signer.ts): the address
 *   is resolved once at wiring time, and the hash is keccak256 of the signed bytes, known before sending;
 * - `LocalKeySigner` holds a private key in memory. Only the local chain accepts a raw key in the environment
 *   (pipeline-config.ts refuses SIGNER_MODE=local elsewhere).
 */
import { BaseWallet, keccak256, SigningKey, type TransactionRequest } from 'ethers';
import type { SignedTransaction, Signer, UnsignedTransaction } from '../../ports/transactions';

/** The one method of an ethers signer the port needs. */
export interface EthersTransactionSigner {
  signTransaction(request: TransactionRequest): Promise<string>;
}

export class EthersSignerAdapter implements Signer {
  constructor(
    readonly address: string,
    private readonly signer: EthersTransactionSigner,
  ) {}

  /** An EIP-1559 (type 2) transaction with every field given, so the signer looks nothing up. */
  async signTransaction(tx: UnsignedTransaction): Promise<SignedTransaction> {
    const raw = await this.signer.signTransaction({
      type: 2,
      chainId: tx.chainId,
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      value: tx.valueWei,
      gasLimit: tx.gasLimit,
      maxFeePerGas: tx.maxFeePerGasWei,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGasWei,
    });
    return { raw, hash: keccak256(raw) };
  }
}

/**
 * ethers' `BaseWallet` signs as `Wallet` does (Wallet extends it); `Wallet` adds JSON keystores and mnemonics,
 * which drag aes-js, scrypt and the BIP-39 wordlist (about 70 kB) into every bundle that signs.
 */
export class LocalKeySigner extends EthersSignerAdapter {
  constructor(privateKey: string) {
    // As `new Wallet(key)`: a key without the 0x prefix is accepted.
    const wallet = new BaseWallet(new SigningKey(privateKey.startsWith('0x') ? privateKey : `0x${privateKey}`));
    super(wallet.address, wallet);
  }
}
