/** RSET, NOOP, QUIT, VRFY, EXPN, HELP, and the refused TURN/ETRN (RFC 5321 4.1.1.5-4.1.1.10, 4.1.4). */
import { REPLIES } from '../../../protocol/smtp/replies.js';
import type { SmtpConnection } from '../connection.js';

export function rset(c: SmtpConnection, arg: string): void {
  if (arg.trim() !== '') return c.reply(REPLIES.noArgsExpected);
  void c.abortTransaction();
  c.reply(REPLIES.reset);
}

export function noop(c: SmtpConnection): void {
  // RFC 5321 4.1.1.9: a parameter to NOOP is allowed and ignored.
  c.reply(REPLIES.ok);
}

export function quit(c: SmtpConnection, arg: string): void {
  if (arg.trim() !== '') return c.reply(REPLIES.noArgsExpected);
  c.reply(REPLIES.bye);
  c.close();
}

/** RFC 5321 3.5.3: 252 when the server will not verify; never reveals whether a user exists. */
export function vrfy(c: SmtpConnection, arg: string): void {
  if (arg.trim() === '') return c.reply(REPLIES.syntax);
  c.reply(REPLIES.vrfy);
}

export function expn(c: SmtpConnection, arg: string): void {
  if (arg.trim() === '') return c.reply(REPLIES.syntax);
  c.reply(REPLIES.expn);
}

export function help(c: SmtpConnection): void {
  c.reply(REPLIES.help);
}

/** TURN (obsolete; RFC 821 allows refusing it with 502) and ETRN (not offered). */
export function notImplemented(c: SmtpConnection): void {
  c.reply(REPLIES.notImplemented);
}
