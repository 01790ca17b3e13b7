/**
 * Durable file creation: the content is on disk before the name appears, and the name is on disk before the caller
 * is told "done". The order is always: write a temporary file in the same file system, fdatasync it, rename it to its
 * final name (atomic: a reader sees the old file or the new one, never a part), fsync the directory. A crash at any
 * point leaves the old state or the new one, plus at worst a temporary file that the owner cleans up.
 *
 * Async functions send the calls that may wait for the disk (open of a new file, fdatasync, fsync) to the thread
 * pool; the *Sync variants are for command-line tools that have nothing else to do meanwhile.
 */
import { randomBytes } from 'node:crypto';
import {
  close as closeCb,
  closeSync,
  constants as fsc,
  fdatasync as fdatasyncCb,
  fdatasyncSync,
  open as openCb,
  openSync,
  rename as renameCb,
  renameSync,
  unlink as unlinkCb,
  unlinkSync,
  writev as writevCb,
  writevSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDir, fsyncDirSync, type DirSyncer } from './dir-sync.js';

export type FileData = string | Buffer | readonly Buffer[];

const CREATE_NEW = fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY;

function chunksOf(data: FileData): Buffer[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (Buffer.isBuffer(data)) return [data];
  return data.filter((c) => c.length > 0);
}

/** What is left to write after `n` bytes of `chunks` were written. */
export function afterShortWrite(chunks: readonly Buffer[], n: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const c of chunks) {
    if (n >= c.length) n -= c.length;
    else {
      rest.push(n > 0 ? c.subarray(n) : c);
      n = 0;
    }
  }
  return rest;
}

/** Write every byte of `chunks` at the fd's position, retrying short writes (blocking). */
export function writeAllSync(fd: number, chunks: readonly Buffer[]): void {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) rest = afterShortWrite(rest, writevSync(fd, rest));
}

/** Write every byte of `chunks` at the fd's position, retrying short writes (in the thread pool). */
export async function writeAll(fd: number, chunks: readonly Buffer[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    const n = await new Promise<number>((resolve, reject) => writevCb(fd, rest, (err, written) => (err ? reject(err) : resolve(written))));
    rest = afterShortWrite(rest, n);
  }
}

const openP = (path: string, flags: number, mode: number) =>
  new Promise<number>((resolve, reject) => openCb(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
const fdatasyncP = (fd: number) => new Promise<void>((resolve, reject) => fdatasyncCb(fd, (err) => (err ? reject(err) : resolve())));
const closeP = (fd: number) => new Promise<void>((resolve, reject) => closeCb(fd, (err) => (err ? reject(err) : resolve())));
const renameP = (from: string, to: string) => new Promise<void>((resolve, reject) => renameCb(from, to, (err) => (err ? reject(err) : resolve())));
const unlinkQuietly = (path: string) => new Promise<void>((resolve) => unlinkCb(path, () => resolve()));

/**
 * Create `path` (which must not exist) with `data` and fdatasync it. The content is durable when this resolves; the
 * name is not yet (fsync the directory, or rename the file somewhere and fsync that directory). On failure the file is
 * removed.
 */
export async function writeNewFileSynced(path: string, data: FileData, mode = 0o600): Promise<void> {
  const fd = await openP(path, CREATE_NEW, mode);
  try {
    await writeAll(fd, chunksOf(data));
    await fdatasyncP(fd);
  } catch (err) {
    await closeP(fd).catch(() => undefined);
    await unlinkQuietly(path);
    throw err;
  }
  await closeP(fd);
}

/** writeNewFileSynced() with blocking calls. */
export function writeNewFileSyncedSync(path: string, data: FileData, mode = 0o600): void {
  const fd = openSync(path, CREATE_NEW, mode);
  try {
    writeAllSync(fd, chunksOf(data));
    fdatasyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    throw err;
  }
  closeSync(fd);
}

export interface ReplaceOptions {
  /** Where to write the temporary file (same file system as the target). Default: next to it, a unique name. */
  tmpPath?: string;
  mode?: number;
  /** Share the directory fsync with other writers (async form only). */
  dirSync?: DirSyncer;
}

function defaultTmp(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Create or replace `target` with `data`, durably and atomically (see the module comment). */
export async function replaceFileDurably(target: string, data: FileData, options: ReplaceOptions = {}): Promise<void> {
  const tmp = options.tmpPath ?? defaultTmp(target);
  await writeNewFileSynced(tmp, data, options.mode);
  try {
    await renameP(tmp, target);
  } catch (err) {
    await unlinkQuietly(tmp);
    throw err;
  }
  const dir = dirname(target);
  await (options.dirSync ? options.dirSync.sync(dir) : fsyncDir(dir));
}

/** replaceFileDurably() with blocking calls. */
export function replaceFileDurablySync(target: string, data: FileData, options: Omit<ReplaceOptions, 'dirSync'> = {}): void {
  const tmp = options.tmpPath ?? defaultTmp(target);
  writeNewFileSyncedSync(tmp, data, options.mode);
  try {
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
  fsyncDirSync(dirname(target));
}
