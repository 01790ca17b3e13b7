/**
 * Login, logout and "who am I" for browser sessions, shared by the viewer and the admin pages:
 *   POST {prefix}/login    {"username", "password"} -> 200 {"user", "csrf"} and the session cookie; 401; 429 throttled
 *   POST {prefix}/logout   ends the session (needs the CSRF token like every state change)
 *   GET  {prefix}/session  200 {"user", "csrf", "mode"} for a session, {"user": null, "mode"} otherwise
 * Failed logins count in the AuthThrottle the SMTP and POP3 servers use, per client address and per account.
 */
import { z } from 'zod';
import type { Logger } from '../../../observability/log.js';
import type { AuthThrottle } from '../../auth-throttle.js';
import { HttpError } from '../errors.js';
import { sendJson } from '../respond.js';
import type { Router } from '../router.js';
import type { RouteHandler } from '../server.js';
import { clearedCookie, sessionCookie } from './cookies.js';
import { principalUser } from './principal.js';
import type { SessionStore } from './sessions.js';

export interface LoginRoutesOptions {
  prefix: string;
  sessions: SessionStore;
  sessionKind: string;
  cookieName: string;
  /** Check credentials; resolves with the canonical user name or null. */
  verifyPassword: (username: string, password: string) => Promise<string | null>;
  throttle: AuthThrottle;
  /** Session lifetime for the cookie's Max-Age, seconds. */
  maxAgeSeconds: number;
  logger: Logger;
  /** 'login' or 'open', reported by GET session so the UI knows whether to show a login form. */
  mode: 'login' | 'open';
}

const loginBody = z.strictObject({
  username: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});

export function addLoginRoutes(router: Router<RouteHandler>, o: LoginRoutesOptions): void {
  router.post(`${o.prefix}/login`, async (ctx) => {
    const ct = ctx.req.headers['content-type'] ?? '';
    // JSON only: a cross-site HTML form cannot send it without a CORS preflight (login CSRF).
    if (!ct.startsWith('application/json')) throw new HttpError(415, 'login expects application/json', 'content-type');
    const { username, password } = await ctx.json(loginBody, 16 * 1024);
    const verdict = o.throttle.check(ctx.clientAddress, username);
    if (!verdict.allowed) {
      throw new HttpError(429, 'too many failed logins; try again later', undefined, { 'retry-after': String(Math.ceil(verdict.retryAfterMs / 1000)) });
    }
    if (verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
    const user = await o.verifyPassword(username, password);
    if (!user) {
      o.throttle.recordFailure(ctx.clientAddress, username);
      o.logger.info('http.login_failed', { client: ctx.clientAddress });
      throw new HttpError(401, 'invalid user name or password');
    }
    o.throttle.recordSuccess(ctx.clientAddress, user);
    const { cookie, session } = o.sessions.create(o.sessionKind, user);
    o.logger.info('http.login', { client: ctx.clientAddress, user, session: session.id });
    sendJson(ctx.res, 200, { user, csrf: session.csrf }, { 'set-cookie': sessionCookie(o.cookieName, cookie, { secure: ctx.secure, maxAgeSeconds: o.maxAgeSeconds }) });
  });

  router.post(`${o.prefix}/logout`, (ctx) => {
    if (ctx.principal.kind === 'session') o.sessions.end(ctx.principal.session.id);
    sendJson(ctx.res, 200, { user: null }, { 'set-cookie': clearedCookie(o.cookieName, { secure: ctx.secure }) });
  });

  router.get(`${o.prefix}/session`, (ctx) => {
    const p = ctx.principal;
    sendJson(ctx.res, 200, {
      user: principalUser(p),
      csrf: p.kind === 'session' ? p.session.csrf : null,
      mode: o.mode,
      via: p.kind,
    });
  });
}
