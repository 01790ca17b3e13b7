/**
 * The fetch state file: which UIDs of one account are safely stored locally. Append-only lines, each fsynced:
 *   "D <uid>"            stored (durably written to the Maildir or mbox)
 *   "P <uid> <offset>"   (mbox) about to append at this offset; a P without its D means the append may be partial
 *   "X <uid>"            deleted from the server (dropped from the set on the next compaction)
 * The first line names the account ("# posthorn-fetch <account>"). Rewritten compactly (temp file + rename) when
 * more than half of it is stale.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync, existsSync } from 'node:fs';
import { replaceFileDurablySync } from '../../fsutil/durable-file.js';
import { LockHeldError, PidLock } from '../../fsutil/pid-lock.js';

export class FetchState {
  readonly stored = new Set<string>();
  /** mbox: a started append that never finished (offset to truncate to). */
  pending: { uid: string; offset: number } | null = null;
  private fd: number;
  private lines = 0;

  private constructor(readonly file: string, readonly account: string) {
    this.fd = -1;
  }

  static open(file: string, account: string): FetchState {
    const state = new FetchState(file, account);
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n');
      const header = lines[0] ?? '';
      if (header && header !== `# posthorn-fetch ${account}`) {
        throw new Error(`state file ${file} belongs to ${header.replace('# posthorn-fetch ', '')}, not ${account}; use --state to pick another file`);
      }
      for (const line of lines.slice(1)) {
        if (!line) continue;
        state.lines++;
        const [kind, uid, offset] = line.split(' ');
        if (kind === 'D') {
          state.stored.add(uid);
          if (state.pending?.uid === uid) state.pending = null;
        } else if (kind === 'P') state.pending = { uid, offset: Number(offset) };
        else if (kind === 'X') state.stored.delete(uid);
      }
      // A torn last line (crash mid-write) is ignored above; compact to drop it.
      if (!text.endsWith('\n') || state.lines > 2 * state.stored.size + 16) state.compact();
    } else {
      state.compact();
    }
    state.fd = openSync(file, 'a');
    return state;
  }

  private append(line: string): void {
    writeSync(this.fd, line + '\n');
    fsyncSync(this.fd);
    this.lines++;
  }

  begin(uid: string, offset: number): void {
    this.pending = { uid, offset };
    this.append(`P ${uid} ${offset}`);
  }

  done(uid: string): void {
    this.stored.add(uid);
    this.pending = null;
    this.append(`D ${uid}`);
  }

  deleted(uid: string): void {
    this.stored.delete(uid);
    this.append(`X ${uid}`);
  }

  /** Keep only UIDs still on the server (called after UIDL, so the file does not grow forever). */
  retain(onServer: Set<string>): void {
    for (const uid of [...this.stored]) if (!onServer.has(uid)) this.stored.delete(uid);
  }

  compact(): void {
    const body = [`# posthorn-fetch ${this.account}`, ...[...this.stored].map((u) => `D ${u}`), ...(this.pending ? [`P ${this.pending.uid} ${this.pending.offset}`] : [])].join('\n') + '\n';
    replaceFileDurablySync(this.file, body);
    this.lines = this.stored.size + (this.pending ? 1 : 0);
    if (this.fd !== -1) {
      closeSync(this.fd);
      this.fd = openSync(this.file, 'a');
    }
  }

  close(): void {
    if (this.fd !== -1) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * One fetch per account at a time: a PID lock (fsutil/pid-lock.ts) next to the state file. A lock whose process is
 * gone (crash, kill -9) is taken over; a lock being created is never seen half written. Answers the release function.
 */
export async function lockState(stateFile: string): Promise<() => Promise<void>> {
  const path = `${stateFile}.lock`;
  try {
    const lock = await PidLock.acquire(path);
    return () => lock.release();
  } catch (error) {
    if (error instanceof LockHeldError) {
      throw new Error(`another fetch for this account is running (${error.holder ? `pid ${error.holder.pid}, ` : ''}lock ${path})`, { cause: error });
    }
    throw error;
  }
}
