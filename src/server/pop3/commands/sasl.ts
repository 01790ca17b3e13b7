/**
 * AUTH (RFC 5034): SASL PLAIN, LOGIN and CRAM-MD5 with an optional initial response ("=" is an empty one), "*"
 * cancels. Plain AUTH with no argument lists the mechanisms (RFC 1734 clients probe this way). PLAIN and LOGIN carry
 * the password in the clear and are refused before TLS unless the listener allows insecure auth; CRAM-MD5 works only
 * for users with the legacy-auth opt-in (the directory has no plain secret for anyone else).
 */
import type { Pop3Command } from '../../../protocol/pop3/command.js';
import { continuation, err, multiLine } from '../../../protocol/pop3/response.js';
import { parseMechanism, SaslExchange, SASL_MECHANISMS, type SaslMechanism, type SaslStep } from '../../../protocol/sasl/mechanisms.js';
import { verifySaslCredentials } from '../../../protocol/sasl/verify.js';
import type { Pop3Session } from '../session.js';
import { attemptLogin } from './login.js';

/** The mechanisms this session may use now. */
export function availableMechanisms(session: Pop3Session): SaslMechanism[] {
  return SASL_MECHANISMS.filter((m) => m === 'CRAM-MD5' || session.plaintextAuthAllowed);
}

export async function auth(session: Pop3Session, command: Pop3Command): Promise<void> {
  const state = session.state;
  if (state.kind !== 'authorization') return;
  if (command.args.length === 0) {
    session.write(multiLine('SASL mechanisms follow', availableMechanisms(session)));
    return;
  }
  const mechanism = parseMechanism(command.args[0]);
  if (!mechanism) {
    session.write(err(null, 'unsupported authentication mechanism'));
    return;
  }
  if (!availableMechanisms(session).includes(mechanism)) {
    session.write(err('AUTH', 'plaintext authentication disallowed on non-secure connections, use STLS'));
    return;
  }
  state.user = null;
  const exchange = new SaslExchange(mechanism, { hostname: session.ctx.hostname });
  let step: SaslStep = exchange.start(command.args[1]);
  while (step.kind === 'challenge') {
    session.write(continuation(step.challenge));
    const event = await session.readLine();
    if (!event) return;
    step = event.kind === 'too-long' ? { kind: 'error', reason: 'too-long' } : exchange.step(event.line.toString('latin1'));
  }
  if (step.kind === 'error') {
    if (step.reason === 'cancelled') {
      session.write(err(null, 'authentication cancelled'));
    } else {
      session.ctx.throttle.recordFailure(session.remoteAddress);
      session.write(err(null, step.reason === 'too-long' ? 'SASL response too long' : 'invalid SASL response'));
    }
    return;
  }
  const credentials = step.credentials;
  await attemptLogin(session, credentials.username, `AUTH ${mechanism}`, () => verifySaslCredentials(session.ctx.directory, credentials));
}
