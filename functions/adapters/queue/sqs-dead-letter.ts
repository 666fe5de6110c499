/**
 * Sends a message the worker rejects (a body that does not decode, a candidate for another market) to the
 * candidates' dead-letter queue, with the reason as the `rejectReason` message attribute, so the batch can
 * acknowledge it at once instead of letting SQS redeliver it maxReceiveCount times.
 *
 * The DLQ is FIFO: the message keeps its original group id, and its deduplication id is the original SQS
 * message id, so if the acknowledgement is lost and the message comes back, sending it again is a no-op
 * (within SQS's 5-minute deduplication window).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface RejectedMessage {
  body: string;
  reason: string;
  /** The SQS message id of the rejected message. */
  sourceMessageId: string;
  /** Its FIFO group id, when it had one. */
  groupId?: string;
}

/** Where rejected messages go (a port of the worker handler). */
export interface DeadLetterQueue {
  reject(message: RejectedMessage): Promise<void>;
}

/** Group id for a rejected message that arrived without one (a standard queue or a hand-made event). */
const FALLBACK_GROUP_ID = 'rejected';
/** Message attribute values share the 256 KiB message limit; a reason is a line or two. */
const MAX_REASON_LENGTH = 1_024;

export class DeadLetterSendError extends Error {
  constructor(sourceMessageId: string, options: { cause: unknown }) {
    super(`could not send message ${sourceMessageId} to the dead-letter queue: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'DeadLetterSendError';
  }
}

export class SqsDeadLetter implements DeadLetterQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly deadLetterQueueUrl: string,
  ) {}

  async reject(message: RejectedMessage): Promise<void> {
    const reason = message.reason.length > MAX_REASON_LENGTH ? `${message.reason.slice(0, MAX_REASON_LENGTH - 1)}…` : message.reason;
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.deadLetterQueueUrl,
          MessageBody: message.body,
          MessageGroupId: message.groupId ?? FALLBACK_GROUP_ID,
          MessageDeduplicationId: message.sourceMessageId,
          MessageAttributes: {
            rejectReason: { DataType: 'String', StringValue: reason },
            sourceMessageId: { DataType: 'String', StringValue: message.sourceMessageId },
          },
        }),
      );
    } catch (error) {
      throw new DeadLetterSendError(message.sourceMessageId, { cause: error });
    }
  }
}
