/**
 * DKIM signing of outgoing mail with mailauth (RFC 6376, RSA-SHA256 and RFC 8463 Ed25519-SHA256, relaxed/relaxed).
 *
 * Keys live in <data>/dkim/<domain>/<selector>.key (PKCS#8 PEM, mode 0600); the algorithm follows the key type. A message
 * is signed once per key of the domain in its From: header (so an RSA and an Ed25519 key give two signatures), at the
 * moment it enters the queue; the signature header(s) are kept in the queue record and put in front of the message when
 * it is sent. A domain without a key directory is not signed.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { dkimSign } from 'mailauth';
import type { Logger } from '../observability/log.js';
import type { MessageSigner } from './queue.js';
import { normalizeDomain } from './route.js';

export type DkimAlgorithm = 'rsa' | 'ed25519';

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
}

const SELECTOR_RE = /^[a-z0-9](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9](?:[a-z0-9_-]{0,62}))*$/i;

export class DkimError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DkimError';
  }
}

export function dkimDir(dataDir: string): string {
  return join(dataDir, 'dkim');
}

function checkDomain(domain: string): string {
  const d = normalizeDomain(domain);
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d)) throw new DkimError(`not a domain name: ${JSON.stringify(domain)}`);
  return d;
}

/** The DNS TXT record value publishing a key (RFC 6376 3.6.1, RFC 8463 4). */
export function dnsRecordFor(key: KeyObject | string): { algorithm: DkimAlgorithm; value: string } {
  const priv = typeof key === 'string' ? createPrivateKey(key) : key;
  const pub = createPublicKey(priv);
  if (pub.asymmetricKeyType === 'ed25519') {
    const der = pub.export({ format: 'der', type: 'spki' });
    // RFC 8463: p= is the bare 32-octet public key, not the SPKI structure.
    return { algorithm: 'ed25519', value: `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}` };
  }
  if (pub.asymmetricKeyType === 'rsa') {
    const der = pub.export({ format: 'der', type: 'spki' });
    return { algorithm: 'rsa', value: `v=DKIM1; k=rsa; p=${der.toString('base64')}` };
  }
  throw new DkimError(`unsupported key type ${String(pub.asymmetricKeyType)}`);
}

/** Split a TXT value into <=255-octet strings, as zone files and DNS require. */
export function txtChunks(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += 255) out.push(value.slice(i, i + 255));
  return out;
}

export interface GeneratedKey {
  path: string;
  /** "<selector>._domainkey.<domain>" */
  name: string;
  value: string;
  /** A zone-file line ready to paste. */
  zoneLine: string;
}

/** Create a key pair for a domain; refuses to overwrite an existing selector. */
export async function generateDkimKey(
  dataDir: string,
  domainIn: string,
  options: { selector?: string; algorithm?: DkimAlgorithm; rsaBits?: number } = {},
): Promise<GeneratedKey> {
  const domain = checkDomain(domainIn);
  const algorithm = options.algorithm ?? 'rsa';
  const selector = options.selector ?? defaultSelector(algorithm);
  if (!SELECTOR_RE.test(selector)) throw new DkimError(`invalid selector ${JSON.stringify(selector)}`);
  const { privateKey } =
    algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: options.rsaBits ?? 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const dir = join(dkimDir(dataDir), domain);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${selector}.key`);
  try {
    await fsp.writeFile(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new DkimError(`a key for selector ${selector} of ${domain} exists already: ${path}`);
    throw err;
  }
  const { value } = dnsRecordFor(privateKey);
  const name = `${selector}._domainkey.${domain}`;
  return { path, name, value, zoneLine: `${name}. IN TXT ${txtChunks(value).map((c) => `"${c}"`).join(' ')}` };
}

function defaultSelector(algorithm: DkimAlgorithm): string {
  const d = new Date();
  return `ph${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${algorithm === 'ed25519' ? 'e' : 'r'}`;
}

/** Every key of a domain, sorted by selector; [] when the domain has none. */
export async function loadDkimKeys(dataDir: string, domainIn: string): Promise<DkimKey[]> {
  let domain: string;
  try {
    domain = checkDomain(domainIn);
  } catch {
    return [];
  }
  const dir = join(dkimDir(dataDir), domain);
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.key')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const keys: DkimKey[] = [];
  for (const name of names) {
    const selector = name.slice(0, -4);
    if (!SELECTOR_RE.test(selector)) continue;
    const privateKeyPem = await fsp.readFile(join(dir, name), 'utf8');
    const type = createPrivateKey(privateKeyPem).asymmetricKeyType;
    if (type !== 'rsa' && type !== 'ed25519') throw new DkimError(`${join(dir, name)}: unsupported key type ${String(type)}`);
    keys.push({ domain, selector, algorithm: type, privateKeyPem });
  }
  return keys;
}

/** The domain of the first address in the From: header field of a message's header block, or null. */
export function fromDomain(header: string): string | null {
  const unfolded = header.replace(/\r?\n[ \t]/g, ' ');
  const m = /^from:(.*)$/im.exec(unfolded);
  if (!m) return null;
  const value = m[1].replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\([^()]*\)/g, '');
  const angle = /<[^<>@]*@([^<>\s]+)>/.exec(value);
  const bare = /[^\s<>,;:@]+@([A-Za-z0-9.-]+|\[[^\]]+\])/.exec(value);
  const domain = angle?.[1] ?? bare?.[1];
  return domain ? domain.replace(/\.$/, '').toLowerCase() : null;
}

async function readHeaderBlock(path: string, limit = 256 * 1024): Promise<string> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(limit);
    const { bytesRead } = await fh.read(buf, 0, limit, 0);
    const text = buf.subarray(0, bytesRead).toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    return end < 0 ? text : text.slice(0, end + 2);
  } finally {
    await fh.close();
  }
}

/** Sign with all keys given; answers the DKIM-Signature header field(s), CRLF-terminated. */
export async function signMessage(input: Buffer | NodeJS.ReadableStream, keys: DkimKey[], signTime?: Date): Promise<string> {
  if (keys.length === 0) return '';
  const first = keys[0];
  const result = await dkimSign(input as Buffer, {
    signingDomain: first.domain,
    selector: first.selector,
    privateKey: first.privateKeyPem,
    canonicalization: 'relaxed/relaxed',
    ...(signTime ? { signTime } : {}),
    signatureData: keys.map((k) => ({
      signingDomain: k.domain,
      selector: k.selector,
      privateKey: k.privateKeyPem,
      algorithm: k.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256',
      canonicalization: 'relaxed/relaxed',
    })),
  });
  if (result.errors.length > 0) throw new DkimError(`DKIM signing failed: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.signatures.replace(/\r?\n/g, '\r\n');
}

/** The queue's signer: keys of the From: domain, signing errors logged (the message then goes unsigned). */
export function createDkimSigner(o: { dataDir: string; logger: Logger }): MessageSigner {
  return async (path) => {
    try {
      const domain = fromDomain(await readHeaderBlock(path));
      if (!domain) return undefined;
      const keys = await loadDkimKeys(o.dataDir, domain);
      if (keys.length === 0) return undefined;
      const sig = await signMessage(createReadStream(path), keys);
      return sig || undefined;
    } catch (err) {
      o.logger.error('dkim.sign_failed', { err });
      return undefined;
    }
  };
}
