/**
 * The queue scheduler: keeps every queued record in memory, starts delivery attempts when recipients are due, within
 * the overall and per-destination concurrency limits, records the outcome durably, and hands owed notices (DSNs) to a
 * sink. Recipients of one message bound for the same destination go in one transaction; different destinations are
 * attempted independently. Changes to a record are serialised per message.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Logger } from '../observability/log.js';
import { SmtpError } from '../protocol/smtp/error.js';
import { retryDelayMs, type RetryPolicy } from './backoff.js';
import type { Clock } from './clock.js';
import { RoutingFailure, type MxResolver } from './mx.js';
import type { ConnectionPool } from './pool.js';
import type { QueueStore } from './queue-store.js';
import { domainOf, isComplete, wantsNotice, type QueueRecord, type RecipientRecord, type ReplyInfo } from './record.js';
import { destinationFor, normalizeDomain, RouteError, type Destination, type RoutingConfig } from './route.js';
import { resolveTargets } from './targets.js';
import { describeTarget, isTlsFailure, type OutgoingMessage } from './transport.js';

export type NoticeAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface NoticeItem {
  recipient: RecipientRecord;
  action: NoticeAction;
}

/** Sends (or queues) a DSN to the record's envelope sender; resolves once that is durable. */
export type NoticeSink = (rec: QueueRecord, items: NoticeItem[]) => Promise<void>;

export interface SchedulerOptions {
  store: QueueStore;
  pool: ConnectionPool;
  routing: RoutingConfig;
  resolver: MxResolver;
  requireTlsDomains: ReadonlySet<string>;
  retry: RetryPolicy;
  maxConcurrency: number;
  maxConcurrencyPerDestination: number;
  mxPort: number;
  maxMxHosts: number;
  /** Messages larger than this (octets) are streamed from disk for each attempt instead of read into memory. */
  streamThreshold: number;
  clock: Clock;
  random: () => number;
  logger: Logger;
  notices: NoticeSink;
}

interface Entry {
  rec: QueueRecord;
  busy: Set<number>;
  deleted: boolean;
  chain: Promise<void>;
  /** Epoch ms before which owed notices are not retried after a failure. */
  noticeRetryAt: number;
  /** A report() is already waiting in the chain. */
  reportQueued: boolean;
  /** Something changed (or was held back by a concurrency limit) since pump() last looked at this entry. */
  dirty: boolean;
  /** When the entry next needs pump()'s attention, if not dirty (so large queues cost O(1) per idle message). */
  wakeAt: number;
}

export interface QueueSummary {
  id: string;
  createdAt: number;
  mailFrom: string;
  size: number;
  origin: QueueRecord['origin'];
  recipients: Array<Pick<RecipientRecord, 'address' | 'status' | 'attempts' | 'nextAttemptAt' | 'lastReply'>>;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private active = 0;
  private readonly activeByKey = new Map<string, number>();
  private readonly jobs = new Set<Promise<void>>();
  private timer: unknown = null;
  private timerAt = Infinity;
  private running = false;

  constructor(private readonly o: SchedulerOptions) {}

  start(records: QueueRecord[]): void {
    for (const rec of records) this.add(rec, false);
    this.running = true;
    this.pump();
  }

