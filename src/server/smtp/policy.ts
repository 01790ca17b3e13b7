/** Listener policies (MX, submission, SMTPS, local) and trusted networks. */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { SaslMechanism } from '../../protocol/sasl/mechanisms.js';
import type { SmtpConfig } from '../../config/schema.js';

export type ListenerKind = 'mx' | 'submission' | 'smtps' | 'local';

/** Authentication rules for one session, from its listener kind, the configuration and whether TLS is active. */
export function authOffered(kind: ListenerKind, config: SmtpConfig): boolean {
  if (kind === 'local') return false;
  if (kind === 'mx') return config.auth_on_mx;
  return true;
}

/** MAIL needs a successful AUTH first (RFC 4954 with RFC 6409 submission rules). */
export function authRequired(kind: ListenerKind): boolean {
  return kind === 'submission' || kind === 'smtps';
}

/** Mechanisms offered and accepted: PLAIN and LOGIN send the password in the clear, so only under TLS unless allowed. */
export function mechanismsFor(tls: boolean, config: SmtpConfig): readonly SaslMechanism[] {
  return tls || config.allow_insecure_auth ? ['PLAIN', 'LOGIN', 'CRAM-MD5'] : ['CRAM-MD5'];
}

/** Parse trusted network entries ("10.0.0.0/8", "::1/128", "192.0.2.7") into a BlockList. Throws on a bad entry. */
export function trustedNetworks(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [net, bits] = entry.split('/');
    const type = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : null;
    if (!type) throw new Error(`smtp.trusted_networks: "${entry}" is not an IP network`);
    const max = type === 'ipv4' ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`smtp.trusted_networks: bad prefix in "${entry}"`);
    list.addSubnet(net, prefix, type);
  }
  return list;
}

export function isTrusted(list: BlockList, address: string): boolean {
  if (!address) return false;
  if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) address = address.slice(7);
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  return type !== null && list.check(address, type);
}
