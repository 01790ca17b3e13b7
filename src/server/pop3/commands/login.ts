/**
 * The common end of every authentication command (PASS, APOP, AUTH): throttling per client address and per account,
 * the credential check, LOGIN-DELAY, and opening (locking) the maildrop. Answers are the same whether the user exists
 * or not: "-ERR [AUTH]" for any credential failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { err, ok } from '../../../protocol/pop3/response.js';
import { StoreError } from '../../../store/types.js';
import type { Pop3Session } from '../session.js';
import { transactionState } from '../state.js';

/** Verify credentials; answer the canonical user address or null. */
export type Verifier = () => Promise<string | null>;

export async function attemptLogin(session: Pop3Session, account: string, mechanism: string, verify: Verifier): Promise<void> {
  const { ctx } = session;
  const verdict = ctx.throttle.check(session.remoteAddress, account);
  if (!verdict.allowed) {
    session.log.info('pop3.auth_throttled', { account, mechanism, retryAfterMs: verdict.retryAfterMs });
    session.write(err('LOGIN-DELAY', 'too many failed logins, try again later'));
    return;
  }
  if (verdict.delayMs > 0) {
    session.flush();
    await sleep(verdict.delayMs);
    if (session.isEnded) return;
  }
  let address: string | null;
  try {
    address = await verify();
  } catch (error) {
    session.log.error('pop3.auth_backend_error', { error, mechanism });
    session.write(err('SYS/TEMP', 'authentication temporarily unavailable'));
    return;
  }
  if (session.isEnded) return;
  const state = session.state;
  if (state.kind !== 'authorization') return;
  if (!address) {
    ctx.throttle.recordFailure(session.remoteAddress, account);
    state.failures++;
    session.log.info('pop3.auth_failed', { account, mechanism, failures: state.failures });
    if (state.failures >= ctx.config.auth_lockout_after) {
      // One response per command, then the close.
      session.write(err('AUTH', 'authentication failed; too many failures, closing'));
      session.endAfterReply('auth failures');
    } else {
      session.write(err('AUTH', 'authentication failed'));
    }
    return;
  }
  ctx.throttle.recordSuccess(session.remoteAddress, account);
  const now = ctx.now();
  const delayMs = ctx.config.login_delay * 1000;
  const last = ctx.lastLogin.get(address);
  if (delayMs > 0 && last !== undefined && now - last < delayMs) {
    session.write(err('LOGIN-DELAY', `minimum time between logins is ${ctx.config.login_delay} seconds`));
    return;
  }
  let maildrop;
  try {
    maildrop = await ctx.store.openMaildrop(address);
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'locked') {
      session.log.info('pop3.maildrop_in_use', { user: address });
      session.write(err('IN-USE', 'maildrop already locked, another session is active'));
    } else {
      session.log.error('pop3.maildrop_open_failed', { user: address, error });
      session.write(err('SYS/TEMP', 'unable to open maildrop'));
    }
    return;
  }
  if (session.isEnded || session.state !== state) {
    await maildrop.release();
    return;
  }
  if (delayMs > 0) {
    ctx.lastLogin.set(address, now);
    if (ctx.lastLogin.size > 100_000) pruneLastLogin(ctx.lastLogin, now - delayMs);
  }
  const transaction = transactionState(address, maildrop);
  session.state = transaction;
  session.log.info('pop3.login', { user: address, mechanism, messages: transaction.liveCount });
  session.write(ok(`maildrop has ${transaction.liveCount} messages (${transaction.liveSize} octets)`));
}

function pruneLastLogin(map: Map<string, number>, before: number): void {
  for (const [user, at] of map) if (at < before) map.delete(user);
}
