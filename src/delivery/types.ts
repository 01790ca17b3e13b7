/**
 * What the SMTP server hands to delivery: the envelope of an accepted message, and the outbound queue contract for
 * recipients outside the local domains. The queue, like the store, is two-phase: write the body, then commit() makes it
 * durable (fsynced) and schedules delivery; only after commit() resolves may the client get 250.
 */
export type { DsnNotify, Envelope, EnvelopeRecipient } from '../core/envelope.js';
import type { Envelope } from '../core/envelope.js';

export interface QueueTransaction {
  write(chunk: Buffer): Promise<void>;
  /** Durable (fsynced) and scheduled; resolves with the queue id. Rejects when nothing was queued. */
  commit(): Promise<string>;
  abort(): Promise<void>;
}

export interface OutboundQueue {
  /** Begin queueing a message for the given (remote) recipients. */
  begin(envelope: Envelope): Promise<QueueTransaction>;
}
