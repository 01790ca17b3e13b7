/**
 * The outbound queue on disk. This comment is the format's specification.
 *
 * Layout, under <data>/queue:
 *
 *   msg/<id>          the message exactly as received (CRLF line ends, not dot-stuffed). Written once, never changed.
 *   state/<id>.json   the state record (record.ts QueueRecord, UTF-8 JSON): envelope, per-recipient status, attempts,
 *                     next attempt time, last reply, DSN bookkeeping, and the DKIM-Signature header(s) to prepend.
 *                     Rewritten as a whole on every change.
 *   tmp/              files being written. Anything here at start-up is a leftover of a crash and is removed.
 *   control.sock      the control socket of a running server (control.ts); absent when no server runs.
 *
 * <id> is 8-40 characters [0-9a-z]: the commit time in base 36 (fixed width, so ids sort by age) and 10 random hex
 * digits.
 *
 * Every write goes to tmp/ first, is fsynced, renamed into place, and the target directory is fsynced, so a file is
 * either complete or absent. Order of operations, and what a crash between any two steps leaves:
 *
 *   enqueue:  msg written to tmp/; the state record written to tmp/; both fsynced -> msg renamed to msg/<id> -> state
 *             renamed to state/<id>.json -> msg/ and state/ fsynced -> commit() resolves (only now may the SMTP client
 *             get 250). A msg/<id> without state/<id>.json was never acknowledged and is removed at start-up; a
 *             state record without its msg file (possible only for a commit that never resolved, or after disk
 *             damage) is set aside as below.
 *             Concurrent commits share directory fsyncs (a caller waits for the first fsync that starts after its
 *             rename), so N commits in flight cost far fewer than 2N directory fsyncs.
 *   attempt:  the remote server says 250 -> the record is rewritten with the new status (or, when nothing is left to
 *             do, removed as below). A crash in between delivers that recipient again after restart (twice, never
 *             zero times).
 *   notices:  a recipient's final status is recorded with reported=false -> the DSN is enqueued (itself durably) or
 *             delivered locally -> the record is rewritten with reported=true. A crash in between sends the DSN twice.
 *   removal:  when every recipient is final and reported: state/<id>.json is unlinked first, then msg/<id>, without
 *             fsync: a crash right after may bring the message back, to be delivered (or deleted) again.
 *
 * A state record without its message file is unusable: it is logged and moved aside to state/<id>.json.broken, as is a
 * record that does not parse. Nothing is ever deleted silently except the never-acknowledged leftovers above.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { DirSyncer, fsyncDir } from '../fsutil/dir-sync.js';
import { replaceFileDurably, writeNewFileSynced } from '../fsutil/durable-file.js';
import { errnoCode } from '../fsutil/errno.js';
import { isQueueId, validateRecord, type QueueRecord } from './record.js';

export interface QueuePaths {
  root: string;
  msg: string;
  state: string;
  tmp: string;
  socket: string;
}

export function queuePaths(dataDir: string): QueuePaths {
  const root = join(dataDir, 'queue');
  return { root, msg: join(root, 'msg'), state: join(root, 'state'), tmp: join(root, 'tmp'), socket: join(root, 'control.sock') };
}

export function newQueueId(now: number): string {
  return Math.floor(now).toString(36).padStart(9, '0') + randomBytes(5).toString('hex');
}

/** An open message file in tmp/, written in order, published by commit. */
export class MessageWriter {
  private size = 0;
  private closed = false;
  private constructor(
    private readonly paths: QueuePaths,
    readonly id: string,
    private readonly tmpPath: string,
    private readonly fh: fsp.FileHandle,
  ) {}

  static async open(paths: QueuePaths, id: string): Promise<MessageWriter> {
    const tmpPath = join(paths.tmp, `${id}.msg`);
    const fh = await fsp.open(tmpPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    return new MessageWriter(paths, id, tmpPath, fh);
  }

  get bytes(): number {
    return this.size;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.closed) throw new Error('queue message already closed');
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
    this.size += chunk.length;
  }

  /** The temporary file (complete once flush() resolved). */
  get path(): string {
    return this.tmpPath;
  }

  /** fdatasync and close; the file stays in tmp/. */
  async flush(): Promise<void> {
    if (this.closed) throw new Error('queue message already closed');
    this.closed = true;
    try {
      await this.fh.datasync();
    } finally {
      await this.fh.close();
    }
  }

  /** Rename the flushed file to msg/<id> (the caller fsyncs msg/). */
  async rename(): Promise<string> {
    const final = join(this.paths.msg, this.id);
    await fsp.rename(this.tmpPath, final);
    return final;
  }

  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await fsp.rm(this.tmpPath, { force: true });
  }
}

export class QueueStore {
  readonly paths: QueuePaths;
  /** Directory fsyncs of msg/ and state/, shared by concurrent commits. */
  private readonly dirSync = new DirSyncer();
  constructor(dataDir: string) {
    this.paths = queuePaths(dataDir);
  }

