/**
 * Line-ending and line-length checks for BDAT chunks (RFC 3030). BDAT carries octets verbatim (no dot-stuffing, no end
 * marker), so smuggling is impossible by construction; still, for BODY=7BIT/8BITMIME the content must use CRLF line
 * endings and 1000-octet lines like DATA does. BODY=BINARYMIME content is not checked.
 * The state survives chunk boundaries (a CR at the end of one chunk and LF at the start of the next is a CRLF).
 */
const CR = 13;
const LF = 10;
const B_LF = Buffer.from('\n');
const B_CRLF = Buffer.from('\r\n');

export class TextChecker {
  bareLineEnding = false;
  lineTooLong = false;
  private pendingCr = false;
  private lineLen = 0;
  private readonly maxContent: number;

  constructor(
    maxLineLength: number,
    private readonly normalize: boolean,
  ) {
    this.maxContent = maxLineLength - 2;
  }

  /** Check one piece of content; push what should be stored (the piece itself, or its normalised form) to `out`. */
  check(chunk: Buffer, out: Buffer[]): void {
    const n = chunk.length;
    let run = 0;
    let i = 0;
    if (this.pendingCr && n > 0) {
      this.pendingCr = false;
      if (chunk[0] === LF) {
        i = 1;
        this.lineLen = 0;
      } else {
        this.bareLineEnding = true;
        this.lineLen = 0;
        if (this.normalize) out.push(B_LF);
      }
    }
    let nextCr = -2;
    let nextLf = -2;
    while (i < n) {
      if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
      if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
      let j = n;
      if (nextCr >= 0) j = nextCr;
      if (nextLf >= 0 && nextLf < j) j = nextLf;
      this.lineLen += j - i;
      if (this.lineLen > this.maxContent) this.lineTooLong = true;
      if (j === n) break;
      if (chunk[j] === LF) {
        this.bareLineEnding = true;
        if (this.normalize) {
          if (j > run) out.push(chunk.subarray(run, j));
          out.push(B_CRLF);
          run = j + 1;
        }
        this.lineLen = 0;
        i = j + 1;
      } else if (j + 1 === n) {
        this.pendingCr = true;
        i = n;
      } else if (chunk[j + 1] === LF) {
        this.lineLen = 0;
        i = j + 2;
      } else {
        this.bareLineEnding = true;
        if (this.normalize) {
          out.push(chunk.subarray(run, j + 1));
          out.push(B_LF);
          run = j + 1;
        }
        this.lineLen = 0;
        i = j + 1;
      }
    }
    if (n > run) out.push(run === 0 ? chunk : chunk.subarray(run));
  }

  /** At BDAT LAST: a CR left pending at the very end is a bare CR. */
  finish(out: Buffer[]): void {
    if (this.pendingCr) {
      this.pendingCr = false;
      this.bareLineEnding = true;
      if (this.normalize) out.push(B_LF);
    }
  }
}
