/**
 * PHP's mail() for Node: mail(to, subject, message, additionalHeaders?, additionalParams?) -> Promise<boolean>.
 * The message is built the way PHP builds it (To, Subject, the caller's headers, a blank line, the message), the
 * recipients come from To, Cc and Bcc as `sendmail -t` takes them, Bcc is removed, "-f sender" in additionalParams
 * sets the envelope sender. Sent through the transport given to configureMail(), else POSTHORN_SMTP_URL, else the
 * local Posthorn server's socket (POSTHORN_DATA or ./data).
 */
import os from 'node:os';
import { encodeHeaderText } from '../mime/index.js';
import { addField, completeHeaders, firstAddress, hasField, headerRecipients, joinRawMessage, removeBcc, splitRawMessage } from './headers.js';
import { resolveSubmission } from './local.js';
import { createTransport, type Transport, type TransportOptions } from './transport.js';
import type { SendResult } from './smtp/transaction.js';

export type AdditionalHeaders = string | Record<string, string | string[]>;

export interface MailResult {
  ok: boolean;
  /** Present when the server accepted the message for at least one recipient. */
  result?: SendResult;
  /** Why it failed (validation, connection, or the server's refusal). */
  error?: Error;
  envelope?: { from: string; to: string[] };
}

export class MailArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailArgumentError';
  }
}

let configured: Transport | null = null;
let owned = false;

/**
 * Use this transport (or SMTP URL, or options) for mail(); null returns to the default resolution. A transport
 * created here from a URL or options is closed when replaced; the returned promise settles when that is done.
 */
export function configureMail(transport: Transport | string | TransportOptions | null): Promise<void> {
  const previous = owned ? configured : null;
  if (transport === null) {
    configured = null;
    owned = false;
  } else if (typeof transport === 'object' && 'sendMail' in transport) {
    configured = transport;
    owned = false;
  } else {
    configured = createTransport(transport);
    owned = true;
  }
  return previous ? previous.close() : Promise.resolve();
}

function hasControl(value: string, allowTab = false): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && !(allowTab && c === 0x09)) || c === 0x7f) return true;
  }
  return false;
}

const HEADER_NAME = /^[!-9;-~]+$/;

/** Normalize additional headers to "Name: value" lines; reject anything that would end the header block early. */
export function headerLines(headers: AdditionalHeaders | undefined): string[] {
  if (headers === undefined) return [];
  const lines: string[] = [];
  if (typeof headers === 'string') {
    // Lines end with CRLF (or LF, as PHP on Unix tolerates); a bare CR inside a line is a control character.
    const trimmed = headers.replace(/(?:\r?\n)+$/, '');
    if (trimmed === '') return [];
    for (const line of trimmed.split(/\r?\n/)) {
      if (line === '') throw new MailArgumentError('additional headers contain an empty line (header injection)');
      if (line[0] === ' ' || line[0] === '\t') {
        if (lines.length === 0) throw new MailArgumentError('additional headers start with a continuation line');
        lines[lines.length - 1] += '\r\n' + line;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0 || !HEADER_NAME.test(line.slice(0, colon))) throw new MailArgumentError(`not a header line: ${JSON.stringify(line.slice(0, 80))}`);
      if (hasControl(line, true)) throw new MailArgumentError('additional headers contain control characters');
      lines.push(line);
    }
    return lines;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw new MailArgumentError(`bad header name ${JSON.stringify(name)}`);
    for (const v of Array.isArray(value) ? value : [value]) {
      if (hasControl(String(v), true)) throw new MailArgumentError(`header ${name} contains CR, LF or another control character (header injection)`);
      lines.push(`${name}: ${v}`);
    }
  }
  return lines;
}

/** Split sendmail-style parameters ("-f bounce@example.com -F 'Web Site'") honouring simple quotes. */
export function splitParams(params: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of params) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (ch === ' ' || ch === '\t') {
      if (has || current) out.push(current);
      current = '';
      has = false;
    } else current += ch;
  }
  if (has || current) out.push(current);
  return out;
}

