/**
 * A local stand-in for Lambda's SQS event source mapping, against the fauxqs emulator: it receives up to
 * `batchSize` messages, builds a real `SQSEvent`, invokes the handler with a context that has a deadline,
 * deletes only the records that succeeded (`batchItemFailures` = ReportBatchItemFailures), and leaves the
 * failures for redelivery. The queue's own redrive policy moves a message to the DLQ after maxReceiveCount.
 *
 * One difference on purpose: AWS redelivers a failed record when its visibility timeout (minutes) expires;
 * here failures become visible again after `retryDelaySec`, so a local run does not wait minutes.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  functionName: string;
  /** Records per invocation (FIFO queues allow at most 10). */
  batchSize?: number;
  /** The function's timeout: the context's deadline. */
  functionTimeoutMs?: number;
  retryDelaySec?: number;
  /** Long-poll wait per receive. */
  waitTimeSec?: number;
  /** Concurrent invocations (the mapping's maximum concurrency): each polls and invokes on its own; default 1. */
  concurrency?: number;
  region?: string;
  log?: (line: string) => void;
}

export interface PollResult {
  received: number;
  succeeded: number;
  failed: number;
}

/** A Lambda context for local invocations, with a real deadline. */
export function localLambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export class LocalSqsEventSource {
  private running = false;
  private loops: Promise<void>[] = [];
  private queueArn?: string;
  readonly totals: PollResult = { received: 0, succeeded: 0, failed: 0 };

  constructor(private readonly options: SqsEventSourceOptions) {}

  private toRecord(message: Message, arn: string): SQSRecord {
    const a = message.Attributes ?? {};
    return {
      messageId: message.MessageId!,
      receiptHandle: message.ReceiptHandle!,
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
        SentTimestamp: a.SentTimestamp ?? String(Date.now()),
        SenderId: a.SenderId ?? 'local',
        ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        SequenceNumber: a.SequenceNumber,
        MessageGroupId: a.MessageGroupId,
        MessageDeduplicationId: a.MessageDeduplicationId,
      },
      messageAttributes: {},
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: arn,
      awsRegion: this.options.region ?? 'us-east-1',
    };
  }

  private async arn(): Promise<string> {
    if (!this.queueArn) {
      const attrs = await this.options.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['QueueArn'] }));
      this.queueArn = attrs.Attributes?.QueueArn ?? `arn:aws:sqs:us-east-1:000000000000:local`;
    }
    return this.queueArn;
  }

  /** One receive → invoke → delete cycle. */
  async pollOnce(): Promise<PollResult> {
    const { sqs, queueUrl } = this.options;
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: this.options.batchSize ?? 10,
        WaitTimeSeconds: this.options.waitTimeSec ?? 1,
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return { received: 0, succeeded: 0, failed: 0 };
    const arn = await this.arn();
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m, arn)) };

    let failedIds: Set<string>;
    try {
      const response = await this.options.handler(event, localLambdaContext(this.options.functionName, this.options.functionTimeoutMs ?? 60_000));
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // A thrown handler fails the whole batch, as on AWS.
      this.options.log?.(`${this.options.functionName}: invocation failed, ${messages.length} records back to the queue: ${(err as Error).message}`);
      failedIds = new Set(messages.map((m) => m.MessageId!));
    }

    const succeeded = messages.filter((m) => !failedIds.has(m.MessageId!));
    const failed = messages.filter((m) => failedIds.has(m.MessageId!));
    if (succeeded.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: succeeded.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    if (failed.length > 0) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: failed.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: this.options.retryDelaySec ?? 1 })),
        }),
      );
    }
    const result = { received: messages.length, succeeded: succeeded.length, failed: failed.length };
    this.totals.received += result.received;
    this.totals.succeeded += result.succeeded;
    this.totals.failed += result.failed;
    return result;
  }

  /**
   * Polls until stop() with `concurrency` invocations at a time. A FIFO group is handled by one invocation at a
   * time whatever the concurrency: SQS hands out no message of a group while another of it is in flight.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency ?? 1 }, async () => {
      while (this.running) {
        try {
          await this.pollOnce();
        } catch (err) {
          this.options.log?.(`${this.options.functionName}: poll failed: ${(err as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
