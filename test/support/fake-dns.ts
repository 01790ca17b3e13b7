/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1 for tests (RFC 1035 wire format): answers MX, A, AAAA and TXT
 * from an in-memory zone, NXDOMAIN for names it does not know, an empty NOERROR answer (NODATA) for known names without
 * the asked type, SERVFAIL for names marked so. Point node:dns at it with Resolver#setServers(['127.0.0.1:PORT']).
 */
import { createSocket, type Socket } from 'node:dgram';

export interface ZoneEntry {
  /** MX records; exchange "" or "." is the RFC 7505 null MX. */
  mx?: Array<{ preference: number; exchange: string }>;
  a?: string[];
  aaaa?: string[];
  txt?: string[];
  servfail?: boolean;
}

const TYPE = { A: 1, MX: 15, TXT: 16, AAAA: 28 } as const;

export class FakeDns {
  readonly zone = new Map<string, ZoneEntry>();
  /** Every question asked, as "TYPE name". */
  readonly queries: string[] = [];
  private socket: Socket | null = null;
  port = 0;

  set(name: string, entry: ZoneEntry): this {
    this.zone.set(name.toLowerCase().replace(/\.$/, ''), entry);
    return this;
  }

  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      const reply = this.answer(msg);
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    this.port = socket.address().port;
    this.socket = socket;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private answer(msg: Buffer): Buffer | null {
    if (msg.length < 12) return null;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    if (msg.readUInt16BE(4) !== 1) return null;
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length) {
      const len = msg[off++];
      if (len === 0) break;
      labels.push(msg.subarray(off, off + len).toString('latin1'));
      off += len;
    }
    if (off + 4 > msg.length) return null;
    const qtype = msg.readUInt16BE(off);
    const question = msg.subarray(12, off + 4);
    const name = labels.join('.').toLowerCase();
    const typeName = Object.entries(TYPE).find(([, v]) => v === qtype)?.[0] ?? String(qtype);
    this.queries.push(`${typeName} ${name}`);
    const entry = this.zone.get(name);
    let rcode = 0;
    const answers: Buffer[] = [];
    if (!entry) rcode = 3;
    else if (entry.servfail) rcode = 2;
    else if (qtype === TYPE.MX) for (const mx of entry.mx ?? []) answers.push(rr(TYPE.MX, Buffer.concat([u16(mx.preference), encodeName(mx.exchange)])));
    else if (qtype === TYPE.A) for (const a of entry.a ?? []) answers.push(rr(TYPE.A, Buffer.from(a.split('.').map(Number))));
    else if (qtype === TYPE.AAAA) for (const a of entry.aaaa ?? []) answers.push(rr(TYPE.AAAA, ipv6Bytes(a)));
    else if (qtype === TYPE.TXT) for (const t of entry.txt ?? []) answers.push(rr(TYPE.TXT, txtData(t)));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    // QR, opcode copied, AA, RD copied, RA, rcode.
    header.writeUInt16BE(0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    return Buffer.concat([header, question, ...answers]);
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A resource record whose owner is the question name (compression pointer to offset 12). */
function rr(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(data.length, 10);
  return Buffer.concat([head, data]);
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
}

function txtData(text: string): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; i < text.length; i += 255) {
    const c = Buffer.from(text.slice(i, i + 255), 'latin1');
    chunks.push(Buffer.from([c.length]), c);
  }
  return Buffer.concat(chunks);
}

function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}
