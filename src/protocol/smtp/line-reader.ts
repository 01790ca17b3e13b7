/**
 * Command-line reader with a length limit that never holds an over-long line whole: at most `limit` octets of a partial
 * line are kept; past that the rest of the line is counted and thrown away up to its LF ('too-long'), or, past
 * `discardLimit` octets without a LF, the reader gives up ('abuse') so the connection can be cut off.
 *
 * QUIRK (RFC 5321 2.3.8): a command line ended by a bare LF is accepted as if it ended with CRLF; this never touches
 * message data, whose end is found only by DataDecoder.
 */
export const TOO_LONG: unique symbol = Symbol('too-long');
export const ABUSE: unique symbol = Symbol('abuse');
export type LineRead = Buffer | typeof TOO_LONG | typeof ABUSE | null;

const LF = 10;
const CR = 13;

export class LineReader {
  /** Offset in the chunk after the last read(). */
  offset = 0;
  private partial: Buffer | null = null;
  private discarded = 0;

  constructor(
    /** Longest line in octets including CRLF. */
    public limit: number,
    /** Octets of an over-long line skipped before giving up. */
    public discardLimit: number,
  ) {}

  /** True when part of a line is buffered. */
  get pending(): boolean {
    return this.partial !== null || this.discarded > 0;
  }

  /** Forget any partial line (after STARTTLS, or a mode change). */
  reset(): void {
    this.partial = null;
    this.discarded = 0;
  }

  /**
   * Read one line from chunk[offset..]: the line without its ending, TOO_LONG (a whole over-long line was skipped),
   * ABUSE (too much without a LF), or null (everything consumed, line incomplete). Sets `this.offset`.
   */
  read(chunk: Buffer, offset: number): LineRead {
    const lf = chunk.indexOf(LF, offset);
    if (lf < 0) {
      this.offset = chunk.length;
      const size = chunk.length - offset;
      if (this.discarded > 0) {
        this.discarded += size;
        return this.discarded > this.discardLimit ? ABUSE : null;
      }
      const have = this.partial ? this.partial.length : 0;
      if (have + size > this.limit) {
        this.partial = null;
        this.discarded = have + size;
        return this.discarded > this.discardLimit ? ABUSE : null;
      }
      const piece = chunk.subarray(offset);
      this.partial = this.partial ? Buffer.concat([this.partial, piece]) : Buffer.from(piece);
      return null;
    }
    this.offset = lf + 1;
    if (this.discarded > 0) {
      this.discarded = 0;
      return TOO_LONG;
    }
    let line: Buffer;
    if (this.partial) {
      line = Buffer.concat([this.partial, chunk.subarray(offset, lf)]);
      this.partial = null;
    } else {
      line = chunk.subarray(offset, lf);
    }
    let end = line.length;
    if (end > 0 && line[end - 1] === CR) end--;
    if (end + 2 > this.limit) return TOO_LONG;
    return end === line.length ? line : line.subarray(0, end);
  }
}
