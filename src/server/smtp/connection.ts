/**
 * One SMTP connection: bytes in, replies out. Input is processed strictly in order by one loop (pump) that switches
 * between command lines, AUTH responses, DATA content and BDAT chunks; replies are collected and written in one go when
 * the loop has used up the input (RFC 2920 pipelining). While the loop waits on storage the socket is paused once
 * enough input is queued, so a fast client cannot grow memory.
 *
 * Per-connection state is kept small for many idle connections: no timers (the server sweeps for timeouts), no
 * closures per socket (handlers find the connection through a symbol on the socket), buffers allocated lazily.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { LineReader, TOO_LONG, ABUSE } from '../../protocol/smtp/line-reader.js';
import { parseCommandLine, HTTP_VERBS } from '../../protocol/smtp/command.js';
import { REPLIES, formatReply, formatSpec, type ReplySpec } from '../../protocol/smtp/replies.js';
import type { DataDecoder } from '../../protocol/smtp/data-decoder.js';
import type { SaslExchange } from '../../protocol/sasl/mechanisms.js';
import type { BodyWriter } from './body.js';
import type { ListenerKind } from './policy.js';
import type { SessionContext, Transaction } from './session.js';
import { dispatch } from './commands.js';
import { authLine } from './verbs/auth.js';
import { finishData } from './verbs/data.js';
import { bdatChunk, finishBdat } from './verbs/bdat.js';
import { collectYoungGeneration, YOUNG_GC_EVERY_BYTES } from './memory.js';

export type InputMode =
  | { kind: 'command' }
  | { kind: 'auth'; exchange: SaslExchange }
  | { kind: 'data'; decoder: DataDecoder; body: BodyWriter }
  | { kind: 'bdat'; remaining: number; size: number; last: boolean; body: BodyWriter | null; error: ReplySpec | null }
  | { kind: 'closed' };

const COMMAND: InputMode = { kind: 'command' };
const CLOSED: InputMode = { kind: 'closed' };
/** Queued input above which the socket is paused while the loop waits. */
const PAUSE_INPUT_BYTES = 256 * 1024;
/** Unread replies above which reading stops until the client reads (a pipelining client that never reads). */
const PAUSE_OUTPUT_BYTES = 256 * 1024;

const OWNER = Symbol('smtp-connection');
type Owned = Socket & { [OWNER]?: SmtpConnection };

function onData(this: Owned, chunk: Buffer): void {
  this[OWNER]?.receive(chunk);
}
function onError(this: Owned, err: Error): void {
  this[OWNER]?.socketError(err);
}
function onClose(this: Owned): void {
  this[OWNER]?.closed();
}
function onEnd(this: Owned): void {
  this[OWNER]?.peerEnded();
}
function onDrain(this: Owned): void {
  this[OWNER]?.drained();
}

export class SmtpConnection {
  mode: InputMode = COMMAND;
  /** HELO/EHLO argument; null before the first one (and again after STARTTLS). */
  helo: string | null = null;
  esmtp = false;
  txn: Transaction | null = null;
  /** Canonical authenticated user. */
  user: string | null;
  tls: boolean;
  errors = 0;
  commandsSinceMail = 0;
  lastActive: number;
  /** Greeting sent (false only while a greeting delay runs). */
  greeted = false;
  /** Set when the server is shutting down: close once idle. */
  draining = false;
  closedAt = 0;
  /** Counted against the per-address connection limit. */
  counted = false;
  private inq: Buffer[] | null = null;
  private inOff = 0;
  private inBytes = 0;
  private busy = false;
  private out = '';
  private reader: LineReader;
  private pausedForOutput = false;
  /** The client shut down its sending side: answer what it sent, then close. */
  private inputEnded = false;
  /** Message octets received since the last young-generation collection. */
  private sinceGc = 0;

