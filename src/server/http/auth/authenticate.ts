/**
 * Deciding the principal of a request, in this order:
 *   1. Authorization: Bearer <token>          a token of the configured kind (401 when unknown or expired)
 *   2. Authorization: Basic user:<token>      the same, for clients that only know Basic (Mailpit clients)
 *      Authorization: Basic user:password     the user's mail credentials, throttled like SMTP/POP3 logins
 *   3. the session cookie                      state changes need X-CSRF-Token equal to the session's token
 *   4. nothing                                 'open' when no login is configured, else 'none'
 * Every state change from a browser must also come from this server's own origin (origin.ts), whatever the principal.
 */
import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { AuthThrottle } from '../../auth-throttle.js';
import { HttpError } from '../errors.js';
import { readCookie } from './cookies.js';
import { crossSite, loopbackHost, UNSAFE_METHODS } from './origin.js';
import type { Principal } from './principal.js';
import type { SessionStore } from './sessions.js';
import type { TokenStore } from './tokens.js';

export interface AuthenticatorOptions {
  tokens: TokenStore;
  /** Token kind accepted by this server ("viewer"; the admin server accepts its own). */
  tokenKind: string;
  sessions: SessionStore;
  sessionKind: string;
  cookieName: string;
  /** No login required: requests without credentials act as 'open'. */
  open: boolean;
  /** Mail credentials check for Basic; resolves with the canonical user or null. Omit to refuse Basic passwords. */
  verifyPassword?: (username: string, password: string) => Promise<string | null>;
  throttle: AuthThrottle;
  /** Extra origins allowed to make state changes (http.allowed_origins). */
  allowedOrigins: readonly string[];
}

/** A verified Basic credential is remembered this long, so a script's requests do not each cost a password hash. */
const BASIC_CACHE_MS = 5 * 60_000;
const BASIC_CACHE_MAX = 1000;

export function createAuthenticator(options: AuthenticatorOptions) {
  const basicCache = new Map<string, { user: string; until: number }>();

  async function basic(header: string, clientAddress: string): Promise<Principal> {
    let decoded: string;
    try {
      decoded = Buffer.from(header, 'base64').toString('utf8');
    } catch {
      throw new HttpError(400, 'malformed Basic credentials', 'authorization');
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new HttpError(400, 'malformed Basic credentials', 'authorization');
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (password.startsWith('ph_')) return bearer(password, clientAddress);
    if (!options.verifyPassword) throw unauthorizedError('Basic passwords are not accepted here; use a token');
    const key = createHash('sha256').update(decoded).digest('hex');
    const cached = basicCache.get(key);
    if (cached && cached.until > Date.now()) return { kind: 'basic', user: cached.user };
    const verdict = options.throttle.check(clientAddress, username);
    if (!verdict.allowed) throw new HttpError(429, 'too many failed logins; try again later', undefined, { 'retry-after': String(Math.ceil(verdict.retryAfterMs / 1000)) });
    if (verdict.delayMs > 0) await new Promise((r) => setTimeout(r, verdict.delayMs));
    const user = await options.verifyPassword(username, password);
    if (!user) {
      options.throttle.recordFailure(clientAddress, username);
      throw unauthorizedError('invalid credentials');
    }
    options.throttle.recordSuccess(clientAddress, user);
    if (basicCache.size >= BASIC_CACHE_MAX) basicCache.delete(basicCache.keys().next().value!);
    basicCache.set(key, { user, until: Date.now() + BASIC_CACHE_MS });
    return { kind: 'basic', user };
  }

  function bearer(token: string, clientAddress: string): Principal {
    const check = options.tokens.verify(token);
    if (!check.ok) throw unauthorizedError(check.reason === 'expired' ? 'token expired' : 'invalid token');
    if (check.token.kind !== options.tokenKind) throw unauthorizedError('invalid token');
    if (check.token.allow && !addressAllowed(clientAddress, check.token.allow)) throw new HttpError(403, 'token not allowed from this address');
    return { kind: 'token', user: check.token.subject, token: check.token };
  }

  return async function authenticate(req: IncomingMessage, clientAddress: string, secure: boolean): Promise<Principal> {
    const method = req.method ?? 'GET';
    const unsafe = UNSAFE_METHODS.has(method);
    if (unsafe && crossSite(req, secure, options.allowedOrigins)) throw new HttpError(403, 'cross-origin request refused', 'origin');
    const authorization = req.headers.authorization;
    if (authorization) {
      const space = authorization.indexOf(' ');
      const scheme = authorization.slice(0, space < 0 ? undefined : space).toLowerCase();
      const value = space < 0 ? '' : authorization.slice(space + 1).trim();
      if (scheme === 'bearer') return bearer(value, clientAddress);
      if (scheme === 'basic') return basic(value, clientAddress);
      throw new HttpError(400, `unsupported authorization scheme "${scheme}"`, 'authorization');
    }
    const cookie = readCookie(req.headers.cookie, options.cookieName);
    if (cookie) {
      const session = options.sessions.lookup(cookie, options.sessionKind);
      if (session) {
        if (unsafe) {
          const presented = req.headers['x-csrf-token'];
          if (typeof presented !== 'string' || !equal(presented, session.csrf)) throw new HttpError(403, 'missing or wrong CSRF token', 'x-csrf-token');
        }
        return { kind: 'session', user: session.user, session };
      }
    }
    if (options.open) {
      if (!loopbackHost(req)) throw new HttpError(403, 'without login this server answers only to loopback host names', 'host');
      return { kind: 'open' };
    }
    return { kind: 'none' };
  };
}

function unauthorizedError(message: string): HttpError {
  return new HttpError(401, message, 'authorization', { 'www-authenticate': 'Bearer realm="posthorn"' });
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Is the address inside one of the CIDR networks? */
export function addressAllowed(address: string, cidrs: readonly string[]): boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/');
    const type = isIPv6(net) ? 'ipv6' : 'ipv4';
    if (!isIPv4(net) && !isIPv6(net)) continue;
    list.addSubnet(net, Number(bits ?? (type === 'ipv6' ? 128 : 32)), type);
  }
  const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
}
