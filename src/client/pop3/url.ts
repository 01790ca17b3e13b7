/**
 * POP3 URLs for `posthorn fetch`: pop3:// (STLS when offered, port 110), pop3+stls:// (STLS required), pop3s://
 * (implicit TLS, port 995); user and password percent-encoded; query: tls=off|stls|opportunistic|implicit,
 * auth=user|apop|plain|login|cram-md5, ca=FILE, servername=NAME, verify=false.
 */
import { readFileSync } from 'node:fs';
import type { Pop3AuthMethod, Pop3ClientOptions, Pop3TlsMode } from './client.js';

export interface ParsedPop3Url {
  server: Pop3ClientOptions;
  user: string;
  password: string | null;
  auth?: Pop3AuthMethod;
}

const SCHEMES: Record<string, { tls: Pop3TlsMode; port: number }> = {
  'pop3:': { tls: 'opportunistic', port: 110 },
  'pop3+stls:': { tls: 'stls', port: 110 },
  'pop3s:': { tls: 'implicit', port: 995 },
};

export function parsePop3Url(text: string): ParsedPop3Url {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a POP3 URL: expected pop3://user@host, pop3s://user@host or pop3+stls://user@host`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new Error(`unsupported scheme "${url.protocol}" (expected pop3://, pop3s:// or pop3+stls://)`);
  if (!url.username) throw new Error('the POP3 URL needs a user: pop3s://USER@HOST');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new Error('bad percent-encoding in the POP3 URL');
    }
  };
  const q = url.searchParams;
  const server: Pop3ClientOptions = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : scheme.port,
    tls: scheme.tls,
  };
  const tls = q.get('tls');
  if (tls) {
    if (!['off', 'stls', 'opportunistic', 'implicit'].includes(tls)) throw new Error(`tls=${tls}: expected off, stls, opportunistic or implicit`);
    server.tls = tls as Pop3TlsMode;
  }
  const ca = q.get('ca');
  if (ca) server.ca = readFileSync(ca);
  const servername = q.get('servername');
  if (servername) server.servername = servername;
  const verify = q.get('verify');
  if (verify !== null) server.rejectUnauthorized = !['0', 'false', 'no', 'off'].includes(verify.toLowerCase());
  let auth: Pop3AuthMethod | undefined;
  const a = q.get('auth');
  if (a) {
    const upper = a.toUpperCase();
    if (!['USER', 'APOP', 'PLAIN', 'LOGIN', 'CRAM-MD5'].includes(upper)) throw new Error(`auth=${a}: expected user, apop, plain, login or cram-md5`);
    auth = upper as Pop3AuthMethod;
  }
  return { server, user: decode(url.username), password: url.password ? decode(url.password) : null, auth };
}
