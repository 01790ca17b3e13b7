/** Checks SASL credentials (and APOP digests) against the directory, in constant time where a digest is compared. */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Directory } from '../../directory/types.js';
import type { SaslCredentials } from './mechanisms.js';

/** Answers the canonical user address, or null when the credentials are wrong (for any reason). */
export async function verifySaslCredentials(directory: Directory, creds: SaslCredentials): Promise<string | null> {
  if (creds.mechanism === 'CRAM-MD5') {
    const legacy = await directory.legacySecret(creds.username);
    if (!legacy) return null;
    const expected = createHmac('md5', legacy.secret).update(creds.challenge).digest('hex');
    return digestsEqual(expected, creds.digest) ? legacy.address : null;
  }
  if (creds.authzid && creds.authzid !== creds.username) {
    // Acting as another user is not supported: only the authenticated identity itself may be the authorization id.
    const self = await directory.findUser(creds.authzid);
    const user = await directory.authenticate(creds.username, creds.password);
    return user && self === user ? user : null;
  }
  return directory.authenticate(creds.username, creds.password);
}

/** APOP (RFC 1939 section 7): digest = MD5(timestamp + secret), hex. */
export async function verifyApop(directory: Directory, username: string, timestamp: string, digest: string): Promise<string | null> {
  const legacy = await directory.legacySecret(username);
  if (!legacy) return null;
  const expected = createHash('md5').update(timestamp + legacy.secret).digest('hex');
  return digestsEqual(expected, digest.toLowerCase()) ? legacy.address : null;
}

export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
