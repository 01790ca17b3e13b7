/**
 * createTransport / sendMail in the style nodemailer users know, typed. A transport owns a connection pool (one
 * connection unless `pool` says more); sendMail composes the message with posthorn/mime, derives the envelope from
 * to/cc/bcc (Bcc never written), and returns per-recipient results.
 */
import { Readable } from 'node:stream';
import { composeMail, composeMailStream, envelopeFromOptions, type ComposeOptions } from '../mime/index.js';
import type { DsnNotify } from '../protocol/smtp/params.js';
import { SmtpConnection } from './smtp/connection.js';
import { SmtpPool, type SmtpPoolOptions } from './smtp/pool.js';
import { EnvelopeError, type SmtpEnvelope } from './smtp/envelope.js';
import type { MessageSource, RecipientResult, SendResult } from './smtp/transaction.js';
import { parseSmtpUrl } from './url.js';
import { newMessageId } from './headers.js';

export interface TransportOptions extends SmtpPoolOptions {
  /** An SMTP URL (smtp://, smtps://, smtp+starttls://); explicit options override what it says. */
  url?: string;
  /** true: a pool of maxConnections (default 5); a number: a pool of that many; false/absent: one connection, reused. */
  pool?: boolean | number;
  /** Defaults merged into every sendMail() call (e.g. from). */
  defaults?: Partial<MailOptions>;
  /** Compose messages as a stream instead of in memory (for large attachments given as streams). Default false. */
  streamCompose?: boolean;
}

export interface MailOptions extends ComposeOptions {
  /** Override the SMTP envelope (default: from/sender, and to + cc + bcc). */
  envelope?: { from?: string; to?: string | string[] };
  /** RFC 3461 DSN request, passed through when the server offers DSN. */
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: DsnNotify; orcpt?: string };
  /** A ready message (RFC 5322) sent as-is instead of composing one; give `envelope` with it. */
  raw?: string | Buffer | Readable;
}

export interface SentMessageInfo {
  /** Message-ID of the composed message (null for raw messages). */
  messageId: string | null;
  envelope: { from: string; to: string[] };
  accepted: string[];
  /** Addresses refused (details in rejectedDetails). */
  rejected: string[];
  rejectedDetails: RecipientResult[];
  /** Final server reply, e.g. "250 2.0.0 Ok: queued as 1234". */
  response: string;
  messageSize: number;
}

export interface Transport {
  sendMail(mail: MailOptions): Promise<SentMessageInfo>;
  /** Low level: a ready envelope and message. */
  send(envelope: SmtpEnvelope, message: MessageSource): Promise<SendResult>;
  /** Connect, greet, authenticate, QUIT: resolves true or throws the reason. */
  verify(): Promise<true>;
  close(): Promise<void>;
  readonly options: TransportOptions;
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : value.split(',').map((s) => s.trim()).filter(Boolean);
}

function domainOf(address: string | undefined, fallback: string): string {
  if (!address) return fallback;
  const at = address.lastIndexOf('@');
  return at === -1 ? fallback : address.slice(at + 1);
}

/** Resolve the options: URL first, explicit keys over it. */
export function transportOptions(input: TransportOptions | string): TransportOptions {
  if (typeof input === 'string') input = { url: input };
  if (!input.url) return input;
  const fromUrl = parseSmtpUrl(input.url);
  const merged: TransportOptions = { ...fromUrl, ...stripUndefined(input) };
  if (fromUrl.poolSize !== undefined && input.pool === undefined) merged.pool = fromUrl.poolSize;
  return merged;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createTransport(input: TransportOptions | string): Transport {
  const options = transportOptions(input);
  const size = options.pool === true ? (options.maxConnections ?? 5) : typeof options.pool === 'number' ? options.pool : 1;
  const pool = new SmtpPool({ ...options, maxConnections: size });

  async function sendMail(mailInput: MailOptions): Promise<SentMessageInfo> {
    const mail: MailOptions = { ...options.defaults, ...mailInput };
    let messageId: string | null = null;
    let message: MessageSource;
    let derived: { from: string; to: string[] };
    if (mail.raw !== undefined) {
      if (!mail.envelope?.to) throw new EnvelopeError('sendMail with raw needs envelope.to (and envelope.from)');
      derived = { from: '', to: [] };
      message = mail.raw;
    } else {
      derived = envelopeFromOptions(mail);
      messageId = mail.messageId ?? newMessageId(domainOf(derived.from, options.name ?? 'posthorn.localhost'));
      const compose: ComposeOptions = { ...mail, messageId };
      message = options.streamCompose ? composeMailStream(compose) : await composeMail(compose);
    }
    const from = mail.envelope?.from ?? derived.from;
    const to = mail.envelope?.to !== undefined ? toList(mail.envelope.to) : derived.to;
    if (to.length === 0) throw new EnvelopeError('no recipients: give to, cc, bcc or envelope.to');
    const envelope: SmtpEnvelope = {
      from,
      to: to.map((address) => ({ address, notify: mail.dsn?.notify, orcpt: mail.dsn?.orcpt })),
      dsnRet: mail.dsn?.ret,
      envid: mail.dsn?.envid,
    };
    const result = await pool.send(envelope, message);
    return {
      messageId,
      envelope: { from, to },
      accepted: result.accepted,
      rejected: result.rejected.map((r) => r.address),
      rejectedDetails: result.rejected,
      response: result.response,
      messageSize: result.messageSize,
    };
  }

  return {
    options,
    sendMail,
    send: (envelope, message) => pool.send(envelope, message),
    async verify() {
      const connection = await SmtpConnection.connect(options);
      await connection.quit();
      return true;
    },
    close: () => pool.close(),
  };
}
