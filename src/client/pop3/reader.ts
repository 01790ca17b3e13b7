/**
 * Incremental POP3 response parser (RFC 1939 3): status lines ("+OK ...", "-ERR ...", "+ challenge") and
 * dot-terminated multi-line blocks, byte-unstuffed and streamed to a sink as they arrive, never buffered whole.
 * Bounded: a status line longer than maxLineLength and a block larger than its byte limit are protocol errors.
 */
export class Pop3ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pop3ProtocolError';
  }
}

/** Where a multi-line block goes; write() returning false asks the reader to pause the socket until 'drain'. */
export interface DataSink {
  write(chunk: Buffer): boolean;
}

export interface StatusLine {
  ok: boolean;
  /** '+' for a SASL continuation. */
  kind: '+OK' | '-ERR' | '+';
  text: string;
}

export interface Expectation {
  multiline: boolean;
  sink?: DataSink;
  maxBytes: number;
  resolve: (status: StatusLine, bytes: number) => void;
  reject: (error: Error) => void;
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

export class Pop3Reader {
  private readonly expectations: Expectation[] = [];
  private inData = false;
  private status: StatusLine | null = null;
  private atLineStart = true;
  private bytes = 0;
  private carry: Buffer | null = null;
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Called when a sink returned false (backpressure). */
  onBackpressure: () => void = () => {};

  constructor(private readonly maxLineLength: number) {}

  expect(expectation: Expectation): void {
    this.expectations.push(expectation);
  }

  get waiting(): number {
    return this.expectations.length;
  }

  /** True when bytes are buffered that belong to no complete response. */
  get pending(): boolean {
    return this.partialLength > 0 || this.carry !== null || this.inData;
  }

  failAll(error: Error): void {
    for (const e of this.expectations.splice(0)) e.reject(error);
  }

  push(input: Buffer): void {
    let chunk = input;
    if (this.carry) {
      chunk = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let pos = 0;
    while (pos < chunk.length) {
      const current = this.expectations[0];
      if (!current) throw new Pop3ProtocolError('server sent data nobody asked for');
      pos = this.inData ? this.data(chunk, pos, current) : this.statusLine(chunk, pos, current);
    }
  }

  private statusLine(chunk: Buffer, pos: number, current: Expectation): number {
    const lf = chunk.indexOf(LF, pos);
    if (lf === -1) {
      this.partialLength += chunk.length - pos;
      if (this.partialLength > this.maxLineLength) throw new Pop3ProtocolError(`server status line longer than ${this.maxLineLength} octets`);
      this.partial.push(chunk.subarray(pos));
      return chunk.length;
    }
    if (this.partialLength + lf - pos > this.maxLineLength) throw new Pop3ProtocolError(`server status line longer than ${this.maxLineLength} octets`);
    this.partial.push(chunk.subarray(pos, lf));
    let line = this.partial.length === 1 ? this.partial[0] : Buffer.concat(this.partial);
    this.partial = [];
    this.partialLength = 0;
    if (line.length && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    const text = line.toString('utf8');
    let status: StatusLine;
    if (text.startsWith('+OK')) status = { ok: true, kind: '+OK', text: text.slice(3).trimStart() };
    else if (text.startsWith('-ERR')) status = { ok: false, kind: '-ERR', text: text.slice(4).trimStart() };
    else if (text.startsWith('+ ') || text === '+') status = { ok: true, kind: '+', text: text.slice(2) };
    else throw new Pop3ProtocolError(`malformed server response: ${JSON.stringify(text.slice(0, 80))}`);
    if (current.multiline && status.kind === '+OK') {
      this.inData = true;
      this.status = status;
      this.atLineStart = true;
      this.bytes = 0;
    } else {
      this.expectations.shift();
      current.resolve(status, 0);
    }
    return lf + 1;
  }

  private data(chunk: Buffer, pos: number, current: Expectation): number {
    const out: Buffer[] = [];
    const n = chunk.length;
    while (pos < n) {
      if (this.atLineStart && chunk[pos] === DOT) {
        // Need up to two more bytes to tell the terminator from a stuffed dot.
        if (pos + 1 >= n || (chunk[pos + 1] === CR && pos + 2 >= n)) {
          this.carry = Buffer.from(chunk.subarray(pos));
          pos = n;
          break;
        }
        if (chunk[pos + 1] === LF || (chunk[pos + 1] === CR && chunk[pos + 2] === LF)) {
          pos += chunk[pos + 1] === LF ? 2 : 3;
          this.flush(out, current);
          this.inData = false;
          this.expectations.shift();
          current.resolve(this.status!, this.bytes);
          this.status = null;
          return pos;
        }
        pos++; // unstuff
      }
      const lf = chunk.indexOf(LF, pos);
      const end = lf === -1 ? n : lf + 1;
      out.push(chunk.subarray(pos, end));
      this.bytes += end - pos;
      if (this.bytes > current.maxBytes) throw new Pop3ProtocolError(`server response larger than ${current.maxBytes} octets`);
      this.atLineStart = lf !== -1;
      pos = end;
    }
    this.flush(out, current);
    return pos;
  }

  private flush(out: Buffer[], current: Expectation): void {
    if (out.length === 0 || !current.sink) return;
    const data = out.length === 1 ? out[0] : Buffer.concat(out);
    if (current.sink.write(data) === false) this.onBackpressure();
  }
}
