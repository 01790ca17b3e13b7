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

  private decode(data: Buffer, final: boolean): Buffer {
    const n = data.length;
    let eq = data.indexOf(0x3d);
    if (eq < 0) return data;
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    let i = 0;
    while (eq >= 0) {
      if (eq > i) o += data.copy(out, o, i, eq);
      // need up to 2 more bytes (=XX or =\r\n); keep an incomplete tail for the next chunk
      if (!final && eq + 2 >= n) {
        const c1 = eq + 1 < n ? data[eq + 1] : -1;
        const soft = c1 === 10 || (c1 === 13 && eq + 2 < n && data[eq + 2] === 10);
        if (!soft) {
          this.carry = Buffer.from(data.subarray(eq));
          return out.subarray(0, o);
        }
      }
      const a = eq + 1 < n ? data[eq + 1] : -1;
      if (a === 10) {
        i = eq + 2;
      } else if (a === 13 && eq + 2 < n && data[eq + 2] === 10) {
        i = eq + 3;
      } else if (a === 32 || a === 9) {
        // "=" followed by trailing whitespace then a line break is still a soft break (QUIRK: padded lines)
        let j = eq + 1;
        while (j < n && (data[j] === 32 || data[j] === 9)) j++;
        if (j < n && data[j] === 10) i = j + 1;
        else if (j + 1 < n && data[j] === 13 && data[j + 1] === 10) i = j + 2;
        else if (!final && (j >= n || (j + 1 >= n && data[j] === 13))) {
          this.carry = Buffer.from(data.subarray(eq));
          return out.subarray(0, o);
        } else {
          out[o++] = 0x3d;
          i = eq + 1;
        }
      } else {
        const h = a >= 0 ? HEX[a] : -1;
        const l = eq + 2 < n ? HEX[data[eq + 2]] : -1;
        if (h >= 0 && l >= 0) {
          out[o++] = (h << 4) | l;
          i = eq + 3;
        } else {
          out[o++] = 0x3d;
          i = eq + 1;
        }
      }
      eq = i < n ? data.indexOf(0x3d, i) : -1;
    }
    if (i < n) o += data.copy(out, o, i, n);
    return out.subarray(0, o);
  }
}

export function decodeQuotedPrintable(data: Buffer): Buffer {
  const d = new QuotedPrintableDecoder();
  const a = d.update(data);
  const b = d.final();
  return b.length ? Buffer.concat([a, b]) : a;
}

const HEXCHARS = '0123456789ABCDEF';

/**
 * Quoted-printable encoder. Line breaks in the input (CRLF or LF) become CRLF hard breaks; lines are at most
 * `lineLength` (76) characters with soft breaks; trailing whitespace and every byte outside 33-126 is escaped.
 */
export function encodeQuotedPrintable(data: Buffer, lineLength = 76): Buffer {
  const out = Buffer.allocUnsafe(data.length * 3 + Math.ceil((data.length * 3) / (lineLength - 1)) * 3 + 8);
  let o = 0;
  let col = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const c = data[i];
    if (c === 13 && data[i + 1] === 10) continue; // CRLF handled at LF
    if (c === 10) {
      out[o++] = 13;
      out[o++] = 10;
      col = 0;
      continue;
    }
    const next = data[i + 1];
    const atLineEnd = i + 1 >= n || next === 10 || (next === 13 && data[i + 2] === 10);
    const literal = (c >= 33 && c <= 126 && c !== 61) || ((c === 32 || c === 9) && !atLineEnd);
    const width = literal ? 1 : 3;
    // keep room for the soft break "=" unless this token ends the line
    const limit = atLineEnd ? lineLength : lineLength - 1;
    if (col + width > limit) {
      out[o++] = 61;
      out[o++] = 13;
      out[o++] = 10;
      col = 0;
    }
    if (literal) {
      out[o++] = c;
    } else {
      out[o++] = 61;
      out[o++] = HEXCHARS.charCodeAt(c >> 4);
      out[o++] = HEXCHARS.charCodeAt(c & 15);
    }
    col += width;
  }
  return out.subarray(0, o);
}
