/**
 * What the SMTP server hands to delivery: the envelope of an accepted message, and the outbound queue contract for
 * recipients outside the local domains. The queue, like the store, is two-phase: write the body, then commit() makes it
 * durable (fsynced) and schedules delivery; only after commit() resolves may the client get 250.
 */
export type DsnNotify = 'NEVER' | Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;

export interface EnvelopeRecipient {
  /** The forward-path as given in RCPT TO (domain may be Unicode with SMTPUTF8). */
  address: string;
  /** RFC 3461 NOTIFY; undefined when the client did not say (then FAILURE and DELAY apply by default). */
  notify?: DsnNotify;
  /** RFC 3461 ORCPT, kept as "addr-type;xtext-decoded-address". */
  orcpt?: string;
}

export interface Envelope {
  /** Reverse-path from MAIL FROM; '' for the null sender <>. */
  mailFrom: string;
  recipients: EnvelopeRecipient[];
  /** BODY parameter. */
  body: '7BIT' | '8BITMIME' | 'BINARYMIME';
  smtputf8: boolean;
  /** RFC 3461 RET and ENVID. */
  dsnRet?: 'FULL' | 'HDRS';
  envid?: string;
  /** The authenticated submitter, if any (never put in headers unless configured). */
  authenticatedUser?: string;
  /** Client address and HELO name, for logs and bounces. */
  clientAddress?: string;
  heloName?: string;
}

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
