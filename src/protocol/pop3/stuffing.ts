/**
 * Byte-stuffing for POP3 multi-line responses (RFC 1939 section 3): a line that starts with "." gets another "."
 * in front; the response ends with CRLF "." CRLF. The one-buffer path returns its input untouched when nothing needs
 * stuffing (the common case), so a message goes to the socket without a copy.
 */
const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;

export const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');
const LF_DOT = Buffer.from('\n.');
/** Dots not at a line start that indexOfLineDot() skips one by one before it switches to a two-octet search. */
const DOT_SKIPS = 8;

/**
 * The same as data.indexOf('\n.', from), faster in the common case. A search for the single octet "." is a memchr
 * (a 10 KB message without dots costs well under a microsecond, against several for the two-octet search); text full
 * of dots (prose) would make that slow, so after DOT_SKIPS dots that do not start a line it finishes with the
 * two-octet search.
 */
export function indexOfLineDot(data: Buffer, from: number): number {
  let dot = data.indexOf(DOT, from + 1);
  for (let skipped = 0; dot >= 0; skipped++) {
    if (data[dot - 1] === LF) return dot - 1;
    if (skipped === DOT_SKIPS) return data.indexOf(LF_DOT, dot);
    dot = data.indexOf(DOT, dot + 1);
  }
  return -1;
}

/**
 * Stuff a whole message (or, with `atLineStart` false, a chunk that continues a line). Returns the same Buffer when
 * no line starts with ".".
 */
export function stuffBuffer(data: Buffer, atLineStart = true): Buffer {
  const leading = atLineStart && data.length > 0 && data[0] === DOT;
  let at = indexOfLineDot(data, 0);
  if (!leading && at < 0) return data;
  let count = leading ? 1 : 0;
  while (at >= 0) {
    count++;
    at = indexOfLineDot(data, at + 2);
  }
  const out = Buffer.allocUnsafe(data.length + count);
  let from = 0;
  let to = 0;
  if (leading) out[to++] = DOT;
  at = indexOfLineDot(data, 0);
  while (at >= 0) {
    to += data.copy(out, to, from, at + 1);
    out[to++] = DOT;
    from = at + 1;
    at = indexOfLineDot(data, at + 2);
  }
  data.copy(out, to, from);
  return out;
}

/** The end of a multi-line response for a message with this last content: ".\r\n", or "\r\n.\r\n" when it lacks a final CRLF. */
export function terminatorFor(data: Buffer): Buffer {
  if (data.length === 0 || (data.length >= 2 && data[data.length - 2] === CR && data[data.length - 1] === LF)) return TERMINATOR;
  return CRLF_TERMINATOR;
}

/** Streaming stuffer: keeps whether the next byte starts a line across chunks. */
export class DotStuffer {
  private atLineStart = true;
  private last2 = -1;
  private last1 = -1;

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const out = stuffBuffer(chunk, this.atLineStart);
    this.last2 = chunk.length >= 2 ? chunk[chunk.length - 2] : this.last1;
    this.last1 = chunk[chunk.length - 1];
    this.atLineStart = this.last1 === LF;
    return out;
  }

  /** The terminator, given everything pushed so far. */
  end(): Buffer {
    if (this.last1 === -1 || (this.last2 === CR && this.last1 === LF)) return TERMINATOR;
    return CRLF_TERMINATOR;
  }
}
