/**
 * Server side of the SASL mechanisms both SMTP (RFC 4954) and POP3 (RFC 5034) offer: PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195). Pure: no I/O, no directory. A protocol session feeds it the
 * client's base64 lines and sends the challenges it returns; at the end it gets credentials to verify.
 */
import { randomBytes } from 'node:crypto';

export type SaslMechanism = 'PLAIN' | 'LOGIN' | 'CRAM-MD5';
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'LOGIN', 'CRAM-MD5'];

export type SaslCredentials =
  | { mechanism: 'PLAIN' | 'LOGIN'; authzid: string; username: string; password: string }
  | { mechanism: 'CRAM-MD5'; username: string; challenge: string; digest: string };

export type SaslStep =
  /** Send this challenge (already base64) and feed the next client line to step(). */
  | { kind: 'challenge'; challenge: string }
  | { kind: 'credentials'; credentials: SaslCredentials }
  /** 'cancelled': client sent "*"; 'bad-base64': undecodable; 'malformed': decoded but wrong shape or control characters. */
  | { kind: 'error'; reason: 'cancelled' | 'bad-base64' | 'malformed' | 'too-long' };

export interface SaslOptions {
  /** Host name put in CRAM-MD5 challenges. */
  hostname: string;
  /** Longest accepted client response line in octets (RFC 4954 asks for at least 12,288). */
  maxResponseLength?: number;
}

export const DEFAULT_MAX_SASL_RESPONSE = 12288;

export function parseMechanism(name: string): SaslMechanism | null {
  const upper = name.toUpperCase();
  return (SASL_MECHANISMS as readonly string[]).includes(upper) ? (upper as SaslMechanism) : null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 decode: returns null when the text is not canonical base64 (length multiple of 4, valid alphabet). */
export function decodeBase64Strict(text: string): Buffer | null {
  if (text === '=') return Buffer.alloc(0); // RFC 4954: "=" is an empty initial response
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  return Buffer.from(text, 'base64');
}

const CONTROL = /[\x00-\x1f\x7f]/;

function toIdentity(bytes: Buffer): string | null {
  const text = bytes.toString('utf8');
  if (CONTROL.test(text) || text.includes('\uFFFD')) return null;
  return text;
}

export class SaslExchange {
  private stage = 0;
  private loginUser = '';
  private readonly challenge: string;
  private readonly maxLength: number;

  constructor(
    readonly mechanism: SaslMechanism,
    options: SaslOptions,
  ) {
    this.maxLength = options.maxResponseLength ?? DEFAULT_MAX_SASL_RESPONSE;
    this.challenge = `<${process.pid}.${Date.now()}.${randomBytes(8).toString('hex')}@${options.hostname}>`;
  }

  /** Begin, with the initial response from the AUTH command line if the client sent one. */
  start(initialResponse?: string): SaslStep {
    if (this.mechanism === 'CRAM-MD5') {
      if (initialResponse !== undefined) return { kind: 'error', reason: 'malformed' };
      this.stage = 1;
      return { kind: 'challenge', challenge: Buffer.from(this.challenge).toString('base64') };
    }
    if (initialResponse !== undefined) return this.step(initialResponse);
    if (this.mechanism === 'PLAIN') return { kind: 'challenge', challenge: '' };
    return { kind: 'challenge', challenge: Buffer.from('Username:').toString('base64') };
  }

  /** Feed one client response line (without CRLF). */
  step(line: string): SaslStep {
    if (line.length > this.maxLength) return { kind: 'error', reason: 'too-long' };
    if (line.trim() === '*') return { kind: 'error', reason: 'cancelled' };
    const bytes = decodeBase64Strict(line.trim());
    if (!bytes) return { kind: 'error', reason: 'bad-base64' };
    switch (this.mechanism) {
      case 'PLAIN':
        return this.plain(bytes);
      case 'LOGIN':
        return this.login(bytes);
      case 'CRAM-MD5':
        return this.cram(bytes);
    }
  }

  private plain(bytes: Buffer): SaslStep {
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) {
        parts.push(bytes.subarray(from, i));
        from = i + 1;
      }
    }
    parts.push(bytes.subarray(from));
    if (parts.length !== 3) return { kind: 'error', reason: 'malformed' };
    const authzid = toIdentity(parts[0]);
    const username = toIdentity(parts[1]);
    const password = parts[2].toString('utf8');
    if (authzid === null || username === null || !username || !password || password.includes('\0')) {
      return { kind: 'error', reason: 'malformed' };
    }
    return { kind: 'credentials', credentials: { mechanism: 'PLAIN', authzid, username, password } };
  }

  private login(bytes: Buffer): SaslStep {
    if (this.stage === 0) {
      const username = toIdentity(bytes);
      if (!username) return { kind: 'error', reason: 'malformed' };
      this.loginUser = username;
      this.stage = 1;
      return { kind: 'challenge', challenge: Buffer.from('Password:').toString('base64') };
    }
    const password = bytes.toString('utf8');
    if (!password || password.includes('\0')) return { kind: 'error', reason: 'malformed' };
    return { kind: 'credentials', credentials: { mechanism: 'LOGIN', authzid: '', username: this.loginUser, password } };
  }

  private cram(bytes: Buffer): SaslStep {
    const text = toIdentity(bytes);
    if (!text) return { kind: 'error', reason: 'malformed' };
    const space = text.lastIndexOf(' ');
    const username = text.slice(0, space);
    const digest = text.slice(space + 1).toLowerCase();
    if (space <= 0 || !/^[0-9a-f]{32}$/.test(digest)) return { kind: 'error', reason: 'malformed' };
    return { kind: 'credentials', credentials: { mechanism: 'CRAM-MD5', username, challenge: this.challenge, digest } };
  }
}
