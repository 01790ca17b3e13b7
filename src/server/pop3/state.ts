/**
 * The POP3 session states of RFC 1939 section 3, each carrying its own data. UPDATE is reached only by QUIT from
 * TRANSACTION; a dropped, timed-out or shut-down session goes from wherever it is straight to Closed, so deletions
 * marked in TRANSACTION are never applied then.
 */
import type { Maildrop } from '../../store/types.js';
import type { ReadMessage } from './buffer-pool.js';

export interface AuthorizationState {
  kind: 'authorization';
  /** Name given by USER, waiting for PASS. Forgotten by STLS. */
  user: string | null;
  /** Failed authentication attempts in this session. */
  failures: number;
}

export interface TransactionState {
  kind: 'transaction';
  user: string;
  maildrop: Maildrop;
  /** Message numbers minus one (indexes into maildrop.entries) marked by DELE. */
  deleted: Set<number>;
  /** Messages and octets not marked deleted (STAT), kept current by DELE and RSET. */
  liveCount: number;
  liveSize: number;
  /**
   * Small messages after the last one retrieved, read ahead (in parallel) while the client is still asking for them:
   * sequential RETR is the common pattern. Bounded by READ_AHEAD_MESSAGES and READ_AHEAD_BYTES.
   */
  readAhead: Map<number, ReadMessage | Promise<ReadMessage>>;
}

export interface UpdateState {
  kind: 'update';
  user: string;
}

export interface ClosedState {
  kind: 'closed';
}

export type SessionState = AuthorizationState | TransactionState | UpdateState | ClosedState;

export function transactionState(user: string, maildrop: Maildrop): TransactionState {
  let liveSize = 0;
  for (const e of maildrop.entries) liveSize += e.size;
  return { kind: 'transaction', user, maildrop, deleted: new Set(), liveCount: maildrop.entries.length, liveSize, readAhead: new Map() };
}
