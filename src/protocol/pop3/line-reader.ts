/**
 * Incremental, bounded line reader for POP3 (pure: no I/O). Bytes go in with push(); next() hands out one complete line
 * at a time, or null meaning "need more bytes". A line longer than `maxLineLength` is never buffered: its bytes are
 * dropped as they arrive and, once its line end comes, next() reports `too-long` so the session can answer -ERR and
 * carry on in step with the client. Memory per connection is bounded by maxLineLength.
 *
 * Line ends: CRLF; a bare LF is accepted too (QUIRK: RFC 1939 section 3 says CRLF, some clients send LF only).
 */
export type LineEvent = { kind: 'line'; line: Buffer } | { kind: 'too-long'; length: number };

export const DEFAULT_MAX_LINE_LENGTH = 255;

export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  private start = 0;
  /** Octets of the over-long line dropped so far; 0 when not discarding. */
  private discarding = 0;

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
          this.discarding += this.buffer.length - this.start;
          this.reset();
          return null;
        }
        const length = this.discarding + nl + 1 - this.start;
        this.discarding = 0;
        this.start = nl + 1;
        return { kind: 'too-long', length };
      }
      if (nl < 0) {
        const pending = this.buffer.length - this.start;
        if (pending > this.maxLineLength) {
          this.discarding = pending;
          this.reset();
        }
        return null;
      }
      const lineLength = nl + 1 - this.start; // with the LF
      if (lineLength > this.maxLineLength) {
        this.start = nl + 1;
        return { kind: 'too-long', length: lineLength };
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
    this.discarding = 0;
    return dropped;
  }

  private reset(): void {
    this.buffer = Buffer.alloc(0);
    this.start = 0;
  }
}
