/**
 * composeMail: nodemailer-style options in, RFC 5322/2045 message out. Output is 7-bit clean (UTF-8 or a legacy
 * charset inside encoded words, quoted-printable or base64), header lines are folded at 78 characters, body lines
 * never exceed 76. Bcc is envelope-only and never written. Caller text with CR, LF or NUL in any header is rejected.
 *
 * Structure (as the common mailers build it): mixed( alternative( text, related( html, inline... ) ), attachments... ),
 * with each layer left out when it would hold a single part.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import { canEncodeCharset, charsetLabel, encodeCharset } from './charset.js';
import { encodeDisplayName, encodeHeaderText } from './encoded-word.js';
import { MimeError } from './errors.js';
import { assertHeaderName, assertHeaderSafe, foldHeader } from './header.js';
import { parseAddressList, type Mailbox } from './address.js';
import { formatMailDate } from './date.js';
import { formatParam } from './params.js';
import { encodeBase64Lines } from './base64.js';
import { encodeQuotedPrintable } from './qp.js';
import { contentTypeForFilename } from './mime-types.js';

export type AddressInput = string | { name?: string; address: string };
export type AddressListInput = AddressInput | AddressInput[];

export interface AttachmentInput {
  filename?: string;
  /** Bytes, text (UTF-8), or a stream (read once, while the message is written). */
  content: string | Buffer | Uint8Array | Readable;
  contentType?: string;
  /** Content-ID (without angle brackets): makes the attachment inline, referenced from HTML as cid:... */
  cid?: string;
  contentDisposition?: 'attachment' | 'inline';
}

export interface ComposeOptions {
  from?: AddressInput;
  sender?: AddressInput;
  to?: AddressListInput;
  cc?: AddressListInput;
  /** Envelope only: never written into the message. See envelopeFromOptions. */
  bcc?: AddressListInput;
  replyTo?: AddressListInput;
  subject?: string;
  text?: string | Buffer;
  html?: string | Buffer;
  /** Extra headers, in order. Values are encoded when not ASCII. */
  headers?: Record<string, string | string[]> | Array<{ name: string; value: string }>;
  attachments?: AttachmentInput[];
  /** Charset for the subject, names and text bodies (default utf-8); e.g. gb2312, big5, iso-2022-jp, shift_jis. */
  charset?: string;
  date?: Date;
  messageId?: string;
  inReplyTo?: string;
  references?: string | string[];
  /** Makes boundaries and the Message-ID deterministic (tests). Give `date` too for byte-identical output. */
  seed?: string;
  /** Domain used in generated Message-IDs (default "posthorn.localhost"). */
  hostname?: string;
  /**
   * Build a multipart/report (RFC 6522) instead of multipart/mixed: the text (and html) first, then the attachments,
   * e.g. message/delivery-status and message/rfc822 or text/rfc822-headers for a DSN (RFC 3464).
   */
  report?: 'delivery-status' | 'disposition-notification';
}

export interface Envelope {
  from: string;
  to: string[];
}

interface Leaf {
  kind: 'leaf';
  headers: Array<[string, string]>;
  body: Buffer | Readable;
  /** Transfer encoding to apply to a streamed body. */
  streamEncoding?: 'base64';
}
interface Multi {
  kind: 'multi';
  headers: Array<[string, string]>;
  boundary: string;
  children: Node[];
}
type Node = Leaf | Multi;

const FORBIDDEN_CUSTOM = new Set(['bcc', 'content-type', 'content-transfer-encoding', 'mime-version']);

