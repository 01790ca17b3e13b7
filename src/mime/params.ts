/**
 * Structured header values with parameters: Content-Type and Content-Disposition (RFC 2045 section 5.1, RFC 2183),
 * with RFC 2231 continuations, charsets and languages, quoted strings, unencoded UTF-8 and (QUIRK, not in any RFC
 * but sent by many mailers) encoded words inside quoted parameter values.
 * Parameters live in a null-prototype object, so hostile names like `__proto__` are plain keys.
 */
import { decodeCharset } from './charset.js';
import { decodeEncodedWords, encodeWords } from './encoded-word.js';

export interface ParamValue {
  /** Lower-cased main value, e.g. "text/plain" or "attachment". */
  value: string;
  params: Record<string, string>;
}

const MAX_PARAMS = 100;
const MAX_SECTIONS = 1000;

function splitParams(input: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (quoted) {
      if (c === '\\' && i + 1 < input.length) {
        current += c + input[++i];
        continue;
      }
      if (c === '"') quoted = false;
      current += c;
    } else if (c === '"') {
      quoted = true;
      current += c;
    } else if (c === ';') {
      parts.push(current);
      current = '';
      if (parts.length > MAX_PARAMS) break;
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/** Value of a parameter: a quoted string (anything after its closing quote, e.g. a comment, is dropped) or a token. */
function unquote(v: string): string {
  // RFC 822 comments before the value: boundary=(comment)"hal-9000"
  let t = v.trim();
  while (t.startsWith('(')) {
    const close = t.indexOf(')');
    if (close < 0) break;
    t = t.slice(close + 1).trimStart();
  }
  if (t.startsWith('"')) {
    let out = '';
    for (let i = 1; i < t.length; i++) {
      const c = t[i];
      if (c === '\\' && i + 1 < t.length) out += t[++i];
      else if (c === '"') break;
      else out += c;
    }
    return out;
  }
  // a trailing comment: token (comment). Found with index searches, not a regular expression (no backtracking)
  if (t.endsWith(')')) {
    const open = t.lastIndexOf('(');
    if (open > 0 && t.indexOf(')', open) === t.length - 1) return t.slice(0, open).trimEnd();
  }
  return t;
}

function percentDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else for (const b of Buffer.from(s[i], 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}

interface Section {
  index: number;
  encoded: boolean;
  value: string;
}

/** Parse `type/subtype; name=value; ...`. Always returns something usable. */
export function parseParamValue(input: string, warn?: (w: string) => void): ParamValue {
  const pieces = splitParams(input);
  const value = (pieces.shift() ?? '').replace(/\([^()]*\)/g, '').trim().toLowerCase();
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const continued = new Map<string, Section[]>();
  for (const piece of pieces) {
    const eq = piece.indexOf('=');
    if (eq <= 0) continue;
    const rawName = piece.slice(0, eq).trim().toLowerCase();
    const rawValue = piece.slice(eq + 1);
    const m = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(rawName);
    if (!m) continue;
    const name = m[1];
    if (m[2] === undefined && !m[3]) {
      if (!(name in params)) params[name] = decodeEncodedWords(unquote(rawValue), warn);
      continue;
    }
    let list = continued.get(name);
    if (!list) continued.set(name, (list = []));
    if (list.length < MAX_SECTIONS) list.push({ index: m[2] === undefined ? 0 : Number(m[2]), encoded: !!m[3], value: unquote(rawValue) });
  }
  for (const [name, sections] of continued) {
    sections.sort((a, b) => a.index - b.index);
    let charset = '';
    const bytes: Buffer[] = [];
    sections.forEach((s, i) => {
      let v = s.value;
      if (s.encoded && i === 0) {
        const m = /^([^']*)'([^']*)'(.*)$/s.exec(v);
        if (m) {
          charset = m[1];
          v = m[3];
        }
      }
      bytes.push(s.encoded ? percentDecode(v) : Buffer.from(v, 'utf8'));
    });
    const decoded = decodeCharset(Buffer.concat(bytes), charset || 'utf-8');
    if (decoded.warning && warn) warn(decoded.warning);
    params[name] = decoded.text; // RFC 2231 form wins over a plain one of the same name
  }
  return { value, params };
}

function needsQuoting(v: string): boolean {
  return v === '' || /[\s()<>@,;:\\"/[\]?=]/.test(v);
}

/**
 * Format one parameter for output: plain token, quoted string, or RFC 2231 `name*0*=utf-8''...` sections for
 * non-ASCII values (plus, for filename/name, an encoded-word copy for old readers when `legacyName` is set).
 */
export function formatParam(name: string, value: string): string[] {
  if (/^[\x20-\x7e]*$/.test(value)) {
    return [`${name}=${needsQuoting(value) ? '"' + value.replace(/(["\\])/g, '\\$1') + '"' : value}`];
  }
  const encoded = encodeURIComponent(value).replace(/['()*!]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const out: string[] = [];
  const prefix = "utf-8''";
  let rest = prefix + encoded;
  let i = 0;
  while (rest.length > 0) {
    let take = Math.min(rest.length, 60);
    // never split a %XX escape
    const pct = rest.lastIndexOf('%', take - 1);
    if (pct >= 0 && pct > take - 3) take = pct;
    out.push(`${name}*${i}*=${rest.slice(0, take)}`);
    rest = rest.slice(take);
    i++;
  }
  if (out.length === 1) out[0] = `${name}*=${prefix}${encoded}`;
  return out;
}

/** Encoded-word form of a non-ASCII value (legacy `name=` for Content-Type, read by old clients). */
export function legacyEncodedParam(name: string, value: string, charset = 'utf-8'): string {
  return `${name}="${encodeWords(value, charset)}"`;
}
