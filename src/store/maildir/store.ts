/**
 * MaildirStore: the embedded MailStore, on standard Maildir directories that mutt and Dovecot can read.
 *
 *   <root>/.tmp/                    bodies being received (one file per delivery, named <pid>.<token>.<seq>)
 *   <root>/<domain>/<local>/new/    delivered messages (see names.ts for the mapping and the file names)
 *   <root>/<domain>/<local>/cur/    messages another tool has seen (read and listed by POP3 too)
 *   <root>/<domain>/<local>/tmp/    the Maildir tmp/ (used by other delivery agents; cleaned by recover())
 *   <root>/<domain>/<local>/posthorn.lock   present while a POP3 session holds the maildrop
 */
import { promises as fsp } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { StoreError, type DeliveryTransaction, type MailboxName, type MailStore, type Maildrop, type MaildropEntry } from '../types.js';
import { MaildirDelivery } from './delivery.js';
import { DirSyncer } from '../../fsutil/dir-sync.js';
import { errnoCode } from '../../fsutil/errno.js';
import { FsOps, toStoreError, type FaultHook } from './fsops.js';
import type { ResolvedOptions, StoreInternals } from './internals.js';
import { LockFile, LOCK_FILE } from './lock.js';
import { MaildirMaildrop } from './maildrop.js';
import { mailboxComponents, NameMaker } from './names.js';
import { scanMaildir } from './scan.js';

export interface MaildirStoreOptions {
  /** The store directory (created if missing). */
  root: string;
  /** Host name written into message file names (Maildir convention). Default: os.hostname(). */
  hostname?: string;
  /** Body bytes kept in memory per delivery before they are written to the temporary file. Default 64 KiB. */
  bufferBytes?: number;
  /** recover() removes files older than this from mailboxes' tmp/ directories (other agents' leftovers). Default 36 h. */
  staleTmpSeconds?: number;
  /**
   * A maildrop lock written on another host (for example by this server before its container was recreated with a new
   * host name) is taken over when it has not been refreshed for this long; holders refresh every quarter. Default 1 h.
   */
  foreignLockSeconds?: number;
  /**
   * Directory fsyncs of one mailbox that may run at once; commits arriving meanwhile share the next one. Default 1.
   */
  dirFsyncConcurrency?: number;
  /**
   * Message files up to this many octets are read with blocking system calls on the event loop thread (POP3 RETR/TOP
   * of small messages). From the page cache that costs microseconds, about a fifth of the CPU of a read through
   * libuv's thread pool; a read that must go to a slow disk blocks this process for its duration, as Dovecot's
   * per-session processes do. 0 reads everything asynchronously. Default 256 KiB.
   */
  syncReadBytes?: number;
  /** Fault injection for tests: called before each file system operation; may throw or delay. */
  faultHook?: FaultHook;
}

const TMP_DIR = '.tmp';

export class MaildirStore implements MailStore, StoreInternals {
  readonly fs: FsOps;
  readonly options: ResolvedOptions;
  readonly names: NameMaker;
  readonly dirSync: DirSyncer;
  private readonly tmpDir: string;
  private readonly tmpPrefix = `${process.pid}.${randomBytes(4).toString('hex')}.`;
  private tmpSeq = 0;
  private readonly activeTmp = new Set<string>();
  private readonly mailboxes = new Map<string, Promise<void>>();
  private readonly maildrops = new Map<string, MaildirMaildrop | 'opening'>();
  private ready: Promise<void> | null = null;
  private closed = false;

  constructor(options: MaildirStoreOptions) {
    this.options = {
      root: resolve(options.root),
      hostname: options.hostname ?? osHostname(),
      bufferBytes: options.bufferBytes ?? 64 * 1024,
      staleTmpSeconds: options.staleTmpSeconds ?? 36 * 3600,
      foreignLockSeconds: options.foreignLockSeconds ?? 3600,
    };
    this.fs = new FsOps(options.faultHook, Math.max(0, options.syncReadBytes ?? 256 * 1024));
    this.names = new NameMaker(this.options.hostname);
    this.dirSync = new DirSyncer(this.fs, Math.max(1, options.dirFsyncConcurrency ?? 1));
    this.tmpDir = join(this.options.root, TMP_DIR);
  }

