/**
 * <data>/access.db: API tokens and browser sessions (SQLite, WAL). The CLI writes tokens while the server is stopped
 * or running; the server reads them on every request, so a revoked token stops working at once.
 * Secrets are never stored: a token keeps the SHA-256 of its random part, a session the SHA-256 of its cookie.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, scope TEXT NOT NULL, hash TEXT NOT NULL,
  label TEXT, created_at INTEGER NOT NULL, expires_at INTEGER, last_used_at INTEGER, allow TEXT);
CREATE INDEX IF NOT EXISTS tokens_subject ON tokens (kind, subject);
CREATE TABLE IF NOT EXISTS sessions (
  hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, user TEXT NOT NULL, csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL);
`;

export function openAccessDb(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'access.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}
