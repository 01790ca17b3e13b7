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

const SIZE_FIELD = /,([SW])=(\d+)/g;

export function parseMessageName(name: string): ParsedName {
  const colon = name.indexOf(':');
  const base = colon < 0 ? name : name.slice(0, colon);
  let size: number | undefined;
  let vsize: number | undefined;
  for (const m of base.matchAll(SIZE_FIELD)) {
    if (m[1] === 'S') size = Number(m[2]);
    else vsize = Number(m[2]);
  }
  let uid = base.replace(SIZE_FIELD, '');
  if (!UID_RE.test(uid)) uid = 'h' + createHash('sha256').update(uid).digest('base64url').slice(0, 40);
  const t = /^(\d+)(?:\.M(\d+))?/.exec(base);
  return {
    name,
    uid,
    size,
    vsize,
    secs: t ? Number(t[1]) : Infinity,
    usecs: t && t[2] !== undefined ? Number(t[2]) : 0,
  };
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
  const base = (colon < 0 ? name : name.slice(0, colon)).replace(SIZE_FIELD, '');
  return `${base},S=${size},W=${vsize}${colon < 0 ? '' : name.slice(colon)}`;
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
    const prefix = `${secs}.M${usecs}P${process.pid}Q${(++this.seq).toString(36)}R${randomBytes(4).toString('hex')}`;
    return `${prefix}.${this.host.slice(0, Math.max(1, 69 - prefix.length))}`;
  }

  fileName(base: string, size: number, vsize: number): string {
    return `${base},S=${size},W=${vsize}`;
  }
}
