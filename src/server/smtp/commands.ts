/** Verb table: every command the server knows, each handled in one small file under verbs/. */
import type { CommandLine } from '../../protocol/smtp/command.js';
import { REPLIES } from '../../protocol/smtp/replies.js';
import type { SmtpConnection } from './connection.js';
import { ehlo, helo } from './verbs/hello.js';
import { mail, rcpt } from './verbs/mail.js';
import { data } from './verbs/data.js';
import { bdat } from './verbs/bdat.js';
import { auth } from './verbs/auth.js';
import { starttls } from './verbs/starttls.js';
import { expn, help, noop, notImplemented, quit, rset, vrfy } from './verbs/misc.js';

type Handler = (c: SmtpConnection, arg: string) => Promise<void> | void;

const VERBS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['HELO', helo],
  ['EHLO', ehlo],
  ['MAIL', mail],
  ['RCPT', rcpt],
  ['DATA', data],
  ['BDAT', bdat],
  ['RSET', rset],
  ['NOOP', noop],
  ['QUIT', quit],
  ['VRFY', vrfy],
  ['EXPN', expn],
  ['HELP', help],
  ['AUTH', auth],
  ['STARTTLS', starttls],
  ['TURN', notImplemented],
  ['ETRN', notImplemented],
]);

export function dispatch(c: SmtpConnection, cmd: CommandLine): Promise<void> | void {
  const handler = VERBS.get(cmd.verb);
  if (!handler) {
    c.reply(REPLIES.unknownCommand);
    return;
  }
  if (cmd.invalidUtf8) {
    c.reply(REPLIES.syntax);
    return;
  }
  return handler(c, cmd.arg);
}
