/**
 * A reading keeps only the prices that did not move at its block (AccountReads.pricesToRemember): the health
 * factor and the oracle are two calls, and a node that answers one from the next block's state must not leave an
 * old health factor paired with new prices, which would never look like a move again.
 */
import type { OracleObservation } from '../../../functions/domain/oracle-breaker';
import { type AccountReading, DEFAULT_READ_POLICY, readReason } from '../../../functions/domain/read-policy';
import { AccountReads } from '../../../functions/pipeline/account-reads';

const WAD = 10n ** 18n;
/** Reserve 0 WETH (collateral), reserve 1 USDC (debt): configuration bits 1 (collateral of 0) and 2 (debt of 1). */
const USER_CONFIGURATION = 0b0110n;

function observation(block: number, wethBase8: bigint, usdcBase8 = 100_000_000n): OracleObservation {
  const reading = (asset: string, reserveId: number, priceBase: bigint) => ({
    asset,
    reserveId,
    price: { kind: 'price' as const, priceBase },
    feed: { kind: 'undated' as const },
  });
  return {
    block,
    blockTimestampSec: 1_700_000_000n + BigInt(block) * 12n,
    readings: [reading('0xweth', 0, wethBase8), reading('0xusdc', 1, usdcBase8)],
  } as unknown as OracleObservation;
}

describe('the prices a reading keeps', () => {
  it('all of them at the first block an instance sees without a baseline (nothing to compare with)', () => {
    const reads = new AccountReads(DEFAULT_READ_POLICY, 100);
    expect(reads.needsPriceBaseline).toBe(true);
    const market = reads.marketAt(observation(10, 3_000n * 10n ** 8n));
    expect(reads.needsPriceBaseline).toBe(false);
    expect(reads.pricesToRemember(market)).toEqual(new Map([[0, 3_000n * 10n ** 8n], [1, 10n ** 8n]]));
  });

  it('all of them when none moved since the block before, and all but the moved ones when some did', () => {
    const reads = new AccountReads(DEFAULT_READ_POLICY, 100);
    reads.marketAt(observation(10, 3_000n * 10n ** 8n));
    const steady = reads.marketAt(observation(11, 3_000n * 10n ** 8n));
    expect(reads.pricesToRemember(steady)).toEqual(new Map([[0, 3_000n * 10n ** 8n], [1, 10n ** 8n]]));
    const shocked = reads.marketAt(observation(12, 2_550n * 10n ** 8n));
    expect(reads.pricesToRemember(shocked)).toEqual(new Map([[1, 10n ** 8n]]));
    // The previous block's market asked again (the pending-update path) changes nothing.
    reads.marketAt(observation(11, 3_000n * 10n ** 8n));
    expect(reads.pricesToRemember(shocked)).toEqual(new Map([[1, 10n ** 8n]]));
  });

  it('an account whose health factor was read before a shock and its prices after is read again at the next block', () => {
    const reads = new AccountReads(DEFAULT_READ_POLICY, 100);
    reads.marketAt(observation(10, 3_000n * 10n ** 8n));
    // Block 11: the oracle call already answered with the shock (the node sealing block 12), the health call not:
    // HF 1.05 at $3,000, which is 0.89 at $2,550.
    const atShock = reads.marketAt(observation(11, 2_550n * 10n ** 8n));
    const remembered = reads.pricesToRemember(atShock);
    const reading = (prices: AccountReading['prices']): AccountReading => ({
      block: 11,
      timestampSec: 1_700_000_132n,
      healthFactorWad: (105n * WAD) / 100n,
      totalDebtBase: 10_000n * 10n ** 8n,
      userConfiguration: USER_CONFIGURATION,
      prices,
    });
    const next = reads.marketAt(observation(12, 2_550n * 10n ** 8n));
    // Kept whole, the shock's prices would prove the account safe at block 12: it would not be read for an hour.
    expect(readReason(reading(atShock.prices), next, DEFAULT_READ_POLICY)).toBeUndefined();
    // Without the moved price, it is read again.
    expect(readReason(reading(remembered), next, DEFAULT_READ_POLICY)).toBe('unknown-price');
  });
});
