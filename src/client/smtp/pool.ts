/**
 * A pool of SMTP connections to one server: at most maxConnections open at once, each reused for up to
 * maxMessagesPerConnection transactions, closed after idleTimeout without work. Callers beyond the limit wait in
 * line (at most maxWaiting of them).
 */
import { SmtpConnection, type SmtpClientOptions } from './connection.js';
import { EnvelopeError, type SmtpEnvelope } from './envelope.js';
import { SmtpTransactionError, type MessageSource, type SendResult } from './transaction.js';

export interface SmtpPoolOptions extends SmtpClientOptions {
  /** Connections open at once (default 5). */
  maxConnections?: number;
  /** Transactions per connection before it is replaced (default 100). */
  maxMessagesPerConnection?: number;
  /** Close a connection idle this long, ms (default 30 s). */
  idleTimeout?: number;
  /** Sends allowed to wait for a free connection (default 10,000); beyond it send() rejects at once. */
  maxWaiting?: number;
}

interface Idle {
  connection: SmtpConnection;
  timer: NodeJS.Timeout;
}

export class SmtpPoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmtpPoolError';
  }
}

export class SmtpPool {
  private readonly idle: Idle[] = [];
  private readonly waiting: Array<{ resolve: (c: SmtpConnection) => void; reject: (e: Error) => void }> = [];
  private open = 0;
  private closed = false;
  private readonly max: number;
  private readonly maxMessages: number;
  private readonly idleTimeout: number;
  private readonly maxWaiting: number;

  constructor(readonly options: SmtpPoolOptions) {
    this.max = options.maxConnections ?? 5;
    this.maxMessages = options.maxMessagesPerConnection ?? 100;
    this.idleTimeout = options.idleTimeout ?? 30_000;
    this.maxWaiting = options.maxWaiting ?? 10_000;
  }

  /** Connections currently open (busy or idle). */
  get size(): number {
    return this.open;
  }

  async send(envelope: SmtpEnvelope, message: MessageSource, options: { size?: number } = {}): Promise<SendResult> {
    const connection = await this.acquire();
    try {
      const result = await connection.send(envelope, message, options);
      this.release(connection, true);
      return result;
    } catch (error) {
      // A refused transaction leaves the session usable; anything else (I/O, timeout, protocol) does not.
      this.release(connection, error instanceof SmtpTransactionError || error instanceof EnvelopeError);
      throw error;
    }
  }

  private acquire(): Promise<SmtpConnection> {
    if (this.closed) return Promise.reject(new SmtpPoolError('pool is closed'));
    while (this.idle.length) {
      const { connection, timer } = this.idle.pop()!;
      clearTimeout(timer);
      if (connection.usable) {
        connection.ref();
        return Promise.resolve(connection);
      }
      connection.close();
      this.open--;
    }
    if (this.open < this.max) return this.create();
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(new SmtpPoolError(`more than ${this.maxWaiting} sends waiting for a connection`));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private async create(): Promise<SmtpConnection> {
    this.open++;
    try {
      return await SmtpConnection.connect(this.options);
    } catch (error) {
      this.open--;
      throw error;
    }
  }

  private release(connection: SmtpConnection, reusable: boolean): void {
    if (!reusable || connection.closed || connection.transactions >= this.maxMessages || this.closed) {
      this.open--;
      void connection.quit();
      const next = this.waiting.shift();
      if (next) this.create().then(next.resolve, next.reject);
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      connection.ref();
      next.resolve(connection);
      return;
    }
    const timer = setTimeout(() => {
      const i = this.idle.findIndex((x) => x.connection === connection);
      if (i !== -1) {
        this.idle.splice(i, 1);
        this.open--;
        void connection.quit();
      }
    }, this.idleTimeout);
    timer.unref();
    connection.unref();
    this.idle.push({ connection, timer });
  }

  /** QUIT every idle connection; busy ones close when their transaction ends. Waiting sends are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new SmtpPoolError('pool closed'));
    const idle = this.idle.splice(0);
    this.open -= idle.length;
    await Promise.all(
      idle.map(({ connection, timer }) => {
        clearTimeout(timer);
        return connection.quit();
      }),
    );
  }
}
