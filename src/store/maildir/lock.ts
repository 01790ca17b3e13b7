/**
 * Maildrop lock files, so a second process on the same data directory cannot open a maildrop that is in use.
 *
 * The lock is <mailbox>/posthorn.lock holding "<pid> <host> <process start> <token>". It is created atomically with
 * its content (written to a private file, then hard-linked to the lock name, which fails if it exists). A lock is stale,
 * and is taken over, when it was made on this host by a process that is gone: the pid does not exist, or it exists but
 * started at another time (pid reuse, seen through /proc on Linux), or it is this very process but not a lock this
 * process holds (a previous run in a container that reuses pids). A lock made on another host (a container restarted
 * with a new host name, or a shared volume) is stale once it has not been refreshed for `foreignStaleSeconds`: a holder
 * touches its lock file every quarter of that time.
 */
import { readFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StoreError } from '../types.js';
import { errnoCode, type FsOps } from './fsops.js';

export const LOCK_FILE = 'posthorn.lock';

function processStart(pid: number | 'self'): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 22 (starttime); the command name (field 2) may contain spaces, so count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '-';
  } catch {
    return '-';
  }
}

let selfStart: string | undefined;
const heldTokens = new Set<string>();

interface LockInfo {
  pid: number;
  host: string;
  start: string;
  token: string;
}

function parseLock(text: string): LockInfo | null {
  const [pid, host, start, token] = text.trim().split(' ');
  if (!pid || !host || !start || !token || !/^\d+$/.test(pid)) return null;
  return { pid: Number(pid), host, start, token };
}

async function isStale(info: LockInfo, path: string, foreignStaleSeconds: number): Promise<boolean> {
  if (info.host !== hostname()) {
    try {
      const st = await fsp.stat(path);
      return Date.now() - st.mtimeMs > foreignStaleSeconds * 1000;
    } catch {
      return false;
    }
  }
  if (info.pid === process.pid) return !heldTokens.has(info.token);
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
  if (info.start === '-') return false;
  const now = processStart(info.pid);
  return now !== '-' && now !== info.start;
}

export class LockFile {
  private readonly refresher: NodeJS.Timeout;

  private constructor(
    readonly path: string,
    private readonly token: string,
    private readonly fs: FsOps,
    refreshSeconds: number,
  ) {
    this.refresher = setInterval(() => {
      const now = new Date();
      fsp.utimes(this.path, now, now).catch(() => undefined);
    }, refreshSeconds * 1000);
    this.refresher.unref();
  }

  /** Take the lock of a mailbox directory or throw StoreError('locked'). */
  static async acquire(fs: FsOps, dir: string, mailbox: string, foreignStaleSeconds: number): Promise<LockFile> {
    selfStart ??= processStart('self');
    const path = join(dir, LOCK_FILE);
    const token = randomBytes(8).toString('hex');
    const content = `${process.pid} ${hostname()} ${selfStart} ${token}\n`;
    const mine = `${path}.${token}`;
    await fsp.writeFile(mine, content, { mode: 0o600, flag: 'wx' });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await fs.link(mine, path);
          heldTokens.add(token);
          return new LockFile(path, token, fs, foreignStaleSeconds / 4);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
        }
        if (!(await breakIfStale(fs, path, token, foreignStaleSeconds))) break;
      }
      throw new StoreError('locked', `maildrop ${mailbox} is in use`);
    } finally {
      await fsp.unlink(mine).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    clearInterval(this.refresher);
    heldTokens.delete(this.token);
    try {
      const info = parseLock(await fsp.readFile(this.path, 'latin1'));
      if (info?.token === this.token) await this.fs.unlinkIfExists(this.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}

/** Move a stale lock out of the way. Answers true when the caller should try again. */
async function breakIfStale(fs: FsOps, path: string, token: string, foreignStaleSeconds: number): Promise<boolean> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'latin1');
  } catch (err) {
    return errnoCode(err) === 'ENOENT'; // released meanwhile: try again
  }
  const info = parseLock(text);
  // A lock file being written cannot be seen (it appears whole), so an unreadable one is foreign: leave it.
  if (!info || !(await isStale(info, path, foreignStaleSeconds))) return false;
  const aside = `${path}.stale.${token}`;
  try {
    await fs.rename(path, aside);
  } catch (err) {
    return errnoCode(err) === 'ENOENT';
  }
  const moved = await fsp.readFile(aside, 'latin1').catch(() => '');
  if (moved !== text) {
    // Someone else broke the stale lock and took a fresh one between our read and rename: put theirs back.
    await fsp.link(aside, path).catch(() => undefined);
    await fsp.unlink(aside).catch(() => undefined);
    return false;
  }
  await fsp.unlink(aside).catch(() => undefined);
  return true;
}
