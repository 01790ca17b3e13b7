/**
 * In-memory Directory for tests: plain passwords, no hashing. Resolution follows SqliteDirectory: users, alias chains
 * (depth 8, loops end), catch-all "@domain", alias targets in other domains returned as `forward`.
 */
import { domainToASCII } from 'node:url';
import type { Directory, RecipientResolution } from './types.js';
import { canonical } from './address.js';

/** The directory's canonical form; addresses it cannot parse are kept (lower-cased) so lookups simply miss. */
export function canonicalAddress(address: string): string {
  try {
    return canonical(address);
  } catch {
    return address.toLowerCase();
  }
}

export class MemoryDirectory implements Directory {
  readonly domains = new Set<string>();
  readonly users = new Map<string, { password: string; legacy: boolean }>();
  readonly aliases = new Map<string, string[]>();

  addDomain(domain: string): this {
    this.domains.add(domainToASCII(domain.toLowerCase()));
    return this;
  }
  addUser(address: string, password: string, legacy = false): this {
    this.users.set(canonicalAddress(address), { password, legacy });
    return this;
  }
  addAlias(source: string, targets: string[]): this {
    this.aliases.set(source.startsWith('@') ? '@' + domainToASCII(source.slice(1).toLowerCase()) : canonicalAddress(source), targets.map(canonicalAddress));
    return this;
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return this.domains.has(domainToASCII(domain.toLowerCase()));
  }

  async resolve(address: string): Promise<RecipientResolution> {
    let canon: string;
    try {
      canon = canonical(address);
    } catch {
      return { kind: 'unknown' };
    }
    const domain = canon.slice(canon.lastIndexOf('@') + 1);
    if (!this.domains.has(domain)) return { kind: 'remote' };
    const out = new Set<string>();
    const forward = new Set<string>();
    const seen = new Set<string>();
    const visit = (addr: string, depth: number) => {
      if (depth > 8 || seen.has(addr)) return;
      seen.add(addr);
      const targetDomain = addr.slice(addr.lastIndexOf('@') + 1);
      if (!this.domains.has(targetDomain)) {
        forward.add(addr);
        return;
      }
      if (this.users.has(addr)) out.add(addr);
      const targets = this.aliases.get(addr) ?? (this.users.has(addr) ? undefined : this.aliases.get('@' + targetDomain));
      if (targets) for (const t of targets) visit(t, depth + 1);
    };
    visit(canon, 0);
    if (out.size === 0 && forward.size === 0) return { kind: 'unknown' };
    return { kind: 'local', mailboxes: [...out], ...(forward.size ? { forward: [...forward] } : {}) };
  }

  async authenticate(username: string, password: string): Promise<string | null> {
    const canon = canonicalAddress(username);
    const u = this.users.get(canon);
    return u && u.password === password ? canon : null;
  }

  async legacySecret(username: string): Promise<{ address: string; secret: string } | null> {
    const canon = canonicalAddress(username);
    const u = this.users.get(canon);
    return u && u.legacy ? { address: canon, secret: u.password } : null;
  }

  async findUser(username: string): Promise<string | null> {
    const canon = canonicalAddress(username);
    return this.users.has(canon) ? canon : null;
  }
}
