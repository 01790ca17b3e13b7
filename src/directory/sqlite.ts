/**
 * The embedded directory: domains, users, aliases and credentials in <data>/directory.db (SQLite, WAL mode).
 * The CLI writes while the server runs; the server reads on every lookup, so changes apply without a restart.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AliasRecord, Directory, RecipientResolution, UserRecord } from './types.js';
import { asciiDomain, canonical, DirectoryError, splitAddress } from './address.js';
import { DEFAULT_SCRYPT, dummyPasswordHash, hashPassword, SecretBox, verifyPassword, type ScryptParams } from './credentials.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS domains (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  address TEXT PRIMARY KEY, domain TEXT NOT NULL REFERENCES domains(name),
  password_hash TEXT NOT NULL, legacy_secret TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (source TEXT PRIMARY KEY, domain TEXT NOT NULL REFERENCES domains(name), targets TEXT NOT NULL);
`;

/** How deep alias chains are followed before giving up (loops end there too). */
const MAX_ALIAS_DEPTH = 8;

export interface SqliteDirectoryOptions {
  dataDir: string;
  scrypt?: ScryptParams;
}

export class SqliteDirectory implements Directory {
  private readonly db: Database.Database;
  private readonly box: SecretBox;
  private readonly scrypt: ScryptParams;
  /** Statements of the lookups the servers make per RCPT and per login, compiled once. */
  private readonly lookups: {
    domain: Database.Statement<[string]>;
    user: Database.Statement<[string]>;
    alias: Database.Statement<[string]>;
    userRow: Database.Statement<[string]>;
  };

  constructor(options: SqliteDirectoryOptions) {
    const file = join(options.dataDir, 'directory.db');
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.box = new SecretBox(join(options.dataDir, 'secrets.key'));
    this.scrypt = options.scrypt ?? DEFAULT_SCRYPT;
    this.lookups = {
      domain: this.db.prepare('SELECT 1 FROM domains WHERE name = ?'),
      user: this.db.prepare('SELECT 1 FROM users WHERE address = ?'),
      alias: this.db.prepare('SELECT targets FROM aliases WHERE source = ?'),
      userRow: this.db.prepare('SELECT address, password_hash, legacy_secret FROM users WHERE address = ?'),
    };
  }

  close(): void {
    this.db.close();
  }

  // ---- lookups (the Directory contract) ----

  async isLocalDomain(domain: string): Promise<boolean> {
    let ascii: string;
    try {
      ascii = asciiDomain(domain);
    } catch {
      return false;
    }
    return this.domainExists(ascii);
  }

  async resolve(address: string): Promise<RecipientResolution> {
    let addr: string;
    try {
      addr = canonical(address);
    } catch {
      return { kind: 'unknown' };
    }
    const domain = addr.slice(addr.lastIndexOf('@') + 1);
    if (!(await this.isLocalDomain(domain))) return { kind: 'remote' };
    const mailboxes = new Set<string>();
    const forward = new Set<string>();
    const seen = new Set<string>();
    const visit = (target: string, depth: number): void => {
      if (depth > MAX_ALIAS_DEPTH || seen.has(target)) return;
      seen.add(target);
      const at = target.lastIndexOf('@');
      const targetDomain = target.slice(at + 1);
      if (!this.domainExists(targetDomain)) {
        forward.add(target);
        return;
      }
      if (this.userExists(target)) mailboxes.add(target);
      const alias = this.aliasTargets(target) ?? (this.userExists(target) ? null : this.aliasTargets('@' + targetDomain));
      if (alias) for (const t of alias) visit(t, depth + 1);
    };
    visit(addr, 0);
    if (mailboxes.size === 0 && forward.size === 0) return { kind: 'unknown' };
    return { kind: 'local', mailboxes: [...mailboxes], ...(forward.size ? { forward: [...forward] } : {}) };
  }

  async authenticate(username: string, password: string): Promise<string | null> {
    const row = this.userRow(username);
    if (!row) {
      await verifyPassword(password, await dummyPasswordHash(this.scrypt));
      return null;
    }
    return (await verifyPassword(password, row.password_hash)) ? row.address : null;
  }

  async legacySecret(username: string): Promise<{ address: string; secret: string } | null> {
    const row = this.userRow(username);
    if (!row?.legacy_secret) return null;
    return { address: row.address, secret: this.box.open(row.legacy_secret) };
  }

  async findUser(username: string): Promise<string | null> {
    return this.userRow(username)?.address ?? null;
  }

  // ---- management (the CLI) ----

  addDomain(name: string): string {
    const ascii = asciiDomain(name);
    if (this.domainExists(ascii)) throw new DirectoryError(`domain ${name} already exists`);
    this.db.prepare('INSERT INTO domains (name, created_at) VALUES (?, ?)').run(ascii, new Date().toISOString());
    return ascii;
  }

  removeDomain(name: string): void {
    const ascii = asciiDomain(name);
    if (!this.domainExists(ascii)) throw new DirectoryError(`domain ${name} does not exist`);
    const users = (this.db.prepare('SELECT COUNT(*) n FROM users WHERE domain = ?').get(ascii) as { n: number }).n;
    const aliases = (this.db.prepare('SELECT COUNT(*) n FROM aliases WHERE domain = ?').get(ascii) as { n: number }).n;
    if (users || aliases) {
      throw new DirectoryError(`domain ${name} still has ${users} user(s) and ${aliases} alias(es); remove them first`);
    }
    this.db.prepare('DELETE FROM domains WHERE name = ?').run(ascii);
  }

