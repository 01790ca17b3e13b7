/**
 * POP3 client (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034): plain, STLS or implicit TLS; USER/PASS,
 * APOP and SASL PLAIN/LOGIN/CRAM-MD5; STAT/LIST/UIDL/RETR/TOP/DELE/RSET/NOOP/QUIT. Multi-line responses are
 * unstuffed and streamed; commands are pipelined when the server says PIPELINING. Every wait has a timeout.
 */
import { createHash, createHmac } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { Writable } from 'node:stream';
import { Pop3ProtocolError, Pop3Reader, type DataSink, type StatusLine } from './reader.js';

export type Pop3TlsMode = 'off' | 'stls' | 'opportunistic' | 'implicit';
export type Pop3AuthMethod = 'USER' | 'APOP' | 'PLAIN' | 'LOGIN' | 'CRAM-MD5';

export interface Pop3ClientOptions {
  host?: string;
  /** Default 995 with implicit TLS, else 110. */
  port?: number;
  /** Default: implicit on port 995, else 'opportunistic' (STLS when offered). */
  tls?: Pop3TlsMode;
  servername?: string;
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  /** ms: connect + TLS handshake (default 30 s), each command (60 s), a whole RETR with no progress (120 s). */
  timeouts?: { connect?: number; command?: number; data?: number };
  /** Longest status line (default 4096). */
  maxLineLength?: number;
  /** Largest LIST/UIDL/CAPA response (default 16 MiB) and largest message (default 256 MiB). */
  maxListBytes?: number;
  maxMessageBytes?: number;
}

export class Pop3ClientError extends Error {
  constructor(
    message: string,
    /** The server's -ERR text (with its [RESP-CODE]) when the server refused. */
    readonly response: string | null = null,
    readonly kind: 'refused' | 'connection' | 'timeout' | 'protocol' | 'tls' = 'refused',
  ) {
    super(message);
    this.name = 'Pop3ClientError';
  }
  /** RFC 2449 response code, e.g. "IN-USE", "AUTH", "SYS/TEMP". */
  get responseCode(): string | null {
    const m = /^\[([A-Z0-9/-]{1,40})\]/.exec(this.response ?? '');
    return m ? m[1] : null;
  }
}

export interface ListEntry {
  n: number;
  size: number;
}
export interface UidEntry {
  n: number;
  uid: string;
}

