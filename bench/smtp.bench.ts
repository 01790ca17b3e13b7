/**
 * SMTP server benchmark: Posthorn (MaildirStore, durable) against nodemailer's smtp-server writing each message to a
 * file and fsyncing it before replying, in the same run, with the same pipelining load generator (raw sockets).
 *
 *   npm run bench -- smtp   (BENCH_QUICK=1 for a short run; see docs/readme/smtp.md for the BENCH_* variables)
 *
 * Each server runs in its own child process (so its memory can be measured); the load generator runs here. Its
 * ceiling is shown against a trivial responder that answers SMTP without storing anything.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const QUICK = process.env.BENCH_QUICK === '1';
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? (QUICK ? 500 : 1500));
/** Reused-connection cases (number of connections) and the concurrency of the new-connection case (0: skip). */
const REUSED = (process.env.BENCH_REUSED ?? '20,100').split(',').map(Number);
const NEW_CONNECTIONS = Number(process.env.BENCH_NEW ?? 100);
/** Each throughput case is measured this many times per server (median reported). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const IDLE = Number(process.env.BENCH_IDLE ?? (QUICK ? 2000 : 10000));
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 100);
/** Run only some parts: comma-separated "throughput", "idle", "big". */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'throughput,idle,big').split(','));
const SERVERS = (process.env.BENCH_SERVERS ?? 'posthorn,smtp-server').split(',') as ServerKind[];

/**
 * posthorn: MaildirStore (durable: fdatasync, link/rename, directory fsync). posthorn-fsync: a bench-only store that
 * does exactly what the smtp-server peer does (one file per message, fsync, no directory fsync), to compare the
 * protocol side at equal durability. posthorn-memory: MemoryStore, the protocol ceiling without any disk.
 */
type ServerKind = 'posthorn' | 'posthorn-fsync' | 'posthorn-memory' | 'smtp-server' | 'trivial';

