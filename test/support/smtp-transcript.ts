/**
 * SMTP transcript helper for tests: a raw client over a real socket that sends exact bytes and reads whole replies
 * (multi-line ones joined), so a test reads like an RFC 5321 transcript:
 *
 *   const s = await SmtpTranscript.connect(port);
 *   await s.expect(220);
 *   await s.cmd('EHLO client.example', 250);
 *   await s.cmd('MAIL FROM:<a@example.org>', '250 2.1.0');
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import assert from 'node:assert/strict';

export interface SmtpReply {
  code: number;
  /** Text of each line after "NNN-" / "NNN ". */
  lines: string[];
  /** The reply as received, lines joined with "\n", without CRLF: "250-a\n250 b". */
  raw: string;
}

export type Expectation = number | string | RegExp;

export class SmtpTranscript {
  private buffer = '';
  private waiting: (() => void) | null = null;
  private ended = false;
  /** Every reply line received, for debugging a failing test. */
  readonly log: string[] = [];

  private constructor(public socket: Socket) {
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  static connect(port: number, options: { host?: string; tls?: boolean; path?: string } = {}): Promise<SmtpTranscript> {
    return new Promise((resolve, reject) => {
      const host = options.host ?? '127.0.0.1';
      const socket: Socket = options.path
        ? netConnect(options.path)
        : options.tls
          ? tlsConnect({ port, host, rejectUnauthorized: false })
          : netConnect(port, host);
      const ready = options.tls ? 'secureConnect' : 'connect';
      socket.once(ready, () => resolve(new SmtpTranscript(socket)));
      socket.once('error', reject);
    });
  }

  /** Write bytes exactly as given. */
  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Write a command line (CRLF added). */
  line(command: string): void {
    this.socket.write(command + '\r\n');
  }

  /** Read the next complete reply; rejects if the connection closes first. */
  async reply(timeoutMs = 5000): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.take();
      if (parsed) return parsed;
      if (this.ended) throw new Error(`connection closed while waiting for a reply; got so far: ${JSON.stringify(this.buffer)}; log: ${this.log.join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; buffered: ${JSON.stringify(this.buffer)}; log: ${this.log.join(' | ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private take(): SmtpReply | null {
    const lines: string[] = [];
    let pos = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\r\n', pos);
      if (nl < 0) return null;
      const line = this.buffer.slice(pos, nl);
      pos = nl + 2;
      lines.push(line);
      if (line.length < 4 || line[3] !== '-') break;
    }
    this.buffer = this.buffer.slice(pos);
    this.log.push(...lines);
    return { code: Number(lines[0].slice(0, 3)), lines: lines.map((l) => l.slice(4)), raw: lines.join('\n') };
  }

  /** Read a reply and check it: a code (250), a prefix of the last line ("550 5.1.1"), or a pattern on the raw text. */
  async expect(expected: Expectation, timeoutMs?: number): Promise<SmtpReply> {
    const reply = await this.reply(timeoutMs);
    check(reply, expected);
    return reply;
  }

  /** Send a command line and check its reply. */
  async cmd(command: string, expected: Expectation): Promise<SmtpReply> {
    this.line(command);
    return this.expect(expected);
  }

  /** Wait until the server closes the connection (after reading anything left). */
  async closed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Unread text received so far (replies not yet taken). */
  get pending(): string {
    return this.buffer;
  }

  /** Upgrade to TLS after a 220 reply to STARTTLS. */
  async startTls(): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    const secure: TLSSocket = await new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /** The common opening: greeting, EHLO. Returns the EHLO reply. */
  async hello(name = 'client.example'): Promise<SmtpReply> {
    await this.expect(220);
    return this.cmd(`EHLO ${name}`, 250);
  }

  end(): void {
    this.socket.destroy();
  }
}

export function check(reply: SmtpReply, expected: Expectation): void {
  const last = `${reply.code} ${reply.lines[reply.lines.length - 1]}`;
  if (typeof expected === 'number') assert.equal(reply.code, expected, `expected ${expected}, got: ${reply.raw}`);
  else if (typeof expected === 'string') assert.ok(last.startsWith(expected), `expected "${expected}...", got: ${reply.raw}`);
  else assert.match(reply.raw, expected);
}
