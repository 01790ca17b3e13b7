/**
 * A POP3 transcript client for tests: send a line, expect a response, read multi-line bodies byte-exactly, upgrade
 * with STLS. Talks to a real socket; every wait is bounded so a broken server fails the test instead of hanging it.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import assert from 'node:assert/strict';

const WAIT_MS = 5000;

export class Pop3Transcript {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  /** Every octet received, for tests that look at the raw stream. */
  received = 0;

  private constructor(private socket: Socket) {
    this.attach(socket);
  }

  static async connect(port: number, options: { tls?: boolean; host?: string } = {}): Promise<Pop3Transcript> {
    const host = options.host ?? '127.0.0.1';
    const socket = options.tls ? tlsConnect({ host, port, rejectUnauthorized: false }) : netConnect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new Pop3Transcript(socket);
  }

  /** Connect and read the greeting (returned). */
  static async open(port: number, options: { tls?: boolean } = {}): Promise<{ client: Pop3Transcript; greeting: string }> {
    const client = await Pop3Transcript.connect(port, options);
    const greeting = await client.line();
    assert.match(greeting, /^\+OK /);
    return { client, greeting };
  }

  send(line: string): void {
    this.socket.write(line + '\r\n');
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next line, without CRLF, decoded as latin1 (bytes preserved). */
  async line(): Promise<string> {
    const bytes = await this.readUntil('\r\n');
    return bytes.subarray(0, bytes.length - 2).toString('latin1');
  }

  /** Next line must match; returns it. */
  async expect(pattern: RegExp | string): Promise<string> {
    const got = await this.line();
    if (typeof pattern === 'string') assert.equal(got, pattern);
    else assert.match(got, pattern);
    return got;
  }

  /** Send a command and check the (first) response line. */
  async command(line: string, pattern: RegExp | string): Promise<string> {
    this.send(line);
    return this.expect(pattern);
  }

  /** Read a multi-line body after its +OK line: the lines up to "." with byte-stuffing removed. */
  async body(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l === '.') return lines;
      lines.push(l.startsWith('.') ? l.slice(1) : l);
    }
  }

  /** Read a multi-line body and return it as the original octets (unstuffed, CRLF line ends), and the stuffed octets on the wire. */
  async bodyBytes(): Promise<{ content: Buffer; wire: Buffer }> {
    const wire: Buffer[] = [];
    const content: Buffer[] = [];
    for (;;) {
      const raw = await this.readUntil('\r\n');
      if (raw.length === 3 && raw[0] === 0x2e) return { content: Buffer.concat(content), wire: Buffer.concat(wire) };
      wire.push(raw);
      content.push(raw[0] === 0x2e ? raw.subarray(1) : raw);
    }
  }

  /** Send a command expecting "+OK" and a multi-line body; returns the body lines. */
  async multi(line: string, pattern: RegExp | string = /^\+OK/): Promise<string[]> {
    await this.command(line, pattern);
    return this.body();
  }

  /** Resolves when the server has closed the connection; fails if it has not within the wait. */
  async closed(waitMs = WAIT_MS): Promise<void> {
    await this.until(() => this.ended, waitMs, 'connection close');
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Whatever has arrived and not been read. */
  get unread(): Buffer {
    return this.buffer;
  }

  /** Upgrade after "+OK" to STLS. Anything still unread is an error (the server must not have sent more). */
  async startTls(): Promise<void> {
    assert.equal(this.buffer.length, 0, 'data after STLS +OK');
    this.detach(this.socket);
    const secure = tlsConnect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Close abruptly (as a dropped connection) and wait for the close to happen locally. */
  async drop(): Promise<void> {
    const done = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.destroy();
    await done;
  }

  async readUntil(delimiter: string): Promise<Buffer> {
    let at = -1;
    await this.until(() => (at = this.buffer.indexOf(delimiter)) >= 0, WAIT_MS, `"${JSON.stringify(delimiter)}"`);
    const out = this.buffer.subarray(0, at + delimiter.length);
    this.buffer = this.buffer.subarray(at + delimiter.length);
    return out;
  }

  async readBytes(n: number): Promise<Buffer> {
    await this.until(() => this.buffer.length >= n, WAIT_MS, `${n} octets`);
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  private async until(condition: () => boolean, waitMs: number, what: string): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!condition()) {
      if (this.ended && !condition()) {
        if (what === 'connection close') return;
        throw new Error(`connection closed while waiting for ${what}; unread: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; unread: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  private readonly onData = (chunk: Buffer) => {
    this.received += chunk.length;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    this.waiter?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.waiter?.();
  };

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', () => {});
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
  }
}