  /** Make the entries renamed into msg/ and state/ so far durable (fsyncs shared with concurrent callers). */
  async syncDirectories(): Promise<void> {
    await Promise.all([this.dirSync.sync(this.paths.msg), this.dirSync.sync(this.paths.state)]);
  }

  async init(): Promise<void> {
    for (const dir of [this.paths.msg, this.paths.state, this.paths.tmp]) await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  }

  messagePath(id: string): string {
    if (!isQueueId(id)) throw new Error(`bad queue id ${JSON.stringify(id)}`);
    return join(this.paths.msg, id);
  }

  async readMessage(id: string): Promise<Buffer> {
    return fsp.readFile(this.messagePath(id));
  }

  /** The first `limit` octets of a message (for the header block of a large one). */
  async readMessageHead(id: string, limit: number): Promise<Buffer> {
    const fh = await fsp.open(this.messagePath(id), 'r');
    try {
      const buf = Buffer.alloc(limit);
      const { bytesRead } = await fh.read(buf, 0, limit, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  /** Write a record to a fsynced temporary file; answers its path, for installRecord(). */
  async prepareRecord(rec: QueueRecord): Promise<string> {
    if (!isQueueId(rec.id)) throw new Error(`bad queue id ${JSON.stringify(rec.id)}`);
    const tmp = this.recordTmp(rec.id);
    await writeNewFileSynced(tmp, JSON.stringify(rec) + '\n');
    return tmp;
  }

  private recordTmp(id: string): string {
    return join(this.paths.tmp, `${id}.${randomBytes(4).toString('hex')}.json`);
  }

  /** Rename a prepared record into state/ (the caller fsyncs state/). */
  async installRecord(id: string, tmp: string): Promise<void> {
    try {
      await fsp.rename(tmp, join(this.paths.state, `${id}.json`));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /** Replace state/<id>.json atomically and durably. */
  async writeRecord(rec: QueueRecord): Promise<void> {
    if (!isQueueId(rec.id)) throw new Error(`bad queue id ${JSON.stringify(rec.id)}`);
    await replaceFileDurably(join(this.paths.state, `${rec.id}.json`), JSON.stringify(rec) + '\n', { tmpPath: this.recordTmp(rec.id), dirSync: this.dirSync });
  }

  async readRecord(id: string): Promise<QueueRecord | null> {
    if (!isQueueId(id)) return null;
    let text: string;
    try {
      text = await fsp.readFile(join(this.paths.state, `${id}.json`), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    }
    const value: unknown = JSON.parse(text);
    const problem = validateRecord(value);
    if (problem) throw new Error(`queue record ${id}: ${problem}`);
    return value as QueueRecord;
  }

  /**
   * Remove a message: state record first, then the message file. Not fsynced: after a crash a removed message may come
   * back and be delivered again (the "twice, never zero times" rule), which costs less than an fsync per message.
   */
  async remove(id: string): Promise<void> {
    if (!isQueueId(id)) throw new Error(`bad queue id ${JSON.stringify(id)}`);
    await unlinkIfThere(join(this.paths.state, `${id}.json`));
    await unlinkIfThere(join(this.paths.msg, id));
  }

  /**
   * Start-up recovery: clear tmp/, drop never-acknowledged message files, set aside broken records, and return every
   * usable record (oldest first) with the problems found.
   */
  async recover(): Promise<{ records: QueueRecord[]; problems: string[] }> {
    await this.init();
    const problems: string[] = [];
    for (const name of await fsp.readdir(this.paths.tmp)) await fsp.rm(join(this.paths.tmp, name), { force: true, recursive: true });
    const msgs = new Set((await fsp.readdir(this.paths.msg)).filter(isQueueId));
    const records: QueueRecord[] = [];
    for (const name of (await fsp.readdir(this.paths.state)).sort()) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -5);
      let rec: QueueRecord | null = null;
      try {
        rec = await this.readRecord(id);
      } catch (err) {
        problems.push(`${id}: ${(err as Error).message}`);
      }
      if (rec && rec.id !== id) {
        problems.push(`${id}: record names id ${rec.id}`);
        rec = null;
      }
      if (rec && !msgs.has(id)) {
        problems.push(`${id}: message file missing`);
        rec = null;
      }
      if (!rec) {
        await fsp.rename(join(this.paths.state, name), join(this.paths.state, `${name}.broken`)).catch(() => {});
        continue;
      }
      msgs.delete(id);
      records.push(rec);
    }
    for (const id of msgs) await fsp.rm(join(this.paths.msg, id), { force: true });
    if (msgs.size > 0) await fsyncDir(this.paths.msg);
    records.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    return { records, problems };
  }
}

/** unlink, ignoring a file that is already gone (cheaper than fs.rm, which stats first). */
async function unlinkIfThere(path: string): Promise<void> {
  try {
    await fsp.unlink(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
