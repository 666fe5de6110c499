/**
 * Whose liquidations are ours, from the pipeline configuration: the signers' addresses (local keys, or the KMS
 * keys' public keys: kms:GetPublicKey only, nothing is signed) and the liquidator contract (LIQUIDATOR_ADDRESS or
 * the SSM parameter the trigger's deploy-liquidator writes). A contract not deployed yet is not an error here:
 * the signers are ours meanwhile, and the contract is looked up again on the next call until it is found.
 */
import { computeAddress } from 'ethers';
import type { JsonRpcProvider } from 'ethers';
import type { PipelineConfig } from '../../config/pipeline-config';
import type { OurLiquidators } from '../../ports/market-liquidations';
import { createKmsClient } from '../aws/clients';
import { KmsSigner } from './kms-signer';
import { liquidatorAddressFromConfig, NoLiquidatorContractError } from './liquidator-address';

export class ConfiguredOurLiquidators implements OurLiquidators {
  private signers: Promise<string[]> | undefined;
  private contract: string | undefined;

  constructor(
    private readonly config: Pick<PipelineConfig, 'worker' | 'endpoints'>,
    private readonly provider: JsonRpcProvider,
    /** Told when no liquidator contract is found (the handler logs it). */
    private readonly onNoContract: (error: NoLiquidatorContractError) => void = () => undefined,
  ) {}

  async addresses(): Promise<ReadonlySet<string>> {
    this.signers ??= this.signerAddresses().catch((err: unknown) => {
      this.signers = undefined;
      throw err;
    });
    const signers = await this.signers;
    if (!this.contract && this.config.worker.liquidator) {
      try {
        this.contract = (await liquidatorAddressFromConfig(this.config, this.provider)).toLowerCase();
      } catch (err) {
        if (!(err instanceof NoLiquidatorContractError)) throw err;
        this.onNoContract(err);
      }
    }
    return new Set([...signers, ...(this.contract ? [this.contract] : [])]);
  }

  private async signerAddresses(): Promise<string[]> {
    const signer = this.config.worker.signer;
    if (!signer) return [];
    if (signer.mode === 'local') return signer.privateKeys.map((key) => computeAddress(key).toLowerCase());
    const client = createKmsClient(this.config);
    return Promise.all(signer.keyIds.map(async (keyId) => (await new KmsSigner({ client, keyId }).getAddress()).toLowerCase()));
  }
}
