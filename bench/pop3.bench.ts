/**
 * POP3 benchmark: Posthorn against Dovecot's POP3 on the same Maildir messages, same load, same run.
 *
 * Maildrops of MESSAGES (10,000; BENCH_QUICK=1: 2,000) messages of 10 KB in the Maildir store, four users holding the
 * same files (hard links). Each case: login + STAT + LIST + UIDL + RETR of every message, with 1 and with 50 commands
 * in flight, one session and four sessions (four users, since a maildrop is locked). Prints msg/s and MB/s for
 * Posthorn and Dovecot and the ratio, plus the load client's ceiling against a trivial in-memory responder (it must be
 * far above both servers for the figures to mean anything), and the server's memory while RETR streams a 100 MB
 * message. Posthorn runs in a child process so the load client has the other core; Dovecot runs with its own
 * configuration in bench/.work/pop3/dovecot (pop3_no_flag_updates = yes, its fastest setting for this load).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSession, type SessionResult } from '../test/support/pop3-load-client.js';
import { startDovecot, type DovecotInstance } from '../test/support/pop3-dovecot.js';

const QUICK = process.env.BENCH_QUICK === '1';
const MESSAGES = Number(process.env.POP3_BENCH_MESSAGES ?? (QUICK ? 2000 : 10_000));
const MESSAGE_SIZE = 10 * 1024;
const BIG_SIZE = 100 * 1024 * 1024;
const DOMAIN = 'bench.example';
const USERS = [1, 2, 3, 4].map((i) => ({ user: `user${i}@${DOMAIN}`, password: `pw${i}` }));
const BIG_USER = { user: `big@${DOMAIN}`, password: 'pwbig' };
const WORK = resolve(fileURLToPath(new URL('.', import.meta.url)), '.work', 'pop3');
const MAIL = join(WORK, 'maildir');
const DOVECOT_MAIL = join(WORK, 'dovecot-mail');
const REPEATS = QUICK ? 1 : 2;

// ---------------------------------------------------------------- child process: Posthorn + the trivial responder
async function serverMain(): Promise<void> {
  const { Pop3Server } = await import('../src/server/pop3/index.js');
  const { MaildirStore } = await import('../src/store/maildir/index.js');
  const { MemoryDirectory } = await import('../src/directory/memory.js');
  const { pop3Section } = await import('../src/config/schema.js');
  const { silentLogger } = await import('../src/observability/log.js');
  const directory = new MemoryDirectory().addDomain(DOMAIN);
  for (const u of [...USERS, BIG_USER]) directory.addUser(u.user, u.password);
  const maildir = new MaildirStore({ root: MAIL, hostname: 'bench' });
  let store: import('../src/store/types.js').MailStore = maildir;
  if (process.env.POP3_BENCH_STORE === 'memory') {
    // The protocol engine alone: the same messages from the memory store (one shared Buffer per message).
    const { MemoryStore } = await import('../src/store/memory.js');
    const { deliverBuffer } = await import('../src/store/deliver.js');
    const memory = new MemoryStore();
    const drop = await maildir.openMaildrop(USERS[0].user);
    for (const e of drop.entries) await deliverBuffer(memory, USERS.map((u) => u.user), await drop.readBuffer(e.uid));
    await drop.release();
    store = memory;
  }
  const server = new Pop3Server({ hostname: 'bench.local', directory, store, logger: silentLogger, config: pop3Section.parse({}) });
  const { port } = await server.listen('pop3', { host: '127.0.0.1', port: 0 });
  const trivialPort = await trivialResponder();
  let peakRss = 0;
  let sampler: NodeJS.Timeout | null = null;
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'sample-start') {
      peakRss = process.memoryUsage().rss;
      sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
      process.send?.({ cmd: 'sampling', rss: peakRss });
    } else if (m.cmd === 'sample-stop') {
      if (sampler) clearInterval(sampler);
      process.send?.({ cmd: 'peak', rss: peakRss });
    } else if (m.cmd === 'cpu') {
      const usage = process.cpuUsage();
      process.send?.({ cmd: 'cpu', seconds: (usage.user + usage.system) / 1e6 });
    } else if (m.cmd === 'stop') {
      void server.close(0).then(() => {
        process.disconnect?.();
        // Let a --cpu-prof profile be written by a normal exit.
        setTimeout(() => process.exit(0), 50).unref();
      });
    }
  });
  process.send?.({ cmd: 'ready', port, trivialPort });
}

/** Answers like a POP3 server from memory without any work: the ceiling of the load client. */
async function trivialResponder(): Promise<number> {
  const body = makeMessage(0);
  const retr = Buffer.concat([Buffer.from(`+OK ${body.length} octets\r\n`), body, Buffer.from('.\r\n')]);
  const list = '+OK\r\n' + Array.from({ length: MESSAGES }, (_, i) => `${i + 1} ${body.length}\r\n`).join('') + '.\r\n';
  const uidl = '+OK\r\n' + Array.from({ length: MESSAGES }, (_, i) => `${i + 1} uid${i}\r\n`).join('') + '.\r\n';
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    let pending = '';
    socket.write('+OK ready\r\n');
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      let at: number;
      socket.cork();
      while ((at = pending.indexOf('\r\n')) >= 0) {
        const verb = pending.slice(0, 4).toUpperCase();
        pending = pending.slice(at + 2);
        if (verb === 'RETR') socket.write(retr);
        else if (verb === 'STAT') socket.write(`+OK ${MESSAGES} ${MESSAGES * body.length}\r\n`);
        else if (verb === 'LIST') socket.write(list);
        else if (verb === 'UIDL') socket.write(uidl);
        else if (verb === 'QUIT') socket.end('+OK bye\r\n');
        else socket.write('+OK\r\n');
      }
      socket.uncork();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

// ---------------------------------------------------------------- fixtures
/** A 10 KB message with CRLF line ends; every 50th has lines starting with "." (byte-stuffing exercised). */
function makeMessage(i: number): Buffer {
  const head = `Return-Path: <sender@example.net>\r\nFrom: Sender <sender@example.net>\r\nTo: user@${DOMAIN}\r\nSubject: Benchmark message ${i}\r\nMessage-ID: <${i}.bench@example.net>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const lines: string[] = [];
  let size = head.length;
  let n = 0;
  while (size < MESSAGE_SIZE - 80) {
    const line = (i % 50 === 0 && n % 10 === 0 ? '.' : '') + `${i}:${n} `.padEnd(74, 'abcdefghij'.charAt(n % 10));
    lines.push(line);
    size += line.length + 2;
    n++;
  }
  let text = head + lines.join('\r\n') + '\r\n';
  text += 'x'.repeat(Math.max(0, MESSAGE_SIZE - text.length - 2)) + '\r\n';
  return Buffer.from(text, 'latin1');
}

async function prepareMail(): Promise<void> {
  const marker = join(MAIL, `.bench-${MESSAGES}`);
  if (existsSync(marker)) return;
  console.log(`preparing ${MESSAGES} messages x ${USERS.length} users and one 100 MB message in ${MAIL} ...`);
  rmSync(MAIL, { recursive: true, force: true });
  const { MaildirStore } = await import('../src/store/maildir/index.js');
  const { NameMaker } = await import('../src/store/maildir/names.js');
  const { deliverBuffer, deliverStream } = await import('../src/store/deliver.js');
  const store = new MaildirStore({ root: MAIL, hostname: 'bench' });
  // The first messages through the store itself (its real delivery path), the rest written in its exact file format
  // (fsync per message would make preparing 10,000 messages take minutes and measures nothing POP3 does).
  for (const u of USERS) await store.ensureMailbox(u.user);
  const through = Math.min(20, MESSAGES);
  for (let i = 0; i < through; i++) await deliverBuffer(store, [USERS[0].user], makeMessage(i));
  const names = new NameMaker('bench');
  const dir1 = join(MAIL, DOMAIN, 'user1', 'new');
  for (let i = through; i < MESSAGES; i++) {
    const data = makeMessage(i);
    writeFileSync(join(dir1, names.fileName(names.next(), data.length, data.length)), data);
  }
  for (const u of USERS.slice(1)) {
    const dir = join(MAIL, DOMAIN, u.user.split('@')[0], 'new');
    for (const f of readdirSync(dir1)) linkSync(join(dir1, f), join(dir, f));
  }
  const line = Buffer.from('.'.padEnd(1022, 'z') + '\r\n');
  await deliverStream(store, [BIG_USER.user], (async function* () {
    yield Buffer.from('Subject: big\r\n\r\n');
    for (let i = 0; i < BIG_SIZE / line.length; i++) yield line;
  })());
  await store.close();
  writeFileSync(marker, '');
}

/** Dovecot gets its own directory tree of hard links to the same files (it renames files and writes indexes). */
function prepareDovecotMail(): void {
  rmSync(DOVECOT_MAIL, { recursive: true, force: true });
  for (const u of USERS) {
    const local = u.user.split('@')[0];
    const to = join(DOVECOT_MAIL, DOMAIN, local);
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(to, sub), { recursive: true });
    for (const sub of ['new', 'cur']) {
      const from = join(MAIL, DOMAIN, local, sub);
      if (!existsSync(from)) continue;
      for (const f of readdirSync(from)) linkSync(join(from, f), join(to, sub, f));
    }
  }
}

// ---------------------------------------------------------------- measurement
interface CaseResult {
  msgPerSec: number;
  mbPerSec: number;
  /** Server CPU time per retrieved message, microseconds (less sensitive to a busy machine than throughput). */
  cpuUsPerMsg: number;
}

async function runCase(port: number, sessions: number, depth: number, cpuSeconds: () => Promise<number>): Promise<CaseResult> {
  let best: CaseResult = { msgPerSec: 0, mbPerSec: 0, cpuUsPerMsg: 0 };
  for (let r = 0; r < REPEATS; r++) {
    const cpuBefore = await cpuSeconds();
    const started = process.hrtime.bigint();
    const results: SessionResult[] = await Promise.all(USERS.slice(0, sessions).map((u) => loadSession(port, u.user, u.password, depth)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await new Promise((resolve) => setTimeout(resolve, 100)); // let session processes exit and be reaped (Dovecot)
    const cpu = (await cpuSeconds()) - cpuBefore;
    const messages = results.reduce((a, x) => a + x.messages, 0);
    const bytes = results.reduce((a, x) => a + x.bytes, 0);
    const errors = results.reduce((a, x) => a + x.errors, 0);
    if (errors) throw new Error(`${errors} RETR errors`);
    if (messages !== sessions * MESSAGES) throw new Error(`retrieved ${messages}, expected ${sessions * MESSAGES}`);
    const result = { msgPerSec: messages / seconds, mbPerSec: bytes / seconds / 1e6, cpuUsPerMsg: (cpu * 1e6) / messages };
    if (result.msgPerSec > best.msgPerSec) best = result;
  }
  return best;
}

const CASES = [
  { sessions: 1, depth: 1 },
  { sessions: 1, depth: 50 },
  { sessions: 4, depth: 1 },
  { sessions: 4, depth: 50 },
];

function fmt(r: CaseResult | undefined, cpu = true): string {
  if (!r) return 'skipped'.padEnd(cpu ? 38 : 26);
  const base = `${Math.round(r.msgPerSec).toString().padStart(7)} msg/s ${r.mbPerSec.toFixed(1).padStart(6)} MB/s`;
  return cpu ? `${base} ${r.cpuUsPerMsg.toFixed(0).padStart(4)} us/msg` : base;
}

async function main(): Promise<void> {
  await prepareMail();
  // The store creates its directories 0700; Dovecot's unprivileged processes must pass through ours.
  for (const d of [dirname(WORK), WORK]) chmodSync(d, 0o755);
  const execArgv = [...process.execArgv];
  if (process.env.POP3_BENCH_PROFILE) execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(WORK, 'profile')}`);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, POP3_BENCH_ROLE: 'server' }, stdio: 'inherit', execArgv });
  const messages: { cmd: string; port?: number; trivialPort?: number; rss?: number; seconds?: number }[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (m: { cmd: string }) => {
    messages.push(m);
    wake?.();
  });
  const receive = async (cmd: string) => {
    for (;;) {
      const i = messages.findIndex((m) => m.cmd === cmd);
      if (i >= 0) return messages.splice(i, 1)[0];
      await new Promise<void>((r) => (wake = r));
    }
  };
  let dovecot: DovecotInstance | null = null;
  try {
    const ready = await receive('ready');
    const posthornPort = ready.port as number;
    prepareDovecotMail();
    const started = await startDovecot({ workDir: join(WORK, 'dovecot'), mailRoot: DOVECOT_MAIL, users: USERS, log: console.log });
    if ('skipped' in started) console.log(`NOTE: Dovecot peer skipped: ${started.skipped}`);
    else dovecot = started;

    console.log(`POP3: ${MESSAGES} messages of ${MESSAGE_SIZE / 1024} KB per maildrop, ${process.env.POP3_BENCH_STORE === 'memory' ? 'Posthorn on the memory store' : 'Maildir store'}; best of ${REPEATS}; machine shared, figures are noisy`);
    // Warm-up: page cache for both, Dovecot's index files for it (its first login indexes the Maildir).
    for (const u of USERS) {
      await loadSession(posthornPort, u.user, u.password, 50);
      if (dovecot) {
        try {
          await loadSession(dovecot.port, u.user, u.password, 50);
        } catch (error) {
          console.log(`NOTE: Dovecot peer skipped: it failed the warm-up (${String(error)}); see ${join(WORK, 'dovecot', 'dovecot.log')}`);
          await dovecot.stop();
          dovecot = null;
        }
      }
    }
    console.log(`${'case'.padEnd(24)} | ${'load-client ceiling'.padEnd(26)} | ${'Posthorn (msg/s, MB/s, server CPU)'.padEnd(38)} | ${'Dovecot'.padEnd(38)} | ratio`);
    const posthornCpu = async () => {
      child.send({ cmd: 'cpu' });
      return (await receive('cpu')).seconds as number;
    };
    const noCpu = async () => 0;
    for (const c of CASES) {
      const ceiling = await runCase(ready.trivialPort as number, c.sessions, c.depth, noCpu);
      const ours = await runCase(posthornPort, c.sessions, c.depth, posthornCpu);
      const peer = dovecot;
      const theirs = peer ? await runCase(peer.port, c.sessions, c.depth, async () => peer.cpuSeconds()) : undefined;
      const ratio = theirs ? `${(ours.msgPerSec / theirs.msgPerSec).toFixed(2)}x` : 'n/a';
      const label = `${c.sessions} session${c.sessions > 1 ? 's' : ' '}, ${String(c.depth).padStart(2)} in flight`;
      console.log(`${label.padEnd(24)} | ${fmt(ceiling, false)} | ${fmt(ours)} | ${fmt(theirs)} | ${ratio}`);
    }
    if (dovecot) console.log(`peer: ${dovecot.version}`);

    // Memory while a 100 MB message streams (Maildir store only: the memory store would hold it in memory anyway).
    if (process.env.POP3_BENCH_STORE === 'memory') return;
    child.send({ cmd: 'sample-start' });
    const before = (await receive('sampling')).rss as number;
    const t0 = process.hrtime.bigint();
    const big = await loadSession(posthornPort, BIG_USER.user, BIG_USER.password, 1);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    child.send({ cmd: 'sample-stop' });
    const peak = (await receive('peak')).rss as number;
    console.log(
      `100 MB RETR: ${(big.bytes / 1e6).toFixed(0)} MB in ${secs.toFixed(2)} s (${(big.bytes / 1e6 / secs).toFixed(0)} MB/s); server RSS ${(before / 1048576).toFixed(0)} MB before, peak ${(peak / 1048576).toFixed(0)} MB during`,
    );
  } finally {
    await dovecot?.stop();
    child.send({ cmd: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
}

if (process.env.POP3_BENCH_ROLE === 'server') {
  await serverMain();
} else {
  await main();
}