  constructor(
    public socket: Socket,
    readonly ctx: SessionContext,
    readonly kind: ListenerKind,
    readonly remoteAddress: string,
  ) {
    this.tls = kind === 'smtps';
    this.user = kind === 'local' ? 'local' : null;
    this.lastActive = ctx.now();
    this.reader = new LineReader(ctx.config.max_command_line, ctx.config.max_discarded_line);
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    (socket as Owned)[OWNER] = this;
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onEnd);
  }

  private detach(socket: Socket): void {
    delete (socket as Owned)[OWNER];
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    socket.off('end', onEnd);
    socket.off('drain', onDrain);
  }

  /** Send the 220 greeting (now, or after the configured delay). */
  greet(): void {
    this.greeted = true;
    this.write(`220 ${this.ctx.hostname} ESMTP Posthorn\r\n`);
  }

  get isClosed(): boolean {
    return this.mode.kind === 'closed';
  }

  get isBusy(): boolean {
    return this.busy;
  }

  // ---- input ----

  receive(chunk: Buffer): void {
    if (this.mode.kind === 'closed') return;
    this.lastActive = this.ctx.now();
    if (!this.greeted) {
      this.reply(REPLIES.earlyTalker);
      this.close();
      return;
    }
    if (this.inq) this.inq.push(chunk);
    else this.inq = [chunk];
    this.inBytes += chunk.length;
    if (!this.busy) void this.pump();
    else if (this.inBytes > PAUSE_INPUT_BYTES) this.socket.pause();
  }

  private consume(to: number): void {
    const q = this.inq!;
    const head = q[0];
    const used = to - this.inOff;
    this.inBytes -= used;
    if (to >= head.length) {
      q.shift();
      this.inOff = 0;
      if (q.length === 0) this.inq = null;
    } else {
      this.inOff = to;
    }
  }

  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.inq !== null && this.mode.kind !== 'closed') {
        const chunk = this.inq[0];
        const offset = this.inOff;
        const mode = this.mode;
        if (mode.kind === 'command' || mode.kind === 'auth') {
          const line = this.reader.read(chunk, offset);
          this.consume(this.reader.offset);
          if (line === null) continue;
          if (line === ABUSE) {
            this.reply(REPLIES.lineTooLongClosing);
            this.close();
            break;
          }
          if (line === TOO_LONG) {
            if (mode.kind === 'auth') {
              this.setMode(COMMAND);
              this.reply(REPLIES.authLineTooLong);
            } else {
              this.reply(REPLIES.lineTooLong);
            }
            continue;
          }
          const pending = mode.kind === 'auth' ? authLine(this, mode.exchange, line) : this.command(line);
          if (pending) await pending;
        } else if (mode.kind === 'data') {
          this.countBulk(chunk.length - offset);
          const pieces: Buffer[] = [];
          const used = mode.decoder.feed(offset === 0 ? chunk : chunk.subarray(offset), pieces);
          this.consume(offset + used);
          if (pieces.length > 0 && !mode.decoder.failed) {
            const wait = mode.body.write(pieces);
            if (wait) await wait;
          }
          if (mode.decoder.done) {
            this.setMode(COMMAND);
            await finishData(this, mode.decoder, mode.body);
          }
        } else if (mode.kind === 'bdat') {
          const take = Math.min(mode.remaining, chunk.length - offset);
          this.countBulk(take);
          const piece = chunk.subarray(offset, offset + take);
          this.consume(offset + take);
          mode.remaining -= take;
          const wait = bdatChunk(this, mode, piece);
          if (wait) await wait;
          if (mode.remaining === 0) {
            this.setMode(COMMAND);
            await finishBdat(this, mode);
          }
        }
        if (this.draining && this.isIdle) {
          this.reply(REPLIES.shuttingDown);
          this.close();
        }
      }
    } catch (err) {
      // After the client went away, a store write on the aborted body fails: that is expected, not an error.
      if (this.mode.kind === 'closed') this.ctx.logger.debug('smtp.session_ended', { client: this.remoteAddress, error: err });
      else this.ctx.logger.error('smtp.session_error', { client: this.remoteAddress, error: err });
      if (this.mode.kind !== 'closed') {
        this.reply(REPLIES.storeFailed);
        this.close();
      }
    } finally {
      this.busy = false;
      if (this.inputEnded && this.inq === null) this.close();
      this.flush();
      if (this.mode.kind !== 'closed' && !this.pausedForOutput && this.socket.isPaused()) this.socket.resume();
    }
  }

  private countBulk(bytes: number): void {
    this.sinceGc += bytes;
    if (this.sinceGc >= YOUNG_GC_EVERY_BYTES) {
      this.sinceGc = 0;
      collectYoungGeneration();
    }
  }

  /** One command line. Returns a promise only when the command has to wait (directory, store, AUTH). */
  private command(line: Buffer): Promise<void> | void {
    const cmd = parseCommandLine(line);
    if (HTTP_VERBS.has(cmd.verb) && / HTTP\/\d/.test(cmd.arg)) {
      this.reply(REPLIES.httpRequest);
      this.close();
      return;
    }
    if (this.txn === null && cmd.verb !== 'MAIL' && cmd.verb !== 'QUIT') {
      if (++this.commandsSinceMail > this.ctx.config.max_commands_before_mail) {
        this.reply(REPLIES.tooManyCommands);
        this.close();
        return;
      }
    }
    return dispatch(this, cmd);
  }

  // ---- modes ----

  setMode(mode: InputMode): void {
    if (this.mode.kind === 'closed') return;
    this.mode = mode;
    this.lastActive = this.ctx.now();
    this.reader.limit = mode.kind === 'auth' ? this.ctx.saslMaxLine : this.ctx.config.max_command_line;
  }

  enterCommand(): void {
    this.setMode(COMMAND);
  }

  /** Nothing in progress: no transaction, no AUTH exchange, no message data. */
  get isIdle(): boolean {
    return this.mode.kind === 'command' && this.txn === null && !this.reader.pending;
  }

  // ---- output ----

  reply(spec: ReplySpec, extra?: string): void {
    this.out += formatSpec(spec, extra);
    this.countError(spec.code);
  }

  replyText(code: number, enhanced: string | null, text: string | readonly string[]): void {
    this.out += formatReply(code, enhanced, text);
    this.countError(code);
  }

  private countError(code: number): void {
    if (code >= 400 && code !== 421 && this.mode.kind !== 'closed') {
      if (++this.errors >= this.ctx.config.max_errors) {
        this.out += formatSpec(REPLIES.tooManyErrors);
        this.close();
      }
    }
  }

  flush(): void {
    if (this.out === '') return;
    const text = this.out;
    this.out = '';
    this.write(text);
  }

  private write(text: string): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(text);
    if (this.socket.writableLength > PAUSE_OUTPUT_BYTES && !this.pausedForOutput) {
      this.pausedForOutput = true;
      this.socket.pause();
      this.socket.once('drain', onDrain);
    }
  }

  drained(): void {
    this.pausedForOutput = false;
    if (this.mode.kind !== 'closed') this.socket.resume();
  }

  /** Flush what is pending and end the connection; input after this is ignored. */
  close(): void {
    const previous = this.mode;
    if (previous.kind === 'closed') return;
    this.mode = CLOSED;
    this.closedAt = this.ctx.now();
    this.inq = null;
    this.inBytes = 0;
    this.flush();
    this.socket.end();
    void this.abortTransaction(previous);
  }

  /** Server side shutdown: close now when idle, otherwise when the current transaction ends. */
  drain(): void {
    this.draining = true;
    if (!this.busy && this.isIdle) {
      this.reply(REPLIES.shuttingDown);
      this.close();
    }
  }

  /** Close regardless of state (grace period over, or a timeout). */
  forceClose(spec: ReplySpec): void {
    if (this.mode.kind !== 'closed') {
      this.out = '';
      this.reply(spec);
      this.close();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Throw away the transaction in progress (and the DATA/BDAT body being received in `mode`). */
  async abortTransaction(mode: InputMode = this.mode): Promise<void> {
    const txn = this.txn;
    this.txn = null;
    await txn?.body?.abort();
    if (mode.kind === 'data') await mode.body.abort();
  }

  peerEnded(): void {
    this.inputEnded = true;
    if (!this.busy && this.inq === null) this.close();
  }

  socketError(err: Error): void {
    this.ctx.logger.debug('smtp.socket_error', { client: this.remoteAddress, error: err });
  }

  closed(): void {
    const previous = this.mode;
    this.mode = CLOSED;
    this.inq = null;
    if (previous.kind !== 'closed') void this.abortTransaction(previous);
    this.detach(this.socket);
    this.ctx.connectionClosed(this);
  }

  // ---- STARTTLS ----

  /** Send the pending 220, drop anything the client pipelined after STARTTLS (CVE-2011-0411), and start TLS. */
  startTls(): void {
    const context = this.ctx.secureContext();
    if (!context) return;
    this.flush();
    this.inq = null;
    this.inOff = 0;
    this.inBytes = 0;
    this.reader.reset();
    const raw = this.socket;
    this.detach(raw);
    // Session state is reset (RFC 3207 4.2): a new EHLO is needed and nothing learnt before TLS is kept.
    this.helo = null;
    this.esmtp = false;
    void this.abortTransaction();
    this.user = null;
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
    this.socket = secure;
    this.attach(secure);
    secure.once('secure', () => {
      this.tls = true;
      this.lastActive = this.ctx.now();
    });
  }

  /** TLS parameters for the Received header. */
  tlsInfo(): { protocol: string; cipher: string } | null {
    if (!this.tls || !(this.socket instanceof TLSSocket)) return null;
    const cipher = this.socket.getCipher();
    return { protocol: this.socket.getProtocol() ?? 'TLS', cipher: cipher?.standardName ?? cipher?.name ?? 'unknown' };
  }
}
