/**
 * Header-block edits on a raw message, for `sendmail -t` and mail(): find the fields, read recipient fields, drop
 * Bcc, add missing Date / Message-ID / From. The body is never touched. Both CRLF and bare-LF input are understood;
 * the wire encoder makes every line ending CRLF afterwards.
 */
import { randomBytes } from 'node:crypto';
import { formatMailDate, parseAddressList, parseHeaderField, type HeaderField } from '../mime/index.js';

export interface RawMessage {
  /** Fields in order, each with its exact bytes (folding included, no final line break). */
  fields: HeaderField[];
  /** Everything from the blank line on (the separator included), or empty when there is no body. */
  rest: Buffer;
}

/** Split a raw message into header fields and the rest. Lines before the blank line that are not fields are kept as-is. */
export function splitRawMessage(raw: Buffer): RawMessage {
  const fields: HeaderField[] = [];
  let pos = 0;
  let start = 0;
  while (pos < raw.length) {
    const lf = raw.indexOf(0x0a, pos);
    const lineEnd = lf === -1 ? raw.length : lf;
    const contentEnd = lineEnd > pos && raw[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd;
    if (contentEnd === pos) {
      // blank line: end of header
      if (start < pos) pushField(fields, raw.subarray(start, trimEol(raw, pos)));
      return { fields, rest: raw.subarray(pos) };
    }
    const first = raw[pos];
    if (pos !== start && first !== 0x20 && first !== 0x09) {
      pushField(fields, raw.subarray(start, trimEol(raw, pos)));
      start = pos;
    }
    pos = lf === -1 ? raw.length : lf + 1;
  }
  if (start < raw.length) pushField(fields, raw.subarray(start, trimEol(raw, raw.length)));
  return { fields, rest: Buffer.alloc(0) };
}

function trimEol(raw: Buffer, end: number): number {
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  return end;
}

function pushField(fields: HeaderField[], bytes: Buffer): void {
  const field = parseHeaderField(bytes);
  // A line without a colon in the header block is kept verbatim under an empty name (never dropped).
  fields.push(field ?? { name: '', value: '', rawValue: '', raw: bytes });
}

export function joinRawMessage(message: RawMessage): Buffer {
  const parts: Buffer[] = [];
  for (const f of message.fields) parts.push(f.raw, CRLF);
  if (message.rest.length) parts.push(message.rest);
  else parts.push(CRLF);
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');

function named(message: RawMessage, name: string): HeaderField[] {
  const lower = name.toLowerCase();
  return message.fields.filter((f) => f.name.toLowerCase() === lower);
}

export function hasField(message: RawMessage, name: string): boolean {
  return named(message, name).length > 0;
}

/** Addresses in the To, Cc and Bcc fields (sendmail -t), duplicates removed, order kept. */
export function headerRecipients(message: RawMessage): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of ['to', 'cc', 'bcc']) {
    for (const f of named(message, name)) {
      for (const m of parseAddressList(f.value)) {
        const key = m.address.toLowerCase();
        if (m.address && !seen.has(key)) {
          seen.add(key);
          out.push(m.address);
        }
      }
    }
  }
  return out;
}

export function firstAddress(message: RawMessage, name: string): string | null {
  for (const f of named(message, name)) {
    const [m] = parseAddressList(f.value);
    if (m?.address) return m.address;
  }
  return null;
}

/** Remove every Bcc field (recipients must never see it). */
export function removeBcc(message: RawMessage): RawMessage {
  return { fields: message.fields.filter((f) => f.name.toLowerCase() !== 'bcc'), rest: message.rest };
}

export function addField(message: RawMessage, name: string, value: string, atTop = false): RawMessage {
  const field: HeaderField = { name, value, rawValue: value, raw: Buffer.from(`${name}: ${value}`, 'utf8') };
  return { fields: atTop ? [field, ...message.fields] : [...message.fields, field], rest: message.rest };
}

export function newMessageId(domain: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(9).toString('hex')}@${domain}>`;
}

/** Add Date, Message-ID and From when missing (as sendmail and Postfix's cleanup do). */
export function completeHeaders(message: RawMessage, defaults: { from: string; domain: string; date?: Date }): RawMessage {
  let m = message;
  if (!hasField(m, 'from')) m = addField(m, 'From', defaults.from);
  if (!hasField(m, 'date')) m = addField(m, 'Date', formatMailDate(defaults.date ?? new Date()));
  if (!hasField(m, 'message-id')) m = addField(m, 'Message-ID', newMessageId(defaults.domain));
  return m;
}
