/**
 * Client benchmark: Posthorn's SMTP client vs nodemailer, same run, same local sink (a minimal raw SMTP server in a
 * child process, so the sink does not share the clients' event loop), 10 KB messages:
 *   1. raw messages over one connection (sequential)
 *   2. raw messages over a pool of 20 connections
 *   3. composed messages (from/to/subject/text/html) over a pool of 20 (Posthorn: composeMail from posthorn/mime)
 * Prints msg/s for each and the ratio. BENCH_QUICK=1 for a short run; BENCH_MESSAGES=N to choose the count.
 */
import { spawn } from 'node:child_process';
import nodemailer from 'nodemailer';
import { createTransport } from '../src/client/transport.js';

const QUICK = process.env.BENCH_QUICK === '1';
const COUNT = Number(process.env.BENCH_MESSAGES ?? (QUICK ? 1000 : 4000));
const WARMUP = Math.floor(COUNT / 2);

/** The sink, as plain JavaScript run by a child node process. */
const SINK = String.raw`
const net = require('node:net');
const TERM = Buffer.from('\r\n.\r\n');
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let data = false;
  let buf = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  socket.write('220 sink ESMTP\r\n');
  socket.on('data', (chunk) => {
    let out = '';
    let input = chunk;
    while (input.length) {
      if (data) {
        const joined = tail.length ? Buffer.concat([tail, input]) : input;
        const at = joined.indexOf(TERM);
        if (at === -1) { tail = joined.subarray(Math.max(0, joined.length - 4)); input = Buffer.alloc(0); break; }
        const consumed = at + 5 - tail.length;
        input = input.subarray(consumed);
        tail = Buffer.alloc(0);
        data = false;
        out += '250 2.0.0 Ok: queued\r\n';
        continue;
      }
      buf = buf.length ? Buffer.concat([buf, input]) : input;
      input = Buffer.alloc(0);
      let lf;
      while (!data && (lf = buf.indexOf(10)) !== -1) {
        const line = buf.toString('latin1', 0, lf).replace(/\r$/, '');
        buf = buf.subarray(lf + 1);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') out += '250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n';
        else if (verb === 'DATA') { out += '354 go\r\n'; data = true; tail = Buffer.from('\r\n'); }
        else if (verb === 'QUIT') { out += '221 bye\r\n'; socket.end(out); return; }
        else out += '250 OK\r\n';
      }
      if (data && buf.length) { input = buf; buf = Buffer.alloc(0); }
    }
    if (out) socket.write(out);
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

function startSink(): Promise<{ port: number; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', SINK], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), stop: () => child.stdin.end() }));
  });
}

function message10k(i: number): Buffer {
  const head = `From: bench@example.com\r\nTo: sink@example.com\r\nSubject: bench ${i}\r\nMessage-ID: <${i}@bench>\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n';
  let body = '';
  while (head.length + body.length < 10 * 1024) body += line;
  return Buffer.from(head + body.slice(0, 10 * 1024 - head.length));
}

const text10k = message10k(0).toString().split('\r\n\r\n')[1];

interface Runner {
  send(i: number): Promise<unknown>;
  close(): Promise<void> | void;
}

async function measure(runner: Runner, count: number, concurrency: number): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < count) await runner.send(next++);
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return count / seconds;
}

async function scenario(name: string, concurrency: number, ours: () => Runner, theirs: () => Runner): Promise<void> {
  const results: Record<string, number> = {};
  // Alternate the order to spread noise: ours, theirs, ours, theirs; best of two each.
  for (const round of [0, 1]) {
    for (const [label, make] of round === 0 ? ([['posthorn', ours], ['nodemailer', theirs]] as const) : ([['nodemailer', theirs], ['posthorn', ours]] as const)) {
      const runner = make();
      await measure(runner, WARMUP, concurrency);
      const rate = await measure(runner, COUNT, concurrency);
      await runner.close();
      results[label] = Math.max(results[label] ?? 0, rate);
    }
  }
  const ratio = results.posthorn / results.nodemailer;
  console.log(`${name.padEnd(36)} posthorn ${results.posthorn.toFixed(0).padStart(6)} msg/s   nodemailer ${results.nodemailer.toFixed(0).padStart(6)} msg/s   ratio ${ratio.toFixed(2)}x`);
}

const sink = await startSink();
const messages = Array.from({ length: 64 }, (_, i) => message10k(i));
const envelope = { from: 'bench@example.com', to: ['sink@example.com'] };
const host = '127.0.0.1';
console.log(`client bench: ${COUNT} messages of 10 KB per measurement (after ${WARMUP} warm-up), sink on port ${sink.port}; best of 2 rounds`);

const ourTransport = (pool: number) => createTransport({ host, port: sink.port, tls: 'off', name: 'bench.example', pool, maxMessagesPerConnection: 100 });
const theirTransport = (pool: number) => nodemailer.createTransport({ host, port: sink.port, secure: false, ignoreTLS: true, pool: true, maxConnections: pool, maxMessages: 100, name: 'bench.example' });

const rawOurs = (pool: number) => (): Runner => {
  const t = ourTransport(pool);
  return { send: (i) => t.send({ from: envelope.from, to: envelope.to }, messages[i % 64]), close: () => t.close() };
};
const rawTheirs = (pool: number) => (): Runner => {
  const t = theirTransport(pool);
  return { send: (i) => t.sendMail({ envelope, raw: messages[i % 64] }), close: () => t.close() };
};
const mailOptions = (i: number) => ({ from: 'Bench <bench@example.com>', to: 'Sink <sink@example.com>', subject: `bench ${i}`, text: text10k, html: `<p>${text10k.slice(0, 2000)}</p>` });

await scenario('raw, one connection', 1, rawOurs(1), rawTheirs(1));
await scenario('raw, pool of 20', 100, rawOurs(20), rawTheirs(20));
await scenario('composed (text+html), pool of 20', 100, () => {
  const t = ourTransport(20);
  return { send: (i) => t.sendMail(mailOptions(i)), close: () => t.close() };
}, () => {
  const t = theirTransport(20);
  return { send: (i) => t.sendMail(mailOptions(i)), close: () => t.close() };
});
console.log('(machine shared with other jobs: figures are noisy; compare the ratio within one run)');
sink.stop();
