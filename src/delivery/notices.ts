/**
 * Where DSNs go: to a local sender's mailbox through the MailStore (resolved by the Directory), to a remote sender
 * through the outbound queue from the null sender <> (with NOTIFY=NEVER, so a notice never causes another).
 */
import type { Directory } from '../directory/types.js';
import type { Logger } from '../observability/log.js';
import type { MailStore } from '../store/types.js';
import type { Clock } from './clock.js';
import { buildDsn } from './dsn.js';
import type { DiskQueue } from './queue.js';
import type { QueueStore } from './queue-store.js';
import type { NoticeSink } from './scheduler.js';

export interface NoticeSinkOptions {
  hostname: string;
  queue: DiskQueue;
  queueStore: QueueStore;
  clock: Clock;
  logger: Logger;
  maxReturnSize: number;
  giveUpAfterSeconds: number;
  /** Local delivery of notices to local senders; without both, every notice goes through the queue. */
  store?: MailStore;
  directory?: Directory;
}

/** Most octets read from a large original to find its header block. */
const HEAD_LIMIT = 256 * 1024;

export function createNoticeSink(o: NoticeSinkOptions): NoticeSink {
  return async (rec, items) => {
    const sender = rec.envelope.mailFrom;
    if (sender === '') return; // RFC 3461/5321: never a notice about a notice.
    // Only what can be returned is read: the whole message when it is small enough, else its beginning (headers).
    const original =
      rec.size <= o.maxReturnSize ? await o.queueStore.readMessage(rec.id) : await o.queueStore.readMessageHead(rec.id, HEAD_LIMIT);
    const now = o.clock.now();
    const dsn = buildDsn(rec, items, original, {
      hostname: o.hostname,
      maxReturnSize: o.maxReturnSize,
      willRetryUntil: rec.createdAt + o.giveUpAfterSeconds * 1000,
      now,
      originalSize: rec.size,
    });
    const actions = items.map((i) => `${i.recipient.address}:${i.action}`);
    if (o.store && o.directory) {
      const where = await o.directory.resolve(sender);
      if (where.kind === 'local') {
        const tx = await o.store.beginDelivery();
        try {
          await tx.write(Buffer.from('Return-Path: <>\r\n'));
          await tx.write(dsn.message);
          await tx.commit(where.mailboxes);
        } catch (err) {
          await tx.abort();
          throw err;
        }
        o.logger.info('queue.notice_local', { id: rec.id, to: sender, actions });
        return;
      }
      if (where.kind === 'unknown') {
        o.logger.warn('queue.notice_undeliverable', { id: rec.id, to: sender, reason: 'no such local user', actions });
        return;
      }
    }
    const noticeId = await o.queue.enqueue(
      {
        mailFrom: '',
        recipients: [{ address: sender, notify: 'NEVER' }],
        body: dsn.eightBit ? '8BITMIME' : '7BIT',
        smtputf8: dsn.utf8,
      },
      dsn.message,
      'bounce',
    );
    o.logger.info('queue.notice_queued', { id: rec.id, notice: noticeId, to: sender, actions });
  };
}
