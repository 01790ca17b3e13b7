/**
 * The byte channel under an SMTP client session: one socket (plain, TLS or Unix), the reply reader, a queue of
 * replies, a timeout on every wait, and the STARTTLS upgrade. Knows nothing about SMTP verbs beyond replies.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ReplyReader, ReplyProtocolError, type ReplyLimits, type SmtpReply } from './reply-reader.js';
import { SmtpError } from '../../protocol/smtp/error.js';

/** Network-level failure (connection refused, reset, timeout, TLS): code 0, temporary by nature. */
export class SmtpConnectionError extends SmtpError {
  constructor(
    message: string,
    readonly reason: 'connect' | 'timeout' | 'closed' | 'tls' | 'protocol' | 'aborted',
    options?: { cause?: unknown },
  ) {
    super(0, null, message, options);
    this.name = 'SmtpConnectionError';
  }
  override get temporary(): boolean {
    return this.reason !== 'protocol';
  }
}

export interface TlsSettings {
  servername?: string;
  /** Trust these certificates (PEM) in addition to / instead of the system roots, e.g. a self-signed server's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server certificate and name. Default true. */
  rejectUnauthorized?: boolean;
  /** Extra options for tls.connect (minVersion, ciphers, client cert...). */
  tlsOptions?: tls.ConnectionOptions;
}