/** The peer's durability, as a MailStore: each message to its own file, fsynced before commit() resolves. */
async function fileFsyncStore(dir: string): Promise<import('../src/store/types.js').MailStore> {
  const { MemoryStore } = await import('../src/store/memory.js');
  let seq = 0;
  const base = new MemoryStore();
  return Object.assign(base, {
    beginDelivery: async () => {
      const fh = await open(join(dir, `${process.pid}.${++seq}.eml`), 'w');
      let size = 0;
      let finished = false;
      return {
        write: async (chunk: Buffer) => {
          size += chunk.length;
          await fh.write(chunk);
        },
        get size() {
          return size;
        },
        commit: async (mailboxes: readonly string[]) => {
          finished = true;
          await fh.sync();
          await fh.close();
          return mailboxes.map((mailbox) => ({ mailbox, uid: String(seq), size }));
        },
        abort: async () => {
          if (!finished) await fh.close();
          finished = true;
        },
      };
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Child process side: one server, answering memory questions over IPC.

async function runChild(kind: ServerKind): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `bench-smtp-${kind}-`));
  let port: number;
  if (kind === 'posthorn' || kind === 'posthorn-fsync' || kind === 'posthorn-memory') {
    const { SmtpServer } = await import('../src/server/smtp/index.js');
    const { MaildirStore } = await import('../src/store/maildir/index.js');
    const { MemoryDirectory } = await import('../src/directory/memory.js');
    const { smtpSection } = await import('../src/config/schema.js');
    const { MemoryStore } = await import('../src/store/memory.js');
    const store = kind === 'posthorn' ? new MaildirStore({ root: dir }) : kind === 'posthorn-fsync' ? await fileFsyncStore(dir) : new MemoryStore();
    const server = new SmtpServer({
      hostname: 'bench.example',
      directory: new MemoryDirectory().addDomain('example.com').addUser('rcpt@example.com', 'x'),
      store,
      logger: quietLogger,
      config: smtpSection.parse({ max_message_size: 200 * 1024 * 1024 }),
    });
    port = ((await server.listen('mx', { host: '127.0.0.1', port: 0 })) as AddressInfo).port;
  } else if (kind === 'smtp-server') {
    const { SMTPServer } = await import('smtp-server');
    let seq = 0;
    const server = new SMTPServer({
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      logger: false,
      size: 200 * 1024 * 1024,
      maxClients: 100000,
      onData(stream, _session, callback) {
        void (async () => {
          const fh = await open(join(dir, `${process.pid}.${++seq}.eml`), 'w');
          try {
            for await (const chunk of stream) await fh.write(chunk as Buffer);
            await fh.sync();
          } finally {
            await fh.close();
          }
        })().then(
          () => callback(),
          (err: Error) => callback(err),
        );
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.server.address() as AddressInfo).port;
  } else {
    port = await trivialResponder();
  }
  let peak = 0;
  let sampler: NodeJS.Timeout | null = null;
  process.on('message', (msg: { cmd: string }) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (msg.cmd === 'mem') {
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      process.send!({ rss: m.rss, heap: m.heapUsed, external: m.external });
    } else if (msg.cmd === 'peak-start') {
      gc?.();
      peak = process.memoryUsage().rss;
      sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      process.send!({ rss: peak });
    } else if (msg.cmd === 'peak-stop') {
      if (sampler) clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      process.send!({ rss: peak });
    } else if (msg.cmd === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ rss: 0, cpu: u.user + u.system });
    } else if (msg.cmd === 'exit') {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  process.send!({ port });
}

/** Answers like an SMTP server that stores nothing: the load generator's ceiling. */
function trivialResponder(): Promise<number> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.write('220 trivial ESMTP\r\n');
    let inData = false;
    let tail = '';
    socket.on('data', (chunk: Buffer) => {
      let text = tail + chunk.toString('latin1');
      let out = '';
      for (;;) {
        if (inData) {
          const end = text.indexOf('\r\n.\r\n');
          if (end < 0) {
            tail = text.slice(-4);
            text = '';
            break;
          }
          text = text.slice(end + 5);
          inData = false;
          out += '250 2.0.0 OK\r\n';
          continue;
        }
        const nl = text.indexOf('\r\n');
        if (nl < 0) break;
        const verb = text.slice(0, 4).toUpperCase();
        text = text.slice(nl + 2);
        if (verb === 'EHLO') out += '250-trivial\r\n250 PIPELINING\r\n';
        else if (verb === 'DATA') {
          out += '354 go\r\n';
          inData = true;
          text = '\r\n' + text;
        } else if (verb === 'QUIT') {
          out += '221 bye\r\n';
          socket.end(out);
          return;
        } else out += '250 2.0.0 OK\r\n';
      }
      if (!inData) tail = text;
      if (out) socket.write(out);
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

// ---------------------------------------------------------------------------------------------------------------
// Parent side: load generator and measurements.

interface Child {
  proc: ChildProcess;
  port: number;
  ask: (cmd: string) => Promise<{ rss: number; heap?: number; cpu?: number }>;
}

async function startChild(kind: ServerKind): Promise<Child> {
  const profile = process.env.BENCH_PROFILE === kind ? ['--cpu-prof', `--cpu-prof-dir=${tmpdir()}/smtp-bench-prof`] : [];
  // The same libuv thread pool size for every server (fsync runs there); BENCH_THREADPOOL overrides Node's default 4.
  const env = process.env.BENCH_THREADPOOL ? { ...process.env, UV_THREADPOOL_SIZE: process.env.BENCH_THREADPOOL } : process.env;
  const proc = fork(import.meta.filename, ['child', kind], { env, execArgv: ['--import', 'tsx', '--expose-gc', ...profile], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = await new Promise<{ port: number }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as { port: number }));
    proc.once('exit', (code) => reject(new Error(`${kind} child exited (${code})`)));
  });
  const ask = (cmd: string) =>
    new Promise<{ rss: number; heap?: number; cpu?: number }>((resolve) => {
      proc.once('message', (m) => resolve(m as { rss: number; heap?: number; cpu?: number }));
      proc.send({ cmd });
    });
  return { proc, port: first.port, ask };
}

async function stopChild(child: Child): Promise<void> {
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  child.proc.send({ cmd: 'exit' });
  await exited;
}

function makeMessage(bytes: number): Buffer {
  const line = 'The quick brown fox jumps over the lazy dog, again and again, for benchmarking.\r\n';
  let body = 'From: <sender@example.org>\r\nTo: <rcpt@example.com>\r\nSubject: benchmark\r\n\r\n';
  while (body.length < bytes) body += line;
  return Buffer.from(body + '.\r\n');
}

const TXN = Buffer.from('MAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.com>\r\nDATA\r\n');

/** Counts final reply lines ("NNN text"), throws on 4xx/5xx. */
class ReplyCounter {
  private partial = '';
  count(chunk: Buffer): number {
    const text = this.partial + chunk.toString('latin1');
    let n = 0;
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\r\n', pos);
      if (nl < 0) break;
      if (text.charCodeAt(pos + 3) === 32) {
        const c = text.charCodeAt(pos);
        if (c === 52 || c === 53) throw new Error(`server said: ${text.slice(pos, nl)}`);
        n++;
      }
      pos = nl + 2;
    }
    this.partial = text.slice(pos);
    return n;
  }
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Reused connections: greeting, EHLO, then message after message with the next MAIL/RCPT/DATA pipelined after the dot. */
async function loadReused(port: number, connections: number, total: number, message: Buffer): Promise<number> {
  let claimed = 0;
  let done = 0;
  const claim = () => (claimed < total ? (claimed++, true) : false);
  const withTxn = Buffer.concat([message, TXN]);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const socket = await openSocket(port);
      const counter = new ReplyCounter();
      await new Promise<void>((resolve, reject) => {
        let state: 'greet' | 'ehlo' | 'txn' | 'loop' | 'last' = 'greet';
        let expected = 1;
        socket.on('data', (chunk) => {
          try {
            expected -= counter.count(chunk);
          } catch (err) {
            reject(err);
            return;
          }
          if (expected > 0) return;
          switch (state) {
            case 'greet':
              state = 'ehlo';
              expected = 1;
              socket.write('EHLO load.example\r\n');
              return;
            case 'ehlo':
              if (!claim()) {
                socket.end('QUIT\r\n');
                return resolve();
              }
              state = 'txn';
              expected = 3;
              socket.write(TXN);
              return;
            case 'loop':
            case 'txn':
              if (state === 'loop') done++;
              if (claim()) {
                state = 'loop';
                expected = 4;
                socket.write(withTxn);
              } else {
                state = 'last';
                expected = 1;
                socket.write(message);
              }
              return;
            case 'last':
              done++;
              socket.end('QUIT\r\n');
              return resolve();
          }
        });
        socket.on('error', reject);
      });
      socket.destroy();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  if (done !== claimed) throw new Error(`sent ${claimed}, acknowledged ${done}`);
  return done / seconds;
}

/** A new connection per message: connect, greeting, EHLO, MAIL/RCPT/DATA, body + QUIT. */
async function loadNewConnections(port: number, concurrency: number, total: number, message: Buffer): Promise<number> {
  let started = 0;
  let done = 0;
  const one = async () => {
    const socket = await openSocket(port);
    const counter = new ReplyCounter();
    await new Promise<void>((resolve, reject) => {
      let step = 0;
      let expected = 1;
      socket.on('data', (chunk) => {
        try {
          expected -= counter.count(chunk);
        } catch (err) {
          reject(err);
          return;
        }
        if (expected > 0) return;
        step++;
        if (step === 1) {
          expected = 1;
          socket.write('EHLO load.example\r\n');
        } else if (step === 2) {
          expected = 3;
          socket.write(TXN);
        } else if (step === 3) {
          expected = 2;
          socket.write(Buffer.concat([message, Buffer.from('QUIT\r\n')]));
        } else {
          done++;
          resolve();
        }
      });
      socket.on('error', reject);
    });
    socket.destroy();
  };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        await one();
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

/** Open `count` idle connections (greeted and EHLO'd); returns them. */
async function openIdle(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 250;
  for (let i = 0; i < count; i += batch) {
    const group = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async () => {
        const s = await openSocket(port);
        const counter = new ReplyCounter();
        await new Promise<void>((resolve, reject) => {
          let expected = 1;
          let sentEhlo = false;
          const onData = (chunk: Buffer) => {
            expected -= counter.count(chunk);
            if (expected > 0) return;
            if (!sentEhlo) {
              sentEhlo = true;
              expected = 1;
              s.write('EHLO idle.example\r\n');
            } else {
              s.off('data', onData);
              resolve();
            }
          };
          s.on('data', onData);
          s.once('error', reject);
        });
        return s;
      }),
    );
    sockets.push(...group);
  }
  return sockets;
}

async function bigMessage(port: number, megabytes: number): Promise<void> {
  const socket = await openSocket(port);
  const counter = new ReplyCounter();
  let replies = 0;
  let waiter: (() => void) | null = null;
  socket.on('data', (chunk) => {
    replies += counter.count(chunk);
    waiter?.();
  });
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (replies >= n ? resolve() : (waiter = check));
      check();
    });
  await until(1);
  socket.write('EHLO big.example\r\n');
  await until(2);
  socket.write(TXN);
  await until(5);
  const block = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef\r\n'.repeat(800));
  let sent = 0;
  socket.write('Subject: big\r\n\r\n');
  while (sent < megabytes * 1024 * 1024) {
    if (!socket.write(block)) await new Promise((r) => socket.once('drain', r));
    sent += block.length;
  }
  socket.write('.\r\n');
  await until(6);
  socket.destroy();
}

