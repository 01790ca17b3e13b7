/** CAPA (RFC 2449), STLS (RFC 2595) and UTF8 (RFC 6856). */
import { err, multiLine, ok } from '../../../protocol/pop3/response.js';
import type { Pop3Session } from '../session.js';
import { availableMechanisms } from './sasl.js';

/** The capability lines for this session in its current state. */
export function capabilities(session: Pop3Session): string[] {
  const { config } = session.ctx;
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', `EXPIRE ${config.expire}`, `LOGIN-DELAY ${config.login_delay}`];
  if (session.state.kind === 'authorization') {
    if (session.plaintextAuthAllowed) lines.push('USER');
    lines.push(`SASL ${availableMechanisms(session).join(' ')}`);
    if (session.tlsAvailable && !session.secure) lines.push('STLS');
  }
  lines.push('UTF8 USER', 'IMPLEMENTATION Posthorn');
  return lines;
}

export function capa(session: Pop3Session): void {
  session.write(multiLine('capability list follows', capabilities(session)));
}

export async function stls(session: Pop3Session): Promise<void> {
  if (session.secure) {
    session.write(err(null, 'TLS already active'));
    return;
  }
  if (!session.tlsAvailable) {
    session.write(err(null, 'TLS not available'));
    return;
  }
  session.write(ok('begin TLS negotiation'));
  await session.startTls();
}

export function utf8(session: Pop3Session): void {
  session.utf8 = true;
  session.write(ok('UTF8 enabled'));
}
