/**
 * One delivery into the Maildir store.
 *
 * The body is buffered in memory up to `bufferBytes` and then streamed to <root>/.tmp/<pid>.<token>.<seq> (each write
 * awaited: that is the backpressure); a smaller body is written only at commit, in one go. commit() writes what is
 * left, fdatasyncs and closes the file, hard-links it into
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

/** link() errors meaning "no hard link possible here": fall back to a copy. */
const NO_HARD_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS']);

/** Size of the blocks small chunks are packed into. */
const BLOCK = 16 * 1024;

export class MaildirDelivery implements DeliveryTransaction {
  private state: State = 'open';
  private chunks: Buffer[] = [];
  private block: Buffer | null = null;
  private blockUsed = 0;
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
    this.append(chunk);
    if (this.buffered >= this.store.options.bufferBytes) await this.flush();
  }

  /**
   * Keep a copy of the chunk (the caller may reuse its buffer). Small chunks, such as the lines an SMTP session
   * writes, are packed into shared blocks so a flush writes a few buffers rather than hundreds.
   */
  private append(chunk: Buffer): void {
    this.buffered += chunk.length;
    if (chunk.length >= BLOCK / 2) {
      this.sealBlock();
      this.chunks.push(Buffer.from(chunk));
      return;
    }
    if (this.block && this.blockUsed + chunk.length > this.block.length) this.sealBlock();
    this.block ??= Buffer.allocUnsafe(BLOCK);
    this.blockUsed += chunk.copy(this.block, this.blockUsed);
  }

  private sealBlock(): void {
    if (this.block && this.blockUsed > 0) this.chunks.push(this.block.subarray(0, this.blockUsed));
    this.block = null;
    this.blockUsed = 0;
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0 && this.created) return;
    try {
      if (!this.fh) {
        this.created = true;
        this.fh = await this.store.fs.createExclusive(this.tmpPath);
      }
      this.sealBlock();
      const chunks = this.chunks;
      this.chunks = [];
      this.written += this.buffered;
      this.buffered = 0;
      await this.store.fs.writeAll(this.fh, this.tmpPath, chunks);
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
      const closed = await this.makeDurable();
      const size = this.written;
      const vsize = size + this.lf.count;
      const dirs = await Promise.all(mailboxes.map((m) => this.store.mailboxReady(m)));
      const names = mailboxes.map(() => this.store.names.next());
      const fileOf = (i: number) => join(dirs[i], 'new', this.store.names.fileName(names[i], size, vsize));
      const last = mailboxes.length - 1;
      const linked = await Promise.allSettled(
        names.slice(0, last).map(async (_, i) => {
          await this.publish(mailboxes[i], () => this.linkOrCopy(fileOf(i), join(dirs[i], 'tmp', names[i])));
          published.push(fileOf(i));
        }),
      );
      for (const r of linked) if (r.status === 'rejected') throw r.reason;
      await this.publish(mailboxes[last], () => this.moveOrCopy(fileOf(last), join(dirs[last], 'tmp', names[last])));
      published.push(fileOf(last));
      this.created = false;
      await Promise.all([...new Set(dirs)].map((d) => this.store.dirSync.sync(join(d, 'new'))));
      if (closed) await closed;
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

  /**
   * Write what is left and fdatasync the temporary file. A delivery still wholly in memory (at most bufferBytes, the
   * usual case) is written with one blocking open + writev on the spot and closed on the spot after the fdatasync,
   * which is the only call sent to the thread pool. A streamed one keeps its FileHandle; its close overlaps with
   * publishing (answered as a promise to await before returning).
   */
  private async makeDurable(): Promise<Promise<void> | null> {
    if (!this.fh && !this.created) {
      this.sealBlock();
      const chunks = this.chunks;
      this.chunks = [];
      this.written += this.buffered;
      this.buffered = 0;
      this.created = true;
      const fd = await this.store.fs.createWithNow(this.tmpPath, chunks);
      try {
        await this.store.fs.datasyncFd(fd, this.tmpPath);
      } finally {
        this.store.fs.closeNow(fd);
      }
      return null;
    }
    await this.flush();
    const fh = this.fh as FileHandle;
    await this.store.fs.datasync(fh, this.tmpPath);
    this.fh = null;
    // The data is durable; closing can overlap with publishing.
    return fh.close().catch(() => undefined);
  }

  /**
   * Hard-link the body into a mailbox's new/. Where the file system has no hard links (or the link count is at its
   * limit), copy it into the mailbox's tmp/, make the copy durable, and rename it into new/.
   */
  private async linkOrCopy(target: string, viaTmp: string): Promise<void> {
    try {
      await this.store.fs.linkNow(this.tmpPath, target);
    } catch (err) {
      if (!NO_HARD_LINK.has(errnoCode(err) ?? '')) throw err;
      await this.copyVia(target, viaTmp);
    }
  }

  /** Rename the body into the last mailbox's new/; across file systems, a durable copy instead. */
  private async moveOrCopy(target: string, viaTmp: string): Promise<void> {
    try {
      await this.store.fs.renameNow(this.tmpPath, target);
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw err;
      await this.copyVia(target, viaTmp);
      await this.store.fs.unlinkIfExists(this.tmpPath).catch(() => undefined);
    }
  }

  private async copyVia(target: string, viaTmp: string): Promise<void> {
    try {
      await this.store.fs.copyDurably(this.tmpPath, viaTmp);
      await this.store.fs.rename(viaTmp, target);
    } catch (err) {
      await this.store.fs.unlinkIfExists(viaTmp).catch(() => undefined);
      throw err;
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
    this.block = null;
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
