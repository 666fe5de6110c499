import { DEFAULT_REDELIVERY_BACKOFF, redeliveryDelaySec } from '../../../functions/adapters/queue/sqs-redelivery';

describe('redelivery back-off', () => {
  it('doubles from 2 s with each failed delivery', () => {
    expect([1, 2, 3, 4].map((n) => redeliveryDelaySec(n))).toEqual([2, 4, 8, 16]);
  });

  it('is capped, also for absurd receive counts', () => {
    expect(redeliveryDelaySec(7)).toBe(DEFAULT_REDELIVERY_BACKOFF.maxSec);
    expect(redeliveryDelaySec(10_000)).toBe(DEFAULT_REDELIVERY_BACKOFF.maxSec);
    expect(redeliveryDelaySec(3, { baseSec: 5, maxSec: 12 })).toBe(12);
  });

  it('treats a missing or zero count as the first delivery', () => {
    expect(redeliveryDelaySec(0)).toBe(2);
    expect(redeliveryDelaySec(Number.NaN)).toBe(2);
  });
});
