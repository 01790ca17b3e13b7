/**
 * The incremental MIME engine. Feed it bytes in chunks of any size with write(); it calls a PartSink as parts start,
 * as decoded content arrives (transfer encoding undone, charset untouched) and as they end. It never holds more than
 * one chunk plus a partial line, so attachments stream through.
 *
 * Body scanning looks for "\n--" with Buffer.indexOf (native) and only then compares boundaries, innermost first; a
 * boundary of an outer multipart also ends every inner part (QUIRK: missing close delimiters, RFC 2046 5.1.2).
 * A line break before a boundary belongs to the boundary (RFC 2046 5.1.1).
 */
import { HeaderBlock } from './header-block.js';
import { MimeError } from './errors.js';
import { decoderFor, describePart, isBodyText, newPart, type ContentDecoder } from './part.js';
import { DEFAULT_PARSE_OPTIONS, type MimePart, type ParseOptions, type ResolvedParseOptions } from './types.js';

export interface PartSink {
  partStart(part: MimePart): void;
  partData(part: MimePart, chunk: Buffer): void;
  partEnd(part: MimePart): void;
  warn(message: string): void;
  /** Called once when a limit cuts the result short. */
  truncate(message: string): void;
}

interface OpenPart {
  part: MimePart;
  depth: number;
  /** Present for leaves. */
  decoder?: ContentDecoder;
  /** Present for multiparts: "--" + boundary. */
  marker?: Buffer;
  children: number;
}

type Match = { kind: 'no' } | { kind: 'need' } | { kind: 'match'; open: number; close: boolean; lineEnd: number };

const NL_DASH_DASH = Buffer.from('\n--', 'latin1');
const NO: Match = { kind: 'no' };
const NEED: Match = { kind: 'need' };
const MAX_BOUNDARY_PADDING = 200;
const PARK_LIMIT = 64 * 1024;

/** "name:" at the start of a line: printable non-space bytes, optional trailing blanks (obs-syntax), a colon. */
function isFieldStart(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c === 0x3a) return i > start;
    if (c <= 0x20 || c === 0x7f) break;
    i++;
  }
  if (i === start) return false;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  return i < end && buf[i] === 0x3a;
}

export function resolveParseOptions(o: ParseOptions = {}): ResolvedParseOptions {
  const r = { ...DEFAULT_PARSE_OPTIONS };
  for (const k of Object.keys(r) as Array<keyof ResolvedParseOptions>) {
    const v = o[k];
    if (v !== undefined) {
      if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`parse option ${k} must be a non-negative number`);
      r[k] = v;
    }
  }
  return r;
}

export class MimeStreamParser {
  private readonly opts: ResolvedParseOptions;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private mode: 'header' | 'body' | 'skip' = 'header';
  private atLineStart = true;
  private readonly open: OpenPart[] = [];
  private partCount = 1;
  private ended = false;
  private parked: Buffer[] = [];
  /** A line break left from the previous chunk, set aside by write() (see there). */
  private pendingBreak: Buffer | null = null;
  private parkedBytes = 0;
  // header block state
  private readonly block: HeaderBlock;
  private skipLine = false;
  private firstHeaderLine = true;
  readonly root: MimePart;

  constructor(private readonly sink: PartSink, options: ParseOptions = {}) {
    this.opts = resolveParseOptions(options);
    this.block = new HeaderBlock(this.opts.maxHeaderBytes, this.opts.maxHeaderFields, (w) => sink.warn(w), (w) => sink.truncate(w));
    this.root = newPart('', 'text/plain');
    this.open.push({ part: this.root, depth: 0, children: 0 });
  }

  write(chunk: Buffer): void {
    if (this.ended) throw new MimeError('INPUT_ERROR', 'write after end');
    if (chunk.length === 0) return;
    // While waiting for the end of a line, small chunks without a line break are parked instead of being joined one
    // by one (that would cost quadratic time when a hostile peer sends a long line a byte at a time).
    if (this.pos < this.buf.length && this.parkedBytes + chunk.length < PARK_LIMIT && chunk.indexOf(10) < 0) {
      this.parked.push(chunk);
      this.parkedBytes += chunk.length;
      return;
    }
    const rest = this.buf.length - this.pos;
    if (rest > 0 && rest <= 2 && this.mode === 'body' && !this.parked.length && this.buf[this.buf.length - 1] === 10 && (rest === 1 || this.buf[this.pos] === 13)) {
      // the usual leftover between chunks is one line break that may belong to a boundary: keep it aside instead of
      // copying the whole new chunk behind it
      this.pendingBreak = Buffer.from(this.buf.subarray(this.pos));
      this.buf = chunk;
      this.pos = 0;
      this.atLineStart = true;
    } else this.combine(chunk);
    this.run(false);
  }

