/**
 * Base64 (RFC 2045 section 6.8), streaming and lenient: whitespace and other characters outside the alphabet are
 * skipped, padding is optional, and data after padding is still decoded (QUIRK: some senders concatenate encoded
 * blocks). Chunks may split anywhere.
 *
 * Fast path: a body made of equal-length lines whose length is a multiple of 4 (what every mailer writes) is decoded
 * by Node's native decoder a whole chunk at a time; anything else goes through a table-driven decoder.
 */
const TABLE = new Int16Array(256).fill(-1);
{
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) TABLE[alphabet.charCodeAt(i)] = i;
  TABLE[0x2d] = 62; // '-' and '_' (base64url) accepted leniently
  TABLE[0x5f] = 63;
}

export class Base64Decoder {
  private bits = 0;
  private nbits = 0;
  /** Bytes of an incomplete line kept for the fast path. */
  private tail: Buffer | null = null;

  update(chunk: Buffer): Buffer {
    let data = chunk;
    let head: Buffer | null = null;
    if (this.tail) {
      // finish the partial line from the last chunk on its own, so the new chunk is not copied behind it
      const nl = chunk.indexOf(10);
      const tail = this.tail;
      this.tail = null;
      if (nl < 0) data = Buffer.concat([tail, chunk]);
      else {
        head = this.slow(Buffer.concat([tail, chunk.subarray(0, nl + 1)]));
        data = chunk.subarray(nl + 1);
      }
    }
    const prefix = head && head.length ? head : null;
    if (this.nbits === 0) {
      const fast = this.fastPath(data, prefix);
      if (fast) return fast;
    }
    const body = this.slow(data);
    return prefix ? (body.length ? Buffer.concat([prefix, body]) : prefix) : body;
  }

  final(): Buffer {
    const rest = this.tail ? this.slow(this.tail) : Buffer.alloc(0);
    this.tail = null;
    this.bits = 0;
    this.nbits = 0;
    return rest;
  }

  /** Decodes whole uniform lines natively; keeps the last partial line. Returns null when the data is not uniform. */
  private fastPath(data: Buffer, prefix: Buffer | null): Buffer | null {
    const firstNl = data.indexOf(10);
    if (firstNl < 4) return null;
    const lineLen = firstNl + 1;
    const sig = data[firstNl - 1] === 13 ? firstNl - 1 : firstNl;
    if (sig % 4 !== 0 || data[sig - 1] === 0x3d) return null;
    const lastNl = data.lastIndexOf(10);
    const fullLen = lastNl + 1;
    if (fullLen % lineLen !== 0) return null;
    for (let p = firstNl; p < fullLen; p += lineLen) {
      if (data[p] !== 10 || (sig !== firstNl && data[p - 1] !== 13)) return null;
      if (TABLE[data[p - lineLen + 1]] < 0 || TABLE[data[p - 1 - (lineLen - 1 - sig)]] < 0) return null;
    }
    const expected = (fullLen / lineLen) * (sig / 4) * 3;
    const p = prefix ? prefix.length : 0;
    const out = Buffer.allocUnsafe(p + expected);
    if (prefix) prefix.copy(out, 0);
    // decode straight into the output (Buffer#write with 'base64'), no intermediate buffer
    const written = out.write(data.toString('latin1', 0, fullLen), p, 'base64');
    if (written !== expected) return null; // junk inside lines: take the careful way
    if (fullLen < data.length) this.tail = Buffer.from(data.subarray(fullLen));
    return out;
  }

  private slow(data: Buffer): Buffer {
    const out = Buffer.allocUnsafe(Math.ceil((data.length * 3) / 4) + 3);
    const n = data.length;
    let o = 0;
    let bits = this.bits;
    let nbits = this.nbits;
    let i = 0;
    while (i < n) {
      if (nbits === 0 && i + 3 < n) {
        const a = TABLE[data[i]];
        const b = TABLE[data[i + 1]];
        const c = TABLE[data[i + 2]];
        const d = TABLE[data[i + 3]];
        if ((a | b | c | d) >= 0) {
          out[o] = (a << 2) | (b >> 4);
          out[o + 1] = ((b & 15) << 4) | (c >> 2);
          out[o + 2] = ((c & 3) << 6) | d;
          o += 3;
          i += 4;
          continue;
        }
      }
      const v = TABLE[data[i++]];
      if (v < 0) continue;
      bits = ((bits << 6) | v) & 0xffffff;
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        out[o++] = (bits >> nbits) & 0xff;
        if (nbits === 0) bits = 0;
      }
    }
    this.bits = bits;
    this.nbits = nbits;
    return out.subarray(0, o);
  }
}

export function decodeBase64(data: Buffer): Buffer {
  const d = new Base64Decoder();
  const a = d.update(data);
  const b = d.final();
  return b.length ? Buffer.concat([a, b]) : a;
}

/** Base64 with CRLF line breaks every `lineLength` characters (76 by default, RFC 2045). */
export function encodeBase64Lines(data: Buffer, lineLength = 76): Buffer {
  const b64 = data.toString('base64');
  if (b64.length <= lineLength) return Buffer.from(b64 + '\r\n', 'latin1');
  const lines = Math.ceil(b64.length / lineLength);
  const out = Buffer.allocUnsafe(b64.length + lines * 2);
  let o = 0;
  for (let i = 0; i < b64.length; i += lineLength) {
    o += out.write(b64.slice(i, i + lineLength), o, 'latin1');
    out[o++] = 13;
    out[o++] = 10;
  }
  return out;
}
