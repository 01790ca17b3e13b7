/**
 * Cross-site request checks. A browser on another site can make a visitor's browser send requests here (CSRF) or
 * point a host name of its own at 127.0.0.1 (DNS rebinding); these checks refuse both:
 *   - an Origin header, when present, must be this server's own origin or one configured in http.allowed_origins;
 *   - Sec-Fetch-Site "cross-site" is refused for state changes;
 *   - without login (developer mode on loopback), the Host header must name a loopback address or localhost.
 */
import type { IncomingMessage } from 'node:http';

/** The origin the request was addressed to, from its Host header ("http://127.0.0.1:8025"). */
export function ownOrigin(req: IncomingMessage, secure: boolean): string | null {
  const host = req.headers.host;
  if (!host || /[\s/\\@]/.test(host)) return null;
  return `${secure ? 'https' : 'http'}://${host.toLowerCase()}`;
}

export function originAllowed(req: IncomingMessage, secure: boolean, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const own = ownOrigin(req, secure);
  const o = origin.toLowerCase();
  return (own !== null && o === own) || allowed.includes(o);
}

/** True when a browser says the request comes from another site (never true for curl, SDKs, test clients). */
export function crossSite(req: IncomingMessage, secure: boolean, allowed: readonly string[]): boolean {
  if (!originAllowed(req, secure, allowed)) return true;
  return req.headers['sec-fetch-site'] === 'cross-site' && req.headers.origin === undefined;
}

/** The Host header names this machine by a loopback address or "localhost" (defence against DNS rebinding). */
export function loopbackHost(req: IncomingMessage): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name) || name === '::1';
}

export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
