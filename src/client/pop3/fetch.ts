/**
 * fetchMail: download new messages from a POP3 mailbox into a Maildir or mbox, tracked by UIDL so nothing is fetched
 * twice, each message durable (fsynced) locally before its UID is recorded, and DELE (with --delete) only for UIDs
 * already recorded. Interrupted at any point, the next run resumes without duplicates or loss:
 * - killed mid-message: Maildir keeps only tmp/ debris; mbox is truncated back to the recorded offset;
 * - killed after the write, before the state line: the Maildir file name carries the UID hash and is recognised;
 * - killed before QUIT: the server deletes nothing (RFC 1939 UPDATE state); the next run deletes what is stored.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Pop3Client, Pop3ClientError, type Pop3AuthMethod, type Pop3ClientOptions } from './client.js';
import { FetchState, lockState } from './state.js';
import { MaildirTarget, MboxTarget, type LocalMailbox } from './mailbox.js';

export interface FetchProgress {
  /** Messages stored so far in this run, and to fetch in total. */
  done: number;
  total: number;
  bytes: number;
  totalBytes: number;
  uid: string;
}

export interface FetchOptions {
  server: Pop3ClientOptions;
  /** Identity of the mailbox for the state file and Maildir names (default "user@host:port"). */
  account?: string;
  user: string;
  password: string;
  auth?: Pop3AuthMethod;
  target: { maildir: string } | { mbox: string };
  /** Default: a file next to the Maildir/mbox named after the account. */
  stateFile?: string;
  /** keep (default): leave messages on the server; delete: DELE them once stored. */
  mode?: 'keep' | 'delete';
  onProgress?: (p: FetchProgress) => void;
  /** Stop between messages (the current one is finished first). */
  signal?: AbortSignal;
}

export interface FetchResult {
  fetched: number;
  bytes: number;
  /** Messages already stored before this run. */
  skipped: number;
  deleted: number;
  /** True when stopped by the signal before everything was fetched. */
  interrupted: boolean;
  stateFile: string;
}

export function accountName(options: FetchOptions): string {
  if (options.account) return options.account;
  const port = options.server.port ?? (options.server.tls === 'implicit' ? 995 : 110);
  return `${options.user}@${options.server.host ?? 'localhost'}:${port}`;
}

export function defaultStateFile(options: FetchOptions): string {
  const hash = createHash('sha256').update(accountName(options)).digest('hex').slice(0, 12);
  if ('maildir' in options.target) return path.join(options.target.maildir, `.posthorn-fetch-${hash}`);
  return `${options.target.mbox}.posthorn-fetch-${hash}`;
}

export async function fetchMail(options: FetchOptions): Promise<FetchResult> {
  const account = accountName(options);
  const stateFile = options.stateFile ?? defaultStateFile(options);
  const mbox = 'mbox' in options.target ? new MboxTarget(options.target.mbox) : null;
  const local: LocalMailbox = mbox ?? new MaildirTarget((options.target as { maildir: string }).maildir);
  let unlock: () => Promise<void>;
  let state: FetchState;
  try {
    unlock = await lockState(stateFile);
    try {
      state = FetchState.open(stateFile, account);
    } catch (error) {
      await unlock();
      throw error;
    }
  } catch (error) {
    local.close();
    throw error;
  }
  const result: FetchResult = { fetched: 0, bytes: 0, skipped: 0, deleted: 0, interrupted: false, stateFile };
  let client: Pop3Client | null = null;
  try {
    if (mbox && state.pending) {
      mbox.truncate(state.pending.offset);
      state.pending = null;
    }
    client = await Pop3Client.connect(options.server);
    await client.login(options.user, options.password, options.auth);
    const [uids, sizes] = await (client.pipelining ? Promise.all([client.uidl(), client.list()]) : client.uidl().then(async (u) => [u, await client!.list()] as const)).catch((error: unknown) => {
      if (error instanceof Pop3ClientError && error.kind === 'refused' && /^UIDL/.test(error.message)) {
        throw new Pop3ClientError(`the server refused UIDL (${error.message}); fetch needs unique ids to avoid fetching a message twice`, error.response);
      }
      throw error;
    });
    const sizeOf = new Map(sizes.map((e) => [e.n, e.size]));
    const before = state.stored.size;
    state.retain(new Set(uids.map((u) => u.uid)));
    if (state.stored.size !== before) state.compact();
    const todo = uids.filter((u) => {
      if (state.stored.has(u.uid)) return false;
      if (local.has(account, u.uid)) {
        state.done(u.uid);
        return false;
      }
      return true;
    });
    result.skipped = uids.length - todo.length;
    const totalBytes = todo.reduce((sum, u) => sum + (sizeOf.get(u.n) ?? 0), 0);
    for (const { n, uid } of todo) {
      if (options.signal?.aborted) {
        result.interrupted = true;
        break;
      }
      if (mbox) state.begin(uid, mbox.size);
      const writer = local.begin(account, uid);
      try {
        result.bytes += await client.retr(n, writer);
        writer.commit();
      } catch (error) {
        writer.abort();
        throw error;
      }
      state.done(uid);
      result.fetched++;
      options.onProgress?.({ done: result.fetched, total: todo.length, bytes: result.bytes, totalBytes, uid });
    }
    if (options.mode === 'delete' && !result.interrupted) {
      const stored = uids.filter((u) => state.stored.has(u.uid));
      await client.deleMany(stored.map((u) => u.n));
      await client.quit();
      for (const u of stored) state.deleted(u.uid);
      result.deleted = stored.length;
    } else {
      await client.quit();
    }
    client = null;
    return result;
  } finally {
    client?.close();
    state.close();
    local.close();
    await unlock();
  }
}
