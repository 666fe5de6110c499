/**
 * When a failed candidate comes back. An SQS event source leaves a failed record invisible for the rest of the
 * queue's visibility timeout (six times the worker's timeout: minutes), far too long for a liquidatable account
 * after a transient RPC error or a receipt still pending. The worker shortens it with ChangeMessageVisibility
 * (granted with the event source's consume rights), backing off by delivery: 2, 4, 8, 16 … s, capped.
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Schedules the redelivery of a record the worker failed (a port of the worker handler). */
export interface Redelivery {
  retryAfter(receiptHandle: string, delaySec: number): Promise<void>;
}

export interface RedeliveryBackoff {
  /** Delay after the first failed delivery, s. */
  baseSec: number;
  /** Longest delay, s. */
  maxSec: number;
}

export const DEFAULT_REDELIVERY_BACKOFF: RedeliveryBackoff = { baseSec: 2, maxSec: 60 };

/** Delay before delivery `receiveCount + 1`: base × 2^(receiveCount − 1), capped. */
export function redeliveryDelaySec(receiveCount: number, backoff: RedeliveryBackoff = DEFAULT_REDELIVERY_BACKOFF): number {
  const count = Number.isFinite(receiveCount) ? Math.floor(receiveCount) : 1;
  const exponent = Math.max(0, Math.min(30, count - 1));
  return Math.min(backoff.maxSec, backoff.baseSec * 2 ** exponent);
}

export class SqsRedelivery implements Redelivery {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async retryAfter(receiptHandle: string, delaySec: number): Promise<void> {
    await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.round(delaySec) }));
  }
}