  private init(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('io', 'store is closed'));
    this.ready ??= (async () => {
      const createdRoot = await this.fs.mkdirp(this.options.root);
      if (await this.fs.mkdirp(this.tmpDir)) await this.fs.fsyncDir(this.options.root);
      if (createdRoot) await this.fs.fsyncDir(join(this.options.root, '..'));
    })().catch((err) => {
      this.ready = null;
      throw toStoreError(err, `creating store ${this.options.root}`);
    });
    return this.ready;
  }

  async beginDelivery(): Promise<DeliveryTransaction> {
    await this.init();
    const tmpPath = join(this.tmpDir, this.tmpPrefix + (++this.tmpSeq).toString(36));
    this.activeTmp.add(tmpPath);
    return new MaildirDelivery(this, tmpPath);
  }

  mailboxDir(mailbox: MailboxName): string {
    const [domain, local] = mailboxComponents(mailbox);
    return join(this.options.root, domain, local);
  }

  async ensureMailbox(mailbox: MailboxName): Promise<void> {
    await this.mailboxReady(mailbox);
  }

  async mailboxReady(mailbox: MailboxName): Promise<string> {
    await this.init();
    const dir = this.mailboxDir(mailbox);
    let known = this.mailboxes.get(dir);
    if (!known) {
      known = this.createMailbox(dir);
      this.mailboxes.set(dir, known);
      known.catch(() => this.mailboxes.delete(dir));
    }
    try {
      await known;
    } catch (err) {
      throw toStoreError(err, `creating mailbox ${mailbox}`);
    }
    return dir;
  }

  private async createMailbox(dir: string): Promise<void> {
    let created = false;
    for (const sub of ['tmp', 'new', 'cur']) if (await this.fs.mkdirp(join(dir, sub))) created = true;
    if (!created) return;
    // Make the new directory entries durable: <local> in <domain>, <domain> in the root, and tmp/new/cur in <local>.
    await Promise.all([dir, join(dir, '..'), this.options.root].map((d) => this.fs.fsyncDir(d)));
  }

  forgetMailbox(mailbox: MailboxName): void {
    this.mailboxes.delete(this.mailboxDir(mailbox));
  }

  deliveryFinished(tmpPath: string): void {
    this.activeTmp.delete(tmpPath);
  }

  async openMaildrop(mailbox: MailboxName): Promise<Maildrop> {
    const dir = await this.mailboxReady(mailbox);
    if (this.maildrops.has(dir)) throw new StoreError('locked', `maildrop ${mailbox} is in use`);
    this.maildrops.set(dir, 'opening');
    let lock: LockFile | null = null;
    try {
      lock = await LockFile.acquire(dir, mailbox, this.options.foreignLockSeconds);
      const messages = await scanMaildir(this.fs, dir, true);
      const maildrop = new MaildirMaildrop(this, mailbox, dir, lock, messages);
      this.maildrops.set(dir, maildrop);
      return maildrop;
    } catch (err) {
      this.maildrops.delete(dir);
      if (lock) await lock.release().catch(() => undefined);
      throw toStoreError(err, `opening maildrop ${mailbox}`);
    }
  }

  maildropReleased(dir: string, maildrop: MaildirMaildrop): void {
    if (this.maildrops.get(dir) === maildrop) this.maildrops.delete(dir);
  }

  async list(mailbox: MailboxName): Promise<MaildropEntry[]> {
    try {
      const messages = await scanMaildir(this.fs, this.mailboxDir(mailbox), false);
      return messages.map((m) => ({ uid: m.uid, size: m.vsize }));
    } catch (err) {
      throw toStoreError(err, `listing ${mailbox}`);
    }
  }

  async recover(): Promise<void> {
    await this.init();
    try {
      await this.cleanStoreTmp();
      await this.cleanMailboxTmps();
    } catch (err) {
      throw toStoreError(err, 'recovering store');
    }
  }

  /** Remove bodies of deliveries that can no longer finish: from this process (not active) or from dead processes. */
  private async cleanStoreTmp(): Promise<void> {
    const now = Date.now();
    for (const name of await this.fs.readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const pid = Number(/^(\d+)\./.exec(name)?.[1] ?? NaN);
      let remove: boolean;
      if (pid === process.pid) remove = !this.activeTmp.has(path);
      else if (Number.isInteger(pid) && pidAlive(pid)) remove = await olderThan(path, now, this.options.staleTmpSeconds);
      else remove = true;
      if (remove) await this.fs.unlinkIfExists(path);
    }
  }

  /**
   * Other agents' tmp/ leftovers older than staleTmpSeconds, our fallback copies left by dead processes, and leftovers
   * of lock-taking older than an hour.
   */
  private async cleanMailboxTmps(): Promise<void> {
    const now = Date.now();
    const root = this.options.root;
    for (const domain of await this.fs.readdir(root)) {
      if (domain.startsWith('.')) continue;
      let locals: string[];
      try {
        locals = await this.fs.readdir(join(root, domain));
      } catch (err) {
        if (errnoCode(err) === 'ENOTDIR') continue;
        throw err;
      }
      for (const local of locals) {
        const box = join(root, domain, local);
        let tmpNames: string[];
        try {
          tmpNames = await this.fs.readdir(join(box, 'tmp'));
        } catch (err) {
          if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') continue;
          throw err;
        }
        for (const name of tmpNames) {
          const path = join(box, 'tmp', name);
          // Our own fallback copies (named like our messages) are garbage as soon as their process is gone.
          const ownPid = Number(/^\d+\.M\d+P(\d+)Q/.exec(name)?.[1] ?? NaN);
          const orphan = Number.isInteger(ownPid) && ownPid !== process.pid && !pidAlive(ownPid);
          if (orphan || (await olderThan(path, now, this.options.staleTmpSeconds))) await this.fs.unlinkIfExists(path);
        }
        if (this.maildrops.has(box)) continue;
        for (const name of await this.fs.readdir(box)) {
          const path = join(box, name);
          if (name.startsWith(LOCK_FILE + '.') && (await olderThan(path, now, 3600))) await this.fs.unlinkIfExists(path);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.maildrops.values()].filter((m): m is MaildirMaildrop => m !== 'opening');
    await Promise.all(open.map((m) => m.release().catch(() => undefined)));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

async function olderThan(path: string, now: number, seconds: number): Promise<boolean> {
  try {
    const st = await fsp.lstat(path);
    return st.isFile() && now - st.mtimeMs > seconds * 1000;
  } catch {
    return false;
  }
}

export function createMaildirStore(options: MaildirStoreOptions): MaildirStore {
  return new MaildirStore(options);
}