class Collector implements DataSink {
  chunks: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export class Pop3Client {
  private socket: net.Socket;
  private reader: Pop3Reader;
  private failure: Error | null = null;
  /** Capabilities from the last CAPA (upper-case keyword -> arguments). */
  capabilities = new Map<string, string>();
  /** The APOP timestamp from the greeting, if any. */
  timestamp: string | null = null;
  greeting = '';
  private readonly commandTimeout: number;
  private readonly dataTimeout: number;
  private readonly maxList: number;
  private readonly maxMessage: number;

  private constructor(socket: net.Socket, private readonly options: Pop3ClientOptions, public secure: boolean) {
    this.socket = socket;
    this.reader = new Pop3Reader(options.maxLineLength ?? 4096);
    this.commandTimeout = options.timeouts?.command ?? 60_000;
    this.dataTimeout = options.timeouts?.data ?? 120_000;
    this.maxList = options.maxListBytes ?? 16 * 1024 * 1024;
    this.maxMessage = options.maxMessageBytes ?? 256 * 1024 * 1024;
    this.attach();
  }

  static async connect(options: Pop3ClientOptions): Promise<Pop3Client> {
    const mode: Pop3TlsMode = options.tls ?? (options.port === 995 ? 'implicit' : 'opportunistic');
    const port = options.port ?? (mode === 'implicit' ? 995 : 110);
    const host = options.host ?? 'localhost';
    const timeout = options.timeouts?.connect ?? 30_000;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s =
        mode === 'implicit'
          ? tls.connect({ host, port, servername: options.servername ?? (net.isIP(host) ? undefined : host), ca: options.ca, rejectUnauthorized: options.rejectUnauthorized ?? true })
          : net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Pop3ClientError(`connection to ${host}:${port} timed out`, null, 'timeout'));
      }, timeout);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new Pop3ClientError(`cannot connect to ${host}:${port}: ${e.message}`, null, mode === 'implicit' && /cert|SSL|TLS|self.signed/i.test(e.message) ? 'tls' : 'connection'));
      });
      s.once(mode === 'implicit' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
    });
    const client = new Pop3Client(socket, options, mode === 'implicit');
    try {
      const greeting = await client.status(false, 'greeting');
      if (!greeting.ok) throw new Pop3ClientError(`server refused the connection: -ERR ${greeting.text}`, greeting.text);
      client.greeting = greeting.text;
      const ts = /<[^<>\s]{1,250}@[^<>\s]{1,250}>/.exec(greeting.text);
      client.timestamp = ts ? ts[0] : null;
      await client.capa();
      if (!client.secure && (mode === 'stls' || mode === 'opportunistic')) {
        if (client.capabilities.has('STLS')) await client.stls(host);
        else if (mode === 'stls') throw new Pop3ClientError('the server does not offer STLS and TLS is required', null, 'tls');
      }
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  private readonly onData = (chunk: Buffer) => {
    this.idleTimer?.refresh();
    try {
      this.reader.push(chunk);
    } catch (error) {
      this.fail(error instanceof Pop3ProtocolError ? new Pop3ClientError(error.message, null, 'protocol') : (error as Error));
      this.socket.destroy();
    }
  };
  private readonly onClose = () => this.fail(new Pop3ClientError('connection closed by the server', null, 'connection'));
  private readonly onError = (e: Error) => this.fail(new Pop3ClientError(`connection error: ${e.message}`, null, 'connection'));

  private attach(): void {
    this.socket.on('data', this.onData);
    this.socket.on('close', this.onClose);
    this.socket.on('error', this.onError);
  }

  private detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.reader.failAll(error);
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Queue an expectation for the next response, with a timeout. */
  private status(multiline: boolean, what: string, sink?: DataSink, maxBytes = this.maxList, timeout = this.commandTimeout): Promise<StatusLine> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.arm(timeout, what);
      this.reader.expect({
        multiline,
        sink,
        maxBytes,
        resolve: (s) => {
          this.settle();
          resolve(s);
        },
        reject: (e) => {
          this.settle();
          reject(e);
        },
      });
    });
  }

  /*
   * One inactivity timer for all outstanding responses (pipelined commands included): restarted whenever bytes
   * arrive, so a long RETR only times out when it stalls; its length is the longest timeout asked for.
   */
  private outstanding = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleMs = 0;
  private idleWhat = '';

  private arm(ms: number, what: string): void {
    this.outstanding++;
    if (this.idleTimer && ms <= this.idleMs) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleMs = ms;
    this.idleWhat = what;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      this.fail(new Pop3ClientError(`timed out after ${ms} ms without data waiting for the response to ${this.idleWhat}`, null, 'timeout'));
      this.socket.destroy();
    }, ms);
  }

  private settle(): void {
    this.outstanding--;
    if (this.outstanding <= 0 && this.idleTimer) {
      this.outstanding = 0;
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
      this.idleMs = 0;
    }
  }

  private write(line: string): void {
    if (this.failure) throw this.failure;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c < 0x20 || c === 0x7f) throw new Pop3ClientError('POP3 command argument contains a control character (CR, LF, NUL...)', null, 'protocol');
    }
    this.socket.write(line + '\r\n');
  }

  /** Send a command, expect +OK; throws Pop3ClientError naming the server's -ERR text. */
  async command(line: string, what = line.split(' ')[0]): Promise<string> {
    this.write(line);
    const s = await this.status(false, what);
    if (!s.ok) throw new Pop3ClientError(`${what} refused: -ERR ${s.text}`, s.text);
    return s.text;
  }

  private async multiline(line: string, what: string): Promise<string[]> {
    this.write(line);
    const sink = new Collector();
    const s = await this.status(true, what, sink);
    if (!s.ok) throw new Pop3ClientError(`${what} refused: -ERR ${s.text}`, s.text);
    return sink.text().split(/\r?\n/).filter((l) => l.length > 0);
  }

  /** CAPA; an -ERR (old servers) leaves the capabilities empty. */
  async capa(): Promise<Map<string, string>> {
    this.write('CAPA');
    const sink = new Collector();
    const s = await this.status(true, 'CAPA', sink);
    this.capabilities = new Map();
    if (s.kind === '+OK') {
      for (const line of sink.text().split(/\r?\n/)) {
        if (!line) continue;
        const sp = line.indexOf(' ');
        this.capabilities.set((sp === -1 ? line : line.slice(0, sp)).toUpperCase(), sp === -1 ? '' : line.slice(sp + 1));
      }
    }
    return this.capabilities;
  }

  get pipelining(): boolean {
    return this.capabilities.has('PIPELINING');
  }

  async stls(host?: string): Promise<void> {
    await this.command('STLS');
    if (this.reader.pending) throw new Pop3ClientError('server sent data after its STLS reply (possible injection)', null, 'protocol');
    const plain = this.socket;
    this.detach();
    this.socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, servername: this.options.servername ?? (host && !net.isIP(host) ? host : undefined), ca: this.options.ca, rejectUnauthorized: this.options.rejectUnauthorized ?? true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Pop3ClientError('TLS handshake timed out', null, 'timeout'));
      }, this.options.timeouts?.connect ?? 30_000);
      s.once('error', (e) => {
        clearTimeout(timer);
        plain.destroy();
        reject(new Pop3ClientError(`STLS handshake failed: ${e.message}`, null, 'tls'));
      });
      s.once('secureConnect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
    });
    this.secure = true;
    this.reader = new Pop3Reader(this.options.maxLineLength ?? 4096);
    this.attach();
    await this.capa();
  }

  /**
   * Log in. Default: SASL PLAIN when offered, else USER/PASS. APOP and CRAM-MD5 only when asked for (servers can
   * offer them only to accounts that keep a legacy secret, so offering is no promise they work for this one).
   */
  async login(user: string, password: string, method?: Pop3AuthMethod): Promise<void> {
    const sasl = (this.capabilities.get('SASL') ?? '').toUpperCase().split(' ').filter(Boolean);
    const chosen: Pop3AuthMethod = method ?? (sasl.includes('PLAIN') ? 'PLAIN' : 'USER');
    const fail = (s: StatusLine) => {
      throw new Pop3ClientError(`login (${chosen}) failed: -ERR ${s.text}`, s.text);
    };
    const send = async (line: string) => {
      this.write(line);
      return this.status(false, 'AUTH');
    };
    const b64 = (t: string) => Buffer.from(t, 'utf8').toString('base64');
    if (chosen === 'USER') {
      if (this.pipelining) {
        this.write(`USER ${user}`);
        this.write(`PASS ${password}`);
        const [u, p] = await Promise.all([this.status(false, 'USER'), this.status(false, 'PASS')]);
        if (!u.ok) fail(u);
        if (!p.ok) fail(p);
      } else {
        const u = await send(`USER ${user}`);
        if (!u.ok) fail(u);
        const p = await send(`PASS ${password}`);
        if (!p.ok) fail(p);
      }
      return;
    }
    if (chosen === 'APOP') {
      if (!this.timestamp) throw new Pop3ClientError('APOP requested but the server greeting has no timestamp (no APOP support)');
      const digest = createHash('md5').update(this.timestamp + password, 'utf8').digest('hex');
      const s = await send(`APOP ${user} ${digest}`);
      if (!s.ok) fail(s);
      return;
    }
    let s: StatusLine;
    if (chosen === 'PLAIN') s = await send(`AUTH PLAIN ${b64(`\0${user}\0${password}`)}`);
    else if (chosen === 'LOGIN') {
      s = await send('AUTH LOGIN');
      if (s.kind === '+') s = await send(b64(user));
      if (s.kind === '+') s = await send(b64(password));
    } else {
      s = await send('AUTH CRAM-MD5');
      if (s.kind === '+') {
        const challenge = Buffer.from(s.text, 'base64').toString('utf8');
        s = await send(b64(`${user} ${createHmac('md5', password).update(challenge).digest('hex')}`));
      }
    }
    if (s.kind === '+') s = await send('*');
    if (s.kind !== '+OK') fail(s);
  }

  async stat(): Promise<{ count: number; size: number }> {
    const text = await this.command('STAT');
    const [count, size] = text.split(' ').map(Number);
    if (!Number.isInteger(count) || !Number.isInteger(size)) throw new Pop3ClientError(`malformed STAT response: ${text.slice(0, 80)}`, null, 'protocol');
    return { count, size };
  }

  async list(): Promise<ListEntry[]> {
    return (await this.multiline('LIST', 'LIST')).map((line) => {
      const [n, size] = line.split(' ').map(Number);
      if (!Number.isInteger(n) || !Number.isInteger(size)) throw new Pop3ClientError(`malformed LIST line: ${line.slice(0, 80)}`, null, 'protocol');
      return { n, size };
    });
  }

  async uidl(): Promise<UidEntry[]> {
    return (await this.multiline('UIDL', 'UIDL')).map((line) => {
      const sp = line.indexOf(' ');
      const n = Number(line.slice(0, sp));
      const uid = line.slice(sp + 1);
      // RFC 1939: 1 to 70 characters in 0x21..0x7E.
      if (sp <= 0 || !Number.isInteger(n) || !/^[\x21-\x7e]{1,70}$/.test(uid)) throw new Pop3ClientError(`malformed UIDL line: ${line.slice(0, 80)}`, null, 'protocol');
      return { n, uid };
    });
  }

  /** RETR message n, unstuffed, streamed into `out` (backpressure respected). Resolves with the byte count. */
  async retr(n: number, out: Writable | DataSink): Promise<number> {
    return this.fetchData(`RETR ${n}`, 'RETR', out);
  }

  /** TOP n lines: the header and the first `lines` body lines. */
  async top(n: number, lines: number, out: Writable | DataSink): Promise<number> {
    return this.fetchData(`TOP ${n} ${lines}`, 'TOP', out);
  }

  /** RETR into memory. */
  async retrBuffer(n: number): Promise<Buffer> {
    const c = new Collector();
    await this.retr(n, c);
    return Buffer.concat(c.chunks);
  }

  private async fetchData(line: string, what: string, out: Writable | DataSink): Promise<number> {
    this.write(line);
    let bytes = 0;
    const sink: DataSink = {
      write: (chunk) => {
        bytes += chunk.length;
        return out.write(chunk);
      },
    };
    const socket = this.socket;
    this.reader.onBackpressure = () => {
      socket.pause();
      if ('once' in out && typeof out.once === 'function') out.once('drain', () => socket.resume());
      else socket.resume();
    };
    try {
      const s = await this.status(true, what, sink, this.maxMessage, this.dataTimeout);
      if (!s.ok) throw new Pop3ClientError(`${what} refused: -ERR ${s.text}`, s.text);
      return bytes;
    } finally {
      this.reader.onBackpressure = () => {};
      socket.resume();
    }
  }

  async dele(n: number): Promise<void> {
    await this.command(`DELE ${n}`);
  }

  /** DELE several messages, pipelined when the server allows it. */
  async deleMany(numbers: number[]): Promise<void> {
    if (!this.pipelining) {
      for (const n of numbers) await this.dele(n);
      return;
    }
    const waits = numbers.map((n) => {
      this.write(`DELE ${n}`);
      return this.status(false, 'DELE');
    });
    const replies = await Promise.all(waits);
    const bad = replies.find((s) => !s.ok);
    if (bad) throw new Pop3ClientError(`DELE refused: -ERR ${bad.text}`, bad.text);
  }

  async rset(): Promise<void> {
    await this.command('RSET');
  }

  async noop(): Promise<void> {
    await this.command('NOOP');
  }

  /** QUIT: enters the UPDATE state, where the server removes the messages marked deleted. Throws if it could not. */
  async quit(): Promise<string> {
    const text = await this.command('QUIT');
    this.fail(new Pop3ClientError('connection closed', null, 'connection'));
    this.socket.end();
    return text;
  }

  close(): void {
    this.fail(new Pop3ClientError('connection closed', null, 'connection'));
    this.socket.destroy();
  }
}
