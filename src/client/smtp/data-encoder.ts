/**
 * Message bytes -> SMTP wire bytes. Every line ending becomes CRLF: CRLF stays, a bare LF or a bare CR becomes CRLF,
 * so no bare CR or LF ever reaches the wire whatever the caller passes (outbound SMTP smuggling, RFC 5321 2.3.8).
 * With dot-stuffing (DATA, RFC 5321 4.5.2) a line starting with "." gets a second one. Streaming: state carries across
 * chunks, so a CR at the end of one chunk and an LF at the start of the next are one line ending.
 * Works on Buffers with indexOf and copy; no per-byte JavaScript loop on the common path.
 */
import { isAscii } from 'node:buffer';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

export class DataEncoder {
  /** At the start of a line (nothing yet, or just after a line ending we emitted). */
  private atLineStart = true;
  /** The previous input byte was a CR we already turned into CRLF: a following LF belongs to it. */
  private swallowLf = false;
  private wroteAnything = false;
  /** Count of octets emitted, for BDAT sizes and logs. */
  emitted = 0;
  /** Set when a byte >= 0x80 went through. */
  saw8bit = false;

  constructor(private readonly dotStuff: boolean) {}

  /** Encode one chunk. The returned Buffer may share memory with the input when nothing needed changing. */
  push(input: Buffer, spare = 0): Buffer {
    if (input.length === 0) return input;
    if (!this.saw8bit && !isAscii(input)) this.saw8bit = true;
    const out = Buffer.allocUnsafe(input.length * 2 + 2 + spare);
    let o = 0;
    let pos = 0;
    const n = input.length;
    if (this.swallowLf) {
      this.swallowLf = false;
      if (input[0] === LF) pos = 1;
    }
    let nextCr = input.indexOf(CR, pos);
    let nextLf = input.indexOf(LF, pos);
    while (pos < n) {
      if (this.atLineStart && this.dotStuff && input[pos] === DOT) out[o++] = DOT;
      if (nextCr !== -1 && nextCr < pos) nextCr = input.indexOf(CR, pos);
      if (nextLf !== -1 && nextLf < pos) nextLf = input.indexOf(LF, pos);
      let eol: number;
      if (nextCr === -1) eol = nextLf;
      else if (nextLf === -1) eol = nextCr;
      else eol = nextCr < nextLf ? nextCr : nextLf;
      if (eol === -1) {
        o += input.copy(out, o, pos, n);
        this.atLineStart = false;
        pos = n;
        break;
      }
      if (eol > pos) o += input.copy(out, o, pos, eol);
      out[o++] = CR;
      out[o++] = LF;
      this.atLineStart = true;
      if (input[eol] === CR) {
        if (eol + 1 < n) {
          pos = input[eol + 1] === LF ? eol + 2 : eol + 1;
        } else {
          this.swallowLf = true;
          pos = n;
        }
      } else {
        pos = eol + 1;
      }
    }
    if (o > 0) this.wroteAnything = true;
    this.emitted += o;
    return out.subarray(0, o);
  }

  /**
   * Finish: a CRLF if the message did not end with a line ending (so the terminator starts a line), then, with
   * dot-stuffing, the ".CRLF" terminator.
   */
  end(): Buffer {
    const parts: number[] = [];
    if (this.wroteAnything && !this.atLineStart) parts.push(CR, LF);
    if (this.dotStuff) parts.push(DOT, CR, LF);
    this.atLineStart = true;
    this.emitted += parts.length;
    return Buffer.from(parts);
  }
}

/** Encode a whole message at once (DATA: dot-stuffed with terminator; BDAT: normalized only), in one buffer. */
export function encodeMessage(message: Buffer, dotStuff: boolean): { data: Buffer; saw8bit: boolean } {
  const encoder = new DataEncoder(dotStuff);
  const body = encoder.push(message, 5);
  const tail = encoder.end();
  if (tail.length === 0) return { data: body, saw8bit: encoder.saw8bit };
  if (body.length === 0) return { data: tail, saw8bit: encoder.saw8bit };
  // push() left room for the tail (at most CRLF + ".CRLF") right after the encoded bytes.
  const whole = Buffer.from(body.buffer, body.byteOffset, body.length + tail.length);
  tail.copy(whole, body.length);
  return { data: whole, saw8bit: encoder.saw8bit };
}
