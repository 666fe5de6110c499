/**
 * Publishes candidates to the FIFO candidate queue with SendMessageBatch (at most 10 entries per call, an SQS
 * limit). Group id = chain#pool#borrower (one delivery at a time per account), deduplication id = chain#pool#borrower#block
 * (overlapping scanners that see the same account in the same block produce one message) — both from
 * candidate-message.ts, never content-based.
 *
 * Partial failures are reported per message, never thrown: the scanner keeps the enqueue mark only for what
 * was accepted. A message that does not encode, or a whole batch call that fails, is reported the same way.
 * Batches go out one after another so the queue sees them in the order given.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { type CandidateMessage, deduplicationIdOf, encodeCandidateMessage, messageGroupIdOf } from '../../pipeline/candidate-message';
import type { CandidateQueue } from '../../ports/candidate-queue';

/** SendMessageBatch takes at most 10 entries. */
export const SQS_BATCH_LIMIT = 10;

type Failure = { message: CandidateMessage; reason: string };

export class SqsCandidateQueue implements CandidateQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async publish(messages: readonly CandidateMessage[]): Promise<{ sent: number; failed: Failure[] }> {
    const failed: Failure[] = [];
    const encoded: { message: CandidateMessage; entry: Omit<SendMessageBatchRequestEntry, 'Id'> }[] = [];
    for (const message of messages) {
      try {
        encoded.push({
          message,
          entry: { MessageBody: encodeCandidateMessage(message), MessageGroupId: messageGroupIdOf(message), MessageDeduplicationId: deduplicationIdOf(message) },
        });
      } catch (error) {
        failed.push({ message, reason: `does not encode: ${(error as Error).message}` });
      }
    }

    let sent = 0;
    for (let start = 0; start < encoded.length; start += SQS_BATCH_LIMIT) {
      const chunk = encoded.slice(start, start + SQS_BATCH_LIMIT);
      try {
        const response = await this.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: chunk.map(({ entry }, i) => ({ Id: String(i), ...entry })) }),
        );
        sent += response.Successful?.length ?? 0;
        for (const failure of response.Failed ?? []) {
          const message = chunk[Number(failure.Id)]?.message;
          if (!message) continue;
          failed.push({ message, reason: `${failure.Code ?? 'Unknown'}${failure.SenderFault ? ' (sender fault)' : ''}: ${failure.Message ?? 'no message'}` });
        }
      } catch (error) {
        for (const { message } of chunk) failed.push({ message, reason: `SendMessageBatch failed: ${(error as Error).message}` });
      }
    }
    return { sent, failed };
  }
}
