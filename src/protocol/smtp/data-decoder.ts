/**
 * DATA content reader (RFC 5321 4.1.1.4 and 4.5.2) as an incremental state machine over Buffers.
 *
 * - Only <CRLF>.<CRLF> ends the data (the CRLF of the DATA command line counts as the first CRLF, so ".\r\n" at once is
 *   an empty message). A line start is "hard" only after a real CRLF; after a bare CR or bare LF it is "soft" and a
 *   dot line there never ends the data. So none of the smuggling sequences (<LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>,
 *   <CR><LF>.<LF>, <CR><LF>.<CR>, ... of CVE-2023-51764/5/6) can end a message early, whatever mode is chosen.
 * - Dot-stuffing is undone exactly: a line beginning with "." and followed by other characters loses that first ".".
 * - A bare CR or LF sets `bareLineEnding`; in 'normalize' mode it is also rewritten to CRLF.
 * - Lines longer than `maxLineLength` octets (including CRLF) set `lineTooLong`; nothing is ever buffered per line:
 *   output is slices of the input chunks (zero copy) plus a few constant buffers.
 * - Past `maxSize` octets `tooBig` is set. Once any of tooBig / lineTooLong / a rejected bare line ending is set,
 *   output stops (the message will be refused after the final dot) but the end is still searched for, byte-exactly.
 */
export interface DataDecoderOptions {
  bareLineEndings: 'reject' | 'normalize';
  /** Longest line in octets including CRLF (RFC 5321: 1000). */
  maxLineLength: number;
  /** Largest message in octets (after dot-unstuffing). */
  maxSize: number;
}

const S_MID = 0;
const S_CR = 1;
const S_BOL = 2;
const S_BOL_SOFT = 3;
const S_DOT = 4;
const S_DOT_SOFT = 5;
const S_DOT_CR = 6;
const S_DOT_CR_SOFT = 7;

const CR = 13;
const LF = 10;
const DOT = 46;

const B_CRLF = Buffer.from('\r\n');
const B_LF = Buffer.from('\n');
const B_DOT_CRLF = Buffer.from('.\r\n');
const B_DOT_CR = Buffer.from('.\r');
const B_DOT_LF = Buffer.from('.\n');

export class DataDecoder {
  /** Octets of message content seen so far (after unstuffing, before normalisation). */
  size = 0;
  bareLineEnding = false;
  lineTooLong = false;
  tooBig = false;
  done = false;
  private state = S_BOL;
  private lineLen = 0;
  private readonly maxContent: number;
  private readonly normalize: boolean;
  private out: Buffer[] = [];

  constructor(private readonly options: DataDecoderOptions) {
    this.maxContent = options.maxLineLength - 2;
    this.normalize = options.bareLineEndings === 'normalize';
  }

  /** True once the content can no longer be accepted (output has stopped). */
  get failed(): boolean {
    return this.tooBig || this.lineTooLong || (this.bareLineEnding && !this.normalize);
  }

  /**
   * Read from `chunk`; content to store is pushed to `out`. Returns the number of bytes consumed: all of them unless
   * the end of data was found (then `done` is true and the rest of the chunk belongs to the next command).
   */
  feed(chunk: Buffer, out: Buffer[]): number {
    this.out = out;
    const n = chunk.length;
    let i = 0;
    let run = 0;
    let nextCr = -2;
    let nextLf = -2;
    while (i < n) {
      switch (this.state) {
        case S_MID: {
          if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
          if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
          let j = n;
          if (nextCr >= 0) j = nextCr;
          if (nextLf >= 0 && nextLf < j) j = nextLf;
          this.lineLen += j - i;
          if (this.lineLen > this.maxContent) this.lineTooLong = true;
          if (j === n) {
            i = n;
            break;
          }
          if (chunk[j] === CR) {
            this.state = S_CR;
          } else {
            this.bareLineEnding = true;
            if (this.normalize) {
              this.emit(chunk, run, j);
              this.emitConst(B_CRLF);
              run = j + 1;
            }
            this.state = S_BOL_SOFT;
            this.lineLen = 0;
          }
          i = j + 1;
          break;
        }
        case S_CR:
          if (chunk[i] === LF) {
            this.state = S_BOL;
            this.lineLen = 0;
            i++;
          } else {
            this.bareLineEnding = true;
            if (this.normalize) {
              this.emit(chunk, run, i); // includes the CR when it is in this chunk
              this.emitConst(B_LF);
              run = i;
            }
            this.state = S_BOL_SOFT;
            this.lineLen = 0;
          }
          break;
        case S_BOL:
        case S_BOL_SOFT:
          if (chunk[i] === DOT) {
            this.emit(chunk, run, i);
            run = i + 1; // the dot is held back: stuffing, terminator or a lone "."
            this.state = this.state === S_BOL ? S_DOT : S_DOT_SOFT;
            i++;
          } else {
            this.state = S_MID;
          }
          break;
        case S_DOT:
        case S_DOT_SOFT: {
          const b = chunk[i];
          if (b === CR) {
            run = i + 1; // hold the CR back too
            this.state = this.state === S_DOT ? S_DOT_CR : S_DOT_CR_SOFT;
            i++;
          } else if (b === LF) {
            // "." then a bare LF: a lone dot line, never the end.
            this.bareLineEnding = true;
            this.emitConst(this.normalize ? B_DOT_CRLF : B_DOT_LF);
            run = i + 1;
            this.state = S_BOL_SOFT;
            this.lineLen = 0;
            i++;
          } else {
            // Dot-stuffing: the first "." is dropped, the rest of the line is content.
            this.state = S_MID;
            this.lineLen = 0;
          }
          break;
        }
        case S_DOT_CR:
        case S_DOT_CR_SOFT: {
          const b = chunk[i];
          if (b === LF && this.state === S_DOT_CR) {
            this.done = true;
            this.out = [];
            return i + 1;
          }
          if (b === LF) {
            // A lone "." line after a bare line ending: content, and the CRLF makes the next line start hard.
            this.emitConst(B_DOT_CRLF);
            run = i + 1;
            this.state = S_BOL;
            this.lineLen = 0;
            i++;
          } else {
            this.bareLineEnding = true;
            this.emitConst(this.normalize ? B_DOT_CRLF : B_DOT_CR);
            run = i;
            this.state = S_BOL_SOFT;
            this.lineLen = 0;
          }
          break;
        }
      }
    }
    this.emit(chunk, run, n);
    this.out = [];
    return n;
  }

  private emit(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.count(to - from);
    if (!this.failed) this.out.push(chunk.subarray(from, to));
  }

  private emitConst(bytes: Buffer): void {
    this.count(bytes.length);
    if (!this.failed) this.out.push(bytes);
  }

  private count(n: number): void {
    this.size += n;
    if (this.size > this.options.maxSize) this.tooBig = true;
  }
}
