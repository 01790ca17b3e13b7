/**
 * Outbound delivery benchmark: messages per second from "handed to the queue" to "accepted by the remote server", for
 * Posthorn's durable queue (fsync of message and state record per message, then remote delivery with pooled
 * connections) against nodemailer's pooled SMTP transport (no queue, no disk) sending the same messages to the same
 * sink. Both keep 8 submissions in flight and use at most 4 connections. The sink is smtp-server on 127.0.0.1.
 * N=2000 messages of ~5 KB (BENCH_QUICK=1: 300). Run: npm run bench -- delivery
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createDelivery } from '../src/delivery/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_N ?? (QUICK ? 300 : 2000));
const IN_FLIGHT = 8;

function body(i: number): Buffer {
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.\r\n';
  return Buffer.from(`From: <alice@example.org>\r\nTo: <u${i}@remote.test>\r\nSubject: bench ${i}\r\nMessage-ID: <b${i}@example.org>\r\n\r\n${line.repeat(50)}`);
}

async function sink(): Promise<{ port: number; count: () => number; waitFor: (n: number) => Promise<void>; close: () => Promise<void> }> {
  let count = 0;
  let waiter: { n: number; resolve: () => void } | null = null;
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    hideSTARTTLS: true,
    authOptional: true,
    onData(stream, _session, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        count++;
        if (waiter && count >= waiter.n) waiter.resolve();
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    count: () => count,
    waitFor: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => (waiter = { n, resolve }))),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function inFlight(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function posthorn(port: number, s: Awaited<ReturnType<typeof sink>>): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'ph-bench-dlv-'));
  const d = createDelivery({
    dataDir: dir,
    hostname: 'bench.example.org',
    config: { routes: { '*': `127.0.0.1:${port}` }, max_concurrency: 4, max_concurrency_per_domain: 4 },
    controlSocket: false,
    dkim: false,
  });
  await d.start();
  const before = s.count();
  const t0 = performance.now();
  await inFlight(N, (i) => d.queue.enqueue({ mailFrom: 'alice@example.org', recipients: [{ address: `u${i}@remote.test` }], body: '7BIT', smtputf8: false }, body(i)));
  await s.waitFor(before + N);
  await d.idle();
  const secs = (performance.now() - t0) / 1000;
  await d.stop();
  await rm(dir, { recursive: true, force: true });
  return N / secs;
}

async function nodemailerPool(port: number, s: Awaited<ReturnType<typeof sink>>): Promise<number> {
  const transport = nodemailer.createTransport({ pool: true, maxConnections: 4, maxMessages: 100, host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const before = s.count();
  const t0 = performance.now();
  await inFlight(N, (i) => transport.sendMail({ envelope: { from: 'alice@example.org', to: [`u${i}@remote.test`] }, raw: body(i) }));
  await s.waitFor(before + N);
  const secs = (performance.now() - t0) / 1000;
  transport.close();
  return N / secs;
}

const s = await sink();
// Warm-up, then measure each once (the machine is shared: figures are noisy).
await posthorn(s.port, s).catch(() => 0);
const ours = await posthorn(s.port, s);
const theirs = await nodemailerPool(s.port, s);
await s.close();
console.log(`delivery of ${N} messages (~5 KB, 8 in flight, 4 connections) to smtp-server on 127.0.0.1`);
console.log(`  posthorn queue (fsync per message + delivery): ${ours.toFixed(0)} msg/s`);
console.log(`  nodemailer pooled transport (no queue, no disk): ${theirs.toFixed(0)} msg/s`);
console.log(`  ratio posthorn/nodemailer: ${(ours / theirs).toFixed(2)}`);
