/**
 * The message body on its way to storage: one store transaction for the local mailboxes and/or one queue transaction
 * for remote recipients, both two-phase. Trace headers go first; client bytes are streamed in as they arrive (the
 * caller awaits write() before reading more, so memory stays bounded); commit() resolves once everything is durable.
 */
import { randomBytes } from 'node:crypto';
import { StoreError, type DeliveryTransaction } from '../../store/types.js';
import type { Envelope, OutboundQueue, QueueTransaction } from '../../delivery/types.js';
import type { MailStore } from '../../store/types.js';
import type { Logger } from '../../observability/log.js';
import { REPLIES, type ReplySpec } from '../../protocol/smtp/replies.js';
import { receivedHeader, returnPathHeader, type TraceInfo } from './received.js';

const ID_PREFIX = randomBytes(4).toString('hex');
let idCounter = 0;

/** A short id for logs, the 250 reply and the Received header; unique within this process, unlikely to repeat across. */
export function newMessageId(now: number): string {
  return `${now.toString(36)}${ID_PREFIX}${(++idCounter).toString(36)}`;
}

export interface BodyTargets {
  store: MailStore;
  mailboxes: readonly string[];
  queue?: OutboundQueue;
  /** Present when some recipients are remote (queued). */
  envelope?: Envelope;
  trace: TraceInfo;
  mailFrom: string;
}

export type CommitResult = { ok: true; id: string } | { ok: false; reply: ReplySpec };

export function storeFailureReply(err: unknown): ReplySpec {
  return err instanceof StoreError && err.kind === 'full' ? REPLIES.storeFull : REPLIES.storeFailed;
}

export class BodyWriter {
  /** Client octets written (without the trace headers). */
  size = 0;
  private storeTx: DeliveryTransaction | null = null;
  private queueTx: QueueTransaction | null = null;
  /** Why the transactions could not be begun (answered after the data, as RFC 5321 allows). */
  private failure: unknown = null;
  private opened = false;
  private aborted = false;
  private finished = false;
  /** Set once commit() resolved ok (or after a partial commit): then abort() must not touch anything. */
  private settled = false;
  private readonly ready: Promise<void>;
  /** Trace headers, written in front of the first body bytes (one write instead of two). */
  private storePrefix: Buffer | null;
  private queuePrefix: Buffer | null;
  private readonly mailboxes: readonly string[];

  /**
   * Starts beginning the transactions at once but does not wait for them, so the 354 (or the BDAT reply) is not held
   * up by the store; writes wait until they are ready.
   */
  constructor(
    targets: BodyTargets,
    private readonly logger: Logger,
  ) {
    this.id = targets.trace.id;
    this.mailboxes = targets.mailboxes;
    const received = receivedHeader(targets.trace);
    const remote = targets.envelope && targets.queue && targets.envelope.recipients.length > 0 ? targets.envelope : null;
    this.storePrefix = targets.mailboxes.length > 0 ? Buffer.from(returnPathHeader(targets.mailFrom) + received) : null;
    this.queuePrefix = remote ? Buffer.from(received) : null;
    this.ready = this.begin(targets, remote).then(
      () => {
        this.opened = true;
      },
      (err: unknown) => {
        this.opened = true;
        this.failure = err;
        this.logger.warn('smtp.store_begin_failed', { id: this.id, error: err });
      },
    );
  }

  readonly id: string;

  private async begin(targets: BodyTargets, remote: Envelope | null): Promise<void> {
    try {
      if (targets.mailboxes.length > 0) this.storeTx = await targets.store.beginDelivery();
      if (remote && targets.queue) this.queueTx = await targets.queue.begin(remote);
    } catch (err) {
      await Promise.allSettled([this.storeTx?.abort(), this.queueTx?.abort()]);
      this.storeTx = this.queueTx = null;
      throw err;
    }
    if (this.aborted) await Promise.allSettled([this.storeTx?.abort(), this.queueTx?.abort()]);
  }

  /** Append content; the returned promise resolves when the targets can take more. */
  write(pieces: readonly Buffer[]): Promise<unknown> | undefined {
    if (pieces.length === 0) return undefined;
    const chunk = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
    this.size += chunk.length;
    const pending = this.opened ? this.writeNow(chunk) : this.ready.then(() => this.writeNow(chunk));
    // A failed write (disk full, I/O error) is remembered and answered after the data, like a failed commit.
    return pending?.catch((err: unknown) => this.fail(err));
  }

  private fail(err: unknown): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.logger.warn('smtp.store_write_failed', { id: this.id, error: err });
  }

  private writeNow(chunk: Buffer): Promise<unknown> | undefined {
    if (this.failure !== null || this.aborted) return undefined;
    let toStore: Promise<void> | undefined;
    let toQueue: Promise<void> | undefined;
    if (this.storeTx) {
      toStore = this.storeTx.write(this.storePrefix ? Buffer.concat([this.storePrefix, chunk]) : chunk);
      this.storePrefix = null;
    }
    if (this.queueTx) {
      toQueue = this.queueTx.write(this.queuePrefix ? Buffer.concat([this.queuePrefix, chunk]) : chunk);
      this.queuePrefix = null;
    }
    return toStore && toQueue ? Promise.all([toStore, toQueue]) : (toStore ?? toQueue);
  }

  /** Make the message durable everywhere; only an ok result may be answered with 250. */
  async commit(): Promise<CommitResult> {
    await this.ready;
    if (this.failure !== null) {
      await this.abort();
      return { ok: false, reply: storeFailureReply(this.failure) };
    }
    this.finished = true;
    try {
      // An empty message still gets its trace headers.
      if (this.storePrefix || this.queuePrefix) await this.writeNow(Buffer.alloc(0));
    } catch (err) {
      await this.abort();
      return { ok: false, reply: storeFailureReply(err) };
    }
    const results = await Promise.allSettled([
      this.storeTx ? this.storeTx.commit(this.mailboxes) : Promise.resolve(null),
      this.queueTx ? this.queueTx.commit() : Promise.resolve(null),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    this.settled = true;
    if (!failed) return { ok: true, id: this.id };
    if (results.some((r) => r.status === 'fulfilled' && r.value !== null)) {
      this.logger.warn('smtp.partial_commit', { id: this.id, error: failed.reason, note: 'part of the message was committed; a retry may duplicate it' });
    } else {
      this.logger.warn('smtp.commit_failed', { id: this.id, error: failed.reason });
    }
    // Abort only what failed: a transaction that committed cannot (and must not) be undone.
    await Promise.allSettled([
      results[0].status === 'rejected' ? this.storeTx?.abort() : undefined,
      results[1].status === 'rejected' ? this.queueTx?.abort() : undefined,
    ]);
    return { ok: false, reply: storeFailureReply(failed.reason) };
  }

  /** Throw the temporary data away (safe more than once; a no-op after commit). */
  async abort(): Promise<void> {
    if (this.settled || this.aborted) return;
    this.aborted = true;
    this.finished = true;
    if (!this.opened) return; // begin() aborts what it opens once it sees `aborted`
    await Promise.allSettled([this.storeTx?.abort(), this.queueTx?.abort()]);
  }

  get done(): boolean {
    return this.finished;
  }
}
