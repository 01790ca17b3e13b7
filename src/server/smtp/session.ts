/** What a session needs from its server, and the state of one mail transaction (MAIL .. end of data). */
import type { SecureContext } from 'node:tls';
import type { SmtpConfig } from '../../config/schema.js';
import type { Directory } from '../../directory/types.js';
import type { MailStore } from '../../store/types.js';
import type { EnvelopeRecipient, OutboundQueue } from '../../delivery/types.js';
import type { Logger } from '../../observability/log.js';
import type { AuthThrottle } from '../auth-throttle.js';
import type { MailParams } from '../../protocol/smtp/params.js';
import type { TextChecker } from '../../protocol/smtp/bdat.js';
import type { BodyWriter } from './body.js';
import type { SmtpConnection } from './connection.js';

export interface SessionContext {
  readonly hostname: string;
  readonly config: SmtpConfig;
  readonly directory: Directory;
  readonly store: MailStore;
  readonly queue?: OutboundQueue;
  readonly logger: Logger;
  readonly throttle: AuthThrottle;
  /** Longest AUTH response line, octets including CRLF. */
  readonly saslMaxLine: number;
  now(): number;
  secureContext(): SecureContext | null;
  connectionClosed(connection: SmtpConnection): void;
}

export interface Transaction {
  /** Reverse-path, '' for <>. */
  mailFrom: string;
  params: MailParams;
  /** Every accepted recipient, in order (local and remote). */
  recipients: EnvelopeRecipient[];
  /** Local mailboxes the message goes to (aliases expanded, no duplicates). */
  mailboxes: Set<string>;
  /** Accepted non-local recipients, for the outbound queue. */
  remote: EnvelopeRecipient[];
  /** Open while BDAT chunks arrive. */
  body: BodyWriter | null;
  /** Line-ending checks for BDAT content (null for BINARYMIME). */
  checker: TextChecker | null;
  /** Client octets received with BDAT so far. */
  bdatSize: number;
}
