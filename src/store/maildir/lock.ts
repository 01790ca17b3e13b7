/**
 * Maildrop lock files, so a second process on the same data directory cannot open a maildrop that is in use:
 * <mailbox>/posthorn.lock, a PID lock (fsutil/pid-lock.ts: atomic creation, stale locks of dead holders taken over,
 * locks from another host respected until `foreignStaleSeconds` without a refresh).
 */
import { join } from 'node:path';
import { LockHeldError, PidLock } from '../../fsutil/pid-lock.js';
import { StoreError } from '../types.js';

export const LOCK_FILE = 'posthorn.lock';

export class LockFile {
  private constructor(private readonly lock: PidLock) {}

  get path(): string {
    return this.lock.path;
  }

  /** Take the lock of a mailbox directory or throw StoreError('locked'). */
  static async acquire(dir: string, mailbox: string, foreignStaleSeconds: number): Promise<LockFile> {
    try {
      return new LockFile(await PidLock.acquire(join(dir, LOCK_FILE), { foreignStaleSeconds }));
    } catch (err) {
      if (err instanceof LockHeldError) throw new StoreError('locked', `maildrop ${mailbox} is in use`, { cause: err });
      throw err;
    }
  }

  release(): Promise<void> {
    return this.lock.release();
  }
}
