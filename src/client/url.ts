/**
 * SMTP URLs: smtp://, smtps:// (implicit TLS, port 465) and smtp+starttls:// (STARTTLS required, port 587), with
 * percent-encoded user:password and optional query options:
 *   tls=off|starttls|opportunistic|implicit  name=EHLO-NAME  auth=PLAIN|LOGIN|CRAM-MD5|XOAUTH2 (XOAUTH2: password is
 *   the access token)  ca=/path/to/cert.pem  servername=NAME  verify=false  pool=N  bdat=1  pipelining=0
 * Example: smtps://me%40example.com:p%40ss@smtp.example.com  or  smtp+starttls://user:pw@mail.example.com:587
 */
import { readFileSync } from 'node:fs';
import type { ClientAuthMechanism } from './smtp/auth.js';
import type { SmtpClientOptions, TlsMode } from './smtp/connection.js';

export class SmtpUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmtpUrlError';
  }
}

export interface ParsedSmtpUrl extends SmtpClientOptions {
  /** pool=N in the query: use a pool of N connections. */
  poolSize?: number;
}

const SCHEMES: Record<string, { tls: TlsMode; port: number }> = {
  'smtp:': { tls: 'opportunistic', port: 587 },
  'smtps:': { tls: 'implicit', port: 465 },
  'smtp+starttls:': { tls: 'starttls', port: 587 },
};

const TLS_MODES: TlsMode[] = ['off', 'starttls', 'opportunistic', 'implicit'];
const MECHANISMS: ClientAuthMechanism[] = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'];

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new SmtpUrlError(`bad percent-encoding in the SMTP URL ${what}`);
  }
}

/** Never include the password in messages: this is the URL with the password replaced by "***". */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function parseSmtpUrl(text: string): ParsedSmtpUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SmtpUrlError(`not a URL: ${JSON.stringify(redactUrl(text))} (expected smtp://, smtps:// or smtp+starttls://)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new SmtpUrlError(`unsupported SMTP URL scheme "${url.protocol}" (expected smtp://, smtps:// or smtp+starttls://)`);
  if (!url.hostname) throw new SmtpUrlError('the SMTP URL has no host');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const options: ParsedSmtpUrl = { host, port: url.port ? Number(url.port) : scheme.port, tls: scheme.tls };
  const q = url.searchParams;
  const tls = q.get('tls');
  if (tls !== null) {
    if (!TLS_MODES.includes(tls as TlsMode)) throw new SmtpUrlError(`tls=${tls}: expected one of ${TLS_MODES.join(', ')}`);
    options.tls = tls as TlsMode;
  }
  if (url.username) {
    const user = decode(url.username, 'user');
    const pass = decode(url.password, 'password');
    const method = q.get('auth')?.toUpperCase();
    if (method !== undefined && !MECHANISMS.includes(method as ClientAuthMechanism)) throw new SmtpUrlError(`auth=${method}: expected one of ${MECHANISMS.join(', ')}`);
    options.auth = method === 'XOAUTH2' ? { user, accessToken: pass, method } : { user, pass, method: method as ClientAuthMechanism | undefined };
  }
  const name = q.get('name');
  if (name !== null) options.name = name;
  const servername = q.get('servername');
  if (servername !== null) options.servername = servername;
  const ca = q.get('ca');
  if (ca !== null) {
    try {
      options.ca = readFileSync(ca);
    } catch (error) {
      throw new SmtpUrlError(`ca=${ca}: cannot read the certificate file (${(error as Error).message})`);
    }
  }
  const verify = q.get('verify');
  if (verify !== null) options.rejectUnauthorized = !['0', 'false', 'no', 'off'].includes(verify.toLowerCase());
  const pool = q.get('pool');
  if (pool !== null) {
    const n = Number(pool);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new SmtpUrlError(`pool=${pool}: expected an integer 1-1000`);
    options.poolSize = n;
  }
  const flag = (key: string) => {
    const v = q.get(key);
    return v === null ? undefined : !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
  };
  options.bdat = flag('bdat');
  options.pipelining = flag('pipelining');
  return options;
}