interface Waiter {
  count: number;
  resolve: (replies: SmtpReply[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  step: string;
}

const MAX_QUEUED_REPLIES = 1000;

export class SmtpChannel {
  private reader: ReplyReader;
  private queue: SmtpReply[] = [];
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private readonly onData = (chunk: Buffer) => this.data(chunk);
  private readonly onError = (error: Error) => this.fail(new SmtpConnectionError(`connection error: ${error.message}`, 'closed', { cause: error }));
  private readonly onClose = () => this.fail(new SmtpConnectionError('connection closed by server', 'closed'));

  private constructor(
    public socket: net.Socket,
    private readonly limits: ReplyLimits,
    public secure: boolean,
  ) {
    this.reader = new ReplyReader(limits);
    this.attach(socket);
  }

  /** Open a TCP, TLS (implicit) or Unix-socket connection within timeoutMs. */
  static open(
    target: { host?: string; port?: number; path?: string; localAddress?: string },
    implicitTls: TlsSettings | null,
    timeoutMs: number,
    limits: ReplyLimits,
  ): Promise<SmtpChannel> {
    return new Promise((resolve, reject) => {
      let socket: net.Socket;
      const event = implicitTls ? 'secureConnect' : 'connect';
      if (implicitTls) {
        socket = tls.connect({
          ...implicitTls.tlsOptions,
          host: target.host,
          port: target.port,
          path: target.path,
          servername: implicitTls.servername ?? (target.host && net.isIP(target.host) === 0 ? target.host : undefined),
          ca: implicitTls.ca,
          rejectUnauthorized: implicitTls.rejectUnauthorized ?? true,
        });
      } else if (target.path) {
        socket = net.connect({ path: target.path });
      } else {
        socket = net.connect({ host: target.host ?? 'localhost', port: target.port ?? 25, localAddress: target.localAddress });
      }
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SmtpConnectionError(`connection to ${describe(target)} timed out after ${timeoutMs} ms`, 'timeout'));
      }, timeoutMs);
      const onError = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        const reason = implicitTls && /certificate|self.signed|altname|SSL|TLS/i.test(error.message.slice(0, 200)) ? 'tls' : 'connect';
        reject(new SmtpConnectionError(`cannot connect to ${describe(target)}: ${error.message}`, reason, { cause: error }));
      };
      socket.once('error', onError);
      socket.once(event, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new SmtpChannel(socket, limits, implicitTls !== null));
      });
    });
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Replies received that no command asked for (e.g. a 421 before an idle close). */
  get unsolicited(): number {
    return this.waiter ? 0 : this.queue.length + (this.reader.pending ? 1 : 0);
  }

  private data(chunk: Buffer): void {
    if (this.failure) return;
    let replies: SmtpReply[];
    try {
      replies = this.reader.push(chunk);
    } catch (error) {
      this.fail(error instanceof ReplyProtocolError ? error : new SmtpConnectionError(String(error), 'protocol'));
      this.socket.destroy();
      return;
    }
    for (const reply of replies) this.queue.push(reply);
    if (this.queue.length > MAX_QUEUED_REPLIES) {
      this.fail(new SmtpConnectionError('server sent more replies than commands', 'protocol'));
      this.socket.destroy();
      return;
    }
    const waiter = this.waiter;
    if (waiter && this.queue.length >= waiter.count) {
      this.waiter = null;
      clearTimeout(waiter.timer);
      waiter.resolve(this.queue.splice(0, waiter.count));
    }
  }

  /** Mark the channel failed; a pending read rejects with the error. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  /** Wait for the next `count` replies (pipelined commands), at most timeoutMs in total. */
  read(count: number, timeoutMs: number, step: string): Promise<SmtpReply[]> {
    if (this.queue.length >= count) return Promise.resolve(this.queue.splice(0, count));
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('SmtpChannel: concurrent read'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        const error = new SmtpConnectionError(`timed out after ${timeoutMs} ms waiting for the reply to ${step}`, 'timeout');
        this.fail(error);
        this.socket.destroy();
        reject(error);
      }, timeoutMs);
      this.waiter = { count, resolve, reject, timer, step };
    });
  }

  async readOne(timeoutMs: number, step: string): Promise<SmtpReply> {
    const [reply] = await this.read(1, timeoutMs, step);
    return reply;
  }

  /** Write bytes; resolves when the socket can take more (backpressure), rejects if the channel failed. */
  write(data: string | Buffer, drainTimeoutMs?: number): Promise<void> | void {
    if (this.failure) throw this.failure;
    if (this.socket.write(data) || drainTimeoutMs === undefined) return;
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.failure ?? new SmtpConnectionError('connection closed while sending', 'closed'));
      const timer = setTimeout(() => {
        const error = new SmtpConnectionError(`timed out after ${drainTimeoutMs} ms sending data`, 'timeout');
        this.fail(error);
        this.socket.destroy();
        done(error);
      }, drainTimeoutMs);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /**
   * STARTTLS (RFC 3207): after the server's 220, wrap the socket in TLS. Any byte the server sent after its 220
   * arrived in plaintext and would be read as if protected (command injection), so it is an error.
   */
  upgrade(settings: TlsSettings, host: string | undefined, timeoutMs: number): Promise<void> {
    if (this.queue.length > 0 || this.reader.pending) {
      const error = new SmtpConnectionError('server sent data after its STARTTLS reply (possible injection); connection dropped', 'protocol');
      this.fail(error);
      this.socket.destroy();
      return Promise.reject(error);
    }
    const plain = this.socket;
    this.detach(plain);
    return new Promise((resolve, reject) => {
      const secure = tls.connect({
        ...settings.tlsOptions,
        socket: plain,
        servername: settings.servername ?? (host && net.isIP(host) === 0 ? host : undefined),
        ca: settings.ca,
        rejectUnauthorized: settings.rejectUnauthorized ?? true,
      });
      const timer = setTimeout(() => fail(new SmtpConnectionError(`TLS handshake timed out after ${timeoutMs} ms`, 'timeout')), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        secure.destroy();
        plain.destroy();
        this.fail(error);
        reject(error);
      };
      const onError = (error: Error) => fail(new SmtpConnectionError(`STARTTLS handshake failed: ${error.message}`, 'tls', { cause: error }));
      secure.once('error', onError);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.off('error', onError);
        this.socket = secure;
        this.secure = true;
        this.reader = new ReplyReader(this.limits);
        this.attach(secure);
        resolve();
      });
    });
  }

  close(): void {
    this.fail(new SmtpConnectionError('connection closed', 'aborted'));
    this.socket.destroy();
  }

  /** Half-close after QUIT. */
  end(): void {
    this.fail(new SmtpConnectionError('connection closed', 'aborted'));
    const socket = this.socket;
    socket.end(() => socket.destroy());
  }
}

function describe(target: { host?: string; port?: number; path?: string }): string {
  return target.path ? `unix:${target.path}` : `${target.host ?? 'localhost'}:${target.port ?? 25}`;
}
