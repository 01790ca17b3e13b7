/** In-memory Directory for tests: plain passwords, no hashing. Same semantics as the real one. */
import { domainToASCII } from 'node:url';
import type { Directory, RecipientResolution } from './types.js';

export function canonicalAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = domainToASCII(address.slice(at + 1).toLowerCase()) || address.slice(at + 1).toLowerCase();
  return `${address.slice(0, at).toLowerCase()}@${domain}`;
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
    const canon = canonicalAddress(address);
    const domain = canon.slice(canon.lastIndexOf('@') + 1);
    if (!this.domains.has(domain)) return { kind: 'remote' };
    const out = new Set<string>();
    const visit = (addr: string, depth: number) => {
      if (depth > 8) return;
      if (this.users.has(addr)) out.add(addr);
      const targets = this.aliases.get(addr);
      if (targets) for (const t of targets) visit(t, depth + 1);
    };
    visit(canon, 0);
    if (out.size === 0 && !this.users.has(canon)) {
      const catchAll = this.aliases.get('@' + domain);
      if (catchAll) for (const t of catchAll) visit(t, 1);
    }
    return out.size ? { kind: 'local', mailboxes: [...out] } : { kind: 'unknown' };
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