  /**
   * Stop starting attempts; give running ones graceMs to finish, then close their connections (they are recorded as
   * temporary failures and retried after restart); resolve once every record write is done.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.running = false;
    if (this.timer !== null) this.o.clock.cancel(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    await this.o.pool.drain();
    if (this.jobs.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
      const result = await Promise.race([Promise.allSettled([...this.jobs]).then(() => 'done' as const), grace]);
      clearTimeout(timer);
      if (result === 'timeout') {
        this.o.logger.warn('queue.stop_aborting', { running: this.jobs.size });
        await this.o.pool.abortBusy();
      }
    }
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs]);
    await Promise.allSettled([...this.entries.values()].map((e) => e.chain));
  }

  /** Take a newly committed record into the schedule. */
  add(rec: QueueRecord, pump = true): void {
    this.entries.set(rec.id, { rec, busy: new Set(), deleted: false, chain: Promise.resolve(), noticeRetryAt: 0, reportQueued: false, dirty: true, wakeAt: 0 });
    if (pump) this.pump();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Resolves when no attempt is running and no recipient is due now (for tests and flush). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.jobs.size > 0) await Promise.allSettled([...this.jobs]);
      await Promise.allSettled([...this.entries.values()].map((e) => e.chain));
      if (this.jobs.size === 0) return;
    }
  }

  list(): QueueSummary[] {
    return [...this.entries.values()].map(({ rec }) => summarize(rec));
  }

  get(id: string): QueueRecord | undefined {
    return this.entries.get(id)?.rec;
  }

  /** Make pending recipients (of one message, or all) due now. Answers how many recipients were rescheduled. */
  async retryNow(id?: string): Promise<number> {
    const now = this.o.clock.now();
    let count = 0;
    const targets = id ? [this.entries.get(id)].filter((e): e is Entry => !!e) : [...this.entries.values()];
    await Promise.all(
      targets.map((entry) =>
        this.serial(entry, async () => {
          let changed = false;
          for (const r of entry.rec.recipients) {
            if (r.status === 'pending' && r.nextAttemptAt > now) {
              r.nextAttemptAt = now;
              changed = true;
              count++;
            }
          }
          entry.noticeRetryAt = 0;
          entry.dirty = true;
          if (changed && !entry.deleted) await this.o.store.writeRecord(entry.rec);
        }),
      ),
    );
    this.pump();
    return count;
  }

  /** Remove a message for good (no notices). Answers false when there is no such message. */
  async delete(id: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.deleted = true;
    this.entries.delete(id);
    await this.serial(entry, () => this.o.store.remove(id));
    return true;
  }

  private serial(entry: Entry, fn: () => Promise<void>): Promise<void> {
    const next = entry.chain.then(fn);
    entry.chain = next.catch((err: unknown) => this.o.logger.error('queue.record_update_failed', { id: entry.rec.id, err }));
    return next;
  }

  /** Start every attempt that is due and allowed; arm the timer for the next one. */
  pump(): void {
    if (!this.running) return;
    const now = this.o.clock.now();
    let next = Infinity;
    const warnAfter = this.o.retry.delayWarningAfter * 1000;
    for (const entry of this.entries.values()) {
      if (!entry.dirty && entry.wakeAt > now) {
        next = Math.min(next, entry.wakeAt);
        continue;
      }
      let entryNext = Infinity;
      let blocked = false;
      const rec = entry.rec;
      // Notices owed (after a failed attempt to send them) and delay warnings.
      const owesNotice = rec.recipients.some((r) => r.status !== 'pending' && !r.reported);
      const delayDue = warnAfter > 0 && rec.recipients.some((r) => r.status === 'pending' && !r.delayReported && r.attempts > 0);
      if (owesNotice || delayDue) {
        const at = Math.max(entry.noticeRetryAt, owesNotice ? 0 : rec.createdAt + warnAfter);
        if (at > now) entryNext = Math.min(entryNext, at);
        else if (!entry.reportQueued) {
          entry.reportQueued = true;
          // pump() again afterwards: a failed notice must arm the timer for its retry.
          this.track(this.serial(entry, () => this.report(entry)).finally(() => this.pump()));
        }
      }
      const groups = new Map<string, { dest: Destination; requireTls: boolean; indexes: number[] }>();
      rec.recipients.forEach((r, i) => {
        if (r.status !== 'pending' || entry.busy.has(i)) return;
        if (r.nextAttemptAt > now) {
          entryNext = Math.min(entryNext, r.nextAttemptAt);
          return;
        }
        let dest: Destination;
        let requireTls: boolean;
        try {
          const domain = normalizeDomain(domainOf(r.address));
          dest = destinationFor(domain, this.o.routing);
          requireTls = this.o.requireTlsDomains.has(domain);
        } catch (err) {
          const text = err instanceof RouteError ? err.message : String(err);
          entry.busy.add(i);
          this.track(this.applyOutcomes(entry, [i], new Map([[i, { reply: { code: 553, enhanced: '5.1.3', text } }]])));
          return;
        }
        const key = dest.key + (requireTls ? '|tls' : '');
        const g = groups.get(key) ?? { dest, requireTls, indexes: [] };
        g.indexes.push(i);
        groups.set(key, g);
      });
      for (const [key, g] of groups) {
        if (this.active >= this.o.maxConcurrency || (this.activeByKey.get(key) ?? 0) >= this.o.maxConcurrencyPerDestination) {
          blocked = true;
          continue;
        }
        for (const i of g.indexes) entry.busy.add(i);
        this.active++;
        this.activeByKey.set(key, (this.activeByKey.get(key) ?? 0) + 1);
        const job = this.attempt(entry, g.dest, g.requireTls, g.indexes).finally(() => {
          this.active--;
          const n = (this.activeByKey.get(key) ?? 1) - 1;
          if (n > 0) this.activeByKey.set(key, n);
          else this.activeByKey.delete(key);
          this.pump();
        });
        this.track(job);
      }
      entry.dirty = blocked;
      entry.wakeAt = entryNext;
      next = Math.min(next, entryNext);
    }
    this.arm(next);
  }

  private track(p: Promise<void>): void {
    const job = p.catch((err: unknown) => this.o.logger.error('queue.job_failed', { err }));
    this.jobs.add(job);
    void job.finally(() => this.jobs.delete(job));
  }

  private arm(at: number): void {
    if (at === Infinity || at >= this.timerAt) return;
    if (this.timer !== null) this.o.clock.cancel(this.timer);
    this.timerAt = at;
    this.timer = this.o.clock.schedule(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.pump();
    }, at - this.o.clock.now());
  }

  /** One delivery attempt for some recipients of one message to one destination. */
  private async attempt(entry: Entry, dest: Destination, requireTls: boolean, indexes: number[]): Promise<void> {
    const rec = entry.rec;
    const log = this.o.logger.child({ id: rec.id, destination: dest.key });
    const outcomes = new Map<number, { reply: ReplyInfo; remoteMta?: string; remoteDsn?: boolean }>();
    let fallback: ReplyInfo = { code: 451, enhanced: '4.4.0', text: 'no delivery attempt was possible' };
    let fallbackMta: string | undefined;
    try {
      const dkim = rec.dkim ? Buffer.from(rec.dkim, 'latin1') : null;
      let body: OutgoingMessage['body'];
      if (rec.size <= this.o.streamThreshold) {
        const whole = await this.o.store.readMessage(rec.id);
        body = dkim ? Buffer.concat([dkim, whole]) : whole;
      } else {
        const path = this.o.store.messagePath(rec.id);
        body = { size: (dkim?.length ?? 0) + rec.size, open: () => messageStream(dkim, path) };
      }
      const message: OutgoingMessage = {
        mailFrom: rec.envelope.mailFrom,
        recipients: indexes.map((i) => {
          const r = rec.recipients[i];
          return { address: r.address, ...(r.notify ? { notify: r.notify } : {}), ...(r.orcpt ? { orcpt: r.orcpt } : {}) };
        }),
        body,
        bodyType: rec.envelope.body,
        smtputf8: rec.envelope.smtputf8,
        ...(rec.envelope.envid !== undefined ? { envid: rec.envelope.envid } : {}),
        ...(rec.envelope.dsnRet ? { ret: rec.envelope.dsnRet } : {}),
      };
      const targets = await resolveTargets(dest, {
        resolver: this.o.resolver,
        requireTls,
        mxPort: this.o.mxPort,
        maxMxHosts: this.o.maxMxHosts,
        random: this.o.random,
      });
      for (const target of targets) {
        if (entry.deleted) return;
        const mta = describeTarget(target);
        let session;
        try {
          try {
            session = await this.o.pool.acquire(target);
          } catch (err) {
            // Opportunistic TLS (RFC 3207 section 4 leaves it to the client): a server whose STARTTLS handshake
            // fails gets the message in plain text rather than not at all, as Postfix does. Never when TLS is required.
            if (target.tls !== 'opportunistic' || !isTlsFailure(err)) throw err;
            log.info('delivery.tls_fallback', { target: mta, error: (err as Error).message });
            session = await this.o.pool.acquire({ ...target, tls: 'none' });
          }
        } catch (err) {
          // A refusal before any transaction (5xx greeting, failed AUTH, TLS policy) is never final: like Postfix's
          // soft bounce for these, it is retried (next host first) until give_up_after.
          const r = errorReply(err, '4.4.1', 'connection failed');
          fallback = r.code >= 500 ? { code: 451, enhanced: '4.4.1', text: `connection setup refused: ${r.code} ${r.enhanced ?? ''} ${r.text}`.replace(/\s+/g, ' ') } : r;
          fallbackMta = mta;
          log.info('delivery.connect_failed', { target: mta, reply: fallback });
          continue;
        }
        try {
          const result = await session.send(message);
          await this.o.pool.release(session);
          indexes.forEach((idx, k) => outcomes.set(idx, { reply: result.recipients[k], remoteMta: mta, remoteDsn: result.dsn }));
          log.info('delivery.attempted', { target: mta, replies: result.recipients.map((r) => r.code) });
          break;
        } catch (err) {
          await this.o.pool.discard(session);
          fallback = errorReply(err, '4.4.2', 'connection lost');
          fallbackMta = mta;
          log.info('delivery.transaction_failed', { target: mta, reply: fallback });
          if (err instanceof SmtpError && err.permanent) break;
        }
      }
    } catch (err) {
      if (err instanceof RoutingFailure) fallback = err.reply;
      else {
        log.error('delivery.attempt_error', { err });
        fallback = { code: 451, enhanced: '4.3.0', text: `local error: ${(err as Error).message}` };
      }
    }
    for (const i of indexes) {
      if (!outcomes.has(i)) outcomes.set(i, fallbackMta ? { reply: fallback, remoteMta: fallbackMta } : { reply: fallback });
    }
    await this.applyOutcomes(entry, indexes, outcomes);
  }

  private applyOutcomes(
    entry: Entry,
    indexes: number[],
    outcomes: Map<number, { reply: ReplyInfo; remoteMta?: string; remoteDsn?: boolean }>,
  ): Promise<void> {
    return this.serial(entry, async () => {
      const rec = entry.rec;
      entry.dirty = true;
      const now = this.o.clock.now();
      const expiresAt = rec.createdAt + this.o.retry.giveUpAfter * 1000;
      const fromNull = rec.envelope.mailFrom === '';
      for (const i of indexes) {
        entry.busy.delete(i);
        const r = rec.recipients[i];
        const o = outcomes.get(i);
        if (!o || r.status !== 'pending') continue;
        r.attempts++;
        r.lastAttemptAt = now;
        r.lastReply = o.reply;
        if (o.remoteMta) r.remoteMta = o.remoteMta;
        else delete r.remoteMta;
        if (o.reply.code >= 200 && o.reply.code < 300) {
          r.status = 'delivered';
          r.doneAt = now;
          r.remoteDsn = o.remoteDsn ?? false;
          r.reported = fromNull || !wantsNotice(r.notify, 'SUCCESS') || r.remoteDsn;
        } else if (o.reply.code >= 500 || now >= expiresAt) {
          if (o.reply.code < 500) {
            r.lastReply = { ...o.reply, text: `${o.reply.text} (gave up after ${formatAge(now - rec.createdAt)})` };
          }
          r.status = 'failed';
          r.doneAt = now;
          r.reported = fromNull || !wantsNotice(r.notify, 'FAILURE');
        } else {
          r.nextAttemptAt = Math.min(now + retryDelayMs(this.o.retry, r.attempts, this.o.random), expiresAt);
        }
      }
      if (entry.deleted) return;
      // A record that is now complete is removed by report() without being rewritten first.
      if (!isComplete(rec)) await this.o.store.writeRecord(rec);
      await this.report(entry);
    });
  }

  /** Send owed notices (final statuses, due delay warnings); remove the message once nothing is left. Runs serialised. */
  private async report(entry: Entry): Promise<void> {
    entry.reportQueued = false;
    entry.dirty = true;
    if (entry.deleted) return;
    const rec = entry.rec;
    const now = this.o.clock.now();
    const fromNull = rec.envelope.mailFrom === '';
    const warnAfter = this.o.retry.delayWarningAfter * 1000;
    const items: NoticeItem[] = [];
    let changed = false;
    for (const r of rec.recipients) {
      if (r.status !== 'pending' && !r.reported) {
        items.push({ recipient: r, action: r.status === 'failed' ? 'failed' : r.remoteDsn === false ? 'relayed' : 'delivered' });
      } else if (r.status === 'pending' && !r.delayReported && r.attempts > 0 && warnAfter > 0 && now >= rec.createdAt + warnAfter) {
        if (fromNull || !wantsNotice(r.notify, 'DELAY')) {
          r.delayReported = true;
          changed = true;
        } else items.push({ recipient: r, action: 'delayed' });
      }
    }
    if (items.length > 0 && now >= entry.noticeRetryAt) {
      try {
        await this.o.notices(rec, items);
        for (const { recipient, action } of items) {
          if (action === 'delayed') recipient.delayReported = true;
          else recipient.reported = true;
        }
        changed = true;
      } catch (err) {
        entry.noticeRetryAt = now + this.o.retry.retryFirst * 1000;
        this.o.logger.warn('queue.notice_failed', { id: rec.id, err });
      }
    }
    if (isComplete(rec) && !rec.recipients.some((_, i) => entry.busy.has(i))) {
      entry.deleted = true;
      this.entries.delete(rec.id);
      await this.o.store.remove(rec.id);
      this.o.logger.info('queue.done', { id: rec.id, recipients: rec.recipients.map((r) => `${r.address}:${r.status}`) });
    } else if (changed) {
      await this.o.store.writeRecord(rec);
    }
  }
}