  private combine(chunk: Buffer | null): void {
    const pieces: Buffer[] = [];
    if (this.pos < this.buf.length) pieces.push(this.buf.subarray(this.pos));
    if (this.parked.length) pieces.push(...this.parked);
    if (chunk) pieces.push(chunk);
    this.buf = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
    this.pos = 0;
    this.parked = [];
    this.parkedBytes = 0;
  }

  end(): void {
    if (this.ended) return;
    this.combine(null);
    this.run(true);
    this.ended = true;
    if (this.mode === 'header') this.finishHeaders();
    let missing = false;
    while (this.open.length) {
      if (this.open[this.open.length - 1].marker && this.open.length) missing = true;
      this.closeInnermost();
    }
    if (missing) this.sink.warn('multipart ended without its final boundary');
    this.buf = Buffer.alloc(0);
    this.pos = 0;
  }

  private run(final: boolean): void {
    while (this.pos < this.buf.length) {
      const before = this.pos;
      const mode = this.mode;
      if (mode === 'header') this.scanHeader(final);
      else if (mode === 'body') this.scanBody(final);
      else this.pos = this.buf.length;
      if (this.pos === before && this.mode === mode) return; // needs more data
    }
  }

  // ---- headers ----

  private scanHeader(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    while (this.mode === 'header' && this.pos < n) {
      const start = this.pos;
      let nl = buf.indexOf(10, start);
      if (nl < 0) {
        if (!final) {
          if (n - start > this.opts.maxHeaderBytes) {
            this.block.overflowNow();
            this.skipLine = true;
            this.pos = n;
          }
          return;
        }
        nl = n;
      }
      const lineEnd = nl < n ? nl + 1 : n;
      const contentEnd = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      this.pos = lineEnd;
      if (this.skipLine) {
        this.skipLine = false;
        continue;
      }
      if (contentEnd === start) {
        this.finishHeaders();
        this.atLineStart = true;
        return;
      }
      const first = buf[start];
      if (first === 0x2d && buf[start + 1] === 0x2d && this.hasBoundaries()) {
        const m = this.matchBoundary(buf, start, true, contentEnd + (lineEnd - contentEnd));
        if (m.kind === 'match') {
          this.sink.warn('part headers ended by a boundary');
          this.finishHeaders();
          this.onBoundary(m);
          return;
        }
      }
      if (first === 0x20 || first === 0x09) {
        this.block.continueField(buf.subarray(start, lineEnd));
        continue;
      }
      const isField = isFieldStart(buf, start, contentEnd);
      if (isField) {
        this.block.startField(buf.subarray(start, lineEnd));
        this.firstHeaderLine = false;
        continue;
      }
      if (this.firstHeaderLine && this.open.length === 1 && buf.toString('latin1', start, start + 5) === 'From ') {
        this.sink.warn('mbox "From " line skipped');
        this.firstHeaderLine = false;
        continue;
      }
      // QUIRK: a line that is not a header field ends the block (RFC 5322 2.2 requires a blank line)
      this.sink.warn('header block ended without a blank line');
      this.pos = start;
      this.finishHeaders();
      this.atLineStart = true;
      return;
    }
  }

  private hasBoundaries(): boolean {
    for (const o of this.open) if (o.marker) return true;
    return false;
  }

  private finishHeaders(): void {
    const headers = this.block.finish();
    this.skipLine = false;
    this.firstHeaderLine = false;
    const top = this.open[this.open.length - 1];
    const part = top.part;
    part.headers = headers;
    describePart(part, (w) => this.sink.warn(w));
    this.mode = 'body';
    this.atLineStart = true;
    if (part.contentType.startsWith('multipart/')) {
      const boundary = part.params.boundary;
      if (!boundary) {
        this.sink.warn(`${part.contentType} without a boundary; treated as a single part`);
      } else if (top.depth >= this.opts.maxDepth) {
        this.sink.truncate(`multipart nesting deeper than maxDepth (${this.opts.maxDepth}); inner structure kept as one part`);
      } else {
        part.boundary = boundary;
        top.marker = Buffer.from('--' + boundary, 'utf8');
        this.sink.partStart(part);
        return;
      }
    }
    part.isBody = isBodyText(part);
    top.decoder = decoderFor(part, (w) => this.sink.warn(w));
    this.sink.partStart(part);
  }

  // ---- bodies ----

