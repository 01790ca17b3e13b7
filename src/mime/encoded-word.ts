/**
 * RFC 2047 encoded words: decoding (B and Q, any charset, RFC 2231 language suffix, adjacent words joined so that a
 * multi-byte character split across two words decodes right, malformed words left as text) and encoding (shortest of
 * Q and B, split on character boundaries, UTF-8 or a legacy charset).
 */
import { charsetLabel, decodeCharset, encodeCharset } from './charset.js';
import { decodeBase64 } from './base64.js';

const ENCODED_WORD = /=\?([^?\s]{1,75})\?([BbQq])\?([^?\s]*)\?=/g;

interface Segment {
  kind: 'text' | 'word';
  text: string;
  charset: string;
  encoding: 'B' | 'Q';
}

function decodeQ(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out[o++] = 0x20;
    else if (c === 0x3d && i + 2 < text.length && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[o++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[o++] = c & 0xff;
  }
  return out.subarray(0, o);
}

/** Decode all encoded words in a header text. `onWarning` receives unknown-charset notes. */
export function decodeEncodedWords(input: string, onWarning?: (w: string) => void): string {
  if (input.indexOf('=?') < 0) return input;
  const segments: Segment[] = [];
  let last = 0;
  ENCODED_WORD.lastIndex = 0;
  for (let m = ENCODED_WORD.exec(input); m; m = ENCODED_WORD.exec(input)) {
    if (m.index > last) segments.push({ kind: 'text', text: input.slice(last, m.index), charset: '', encoding: 'Q' });
    segments.push({ kind: 'word', text: m[3], charset: m[1].split('*')[0].toLowerCase(), encoding: m[2].toUpperCase() as 'B' | 'Q' });
    last = m.index + m[0].length;
  }
  if (last < input.length) segments.push({ kind: 'text', text: input.slice(last), charset: '', encoding: 'Q' });
  let out = '';
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s.kind === 'text') {
      // linear white space between two encoded words is dropped (RFC 2047 section 6.2)
      const prev = segments[i - 1];
      const next = segments[i + 1];
      if (prev?.kind === 'word' && next?.kind === 'word' && /^[ \t\r\n]*$/.test(s.text)) continue;
      out += s.text;
      continue;
    }
    // join a run of adjacent words in the same charset at byte level (a character may be split between them)
    let j = i;
    const run: Segment[] = [s];
    while (j + 1 < segments.length) {
      let k = j + 1;
      if (segments[k]?.kind === 'text' && /^[ \t\r\n]*$/.test(segments[k].text)) k++;
      const n = segments[k];
      if (!n || n.kind !== 'word' || n.charset !== s.charset) break;
      run.push(n);
      j = k;
    }
    i = j;
    const bytes: Buffer[] = [];
    let b64Pending = '';
    for (const w of run) {
      if (w.encoding === 'Q') {
        if (b64Pending) bytes.push(decodeBase64(Buffer.from(b64Pending, 'latin1')));
        b64Pending = '';
        bytes.push(decodeQ(w.text));
      } else {
        // QUIRK: some encoders split base64 mid-quantum across words (no padding, length not a multiple of 4);
        // join those before decoding. Padded or whole words decode on their own.
        b64Pending += w.text;
        if (b64Pending.length % 4 === 0 || b64Pending.endsWith('=')) {
          bytes.push(decodeBase64(Buffer.from(b64Pending, 'latin1')));
          b64Pending = '';
        }
      }
    }
    if (b64Pending) bytes.push(decodeBase64(Buffer.from(b64Pending, 'latin1')));
    // stateful encodings return to ASCII at the end of each word (RFC 2047 section 5); decoding them joined would
    // put two escape sequences back to back, which WHATWG decoders reject
    const stateful = /^(iso-2022|utf-7|csiso2022)/.test(s.charset);
    for (const piece of stateful ? bytes : [Buffer.concat(bytes)]) {
      const decoded = decodeCharset(piece, s.charset);
      if (decoded.warning && onWarning) onWarning(decoded.warning);
      out += decoded.text;
    }
  }
  return out;
}

// Q-encoding safe everywhere, including phrases (RFC 2047 section 5 rule 3)
const Q_SAFE = /[A-Za-z0-9!*+\-/]/;

function qLength(bytes: Buffer): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    n += c === 0x20 || (c < 128 && Q_SAFE.test(String.fromCharCode(c))) ? 1 : 3;
  }
  return n;
}

function qEncode(bytes: Buffer): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x20) s += '_';
    else if (c < 128 && Q_SAFE.test(String.fromCharCode(c))) s += String.fromCharCode(c);
    else s += '=' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
  }
  return s;
}

/** Split text into pieces whose encoded form fits one word, never inside a character. */
function splitForWords(text: string, charset: string, mode: 'B' | 'Q', room: number): Buffer[] {
  const pieces: Buffer[] = [];
  let current = '';
  let currentBytes: Buffer = Buffer.alloc(0);
  for (const ch of text) {
    const candidate = current + ch;
    const bytes = encodeCharset(candidate, charset);
    const len = mode === 'B' ? Math.ceil(bytes.length / 3) * 4 : qLength(bytes);
    if (len > room && current !== '') {
      pieces.push(currentBytes);
      current = ch;
      currentBytes = encodeCharset(ch, charset);
    } else {
      current = candidate;
      currentBytes = bytes;
    }
  }
  if (current !== '') pieces.push(currentBytes);
  return pieces;
}

/** Encode text as one or more encoded words separated by a space, choosing the shorter of B and Q. */
export function encodeWords(text: string, charset = 'utf-8'): string {
  const label = charsetLabel(charset);
  const room = 75 - (label.length + 7);
  const q = splitForWords(text, charset, 'Q', room).map((b) => `=?${label}?Q?${qEncode(b)}?=`);
  const b = splitForWords(text, charset, 'B', room).map((b) => `=?${label}?B?${b.toString('base64')}?=`);
  const qLen = q.reduce((n, w) => n + w.length + 1, 0);
  const bLen = b.reduce((n, w) => n + w.length + 1, 0);
  return (qLen <= bLen ? q : b).join(' ');
}

/** Longest plain word kept as is: a longer one could not be folded under the 998-character line limit. */
const MAX_PLAIN_WORD = 900;

function needsEncoding(word: string): boolean {
  return /[^\x20-\x7e\t]/.test(word) || word.includes('=?') || word.length > MAX_PLAIN_WORD;
}

/**
 * Encode an unstructured header value (Subject, custom headers): ASCII words stay readable, each run of words that
 * need encoding becomes encoded words. Whitespace between an encoded run and plain text is kept.
 */
export function encodeHeaderText(value: string, charset = 'utf-8'): string {
  if (!needsEncoding(value)) return value;
  const tokens = value.split(/([ \t]+)/);
  let out = '';
  let run = '';
  const flush = (): void => {
    if (run) out += encodeWords(run, charset);
    run = '';
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (i % 2 === 1) {
      // whitespace: stays inside a run when the next word also needs encoding
      if (run && i + 1 < tokens.length && needsEncoding(tokens[i + 1])) run += t;
      else {
        flush();
        out += t;
      }
    } else if (needsEncoding(t)) run += t;
    else {
      flush();
      out += t;
    }
  }
  flush();
  return out;
}

/** Encode a display name for an address header: plain atoms, a quoted string, or encoded words. */
export function encodeDisplayName(name: string, charset = 'utf-8'): string {
  if (needsEncoding(name)) return encodeWords(name, charset);
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$/.test(name)) return name;
  return '"' + name.replace(/(["\\])/g, '\\$1') + '"';
}
