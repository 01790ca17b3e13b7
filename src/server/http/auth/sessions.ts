/**
 * Browser sessions. The cookie carries 256 random bits; the database keeps their SHA-256, the user, a CSRF token, and
 * two deadlines: an idle timeout (extended on use) and an absolute maximum age. Sessions survive a restart.
 */
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import type { SessionRecord } from './principal.js';

export interface SessionLimits {
  /** A session unused this long ends, ms. */
  idleMs: number;
  /** A session ends this long after login whatever its use, ms. */
  maxAgeMs: number;
}

interface SessionRow {
  hash: string;
  id: string;
  kind: string;
  user: string;
  csrf: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
}

export class SessionStore {
  private readonly byHash: Database.Statement<[string]>;
  private readonly extend: Database.Statement<[number, number, string]>;
  private lastSweep = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.byHash = db.prepare('SELECT * FROM sessions WHERE hash = ?');
    this.extend = db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE hash = ?');
  }

  /** Start a session; returns the cookie value (shown to the browser only) and the record. */
  create(kind: string, user: string): { cookie: string; session: SessionRecord } {
    const cookie = randomBytes(32).toString('base64url');
    const id = randomBytes(8).toString('hex');
    const csrf = randomBytes(24).toString('base64url');
    const now = this.now();
    const expires = Math.min(now + this.limits.idleMs, now + this.limits.maxAgeMs);
    this.db.prepare('INSERT INTO sessions (hash, id, kind, user, csrf, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(sha256(cookie), id, kind, user, csrf, now, expires, now);
    this.sweep(now);
    return { cookie, session: { id, kind, user, csrf, createdAt: now, expiresAt: expires } };
  }

  /** The live session for a cookie value, extending its idle deadline; null when unknown or expired. */
  lookup(cookie: string, kind: string): SessionRecord | null {
    const hash = sha256(cookie);
    const row = this.byHash.get(hash) as SessionRow | undefined;
    const now = this.now();
    if (!row || row.kind !== kind) return null;
    if (row.expires_at <= now) {
      this.db.prepare('DELETE FROM sessions WHERE hash = ?').run(hash);
      return null;
    }
    let expires = row.expires_at;
    if (now - row.last_seen_at > 60_000) {
      expires = Math.min(now + this.limits.idleMs, row.created_at + this.limits.maxAgeMs);
      this.extend.run(now, expires, hash);
    }
    return { id: row.id, kind: row.kind, user: row.user, csrf: row.csrf, createdAt: row.created_at, expiresAt: expires };
  }

  end(id: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id = ?').run(id);
  }

  /** End every session of a user (password change, user removed). */
  endAllOf(user: string): void {
    this.db.prepare('DELETE FROM sessions WHERE user = ?').run(user);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 3_600_000) return;
    this.lastSweep = now;
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now);
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
