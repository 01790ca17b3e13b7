/**
 * OutboundQueue (types.ts) over the on-disk QueueStore: begin() opens a message file in tmp/, commit() publishes it,
 * writes the state record (both fsynced) and hands the record to the scheduler. Only after commit() resolves may the
 * SMTP server answer 250.
 */
import { rm } from 'node:fs/promises';
import type { Clock } from './clock.js';
import { MessageWriter, newQueueId, type QueueStore } from './queue-store.js';
import type { QueueRecord, RecipientRecord } from './record.js';
import type { Envelope, OutboundQueue, QueueTransaction } from './types.js';

/** Computes DKIM-Signature header field(s) for a committed message, or undefined when it is not to be signed. */
export type MessageSigner = (messagePath: string, envelope: Envelope) => Promise<string | undefined>;

export interface DiskQueueOptions {
  store: QueueStore;
  clock: Clock;
  /** Called with each committed record. */
  onCommit: (rec: QueueRecord) => void;
  signer?: MessageSigner;
  /** Largest message accepted into the queue, octets (the SMTP server enforces its own SIZE before this). */
  maxMessageSize: number;
}

export class QueueFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueFullError';
  }
}

export class DiskQueue implements OutboundQueue {
  private ready: Promise<void> | null = null;
  constructor(private readonly o: DiskQueueOptions) {}

  async begin(envelope: Envelope, origin: QueueRecord['origin'] = 'submission'): Promise<QueueTransaction> {
    if (envelope.recipients.length === 0) throw new Error('queue: a message needs at least one recipient');
    this.ready ??= this.o.store.init().catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    await this.ready;
    const id = newQueueId(this.o.clock.now());
    const writer = await MessageWriter.open(this.o.store.paths, id);
    const o = this.o;
    let state: 'open' | 'committed' | 'aborted' = 'open';
    return {
      async write(chunk: Buffer): Promise<void> {
        if (state !== 'open') throw new Error(`queue transaction ${state}`);
        if (writer.bytes + chunk.length > o.maxMessageSize) throw new QueueFullError(`message exceeds ${o.maxMessageSize} octets`);
        await writer.write(chunk);
      },
      async commit(): Promise<string> {
        if (state !== 'open') throw new Error(`queue transaction ${state}`);
        state = 'committed';
        let recordTmp: string | null = null;
        try {
          const now = o.clock.now();
          const { recipients, ...rest } = envelope;
          const rec: QueueRecord = {
            version: 1,
            id,
            createdAt: now,
            envelope: rest,
            recipients: recipients.map(
              (r): RecipientRecord => ({
                address: r.address,
                ...(r.notify !== undefined ? { notify: r.notify } : {}),
                ...(r.orcpt !== undefined ? { orcpt: r.orcpt } : {}),
                status: 'pending',
                attempts: 0,
                nextAttemptAt: now,
                reported: false,
                delayReported: false,
              }),
            ),
            size: writer.bytes,
            origin,
          };
          // The message and its record are fsynced in parallel, renamed message first, and both directories synced
          // (shared with concurrent commits) before commit() resolves. See queue-store.ts for the crash analysis.
          const flushed = writer.flush();
          if (o.signer) {
            await flushed;
            const dkim = await o.signer(writer.path, envelope);
            if (dkim) rec.dkim = dkim;
          }
          const [, tmp] = await Promise.all([flushed, o.store.prepareRecord(rec)]);
          recordTmp = tmp;
          await writer.rename();
          await o.store.installRecord(id, tmp);
          recordTmp = null;
          await o.store.syncDirectories();
          o.onCommit(rec);
          return id;
        } catch (err) {
          if (recordTmp) await rm(recordTmp, { force: true }).catch(() => {});
          await o.store.remove(id).catch(() => {});
          await writer.discard().catch(() => {});
          throw err;
        }
      },
      async abort(): Promise<void> {
        if (state !== 'open') return;
        state = 'aborted';
        await writer.discard();
      },
    };
  }

  /** Queue a whole message in one call (bounces, tests). */
  async enqueue(envelope: Envelope, message: Buffer, origin: QueueRecord['origin'] = 'submission'): Promise<string> {
    const tx = await this.begin(envelope, origin);
    try {
      await tx.write(message);
      return await tx.commit();
    } catch (err) {
      await tx.abort();
      throw err;
    }
  }
}
