/** POP3 response lines (RFC 1939 section 3): "+OK" or "-ERR", a space and text; multi-line bodies end with ".". */
import { Pop3Error, type Pop3ResponseCode } from './error.js';

export function ok(text?: string): string {
  return text ? `+OK ${text}\r\n` : '+OK\r\n';
}

export function err(code: Pop3ResponseCode | null, text: string): string {
  return new Pop3Error(code, text).toResponse() + '\r\n';
}

/** A multi-line response whose lines are known not to start with "." (LIST, UIDL, CAPA): status, lines, ".". */
export function multiLine(status: string, lines: readonly string[]): string {
  let out = ok(status);
  for (const l of lines) out += l.charCodeAt(0) === 0x2e ? `.${l}\r\n` : `${l}\r\n`;
  return out + '.\r\n';
}

/** The SASL continuation line (RFC 5034 section 4): "+ " and the base64 challenge. */
export function continuation(base64: string): string {
  return `+ ${base64}\r\n`;
}
