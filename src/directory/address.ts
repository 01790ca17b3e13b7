/** Address and domain names as the directory keeps them: domains in ASCII (punycode), shown in Unicode. */
import { domainToASCII, domainToUnicode } from 'node:url';

export class DirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectoryError';
  }
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A domain in canonical ASCII form, or a DirectoryError naming the problem. */
export function asciiDomain(name: string): string {
  const trimmed = name.trim().replace(/\.$/, '').toLowerCase();
  if (!trimmed) throw new DirectoryError('domain name is empty');
  const ascii = domainToASCII(trimmed);
  if (!ascii || ascii.length > 253 || !ascii.split('.').every((l) => LABEL.test(l))) {
    throw new DirectoryError(`"${name}" is not a valid domain name`);
  }
  return ascii;
}

export function unicodeDomain(ascii: string): string {
  return domainToUnicode(ascii) || ascii;
}

export interface SplitAddress {
  local: string;
  domain: string;
}

/** Split and canonicalise "local@domain" (local part lower-cased, domain ASCII). */
export function splitAddress(address: string): SplitAddress {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) throw new DirectoryError(`"${address}" is not an address (expected local@domain)`);
  const local = address.slice(0, at).toLowerCase();
  if (/[\x00-\x20\x7f<>()[\]\\,;:"]/.test(local) || local.length > 64) {
    throw new DirectoryError(`"${address}": the local part "${address.slice(0, at)}" is not allowed`);
  }
  return { local, domain: asciiDomain(address.slice(at + 1)) };
}

export function canonical(address: string): string {
  const { local, domain } = splitAddress(address);
  return `${local}@${domain}`;
}

/** For display: the domain part in Unicode. */
export function displayAddress(address: string): string {
  if (address.startsWith('@')) return '@' + unicodeDomain(address.slice(1));
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${unicodeDomain(address.slice(at + 1))}`;
}
