/** Test fixture: an SmtpServer on 127.0.0.1 port 0 with a memory store and directory (or given ones). */
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smtpSection, type SmtpConfig } from '../../src/config/schema.js';
import { MemoryDirectory } from '../../src/directory/memory.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { MailStore } from '../../src/store/types.js';
import type { OutboundQueue, Envelope, QueueTransaction } from '../../src/delivery/types.js';
import { silentLogger } from '../../src/observability/log.js';
import { SmtpServer, type ListenerKind } from '../../src/server/smtp/index.js';
import { SmtpTranscript } from '../support/smtp-transcript.js';

export type SmtpConfigInput = Partial<{ [K in keyof SmtpConfig]: SmtpConfig[K] }>;

let cachedTls: Promise<{ key: string; cert: string }> | null = null;
const CERT_CACHE = join(tmpdir(), `posthorn-smtp-test-cert-${process.getuid?.() ?? 0}.json`);
/** A self-signed certificate for localhost / 127.0.0.1, made once and kept in the temp directory for a day. */
export function testTls(): Promise<{ key: string; cert: string }> {
  cachedTls ??= (async () => {
    try {
      if (Date.now() - statSync(CERT_CACHE).mtimeMs < 86400_000) return JSON.parse(readFileSync(CERT_CACHE, 'utf8')) as { key: string; cert: string };
    } catch {
      // no usable cache: make one
    }
    const p = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    const material = { key: p.private, cert: p.cert };
    const tmp = `${CERT_CACHE}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(material), { mode: 0o600 });
    renameSync(tmp, CERT_CACHE);
    return material;
  })();
  return cachedTls;
}

export function testDirectory(): MemoryDirectory {
  return new MemoryDirectory()
    .addDomain('example.com')
    .addDomain('example.net')
    .addUser('alice@example.com', 'alice-password')
    .addUser('bob@example.com', 'bob-password', true)
    .addUser('postmaster@example.com', 'pm-password')
    .addAlias('sales@example.com', ['alice@example.com', 'bob@example.com'])
    .addAlias('@example.net', ['alice@example.com']);
}

/** An outbound queue that keeps what it is given. */
export class RecordingQueue implements OutboundQueue {
  readonly queued: Array<{ envelope: Envelope; data: Buffer; id: string }> = [];
  failNext = false;
  async begin(envelope: Envelope): Promise<QueueTransaction> {
    const chunks: Buffer[] = [];
    return {
      write: async (chunk) => {
        chunks.push(Buffer.from(chunk));
      },
      commit: async () => {
        if (this.failNext) {
          this.failNext = false;
          throw new Error('queue disk failed');
        }
        const id = `q${this.queued.length + 1}`;
        this.queued.push({ envelope, data: Buffer.concat(chunks), id });
        return id;
      },
      abort: async () => {},
    };
  }
}

export interface TestServer {
  server: SmtpServer;
  store: MemoryStore;
  directory: MemoryDirectory;
  port: (kind?: ListenerKind) => number;
  connect: (kind?: ListenerKind) => Promise<SmtpTranscript>;
  close: () => Promise<void>;
}

export async function startSmtp(
  options: {
    config?: SmtpConfigInput;
    kinds?: ListenerKind[];
    tls?: boolean;
    queue?: OutboundQueue;
    store?: MailStore;
    now?: () => number;
    hostname?: string;
  } = {},
): Promise<TestServer> {
  const store = (options.store ?? new MemoryStore()) as MemoryStore;
  const directory = testDirectory();
  const config = smtpSection.parse(options.config ?? {});
  const server = new SmtpServer({
    hostname: options.hostname ?? 'mx.example.com',
    directory,
    store,
    queue: options.queue,
    logger: silentLogger,
    config,
    tls: options.tls === false ? undefined : await testTls(),
    now: options.now,
  });
  const ports = new Map<ListenerKind, number>();
  for (const kind of options.kinds ?? ['mx']) {
    const info = (await server.listen(kind, { host: '127.0.0.1', port: 0 })) as AddressInfo;
    ports.set(kind, info.port);
  }
  const port = (kind: ListenerKind = options.kinds?.[0] ?? 'mx') => {
    const p = ports.get(kind);
    if (p === undefined) throw new Error(`no ${kind} listener`);
    return p;
  };
  return {
    server,
    store,
    directory,
    port,
    connect: (kind) => SmtpTranscript.connect(port(kind), { tls: (kind ?? options.kinds?.[0]) === 'smtps' }),
    close: () => server.close(100),
  };
}

/** base64 of a SASL PLAIN response. */
export function plain(user: string, password: string, authzid = ''): string {
  return Buffer.from(`${authzid}\0${user}\0${password}`).toString('base64');
}

export function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
