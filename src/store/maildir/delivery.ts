/**
 * One delivery into the Maildir store.
 *
 * The body is buffered in memory up to `bufferBytes` and then streamed to <root>/.tmp/<pid>.<token>.<seq> (each write
 * awaited: that is the backpressure). commit() writes what is left, fdatasyncs and closes the file, hard-links it into
 * the new/ directory of every mailbox but the last and renames it into the last one, fsyncs those directories (shared
 * with concurrent commits, see DirSyncer) and only then resolves. On any failure the links already made are removed
 * and the temporary file is deleted, so nothing is published. A crash leaves the temporary file (removed by recover())
 * and, for a multi-mailbox commit, possibly the complete message in some of the mailboxes.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, type DeliveryTransaction, type MailboxName, type StoredMessage } from '../types.js';
import { BareLfCounter } from './crlf.js';
import { errnoCode, toStoreError } from './fsops.js';
import type { StoreInternals } from './internals.js';

type State = 'open' | 'committing' | 'done';

export class MaildirDelivery implements DeliveryTransaction {
  private state: State = 'open';
  private chunks: Buffer[] = [];
  private buffered = 0;
  private written = 0;
  private readonly lf = new BareLfCounter();
  private fh: FileHandle | null = null;
  private created = false;
  private failure: StoreError | null = null;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: StoreInternals,
    private readonly tmpPath: string,
  ) {}

  get size(): number {
    return this.written + this.buffered;
  }

  write(chunk: Buffer): Promise<void> {
    // Writes are serialised even if a caller does not wait for the previous one.
    const p = this.busy.then(() => this.doWrite(chunk));
    this.busy = p.catch(() => undefined);
    return p;
  }

  private async doWrite(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new StoreError('io', 'delivery already finished');
    if (chunk.length === 0) return;
    this.lf.add(chunk);
    this.chunks.push(Buffer.from(chunk));
    this.buffered += chunk.length;
    if (this.buffered >= this.store.options.bufferBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0 && this.created) return;
    try {
      if (!this.fh) {
        this.created = true;
        this.fh = await this.store.fs.createExclusive(this.tmpPath);
      }
      const chunks = this.chunks;
      this.chunks = [];
      this.buffered = 0;
      await this.store.fs.writeAll(this.fh, this.tmpPath, chunks);
      for (const c of chunks) this.written += c.length;
    } catch (err) {
      this.failure = toStoreError(err, 'writing message');
      throw this.failure;
    }
  }

  async commit(mailboxes: readonly MailboxName[]): Promise<StoredMessage[]> {
    await this.busy;
    if (this.failure) {
      await this.abort();
      throw this.failure;
    }
    if (this.state !== 'open') throw new StoreError('io', 'delivery already finished');
    if (mailboxes.length === 0) throw new StoreError('io', 'commit needs at least one mailbox');
    this.state = 'committing';
    const published: string[] = [];
    try {
      await this.flush();
      const fh = this.fh as FileHandle;
      await this.store.fs.datasync(fh, this.tmpPath);
      this.fh = null;
      // The data is durable; closing can overlap with publishing.
      const closed = fh.close().catch(() => undefined);
      const size = this.written;
      const vsize = size + this.lf.count;
      const dirs = await Promise.all(mailboxes.map((m) => this.store.mailboxReady(m)));
      const names = mailboxes.map(() => this.store.names.next());
      const fileOf = (i: number) => join(dirs[i], 'new', this.store.names.fileName(names[i], size, vsize));
      const last = mailboxes.length - 1;
      const linked = await Promise.allSettled(
        names.slice(0, last).map(async (_, i) => {
          await this.publish(mailboxes[i], () => this.store.fs.link(this.tmpPath, fileOf(i)));
          published.push(fileOf(i));
        }),
      );
      for (const r of linked) if (r.status === 'rejected') throw r.reason;
      await this.publish(mailboxes[last], () => this.store.fs.rename(this.tmpPath, fileOf(last)));
      published.push(fileOf(last));
      this.created = false;
      await Promise.all([...new Set(dirs)].map((d) => this.store.dirSync.sync(join(d, 'new'))));
      await closed;
      this.state = 'done';
      this.store.deliveryFinished(this.tmpPath);
      return mailboxes.map((mailbox, i) => ({ mailbox, uid: names[i], size: vsize }));
    } catch (err) {
      const failure = toStoreError(err, 'committing message');
      await Promise.all(published.map((p) => this.store.fs.unlinkIfExists(p).catch(() => undefined)));
      this.state = 'open';
      await this.abort();
      throw failure;
    }
  }

  /** Link or rename into a mailbox; if its directory vanished since it was checked, create it again once. */
  private async publish(mailbox: MailboxName, op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      this.store.forgetMailbox(mailbox);
      await this.store.mailboxReady(mailbox);
      await op();
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'committing') return;
    this.state = 'done';
    await this.busy; // a write in flight may be creating the file
    this.chunks = [];
    this.buffered = 0;
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close().catch(() => undefined);
    if (this.created) {
      this.created = false;
      await this.store.fs.unlinkIfExists(this.tmpPath).catch(() => undefined);
    }
    this.store.deliveryFinished(this.tmpPath);
  }
}
