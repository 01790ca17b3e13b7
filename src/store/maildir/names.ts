/**
 * Names on disk: how a mailbox name maps to a directory, and how message file names are made and read.
 *
 * Mailbox "local@domain" lives in <root>/<enc(domain lower-cased)>/<enc(local)>. enc() keeps the characters
 * [A-Za-z0-9!#$&'*+=^_`{|}~.-] (a leading "." excepted), writes every other byte of the UTF-8 form as %XX, and the empty
 * string as "%". The result never contains "/", never starts with "." (so it is never "." or "..", and never collides with
 * the store's own ".tmp"), and distinct inputs give distinct names. A component longer than 200 characters is cut to 150
 * and suffixed with "%%" and a hash of the whole. A name without "@" goes under the
 * domain directory "%local", which no domain encodes to.
 *
 * Message files follow the Maildir convention, Dovecot flavoured:
 *   <secs>.M<usecs>P<pid>Q<seq>R<random>.<host>,S=<file size>,W=<size with CRLF line ends>[:2,<flags>]
 * The POP3 UID is the part before ":" with the ",S=" and ",W=" fields removed, so it stays the same when a file moves
 * from new/ to cur/, gets flags, or has its sizes added to the name. A UID that would not be 1-70 printable ASCII
 * characters (foreign files) is replaced by "h" and a hash of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';

const SAFE = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&'*+=^_`{|}~.-") SAFE[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';
const MAX_COMPONENT = 200;

/** Encode one path component (see the module comment). */
export function encodeComponent(value: string): string {
  if (value === '') return '%';
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 128 && SAFE[b] === 1 && !(i === 0 && b === 0x2e)) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  if (out.length > MAX_COMPONENT) out = out.slice(0, 150) + '%%' + createHash('sha256').update(value).digest('hex').slice(0, 32);
  return out;
}

/** Directory for names without "@"; encodeComponent() never makes it ("%" is always followed by hex digits or "%"). */
const NO_DOMAIN = '%local';

/** The directory of a mailbox, relative to the store root: [domain, local]. */
export function mailboxComponents(mailbox: string): [string, string] {
  const at = mailbox.lastIndexOf('@');
  if (at < 0) return [NO_DOMAIN, encodeComponent(mailbox)];
  return [encodeComponent(mailbox.slice(at + 1).toLowerCase()), encodeComponent(mailbox.slice(0, at))];
}

export function mailboxDir(root: string, mailbox: string): string {
  const [domain, local] = mailboxComponents(mailbox);
  return join(root, domain, local);
}

/** Printable ASCII without space, as POP3 UIDL requires (RFC 1939 section 7). */
const UID_RE = /^[\x21-\x7e]{1,70}$/;

export interface ParsedName {
  /** The file name as found. */
  name: string;
  uid: string;
  /** S= (physical size) if present. */
  size?: number;
  /** W= (size with CRLF line ends) if present. */
  vsize?: number;
  /** Sort keys: seconds and microseconds of the leading timestamp (Infinity when absent). */
  secs: number;
  usecs: number;
}

const DIGITS = /^\d+$/;

function leadingNumber(s: string, from: number): [number, number] {
  let i = from;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  return [i === from ? NaN : Number(s.slice(from, i)), i];
}

