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
      if (this.onData) this.onData(chunk);
      else this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
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
      /** The last (up to 4) octets of the previous chunk, for a terminator split across chunks. */
      let tail: Buffer = Buffer.alloc(0);
      /** The first octet of the next chunk starts a response (status check pending). */
      let checkNext = true;
      const next = (): string => `RETR ${++sent}\r\n`;
      // Streaming scan: nothing is accumulated, so a 100 MB message costs no more memory than a 10 KB one.
      reader.onData = (chunk) => {
        result.bytes += chunk.length;
        let out = '';
        let pos = 0;
        const found = (end: number): boolean => {
          result.messages++;
          pos = end;
          if (pos < chunk.length) {
            if (chunk[pos] !== 0x2b) result.errors++;
          } else checkNext = true;
          if (sent < count) out += next();
          return result.messages === count;
        };
        if (checkNext && chunk.length > 0) {
          if (chunk[0] !== 0x2b) result.errors++;
          checkNext = false;
        }
        let done = false;
        if (tail.length) {
          const joint = Buffer.concat([tail, chunk.subarray(0, 4)]);
          const at = joint.indexOf(TERMINATOR);
          if (at >= 0) done = found(at + TERMINATOR.length - tail.length);
        }
        while (!done) {
          const at = chunk.indexOf(TERMINATOR, pos);
          if (at < 0) break;
          done = found(at + TERMINATOR.length);
        }
        tail = Buffer.from(chunk.subarray(Math.max(pos, chunk.length - 4)));
        if (out) socket.write(out);
        if (done) {
          reader.onData = null;
          resolve();
        }
        return chunk.length;
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
