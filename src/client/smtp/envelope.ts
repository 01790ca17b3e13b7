/**
 * The SMTP envelope as the client sends it, its validation (no CR, LF, NUL or other control character anywhere, so
 * nothing can inject a command), and the MAIL/RCPT parameters (SIZE, BODY, SMTPUTF8, RFC 3461 DSN with xtext).
 */
import type { DsnNotify } from '../../protocol/smtp/params.js';

export interface SmtpRecipient {
  address: string;
  /** RFC 3461 NOTIFY. */
  notify?: DsnNotify;
  /** RFC 3461 ORCPT as "addr-type;address" (the address is xtext-encoded on the wire). */
  orcpt?: string;
}

export interface SmtpEnvelope {
  /** Reverse-path; '' for the null sender <>. */
  from: string;
  to: Array<string | SmtpRecipient>;
  /** RFC 3461 RET and ENVID, sent when the server offers DSN. */
  dsnRet?: 'FULL' | 'HDRS';
  envid?: string;
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** Longest path accepted (RFC 5321 4.5.3.1.3: 256 octets). */
export const MAX_PATH_LENGTH = 256;

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Throws EnvelopeError when a value could break the command line it goes into. */
export function checkCommandValue(value: string, what: string): void {
  if (hasControl(value)) throw new EnvelopeError(`${what} contains a control character (CR, LF, NUL...): ${JSON.stringify(value.slice(0, 80))}`);
}

export function checkAddress(address: string, what: string): void {
  checkCommandValue(address, what);
  if (address.includes('<') || address.includes('>')) throw new EnvelopeError(`${what} must be a bare address without < >: ${JSON.stringify(address.slice(0, 80))}`);
  if (Buffer.byteLength(address) > MAX_PATH_LENGTH) throw new EnvelopeError(`${what} is longer than ${MAX_PATH_LENGTH} octets`);
  if (address.length > 0) {
    const at = address.lastIndexOf('@');
    if (at <= 0 || at === address.length - 1) throw new EnvelopeError(`${what} is not an address (local@domain): ${JSON.stringify(address.slice(0, 80))}`);
    // Whitespace is legal only inside a quoted local part.
    if (/\s/.test(address.slice(at)) || (!address.startsWith('"') && /\s/.test(address.slice(0, at)))) {
      throw new EnvelopeError(`${what} contains whitespace: ${JSON.stringify(address.slice(0, 80))}`);
    }
  }
}

export function normalizeRecipients(to: SmtpEnvelope['to']): SmtpRecipient[] {
  return to.map((r) => (typeof r === 'string' ? { address: r } : r));
}

/** Validate every value; returns the recipients in object form. */
export function validateEnvelope(envelope: SmtpEnvelope): SmtpRecipient[] {
  checkAddress(envelope.from, 'envelope sender');
  const recipients = normalizeRecipients(envelope.to);
  if (recipients.length === 0) throw new EnvelopeError('no recipients');
  for (const r of recipients) {
    if (r.address === '') throw new EnvelopeError('empty recipient address');
    checkAddress(r.address, 'recipient');
    if (r.orcpt !== undefined) checkCommandValue(r.orcpt, 'ORCPT');
  }
  if (envelope.envid !== undefined) checkCommandValue(envelope.envid, 'ENVID');
  return recipients;
}

export function isAsciiText(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7e) return false;
  return true;
}

/** RFC 3461 4: xtext, "+" and "=" and anything outside 33..126 as +HH (of the UTF-8 octets). */
export function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d) out += '+' + byte.toString(16).toUpperCase().padStart(2, '0');
    else out += String.fromCharCode(byte);
  }
  return out;
}

export interface MailParams {
  size?: number;
  body?: '8BITMIME' | 'BINARYMIME';
  smtputf8?: boolean;
  dsn: boolean;
}

export function mailFromCommand(envelope: SmtpEnvelope, params: MailParams): string {
  let line = `MAIL FROM:<${envelope.from}>`;
  if (params.size !== undefined) line += ` SIZE=${params.size}`;
  if (params.body) line += ` BODY=${params.body}`;
  if (params.smtputf8) line += ' SMTPUTF8';
  if (params.dsn) {
    if (envelope.dsnRet) line += ` RET=${envelope.dsnRet}`;
    if (envelope.envid !== undefined) line += ` ENVID=${xtext(envelope.envid)}`;
  }
  return line;
}

export function rcptToCommand(recipient: SmtpRecipient, dsn: boolean): string {
  let line = `RCPT TO:<${recipient.address}>`;
  if (dsn) {
    if (recipient.notify) line += ` NOTIFY=${recipient.notify === 'NEVER' ? 'NEVER' : recipient.notify.join(',')}`;
    if (recipient.orcpt !== undefined) {
      const semi = recipient.orcpt.indexOf(';');
      const type = semi > 0 ? recipient.orcpt.slice(0, semi) : 'rfc822';
      const addr = semi > 0 ? recipient.orcpt.slice(semi + 1) : recipient.orcpt;
      line += ` ORCPT=${type};${xtext(addr)}`;
    }
  }
  return line;
}
