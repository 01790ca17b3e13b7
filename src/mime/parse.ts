/**
 * parseMail (one call, everything in memory: for ordinary messages) and parseMailStream (attachments handed out as
 * streams with backpressure, never held in memory). Both run the same MimeStreamParser.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { decodeCharset, decodeUnlabelled } from './charset.js';
import { MimeError } from './errors.js';
import { getHeader, getHeaders, structuredText, type HeaderField } from './header.js';
import { flattenAddresses, parseAddressListWithGroups, type Mailbox } from './address.js';
import { parseMailDate } from './date.js';
import { MimeStreamParser, resolveParseOptions, type PartSink } from './stream-parser.js';
import type { Attachment, MimePart, ParsedMail, ParseOptions, ResolvedParseOptions } from './types.js';

export type MailInput = Buffer | Uint8Array | string | Readable | AsyncIterable<Buffer | Uint8Array | string>;

/** Summary of the message headers, shared by both APIs. */
function summarize(headers: HeaderField[], opts: ResolvedParseOptions, warn: (w: string) => void, truncate: (w: string) => void): Omit<ParsedMail, 'text' | 'html' | 'attachments' | 'root' | 'warnings' | 'truncated'> {
  const addresses = (name: string): Mailbox[] => {
    const out: Mailbox[] = [];
    for (const h of getHeaders(headers, name)) {
      const r = parseAddressListWithGroups(structuredText(h, warn), { maxAddresses: opts.maxAddresses - out.length });
      if (r.truncated) truncate(`${name} has more than maxAddresses (${opts.maxAddresses}) addresses; list truncated`);
      for (const m of flattenAddresses(r.entries)) out.push(m);
    }
    return out;
  };
  const msgId = (name: string): string | undefined => {
    const v = getHeader(headers, name)?.value.trim();
    return v ? v : undefined;
  };
  const refs = getHeader(headers, 'references')?.value ?? '';
  return {
    headers,
    subject: getHeader(headers, 'subject')?.value,
    from: addresses('from'),
    sender: addresses('sender'),
    to: addresses('to'),
    cc: addresses('cc'),
    bcc: addresses('bcc'),
    replyTo: addresses('reply-to'),
    date: parseMailDate(getHeader(headers, 'date')?.value),
    messageId: msgId('message-id'),
    inReplyTo: msgId('in-reply-to'),
    references: refs.match(/<[^<>\s]*>/g) ?? (refs.trim() ? refs.trim().split(/\s+/) : []),
  };
}

function isInRelated(part: MimePart, root: MimePart): boolean {
  // walk from root to find the parent chain of `part`
  const path = part.path.split('.');
  let node = root;
  let related = false;
  for (const seg of path) {
    if (!seg) break;
    if (node.contentType === 'multipart/related') related = true;
    const next = node.children[Number(seg) - 1];
    if (!next) break;
    node = next;
  }
  return related;
}

async function* chunksOf(input: MailInput): AsyncGenerator<Buffer> {
  if (typeof input === 'string') {
    yield Buffer.from(input, 'utf8');
    return;
  }
  if (input instanceof Uint8Array) {
    yield Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    return;
  }
  if (input && typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    for await (const c of input as AsyncIterable<Buffer | Uint8Array | string>) {
      if (typeof c === 'string') yield Buffer.from(c, 'utf8');
      else yield Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    }
    return;
  }
  throw new MimeError('INPUT_ERROR', 'parseMail input must be a Buffer, Uint8Array, string or readable stream');
}

const BIG_CHUNK = 1024 * 1024;

/** Feed input through the parser. Large buffers are fed in slices so a sink can apply backpressure. */
async function feed(parser: MimeStreamParser, input: MailInput, opts: ResolvedParseOptions, between?: () => Promise<void>): Promise<void> {
  let total = 0;
  for await (const chunk of chunksOf(input)) {
    for (let off = 0; off < chunk.length; off += BIG_CHUNK) {
      const piece = chunk.length <= BIG_CHUNK ? chunk : chunk.subarray(off, off + BIG_CHUNK);
      total += piece.length;
      if (total > opts.maxMessageBytes) {
        throw new MimeError('LIMIT_EXCEEDED', `message larger than maxMessageBytes (${opts.maxMessageBytes})`);
      }
      parser.write(piece);
      if (between) await between();
    }
  }
  parser.end();
}

