/**
 * An SMTP client connection (RFC 5321): connect (plain, implicit TLS or Unix socket), greeting, EHLO with HELO
 * fallback, STARTTLS (required, opportunistic or off), AUTH, then any number of transactions, then QUIT.
 * Reusable by the delivery queue (remote MX, smarthost) and by the pool.
 */
import os from 'node:os';
import { SmtpChannel, SmtpConnectionError, type TlsSettings } from './channel.js';
import { authenticate, chooseMechanism, offeredMechanisms, type ClientAuthMechanism, type SmtpAuth } from './auth.js';
import { checkCommandValue, EnvelopeError, type SmtpEnvelope } from './envelope.js';
import { parseEhlo, type Extensions } from './extensions.js';
import { replyToError, type ReplyLimits, type SmtpReply } from './reply-reader.js';
import { runTransaction, type MessageSource, type SendResult } from './transaction.js';

/** off: never STARTTLS; starttls: required; opportunistic: when offered; implicit: TLS from the first byte (465). */
export type TlsMode = 'off' | 'starttls' | 'opportunistic' | 'implicit';

export interface SmtpTimeouts {
  /** TCP connect and implicit TLS handshake. */
  connect: number;
  /** The 220 greeting (RFC 5321 4.5.3.2.1 suggests 5 minutes; 60 s is kinder to users). */
  greeting: number;
  /** Each reply to EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, RSET. */
  command: number;
  /** Sending one block of message data (socket accepting more). */
  dataBlock: number;
  /** The reply after the final dot / last BDAT (RFC 5321: 10 minutes). */
  data: number;
  /** The reply to QUIT before the socket is closed anyway. */
  quit: number;
}

export const DEFAULT_TIMEOUTS: SmtpTimeouts = { connect: 30_000, greeting: 60_000, command: 120_000, dataBlock: 180_000, data: 600_000, quit: 5_000 };

export interface SmtpClientOptions extends TlsSettings {
  host?: string;
  /** Default 465 with tls 'implicit', else 587 when auth is given, else 25. */
  port?: number;
  /** Unix socket path instead of host/port (Posthorn's local submission socket). */
  path?: string;
  localAddress?: string;
  /** Default: 'implicit' on port 465, else 'opportunistic'. */
  tls?: TlsMode;
  /** EHLO name. Default: this machine's host name when it is a valid domain, else "localhost". */
  name?: string;
  auth?: SmtpAuth;
  /** Allow PLAIN/LOGIN without TLS to a non-loopback host. Default false. */
  allowInsecureAuth?: boolean;
  /** Use PIPELINING when offered (default true). */
  pipelining?: boolean;
  /** Use BDAT (CHUNKING, RFC 3030) when offered instead of DATA (default false). */
  bdat?: boolean;
  /** BDAT chunk size in octets for whole messages (default 1 MiB). */
  bdatChunkSize?: number;
  timeouts?: Partial<SmtpTimeouts>;
  /** Bounds on server replies. */
  replyLimits?: ReplyLimits;
}

export function defaultEhloName(): string {
  const host = os.hostname();
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.?)*$/.test(host) && host.length <= 253 ? host : 'localhost';
}