  private scanBody(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    const from = this.pos;
    if (!this.hasBoundaries()) {
      this.emit(from, n);
      this.pos = n;
      return;
    }
    if (this.pendingBreak) {
      const m = this.matchBoundary(buf, from, final, n);
      const brk = this.pendingBreak;
      this.pendingBreak = null;
      if (m.kind === 'match') {
        this.pos = m.lineEnd;
        this.onBoundary(m);
        return;
      }
      if (m.kind === 'need') {
        // rare: too little data to decide; fall back to joining
        this.buf = Buffer.concat([brk, buf.subarray(from)]);
        this.pos = 0;
        this.atLineStart = false;
        this.scanBody(final);
        return;
      }
      this.emitBuffer(brk);
    }
    let search = from;
    let checkStart = this.atLineStart;
    while (true) {
      let q: number;
      let brk: number;
      if (checkStart) {
        checkStart = false;
        q = from;
        brk = from;
      } else {
        const idx = buf.indexOf(NL_DASH_DASH, search);
        if (idx < 0) break;
        q = idx + 1;
        brk = idx > from && buf[idx - 1] === 13 ? idx - 1 : idx;
      }
      const m = this.matchBoundary(buf, q, final, n);
      if (m.kind === 'no') {
        search = q;
        continue;
      }
      this.emit(from, brk);
      if (m.kind === 'need') {
        this.pos = brk;
        this.atLineStart = brk === q;
        return;
      }
      this.pos = m.lineEnd;
      this.onBoundary(m);
      return;
    }
    let keep = n;
    if (!final) {
      if (buf[n - 1] === 10 || buf[n - 1] === 13) keep = n - 1;
      else if (n >= 2 && buf[n - 1] === 0x2d && buf[n - 2] === 10) keep = n - 2;
      if (keep < n && keep > from && buf[keep] === 10 && buf[keep - 1] === 13) keep--;
      if (keep < from) keep = from;
    }
    this.emit(from, keep);
    this.pos = keep;
    this.atLineStart = false;
  }

  /** Is there a boundary line of an open multipart at q? `limit` is the end of available data. */
  private matchBoundary(buf: Buffer, q: number, final: boolean, limit: number): Match {
    let need = false;
    for (let k = this.open.length - 1; k >= 0; k--) {
      const marker = this.open[k].marker;
      if (!marker) continue;
      const avail = limit - q;
      if (avail < marker.length) {
        if (!final && buf.compare(marker, 0, avail, q, limit) === 0) need = true;
        continue;
      }
      if (buf.compare(marker, 0, marker.length, q, q + marker.length) !== 0) continue;
      let p = q + marker.length;
      let close = false;
      if (p < limit && buf[p] === 0x2d) {
        if (p + 1 >= limit) {
          if (!final) need = true;
          continue;
        }
        if (buf[p + 1] === 0x2d) {
          close = true;
          p += 2;
        }
      }
      const padEnd = Math.min(limit, p + MAX_BOUNDARY_PADDING);
      while (p < padEnd && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
      if (p >= limit) {
        if (final) return { kind: 'match', open: k, close, lineEnd: limit };
        need = true;
        continue;
      }
      if (buf[p] === 10) return { kind: 'match', open: k, close, lineEnd: p + 1 };
      if (buf[p] === 13) {
        if (p + 1 >= limit) {
          if (final) return { kind: 'match', open: k, close, lineEnd: limit };
          need = true;
          continue;
        }
        if (buf[p + 1] === 10) return { kind: 'match', open: k, close, lineEnd: p + 2 };
      }
    }
    return need ? NEED : NO;
  }

  private emit(from: number, to: number): void {
    if (to > from) this.emitBuffer(this.buf.subarray(from, to));
  }

  private emitBuffer(data: Buffer): void {
    const top = this.open[this.open.length - 1];
    if (!top?.decoder) return; // preamble, epilogue or text between parts
    const out = top.decoder.update(data);
    if (out.length) {
      top.part.size += out.length;
      this.sink.partData(top.part, out);
    }
  }

  private closeInnermost(): void {
    const top = this.open.pop();
    if (!top) return;
    if (top.decoder) {
      const rest = top.decoder.final();
      if (rest.length) {
        top.part.size += rest.length;
        this.sink.partData(top.part, rest);
      }
    }
    this.sink.partEnd(top.part);
  }

  private onBoundary(m: Extract<Match, { kind: 'match' }>): void {
    if (this.mode === 'header') this.finishHeaders();
    let closedInner = false;
    while (this.open.length - 1 > m.open) {
      if (this.open[this.open.length - 1].marker) closedInner = true;
      this.closeInnermost();
    }
    if (closedInner) this.sink.warn('inner multipart ended by an outer boundary (missing close delimiter)');
    this.atLineStart = true;
    if (m.close) {
      this.closeInnermost();
      this.mode = 'body';
      if (this.open.length === 0) this.mode = 'skip'; // epilogue of the message
      return;
    }
    const parent = this.open[this.open.length - 1];
    if (this.partCount >= this.opts.maxParts) {
      this.sink.truncate(`more than maxParts (${this.opts.maxParts}) MIME parts; the rest is skipped`);
      this.mode = 'skip';
      return;
    }
    this.partCount++;
    parent.children++;
    const path = parent.part.path ? `${parent.part.path}.${parent.children}` : String(parent.children);
    const child = newPart(path, parent.part.contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain');
    parent.part.children.push(child);
    this.open.push({ part: child, depth: parent.depth + 1, children: 0 });
    this.mode = 'header';
  }
}
