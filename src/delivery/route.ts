/**
 * Where a recipient domain's mail goes: a static route (domain or "*" -> host:port), the smarthost, or the domain's MX
 * hosts. Precedence: an exact static route, then the smarthost (for smarthost_domains, or every domain when that list is
 * empty), then the "*" route, then MX lookup.
 */
import { domainToASCII } from 'node:url';
import { parseHostPort } from '../config/schema.js';
import type { SmtpAuth } from './transport.js';

export interface StaticRoute {
  host: string;
  port: number;
}

export type RouteTable = ReadonlyMap<string, StaticRoute>;

export class RouteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteError';
  }
}

/** Normalise a domain for routing: ASCII (punycode) lower case, no trailing dot. "*" stays "*". */
export function normalizeDomain(domain: string): string {
  if (domain === '*') return domain;
  const trimmed = domain.trim().replace(/\.$/, '');
  if (trimmed.startsWith('[') && trimmed.endsWith(']')) return trimmed.toLowerCase();
  const ascii = domainToASCII(trimmed);
  if (!ascii) throw new RouteError(`invalid domain ${JSON.stringify(domain)}`);
  return ascii.toLowerCase();
}

/** Parse one `--route DOMAIN=HOST:PORT` value. */
export function parseRouteFlag(value: string): { domain: string; route: StaticRoute } {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new RouteError(`--route expects DOMAIN=HOST:PORT, got ${JSON.stringify(value)}`);
  const domain = normalizeDomain(value.slice(0, eq));
  const hp = parseHostPort(value.slice(eq + 1).trim());
  if (!hp || hp.port === 0) throw new RouteError(`--route ${JSON.stringify(value)}: expected HOST:PORT with a port 1-65535`);
  return { domain, route: hp };
}

/** Build the route table from config `routes` (domain -> "HOST:PORT") plus `--route` values (later ones win). */
export function buildRouteTable(config: Record<string, string> = {}, flags: readonly string[] = []): RouteTable {
  const table = new Map<string, StaticRoute>();
  for (const [domain, target] of Object.entries(config)) {
    const parsed = parseRouteFlag(`${domain}=${target}`);
    table.set(parsed.domain, parsed.route);
  }
  for (const flag of flags) {
    const parsed = parseRouteFlag(flag);
    table.set(parsed.domain, parsed.route);
  }
  return table;
}

export interface Smarthost {
  host: string;
  port: number;
  tls: 'implicit' | 'starttls' | 'opportunistic';
  verifyCertificate: boolean;
  auth?: SmtpAuth;
}

/**
 * Parse a smarthost URL:
 *   smtps://user:pass@host[:465]          TLS from the start, certificate verified
 *   smtp+starttls://user:pass@host[:587]  STARTTLS required, certificate verified
 *   smtp://host[:25]                      STARTTLS when offered (AUTH is then only sent after STARTTLS succeeded)
 * Query options: auth=plain|login|cram-md5 forces a mechanism; verify=false accepts any certificate (test setups).
 * user and password are percent-decoded ("%40" for "@").
 */
export function parseSmarthostUrl(value: string): Smarthost {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RouteError(`smarthost ${JSON.stringify(redact(value))} is not a URL`);
  }
  const schemes: Record<string, { tls: Smarthost['tls']; port: number }> = {
    'smtp:': { tls: 'opportunistic', port: 25 },
    'smtps:': { tls: 'implicit', port: 465 },
    'smtp+starttls:': { tls: 'starttls', port: 587 },
  };
  const scheme = schemes[url.protocol];
  if (!scheme) throw new RouteError(`smarthost scheme must be smtp://, smtps:// or smtp+starttls://, got ${url.protocol}//`);
  if (!url.hostname) throw new RouteError('smarthost URL has no host');
  const port = url.port ? Number(url.port) : scheme.port;
  let verifyCertificate = scheme.tls !== 'opportunistic';
  let mechanism: SmtpAuth['mechanism'];
  for (const [key, v] of url.searchParams) {
    if (key === 'verify') {
      if (v !== 'true' && v !== 'false') throw new RouteError('smarthost option verify must be true or false');
      verifyCertificate = v === 'true';
    } else if (key === 'auth') {
      const m = v.toUpperCase();
      if (m !== 'PLAIN' && m !== 'LOGIN' && m !== 'CRAM-MD5') throw new RouteError('smarthost option auth must be plain, login or cram-md5');
      mechanism = m;
    } else {
      throw new RouteError(`unknown smarthost option ${JSON.stringify(key)}`);
    }
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const result: Smarthost = { host, port, tls: scheme.tls, verifyCertificate };
  if (url.username || url.password) {
    result.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
    if (mechanism) result.auth.mechanism = mechanism;
  } else if (mechanism) {
    throw new RouteError('smarthost option auth given without user:password');
  }
  return result;
}

function redact(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

export type Destination =
  | { kind: 'static'; key: string; route: StaticRoute }
  | { kind: 'smarthost'; key: string; smarthost: Smarthost }
  | { kind: 'mx'; key: string; domain: string };

export interface RoutingConfig {
  routes: RouteTable;
  smarthost?: Smarthost;
  /** Normalised domains relayed via the smarthost; empty: all. */
  smarthostDomains: ReadonlySet<string>;
}

/** Decide where mail for `domain` goes. The key groups recipients that share a connection and a concurrency slot. */
export function destinationFor(domainIn: string, cfg: RoutingConfig): Destination {
  const domain = normalizeDomain(domainIn);
  const exact = cfg.routes.get(domain);
  if (exact) return { kind: 'static', key: `route:${exact.host}:${exact.port}`, route: exact };
  if (cfg.smarthost && (cfg.smarthostDomains.size === 0 || cfg.smarthostDomains.has(domain))) {
    return { kind: 'smarthost', key: 'smarthost', smarthost: cfg.smarthost };
  }
  const star = cfg.routes.get('*');
  if (star) return { kind: 'static', key: `route:${star.host}:${star.port}`, route: star };
  return { kind: 'mx', key: `mx:${domain}`, domain };
}