function isLoopback(options: SmtpClientOptions): boolean {
  if (options.path) return true;
  const host = options.host ?? 'localhost';
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export class SmtpConnection {
  /** Extensions from the last EHLO (empty after a HELO fallback). */
  extensions: Extensions = new Map();
  /** The greeting reply. */
  greeting: SmtpReply | null = null;
  /** The mechanism used to authenticate, if any. */
  authenticatedWith: ClientAuthMechanism | null = null;
  /** Transactions completed on this connection. */
  transactions = 0;
  private busy = false;
  private readonly timeouts: SmtpTimeouts;

  private constructor(
    private readonly channel: SmtpChannel,
    readonly options: SmtpClientOptions,
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  }

  get secure(): boolean {
    return this.channel.secure;
  }

  get closed(): boolean {
    return this.channel.closed;
  }

  /** Open, idle and clean: no reply arrived that nobody asked for (such as "421 idle timeout"). */
  get usable(): boolean {
    return !this.channel.closed && !this.busy && this.channel.unsolicited === 0;
  }

  /** Connect, read the greeting, EHLO, STARTTLS per the mode, AUTH when credentials are given. */
  static async connect(options: SmtpClientOptions): Promise<SmtpConnection> {
    const name = options.name ?? defaultEhloName();
    checkCommandValue(name, 'EHLO name');
    if (name.length === 0 || name.includes(' ')) throw new EnvelopeError(`invalid EHLO name: ${JSON.stringify(name)}`);
    const mode: TlsMode = options.tls ?? (options.port === 465 ? 'implicit' : 'opportunistic');
    const port = options.port ?? (mode === 'implicit' ? 465 : options.auth ? 587 : 25);
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const channel = await SmtpChannel.open(
      { host: options.host, port, path: options.path, localAddress: options.localAddress },
      mode === 'implicit' ? options : null,
      timeouts.connect,
      options.replyLimits ?? {},
    );
    const connection = new SmtpConnection(channel, options);
    try {
      await connection.start(name, mode);
      return connection;
    } catch (error) {
      channel.close();
      throw error;
    }
  }

  private async start(name: string, mode: TlsMode): Promise<void> {
    const greeting = await this.channel.readOne(this.timeouts.greeting, 'greeting');
    this.greeting = greeting;
    if (greeting.code !== 220) throw replyToError(greeting, 'server refused the connection');
    await this.hello(name);
    if (!this.channel.secure && (mode === 'starttls' || mode === 'opportunistic')) {
      if (this.extensions.has('STARTTLS')) {
        const reply = await this.command('STARTTLS');
        if (reply.code !== 220) {
          if (mode === 'starttls') throw replyToError(reply, 'STARTTLS refused');
        } else {
          await this.channel.upgrade(this.options, this.options.host, this.timeouts.connect);
          await this.hello(name);
        }
      } else if (mode === 'starttls') {
        throw new SmtpConnectionError('the server does not offer STARTTLS and TLS is required (tls: "starttls")', 'tls');
      }
    }
    if (this.options.auth) await this.login(this.options.auth);
  }

  private async hello(name: string): Promise<void> {
    const reply = await this.command(`EHLO ${name}`);
    if (reply.code === 250) {
      this.extensions = parseEhlo(reply);
      return;
    }
    if (reply.code === 421) throw replyToError(reply, 'server closing');
    const helo = await this.command(`HELO ${name}`);
    if (helo.code !== 250) throw replyToError(helo, 'HELO refused');
    this.extensions = new Map();
  }

  /** Send one command line and wait for its reply. */
  async command(line: string, timeout = this.timeouts.command): Promise<SmtpReply> {
    checkCommandValue(line, 'command');
    await this.channel.write(line + '\r\n');
    return this.channel.readOne(timeout, line.split(' ')[0]);
  }

  /** AUTH with the given credentials (done by connect() when options.auth is set). */
  async login(auth: SmtpAuth): Promise<void> {
    const mechanism = chooseMechanism(auth, offeredMechanisms(this.extensions.get('AUTH')), this.channel.secure);
    if ((mechanism === 'PLAIN' || mechanism === 'LOGIN') && !this.channel.secure && !isLoopback(this.options) && !this.options.allowInsecureAuth) {
      throw new SmtpConnectionError(`refusing to send a password with AUTH ${mechanism} over an unencrypted connection (set allowInsecureAuth to override)`, 'tls');
    }
    await authenticate(mechanism, auth, (line) => this.authLine(line));
    this.authenticatedWith = mechanism;
  }

  private async authLine(line: string): Promise<SmtpReply> {
    // AUTH lines carry base64 only; never log or echo them.
    await this.channel.write(line + '\r\n');
    return this.channel.readOne(this.timeouts.command, 'AUTH');
  }

  /** One transaction. Throws SmtpTransactionError (with per-recipient results) when the server refuses the message. */
  async send(envelope: SmtpEnvelope, message: MessageSource, options: { size?: number } = {}): Promise<SendResult> {
    if (this.busy) throw new Error('SmtpConnection.send: a transaction is already running on this connection');
    if (this.channel.closed) throw new SmtpConnectionError('connection is closed', 'closed');
    if (this.channel.unsolicited > 0) {
      // A reply nobody asked for would be read as the answer to MAIL FROM: the session is out of step.
      this.channel.close();
      throw new SmtpConnectionError('the server sent an unsolicited reply (e.g. 421 timeout); connection dropped', 'closed');
    }
    this.busy = true;
    try {
      const result = await runTransaction(this.channel, this.extensions, envelope, message, {
        commandTimeout: this.timeouts.command,
        dataTimeout: this.timeouts.data,
        dataBlockTimeout: this.timeouts.dataBlock,
        pipelining: this.options.pipelining ?? true,
        bdat: this.options.bdat ?? false,
        bdatChunkSize: this.options.bdatChunkSize ?? 1024 * 1024,
        sizeHint: options.size,
      });
      this.transactions++;
      return result;
    } finally {
      this.busy = false;
    }
  }

  /** RSET; true when the server answered 250 (the connection is reusable). */
  async reset(): Promise<boolean> {
    try {
      return (await this.command('RSET')).code === 250;
    } catch {
      return false;
    }
  }

  /** NOOP as a liveness check. */
  async noop(): Promise<boolean> {
    try {
      return (await this.command('NOOP')).code === 250;
    } catch {
      return false;
    }
  }

  /** QUIT politely, then close. Never throws. */
  async quit(): Promise<void> {
    if (this.channel.closed) return;
    try {
      await this.command('QUIT', this.timeouts.quit);
      this.channel.end();
    } catch {
      this.channel.close();
    }
  }

  /** Let the process exit while this connection sits idle (pools do this), or hold it open again. */
  unref(): void {
    this.channel.socket.unref();
  }

  ref(): void {
    this.channel.socket.ref();
  }

  /** Drop the connection at once. */
  close(): void {
    this.channel.close();
  }

  get remote(): string {
    const socket = this.channel.socket;
    return this.options.path ?? `${socket.remoteAddress ?? this.options.host}:${socket.remotePort ?? ''}`;
  }
}

