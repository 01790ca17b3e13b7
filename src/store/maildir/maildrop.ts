/**
 * A POP3 maildrop over a Maildir: the snapshot taken at open, locked (in this process and by a lock file) until
 * release() or commitDeletions(). Messages stay where they are (new/ or cur/); if another tool moves or renames one
 * meanwhile it is found again by its UID.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { StoreError, type Maildrop, type MaildropEntry, type MailboxName } from '../types.js';
import { CrlfConverter, topLines } from './crlf.js';
import { topOfMessage } from '../top.js';
import { errnoCode, toStoreError } from './fsops.js';
import type { StoreInternals } from './internals.js';
import type { LockFile } from './lock.js';
import { locate, mapLimit, type ScannedMessage, type Sub } from './scan.js';

const READ_CHUNK = 64 * 1024;
/** Messages up to this size are read with one call (read() and readBuffer()); larger ones are streamed. */
const WHOLE_READ_MAX = 256 * 1024;

async function* readChunks(fh: FileHandle): AsyncGenerator<Buffer> {
  while (true) {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
    if (bytesRead === 0) return;
    yield bytesRead === READ_CHUNK ? buf : buf.subarray(0, bytesRead);
  }
}

async function* convertLf(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const conv = new CrlfConverter();
  for await (const chunk of source) yield conv.convert(chunk);
}

export class MaildirMaildrop implements Maildrop {
  readonly entries: readonly MaildropEntry[];
  private readonly byUid: Map<string, ScannedMessage>;
  private released = false;

  constructor(
    private readonly store: StoreInternals,
    readonly mailbox: MailboxName,
    private readonly dir: string,
    private readonly lock: LockFile,
    messages: ScannedMessage[],
  ) {
    this.byUid = new Map(messages.map((m) => [m.uid, m]));
    this.entries = messages.map((m) => ({ uid: m.uid, size: m.vsize }));
  }

  private find(uid: string): ScannedMessage {
    const m = this.byUid.get(uid);
    if (!m) throw new StoreError('missing', `no message ${uid} in this maildrop`);
    return m;
  }

  /**
   * The message's current path. `dir` is already normalised and a name from readdir() holds no "/" and is never "." or
   * ".." (scan skips names starting with "."), so plain concatenation gives what join() would, at a fraction of the cost.
   */
  private pathOf(m: ScannedMessage): string {
    return `${this.dir}/${m.sub}/${m.name}`;
  }

  /** Run an operation on the message's current path; if it was moved by another tool, find it and try again. */
  private async atPath<T>(m: ScannedMessage, op: (path: string) => Promise<T>): Promise<T> {
    try {
      return await op(this.pathOf(m));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      const now = await locate(this.store.fs, this.dir, m.uid);
      if (!now) throw new StoreError('missing', `message ${m.uid} is gone`, { cause: err });
      m.sub = now.sub;
      m.name = now.name;
      return op(this.pathOf(m));
    }
  }

  read(uid: string, options?: { bodyLines?: number }): Readable {
    const m = this.find(uid);
    const bodyLines = options?.bodyLines;
    if (m.size > WHOLE_READ_MAX) return Readable.from(this.content(m, bodyLines), { objectMode: false });
    // Small: one read, no generator machinery.
    const stream = new Readable({ read() {} });
    this.readBuffer(uid).then(
      (data) => {
        stream.push(bodyLines === undefined ? data : topOfMessage(data, bodyLines));
        stream.push(null);
      },
      (err: unknown) => stream.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    return stream;
  }

  private async *content(m: ScannedMessage, bodyLines: number | undefined): AsyncGenerator<Buffer> {
    let fh: FileHandle;
    try {
      fh = await this.atPath(m, (p) => this.store.fs.openRead(p));
    } catch (err) {
      throw toStoreError(err, `reading message ${m.uid}`);
    }
    try {
      let source: AsyncIterable<Buffer> = readChunks(fh);
      if (m.vsize !== m.size) source = convertLf(source);
      if (bodyLines !== undefined) source = topLines(source, bodyLines);
      yield* source;
    } catch (err) {
      throw toStoreError(err, `reading message ${m.uid}`);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  readBuffer(uid: string): Promise<Buffer> {
    return this.readBufferInto(uid, undefined);
  }

  /**
   * readBuffer(), reading into `target` when the message fits there and can be read on the spot: the result is then a
   * view of `target` (check with `result.buffer === target.buffer`), otherwise a buffer of its own. For a caller that
   * knows when it is done with a buffer and reuses it (the POP3 server), which spares allocating one per message.
   */
  readBufferInto(uid: string, target: Buffer | undefined): Promise<Buffer> {
    const m = this.byUid.get(uid);
    if (m !== undefined) {
      // Small message, no fault hook: read it now, without a chain of promises (RETR's common case).
      try {
        const data = this.store.fs.readWholeNow(this.pathOf(m), m.size, target);
        if (data) return Promise.resolve(m.vsize !== m.size ? new CrlfConverter().convert(data) : data);
      } catch (err) {
        // Moved or renamed by another tool meanwhile: the path below finds it again.
        if (errnoCode(err) !== 'ENOENT') return Promise.reject(toStoreError(err, `reading message ${uid}`));
      }
    }
    return this.readBufferAsync(uid);
  }

  /**
   * The message now, synchronously, when that is possible (small, no fault hook, found where the listing saw it),
   * into `target` when it fits (as readBufferInto); null when it is not: then use readBufferInto(), which also finds
   * moved files and reports a missing one. Throws StoreError for other read errors.
   */
  readBufferNow(uid: string, target: Buffer | undefined): Buffer | null {
    const m = this.byUid.get(uid);
    if (m === undefined) return null;
    let data: Buffer | null;
    try {
      data = this.store.fs.readWholeNow(this.pathOf(m), m.size, target);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw toStoreError(err, `reading message ${uid}`);
    }
    if (data === null) return null;
    return m.vsize !== m.size ? new CrlfConverter().convert(data) : data;
  }

  private async readBufferAsync(uid: string): Promise<Buffer> {
    const m = this.find(uid);
    try {
      const data = await this.atPath(m, (p) => this.store.fs.readWhole(p, m.size));
      return m.vsize !== m.size ? new CrlfConverter().convert(data) : data;
    } catch (err) {
      throw toStoreError(err, `reading message ${uid}`);
    }
  }

  async commitDeletions(uids: readonly string[]): Promise<void> {
    if (this.released) throw new StoreError('io', 'maildrop already released');
    try {
      const doomed = [...new Set(uids)].map((u) => this.byUid.get(u)).filter((m): m is ScannedMessage => m !== undefined);
      const touched = new Set<Sub>();
      await mapLimit(doomed, 32, async (m) => {
        try {
          await this.atPath(m, (p) => this.store.fs.unlink(p));
        } catch (err) {
          if (!(err instanceof StoreError && err.kind === 'missing')) throw err; // already deleted elsewhere: fine
        }
        touched.add(m.sub);
      });
      await Promise.all([...touched].map((sub) => this.store.dirSync.sync(join(this.dir, sub))));
    } catch (err) {
      throw toStoreError(err, `deleting messages in ${this.mailbox}`);
    } finally {
      await this.release();
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.lock.release();
    } finally {
      this.store.maildropReleased(this.dir, this);
    }
  }
}