function messageStream(prefix: Buffer | null, path: string): Readable {
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  if (!prefix) return file;
  return Readable.from(
    (async function* () {
      yield prefix;
      yield* file;
    })(),
    { objectMode: false },
  );
}

function errorReply(err: unknown, enhanced: string, what: string): ReplyInfo {
  if (err instanceof SmtpError && err.code >= 200) return { code: err.code, enhanced: err.enhancedCode, text: err.message };
  const e = err as NodeJS.ErrnoException;
  return { code: 451, enhanced, text: `${what}: ${e.code ? e.code + ' ' : ''}${e.message ?? String(err)}` };
}

function formatAge(ms: number): string {
  const h = ms / 3_600_000;
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  return h >= 48 ? plural(Math.round(h / 24), 'day') : h >= 1 ? plural(Math.round(h), 'hour') : plural(Math.round(ms / 60_000), 'minute');
}

export function summarize(rec: QueueRecord): QueueSummary {
  return {
    id: rec.id,
    createdAt: rec.createdAt,
    mailFrom: rec.envelope.mailFrom,
    size: rec.size,
    origin: rec.origin,
    recipients: rec.recipients.map((r) => ({
      address: r.address,
      status: r.status,
      attempts: r.attempts,
      nextAttemptAt: r.nextAttemptAt,
      ...(r.lastReply ? { lastReply: r.lastReply } : {}),
    })),
  };
}
