/**
 * Incremental, bounded line reader for POP3 (pure: no I/O). Bytes go in with push(); next() hands out one complete line
 * at a time, or null meaning "need more bytes". A line longer than `maxLineLength` is never buffered: next() reports
 * `too-long` as soon as the limit is passed (so the client gets its -ERR without having to finish the line), and the
 * rest of that line is dropped as it arrives, up to and including its line end. One event per line either way, so the
 * session stays in step with the client. Memory per connection is bounded by maxLineLength.
 *
 * Line ends: CRLF; a bare LF is accepted too (QUIRK: RFC 1939 section 3 says CRLF, some clients send LF only).
 */
export type LineEvent = { kind: 'line'; line: Buffer } | { kind: 'too-long' };

export const DEFAULT_MAX_LINE_LENGTH = 255;

export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  private start = 0;
  /** Dropping the rest of an over-long line (already reported). */
  private discarding = false;

  constructor(public maxLineLength: number = DEFAULT_MAX_LINE_LENGTH) {}

  push(chunk: Buffer): void {
    if (this.start >= this.buffer.length) {
      this.buffer = chunk;
      this.start = 0;
    } else {
      this.buffer = Buffer.concat([this.buffer.subarray(this.start), chunk]);
      this.start = 0;
    }
  }

  /** The next complete line without its line end, `too-long` for an over-long one, or null: need more bytes. */
  next(): LineEvent | null {
    while (true) {
      const nl = this.buffer.indexOf(0x0a, this.start);
      if (this.discarding) {
        if (nl < 0) {
          this.reset();
          return null;
        }
        this.discarding = false;
        this.start = nl + 1;
        continue;
      }
      if (nl < 0) {
        if (this.buffer.length - this.start > this.maxLineLength) {
          this.discarding = true;
          this.reset();
          return { kind: 'too-long' };
        }
        return null;
      }
      if (nl + 1 - this.start > this.maxLineLength) {
        this.start = nl + 1;
        return { kind: 'too-long' };
      }
      const end = nl > this.start && this.buffer[nl - 1] === 0x0d ? nl - 1 : nl;
      const line = this.buffer.subarray(this.start, end);
      this.start = nl + 1;
      return { kind: 'line', line };
    }
  }

  /** Octets received but not yet handed out (excluding a line being discarded). */
  get pending(): number {
    return this.buffer.length - this.start;
  }

  /** Drop everything buffered (STLS: nothing sent before the TLS handshake may be acted on after it). */
  discardBuffered(): number {
    const dropped = this.pending;
    this.reset();
    this.discarding = false;
    return dropped;
  }

  private reset(): void {
    this.buffer = Buffer.alloc(0);
    this.start = 0;
  }
}