class Collector implements PartSink {
  readonly warnings: string[] = [];
  truncated = false;
  private readonly texts: Array<{ part: MimePart; chunks: Buffer[]; bytes: number }> = [];
  private readonly attachmentChunks = new Map<MimePart, Buffer[]>();
  readonly order: MimePart[] = [];
  private current: { part: MimePart; chunks: Buffer[]; bytes: number } | null = null;

  constructor(private readonly opts: ResolvedParseOptions) {}

  warn(message: string): void {
    if (this.warnings.length < 100 && !this.warnings.includes(message)) this.warnings.push(message);
  }
  truncate(message: string): void {
    this.truncated = true;
    this.warn(message);
  }
  partStart(part: MimePart): void {
    if (part.contentType.startsWith('multipart/') && part.boundary) return;
    this.order.push(part);
    if (part.isBody) {
      this.current = { part, chunks: [], bytes: 0 };
      this.texts.push(this.current);
    } else this.attachmentChunks.set(part, []);
  }
  partData(part: MimePart, chunk: Buffer): void {
    const t = this.current;
    if (t && t.part === part) {
      if (t.bytes + chunk.length > this.opts.maxTextBytes) {
        const room = this.opts.maxTextBytes - t.bytes;
        if (room > 0) t.chunks.push(chunk.subarray(0, room));
        t.bytes = this.opts.maxTextBytes;
        this.truncate(`text part over maxTextBytes (${this.opts.maxTextBytes}); truncated`);
        return;
      }
      t.chunks.push(chunk);
      t.bytes += chunk.length;
      return;
    }
    this.attachmentChunks.get(part)?.push(chunk);
  }
  partEnd(part: MimePart): void {
    if (this.current?.part === part) this.current = null;
  }

  bodies(): { text?: string; html?: string } {
    const plain: string[] = [];
    const html: string[] = [];
    for (const t of this.texts) {
      if (t.bytes === 0) continue;
      const bytes = t.chunks.length === 1 ? t.chunks[0] : Buffer.concat(t.chunks);
      // QUIRK: 8-bit text without a charset (RFC 2045 says us-ascii) is decoded as UTF-8 when valid, else guessed
      const d = t.part.charset ? decodeCharset(bytes, t.part.charset) : decodeUnlabelled(bytes);
      if (d.warning) this.warn(d.warning);
      let text = d.text;
      if (text.indexOf('\r') >= 0) {
        text = text.replaceAll('\r\n', '\n');
        if (text.indexOf('\r') >= 0) text = text.replace(/\r/g, '\n');
      }
      (t.part.contentType === 'text/html' ? html : plain).push(text);
    }
    return { text: plain.length ? plain.join('\n') : undefined, html: html.length ? html.join('<br/>\n') : undefined };
  }

  attachments(root: MimePart): Attachment[] {
    const out: Attachment[] = [];
    for (const part of this.order) {
      const chunks = this.attachmentChunks.get(part);
      if (!chunks) continue;
      const content = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      out.push({
        filename: part.filename, contentType: part.contentType, disposition: part.disposition, contentId: part.contentId,
        charset: part.charset, size: content.length, content, part: part.path, related: isInRelated(part, root),
      });
    }
    return out;
  }
}

/**
 * Parse a whole message. Text parts are decoded to strings; attachments are Buffers. For messages with big
 * attachments prefer parseMailStream.
 */
export async function parseMail(input: MailInput, options: ParseOptions = {}): Promise<ParsedMail> {
  const opts = resolveParseOptions(options);
  const sink = new Collector(opts);
  const parser = new MimeStreamParser(sink, opts);
  await feed(parser, input, opts);
  const root = parser.root;
  const summary = summarize(root.headers, opts, (w) => sink.warn(w), (w) => sink.truncate(w));
  const { text, html } = sink.bodies();
  const attachments = sink.attachments(root);
  const depthOption = options.embeddedDepth ?? 0;
  if (typeof depthOption !== 'number' || !(depthOption >= 0)) throw new TypeError('parse option embeddedDepth must be a non-negative number');
  const embedded = Math.min(8, Math.floor(depthOption));
  if (embedded > 0) {
    for (const a of attachments) {
      if (a.contentType === 'message/rfc822' || a.contentType === 'message/global') {
        a.message = await parseMail(a.content, { ...options, embeddedDepth: embedded - 1 });
      }
    }
  }
  return { ...summary, text, html, attachments, root, warnings: sink.warnings, truncated: sink.truncated };
}

