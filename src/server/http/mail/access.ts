/**
 * Which mailboxes a principal may see. A browser session, Basic login or token opens the mailbox of its user only;
 * 'open' (developer mode without login) opens every mailbox. Asking for another mailbox is 403; writing with a
 * read-scoped token is 403; no credentials is 401.
 */
import { forbidden, unauthorized } from '../errors.js';
import { mayWrite, principalUser, type Principal } from '../auth/principal.js';

export const VIEWER_TOKEN_KIND = 'viewer';
export const VIEWER_SESSION_KIND = 'viewer';
export const VIEWER_COOKIE = 'posthorn_session';

/** Mailboxes visible to the principal: null means all of them. */
export function visibleMailboxes(p: Principal): string[] | null {
  if (p.kind === 'open') return null;
  const user = principalUser(p);
  if (user === null) throw unauthorized();
  return [user];
}

/** The mailbox a request works on: the one asked for (checked), else the principal's own (or `fallback` when open). */
export function resolveMailbox(p: Principal, asked: string | undefined, fallback: string): string {
  const visible = visibleMailboxes(p);
  if (visible === null) return asked ?? fallback;
  if (asked === undefined) return visible[0];
  if (!visible.includes(asked)) throw forbidden(`no access to mailbox ${asked}`);
  return asked;
}

export function requireRead(p: Principal): void {
  if (p.kind === 'none') throw unauthorized();
}

export function requireWrite(p: Principal): void {
  if (p.kind === 'none') throw unauthorized();
  if (!mayWrite(p)) throw forbidden('this token may only read');
}
