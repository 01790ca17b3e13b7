/**
 * Who is making a request. Decided once per request (auth/authenticate.ts) before the handler runs.
 *   open     no login configured (developer mode on a loopback listener): may read and write every mailbox
 *   session  a browser session (cookie); state changes need the session's CSRF token
 *   token    a bearer token (or Basic with a token as password): one subject, scope read or write
 *   basic    HTTP Basic with the user's own mail credentials (for Mailpit clients that only know Basic)
 *   none     nobody: only public routes answer
 */
export type TokenScope = 'read' | 'write';

/** A token as stored (never the secret). `kind` separates viewer tokens from the admin keys built on the same table. */
export interface TokenRecord {
  id: string;
  kind: string;
  /** The mailbox (user address or developer-mode mailbox) the token gives access to. */
  subject: string;
  scope: string;
  label: string | null;
  createdAt: number;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** CIDR networks the token may be used from (null: anywhere). */
  allow: string[] | null;
}

export interface SessionRecord {
  /** An opaque handle (not the cookie value) for logging and logout. */
  id: string;
  kind: string;
  user: string;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

export type Principal =
  | { kind: 'none' }
  | { kind: 'open' }
  | { kind: 'session'; user: string; session: SessionRecord }
  | { kind: 'token'; user: string; token: TokenRecord }
  | { kind: 'basic'; user: string };

/** The user a principal acts as (null for open and none). */
export function principalUser(p: Principal): string | null {
  return p.kind === 'session' || p.kind === 'token' || p.kind === 'basic' ? p.user : null;
}

/** May this principal change state (delete, mark read, send, chaos)? A read-scoped token may not. */
export function mayWrite(p: Principal): boolean {
  if (p.kind === 'none') return false;
  if (p.kind === 'token') return p.token.scope === 'write';
  return true;
}