const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(0)).padStart(7);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));

/** A logger that does nothing at all (the peer logs nothing either). */
const quietLogger = { debug() {}, info() {}, warn() {}, error() {}, child() { return quietLogger; } };

async function main(): Promise<void> {
  console.log(`SMTP benchmark: ${MESSAGES} messages of 10 KB per run, median of ${ROUNDS} round(s) per case${QUICK ? ' (BENCH_QUICK)' : ''}`);
  const message = makeMessage(10 * 1024);
  const cases: Array<{ name: string; run: (port: number, n: number) => Promise<number> }> = [
    ...REUSED.map((k) => ({ name: `${k} connection${k === 1 ? '' : 's'}, reused`, run: (p: number, n: number) => loadReused(p, k, n, message) })),
    ...(NEW_CONNECTIONS > 0 ? [{ name: `new connection per message, ${NEW_CONNECTIONS} concurrent`, run: (p: number, n: number) => loadNewConnections(p, NEW_CONNECTIONS, n, message) }] : []),
  ];
  const results: Record<string, Record<ServerKind, number>> = {};
  const cpu: Record<string, Record<ServerKind, number>> = {};
  const THROUGHPUT_KINDS: ServerKind[] = SERVERS.length > 2 ? SERVERS : ['trivial', 'posthorn', 'posthorn-fsync', 'smtp-server', 'posthorn-memory'];
  // All servers stay up for the whole section; each case is measured in ROUNDS rounds, every server once per round in a
  // rotating order, and the median is reported: load from other processes then hits every server alike.
  const children = new Map<ServerKind, Child>();
  for (const kind of ONLY.has('throughput') ? THROUGHPUT_KINDS : []) children.set(kind, await startChild(kind));
  for (const c of children.size ? cases : []) {
    const samples = new Map<ServerKind, Array<{ rate: number; cpu: number }>>();
    for (const [, child] of children) await c.run(child.port, Math.max(100, Math.round(MESSAGES / 10))); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = [...children.keys()];
      for (let i = 0; i < round % order.length; i++) order.push(order.shift()!);
      for (const kind of order) {
        const child = children.get(kind)!;
        const cpu0 = (await child.ask('cpu')).cpu!;
        const rate = await c.run(child.port, MESSAGES);
        const used = ((await child.ask('cpu')).cpu! - cpu0) / MESSAGES;
        (samples.get(kind) ?? samples.set(kind, []).get(kind)!).push({ rate, cpu: used });
      }
    }
    for (const [kind, list] of samples) {
      (results[c.name] ??= {} as Record<ServerKind, number>)[kind] = median(list.map((x) => x.rate));
      (cpu[c.name] ??= {} as Record<ServerKind, number>)[kind] = median(list.map((x) => x.cpu));
    }
  }
  for (const child of children.values()) await stopChild(child);
  console.log(`\nmsg/s. ceiling: load generator against a trivial responder. maildir: Posthorn + MaildirStore. fsync: Posthorn + one`);
  console.log(`file per message fsynced (the peer's durability). memory: Posthorn + MemoryStore. peer: smtp-server + file + fsync.`);
  console.log(`${'case'.padEnd(44)} ${'ceiling'.padStart(7)} ${'maildir'.padStart(7)} ${'fsync'.padStart(7)} ${'peer'.padStart(7)} ${'memory'.padStart(7)}  maildir/peer fsync/peer`);
  for (const c of ONLY.has('throughput') ? cases : []) {
    const r = results[c.name];
    const peer = r['smtp-server'];
    console.log(
      `${c.name.padEnd(44)} ${fmt(r.trivial)} ${fmt(r.posthorn)} ${fmt(r['posthorn-fsync'])} ${fmt(peer)} ${fmt(r['posthorn-memory'])}  ${ratio(r.posthorn, peer).padStart(11)}x ${ratio(r['posthorn-fsync'], peer).padStart(9)}x`,
    );
  }
  console.log(`\nServer CPU time per message (user+system, microseconds; less sensitive to machine load than msg/s)`);
  for (const c of ONLY.has('throughput') ? cases : []) {
    const r = cpu[c.name];
    console.log(`${c.name.padEnd(44)} ${fmt(r.trivial)} ${fmt(r.posthorn)} ${fmt(r['posthorn-fsync'])} ${fmt(r['smtp-server'])} ${fmt(r['posthorn-memory'])}`);
  }

  console.log(`\nIdle connections: ${IDLE} greeted and EHLO'd, server memory per connection (RSS and JS heap, after GC)`);
  for (const kind of ONLY.has('idle') ? SERVERS : []) {
    const child = await startChild(kind);
    await openIdle(child.port, 50).then((s) => s.forEach((x) => x.destroy()));
    await new Promise((r) => setTimeout(r, 200));
    const before = await child.ask('mem');
    const sockets = await openIdle(child.port, IDLE);
    await new Promise((r) => setTimeout(r, 300));
    const after = await child.ask('mem');
    for (const s of sockets) s.destroy();
    console.log(
      `${kind.padEnd(12)} ${((after.rss - before.rss) / IDLE / 1024).toFixed(2)} KB RSS/connection, ${(((after.heap ?? 0) - (before.heap ?? 0)) / IDLE / 1024).toFixed(2)} KB heap/connection`,
    );
    await stopChild(child);
  }

  console.log(`\nOne ${BIG_MB} MB message: peak RSS growth of the server while receiving and committing it`);
  for (const kind of ONLY.has('big') ? SERVERS : []) {
    const child = await startChild(kind);
    const t0 = performance.now();
    const base = await child.ask('peak-start');
    await bigMessage(child.port, BIG_MB);
    const peak = await child.ask('peak-stop');
    const seconds = (performance.now() - t0) / 1000;
    console.log(`${kind.padEnd(12)} +${((peak.rss - base.rss) / 1024 / 1024).toFixed(1)} MB RSS, ${(BIG_MB / seconds).toFixed(0)} MB/s`);
    await stopChild(child);
  }
}

if (process.argv[2] === 'child') {
  await runChild(process.argv[3] as ServerKind);
} else {
  await main();
}
