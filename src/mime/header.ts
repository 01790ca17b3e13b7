/**
 * Header fields (RFC 5322 section 2.2): splitting a header block into fields, unfolding, decoding (encoded words and
 * unlabelled 8-bit text), folding for output and the header-injection check. Header names are kept as written and
 * looked up case-insensitively; no object keyed by header name is ever created, so `__proto__` is an ordinary name.
 */
import { decodeUnlabelled } from './charset.js';
import { decodeEncodedWords } from './encoded-word.js';
import { MimeError } from './errors.js';

export interface HeaderField {
  /** Name as written (case kept). */
  name: string;
  /** Unfolded value with encoded words and 8-bit bytes decoded. */
  value: string;
  /** Unfolded value, undecoded (8-bit bytes as latin1), for structured parsing. */
  rawValue: string;
  /** The exact bytes of the field as received, folding included, without the final line break. */
  raw: Buffer;
}

/** Decode header bytes to text: ASCII stays, UTF-8 is taken, other 8-bit text is guessed (and reported). */
export function decodeHeaderBytes(raw: Buffer, warn?: (w: string) => void): string {
  const latin1 = raw.toString('latin1');
  if (!HIGH_BYTE.test(latin1)) return latin1;
  const d = decodeUnlabelled(raw);
  if (d.warning && warn) warn(d.warning);
  return d.text;
}

const HIGH_BYTE = /[\x80-\xff]/;

/** Unfold: remove each line break that is followed by whitespace (RFC 5322 section 2.2.3). */
export function unfold(value: string): string {
  if (value.indexOf('\n') < 0 && value.indexOf('\r') < 0) return value;
  return value.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]+/g, '');
}

/**
 * Build a HeaderField from the raw bytes of one field (name, colon, value, continuation lines).
 * Returns null when the bytes hold no colon.
 */
export function parseHeaderField(raw: Buffer, warn?: (w: string) => void): HeaderField | null {
  const colon = raw.indexOf(0x3a);
  if (colon <= 0) return null;
  const name = raw.toString('latin1', 0, colon).trim();
  if (name === '' || /\s/.test(name)) return null;
  const latin1 = raw.toString('latin1', colon + 1);
  const rawValue = unfold(latin1).trim();
  let text = rawValue;
  if (HIGH_BYTE.test(latin1)) text = unfold(decodeHeaderBytes(raw.subarray(colon + 1), warn)).trim();
  const value = decodeEncodedWords(text, warn);
  return { name, value, rawValue, raw };
}

/** First field with this name (case-insensitive). */
export function getHeader(headers: readonly HeaderField[], name: string): HeaderField | undefined {
  const lower = name.toLowerCase();
  for (const h of headers) if (h.name.toLowerCase() === lower) return h;
  return undefined;
}

export function getHeaders(headers: readonly HeaderField[], name: string): HeaderField[] {
  const lower = name.toLowerCase();
  return headers.filter((h) => h.name.toLowerCase() === lower);
}

/** Text of a header value as a UTF-8 aware string: 8-bit decoded but encoded words kept (for structured fields). */
export function structuredText(h: HeaderField, warn?: (w: string) => void): string {
  if (!HIGH_BYTE.test(h.rawValue)) return h.rawValue;
  const colon = h.raw.indexOf(0x3a);
  return unfold(decodeHeaderBytes(h.raw.subarray(colon + 1), warn)).trim();
}

/** Reject CR, LF and NUL in caller-supplied header text (header injection, RFC 5322 section 2.2). */
export function assertHeaderSafe(value: string, what: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new MimeError('HEADER_INJECTION', `${what} contains CR, LF or NUL; refusing to write it into a header`);
  }
}

const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

export function assertHeaderName(name: string): void {
  if (!HEADER_NAME.test(name)) throw new MimeError('HEADER_INJECTION', `invalid header name ${JSON.stringify(name)}`);
}

/**
 * Fold "Name: value" to lines of at most `lineLength` (78) characters where whitespace allows, breaking before
 * whitespace. Returns the field with CRLF line breaks and a final CRLF. Never produces a line over 998 characters
 * unless a single word is longer (callers encode such values).
 */
export function foldHeader(name: string, value: string, lineLength = 78): string {
  const line = `${name}: ${value}`;
  if (line.length <= lineLength) return line + '\r\n';
  const words = line.split(/(?=[ \t])/);
  let out = '';
  let current = '';
  for (const w of words) {
    if (current.length > 0 && current.length + w.length > lineLength && current.trim() !== '') {
      out += current + '\r\n';
      current = w;
    } else current += w;
  }
  out += current + '\r\n';
  return out;
}
