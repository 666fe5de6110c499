/**
 * A BorrowerStore in memory for benchmarks and tests whose subject is the chain side of the scanner (what it
 * reads, when it finds an account), not the store: the tracked borrowers of one market, kept between invocations
 * of one scanner as DynamoDB would keep them. The pipeline's own store is DynamoDbBorrowerStore.
 */
import type { AccountSnapshot, BorrowerStore, TrackedBorrower } from '../../functions/ports/borrower-store';

const lower = (address: string) => address.toLowerCase();

export class MemoryBorrowerStore implements BorrowerStore {
  private readonly records = new Map<string, TrackedBorrower>();
  snapshotsWritten = 0;
  recordsWritten = 0;

  constructor(borrowers: readonly string[], block: number) {
    for (const borrower of borrowers) this.records.set(lower(borrower), { borrower, firstSeenBlock: block, lastEventBlock: block, tier: 'cold' });
  }

  async upsertSeen(_market: string, seen: readonly { borrower: string; block: number }[]): Promise<void> {
    for (const { borrower, block } of seen) {
      const existing = this.records.get(lower(borrower));
      this.records.set(lower(borrower), existing ? { ...existing, lastEventBlock: Math.max(existing.lastEventBlock, block) } : { borrower, firstSeenBlock: block, lastEventBlock: block, tier: 'cold' });
    }
  }

  async listTracked(_market: string): Promise<TrackedBorrower[]> {
    return [...this.records.values()].map((r) => ({ ...r }));
  }

  async recordScan(_market: string, updates: readonly TrackedBorrower[]): Promise<void> {
    this.recordsWritten += updates.length;
    for (const u of updates) this.records.set(lower(u.borrower), { ...u });
  }

  async clearEnqueued(_market: string, borrower: string): Promise<void> {
    const record = this.records.get(lower(borrower));
    if (record) delete record.enqueuedUntilBlock;
  }

  async shortenEnqueued(_market: string, borrower: string, untilBlock: number): Promise<void> {
    const record = this.records.get(lower(borrower));
    if (record?.enqueuedUntilBlock !== undefined && record.enqueuedUntilBlock > untilBlock) record.enqueuedUntilBlock = untilBlock;
  }

  async putSnapshots(_market: string, snapshots: readonly AccountSnapshot[]): Promise<void> {
    this.snapshotsWritten += snapshots.length;
  }
}
