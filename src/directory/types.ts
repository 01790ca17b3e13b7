/**
 * The directory contract: domains, users, aliases and credentials. Addresses given to it may be in any case and with
 * Unicode domains; it answers with canonical mailbox names (local part as stored, domain ASCII lower case).
 */
export type RecipientResolution =
  /** mailboxes: local users to deliver to; forward: non-local alias targets (delivered through the outbound queue). */
  | { kind: 'local'; mailboxes: string[]; forward?: string[] }
  | { kind: 'unknown' }
  | { kind: 'remote' };

export interface UserRecord {
  address: string;
  legacyAuth: boolean;
  createdAt: string;
}

export interface AliasRecord {
  source: string;
  targets: string[];
}

export interface Directory {
  isLocalDomain(domain: string): Promise<boolean>;
  /** Resolve a recipient: a user, an alias (possibly catch-all "@domain"), unknown in a local domain, or remote. */
  resolve(address: string): Promise<RecipientResolution>;
  /** Check a password. Answers the canonical user address, or null. Never says whether the user exists. */
  authenticate(username: string, password: string): Promise<string | null>;
  /** The plain secret for APOP/CRAM-MD5, only for users with the legacy-auth opt-in; null otherwise. */
  legacySecret(username: string): Promise<{ address: string; secret: string } | null>;
  /** Canonical address of a user, or null; for login names that must map to a maildrop. */
  findUser(username: string): Promise<string | null>;
}
