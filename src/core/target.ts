/**
 * Two-phase delivery, one contract for every place a message can go (after maddy's module.Delivery): the mail store,
 * the outbound queue, later PostgreSQL, and test doubles. The SMTP session backend (and anything else that accepts
 * mail: the local socket, the HTTP send API, bounces) streams one body to N targets and answers 250 only once every
 * target's commit() has resolved.
 *
 *   begin(envelope)  -> a Delivery for this target's share of the recipients; nothing is visible yet
 *   write(chunk)     -> body bytes (CRLF line ends, as received), in order; resolves when more may be written
 *   commit(final)    -> durable and published; resolves only then. `final` carries what was decided after the body
 *                       was seen: header fields to put in front (Authentication-Results, ...) and the disposition
 *   abort()          -> throw the temporary data away; safe more than once and after a failed commit
 *
 * A target that fails rejects with its own error type (StoreError, QueueError); the caller maps it to a reply. Trace
 * header fields that belong to the final delivery (Return-Path, RFC 5321 4.4) are the target's own business.
 */
import type { Envelope } from './envelope.js';

export interface CommitOptions {
  /** Header fields (each ending in CRLF) written in front of the message. */
  prepend?: Buffer;
  /** 'quarantine': a mail store puts the message in the user's Junk folder instead; other targets ignore it. */
  disposition?: 'accept' | 'quarantine';
}

export interface DeliveryReceipt {
  /** The target's own id for what it committed (queue id, store uids), for logs. */
  ids: string[];
}

export interface Delivery {
  write(chunk: Buffer): Promise<void>;
  /** Body octets written so far. */
  readonly size: number;
  commit(final?: CommitOptions): Promise<DeliveryReceipt>;
  abort(): Promise<void>;
}

export interface DeliveryTarget {
  /** Short name for logs ("store", "queue"). */
  readonly name: string;
  /** Begin delivering one message to `envelope.recipients` (at least one). */
  begin(envelope: Envelope): Promise<Delivery>;
}
