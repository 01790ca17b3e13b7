/**
 * Password hashing (scrypt, PHC-style string) and the encrypted legacy secret for APOP/CRAM-MD5 (AES-256-GCM with a
 * key file in the data directory). Passwords are never stored in plain text.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, createCipheriv, createDecipheriv, type ScryptOptions } from 'node:crypto';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const scrypt = promisify(scryptCb) as (password: string | Buffer, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Defaults follow OWASP's scrypt guidance (N=2^15, r=8, p=1, ~32 MiB). Tests may lower N. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 1 };

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password.normalize('NFC'), salt, 32, { ...params, maxmem: 256 * params.N * params.r });
  return `$scrypt$ln=${Math.log2(params.N)},r=${params.r},p=${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = PHC.exec(stored);
  if (!m) return false;
  const N = 2 ** Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  const expected = Buffer.from(m[5], 'base64');
  const actual = await scrypt(password.normalize('NFC'), Buffer.from(m[4], 'base64'), expected.length, { N, r, p, maxmem: 256 * N * r });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash no password matches, checked for unknown users so their timing equals that of known ones. */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'), params);
  return dummyHash;
}

/** The key that encrypts legacy secrets; created (mode 0600) on first use. */
export class SecretBox {
  private key: Buffer | null = null;
  constructor(private readonly keyFile: string) {}

  private loadKey(): Buffer {
    if (this.key) return this.key;
    if (!existsSync(this.keyFile)) {
      mkdirSync(dirname(this.keyFile), { recursive: true });
      try {
        writeFileSync(this.keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const key = Buffer.from(readFileSync(this.keyFile, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${this.keyFile}: not a 32-byte base64 key`);
    this.key = key;
    return key;
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.loadKey(), iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    if (!sealed.startsWith('v1:')) throw new Error('unknown legacy secret format');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.loadKey(), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