  /** How many domains and users there are (for status pages), without listing them. */
  counts(): { domains: number; users: number } {
    const domains = (this.db.prepare('SELECT COUNT(*) n FROM domains').get() as { n: number }).n;
    const users = (this.db.prepare('SELECT COUNT(*) n FROM users').get() as { n: number }).n;
    return { domains, users };
  }

  listDomains(): string[] {
    return (this.db.prepare('SELECT name FROM domains ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  }

  async addUser(address: string, password: string, options: { legacyAuth?: boolean } = {}): Promise<string> {
    const { local, domain } = splitAddress(address);
    const addr = `${local}@${domain}`;
    if (!this.domainExists(domain)) {
      throw new DirectoryError(`${domain} is not a local domain; add it first with: posthorn domain add ${domain}`);
    }
    if (this.userExists(addr)) throw new DirectoryError(`user ${address} already exists`);
    checkPassword(password);
    const hash = await hashPassword(password, this.scrypt);
    const legacy = options.legacyAuth ? this.box.seal(password) : null;
    this.db
      .prepare('INSERT INTO users (address, domain, password_hash, legacy_secret, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(addr, domain, hash, legacy, new Date().toISOString());
    return addr;
  }

  async setPassword(address: string, password: string, options: { legacyAuth?: boolean } = {}): Promise<void> {
    const addr = canonical(address);
    if (!this.userExists(addr)) throw new DirectoryError(`user ${address} does not exist`);
    checkPassword(password);
    const hash = await hashPassword(password, this.scrypt);
    const legacy = options.legacyAuth ? this.box.seal(password) : null;
    this.db.prepare('UPDATE users SET password_hash = ?, legacy_secret = ? WHERE address = ?').run(hash, legacy, addr);
  }

  removeUser(address: string): void {
    const addr = canonical(address);
    const r = this.db.prepare('DELETE FROM users WHERE address = ?').run(addr);
    if (r.changes === 0) throw new DirectoryError(`user ${address} does not exist`);
  }

  listUsers(domain?: string): UserRecord[] {
    const rows = (
      domain
        ? this.db.prepare('SELECT address, legacy_secret, created_at FROM users WHERE domain = ? ORDER BY address').all(asciiDomain(domain))
        : this.db.prepare('SELECT address, legacy_secret, created_at FROM users ORDER BY address').all()
    ) as { address: string; legacy_secret: string | null; created_at: string }[];
    return rows.map((r) => ({ address: r.address, legacyAuth: r.legacy_secret !== null, createdAt: r.created_at }));
  }

  addAlias(source: string, targets: string[]): AliasRecord {
    const src = aliasSource(source);
    const domain = src.slice(src.lastIndexOf('@') + 1);
    if (!this.domainExists(domain)) {
      throw new DirectoryError(`${domain} is not a local domain; add it first with: posthorn domain add ${domain}`);
    }
    if (targets.length === 0) throw new DirectoryError('an alias needs at least one target');
    const canonTargets = targets.map((t) => canonical(t.trim()));
    if (this.aliasTargets(src)) throw new DirectoryError(`alias ${source} already exists; remove it first`);
    this.db.prepare('INSERT INTO aliases (source, domain, targets) VALUES (?, ?, ?)').run(src, domain, JSON.stringify(canonTargets));
    return { source: src, targets: canonTargets };
  }

  removeAlias(source: string): void {
    const r = this.db.prepare('DELETE FROM aliases WHERE source = ?').run(aliasSource(source));
    if (r.changes === 0) throw new DirectoryError(`alias ${source} does not exist`);
  }

  listAliases(): AliasRecord[] {
    const rows = this.db.prepare('SELECT source, targets FROM aliases ORDER BY domain, source').all() as { source: string; targets: string }[];
    return rows.map((r) => ({ source: r.source, targets: JSON.parse(r.targets) as string[] }));
  }

  // ---- internals ----

  private domainExists(ascii: string): boolean {
    return this.lookups.domain.get(ascii) !== undefined;
  }

  private userExists(addr: string): boolean {
    return this.lookups.user.get(addr) !== undefined;
  }

  private aliasTargets(source: string): string[] | null {
    const row = this.lookups.alias.get(source) as { targets: string } | undefined;
    return row ? (JSON.parse(row.targets) as string[]) : null;
  }

  private userRow(username: string): { address: string; password_hash: string; legacy_secret: string | null } | undefined {
    let addr: string;
    try {
      addr = canonical(username);
    } catch {
      return undefined;
    }
    return this.lookups.userRow.get(addr) as
      | { address: string; password_hash: string; legacy_secret: string | null }
      | undefined;
  }
}

function aliasSource(source: string): string {
  const s = source.trim();
  return s.startsWith('@') ? '@' + asciiDomain(s.slice(1)) : canonical(s);
}

function checkPassword(password: string): void {
  if (password.length === 0) throw new DirectoryError('the password is empty');
  if (/[\x00\r\n]/.test(password)) throw new DirectoryError('the password contains a NUL, CR or LF character');
  if (Buffer.byteLength(password) > 1024) throw new DirectoryError('the password is longer than 1024 bytes');
}
