/**
 * Incremental SMTP reply parser (RFC 5321 4.2). Bytes in, complete replies out. Bounded: a line longer than
 * maxLineLength or a reply with more than maxLines lines is a protocol error, never unbounded buffering. No regular
 * expressions run over untrusted text except anchored, fixed-length ones.
 */
import { SmtpError } from '../../protocol/smtp/error.js';

export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code when the first line carries one matching the reply class ("5.1.1"). */
  enhancedCode: string | null;
  /** Text of every line, without code, separator or enhanced code of the first line. */
  lines: string[];
}

export interface ReplyLimits {
  /** Longest reply line in octets including CRLF (RFC 5321 asks for 512; servers exceed it, so the default is wider). */
  maxLineLength?: number;
  /** Most lines in one multi-line reply (an EHLO reply has a few dozen at most). */
  maxLines?: number;
}

export const DEFAULT_MAX_REPLY_LINE = 4096;
export const DEFAULT_MAX_REPLY_LINES = 128;

/** Thrown (as an SmtpError with code 0) when the server's reply is malformed or exceeds a limit. */
export class ReplyProtocolError extends SmtpError {
  constructor(message: string) {
    super(0, null, message);
    this.name = 'ReplyProtocolError';
  }
}

export function replyText(reply: SmtpReply): string {
  return `${reply.code}${reply.enhancedCode ? ' ' + reply.enhancedCode : ''} ${reply.lines.join(' / ')}`.trimEnd();
}

export function replyToError(reply: SmtpReply, context: string): SmtpError {
  const text = reply.lines.join(' ');
  return new SmtpError(reply.code, reply.enhancedCode, `${context}: ${reply.code}${reply.enhancedCode ? ' ' + reply.enhancedCode : ''} ${text}`.trimEnd());
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** "x.y.z" with x = 2, 4 or 5 (matching the reply class), y 1-3 digits, z 1-3 digits, then space or end. */
function parseEnhanced(text: string, replyClass: string): { code: string | null; rest: string } {
  if (text.length < 5 || text[0] !== replyClass || text[1] !== '.') return { code: null, rest: text };
  let i = 2;
  const start2 = i;
  while (i < text.length && i - start2 < 4 && isDigit(text.charCodeAt(i))) i++;
  if (i === start2 || i - start2 > 3 || text[i] !== '.') return { code: null, rest: text };
  i++;
  const start3 = i;
  while (i < text.length && i - start3 < 4 && isDigit(text.charCodeAt(i))) i++;
  if (i === start3 || i - start3 > 3) return { code: null, rest: text };
  if (i < text.length && text[i] !== ' ') return { code: null, rest: text };
  return { code: text.slice(0, i), rest: text.slice(i + 1) };
}

export class ReplyReader {
  private readonly maxLineLength: number;
  private readonly maxLines: number;
  private partial: Buffer[] = [];
  private partialLength = 0;
  private current: { code: number; lines: string[]; firstText: string } | null = null;

  constructor(limits: ReplyLimits = {}) {
    this.maxLineLength = limits.maxLineLength ?? DEFAULT_MAX_REPLY_LINE;
    this.maxLines = limits.maxLines ?? DEFAULT_MAX_REPLY_LINES;
  }

  /** True when bytes of an unfinished line or reply are buffered. */
  get pending(): boolean {
    return this.partialLength > 0 || this.current !== null;
  }

  /** Feed bytes; returns every reply completed by them. Throws ReplyProtocolError on malformed or oversized input. */
  push(chunk: Buffer): SmtpReply[] {
    const out: SmtpReply[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const lf = chunk.indexOf(0x0a, pos);
      if (lf === -1) {
        this.partialLength += chunk.length - pos;
        if (this.partialLength > this.maxLineLength) throw new ReplyProtocolError(`server reply line longer than ${this.maxLineLength} octets`);
        this.partial.push(chunk.subarray(pos));
        break;
      }
      const lineLength = this.partialLength + (lf + 1 - pos);
      if (lineLength > this.maxLineLength) throw new ReplyProtocolError(`server reply line longer than ${this.maxLineLength} octets`);
      let line: Buffer;
      if (this.partial.length) {
        this.partial.push(chunk.subarray(pos, lf));
        line = Buffer.concat(this.partial);
        this.partial = [];
        this.partialLength = 0;
      } else {
        line = chunk.subarray(pos, lf);
      }
      pos = lf + 1;
      const reply = this.line(line);
      if (reply) out.push(reply);
    }
    return out;
  }

  private line(raw: Buffer): SmtpReply | null {
    const end = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.length - 1 : raw.length;
    if (end < 3 || !isDigit(raw[0]) || !isDigit(raw[1]) || !isDigit(raw[2]) || raw[0] < 0x32 || raw[0] > 0x35) {
      throw new ReplyProtocolError(`malformed server reply line: ${JSON.stringify(raw.subarray(0, 80).toString('latin1'))}`);
    }
    const code = (raw[0] - 0x30) * 100 + (raw[1] - 0x30) * 10 + (raw[2] - 0x30);
    const sep = end > 3 ? raw[3] : 0x20;
    if (sep !== 0x20 && sep !== 0x2d) throw new ReplyProtocolError(`malformed server reply line (separator): ${JSON.stringify(raw.subarray(0, 80).toString('latin1'))}`);
    const text = end > 4 ? raw.toString('utf8', 4, end) : '';
    if (this.current === null) {
      this.current = { code, lines: [], firstText: text };
    } else if (this.current.code !== code) {
      throw new ReplyProtocolError(`server reply changed code within a multi-line reply (${this.current.code} then ${code})`);
    }
    this.current.lines.push(text);
    if (this.current.lines.length > this.maxLines) throw new ReplyProtocolError(`server reply longer than ${this.maxLines} lines`);
    if (sep === 0x2d) return null;
    const done = this.current;
    this.current = null;
    const { code: enhancedCode, rest } = parseEnhanced(done.firstText, String(done.code)[0]);
    if (enhancedCode) done.lines[0] = rest;
    return { code: done.code, enhancedCode, lines: done.lines };
  }
}
