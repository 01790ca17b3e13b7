/**
 * What remote delivery needs from an SMTP client, kept narrow so the scheduler can be tested with a fake and the real
 * client (src/client/smtp) plugs in through an adapter (smtp-transport.ts).
 */
import type { Readable } from 'node:stream';
import type { ReplyInfo } from './record.js';
import type { DsnNotify } from './types.js';

export interface SmtpAuth {
  user: string;
  pass: string;
  /** Force one mechanism; otherwise the best offered one (CRAM-MD5, then PLAIN, then LOGIN). */
  mechanism?: 'PLAIN' | 'LOGIN' | 'CRAM-MD5';
}

/** One host to try, fully resolved: connect to `address`, speak TLS to `host`. */
export interface DeliveryTarget {
  /** Host name (for TLS SNI and certificate checks, and in DSN Remote-MTA). */
  host: string;
  /** IP address (or host name when resolution is left to the OS, as for static routes). */
  address: string;
  port: number;
  /** implicit: TLS from the first byte (smtps); starttls: STARTTLS must succeed; opportunistic: STARTTLS if offered. */
  tls: 'implicit' | 'starttls' | 'opportunistic' | 'none';
  /** Verify the server certificate against the host name (else any certificate is accepted). */
  verifyCertificate: boolean;
  auth?: SmtpAuth;
}

export function targetKey(t: DeliveryTarget): string {
  return `${t.host}|${t.address}|${t.port}|${t.tls}|${t.verifyCertificate ? 1 : 0}|${t.auth?.user ?? ''}`;
}

/** A failure of the TLS handshake itself (transports set code 'tls'); opportunistic TLS then falls back to plain text. */
export function isTlsFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'tls';
}

export function describeTarget(t: DeliveryTarget): string {
  return t.host === t.address ? `${t.host}:${t.port}` : `${t.host} [${t.address}]:${t.port}`;
}

export interface OutgoingRecipient {
  address: string;
  notify?: DsnNotify;
  orcpt?: string;
}

export interface StreamedBody {
  /** Octets the stream will yield. */
  size: number;
  open(): Readable;
}

export interface OutgoingMessage {
  mailFrom: string;
  recipients: OutgoingRecipient[];
  /**
   * The message (CRLF line ends, not dot-stuffed; the client stuffs): whole in memory, or for large messages a source
   * opened afresh for each transaction (so trying the next MX re-reads the file instead of holding it in memory).
   */
  body: Buffer | StreamedBody;
  bodyType: '7BIT' | '8BITMIME' | 'BINARYMIME';
  smtputf8: boolean;
  envid?: string;
  ret?: 'FULL' | 'HDRS';
}

export interface TransactionResult {
  /** One final reply per recipient, same order: the RCPT reply when refused, else the reply to the end of data. */
  recipients: ReplyInfo[];
  /** The server advertised DSN (so NOTIFY/ORCPT were passed on). */
  dsn: boolean;
}

export interface RemoteSession {
  readonly target: DeliveryTarget;
  /**
   * One mail transaction. Rejects with SmtpError when the transaction as a whole failed (MAIL FROM refused), and with
   * any other error when the connection broke; then nothing is known to be delivered.
   */
  send(message: OutgoingMessage): Promise<TransactionResult>;
  /** False once the connection is closed or broken. */
  readonly usable: boolean;
  /** RSET before reusing the connection for another transaction. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface RemoteTransport {
  /** Connect, greet, EHLO, STARTTLS and AUTH as the target asks. Rejects with SmtpError or a network error. */
  connect(target: DeliveryTarget, heloName: string): Promise<RemoteSession>;
}
