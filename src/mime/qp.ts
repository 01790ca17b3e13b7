/**
 * Quoted-printable (RFC 2045 section 6.7), streaming and lenient: soft line breaks with CRLF or bare LF, bad escapes
 * kept literally (QUIRK: RFC 2045 6.7 note 1 suggests exactly that), lower-case hex accepted. Runs between '=' signs
 * are copied in bulk.
 */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

export class QuotedPrintableDecoder {
  private carry: Buffer | null = null;

  update(chunk: Buffer): Buffer {
    let data = chunk;
    if (this.carry) {
      data = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    return this.decode(data, false);
  }

  final(): Buffer {
    const rest = this.carry;
    this.carry = null;
    return rest ? this.decode(rest, true) : Buffer.alloc(0);
  }

  /**
   * One pass over the bytes. Returns the decoded bytes; an escape or soft break cut by the end of a (non-final) chunk
   * is kept in `carry`.
   */
  private decode(data: Buffer, final: boolean): Buffer {
    const n = data.length;
    const first = data.indexOf(0x3d);
    if (first < 0) return data;
    const out = Buffer.allocUnsafe(n);
    if (first > 0) data.copy(out, 0, 0, first);
    let o = first;
    let i = first;
    while (i < n) {
      const c = data[i];
      if (c !== 0x3d) {
        out[o++] = c;
        i++;
        continue;
      }
      // '=' at i
      if (i + 2 < n) {
        const a = data[i + 1];
        const b = data[i + 2];
        const h = HEX[a];
        const l = HEX[b];
        if (h >= 0 && l >= 0) {
          out[o++] = (h << 4) | l;
          i += 3;
          continue;
        }
        if (a === 13 && b === 10) {
          i += 3;
          continue;
        }
        if (a === 10) {
          i += 2;
          continue;
        }
      } else if (!final) {
        // "=", "=X" or "=\r" at the end of the chunk: decide when more data arrives (but "=\n" is complete)
        if (!(i + 1 < n && data[i + 1] === 10)) {
          this.carry = Buffer.from(data.subarray(i));
          return out.subarray(0, o);
        }
      }
      const a = i + 1 < n ? data[i + 1] : -1;
      if (a === 10) {
        i += 2;
      } else if (a === 32 || a === 9) {
        // "=" followed by trailing whitespace then a line break is still a soft break (QUIRK: padded lines)
        let j = i + 1;
        while (j < n && (data[j] === 32 || data[j] === 9)) j++;
        if (j < n && data[j] === 10) i = j + 1;
        else if (j + 1 < n && data[j] === 13 && data[j + 1] === 10) i = j + 2;
        else if (!final && (j >= n || (j + 1 >= n && data[j] === 13))) {
          this.carry = Buffer.from(data.subarray(i));
          return out.subarray(0, o);
        } else {
          out[o++] = 0x3d;
          i++;
        }
      } else {
        out[o++] = 0x3d; // bad escape kept literally
        i++;
      }
    }
    return out.subarray(0, o);
  }
}

export function decodeQuotedPrintable(data: Buffer): Buffer {
  const d = new QuotedPrintableDecoder();
  const a = d.update(data);
  const b = d.final();
  return b.length ? Buffer.concat([a, b]) : a;
}

const HEXCHARS = Buffer.from('0123456789ABCDEF', 'latin1');
/** 1 for bytes written literally anywhere (33-126 except '='); space and tab are decided by position. */
const LITERAL = new Uint8Array(256);
for (let c = 33; c <= 126; c++) if (c !== 61) LITERAL[c] = 1;

/**
 * Quoted-printable encoder. Line breaks in the input (CRLF or LF) become CRLF hard breaks; lines are at most
 * `lineLength` (76) characters with soft breaks; trailing whitespace and every byte outside 33-126 is escaped.
 */
export function encodeQuotedPrintable(data: Buffer, lineLength = 76): Buffer {
  const n = data.length;
  const out = Buffer.allocUnsafe(n * 3 + Math.ceil((n * 3) / (lineLength - 1)) * 3 + 8);
  const soft = lineLength - 1; // room left for the "=" of a soft break
  let o = 0;
  let col = 0;
  for (let i = 0; i < n; i++) {
    const c = data[i];
    if (LITERAL[c] === 1 && col < soft) {
      out[o++] = c;
      col++;
      continue;
    }
    if (c === 10) {
      out[o++] = 13;
      out[o++] = 10;
      col = 0;
      continue;
    }
    if (c === 13 && data[i + 1] === 10) continue; // CRLF handled at LF
    let width = 1;
    let literal = LITERAL[c] === 1;
    let atLineEnd = false;
    if (!literal || col + 1 > soft) {
      const next = data[i + 1];
      atLineEnd = i + 1 >= n || next === 10 || (next === 13 && data[i + 2] === 10);
    }
    if (c === 32 || c === 9) literal = !atLineEnd;
    if (!literal) width = 3;
    // the last token of a line may use the full width; others leave room for the soft break
    if (col + width > (atLineEnd ? lineLength : soft)) {
      out[o++] = 61;
      out[o++] = 13;
      out[o++] = 10;
      col = 0;
    }
    if (literal) out[o++] = c;
    else {
      out[o++] = 61;
      out[o++] = HEXCHARS[c >> 4];
      out[o++] = HEXCHARS[c & 15];
    }
    col += width;
  }
  return out.subarray(0, o);
}
