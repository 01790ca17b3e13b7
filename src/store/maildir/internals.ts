/** What the parts of the Maildir store (deliveries, maildrops) need from the store itself. */
import type { MailboxName } from '../types.js';
import type { DirSyncer } from '../../fsutil/dir-sync.js';
import type { FsOps } from './fsops.js';
import type { MaildirMaildrop } from './maildrop.js';
import type { NameMaker } from './names.js';

export interface ResolvedOptions {
  root: string;
  hostname: string;
  bufferBytes: number;
  staleTmpSeconds: number;
  foreignLockSeconds: number;
}

export interface StoreInternals {
  readonly fs: FsOps;
  readonly options: ResolvedOptions;
  readonly names: NameMaker;
  readonly dirSync: DirSyncer;
  /** Create the mailbox if needed (durably) and answer its directory. */
  mailboxReady(mailbox: MailboxName): Promise<string>;
  /** Forget that a mailbox is known to exist (its directory vanished). */
  forgetMailbox(mailbox: MailboxName): void;
  deliveryFinished(tmpPath: string): void;
  maildropReleased(dir: string, maildrop: MaildirMaildrop): void;
}
