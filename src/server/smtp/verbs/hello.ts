/** HELO and EHLO (RFC 5321 4.1.1.1) and the extensions EHLO advertises. */
import type { SmtpConnection } from '../connection.js';
import { authOffered, mechanismsFor } from '../policy.js';

const HELLO_ARG = /^[\x21-\x7e\u0080-\uFFFF]+$/;

function greetingName(c: SmtpConnection, arg: string): string | null {
  const name = arg.trim();
  return HELLO_ARG.test(name) ? name : null;
}

function hello(c: SmtpConnection, name: string, esmtp: boolean): void {
  // RFC 5321 4.1.4: HELO/EHLO in a session resets any transaction, like RSET.
  void c.abortTransaction();
  c.helo = name;
  c.esmtp = esmtp;
}

export function helo(c: SmtpConnection, arg: string): void {
  const name = greetingName(c, arg);
  if (!name) return c.replyText(501, '5.5.4', 'Syntax: HELO hostname');
  hello(c, name, false);
  c.replyText(250, null, `${c.ctx.hostname} Hello ${name}`);
}

export function ehlo(c: SmtpConnection, arg: string): void {
  const name = greetingName(c, arg);
  if (!name) return c.replyText(501, '5.5.4', 'Syntax: EHLO hostname');
  hello(c, name, true);
  c.replyText(250, null, [`${c.ctx.hostname} Hello ${name}`, ...extensions(c)]);
}

export function extensions(c: SmtpConnection): string[] {
  const config = c.ctx.config;
  const lines = ['PIPELINING', `SIZE ${config.max_message_size}`, '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING', 'BINARYMIME', 'DSN'];
  if (!c.tls && c.kind !== 'local' && c.ctx.secureContext()) lines.push('STARTTLS');
  if (authOffered(c.kind, config) && c.user === null) lines.push(`AUTH ${mechanismsFor(c.tls, config).join(' ')}`);
  lines.push('HELP');
  return lines;
}
