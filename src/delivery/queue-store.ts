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
 *   enqueue:  msg written to tmp/ -> fsync -> rename to msg/<id> -> fsync msg/ -> state written the same way -> fsync
 *             state/ -> commit() resolves (only now may the SMTP client get 250).
 *             A msg/<id> without state/<id>.json was never acknowledged and is removed at start-up.
 *   attempt:  the remote server says 250 -> the record is rewritten with the new status. A crash in between delivers
 *             that recipient again after restart (twice, never zero times).
 *   notices:  a recipient's final status is recorded with reported=false -> the DSN is enqueued (itself durably) or
 *             delivered locally -> the record is rewritten with reported=true. A crash in between sends the DSN twice.
 *   removal:  when every recipient is final and reported: state/<id>.json is unlinked first, then msg/<id>.
 *
 * A state record without its message file is unusable: it is logged and moved aside to state/<id>.json.broken, as is a
 * record that does not parse. Nothing is ever deleted silently except the never-acknowledged leftovers above.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
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

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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

  /** fsync, close, rename to msg/<id>, fsync msg/. */
  async publish(): Promise<string> {
    if (this.closed) throw new Error('queue message already closed');
    this.closed = true;
    try {
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    const final = join(this.paths.msg, this.id);
    await fsp.rename(this.tmpPath, final);
    await fsyncDir(this.paths.msg);
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
  constructor(dataDir: string) {
    this.paths = queuePaths(dataDir);
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

  /** Replace state/<id>.json atomically and durably. */
  async writeRecord(rec: QueueRecord): Promise<void> {
    if (!isQueueId(rec.id)) throw new Error(`bad queue id ${JSON.stringify(rec.id)}`);
    const tmp = join(this.paths.tmp, `${rec.id}.${randomBytes(4).toString('hex')}.json`);
    const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      await fh.writeFile(JSON.stringify(rec) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.rename(tmp, join(this.paths.state, `${rec.id}.json`));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(this.paths.state);
  }

  async readRecord(id: string): Promise<QueueRecord | null> {
    if (!isQueueId(id)) return null;
    let text: string;
    try {
      text = await fsp.readFile(join(this.paths.state, `${id}.json`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const value: unknown = JSON.parse(text);
    const problem = validateRecord(value);
    if (problem) throw new Error(`queue record ${id}: ${problem}`);
    return value as QueueRecord;
  }

  /** Remove a message: state record first, then the message file. */
  async remove(id: string): Promise<void> {
    if (!isQueueId(id)) throw new Error(`bad queue id ${JSON.stringify(id)}`);
    await fsp.rm(join(this.paths.state, `${id}.json`), { force: true });
    await fsyncDir(this.paths.state);
    await fsp.rm(join(this.paths.msg, id), { force: true });
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
