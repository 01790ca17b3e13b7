/** Convenience helpers over the two-phase delivery contract. */
import type { Readable } from 'node:stream';
import type { MailboxName, MailStore, StoredMessage } from './types.js';

/** Deliver a whole message held in memory to one or more mailboxes; nothing is left behind on failure. */
export async function deliverBuffer(store: MailStore, mailboxes: readonly MailboxName[], data: Buffer): Promise<StoredMessage[]> {
  const tx = await store.beginDelivery();
  try {
    await tx.write(data);
    return await tx.commit(mailboxes);
  } catch (err) {
    await tx.abort();
    throw err;
  }
}

/** Deliver a message from a stream of Buffers (for example a file), with backpressure. */
export async function deliverStream(store: MailStore, mailboxes: readonly MailboxName[], source: Readable | AsyncIterable<Buffer>): Promise<StoredMessage[]> {
  const tx = await store.beginDelivery();
  try {
    for await (const chunk of source) await tx.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    return await tx.commit(mailboxes);
  } catch (err) {
    await tx.abort();
    throw err;
  }
}
