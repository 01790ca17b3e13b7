/**
 * The fetch state file: which UIDs of one account are safely stored locally. Append-only lines, each fsynced:
 *   "D <uid>"            stored (durably written to the Maildir or mbox)
 *   "P <uid> <offset>"   (mbox) about to append at this offset; a P without its D means the append may be partial
 *   "X <uid>"            deleted from the server (dropped from the set on the next compaction)
 * The first line names the account ("# posthorn-fetch <account>"). Rewritten compactly (temp file + rename) when
 * more than half of it is stale.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';

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
    const tmp = `${this.file}.tmp`;
    const body = [`# posthorn-fetch ${this.account}`, ...[...this.stored].map((u) => `D ${u}`), ...(this.pending ? [`P ${this.pending.uid} ${this.pending.offset}`] : [])].join('\n') + '\n';
    const fd = openSync(tmp, 'w', 0o600);
    writeSync(fd, body);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
    fsyncDir(path.dirname(this.file));
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

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some filesystems refuse fsync on directories */
  }
}

/**
 * One fetch per account at a time: a lock file next to the state file holding the owner's pid. A lock whose process
 * is gone (crash, kill -9) is taken over. Returns the release function.
 */
export function lockState(stateFile: string): () => void {
  const lock = `${stateFile}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          /* already gone */
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(readFileSync(lock, 'utf8').trim());
      } catch {
        continue;
      }
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new Error(`another fetch for this account is running (pid ${owner}, lock ${lock})`);
      }
      try {
        unlinkSync(lock);
      } catch {
        /* raced with another taker */
      }
    }
  }
  throw new Error(`cannot take the fetch lock ${lock}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
