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
  private finished = false;

  private constructor(
    readonly id: string,
    private readonly storeTx: DeliveryTransaction | null,
    private readonly queueTx: QueueTransaction | null,
    private readonly mailboxes: readonly string[],
    private readonly logger: Logger,
  ) {}

  /** Begin the transactions and write the trace headers. Rejects (having aborted what was begun) on failure. */
  static async open(targets: BodyTargets, logger: Logger): Promise<BodyWriter> {
    let storeTx: DeliveryTransaction | null = null;
    let queueTx: QueueTransaction | null = null;
    try {
      const received = receivedHeader(targets.trace);
      if (targets.mailboxes.length > 0) {
        storeTx = await targets.store.beginDelivery();
        await storeTx.write(Buffer.from(returnPathHeader(targets.mailFrom) + received));
      }
      if (targets.envelope && targets.queue && targets.envelope.recipients.length > 0) {
        queueTx = await targets.queue.begin(targets.envelope);
        await queueTx.write(Buffer.from(received));
      }
      return new BodyWriter(targets.trace.id, storeTx, queueTx, targets.mailboxes, logger);
    } catch (err) {
      await storeTx?.abort().catch(() => {});
      await queueTx?.abort().catch(() => {});
      throw err;
    }
  }

  /** Append content; the returned promise resolves when the targets can take more. */
  write(pieces: readonly Buffer[]): Promise<unknown> | undefined {
    if (pieces.length === 0) return undefined;
    const chunk = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
    this.size += chunk.length;
    if (this.storeTx && this.queueTx) return Promise.all([this.storeTx.write(chunk), this.queueTx.write(chunk)]);
    return (this.storeTx ?? this.queueTx)?.write(chunk);
  }

  /** Make the message durable everywhere; only an ok result may be answered with 250. */
  async commit(): Promise<CommitResult> {
    this.finished = true;
    const results = await Promise.allSettled([
      this.storeTx ? this.storeTx.commit(this.mailboxes) : Promise.resolve(null),
      this.queueTx ? this.queueTx.commit() : Promise.resolve(null),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
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

  /** Throw the temporary data away (safe after commit and more than once). */
  async abort(): Promise<void> {
    this.finished = true;
    await Promise.allSettled([this.storeTx?.abort(), this.queueTx?.abort()]);
  }

  get done(): boolean {
    return this.finished;
  }
}
