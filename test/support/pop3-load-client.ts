/**
 * A fast raw-socket POP3 load client for the benchmark: login, STAT, LIST, UIDL, then RETR of every message with a
 * fixed number of commands in flight. It parses only what it must (status and the CRLF.CRLF terminator; byte-stuffing
 * guarantees that sequence appears nowhere else) and batches its commands into one write per batch of answers.
 */
import { connect, type Socket } from 'node:net';

export interface SessionResult {
  messages: number;
  /** Octets of RETR responses (status lines, stuffed content and terminators). */
  bytes: number;
  errors: number;
}

const TERMINATOR = Buffer.from('\r\n.\r\n');

class Reader {
  private buffer: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  /** Called with the buffer on each arrival while the RETR phase runs; returns the bytes consumed. */
  onData: ((buffer: Buffer) => number) | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      if (this.onData) {
        const used = this.onData(this.buffer);
        this.buffer = used >= this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(used);
      }
      this.wake?.();
    });
    const fail = (error: Error) => {
      this.failure = error;
      this.wake?.();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  private async until(find: () => number): Promise<Buffer> {
    for (;;) {
      const end = find();
      if (end >= 0) {
        const out = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end);
        return out;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  async line(): Promise<string> {
    const raw = await this.until(() => {
      const at = this.buffer.indexOf('\r\n');
      return at < 0 ? -1 : at + 2;
    });
    const text = raw.toString('latin1', 0, raw.length - 2);
    if (!text.startsWith('+OK')) throw new Error(`unexpected response: ${text}`);
    return text;
  }

  async multi(): Promise<Buffer> {
    const raw = await this.until(() => {
      const at = this.buffer.indexOf(TERMINATOR);
      return at < 0 ? -1 : at + TERMINATOR.length;
    });
    if (raw[0] !== 0x2b) throw new Error(`unexpected response: ${raw.toString('latin1', 0, 60)}`);
    return raw;
  }

  pending(): Buffer {
    const out = this.buffer;
    this.buffer = Buffer.alloc(0);
    return out;
  }
}

/** One POP3 session: login, STAT, LIST, UIDL, RETR 1..count with `depth` commands in flight, QUIT. */
export async function loadSession(port: number, user: string, password: string, depth: number): Promise<SessionResult> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  const reader = new Reader(socket);
  await reader.line();
  socket.write(`USER ${user}\r\n`);
  await reader.line();
  socket.write(`PASS ${password}\r\n`);
  await reader.line();
  socket.write('STAT\r\n');
  const stat = await reader.line();
  const count = Number(stat.split(' ')[1]);
  socket.write('LIST\r\n');
  const list = await reader.multi();
  socket.write('UIDL\r\n');
  await reader.multi();
  if (list.toString('latin1').split('\r\n').length !== count + 3) throw new Error('LIST does not match STAT');
  const result: SessionResult = { messages: 0, bytes: 0, errors: 0 };
  if (count > 0) {
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let scanFrom = 0;
      const next = (): string => `RETR ${++sent}\r\n`;
      reader.onData = (buffer) => {
        let start = 0;
        let out = '';
        for (;;) {
          const at = buffer.indexOf(TERMINATOR, Math.max(start, scanFrom));
          if (at < 0) {
            scanFrom = Math.max(start, buffer.length - 4) - start;
            break;
          }
          if (buffer[start] !== 0x2b) result.errors++;
          const end = at + TERMINATOR.length;
          result.bytes += end - start;
          result.messages++;
          start = end;
          scanFrom = 0;
          if (sent < count) out += next();
          if (result.messages === count) {
            reader.onData = null;
            resolve();
            break;
          }
        }
        if (out) socket.write(out);
        return start;
      };
      socket.once('close', () => reject(new Error('closed during RETR')));
      let first = '';
      while (sent < Math.min(depth, count)) first += next();
      socket.write(first);
      const leftover = reader.pending();
      if (leftover.length) reader.onData(leftover);
    });
  }
  socket.write('QUIT\r\n');
  await reader.line().catch(() => undefined);
  socket.destroy();
  return result;
}
