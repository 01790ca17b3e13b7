/**
 * Line-end helpers for messages stored by other tools with bare LF line ends, and the streaming form of POP3 TOP.
 * POP3 sizes and content are those of the message with CRLF line ends: every LF not preceded by CR counts one more
 * octet and is sent as CRLF. Bare CRs are left alone.
 */
const LF = 0x0a;
const CR = 0x0d;

/** Counts LFs not preceded by CR. `prevCR` says whether the byte before `buf` was a CR. */
export function countBareLf(buf: Buffer, prevCR: boolean): number {
  let count = 0;
  let pos = buf.indexOf(LF);
  while (pos >= 0) {
    if (pos === 0 ? !prevCR : buf[pos - 1] !== CR) count++;
    pos = buf.indexOf(LF, pos + 1);
  }
  return count;
}

/** Counts bare LFs across the chunks of a stream. */
export class BareLfCounter {
  count = 0;
  private prevCR = false;
  add(buf: Buffer): void {
    if (buf.length === 0) return;
    this.count += countBareLf(buf, this.prevCR);
    this.prevCR = buf[buf.length - 1] === CR;
  }
}

/** Converts bare LF to CRLF across the chunks of a stream. */
export class CrlfConverter {
  private prevCR = false;
  convert(buf: Buffer): Buffer {
    if (buf.length === 0) return buf;
    const extra = countBareLf(buf, this.prevCR);
    const wasCR = this.prevCR;
    this.prevCR = buf[buf.length - 1] === CR;
    if (extra === 0) return buf;
    const out = Buffer.allocUnsafe(buf.length + extra);
    let o = 0;
    let start = 0;
    let pos = buf.indexOf(LF);
    while (pos >= 0) {
      if (pos === 0 ? !wasCR : buf[pos - 1] !== CR) {
        o += buf.copy(out, o, start, pos);
        out[o++] = CR;
        start = pos;
      }
      pos = buf.indexOf(LF, pos + 1);
    }
    o += buf.copy(out, o, start);
    return out;
  }
}

/**
 * POP3 TOP over a stream of CRLF text: passes the header, the blank line that ends it and at most `bodyLines` body
 * lines, then stops (the source is closed). Without a blank line, or with fewer body lines, everything passes.
 * Same result as topOfMessage() on the whole buffer.
 */
export async function* topLines(source: AsyncIterable<Buffer>, bodyLines: number): AsyncGenerator<Buffer> {
  let inHeader = true;
  let atLineStart = true;
  let crAtLineStart = false;
  let left = bodyLines;
  for await (const chunk of source) {
    let i = 0;
    if (inHeader) {
      for (; i < chunk.length; i++) {
        const b = chunk[i];
        if (crAtLineStart && b === LF) {
          inHeader = false;
          i++;
          break;
        }
        crAtLineStart = atLineStart && b === CR;
        atLineStart = b === LF;
      }
      if (inHeader) {
        yield chunk;
        continue;
      }
    }
    while (left > 0) {
      const nl = chunk.indexOf(LF, i);
      if (nl < 0) break;
      left--;
      i = nl + 1;
    }
    if (left === 0) {
      if (i > 0) yield chunk.subarray(0, i);
      return;
    }
    yield chunk;
  }
}
