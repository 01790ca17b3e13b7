/**
 * Directory fsync, alone and grouped.
 *
 * A new or removed directory entry (create, rename, link, unlink) is durable only once the directory itself is
 * fsynced. fsyncDir() does that; a file system that cannot fsync a directory (EINVAL, ENOTSUP: some FUSE and network
 * file systems) offers no way to make names durable, which is taken as success.
 *
 * DirSyncer groups them: many writers publishing into the same directory at about the same time share fsyncs, since
 * one fsync of the directory makes durable every entry made before it started. A caller asks after its own change is
 * done; requests made in the same event-loop turn share one fsync. Up to `maxInFlight` fsyncs of one directory run at
 * once (the file system merges concurrent fsyncs into one journal commit, so not waiting for the previous one cuts
 * latency); requests made while that many run are queued and share the next one. No request resolves before an fsync
 * that started after it was made has completed; a failed fsync rejects every request of its batch.
 */
import { closeSync, constants as fsc, fsync as fsyncCb, fsyncSync, openSync } from 'node:fs';
import { errnoCode } from './errno.js';

const UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP']);

/** fsync a directory (the fsync itself in the thread pool; opening and closing a directory are quick). */
export async function fsyncDir(path: string): Promise<void> {
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await new Promise<void>((resolve, reject) =>
      fsyncCb(fd, (err) => (err && !UNSUPPORTED.has(errnoCode(err) ?? '') ? reject(err) : resolve())),
    );
  } finally {
    closeSync(fd);
  }
}

/** fsyncDir() with blocking calls, for command-line tools. */
export function fsyncDirSync(path: string): void {
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!UNSUPPORTED.has(errnoCode(err) ?? '')) throw err;
  } finally {
    closeSync(fd);
  }
}

/** What DirSyncer needs: a way to fsync one directory (fsyncDir by default; a store passes its fault-injecting one). */
export interface DirFsync {
  fsyncDir(path: string): Promise<void>;
}

const plainFsync: DirFsync = { fsyncDir };

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface DirState {
  waiting: Waiter[];
  /** A start is scheduled for the end of this turn. */
  scheduled: boolean;
  inFlight: number;
}

export class DirSyncer {
  private readonly dirs = new Map<string, DirState>();
  /** Number of fsyncs done; for tests and measurements. */
  fsyncs = 0;

  constructor(
    private readonly fs: DirFsync = plainFsync,
    private readonly maxInFlight = 1,
  ) {}

  /** Resolves once an fsync of `dir` that started after this call has completed. */
  sync(dir: string): Promise<void> {
    let state = this.dirs.get(dir);
    if (!state) this.dirs.set(dir, (state = { waiting: [], scheduled: false, inFlight: 0 }));
    const s = state;
    return new Promise<void>((resolve, reject) => {
      s.waiting.push({ resolve, reject });
      this.schedule(dir, s);
    });
  }

  private schedule(dir: string, state: DirState): void {
    if (state.scheduled || state.inFlight >= this.maxInFlight) return;
    state.scheduled = true;
    setImmediate(() => {
      state.scheduled = false;
      void this.run(dir, state);
    });
  }

  private async run(dir: string, state: DirState): Promise<void> {
    const batch = state.waiting;
    state.waiting = [];
    state.inFlight++;
    try {
      await this.fs.fsyncDir(dir);
      this.fsyncs++;
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
    state.inFlight--;
    if (state.waiting.length > 0) this.schedule(dir, state);
    else if (state.inFlight === 0 && !state.scheduled) this.dirs.delete(dir);
  }
}
