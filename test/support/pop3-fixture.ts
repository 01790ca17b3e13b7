/** A POP3 server on 127.0.0.1:0 over the memory store and directory (or a given store), for the POP3 tests. */
import { generate } from 'selfsigned';
import { MemoryDirectory } from '../../src/directory/memory.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { MailStore } from '../../src/store/types.js';
import { pop3Section, type Pop3Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/observability/log.js';
import { Pop3Server } from '../../src/server/pop3/index.js';

export const ALICE = 'alice@example.com';
export const ALICE_PASSWORD = 'correct horse';
/** A user with the legacy-auth opt-in (APOP, CRAM-MD5). */
export const BOB = 'bob@example.com';
export const BOB_SECRET = 'tanstaaf';

export interface Pop3Fixture {
  server: Pop3Server;
  port: number;
  /** Port of the pop3s listener, when TLS was given. */
  tlsPort: number;
  store: MailStore;
  directory: MemoryDirectory;
  close(graceMs?: number): Promise<void>;
}

export interface FixtureOptions {
  config?: Partial<Pop3Config>;
  store?: MailStore;
  tls?: { key: string; cert: string };
  now?: () => number;
  hostname?: string;
}

export function pop3Config(overrides: Partial<Pop3Config> = {}): Pop3Config {
  return { ...pop3Section.parse({}), ...overrides };
}

export async function startPop3(options: FixtureOptions = {}): Promise<Pop3Fixture> {
  const directory = new MemoryDirectory().addDomain('example.com').addUser(ALICE, ALICE_PASSWORD).addUser(BOB, BOB_SECRET, true);
  const store = options.store ?? new MemoryStore();
  const server = new Pop3Server({
    hostname: options.hostname ?? 'pop.example.com',
    directory,
    store,
    logger: silentLogger,
    tls: options.tls,
    config: pop3Config(options.config),
    now: options.now,
  });
  const { port } = await server.listen('pop3', { host: '127.0.0.1', port: 0 });
  const tlsPort = options.tls ? (await server.listen('pop3s', { host: '127.0.0.1', port: 0 })).port : 0;
  return { server, port, tlsPort, store, directory, close: (graceMs = 0) => server.close(graceMs) };
}

/** Deliver one message (given with CRLF line ends) to a mailbox; returns its UID. */
export async function deliver(store: MailStore, mailbox: string, content: string | Buffer): Promise<string> {
  const tx = await store.beginDelivery();
  await tx.write(Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
  const [stored] = await tx.commit([mailbox]);
  return stored.uid;
}

/** A small message with CRLF line ends. */
export function message(subject: string, body: string): string {
  return `From: sender@example.net\r\nTo: alice@example.com\r\nSubject: ${subject}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`;
}

let cachedCert: { key: string; cert: string } | null = null;

/** A self-signed certificate for pop.example.com (generated once per test process). */
export async function testCertificate(): Promise<{ key: string; cert: string }> {
  if (cachedCert) return cachedCert;
  const pems = await generate([{ name: 'commonName', value: 'pop.example.com' }], { algorithm: 'sha256', keySize: 2048 });
  cachedCert = { key: pems.private, cert: pems.cert };
  return cachedCert;
}