/** Metadata of a streamed attachment. */
export interface StreamedAttachmentInfo {
  filename?: string;
  contentType: string;
  disposition: string | null;
  contentId?: string;
  charset?: string;
  part: string;
  related: boolean;
  headers: HeaderField[];
}

export interface StreamOptions extends ParseOptions {
  /**
   * Receives each attachment as it starts, with a stream of its decoded content. Consume the stream (pipe it to a
   * file, hash it, or call resume() to discard); parsing waits while its buffer is full. May return a promise that
   * settles when the consumer is done.
   */
  onAttachment?: (info: StreamedAttachmentInfo, content: Readable) => void | Promise<void>;
  /** Buffer size of each attachment stream (default 64 KiB). */
  highWaterMark?: number;
}

export interface StreamedMail extends Omit<ParsedMail, 'attachments'> {
  /** Attachment metadata with sizes and SHA-256 of the content, computed while streaming. */
  attachments: Array<StreamedAttachmentInfo & { size: number; sha256: string }>;
}

/**
 * Parse a message of any size: text parts come back as strings, attachments are streamed to onAttachment and never
 * held in memory (memory use stays around one input chunk plus one stream buffer).
 */
export async function parseMailStream(input: MailInput, options: StreamOptions = {}): Promise<StreamedMail> {
  const opts = resolveParseOptions(options);
  const hwm = options.highWaterMark ?? 64 * 1024;
  const pending: Array<Promise<void>> = [];
  let failure: unknown;
  const infos: StreamedMail['attachments'] = [];
  let parserRoot: MimePart | null = null;
  let stream: PassThrough | null = null;
  let hash: ReturnType<typeof createHash> | null = null;
  let info: StreamedMail['attachments'][number] | null = null;
  const collector = new Collector({ ...opts });
  const sink: PartSink = {
    warn: (m) => collector.warn(m),
    truncate: (m) => collector.truncate(m),
    partStart: (part) => {
      if (part.isBody || (part.contentType.startsWith('multipart/') && part.boundary)) {
        collector.partStart(part);
        return;
      }
      info = {
        filename: part.filename, contentType: part.contentType, disposition: part.disposition, contentId: part.contentId,
        charset: part.charset, part: part.path, related: parserRoot ? isInRelated(part, parserRoot) : false, headers: part.headers,
        size: 0, sha256: '',
      };
      infos.push(info);
      hash = createHash('sha256');
      const s = new PassThrough({ highWaterMark: hwm });
      stream = s;
      s.on('error', () => {}); // a consumer that destroys its stream just stops reading; parsing goes on
      if (options.onAttachment) {
        let p: Promise<void>;
        try {
          p = Promise.resolve(options.onAttachment(stripStats(info), s));
        } catch (err) {
          p = Promise.reject(err);
        }
        // a failed handler must not stall parsing: discard the rest of its content, report the error at the end
        pending.push(p.catch((err: unknown) => {
          failure ??= err;
          if (!s.destroyed) s.resume();
        }));
      } else s.resume();
    },
    partData: (part, chunk) => {
      if (part.isBody) {
        collector.partData(part, chunk);
        return;
      }
      if (!stream || !info || !hash) return;
      info.size += chunk.length;
      hash.update(chunk);
      if (!stream.destroyed) stream.write(chunk);
    },
    partEnd: (part) => {
      if (part.isBody) {
        collector.partEnd(part);
        return;
      }
      if (stream && info && hash) {
        info.sha256 = hash.digest('hex');
        stream.end();
      }
      stream = null;
      info = null;
      hash = null;
    },
  };
  const parser = new MimeStreamParser(sink, opts);
  parserRoot = parser.root;
  const between = async (): Promise<void> => {
    const s = stream as PassThrough | null;
    if (s && s.writableNeedDrain && !s.destroyed) await drainOrClose(s);
  };
  await feed(parser, input, opts, between);
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  const root = parser.root;
  const summary = summarize(root.headers, opts, (w) => collector.warn(w), (w) => collector.truncate(w));
  const { text, html } = collector.bodies();
  return { ...summary, text, html, attachments: infos, root, warnings: collector.warnings, truncated: collector.truncated };
}

function drainOrClose(s: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

function stripStats(i: StreamedMail['attachments'][number]): StreamedAttachmentInfo {
  const { size: _s, sha256: _h, ...rest } = i;
  return rest;
}
