/**
 * One SMTP reply value for both sides of the wire (RFC 5321 4.2, enhanced status codes RFC 3463 / RFC 2034), and the
 * one error type that carries it. The server sends Reply values, the client reads them into Reply values, and the
 * queue records them; nothing compares reply text.
 */

export interface Reply {
  /** Three-digit reply code, 200-599 (334 and 354 are intermediate replies). */
  readonly code: number;
  /** RFC 3463 enhanced status code ("5.1.1"), or null when the reply carries none (greeting, 334, 354). */
  readonly enhanced: string | null;
  /** Human-readable text; lines of a multi-line reply are joined with "\n". */
  readonly text: string;
}

export function reply(code: number, enhanced: string | null, text: string): Reply {
  return { code, enhanced, text };
}

/** The lines of a reply's text (one for a single-line reply). */
export function replyLines(r: Reply): string[] {
  return r.text.split('\n');
}

/**
 * The wire form of a reply with the final CRLF: one line, or several joined with "-" (RFC 5321 4.2.1). `extra` is
 * appended to the last line ("250 2.0.0 OK queued as X").
 */
export function formatReply(r: Reply, extra?: string): string {
  const lines = r.text.split(/\r?\n/);
  if (extra) lines[lines.length - 1] = `${lines[lines.length - 1]} ${extra}`;
  const prefix = r.enhanced ? `${r.enhanced} ` : '';
  let out = '';
  for (let i = 0; i < lines.length; i++) out += `${r.code}${i === lines.length - 1 ? ' ' : '-'}${prefix}${lines[i]}\r\n`;
  return out;
}

/** The reply as one log- or test-friendly line without CRLF: "550 5.1.1 No such user here". */
export function replyLine(r: Reply): string {
  return `${r.code} ${r.enhanced ? r.enhanced + ' ' : ''}${r.text.replace(/\n/g, ' ')}`;
}

export function isPositive(r: Reply): boolean {
  return r.code >= 200 && r.code < 400;
}

/** 4xx: the same command may succeed later. */
export function isTemporary(r: Reply): boolean {
  return r.code >= 400 && r.code < 500;
}

/** 5xx: do not repeat the same command. */
export function isPermanent(r: Reply): boolean {
  return r.code >= 500;
}

/**
 * Why an SMTP exchange failed, so callers decide by kind instead of reading text:
 *   reply       the peer answered with `reply` (4xx/5xx);
 *   connection  could not connect, or the connection broke or closed before the exchange ended;
 *   tls         the TLS handshake or the certificate check failed;
 *   timeout     the peer did not answer in time;
 *   protocol    the peer's answer was not valid SMTP (unparsable, unexpected code, line too long);
 *   capability  the peer lacks an extension the message needs (SIZE, 8BITMIME, SMTPUTF8, REQUIRETLS, ...);
 *   envelope    an address or parameter cannot be put on the wire;
 *   aborted     we stopped the exchange ourselves (shutdown, cancel).
 * For every reason other than 'reply' the error still carries a reply chosen locally (for example
 * "451 4.4.2 connection lost"), the one a bounce or a log shows.
 */
export type SmtpFailure = 'reply' | 'connection' | 'tls' | 'timeout' | 'protocol' | 'capability' | 'envelope' | 'aborted';

export class SmtpError extends Error {
  readonly reply: Reply;
  readonly reason: SmtpFailure;

  constructor(r: Reply, reason: SmtpFailure = 'reply', options?: { cause?: unknown; message?: string }) {
    super(options?.message ?? replyLine(r), options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'SmtpError';
    this.reply = r;
    this.reason = reason;
  }

  /** A failure with a locally chosen reply: `SmtpError.local(451, '4.4.2', 'connection lost', 'connection')`. */
  static local(code: number, enhanced: string | null, text: string, reason: SmtpFailure, cause?: unknown): SmtpError {
    return new SmtpError(reply(code, enhanced, text), reason, cause !== undefined ? { cause } : undefined);
  }

  get code(): number {
    return this.reply.code;
  }

  get enhanced(): string | null {
    return this.reply.enhanced;
  }

  get temporary(): boolean {
    return isTemporary(this.reply);
  }

  get permanent(): boolean {
    return isPermanent(this.reply);
  }
}
