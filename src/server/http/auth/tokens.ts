/**
 * Bearer tokens: "ph_<id>_<secret>", with a 12-hex-digit id (shown by `token list`, used by `token revoke`) and 256
 * random bits of secret. Only SHA-256(secret) is stored; verification compares in constant time. Tokens have a kind
 * ("viewer" here; the admin keys use the same table with their own kind), a subject (the mailbox they open), a scope,
 * an optional expiry and an optional list of networks they may be used from.
 */
import type Database from 'better-sqlite3';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenRecord } from './principal.js';

export const TOKEN_PREFIX = 'ph_';

export interface CreateTokenOptions {
  kind: string;
  subject: string;
  scope: string;
  label?: string;
  /** Epoch ms, or null for none. */
  expiresAt: number | null;
  allow?: string[] | null;
}

interface TokenRow {
  id: string;
  kind: string;
  subject: string;
  scope: string;
  hash: string;
  label: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  allow: string | null;
}

export type TokenCheck = { ok: true; token: TokenRecord } | { ok: false; reason: 'malformed' | 'unknown' | 'expired' };

export class TokenStore {
  private readonly byId: Database.Statement<[string]>;
  private readonly touch: Database.Statement<[number, string]>;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number = Date.now,
  ) {
    this.byId = db.prepare('SELECT * FROM tokens WHERE id = ?');
    this.touch = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?');
  }

  /** Create a token; the returned secret is shown once and cannot be recovered. */
  create(options: CreateTokenOptions): { token: string; record: TokenRecord } {
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = this.now();
    this.db
      .prepare('INSERT INTO tokens (id, kind, subject, scope, hash, label, created_at, expires_at, allow) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, options.kind, options.subject, options.scope, sha256(secret), options.label ?? null, createdAt, options.expiresAt, options.allow ? JSON.stringify(options.allow) : null);
    return { token: `${TOKEN_PREFIX}${id}_${secret}`, record: this.get(id)! };
  }

  get(id: string): TokenRecord | null {
    const row = this.byId.get(id) as TokenRow | undefined;
    return row ? toRecord(row) : null;
  }

  list(kind?: string): TokenRecord[] {
    const rows = (kind ? this.db.prepare('SELECT * FROM tokens WHERE kind = ? ORDER BY created_at, id').all(kind) : this.db.prepare('SELECT * FROM tokens ORDER BY created_at, id').all()) as TokenRow[];
    return rows.map(toRecord);
  }

  /** Remove a token by id; false when there is none. */
  revoke(id: string, kind?: string): boolean {
    const r = kind ? this.db.prepare('DELETE FROM tokens WHERE id = ? AND kind = ?').run(id, kind) : this.db.prepare('DELETE FROM tokens WHERE id = ?').run(id);
    return r.changes > 0;
  }

  /** Check a presented token. Records the time of use. */
  verify(presented: string): TokenCheck {
    const m = /^ph_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
    if (!m) return { ok: false, reason: 'malformed' };
    const row = this.byId.get(m[1]) as TokenRow | undefined;
    const expected = Buffer.from(row?.hash ?? '0'.repeat(64), 'hex');
    const actual = Buffer.from(sha256(m[2]), 'hex');
    if (!timingSafeEqual(expected, actual) || !row) return { ok: false, reason: 'unknown' };
    const now = this.now();
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'expired' };
    // Writing on every request would serialize readers on the WAL; once a minute is enough to show "last used".
    if (row.last_used_at === null || now - row.last_used_at > 60_000) this.touch.run(now, row.id);
    return { ok: true, token: toRecord({ ...row, last_used_at: now }) };
  }
}

/** "30d", "12h", "90m", "3600s", "never" -> milliseconds (null for never). */
export function parseDuration(value: string): number | null {
  if (value === 'never') return null;
  const m = /^(\d+)\s*([smhdw])$/.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not a duration: expected a number and s, m, h, d or w (e.g. 30d), or "never"`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new Error(`"${value}": a duration must be longer than 0`);
  return ms;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    kind: row.kind,
    subject: row.subject,
    scope: row.scope,
    label: row.label,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    allow: row.allow ? (JSON.parse(row.allow) as string[]) : null,
  };
}
