/**
 * AUTH (RFC 4954) on top of the shared SASL exchanges (src/protocol/sasl): PLAIN, LOGIN, CRAM-MD5, with or without an
 * initial response; "*" cancels (501); failed logins are throttled per client address and per account.
 */
import { parseMechanism, SaslExchange, type SaslCredentials, type SaslStep } from '../../../protocol/sasl/mechanisms.js';
import { verifySaslCredentials } from '../../../protocol/sasl/verify.js';
import { REPLIES } from '../../../protocol/smtp/replies.js';
import type { SmtpConnection } from '../connection.js';
import { authOffered, mechanismsFor } from '../policy.js';

export function auth(c: SmtpConnection, arg: string): Promise<void> | void {
  if (!authOffered(c.kind, c.ctx.config)) return c.reply(REPLIES.authNotAvailable);
  if (!c.esmtp) return c.reply(REPLIES.sendEhloFirst);
  if (c.user !== null) return c.reply(REPLIES.authAlready);
  if (c.txn) return c.reply(REPLIES.authInTransaction);
  const parts = arg.split(' ');
  if (parts.length > 2 || parts[0] === '') return c.reply(REPLIES.syntax);
  const mechanism = parseMechanism(parts[0]);
  if (!mechanism) return c.reply(REPLIES.authUnknownMechanism);
  if (!mechanismsFor(c.tls, c.ctx.config).includes(mechanism)) {
    return c.reply(mechanismsFor(true, c.ctx.config).includes(mechanism) ? REPLIES.authNeedsTls : REPLIES.authUnknownMechanism);
  }
  const verdict = c.ctx.throttle.check(c.remoteAddress);
  if (!verdict.allowed) return c.reply(REPLIES.authThrottled);
  const exchange = new SaslExchange(mechanism, { hostname: c.ctx.hostname, maxResponseLength: c.ctx.saslMaxLine - 2 });
  return step(c, exchange.start(parts[1]), exchange);
}

/** One response line from the client during an exchange. */
export function authLine(c: SmtpConnection, exchange: SaslExchange, line: Buffer): Promise<void> | void {
  return step(c, exchange.step(line.toString('latin1')), exchange);
}

function step(c: SmtpConnection, result: SaslStep, exchange: SaslExchange): Promise<void> | void {
  switch (result.kind) {
    case 'challenge':
      c.replyText(334, null, result.challenge);
      c.setMode({ kind: 'auth', exchange });
      return;
    case 'error':
      c.enterCommand();
      switch (result.reason) {
        case 'cancelled':
          return c.reply(REPLIES.authCancelled);
        case 'bad-base64':
          return c.reply(REPLIES.authBadBase64);
        case 'too-long':
          return c.reply(REPLIES.authLineTooLong);
        default:
          return c.reply(REPLIES.authMalformed);
      }
    case 'credentials':
      c.enterCommand();
      return verify(c, result.credentials);
  }
}

async function verify(c: SmtpConnection, credentials: SaslCredentials): Promise<void> {
  const { throttle, directory, logger } = c.ctx;
  const verdict = throttle.check(c.remoteAddress, credentials.username);
  if (!verdict.allowed) return c.reply(REPLIES.authThrottled);
  if (verdict.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, verdict.delayMs));
  let user: string | null;
  try {
    user = await verifySaslCredentials(directory, credentials);
  } catch (err) {
    logger.warn('smtp.auth_error', { client: c.remoteAddress, error: err });
    return c.reply(REPLIES.authTemporary);
  }
  if (c.isClosed) return;
  if (user === null) {
    throttle.recordFailure(c.remoteAddress, credentials.username);
    logger.info('smtp.auth_failed', { client: c.remoteAddress, mechanism: credentials.mechanism });
    return c.reply(REPLIES.authFailed);
  }
  throttle.recordSuccess(c.remoteAddress, user);
  c.user = user;
  logger.info('smtp.auth_ok', { client: c.remoteAddress, mechanism: credentials.mechanism, user });
  c.reply(REPLIES.authOk);
}
