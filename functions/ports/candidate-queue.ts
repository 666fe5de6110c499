import type { CandidateMessage } from '../pipeline/candidate-message';

export interface CandidateQueue {
  /** Publishes candidates (FIFO, deduplicated by chain#pool#borrower#block). Returns how many SQS accepted. */
  publish(messages: readonly CandidateMessage[]): Promise<{ sent: number; failed: { message: CandidateMessage; reason: string }[] }>;
}