/** Digits of `s` in [from, to) as a number, or -1 unless that is 1-15 decimal digits. */
function digitsAt(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * The usual name, `<unique>,S=<digits>,W=<digits>[:<info>]` with a unique part of 1-70 printable characters and no
 * comma (what Posthorn and Dovecot write), parsed without allocating more than the UID; null for anything else.
 * Gives exactly what the general parser gives for such a name (a maildrop lists every file this way on login).
 */
function parseUsualName(name: string): ParsedName | null {
  const comma = name.indexOf(',');
  if (comma < 1 || comma > 70 || name.charCodeAt(comma + 1) !== 0x53 || name.charCodeAt(comma + 2) !== 0x3d) return null; // ",S="
  const wAt = name.indexOf(',', comma + 3);
  if (wAt < 0 || name.charCodeAt(wAt + 1) !== 0x57 || name.charCodeAt(wAt + 2) !== 0x3d) return null; // ",W="
  const colon = name.indexOf(':', wAt + 3);
  const end = colon < 0 ? name.length : colon;
  const extra = name.indexOf(',', wAt + 3);
  if (extra >= 0 && extra < end) return null;
  if (name.lastIndexOf(':', comma) >= 0) return null; // a colon before the fields: the base ends there
  const size = digitsAt(name, comma + 3, wAt);
  const vsize = digitsAt(name, wAt + 3, end);
  if (size < 0 || vsize < 0) return null;
  let secDigits = 0; // leading digits: the seconds of the timestamp
  for (let i = 0; i < comma; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return null;
    if (c >= 48 && c <= 57 && secDigits === i) secDigits++;
  }
  // Sort keys as leadingNumber() computes them (NaN -> Infinity for the seconds, 0 for missing microseconds).
  let usecs = 0;
  if (secDigits > 0 && name.charCodeAt(secDigits) === 0x2e && name.charCodeAt(secDigits + 1) === 0x4d) {
    let j = secDigits + 2;
    while (j < comma && name.charCodeAt(j) >= 48 && name.charCodeAt(j) <= 57) j++;
    if (j > secDigits + 2) usecs = Number(name.slice(secDigits + 2, j));
  }
  return {
    name,
    uid: name.slice(0, comma),
    size,
    vsize,
    secs: secDigits > 0 ? Number(name.slice(0, secDigits)) : Infinity,
    usecs,
  };
}

export function parseMessageName(name: string): ParsedName {
  return parseUsualName(name) ?? parseAnyName(name);
}

/** The general parser, for every name (exported for the test that checks the fast path against it). */
export function parseAnyName(name: string): ParsedName {
  const colon = name.indexOf(':');
  const base = colon < 0 ? name : name.slice(0, colon);
  let size: number | undefined;
  let vsize: number | undefined;
  let uid = base;
  const comma = base.indexOf(',');
  if (comma >= 0) {
    // Extra fields after the unique part: keep all but S= and W= in the UID.
    const fields = base.slice(comma + 1).split(',');
    uid = base.slice(0, comma);
    for (const f of fields) {
      const v = f.slice(2);
      if (f.startsWith('S=') && DIGITS.test(v)) size = Number(v);
      else if (f.startsWith('W=') && DIGITS.test(v)) vsize = Number(v);
      else uid += ',' + f;
    }
  }
  if (!UID_RE.test(uid)) uid = 'h' + createHash('sha256').update(uid).digest('base64url').slice(0, 40);
  const [secs, end] = leadingNumber(base, 0);
  let usecs = 0;
  if (!Number.isNaN(secs) && base.startsWith('.M', end)) {
    const [u] = leadingNumber(base, end + 2);
    if (!Number.isNaN(u)) usecs = u;
  }
  return { name, uid, size, vsize, secs: Number.isNaN(secs) ? Infinity : secs, usecs };
}

/** Oldest first: by timestamp, then by name. */
export function compareNames(a: ParsedName, b: ParsedName): number {
  if (a.secs !== b.secs) return a.secs < b.secs ? -1 : 1;
  if (a.usecs !== b.usecs) return a.usecs - b.usecs;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The name of a file with its sizes added (for foreign files that lacked them). Keeps any ":2,flags" part. */
export function withSizes(name: string, size: number, vsize: number): string {
  const colon = name.indexOf(':');
  const base = colon < 0 ? name : name.slice(0, colon);
  const [unique, ...fields] = base.split(',');
  const kept = fields.filter((f) => !((f.startsWith('S=') || f.startsWith('W=')) && DIGITS.test(f.slice(2))));
  return [unique, ...kept, `S=${size}`, `W=${vsize}`].join(',') + (colon < 0 ? '' : name.slice(colon));
}

/** Makes unique, never reused, time-ordered message names for this process. */
export class NameMaker {
  private lastMicros = 0;
  private seq = 0;
  private readonly host: string;

  constructor(hostname: string) {
    // Maildir convention: "/" and ":" in the host part are written as octal escapes; "," too (Dovecot), and anything
    // that is not printable ASCII becomes "_" so the name is a valid UID.
    this.host = hostname.replace(/[^\x21-\x7e]/g, '_').replace(/\//g, '\\057').replace(/:/g, '\\072').replace(/,/g, '\\054') || 'localhost';
  }

  /** A new base name (also the UID), at most 70 characters. */
  next(): string {
    let micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    if (micros <= this.lastMicros) micros = this.lastMicros + 1;
    this.lastMicros = micros;
    const secs = Math.floor(micros / 1e6);
    const usecs = String(micros % 1e6).padStart(6, '0');
    const prefix = `${secs}.M${usecs}P${process.pid}Q${(++this.seq).toString(36)}R${this.random()}`;
    return `${prefix}.${this.host.slice(0, Math.max(1, 69 - prefix.length))}`;
  }

  private pool = Buffer.alloc(0);
  private poolAt = 0;

  /** 8 random hex digits, from a pool refilled 4 KiB at a time (one randomBytes() call per name costs more). */
  private random(): string {
    if (this.poolAt + 4 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.poolAt = 0;
    }
    this.poolAt += 4;
    return this.pool.toString('hex', this.poolAt - 4, this.poolAt);
  }

  fileName(base: string, size: number, vsize: number): string {
    return `${base},S=${size},W=${vsize}`;
  }
}