function toList(v: AddressListInput | undefined): AddressInput[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function normalizeMailboxes(v: AddressListInput | undefined, field: string): Mailbox[] {
  const out: Mailbox[] = [];
  for (const item of toList(v)) {
    if (typeof item === 'string') {
      assertHeaderSafe(item, field);
      const parsed = parseAddressList(item);
      if (parsed.length === 0 && item.trim() !== '') throw new MimeError('INVALID_ADDRESS', `${field}: no address in ${JSON.stringify(item)}`);
      for (const m of parsed) out.push(checkMailbox(m, field));
    } else if (item && typeof item === 'object' && typeof item.address === 'string') {
      assertHeaderSafe(item.address, field);
      if (item.name !== undefined) assertHeaderSafe(item.name, field);
      out.push(checkMailbox({ name: item.name ?? '', address: item.address.trim() }, field));
    } else throw new MimeError('INVALID_ADDRESS', `${field}: expected a string or { name, address }`);
  }
  return out;
}

function checkMailbox(m: Mailbox, field: string): Mailbox {
  const at = m.address.lastIndexOf('@');
  if (at <= 0 || at === m.address.length - 1 || /[\s<>(),;]/.test(m.address)) {
    throw new MimeError('INVALID_ADDRESS', `${field}: invalid address ${JSON.stringify(m.address)}`);
  }
  return { name: m.name, address: m.address };
}

/** addr-spec for a header: IDN domains in ASCII form when the local part is ASCII (else RFC 6532 UTF-8). */
function formatAddrSpec(address: string): string {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (/^[\x20-\x7e]*$/.test(address)) return address;
  if (/^[\x20-\x7e]*$/.test(local)) {
    const ascii = domainToASCII(domain);
    if (ascii) return `${local}@${ascii}`;
  }
  return address;
}

export function formatMailbox(m: Mailbox, charset = 'utf-8'): string {
  const spec = formatAddrSpec(m.address);
  return m.name ? `${encodeDisplayName(m.name, charset)} <${spec}>` : spec;
}

function addressHeader(list: Mailbox[], charset: string): string {
  return list.map((m) => formatMailbox(m, charset)).join(', ');
}

/** Envelope sender and recipients (to + cc + bcc, duplicates removed) from compose options. */
export function envelopeFromOptions(options: ComposeOptions): Envelope {
  const sender = normalizeMailboxes(options.sender, 'sender')[0] ?? normalizeMailboxes(options.from, 'from')[0];
  const seen = new Set<string>();
  const to: string[] = [];
  for (const [field, v] of [['to', options.to], ['cc', options.cc], ['bcc', options.bcc]] as const) {
    for (const m of normalizeMailboxes(v, field)) {
      const key = m.address.toLowerCase();
      if (!seen.has(key)) {
        seen.add(key);
        to.push(m.address);
      }
    }
  }
  return { from: sender?.address ?? '', to };
}

class Ids {
  private n = 0;
  constructor(private readonly seed: string | undefined) {}
  next(label: string): string {
    this.n++;
    if (this.seed === undefined) return randomBytes(12).toString('hex');
    return createHash('sha256').update(`${this.seed}\0${label}\0${this.n}`).digest('hex').slice(0, 24);
  }
}

function normalizeNewlines(s: string): string {
  if (s.indexOf('\r') < 0) return s.replaceAll('\n', '\r\n');
  return s.replace(/\r\n|\r|\n/g, '\r\n');
}

/** More than a third of the first 4 KiB are 8-bit bytes: base64 will be shorter than quoted-printable. */
function mostlyHigh(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, 4096);
  let high = 0;
  for (let i = 0; i < n; i++) if (bytes[i] >= 0x80) high++;
  return high * 3 > n;
}

