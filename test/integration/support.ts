/**
 * Helpers shared by the integration tests (not a test file: Jest matches *.test.ts only).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { latestBlockNumber } from '../../functions/adapters/chain/provider';
import { type CandidateMessage, decodeCandidateMessage } from '../../functions/pipeline/candidate-message';
import type { AssetSymbol } from '../../local/world/scenario';
import { findPendingPriceUpdate, type PendingPriceUpdate, type World } from '../../local/world/world';

export const POOL_ABI = [
  'event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken)',
  'function getUserAccountData(address user) view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor)',
];

/** Keeps what a handler publishes, instead of printing EMF to stdout. */
export class RecordingMetrics extends Metrics {
  readonly published: Record<string, unknown>[] = [];
  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) this.published.push(this.serializeMetrics() as unknown as Record<string, unknown>);
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
  /** Sum of a metric over every flush (a name added several times in one flush is an array of values). */
  total(name: string): number {
    return this.published.reduce<number>((sum, emf) => {
      const value = emf[name];
      if (Array.isArray(value)) return sum + value.reduce((a: number, b: number) => a + b, 0);
      return sum + (typeof value === 'number' ? value : 0);
    }, 0);
  }
}

/** Every message on the FIFO queue, deleting as it goes (a FIFO group hands out nothing while messages are in flight). */
export async function drainCandidates(sqs: SQSClient, queueUrl: string): Promise<CandidateMessage[]> {
  const messages: CandidateMessage[] = [];
  for (;;) {
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const batch = received.Messages ?? [];
    if (batch.length === 0) return messages;
    messages.push(...batch.map((m) => decodeCandidateMessage(m.Body!)));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

/** Resolves just after a new block is mined, so what follows has almost a whole interval before the next. */
export async function justAfterABlock(world: World): Promise<number> {
  const start = await latestBlockNumber(world.provider);
  for (;;) {
    const block = await latestBlockNumber(world.provider);
    if (block > start) return block;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The world's pending price update of `asset` (mempool mode), once it is in anvil's mempool (within 5 s). */
export async function waitForPendingUpdate(world: World, asset: AssetSymbol): Promise<PendingPriceUpdate> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const update = await findPendingPriceUpdate(world.provider, world.info, asset);
    if (update) return update;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no pending ${asset} price update within 5 s`);
}
