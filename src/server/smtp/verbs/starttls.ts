/** STARTTLS (RFC 3207). */
import { REPLIES } from '../../../protocol/smtp/replies.js';
import type { SmtpConnection } from '../connection.js';

export function starttls(c: SmtpConnection, arg: string): void {
  if (arg !== '') return c.reply(REPLIES.noArgsExpected);
  if (c.tls) return c.reply(REPLIES.tlsAlreadyActive);
  if (c.kind === 'local' || !c.ctx.secureContext()) return c.reply(REPLIES.tlsUnavailable);
  if (!c.esmtp) return c.reply(REPLIES.sendEhloFirst);
  c.reply(REPLIES.startTls);
  c.startTls();
}
