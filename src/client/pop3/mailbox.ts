/**
 * Local destinations for fetched mail, both durable before anything is deleted on the server:
 * - Maildir: tmp/ then fsync, rename into new/, fsync new/. The file name carries a hash of (account, UID), so a
 *   message already delivered is recognised even if the state file missed it (crash between the two).
 * - mbox (mboxrd): "From " separator, ">From " quoting, appended and fsynced; a torn append is truncated away on resume.
 * Line endings become LF (the local convention for both formats).
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fsyncDirSync } from '../../fsutil/dir-sync.js';

/** Streaming CRLF -> LF (a CR not followed by LF is kept). */
export class LfConverter {
  private pendingCr = false;
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let o = 0;
    let start = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] !== 0x0a) out[o++] = 0x0d;
    }
    let cr = chunk.indexOf(0x0d, start);
    while (cr !== -1) {
      o += chunk.copy(out, o, start, cr);
      if (cr + 1 === chunk.length) {
        this.pendingCr = true;
        start = chunk.length;
        break;
      }
      if (chunk[cr + 1] !== 0x0a) out[o++] = 0x0d;
      start = cr + 1;
      cr = chunk.indexOf(0x0d, start);
    }
    if (start < chunk.length) o += chunk.copy(out, o, start);
    return out.subarray(0, o);
  }
  end(): Buffer {
    return this.pendingCr ? Buffer.from([0x0d]) : Buffer.alloc(0);
  }
}

/** A synchronous, fsync-at-the-end sink for one message. */
export interface MessageWriter {
  write(chunk: Buffer): boolean;
  /** Make it durable and visible. */
  commit(): void;
  /** Throw it away (nothing visible remains). */
  abort(): void;
}

export interface LocalMailbox {
  /** True when this message is already stored (Maildir: by file name). */
  has(account: string, uid: string): boolean;
  begin(account: string, uid: string): MessageWriter;
  close(): void;
}

function uidKey(account: string, uid: string): string {
  return createHash('sha256').update(`${account}\0${uid}`).digest('hex').slice(0, 24);
}

export class MaildirTarget implements LocalMailbox {
  private readonly known = new Set<string>();
  private seq = 0;

  constructor(readonly dir: string) {
    for (const sub of ['tmp', 'new', 'cur']) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
    for (const sub of ['new', 'cur']) {
      for (const name of readdirSync(path.join(dir, sub))) {
        const m = /\.F([0-9a-f]{24})\./.exec(name);
        if (m) this.known.add(m[1]);
      }
    }
  }

  has(account: string, uid: string): boolean {
    return this.known.has(uidKey(account, uid));
  }

  begin(account: string, uid: string): MessageWriter {
    const key = uidKey(account, uid);
    const host = os.hostname().replace(/[/:]/g, '_') || 'localhost';
    const name = `${Math.floor(Date.now() / 1000)}.P${process.pid}Q${++this.seq}.F${key}.${host}`;
    const tmp = path.join(this.dir, 'tmp', name);
    const fd = openSync(tmp, 'wx', 0o600);
    const lf = new LfConverter();
    let open = true;
    const finish = () => {
      if (open) closeSync(fd);
      open = false;
    };
    return {
      write: (chunk) => {
        const data = lf.push(chunk);
        if (data.length) writeSync(fd, data);
        return true;
      },
      commit: () => {
        const tail = lf.end();
        if (tail.length) writeSync(fd, tail);
        fsyncSync(fd);
        finish();
        renameSync(tmp, path.join(this.dir, 'new', name));
        fsyncDirSync(path.join(this.dir, 'new'));
        this.known.add(key);
      },
      abort: () => {
        finish();
        try {
          unlinkSync(tmp);
        } catch {
          /* already gone */
        }
      },
    };
  }

  close(): void {}
}

export class MboxTarget implements LocalMailbox {
  private fd: number;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.fd = openSync(file, 'a+', 0o600);
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  /** Cut a torn append off (resume after an interruption). */
  truncate(offset: number): void {
    if (offset < this.size) {
      ftruncateSync(this.fd, offset);
      fsyncSync(this.fd);
    }
  }

  has(): boolean {
    return false;
  }

  begin(_account: string, _uid: string, sender = 'MAILER-DAEMON'): MessageWriter {
    const lf = new LfConverter();
    const start = this.size;
    let atLineStart = true;
    let carry = Buffer.alloc(0);
    let lastByte = 0x0a;
    const fd = this.fd;
    const put = (b: Buffer) => {
      if (b.length) {
        writeSync(fd, b);
        lastByte = b[b.length - 1];
      }
    };
    put(Buffer.from(`From ${sender} ${new Date().toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) /, '$1 $3 $2 ')}\n`));
    lastByte = 0x0a;
    // mboxrd: a line matching /^>*From / gets one more ">". Lines are examined once complete (or long enough).
    const quote = (data: Buffer, final: boolean) => {
      let input = carry.length ? Buffer.concat([carry, data]) : data;
      carry = Buffer.alloc(0);
      let pos = 0;
      const out: Buffer[] = [];
      while (pos < input.length) {
        if (atLineStart) {
          let i = pos;
          while (i < input.length && input[i] === 0x3e) i++;
          const need = i + 5;
          if (need > input.length && !final && input.indexOf(0x0a, pos) === -1) {
            carry = Buffer.from(input.subarray(pos));
            input = input.subarray(0, pos);
            break;
          }
          if (input.subarray(i, i + 5).toString('latin1') === 'From ') out.push(Buffer.from('>'));
        }
        const nl = input.indexOf(0x0a, pos);
        const end = nl === -1 ? input.length : nl + 1;
        out.push(input.subarray(pos, end));
        atLineStart = nl !== -1;
        pos = end;
      }
      put(Buffer.concat(out));
    };
    return {
      write: (chunk) => {
        quote(lf.push(chunk), false);
        return true;
      },
      commit: () => {
        quote(lf.end(), true);
        if (carry.length) put(carry);
        put(Buffer.from(lastByte === 0x0a ? '\n' : '\n\n'));
        fsyncSync(fd);
      },
      abort: () => {
        ftruncateSync(fd, start);
      },
    };
  }

  close(): void {
    closeSync(this.fd);
  }
}

export function maildirExists(dir: string): boolean {
  return existsSync(path.join(dir, 'new'));
}
