/**
 * The mail store contract. Protocol code talks only to these interfaces; a store never knows a reply code.
 *
 * Mailboxes are named by the canonical address of the user that owns them ("alice@example.com", domain in ASCII
 * lower case). Delivery is two-phase: a DeliveryTransaction receives the body once (streamed to a temporary place)
 * and commit() publishes it atomically to one or many mailboxes. commit() resolves only once the message is durable
 * (file and directory fsynced); until then nothing is visible, and after a crash either the whole message is there or
 * nothing is. A failure (disk full, I/O error) rejects with StoreError and leaves nothing half-written.
 *
 * POP3 reads a mailbox through a Maildrop: a snapshot taken at open, locked exclusively until release() or commit().
 */
import type { Readable } from 'node:stream';

export type MailboxName = string;

export class StoreError extends Error {
  /** 'locked': maildrop already open; 'full': out of space or quota; 'io': other write/read error; 'missing': no such mailbox or message. */
  constructor(
    readonly kind: 'locked' | 'full' | 'io' | 'missing',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
  /** True when retrying later may succeed (a 4xx reply in SMTP terms). */
  get temporary(): boolean {
    return this.kind !== 'missing';
  }
}

export interface StoredMessage {
  mailbox: MailboxName;
  /** Stable unique id within the mailbox, 1-70 printable ASCII characters, never reused (POP3 UIDL). */
  uid: string;
  size: number;
}

export interface DeliveryTransaction {
  /** Append body bytes exactly as they are to be stored. Resolves when the store can take more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** Bytes written so far. */
  readonly size: number;
  /**
   * Make the message durable and publish it to every mailbox given (at least one), atomically per mailbox.
   * Resolves only when fsynced. Rejects with StoreError; then nothing was published.
   */
  commit(mailboxes: readonly MailboxName[]): Promise<StoredMessage[]>;
  /** Throw the temporary data away. Safe to call more than once, and after a failed commit. */
  abort(): Promise<void>;
}

export interface MaildropEntry {
  uid: string;
  /** Octets of the message as POP3 sends it: CRLF line ends, before byte-stuffing. Known without reading the body. */
  size: number;
}

export interface Maildrop {
  readonly mailbox: MailboxName;
  /** The messages present when the maildrop was opened, oldest first. Numbering (POP3 msg numbers) is index + 1. */
  readonly entries: readonly MaildropEntry[];
  /**
   * The message content with CRLF line ends (not byte-stuffed). With `bodyLines`, only the header, the blank line and
   * at most that many body lines (POP3 TOP).
   */
  read(uid: string, options?: { bodyLines?: number }): Readable;
  /** Whole message as one buffer (CRLF line ends), for small messages where a stream costs more than it saves. */
  readBuffer(uid: string): Promise<Buffer>;
  /** Remove the given messages for good, then release the lock (POP3 UPDATE state). */
  commitDeletions(uids: readonly string[]): Promise<void>;
  /** Release the lock without changing anything. Idempotent. */
  release(): Promise<void>;
}

export interface MailStore {
  beginDelivery(): Promise<DeliveryTransaction>;
  /** Lock and snapshot a mailbox. Rejects with StoreError('locked') when another session holds it. */
  openMaildrop(mailbox: MailboxName): Promise<Maildrop>;
  /** Create a mailbox if it does not exist. */
  ensureMailbox(mailbox: MailboxName): Promise<void>;
  /** Messages currently in a mailbox (uid and size), oldest first; for the CLI, admin and tests. */
  list(mailbox: MailboxName): Promise<MaildropEntry[]>;
  /** Remove leftovers of interrupted deliveries; called once at start. */
  recover(): Promise<void>;
  close(): Promise<void>;
}
