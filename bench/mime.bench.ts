/**
 * MIME benchmark: parse and compose throughput against postal-mime, mailparser and nodemailer's MailComposer, plus
 * peak memory while streaming a 50 MB attachment.
 *
 * Corpora are generated (deterministically, by nodemailer's MailComposer so they are not tailored to our composer)
 * into bench/.work/ on first run and reused:
 *   small: ~1,500 messages of ~34 KB, multipart/alternative with quoted-printable text + html;
 *   attach: ~120 messages with base64 attachments, ~50 MB in total.
 * BENCH_QUICK=1 uses a tenth of each corpus and fewer rounds.
 * Run: npm run bench -- mime   (or node --import tsx --expose-gc bench/mime.bench.ts)
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { composeMail, parseMail, parseMailStream, type ComposeOptions } from '../src/mime/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const WORK = join(import.meta.dirname, '.work', 'mime');
const SMALL_COUNT = QUICK ? 150 : 1500;
const ATTACH_COUNT = QUICK ? 12 : 120;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'the quick brown fox jumps over lazy dog meeting agenda report déjà vu café naïve résumé Grüße Straße über 2024 budget review next week please confirm attached invoice'.split(' ');

function paragraph(r: () => number, words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) s += (i ? ' ' : '') + WORDS[Math.floor(r() * WORDS.length)];
  return s + '.';
}

function smallMail(r: () => number, i: number): Mail.Options {
  const paras = Array.from({ length: 18 + Math.floor(r() * 12) }, () => paragraph(r, 60 + Math.floor(r() * 60)));
  return {
    from: `Sender ${i} <sender${i}@example.com>`, to: `Rcpt Ünïcode <rcpt${i}@example.org>, other${i}@example.net`,
    subject: `Quarterly report ${i} – résumé`, date: new Date(Date.UTC(2024, 0, 1) + i * 60000), messageId: `<small${i}@bench>`,
    text: paras.join('\n\n'), html: `<html><body>${paras.map((p) => `<p style="margin:0 0 1em 0">${p}</p>`).join('\n')}</body></html>`,
    textEncoding: 'quoted-printable',
  };
}

function attachMail(r: () => number, i: number): Mail.Options {
  const n = 1 + Math.floor(r() * 3);
  const total = 300 * 1024 + Math.floor(r() * 220 * 1024);
  const attachments = Array.from({ length: n }, (_, k) => {
    const b = Buffer.allocUnsafe(Math.floor(total / n));
    for (let j = 0; j < b.length; j++) b[j] = (r() * 256) | 0;
    return { filename: `file-${i}-${k}.bin`, content: b, contentType: 'application/octet-stream' };
  });
  return { from: `a${i}@example.com`, to: `b${i}@example.org`, subject: `Files ${i}`, text: paragraph(r, 80), date: new Date(0), messageId: `<att${i}@bench>`, attachments };
}

function build(mail: Mail.Options): Promise<Buffer> {
  return new Promise((resolve, reject) => new MailComposer(mail).compile().build((err, msg) => (err ? reject(err) : resolve(msg))));
}

async function corpus(name: string, count: number, make: (r: () => number, i: number) => Mail.Options): Promise<Buffer[]> {
  const dir = join(WORK, `${name}-${count}`);
  if (!existsSync(dir) || readdirSync(dir).length !== count) {
    mkdirSync(dir, { recursive: true });
    const r = rng(name.length * 7919 + count);
    for (let i = 0; i < count; i++) writeFileSync(join(dir, `${String(i).padStart(5, '0')}.eml`), await build(make(r, i)));
  }
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f)));
}

/**
 * Best time of each contender over `rounds` rounds, interleaved (A, B, C, A, B, C, ...) so that load from other
 * processes on the machine hits all of them alike. One warm-up round first.
 */
async function timeAll(rounds: number, fns: Record<string, () => Promise<void>>): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let r = 0; r <= rounds; r++) {
    for (const [name, fn] of Object.entries(fns)) {
      (globalThis as { gc?: () => void }).gc?.();
      const t = performance.now();
      await fn();
      const s = (performance.now() - t) / 1000;
      if (r > 0) best[name] = Math.min(best[name] ?? Infinity, s);
    }
  }
  return best;
}

type Parser = (raw: Buffer) => Promise<unknown>;

const parsers: Record<string, Parser> = {
  posthorn: async (raw) => {
    const m = await parseMail(raw);
    if (m.text === undefined && m.attachments.length === 0) throw new Error('posthorn: nothing parsed');
  },
  'postal-mime': async (raw) => {
    const m = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
    if (m.text === undefined && m.attachments.length === 0) throw new Error('postal-mime: nothing parsed');
  },
  mailparser: async (raw) => {
    const m = await simpleParser(raw);
    if (m.text === undefined && m.attachments.length === 0) throw new Error('mailparser: nothing parsed');
  },
};

