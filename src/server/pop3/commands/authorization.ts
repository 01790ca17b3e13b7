/** AUTHORIZATION state: USER, PASS, APOP and QUIT (RFC 1939 sections 5 and 7). */
import type { Pop3Command } from '../../../protocol/pop3/command.js';
import { err, ok } from '../../../protocol/pop3/response.js';
import { verifyApop } from '../../../protocol/sasl/verify.js';
import type { Pop3Session } from '../session.js';
import { attemptLogin } from './login.js';

const PLAINTEXT_REFUSED = 'plaintext authentication disallowed on non-secure connections, use STLS';

/** USER answers the same whether the name exists or not (no user enumeration). */
export function user(session: Pop3Session, command: Pop3Command): void {
  const state = session.state;
  if (state.kind !== 'authorization') return;
  if (!session.plaintextAuthAllowed) {
    session.write(err('AUTH', PLAINTEXT_REFUSED));
    return;
  }
  const name = command.rest.trim();
  if (!name) {
    session.write(err(null, 'USER needs a name'));
    return;
  }
  state.user = name;
  session.write(ok('send PASS'));
}

export async function pass(session: Pop3Session, command: Pop3Command): Promise<void> {
  const state = session.state;
  if (state.kind !== 'authorization') return;
  if (!session.plaintextAuthAllowed) {
    session.write(err('AUTH', PLAINTEXT_REFUSED));
    return;
  }
  const name = state.user;
  if (name === null) {
    session.write(err(null, 'USER first'));
    return;
  }
  state.user = null;
  const password = command.rest;
  await attemptLogin(session, name, 'USER', () => session.ctx.directory.authenticate(name, password));
}

/** APOP name digest: MD5(timestamp + secret), only for users with the legacy-auth opt-in. */
export async function apop(session: Pop3Session, command: Pop3Command): Promise<void> {
  const state = session.state;
  if (state.kind !== 'authorization') return;
  const [name, digest] = command.args;
  if (!/^[0-9a-fA-F]{32}$/.test(digest)) {
    session.write(err(null, 'APOP digest must be 32 hex digits'));
    return;
  }
  state.user = null;
  await attemptLogin(session, name, 'APOP', () => verifyApop(session.ctx.directory, name, session.timestamp, digest));
}

export function quitAuthorization(session: Pop3Session): void {
  session.write(ok(`${session.ctx.hostname} POP3 server signing off`));
  session.endAfterReply('quit');
}
