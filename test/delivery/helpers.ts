/** Test doubles for delivery: a fake clock, a scripted fake transport, temporary data directories. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/delivery/clock.js';
import type { ReplyInfo } from '../../src/delivery/record.js';
import type { DeliveryTarget, OutgoingMessage, RemoteSession, RemoteTransport, TransactionResult } from '../../src/delivery/transport.js';
import { SmtpError } from '../../src/protocol/smtp/error.js';

export class FakeClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  constructor(public current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  schedule(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.current + Math.max(0, ms), fn, id });
    return id;
  }
  cancel(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Move time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > end) break;
      this.timers.shift();
      this.current = Math.max(this.current, t.at);
      t.fn();
    }
    this.current = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

export interface Attempt {
  target: DeliveryTarget;
  /** The message, with the body read into a Buffer whatever form it came in. */
  message: OutgoingMessage & { body: Buffer };
  at: number;
}

/** Decides the reply for one recipient (or throws to simulate a broken transaction). */
export type Script = (rcpt: string, target: DeliveryTarget, attempt: number) => ReplyInfo | 'drop';

export const OK: ReplyInfo = { code: 250, enhanced: '2.0.0', text: 'OK queued' };
export const DEFER: ReplyInfo = { code: 451, enhanced: '4.3.0', text: 'try again later' };
export const REJECT: ReplyInfo = { code: 550, enhanced: '5.1.1', text: 'no such user' };

export class FakeTransport implements RemoteTransport {
  attempts: Attempt[] = [];
  connections = 0;
  /** Transactions whose body came as a stream (large messages). */
  streamed = 0;
  active = 0;
  maxActive = 0;
  /** Hold transactions until release() is called. */
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;
  connectError: ((target: DeliveryTarget) => Error | null) | null = null;
  /** Thrown by send() instead of running the script (a refused MAIL FROM, say). */
  sendError: ((target: DeliveryTarget) => Error | null) | null = null;
  dsn = false;
  constructor(
    public script: Script = () => OK,
    private readonly clock?: FakeClock,
  ) {}
  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }
  release(): void {
    this.openGate?.();
    this.gate = null;
  }
  async connect(target: DeliveryTarget): Promise<RemoteSession> {
    const err = this.connectError?.(target);
    if (err) throw err;
    this.connections++;
    let usable = true;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      target,
      get usable() {
        return usable;
      },
      async send(message: OutgoingMessage): Promise<TransactionResult> {
        self.active++;
        self.maxActive = Math.max(self.maxActive, self.active);
        try {
          if (self.gate) await self.gate;
          const sendErr = self.sendError?.(target);
          if (sendErr) throw sendErr;
          const n = self.attempts.filter((a) => a.target.host === target.host).length;
          const at = self.clock?.now() ?? Date.now();
          const body = Buffer.isBuffer(message.body) ? message.body : Buffer.concat(await message.body.open().toArray());
          if (!Buffer.isBuffer(message.body)) self.streamed++;
          self.attempts.push({ target, message: { ...message, body }, at });
          const replies = message.recipients.map((r) => self.script(r.address, target, n));
          if (replies.includes('drop')) {
            usable = false;
            throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
          }
          return { recipients: replies as ReplyInfo[], dsn: self.dsn };
        } finally {
          self.active--;
        }
      },
      async reset() {},
      async close() {
        usable = false;
      },
    };
  }
}

export function mailFromError(code: number): SmtpError {
  return new SmtpError(code, `${String(code)[0]}.1.8`, 'sender refused');
}

export async function tempDataDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ph-dlv-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function message(from = 'alice@example.org', to = 'bob@remote.test', extra = ''): Buffer {
  return Buffer.from(
    `From: Alice <${from}>\r\nTo: <${to}>\r\nSubject: test\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <t1@example.org>\r\n${extra}\r\nHello.\r\n.dot line\r\n`,
  );
}