export function paramsSender(params: string | undefined): { from?: string; fullName?: string } {
  if (!params) return {};
  const args = splitParams(params);
  const out: { from?: string; fullName?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-f' || a === '-r') out.from = args[++i];
    else if (a.startsWith('-f') || a.startsWith('-r')) out.from = a.slice(2);
    else if (a === '-F') out.fullName = args[++i];
    else if (a.startsWith('-F')) out.fullName = a.slice(2);
  }
  return out;
}

export function defaultSender(): string {
  let user = 'nobody';
  try {
    user = os.userInfo().username || user;
  } catch {
    /* no passwd entry */
  }
  return `${user}@${os.hostname() || 'localhost'}`;
}

/** Build the raw message and envelope exactly as mail() sends them (exported for tests and the CLI). */
export function buildPhpMail(to: string, subject: string, message: string, additionalHeaders?: AdditionalHeaders, additionalParams?: string): { raw: Buffer; envelope: { from: string; to: string[] } } {
  if (hasControl(to)) throw new MailArgumentError('to contains CR, LF or another control character');
  if (hasControl(subject)) throw new MailArgumentError('subject contains CR, LF or another control character');
  const extra = headerLines(additionalHeaders);
  const encodedSubject = /^[\x20-\x7e]*$/.test(subject) ? subject : encodeHeaderText(subject);
  const head = [`To: ${to}`, `Subject: ${encodedSubject}`, ...extra];
  const headText = head.join('\r\n');
  let parsed = splitRawMessage(Buffer.from(`${headText}\r\n\r\n${message}`, 'utf8'));
  if (!hasField(parsed, 'content-type') && !/^[\x00-\x7f]*$/.test(message)) {
    if (!hasField(parsed, 'mime-version')) parsed = addField(parsed, 'MIME-Version', '1.0');
    parsed = addField(parsed, 'Content-Type', 'text/plain; charset=UTF-8');
    parsed = addField(parsed, 'Content-Transfer-Encoding', '8bit');
  }
  const params = paramsSender(additionalParams);
  const envelopeFrom = params.from ?? firstAddress(parsed, 'from') ?? defaultSender();
  if (hasControl(envelopeFrom)) throw new MailArgumentError('-f sender contains a control character');
  const recipients = headerRecipients(parsed);
  if (recipients.length === 0) throw new MailArgumentError(`no recipient address in ${JSON.stringify(to)}`);
  parsed = removeBcc(parsed);
  const fromHeader = params.fullName ? `${encodeHeaderText(`"${params.fullName.replace(/["\\]/g, '')}"`)} <${envelopeFrom}>` : envelopeFrom;
  parsed = completeHeaders(parsed, { from: fromHeader, domain: envelopeFrom.slice(envelopeFrom.lastIndexOf('@') + 1) || 'localhost' });
  return { raw: joinRawMessage(parsed), envelope: { from: envelopeFrom, to: recipients } };
}

/** mail() with the details: never throws; ok is true when the server accepted the message for some recipient. */
export async function mailDetailed(to: string, subject: string, message: string, additionalHeaders?: AdditionalHeaders, additionalParams?: string): Promise<MailResult> {
  let built: ReturnType<typeof buildPhpMail>;
  try {
    built = buildPhpMail(to, subject, message, additionalHeaders, additionalParams);
  } catch (error) {
    return { ok: false, error: error as Error };
  }
  let transport = configured;
  const own = transport === null;
  try {
    if (!transport) {
      const target = resolveSubmission();
      transport = createTransport(target.kind === 'url' ? { url: target.url } : target.options);
    }
    const result = await transport.send({ from: built.envelope.from, to: built.envelope.to }, built.raw);
    return { ok: result.accepted.length > 0, result, envelope: built.envelope };
  } catch (error) {
    return { ok: false, error: error as Error, envelope: built.envelope };
  } finally {
    if (own && transport) await transport.close();
  }
}

/** PHP's mail(): true when the message was accepted for delivery. */
export async function mail(to: string, subject: string, message: string, additionalHeaders?: AdditionalHeaders, additionalParams?: string): Promise<boolean> {
  return (await mailDetailed(to, subject, message, additionalHeaders, additionalParams)).ok;
}