function textLeaf(content: string | Buffer, subtype: 'plain' | 'html', charset: string): Leaf {
  const text = typeof content === 'string' ? content : content.toString('utf8');
  const bytes = encodeCharset(normalizeNewlines(text), charset);
  // statistics with native scans: any 8-bit byte, NUL, longest line
  const hasHigh = /[\x80-\xff]/.test(bytes.toString('latin1', 0, Math.min(bytes.length, 1 << 20))) || (bytes.length > 1 << 20 && /[\x80-\xff]/.test(bytes.toString('latin1')));
  let longest = 0;
  for (let start = 0; start <= bytes.length; ) {
    const nl = bytes.indexOf(10, start);
    const end = nl < 0 ? bytes.length : nl;
    if (end - start > longest) longest = end - start;
    if (longest > 78 || nl < 0) break;
    start = nl + 1;
  }
  let encoding: string;
  let body: Buffer;
  const base64Size = Math.ceil(bytes.length / 3) * 4 * (78 / 76);
  if (!hasHigh && longest <= 78 && bytes.indexOf(0) < 0) {
    encoding = '7bit';
    body = bytes;
  } else if (hasHigh && mostlyHigh(bytes)) {
    encoding = 'base64';
    body = encodeBase64Lines(bytes);
  } else {
    // quoted-printable unless it comes out longer than base64 would
    body = encodeQuotedPrintable(bytes);
    encoding = 'quoted-printable';
    if (body.length > base64Size) {
      encoding = 'base64';
      body = encodeBase64Lines(bytes);
    }
  }
  return {
    kind: 'leaf',
    headers: [['Content-Type', `text/${subtype}; charset=${charsetLabel(charset)}`], ['Content-Transfer-Encoding', encoding]],
    body,
  };
}

function isReadable(v: unknown): v is Readable {
  return typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';
}

function attachmentLeaf(a: AttachmentInput, index: number): Leaf {
  if (!a || typeof a !== 'object' || a.content === undefined || a.content === null) {
    throw new MimeError('INVALID_OPTION', `attachments[${index}] needs content`);
  }
  if (a.filename !== undefined) assertHeaderSafe(a.filename, `attachments[${index}].filename`);
  if (a.contentType !== undefined) assertHeaderSafe(a.contentType, `attachments[${index}].contentType`);
  if (a.cid !== undefined) assertHeaderSafe(a.cid, `attachments[${index}].cid`);
  const type = (a.contentType ?? contentTypeForFilename(a.filename)).trim();
  if (!/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(type)) throw new MimeError('INVALID_OPTION', `attachments[${index}]: invalid contentType ${JSON.stringify(type)}`);
  const params = a.filename !== undefined && !type.includes(';') ? formatParam('name', a.filename) : [];
  const disposition = a.contentDisposition ?? (a.cid ? 'inline' : 'attachment');
  const dispParams = a.filename !== undefined ? formatParam('filename', a.filename) : [];
  const headers: Array<[string, string]> = [['Content-Type', [type, ...params].join('; ')]];
  const lowerType = type.toLowerCase();
  // message/* (RFC 2046 5.2.1: only 7bit, 8bit or binary) and text/rfc822-headers stay readable text
  const isMessage = lowerType.startsWith('message/') || lowerType.startsWith('text/rfc822-headers');
  let body: Buffer | Readable;
  let streamEncoding: 'base64' | undefined;
  if (isReadable(a.content)) {
    if (isMessage) throw new MimeError('INVALID_OPTION', `attachments[${index}]: ${type} content must be a Buffer or string`);
    headers.push(['Content-Transfer-Encoding', 'base64']);
    body = a.content;
    streamEncoding = 'base64';
  } else {
    const raw = typeof a.content === 'string' ? Buffer.from(a.content, 'utf8') : Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
    if (isMessage) {
      // RFC 2046 5.2.1: message/rfc822 only in 7bit, 8bit or binary; lines normalised to CRLF
      const text = normalizeNewlines(raw.toString('latin1'));
      headers.push(['Content-Transfer-Encoding', /[\x80-\xff]/.test(text) ? '8bit' : '7bit']);
      body = Buffer.from(text.endsWith('\r\n') ? text : text + '\r\n', 'latin1');
    } else {
      headers.push(['Content-Transfer-Encoding', 'base64']);
      body = encodeBase64Lines(raw);
    }
  }
  if (!(isMessage && a.filename === undefined && a.contentDisposition === undefined)) {
    headers.push(['Content-Disposition', [disposition, ...dispParams].join('; ')]);
  }
  if (a.cid) headers.push(['Content-ID', `<${a.cid.replace(/^<|>$/g, '')}>`]);
  return { kind: 'leaf', headers, body, streamEncoding };
}

