/**
 * MX resolution (RFC 5321 section 5.1) with node:dns: MX records in preference order, equal preferences shuffled, the
 * domain's own A/AAAA records as an implicit MX when there is no MX record, RFC 7505 null MX as a permanent failure.
 * Each MX host is resolved to its addresses through the same resolver (so a configured --dns server answers every
 * question), IPv4 before IPv6.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseHostPort } from '../config/schema.js';
import type { ReplyInfo } from './record.js';

export interface MxHost {
  host: string;
  preference: number;
  addresses: string[];
}

/** A routing failure, with the reply to record for the recipients (4xx: retry later, 5xx: bounce now). */
export class RoutingFailure extends Error {
  constructor(readonly reply: ReplyInfo) {
    super(reply.text);
    this.name = 'RoutingFailure';
  }
}

export interface DnsOptions {
  /** "HOST:PORT" of the resolver to ask; unset: the system's. */
  server?: string;
  /** Per-query timeout, ms. */
  timeoutMs?: number;
  /** Tries per query. */
  tries?: number;
  /** At most this many MX hosts are tried per attempt (Postfix smtp_mx_address_limit is 5 addresses). */
  maxHosts?: number;
}

/** The part of node:dns/promises Resolver we use (tests may pass another). */
export type MxResolver = Pick<Resolver, 'resolveMx' | 'resolve4' | 'resolve6'>;

export function createResolver(options: DnsOptions = {}): MxResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 5000, tries: options.tries ?? 2 });
  if (options.server) {
    const hp = parseHostPort(options.server);
    if (!hp) throw new Error(`dns server must be HOST:PORT, got ${JSON.stringify(options.server)}`);
    resolver.setServers([isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`]);
  }
  return resolver;
}

const NO_DATA = new Set(['ENODATA']);
const NO_DOMAIN = new Set(['ENOTFOUND', 'NXDOMAIN']);

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Resolve A then AAAA; [] when the name has neither; throws RoutingFailure (4xx) on resolver trouble. */
export async function resolveAddresses(resolver: MxResolver, host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  const out: string[] = [];
  let trouble: unknown = null;
  let nxdomain = false;
  for (const query of [() => resolver.resolve4(host), () => resolver.resolve6(host)]) {
    try {
      out.push(...(await query()));
    } catch (err) {
      if (NO_DOMAIN.has(code(err))) nxdomain = true;
      else if (!NO_DATA.has(code(err))) trouble = err;
    }
  }
  if (out.length === 0 && trouble && !nxdomain) {
    throw new RoutingFailure({ code: 451, enhanced: '4.4.3', text: `DNS lookup of ${host} failed: ${code(trouble)}` });
  }
  return out;
}

/**
 * The hosts to try for a domain, best first, each with its addresses. Throws RoutingFailure: 5xx for null MX, a
 * non-existent domain or no address at all; 4xx for DNS trouble (timeouts, SERVFAIL).
 */
export async function resolveMxHosts(
  resolver: MxResolver,
  domain: string,
  options: { random?: () => number; maxHosts?: number } = {},
): Promise<MxHost[]> {
  const random = options.random ?? Math.random;
  if (domain.startsWith('[') && domain.endsWith(']')) {
    const literal = domain.slice(1, -1).replace(/^IPv6:/i, '');
    if (!isIP(literal)) throw new RoutingFailure({ code: 550, enhanced: '5.1.2', text: `bad address literal ${domain}` });
    return [{ host: literal, preference: 0, addresses: [literal] }];
  }
  let records: Array<{ exchange: string; priority: number }> = [];
  try {
    records = await resolver.resolveMx(domain);
  } catch (err) {
    const c = code(err);
    if (NO_DOMAIN.has(c)) throw new RoutingFailure({ code: 550, enhanced: '5.1.2', text: `domain ${domain} does not exist` });
    if (!NO_DATA.has(c)) throw new RoutingFailure({ code: 451, enhanced: '4.4.3', text: `MX lookup for ${domain} failed: ${c}` });
  }
  // RFC 7505: a single MX with an empty exchange ("." on the wire) says the domain accepts no mail.
  if (records.some((r) => r.exchange === '' || r.exchange === '.')) {
    throw new RoutingFailure({ code: 556, enhanced: '5.1.10', text: `domain ${domain} does not accept mail (null MX)` });
  }
  if (records.length === 0) {
    const addresses = await resolveAddresses(resolver, domain);
    if (addresses.length === 0) throw new RoutingFailure({ code: 550, enhanced: '5.1.2', text: `domain ${domain} has no MX and no address` });
    return [{ host: domain, preference: 0, addresses }];
  }
  const byPref = new Map<number, string[]>();
  for (const r of records) {
    const host = r.exchange.replace(/\.$/, '').toLowerCase();
    const list = byPref.get(r.priority) ?? [];
    if (!list.includes(host)) list.push(host);
    byPref.set(r.priority, list);
  }
  const ordered: Array<{ host: string; preference: number }> = [];
  for (const pref of [...byPref.keys()].sort((a, b) => a - b)) {
    for (const host of shuffle(byPref.get(pref) ?? [], random)) ordered.push({ host, preference: pref });
  }
  const limited = ordered.slice(0, options.maxHosts ?? 10);
  const hosts: MxHost[] = [];
  let lastTrouble: RoutingFailure | null = null;
  for (const h of limited) {
    try {
      const addresses = await resolveAddresses(resolver, h.host);
      if (addresses.length > 0) hosts.push({ ...h, addresses });
    } catch (err) {
      if (err instanceof RoutingFailure) lastTrouble = err;
      else throw err;
    }
  }
  if (hosts.length === 0) {
    throw lastTrouble ?? new RoutingFailure({ code: 451, enhanced: '4.4.4', text: `no MX host of ${domain} has an address` });
  }
  return hosts;
}
