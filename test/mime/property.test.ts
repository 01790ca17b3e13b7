/**
 * Property and fuzz tests with a seeded generator (set MIME_FUZZ_SEED to explore other seeds, MIME_FUZZ_RUNS for more).
 * - round trip: random messages composed, parsed back, compared field by field;
 * - fuzz: mutated messages never throw and give the same result at every chunking, in bounded time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { composeMail, parseMail, MimeStreamParser, type ComposeOptions, type ParsedMail, type MimePart } from '../../src/mime/index.js';

const SEED = Number(process.env.MIME_FUZZ_SEED ?? 20240607);
const RUNS = Number(process.env.MIME_FUZZ_RUNS ?? 60);

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

const POOLS: Record<string, string[]> = {
  'utf-8': [...'abcdefghij KLMNOP 0123 .,;:!?()<>"\'=_-/\\@ äöüßéèñçøå €“”… 中文主题测试 日本語のテスト 한국어 😀🎉 Ωλπ'],
  gb2312: [...'abc XYZ 0123 .,!? 中文主题测试关于会议安排通知'],
  big5: [...'abc XYZ 0123 .,!? 關於會議的安排通知中文'],
  'iso-2022-jp': [...'abc XYZ 0123 .,!? 日本語のテストかなカナ会議'],
  shift_jis: [...'abc XYZ 0123 .,!? 日本語のテストかなカナ会議'],
  'euc-kr': [...'abc XYZ 0123 .,!? 한국어회의안내일정'],
  'iso-8859-2': [...'abc XYZ 0123 .,!? ŁóżźćęąśńŠŽ'],
};

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

function str(r: () => number, pool: string[], max: number): string {
  const n = Math.floor(r() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, pool);
  return s;
}

function randomOptions(r: () => number, i: number): ComposeOptions {
  const charset = r() < 0.5 ? 'utf-8' : pick(r, Object.keys(POOLS));
  const pool = POOLS[charset];
  const text = r() < 0.8 ? Array.from({ length: 1 + Math.floor(r() * 6) }, () => str(r, pool, r() < 0.2 ? 300 : 60)).join('\n') : undefined;
  const html = r() < 0.4 ? `<p>${str(r, pool, 80)}</p>` : undefined;
  const attachments = Array.from({ length: Math.floor(r() * 3) }, (_, k) => ({
    filename: `${str(r, POOLS['utf-8'].filter((c) => !'\\/"'.includes(c)), 30).trim() || 'file'}.${k}.bin`,
    content: Buffer.from(Array.from({ length: Math.floor(r() * 3000) }, () => Math.floor(r() * 256))),
    ...(html && r() < 0.3 ? { cid: `c${k}@x` } : {}),
  }));
  return {
    from: { name: str(r, pool, 20), address: `from${i}@example.com` },
    to: Array.from({ length: 1 + Math.floor(r() * 3) }, (_, k) => ({ name: str(r, pool, 25), address: `to${k}@example.org` })),
    subject: str(r, pool, 150),
    text, html, attachments, charset, seed: `s${i}`, date: new Date(Date.UTC(2020, 0, 1) + i * 1000),
  };
}

const norm = (s: string | undefined): string => (s ?? '').replace(/\s+/g, ' ').trim();

test(`round trip: ${RUNS} random messages composed and parsed back (seed ${SEED})`, async () => {
  const r = rng(SEED);
  for (let i = 0; i < RUNS; i++) {
    const o = randomOptions(r, i);
    const raw = await composeMail(o);
    for (const line of raw.toString('latin1').split('\r\n')) assert.ok(line.length <= 998 && /^[\x20-\x7e\t\x1b]*$/.test(line), `run ${i}: bad line ${line}`);
    const m = await parseMail(raw);
    const ctx = `run ${i} (${o.charset})`;
    assert.equal(norm(m.subject), norm(o.subject), ctx);
    const from = o.from as { name: string; address: string };
    assert.deepEqual(m.from.map((x) => [norm(x.name), x.address]), [[norm(from.name), from.address]], ctx);
    assert.deepEqual(m.to.map((x) => [norm(x.name), x.address]), (o.to as Array<{ name: string; address: string }>).map((x) => [norm(x.name), x.address]), ctx);
    const single = !o.html && !(o.attachments ?? []).length;
    const text = o.text as string | undefined;
    if (text !== undefined) assert.equal(m.text, single && text !== '' && !text.endsWith('\n') ? text + '\n' : text || undefined, ctx);
    if (o.html !== undefined && o.text === undefined && !(o.attachments ?? []).length) assert.equal(m.html, o.html + '\n', ctx);
    else if (o.html !== undefined) assert.equal(m.html, o.html, ctx);
    const want = (o.attachments ?? []).map((a) => [a.filename, (a.content as Buffer).toString('hex')]).sort();
    assert.deepEqual(m.attachments.map((a) => [a.filename, a.content.toString('hex')]).sort(), want, ctx);
  }
});

function shape(m: ParsedMail): string {
  const tree = (p: MimePart): unknown => [p.path, p.contentType, p.size, p.children.map(tree)];
  return JSON.stringify({
    h: m.headers.map((h) => [h.name, h.value]), s: m.subject, f: m.from, t: m.to, x: m.text, y: m.html, w: m.warnings, tr: m.truncated, tree: tree(m.root),
    a: m.attachments.map((a) => [a.part, a.filename, a.size, createHash('sha1').update(a.content).digest('hex')]),
  });
}

const TOKENS = ['--', '\r\n', '\n', '\r\n\r\n', '=', '=\r\n', '=?utf-8?B?', '?=', '=?gb2312?Q?=D6', '"', '(', '<', '>', ',', ';', ':', '\0', '\xff', '\x80',
  'Content-Type: multipart/mixed; boundary=x\r\n', '--x\r\n', '--x--', 'Content-Transfer-Encoding: base64\r\n', 'Content-Transfer-Encoding: quoted-printable\r\n',
  'charset=utf-7', 'filename*0*=utf-8\'\'%E4', 'message/rfc822', ' ', '\t'];

function mutate(r: () => number, input: Buffer): Buffer {
  let s = input.toString('latin1');
  const n = 1 + Math.floor(r() * 8);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.3) s = s.slice(0, at) + pick(r, TOKENS) + s.slice(at);
    else if (op < 0.5) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 20));
    else if (op < 0.7) s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(at + 1);
    else if (op < 0.8) s = s.slice(0, at);
    else {
      const from = Math.floor(r() * s.length);
      s = s.slice(0, at) + s.slice(from, from + Math.floor(r() * 200)) + s.slice(at);
    }
  }
  return Buffer.from(s, 'latin1');
}

async function parseChunked(raw: Buffer, r: () => number): Promise<ParsedMail> {
  async function* gen(): AsyncGenerator<Buffer> {
    let i = 0;
    while (i < raw.length) {
      const size = r() < 0.3 ? 1 + Math.floor(r() * 3) : 1 + Math.floor(r() * 300);
      yield raw.subarray(i, i + size);
      i += size;
    }
  }
  return parseMail(gen());
}

test(`fuzz: mutated messages never throw, are chunking-independent and fast (seed ${SEED})`, async () => {
  const r = rng(SEED + 1);
  const seeds: Buffer[] = ['torture.eml', 'gbk.eml', 'big5.eml', 'iso-2022-jp.eml', 'unlabelled-gbk.eml'].map((f) => readFileSync(new URL(`./fixtures/${f}`, import.meta.url)));
  for (let i = 0; i < 20; i++) seeds.push(await composeMail(randomOptions(r, i)));
  for (let i = 0; i < RUNS * 2; i++) {
    const raw = mutate(r, pick(r, seeds));
    const t = performance.now();
    const whole = await parseMail(raw);
    const chunked = await parseChunked(raw, r);
    assert.equal(shape(chunked), shape(whole), `run ${i}: chunking changed the result for ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
    assert.ok(performance.now() - t < 10000, `run ${i} too slow`);
  }
});

test('fuzz: random bytes through the low-level parser never throw', () => {
  const r = rng(SEED + 2);
  for (let i = 0; i < RUNS; i++) {
    const p = new MimeStreamParser({ partStart() {}, partData() {}, partEnd() {}, warn() {}, truncate() {} });
    const bytes = Buffer.from(Array.from({ length: Math.floor(r() * 4000) }, () => (r() < 0.5 ? pick(r, [10, 13, 45, 58, 61, 32]) : Math.floor(r() * 256))));
    for (let off = 0; off < bytes.length; ) {
      const n = 1 + Math.floor(r() * 100);
      p.write(bytes.subarray(off, off + n));
      off += n;
    }
    p.end();
  }
});