function multi(subtype: string, children: Node[], ids: Ids, extra = '', always = false): Node {
  if (children.length === 1 && !always) return children[0];
  const boundary = `----=_Part_${ids.next('boundary')}`;
  return { kind: 'multi', headers: [['Content-Type', `multipart/${subtype}; ${extra}boundary="${boundary}"`]], boundary, children };
}

function customHeaders(h: ComposeOptions['headers']): Array<{ name: string; value: string }> {
  if (!h) return [];
  const out: Array<{ name: string; value: string }> = [];
  const list = Array.isArray(h) ? h : Object.entries(h).flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map((value) => ({ name, value })));
  for (const { name, value } of list) {
    assertHeaderName(name);
    if (typeof value !== 'string') throw new MimeError('INVALID_OPTION', `header ${name}: value must be a string`);
    assertHeaderSafe(value, `header ${name}`);
    if (FORBIDDEN_CUSTOM.has(name.toLowerCase())) throw new MimeError('INVALID_OPTION', `header ${name} cannot be set through headers`);
    out.push({ name, value });
  }
  return out;
}

function buildTree(options: ComposeOptions, ids: Ids): { root: Node; top: Array<[string, string]> } {
  if (!options || typeof options !== 'object') throw new MimeError('INVALID_OPTION', 'composeMail needs an options object');
  const charset = options.charset ?? 'utf-8';
  if (!canEncodeCharset(charset)) throw new MimeError('UNSUPPORTED_CHARSET', `cannot encode in charset ${JSON.stringify(charset)}`);
  assertHeaderSafe(charset, 'charset');
  const top: Array<[string, string]> = [];
  const from = normalizeMailboxes(options.from, 'from');
  const sender = normalizeMailboxes(options.sender, 'sender');
  const to = normalizeMailboxes(options.to, 'to');
  const cc = normalizeMailboxes(options.cc, 'cc');
  normalizeMailboxes(options.bcc, 'bcc'); // validated, never written
  const replyTo = normalizeMailboxes(options.replyTo, 'replyTo');
  const custom = customHeaders(options.headers);
  const has = (n: string): boolean => custom.some((c) => c.name.toLowerCase() === n);
  if (!has('date')) top.push(['Date', formatMailDate(options.date ?? new Date())]);
  if (from.length) top.push(['From', addressHeader(from, charset)]);
  if (sender.length) top.push(['Sender', addressHeader(sender, charset)]);
  if (to.length) top.push(['To', addressHeader(to, charset)]);
  if (cc.length) top.push(['Cc', addressHeader(cc, charset)]);
  if (replyTo.length) top.push(['Reply-To', addressHeader(replyTo, charset)]);
  if (options.subject !== undefined) {
    assertHeaderSafe(options.subject, 'subject');
    top.push(['Subject', encodeHeaderText(options.subject, charset)]);
  }
  if (!has('message-id')) {
    if (options.messageId !== undefined) assertHeaderSafe(options.messageId, 'messageId');
    const host = options.hostname ?? 'posthorn.localhost';
    assertHeaderSafe(host, 'hostname');
    const id = options.messageId ?? `<${ids.next('message-id')}@${host}>`;
    top.push(['Message-ID', id.startsWith('<') ? id : `<${id}>`]);
  }
  if (options.inReplyTo !== undefined) {
    assertHeaderSafe(options.inReplyTo, 'inReplyTo');
    top.push(['In-Reply-To', options.inReplyTo]);
  }
  if (options.references !== undefined) {
    const refs = Array.isArray(options.references) ? options.references : [options.references];
    refs.forEach((r) => assertHeaderSafe(r, 'references'));
    top.push(['References', refs.join(' ')]);
  }
  for (const c of custom) top.push([c.name, encodeHeaderText(c.value, charset)]);
  top.push(['MIME-Version', '1.0']);

  const attachments = (options.attachments ?? []).map(attachmentLeaf);
  const inline = attachments.filter((_, i) => options.attachments?.[i].cid && options.html !== undefined);
  const regular = attachments.filter((a) => !inline.includes(a));
  // a message that is one text part ends in a line break that is part of the text (no delimiter to carry it)
  const single = regular.length + inline.length === 0 && (options.text === undefined || options.html === undefined);
  const withEol = (v: string | Buffer): string | Buffer => {
    if (!single) return v;
    const str = typeof v === 'string' ? v : v.toString('utf8');
    return str === '' || str.endsWith('\n') ? str : str + '\n';
  };
  let htmlNode: Node | null = null;
  if (options.html !== undefined) htmlNode = multi('related', [textLeaf(withEol(options.html), 'html', charset), ...inline], ids);
  const textNode = options.text !== undefined ? textLeaf(withEol(options.text), 'plain', charset) : null;
  const bodyParts: Node[] = [];
  if (textNode) bodyParts.push(textNode);
  if (htmlNode) bodyParts.push(htmlNode);
  let body: Node | null = bodyParts.length ? multi('alternative', bodyParts, ids) : null;
  if (!body && regular.length === 0) body = textLeaf('', 'plain', charset);
  if (options.report !== undefined && options.report !== 'delivery-status' && options.report !== 'disposition-notification') {
    throw new MimeError('INVALID_OPTION', 'report must be "delivery-status" or "disposition-notification"');
  }
  const root = options.report
    ? multi('report', [...(body ? [body] : []), ...regular], ids, `report-type=${options.report}; `, true)
    : multi('mixed', [...(body ? [body] : []), ...regular], ids);
  return { root, top };
}

