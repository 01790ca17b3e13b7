/**
 * Client side of SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195) and XOAUTH2 (Google/Microsoft).
 * Picks the strongest mechanism the server offers unless one is named.
 */
import { createHmac } from 'node:crypto';
import { SmtpError } from '../../protocol/smtp/error.js';
import type { SmtpReply } from './reply-reader.js';
import { replyToError } from './reply-reader.js';

export type ClientAuthMechanism = 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'XOAUTH2';

export interface SmtpAuth {
  user: string;
  /** Password (PLAIN, LOGIN, CRAM-MD5). */
  pass?: string;
  /** OAuth 2.0 bearer token (XOAUTH2). */
  accessToken?: string;
  /** Use this mechanism instead of picking one. */
  method?: ClientAuthMechanism;
  /** Authorization identity for PLAIN (rarely needed). */
  authzid?: string;
}

/**
 * Strongest first. Without TLS, CRAM-MD5 is the strongest (the password never crosses the wire). Inside TLS the
 * password is protected anyway, and PLAIN works for every account while CRAM-MD5 needs the server to keep a
 * legacy secret, so PLAIN (one round trip) comes first, then LOGIN. XOAUTH2 whenever a token is given.
 */
const PREFERENCE_CLEAR: ClientAuthMechanism[] = ['XOAUTH2', 'CRAM-MD5', 'PLAIN', 'LOGIN'];
const PREFERENCE_TLS: ClientAuthMechanism[] = ['XOAUTH2', 'PLAIN', 'LOGIN', 'CRAM-MD5'];

export class SmtpAuthError extends SmtpError {
  constructor(code: number, enhancedCode: string | null, message: string) {
    super(code, enhancedCode, message);
    this.name = 'SmtpAuthError';
  }
}

/** Parse the AUTH extension parameter ("PLAIN LOGIN CRAM-MD5") into upper-case names. */
export function offeredMechanisms(param: string | undefined): string[] {
  if (param === undefined) return [];
  return param.split(' ').filter((m) => m.length > 0).map((m) => m.toUpperCase());
}

export function chooseMechanism(auth: SmtpAuth, offered: string[], encrypted = false): ClientAuthMechanism {
  if (auth.method) {
    if (offered.length && !offered.includes(auth.method)) {
      throw new SmtpAuthError(0, null, `AUTH ${auth.method} requested but the server offers only: ${offered.join(' ') || 'none'}`);
    }
    return auth.method;
  }
  if (offered.length === 0) throw new SmtpAuthError(0, null, 'credentials given but the server does not offer AUTH (is TLS required first?)');
  for (const mechanism of encrypted ? PREFERENCE_TLS : PREFERENCE_CLEAR) {
    if (!offered.includes(mechanism)) continue;
    if (mechanism === 'XOAUTH2' && auth.accessToken === undefined) continue;
    if (mechanism !== 'XOAUTH2' && auth.pass === undefined) continue;
    return mechanism;
  }
  throw new SmtpAuthError(0, null, `no usable AUTH mechanism: the server offers ${offered.join(' ')}`);
}

/** One exchange step: send a line, get the reply. */
export type AuthExchange = (line: string) => Promise<SmtpReply>;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function decodeChallenge(reply: SmtpReply): string {
  return Buffer.from(reply.lines[0] ?? '', 'base64').toString('utf8');
}

function failure(mechanism: string, reply: SmtpReply): SmtpAuthError {
  const error = replyToError(reply, `AUTH ${mechanism} failed`);
  return new SmtpAuthError(error.code, error.enhancedCode, error.message);
}

/** Run the exchange; resolves when the server says 235, throws SmtpAuthError naming the server's reply otherwise. */
export async function authenticate(mechanism: ClientAuthMechanism, auth: SmtpAuth, send: AuthExchange): Promise<void> {
  const pass = auth.pass ?? '';
  // NUL separates PLAIN's fields and ^A XOAUTH2's: inside a value they would shift the structure.
  if (/[\0\x01]/.test(auth.user) || /[\0\x01]/.test(auth.authzid ?? '') || (mechanism === 'XOAUTH2' && /[\0\x01]/.test(auth.accessToken ?? ''))) {
    throw new SmtpAuthError(0, null, 'the user name, authzid or token contains a NUL or ^A character');
  }
  let reply: SmtpReply;
  switch (mechanism) {
    case 'PLAIN':
      reply = await send(`AUTH PLAIN ${b64(`${auth.authzid ?? ''}\0${auth.user}\0${pass}`)}`);
      break;
    case 'LOGIN':
      reply = await send('AUTH LOGIN');
      if (reply.code === 334) reply = await send(b64(auth.user));
      if (reply.code === 334) reply = await send(b64(pass));
      break;
    case 'CRAM-MD5': {
      reply = await send('AUTH CRAM-MD5');
      if (reply.code === 334) {
        const digest = createHmac('md5', pass).update(decodeChallenge(reply), 'utf8').digest('hex');
        reply = await send(b64(`${auth.user} ${digest}`));
      }
      break;
    }
    case 'XOAUTH2': {
      reply = await send(`AUTH XOAUTH2 ${b64(`user=${auth.user}\x01auth=Bearer ${auth.accessToken ?? ''}\x01\x01`)}`);
      if (reply.code === 334) {
        // The server sends a base64 JSON error as a challenge; an empty response gets the final failure reply.
        const detail = decodeChallenge(reply);
        reply = await send('');
        if (reply.code !== 235) {
          const error = failure(mechanism, reply);
          throw new SmtpAuthError(error.code, error.enhancedCode, `${error.message} (${detail.slice(0, 200)})`);
        }
      }
      break;
    }
  }
  if (reply.code === 334) {
    // A server asking for more than the mechanism defines: cancel the exchange (RFC 4954 4).
    reply = await send('*');
    throw failure(mechanism, reply);
  }
  if (reply.code !== 235) throw failure(mechanism, reply);
}
