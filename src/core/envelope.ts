/**
 * The SMTP envelope of one message as the rest of the system sees it: reverse-path, recipients with their RFC 3461
 * DSN parameters, and the facts about the session that delivery, bounces and logs need. Made by the SMTP session
 * backend, handed to every DeliveryTarget, kept in the queue's records.
 */
import type { DsnNotify } from '../protocol/smtp/params.js';

export type { DsnNotify } from '../protocol/smtp/params.js';

export interface EnvelopeRecipient {
  /**
   * The forward-path as given in RCPT TO (domain may be Unicode with SMTPUTF8). For a mail store target it is the
   * canonical mailbox name of the local user instead (aliases already expanded).
   */
  address: string;
  /** RFC 3461 NOTIFY; undefined when the client did not say (then FAILURE and DELAY apply by default). */
  notify?: DsnNotify;
  /** RFC 3461 ORCPT, kept as "addr-type;xtext-decoded-address". */
  orcpt?: string;
  /** Mail store targets: the folder to deliver into (default INBOX). */
  folder?: string;
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
  /** RFC 8689 REQUIRETLS was given on MAIL FROM. */
  requireTls?: boolean;
  /** The authenticated submitter, if any (never put in headers unless configured). */
  authenticatedUser?: string;
  /** Client address and HELO name, for logs and bounces. */
  clientAddress?: string;
  heloName?: string;
  /** The session's id for this message (logs, the 250 reply, the Received header). */
  id?: string;
}