function headerBlock(headers: Array<[string, string]>): Buffer {
  let s = '';
  for (const [name, value] of headers) s += foldHeader(name, value);
  return Buffer.from(s, 'utf8');
}

const B64_CHUNK = 57 * 1024; // multiple of 57 bytes = whole 76-character lines

async function* streamBase64(source: Readable): AsyncGenerator<Buffer> {
  let carry = Buffer.alloc(0);
  for await (const chunk of source) {
    const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    const data = carry.length ? Buffer.concat([carry, buf]) : buf;
    const whole = data.length - (data.length % 57);
    for (let off = 0; off < whole; off += B64_CHUNK) yield encodeBase64Lines(data.subarray(off, Math.min(whole, off + B64_CHUNK)));
    carry = Buffer.from(data.subarray(whole));
  }
  if (carry.length) yield encodeBase64Lines(carry);
}

const CRLF = Buffer.from('\r\n');

/**
 * A delimiter is CRLF "--" boundary (RFC 2046 5.1.1): the line break before it belongs to it, so part content keeps
 * exactly its own bytes. A single-part message body gets a final CRLF when it lacks one.
 */
async function* serialize(node: Node, isRoot: boolean): AsyncGenerator<Buffer> {
  yield headerBlock(node.headers);
  yield CRLF;
  if (node.kind === 'leaf') {
    if (Buffer.isBuffer(node.body)) {
      yield node.body;
      if (isRoot && (node.body.length === 0 || node.body[node.body.length - 1] !== 10)) yield CRLF;
    } else yield* streamBase64(node.body);
    return;
  }
  let first = true;
  for (const child of node.children) {
    yield Buffer.from(`${first ? '' : '\r\n'}--${node.boundary}\r\n`);
    first = false;
    yield* serialize(child, false);
  }
  yield Buffer.from(`\r\n--${node.boundary}--${isRoot ? '\r\n' : ''}`);
}

async function* serializeMessage(options: ComposeOptions): AsyncGenerator<Buffer> {
  const ids = new Ids(options?.seed);
  const { root, top } = buildTree(options, ids);
  yield headerBlock(top);
  yield* serialize(root, true);
}

/** Compose a message into one Buffer (CRLF line endings). */
export async function composeMail(options: ComposeOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of serializeMessage(options)) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * Compose a message as a stream; attachments given as streams are read while the message is written. Option errors
 * (header injection, bad addresses) surface as a stream error.
 */
export function composeMailStream(options: ComposeOptions): Readable {
  return Readable.from(serializeMessage(options), { objectMode: false });
}
