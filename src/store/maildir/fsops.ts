/**
 * The file system operations the Maildir store uses, in one place, so tests can inject faults (a full disk, an I/O
 * error, a pause) before any of them, and so errors map to StoreError the same way everywhere.
 */
import {
  promises as fsp,
  constants as fsc,
  open as openCb,
  read as readCb,
  close as closeCb,
  fdatasync as fdatasyncCb,
  openSync,
  readSync,
  closeSync,
  renameSync,
  linkSync,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { fsyncDir } from '../../fsutil/dir-sync.js';
import { afterShortWrite, writeAllSync } from '../../fsutil/durable-file.js';
import { errnoCode } from '../../fsutil/errno.js';
import { StoreError } from '../types.js';

export type FsOp =
  | 'open'
  | 'write'
  | 'datasync'
  | 'link'
  | 'copy'
  | 'rename'
  | 'unlink'
  | 'mkdir'
  | 'fsyncdir'
  | 'readdir'
  | 'read';

/**
 * Called before each operation with its target path; it may throw (the error is treated as if the operation failed)
 * or return a promise (the operation waits for it). For tests and fault injection only.
 */
export type FaultHook = (op: FsOp, path: string) => void | Promise<void>;

export { errnoCode };

/** ENOSPC/EDQUOT -> 'full', ENOENT -> the given kind for missing things, anything else -> 'io'. */
export function toStoreError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = errnoCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreError('full', `${what}: no space left (${code})`, { cause: err });
  return new StoreError('io', `${what}: ${code ?? (err instanceof Error ? err.message : String(err))}`, { cause: err });
}

export class FsOps {
  /**
   * @param syncReadBytes files expected to be at most this large are read by readWhole() with blocking system calls on
   *   the calling thread (0: never).
   */
  constructor(
    private readonly hook?: FaultHook,
    private readonly syncReadBytes = 0,
  ) {}

  private async before(op: FsOp, path: string): Promise<void> {
    if (this.hook) await this.hook(op, path);
  }

  /** The fault hook for an operation done on the spot: a promise only when the hook returned one (then await it). */
  private beforeNow(op: FsOp, path: string): void | Promise<void> {
    return this.hook?.(op, path);
  }

  // ---- The commit path of deliveries ----
  // A thread-pool round trip (libuv work queue, wake-up of the event loop, a promise) costs several times the CPU of the
  // system call itself for write/close/rename of a small file in the page cache. The commit path therefore makes those
  // calls on the spot and sends to the thread pool only what may wait for the disk: creating the file (a new inode
  // waits for a journal commit in progress: 50-360 us per open measured on the event loop under load), fdatasync,
  // fsync.

