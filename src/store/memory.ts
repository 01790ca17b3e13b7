/** In-memory MailStore: the reference implementation of the contract, for tests. Nothing survives the process. */
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { StoreError, type DeliveryTransaction, type MailboxName, type MailStore, type Maildrop, type MaildropEntry, type StoredMessage } from './types.js';
import { topOfMessage } from './top.js';

interface MemMessage {
  uid: string;
  data: Buffer;
}

export class MemoryStore implements MailStore {
  private readonly boxes = new Map<MailboxName, MemMessage[]>();
  private readonly locks = new Set<MailboxName>();
  private counter = 0;
  /** Test hook: make the next commit fail as a full disk would. */
  failNextCommit: StoreError | null = null;

  async beginDelivery(): Promise<DeliveryTransaction> {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    return {
      write: async (chunk) => {
        if (done) throw new StoreError('io', 'transaction already finished');
        chunks.push(Buffer.from(chunk));
        size += chunk.length;
      },
      get size() {
        return size;
      },
      commit: async (mailboxes) => {
        if (done) throw new StoreError('io', 'transaction already finished');
        if (mailboxes.length === 0) throw new StoreError('io', 'commit needs at least one mailbox');
        if (this.failNextCommit) {
          const err = this.failNextCommit;
          this.failNextCommit = null;
          done = true;
          throw err;
        }
        done = true;
        const data = Buffer.concat(chunks);
        const out: StoredMessage[] = [];
        for (const mailbox of mailboxes) {
          const uid = `${Date.now().toString(36)}.${(++this.counter).toString(36)}.${randomBytes(4).toString('hex')}`;
          this.box(mailbox).push({ uid, data });
          out.push({ mailbox, uid, size: data.length });
        }
        return out;
      },
      abort: async () => {
        done = true;
        chunks.length = 0;
      },
    };
  }

  async openMaildrop(mailbox: MailboxName): Promise<Maildrop> {
    if (this.locks.has(mailbox)) throw new StoreError('locked', `maildrop ${mailbox} is in use`);
    this.locks.add(mailbox);
    const snapshot = [...this.box(mailbox)];
    const byUid = new Map(snapshot.map((m) => [m.uid, m]));
    let released = false;
    const find = (uid: string) => {
      const m = byUid.get(uid);
      if (!m) throw new StoreError('missing', `no message ${uid}`);
      return m;
    };
    const release = async () => {
      if (!released) {
        released = true;
        this.locks.delete(mailbox);
      }
    };
    return {
      mailbox,
      entries: snapshot.map((m): MaildropEntry => ({ uid: m.uid, size: m.data.length })),
      read: (uid, options) => {
        const data = find(uid).data;
        return Readable.from([options?.bodyLines === undefined ? data : topOfMessage(data, options.bodyLines)]);
      },
      readBuffer: async (uid) => find(uid).data,
      commitDeletions: async (uids) => {
        const gone = new Set(uids);
        this.boxes.set(mailbox, this.box(mailbox).filter((m) => !gone.has(m.uid)));
        await release();
      },
      release,
    };
  }

  async ensureMailbox(mailbox: MailboxName): Promise<void> {
    this.box(mailbox);
  }

  async list(mailbox: MailboxName): Promise<MaildropEntry[]> {
    return (this.boxes.get(mailbox) ?? []).map((m) => ({ uid: m.uid, size: m.data.length }));
  }

  /** Test helper: the stored bytes of every message in a mailbox. */
  messages(mailbox: MailboxName): Buffer[] {
    return (this.boxes.get(mailbox) ?? []).map((m) => m.data);
  }

  async recover(): Promise<void> {}
  async close(): Promise<void> {}

  private box(mailbox: MailboxName): MemMessage[] {
    let b = this.boxes.get(mailbox);
    if (!b) this.boxes.set(mailbox, (b = []));
    return b;
  }
}
