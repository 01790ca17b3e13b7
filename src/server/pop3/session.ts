/**
 * One POP3 connection: reads pipelined command lines in order, answers them in batches (cork/uncork, so a burst of
 * commands costs one write), streams large messages with backpressure, and runs the autologout timer. The command
 * handlers (one file per group) act on the session through the methods below; state lives in `state`.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import { LineReader, type LineEvent } from '../../protocol/pop3/line-reader.js';
import { DotStuffer } from '../../protocol/pop3/stuffing.js';
import { err, ok } from '../../protocol/pop3/response.js';
import { DEFAULT_MAX_SASL_RESPONSE } from '../../protocol/sasl/mechanisms.js';
import type { Logger } from '../../observability/log.js';
import { INPUT_HIGH_WATER, OUTPUT_HIGH_WATER, TLS_HANDSHAKE_TIMEOUT, type ListenerInfo, type ServerContext } from './context.js';
import type { SessionState } from './state.js';
import { dispatch } from './dispatch.js';
import { giveBuffer } from './buffer-pool.js';

let sessionCounter = 0;

export class Pop3Session {
  state: SessionState = { kind: 'authorization', user: null, failures: 0 };
  /** RFC 6856 UTF8 command given. */
  utf8 = false;
  secure = false;
  /** APOP timestamp from the greeting: a msg-id, unique per connection (RFC 1939 section 7). */
  readonly timestamp: string;
  readonly log: Logger;
  readonly id: number;
  private socket: Socket;
  private readonly reader = new LineReader(DEFAULT_MAX_SASL_RESPONSE + 2);
  private wake: (() => void) | null = null;
  private idleTask: (() => unknown) | null = null;
  /** Reusable buffers queued on the socket, given back to the pool once the output queue is empty. */
  private readonly queuedBuffers: Buffer[] = [];
  private corked = false;
  private paused = false;
  private ended = false;
  private endReason = '';

  constructor(
    readonly ctx: ServerContext,
    socket: Socket,
    readonly listener: ListenerInfo,
    readonly remoteAddress: string,
  ) {
    this.socket = socket;
    this.id = ++sessionCounter;
    this.timestamp = `<${process.pid}.${Date.now()}.${this.id}.${randomBytes(6).toString('hex')}@${ctx.hostname}>`;
    this.log = ctx.logger.child({ proto: 'pop3', session: this.id, remote: remoteAddress });
  }

  /** Plaintext passwords (USER/PASS, SASL PLAIN and LOGIN) may be used now. */
  get plaintextAuthAllowed(): boolean {
    return this.secure || this.listener.insecureAuthAllowed;
  }

  get tlsAvailable(): boolean {
    return this.ctx.secureContext !== null;
  }

  /** The connection is gone or closing: handlers that awaited something must not start anything new. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Serve the connection until QUIT, a drop, a timeout or shutdown. Never rejects. */
  async run(): Promise<void> {
    this.attach(this.socket);
    try {
      if (this.listener.kind === 'pop3s') {
        await this.handshake();
        if (this.ended) return;
      }
      this.log.debug('pop3.connect', { tls: this.secure });
      this.write(ok(`${this.ctx.hostname} POP3 server ready ${this.timestamp}`));
      while (!this.ended) {
        // A line already buffered is taken without an await (pipelined commands); nextEvent() flushes and waits.
        const event = this.reader.next() ?? (await this.nextEvent());
        if (!event) break;
        if (event.kind === 'too-long') {
          this.write(err(null, 'line too long'));
          continue;
        }
        const pending = dispatch(this, event.line);
        if (pending) await pending;
        if (this.socket.writableLength > OUTPUT_HIGH_WATER) await this.drain();
      }
    } catch (error) {
      // A bug or an unexpected backend failure: say so, and close without UPDATE (finish() releases the maildrop).
      this.log.error('pop3.session_error', { error, state: this.state.kind });
      this.write(err('SYS/TEMP', 'internal error, closing'));
    } finally {
      this.flush();
      await this.finish();
    }
  }

  /** Queue a response (written at the end of the batch). */
  write(text: string | Buffer): void {
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.socket.cork();
      this.corked = true;
    }
    this.socket.write(text);
  }

  /** Send everything queued. */
  flush(): void {
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    // Nothing left in the socket's queue: the kernel has every octet, no write refers to a queued buffer any more.
    if (this.queuedBuffers.length > 0 && this.socket.writableLength === 0 && !this.socket.destroyed) {
      for (const buffer of this.queuedBuffers) giveBuffer(buffer);
      this.queuedBuffers.length = 0;
    }
  }

  /**
   * `buffer` (from the pool) has just been written: give it back once it has left the process. Only on a plain
   * socket, where an empty output queue after a flush proves that; under TLS it is left to the garbage collector.
   */
  releaseAfterWrite(buffer: Buffer): void {
    if (!(this.socket instanceof TLSSocket) && !this.socket.destroyed) this.queuedBuffers.push(buffer);
  }

  /** Flush, and wait until the socket has taken the output (or is gone). */
  async drain(): Promise<void> {
    this.flush();
    if (!this.socket.writableNeedDrain || this.socket.destroyed) return;
    const socket = this.socket;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** Send a message body from a stream: byte-stuffed, terminated, with backpressure (memory stays flat). */
  async sendStream(stream: Readable): Promise<void> {
    this.flush();
    const stuffer = new DotStuffer();
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (this.ended || this.socket.destroyed) throw new Error('connection closed while sending');
        if (!this.socket.write(stuffer.push(chunk))) await this.drain();
      }
    } finally {
      stream.destroy();
    }
    this.write(stuffer.end());
  }

  /**
   * Run `task` when the answers queued so far have been written and no complete command is waiting (RETR read-ahead:
   * the next messages are read while the client receives this one, instead of delaying its answer). A task not run yet
   * is replaced. Never run once the connection has ended.
   */
  whenIdle(task: () => unknown): void {
    this.idleTask = task;
  }

  /** The next line from the client (SASL responses), flushing output first. Null when the connection is gone. */
  async readLine(): Promise<LineEvent | null> {
    return this.nextEvent();
  }

  /** Answer, then close once the answer is out (QUIT, too many failures). */
  endAfterReply(reason: string): void {
    this.ended = true;
    this.endReason = reason;
  }

  /** STLS: the +OK is already queued. Drop any pipelined input, forget USER, and run the TLS handshake. */
  async startTls(): Promise<void> {
    this.flush();
    const dropped = this.reader.discardBuffered();
    if (dropped) this.log.warn('pop3.stls_discarded_input', { octets: dropped });
    if (this.state.kind === 'authorization') this.state.user = null;
    await this.handshake();
  }

  /** Server shutdown: tell the client, close, never enter UPDATE. A session already in UPDATE finishes it. */
  shutdown(): void {
    if (this.state.kind === 'update' || this.state.kind === 'closed') return;
    this.write(err('SYS/TEMP', 'server shutting down'));
    this.flush();
    this.endReason = 'shutdown';
    this.ended = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.wakeUp();
  }

  /** Immediate close (shutdown grace expired during UPDATE, or a fatal error). */
  destroy(): void {
    this.ended = true;
    this.socket.destroy();
    this.wakeUp();
  }

  private async nextEvent(): Promise<LineEvent | null> {
    while (!this.ended) {
      const event = this.reader.next();
      if (event) return event;
      this.flush();
      const idle = this.idleTask;
      if (idle) {
        this.idleTask = null;
        idle();
        continue;
      }
      if (this.paused) {
        this.paused = false;
        this.socket.resume();
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    return null;
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk);
    if (this.reader.pending > INPUT_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.wakeUp();
  };

  private readonly onClose = (): void => {
    if (!this.ended) this.endReason ||= 'disconnected';
    this.ended = true;
    this.wakeUp();
  };

  private readonly onError = (error: Error): void => {
    this.log.debug('pop3.socket_error', { error });
  };

  private readonly onTimeout = (): void => {
    if (this.state.kind === 'update') return;
    this.log.info('pop3.autologout', { state: this.state.kind });
    this.write(err(null, 'autologout: idle for too long'));
    this.flush();
    this.endReason = 'timeout';
    this.ended = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.wakeUp();
  };

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.setTimeout(this.ctx.timeoutMs, this.onTimeout);
    socket.setNoDelay(true);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('close', this.onClose);
    socket.off('error', this.onError);
    socket.setTimeout(0);
  }

  private async handshake(): Promise<void> {
    const context = this.ctx.secureContext;
    if (!context) throw new Error('TLS requested without a certificate');
    const raw = this.socket;
    this.detach(raw);
    this.queuedBuffers.length = 0; // (none in practice: STLS comes before any RETR) left to the garbage collector
    if (this.paused) {
      this.paused = false;
      raw.resume();
    }
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
    this.socket = secure;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), TLS_HANDSHAKE_TIMEOUT);
      const done = (result: boolean) => () => {
        clearTimeout(timer);
        secure.off('secure', onSecure);
        secure.off('error', onFail);
        secure.off('close', onFail);
        resolve(result);
      };
      const onSecure = done(true);
      const onFail = done(false);
      secure.once('secure', onSecure);
      secure.once('error', onFail);
      secure.once('close', onFail);
    });
    this.attach(secure);
    if (!ok || secure.destroyed) {
      this.log.info('pop3.tls_failed');
      this.ended = true;
      this.endReason = 'tls failed';
      secure.destroy();
      return;
    }
    this.secure = true;
  }

  private async finish(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    if (state.kind === 'transaction') {
      // Dropped, timed out or shut down: RFC 1939 section 6, no UPDATE, nothing deleted.
      this.log.info('pop3.closed_without_update', { user: state.user, reason: this.endReason || 'closed', marked: state.deleted.size });
      state.readAhead.clear();
      await state.maildrop.release().catch((error: unknown) => this.log.error('pop3.release_failed', { error }));
    }
    if (!this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 5000).unref();
    }
  }
}

/** A reference to the session type for handlers (keeps the import cycle one-directional for types). */
export type Session = Pop3Session;