  /** Create a new file (never overwriting; in the thread pool) and write the buffers into it on the spot; answers the fd. */
  async createWithNow(path: string, chunks: readonly Buffer[]): Promise<number> {
    const h = this.beforeNow('open', path);
    if (h) await h;
    // Creating a file needs a journal handle, which can wait for a journal commit in progress: done in the thread pool
    // so that the event loop never waits for the disk.
    const fd = await new Promise<number>((resolve, reject) =>
      openCb(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    try {
      const w = this.beforeNow('write', path);
      if (w) await w;
      writeAllSync(fd, chunks);
      return fd;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** fdatasync an fd in the thread pool (the callback API: no FileHandle, one promise). */
  async datasyncFd(fd: number, path: string): Promise<void> {
    const h = this.beforeNow('datasync', path);
    if (h) await h;
    await new Promise<void>((resolve, reject) => fdatasyncCb(fd, (err) => (err ? reject(err) : resolve())));
  }

  closeNow(fd: number): void {
    closeSync(fd);
  }

  async renameNow(from: string, to: string): Promise<void> {
    const h = this.beforeNow('rename', to);
    if (h) await h;
    renameSync(from, to);
  }

  async linkNow(from: string, to: string): Promise<void> {
    const h = this.beforeNow('link', to);
    if (h) await h;
    linkSync(from, to);
  }

  async createExclusive(path: string): Promise<FileHandle> {
    await this.before('open', path);
    return fsp.open(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
  }

  /** Write every byte of the buffers (retrying short writes). */
  async writeAll(fh: FileHandle, path: string, chunks: Buffer[]): Promise<void> {
    await this.before('write', path);
    let rest = chunks.filter((c) => c.length > 0);
    while (rest.length > 0) {
      const { bytesWritten } = rest.length === 1 ? await fh.write(rest[0]) : await fh.writev(rest);
      rest = afterShortWrite(rest, bytesWritten);
    }
  }

  async datasync(fh: FileHandle, path: string): Promise<void> {
    await this.before('datasync', path);
    await fh.datasync();
  }

  async link(from: string, to: string): Promise<void> {
    await this.before('link', to);
    await fsp.link(from, to);
  }

  /** Copy to a new file (never overwriting) and make the copy durable. */
  async copyDurably(from: string, to: string): Promise<void> {
    await this.before('copy', to);
    await fsp.copyFile(from, to, fsc.COPYFILE_EXCL);
    const fh = await fsp.open(to, fsc.O_WRONLY);
    try {
      await this.datasync(fh, to);
    } finally {
      await fh.close();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    await this.before('rename', to);
    await fsp.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    await this.before('unlink', path);
    await fsp.unlink(path);
  }

  /** Unlink, ignoring a file that is already gone. Never throws for ENOENT. */
  async unlinkIfExists(path: string): Promise<void> {
    try {
      await this.unlink(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }

  /** mkdir -p; answers true when something was created. */
  async mkdirp(path: string): Promise<boolean> {
    await this.before('mkdir', path);
    return (await fsp.mkdir(path, { recursive: true, mode: 0o700 })) !== undefined;
  }

  /** fsync a directory so the entries created or removed in it are durable. */
  async fsyncDir(path: string): Promise<void> {
    const h = this.beforeNow('fsyncdir', path);
    if (h) await h;
    await fsyncDir(path);
  }

  async readdir(path: string): Promise<string[]> {
    await this.before('readdir', path);
    return fsp.readdir(path);
  }

  async readFile(path: string): Promise<Buffer> {
    await this.before('read', path);
    return fsp.readFile(path);
  }

  /**
   * Read a whole (small) file whose size is probably `expected`, with one open, as few reads as possible and one
   * close. The callback API is used because it costs about half as much per call as fs/promises for small files.
   */
  /**
   * readWhole() done on the spot when it can be: no fault hook and a file small enough for a blocking read. Answers
   * null when it cannot (the caller then uses readWhole()); throws what the system calls throw.
   */
  readWholeNow(path: string, expected: number, into?: Buffer): Buffer | null {
    if (this.hook || expected > this.syncReadBytes) return null;
    return readWholeSync(path, expected, into);
  }

  async readWhole(path: string, expected: number): Promise<Buffer> {
    await this.before('read', path);
    if (expected <= this.syncReadBytes) return readWholeSync(path, expected);
    return new Promise<Buffer>((resolve, reject) => {
      openCb(path, 'r', (err, fd) => {
        if (err) return reject(err);
        let buf = Buffer.allocUnsafe(expected + 1);
        let filled = 0;
        const finish = (failure: Error | null) =>
          closeCb(fd, (closeErr) => {
            if (failure || closeErr) reject(failure ?? closeErr);
            else resolve(buf.subarray(0, filled));
          });
        const step = () => {
          if (filled === buf.length) {
            const bigger = Buffer.allocUnsafe(buf.length * 2);
            buf.copy(bigger);
            buf = bigger;
          }
          readCb(fd, buf, filled, buf.length - filled, filled, (readErr, n) => {
            if (readErr) return finish(readErr);
            if (n === 0) return finish(null);
            filled += n;
            step();
          });
        };
        step();
      });
    });
  }

  async openRead(path: string): Promise<FileHandle> {
    await this.before('read', path);
    return fsp.open(path, fsc.O_RDONLY);
  }
}

/**
 * readWhole() with blocking calls: open, read, close; into `into` when the file fits there. From the page cache this costs a few microseconds per file, where
 * the thread-pool path costs a round trip through libuv for each of its calls (open, reads, close). A Maildir file is
 * never written after it is published, so a read shorter than asked for is its end (no extra read to see EOF).
 */
function readWholeSync(path: string, expected: number, into?: Buffer): Buffer {
  const fd = openSync(path, 'r');
  try {
    // Read into the caller's buffer when the file fits (the result is then a view of it).
    let buf = into && into.length > expected ? into.subarray(0, expected + 1) : Buffer.allocUnsafe(expected + 1);
    let filled = 0;
    for (;;) {
      const want = buf.length - filled;
      const n = readSync(fd, buf, filled, want, filled);
      filled += n;
      if (n < want) return buf.subarray(0, filled);
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger);
      buf = bigger;
    }
  } finally {
    closeSync(fd);
  }
}
