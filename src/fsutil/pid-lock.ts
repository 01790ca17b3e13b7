/**
 * PID lock files: one holder at a time across processes, and a holder that died (crash, kill -9) does not block the
 * next one.
 *
 * The lock file holds one line "<pid> <host> <process start> <token>". It is created atomically with its content:
 * written to a private file, then hard-linked to the lock name (link() fails if the name exists), so another taker
 * never sees it empty or half written. A lock is stale, and is taken over, when it was made on this host by a
 * process that is gone: the pid does not exist, or it exists but started at another time (pid reuse, seen through
 * /proc on Linux), or it is this very process but not a lock this process holds (a previous run in a container that
 * reuses pids). A lock made on another host (a container restarted with a new host name, or a shared volume) is stale
 * once it has not been refreshed for `foreignStaleSeconds`; a holder touches its lock file every quarter of that time.
 * A lock file that cannot be parsed is respected for `foreignStaleSeconds` after its last change, then taken over.
 * A file holding only a pid (the format of earlier versions) is that pid's lock on this host.
 *
 * Taking over is itself race-free: the stale file is renamed aside and re-read; if what was renamed is not what was
 * judged stale (another taker replaced it meanwhile), it is put back.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { errnoCode } from './errno.js';

/** The lock is held by someone else (a live process here, or a recent lock from another host, or an unreadable one). */
export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    /** The holder as written in the lock file; null when the file could not be read or parsed. */
    readonly holder: { pid: number; host: string } | null,
  ) {
    super(`${path} is held${holder ? ` by pid ${holder.pid} on ${holder.host}` : ''}`);
    this.name = 'LockHeldError';
  }
}

export interface PidLockOptions {
  /** A lock from another host, or an unreadable one, is taken over after this long without a refresh. Default 1 h. */
  foreignStaleSeconds?: number;
}

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
/** Tokens of the locks this process holds. */
const heldTokens = new Set<string>();

interface LockInfo {
  pid: number;
  host: string;
  start: string;
  /** null for the pid-only format of earlier versions. */
  token: string | null;
}

function parseLock(text: string): LockInfo | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed), host: hostname(), start: '-', token: null };
  const [pid, host, start, token, extra] = trimmed.split(' ');
  if (!pid || !host || !start || !token || extra !== undefined || !/^\d+$/.test(pid)) return null;
  return { pid: Number(pid), host, start, token };
}

async function ageSeconds(path: string): Promise<number | null> {
  try {
    return (Date.now() - (await fsp.stat(path)).mtimeMs) / 1000;
  } catch {
    return null;
  }
}

async function isStale(info: LockInfo | null, path: string, foreignStaleSeconds: number): Promise<boolean> {
  if (!info || info.host !== hostname()) {
    const age = await ageSeconds(path);
    return age !== null && age > foreignStaleSeconds;
  }
  if (info.pid === process.pid) return info.token !== null && !heldTokens.has(info.token);
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
  if (info.start === '-') return false;
  const now = processStart(info.pid);
  return now !== '-' && now !== info.start;
}

export class PidLock {
  private readonly refresher: NodeJS.Timeout;
  private released = false;

  private constructor(
    readonly path: string,
    private readonly token: string,
    refreshSeconds: number,
  ) {
    this.refresher = setInterval(() => {
      const now = new Date();
      fsp.utimes(this.path, now, now).catch(() => undefined);
    }, refreshSeconds * 1000);
    this.refresher.unref();
  }

  /** Take the lock at `path` or throw LockHeldError (other errors: as the file system reports them). */
  static async acquire(path: string, options: PidLockOptions = {}): Promise<PidLock> {
    const foreignStaleSeconds = options.foreignStaleSeconds ?? 3600;
    selfStart ??= processStart('self');
    const token = randomBytes(8).toString('hex');
    const mine = `${path}.${token}`;
    await fsp.writeFile(mine, `${process.pid} ${hostname()} ${selfStart} ${token}\n`, { mode: 0o600, flag: 'wx' });
    try {
      let holder: LockInfo | null = null;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await fsp.link(mine, path);
          heldTokens.add(token);
          return new PidLock(path, token, foreignStaleSeconds / 4);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
        }
        const seen = await breakIfStale(path, token, foreignStaleSeconds);
        if (seen.retry) continue;
        holder = seen.holder;
        break;
      }
      throw new LockHeldError(path, holder ? { pid: holder.pid, host: holder.host } : null);
    } finally {
      await fsp.unlink(mine).catch(() => undefined);
    }
  }

  /** Remove the lock file if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.refresher);
    heldTokens.delete(this.token);
    try {
      const info = parseLock(await fsp.readFile(this.path, 'latin1'));
      if (info?.token === this.token) await fsp.unlink(this.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}

/** Move a stale lock out of the way: retry when the caller should try to link again, else the holder seen. */
async function breakIfStale(path: string, token: string, foreignStaleSeconds: number): Promise<{ retry: boolean; holder: LockInfo | null }> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'latin1');
  } catch (err) {
    return { retry: errnoCode(err) === 'ENOENT', holder: null }; // released meanwhile: try again
  }
  const info = parseLock(text);
  if (!(await isStale(info, path, foreignStaleSeconds))) return { retry: false, holder: info };
  const aside = `${path}.stale.${token}`;
  try {
    await fsp.rename(path, aside);
  } catch (err) {
    return { retry: errnoCode(err) === 'ENOENT', holder: info };
  }
  const moved = await fsp.readFile(aside, 'latin1').catch(() => '');
  if (moved !== text) {
    // Someone else broke the stale lock and took a fresh one between our read and rename: put theirs back.
    await fsp.link(aside, path).catch(() => undefined);
    await fsp.unlink(aside).catch(() => undefined);
    return { retry: false, holder: parseLock(moved) };
  }
  await fsp.unlink(aside).catch(() => undefined);
  return { retry: true, holder: null };
}
