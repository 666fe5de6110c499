/**
 * The market's flash-loan terms: Pool.FLASHLOAN_PREMIUM_TOTAL (bps) at a block, read from the Pool rather than
 * assumed (governance changes it; v3.6 charges it as percentMulCeil, earlier versions percentMul: see
 * functions/domain/funded-liquidation.ts).
 */
import { Interface, type JsonRpcProvider } from 'ethers';
import type { FlashLoanTermsSource } from '../../ports/liquidator-contract';

const FLASH_TERMS = new Interface(['function FLASHLOAN_PREMIUM_TOTAL() view returns (uint128)']);

/** Pool.FLASHLOAN_PREMIUM_TOTAL at a block, cached per block (one read however many candidates a block brings). */
export class AaveV3FlashLoanTerms implements FlashLoanTermsSource {
  private cached: { block: number; premium: Promise<bigint> } | undefined;

  constructor(
    private readonly provider: JsonRpcProvider,
    readonly pool: string,
  ) {}

  premiumBps(block: number): Promise<bigint> {
    if (this.cached?.block === block) return this.cached.premium;
    const premium = this.provider
      .send('eth_call', [{ to: this.pool, data: FLASH_TERMS.encodeFunctionData('FLASHLOAN_PREMIUM_TOTAL') }, `0x${block.toString(16)}`])
      .then((result: string) => (FLASH_TERMS.decodeFunctionResult('FLASHLOAN_PREMIUM_TOTAL', result) as unknown as [bigint])[0]);
    premium.catch(() => {
      if (this.cached?.premium === premium) this.cached = undefined; // a failed read is not cached
    });
    this.cached = { block, premium };
    return premium;
  }
}