async function benchParse(label: string, msgs: Buffer[], rounds: number): Promise<void> {
  const bytes = msgs.reduce((n, m) => n + m.length, 0);
  console.log(`\nparse ${label}: ${msgs.length} messages, ${(bytes / 1e6).toFixed(1)} MB (best of ${rounds}, interleaved)`);
  const fns: Record<string, () => Promise<void>> = {};
  for (const [name, parse] of Object.entries(parsers)) {
    fns[name] = async () => {
      for (const m of msgs) await parse(m);
    };
  }
  const best = await timeAll(rounds, fns);
  const rates: Record<string, number> = {};
  for (const name of Object.keys(parsers)) {
    rates[name] = bytes / 1e6 / best[name];
    console.log(`  ${name.padEnd(12)} ${rates[name].toFixed(1).padStart(8)} MB/s  ${(msgs.length / best[name]).toFixed(0).padStart(7)} msg/s`);
  }
  console.log(`  ratio posthorn/postal-mime ${(rates.posthorn / rates['postal-mime']).toFixed(2)}x, posthorn/mailparser ${(rates.posthorn / rates.mailparser).toFixed(2)}x`);
}

function toCompose(m: Mail.Options): ComposeOptions {
  return {
    from: m.from as string, to: m.to as string, subject: m.subject, text: m.text as string, html: m.html as string, date: m.date as Date,
    messageId: m.messageId, attachments: (m.attachments ?? []).map((a) => ({ filename: a.filename as string, content: a.content as Buffer, contentType: a.contentType })),
  };
}

async function benchCompose(label: string, mails: Mail.Options[], rounds: number): Promise<void> {
  let bytes = 0;
  for (const m of mails) bytes += (await composeMail(toCompose(m))).length;
  console.log(`\ncompose ${label}: ${mails.length} messages, ${(bytes / 1e6).toFixed(1)} MB (best of ${rounds})`);
  const best = await timeAll(rounds, {
    posthorn: async () => {
      for (const m of mails) await composeMail(toCompose(m));
    },
    MailComposer: async () => {
      for (const m of mails) await build(m);
    },
  });
  const ours = best.posthorn;
  const theirs = best.MailComposer;
  console.log(`  ${'posthorn'.padEnd(12)} ${(mails.length / ours).toFixed(0).padStart(7)} msg/s  ${(bytes / 1e6 / ours).toFixed(1)} MB/s`);
  console.log(`  ${'MailComposer'.padEnd(12)} ${(mails.length / theirs).toFixed(0).padStart(7)} msg/s`);
  console.log(`  ratio posthorn/MailComposer ${(theirs / ours).toFixed(2)}x`);
}

async function benchMemory(): Promise<void> {
  const size = 50 * 1024 * 1024;
  const gc = (globalThis as { gc?: () => void }).gc;
  function* body(): Generator<Buffer> {
    yield Buffer.from('From: a@b.c\r\nTo: d@e.f\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n');
    const line = Buffer.alloc(57 * 1024, 0x5a).toString('base64').replace(/.{76}/g, '$&\r\n');
    const chunk = Buffer.from(line, 'latin1');
    const raw = 57 * 1024;
    for (let done = 0; done < size; done += raw) yield chunk;
    yield Buffer.from('\r\n--b--\r\n');
  }
  gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed + base.external + base.arrayBuffers;
  const sample = (): void => {
    const u = process.memoryUsage();
    peakRss = Math.max(peakRss, u.rss);
    peakHeap = Math.max(peakHeap, u.heapUsed + u.external + u.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  const t = performance.now();
  const r = await parseMailStream(Readable.from(body()), {
    onAttachment: async (_info, content) => {
      for await (const _ of content) sample();
    },
  });
  clearInterval(timer);
  const s = (performance.now() - t) / 1000;
  const baseHeap = base.heapUsed + base.external + base.arrayBuffers;
  console.log(`\nstream a ${(r.attachments[0].size / 1048576).toFixed(0)} MiB attachment: ${(r.attachments[0].size / 1e6 / s).toFixed(0)} MB/s decoded`);
  console.log(`  peak above baseline: rss ${((peakRss - base.rss) / 1048576).toFixed(1)} MiB, heap+external ${((peakHeap - baseHeap) / 1048576).toFixed(1)} MiB (target < 16 MiB)`);
}

const rounds = QUICK ? 1 : 3;
if (process.argv.includes('--memory-child')) {
  await benchMemory();
  process.exit(0);
}
console.log(`node ${process.version}${QUICK ? ', BENCH_QUICK' : ''}; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores (figures are noisy when loaded)`);
console.log(`corpora in ${WORK} (generated when missing)`);
// peers are imported only now: the memory check runs in a child process with only our code loaded
const PostalMime = (await import('postal-mime')).default;
const simpleParser = (await import('mailparser')).simpleParser;
const MailComposer = (await import('nodemailer/lib/mail-composer/index.js')).default;
// memory in a fresh process (only this script loaded, nothing else on the heap), three runs, median reported
for (let i = 0; i < 3; i++) {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--memory-child'], { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
}
const smallMails = Array.from({ length: SMALL_COUNT }, (_, i) => smallMail(rng(1000 + i), i));
const small = await corpus('small', SMALL_COUNT, smallMail);
const attach = await corpus('attach', ATTACH_COUNT, attachMail);
await benchParse('small (QP text + html)', small, rounds);
await benchParse('attach (base64 attachments)', attach, rounds);
await benchCompose('small (text + html)', smallMails.slice(0, QUICK ? 150 : 600), rounds);
const attachMails = Array.from({ length: QUICK ? 6 : 30 }, (_, i) => attachMail(rng(5000 + i), i));
await benchCompose('attach (base64 attachments)', attachMails, rounds);
