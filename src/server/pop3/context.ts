/** What every POP3 session shares with its server: backends, configuration, the throttle, the TLS context. */
import type { SecureContext } from 'node:tls';
import type { Directory } from '../../directory/types.js';
import type { MailStore } from '../../store/types.js';
import type { Logger } from '../../observability/log.js';
import type { Pop3Config } from '../../config/schema.js';
import type { AuthThrottle } from '../auth-throttle.js';

export interface ServerContext {
  hostname: string;
  directory: Directory;
  store: MailStore;
  logger: Logger;
  config: Pop3Config;
  throttle: AuthThrottle;
  /** Null when no certificate was given: then STLS is not offered and pop3s cannot listen. */
  secureContext: SecureContext | null;
  now: () => number;
  /** Autologout, ms. */
  timeoutMs: number;
  /** Longest command line, octets including CRLF (AUTH initial responses may be up to the SASL limit). */
  maxCommandLine: number;
  /** Last successful login per user, for LOGIN-DELAY enforcement. */
  lastLogin: Map<string, number>;
  /** Connections open on this server right now. */
  sessionCount: () => number;
}

export interface ListenerInfo {
  kind: 'pop3' | 'pop3s';
  /** USER/PASS and SASL PLAIN/LOGIN allowed before TLS on this listener. */
  insecureAuthAllowed: boolean;
}

/** Messages up to this size are read whole and sent in one write; larger ones are streamed with backpressure. */
export const SMALL_MESSAGE_SIZE = 256 * 1024;
/** Read-ahead window for sequential RETR: at most this many messages and octets beyond the one asked for. */
export const READ_AHEAD_MESSAGES = 16;
export const READ_AHEAD_BYTES = 512 * 1024;
/**
 * With other sessions open, the read-ahead window is refilled only once this many messages of it have been used, so
 * reads are done in small batches (less CPU per message: the event loop is then the bottleneck). A lone session
 * refills after every message, so that none of its answers waits behind a batch of reads.
 */
export const READ_AHEAD_BATCH = 4;
/** Output queued beyond this many octets makes a session wait for the socket to drain before the next command. */
export const OUTPUT_HIGH_WATER = 1024 * 1024;
/** Unprocessed pipelined input beyond this many octets pauses reading from the socket. */
export const INPUT_HIGH_WATER = 64 * 1024;
/** How long a TLS handshake (pop3s or after STLS) may take, ms. */
export const TLS_HANDSHAKE_TIMEOUT = 30_000;
