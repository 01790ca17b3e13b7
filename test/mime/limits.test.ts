import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMail, MimeError, MimeStreamParser } from '../../src/mime/index.js';

function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  return fn().then((value) => ({ value, ms: performance.now() - t }));
}

test('deep nesting (the Dovecot/mailparser CVE shape) stops at maxDepth, flagged, in bounded time', async () => {
  const depth = 5000;
  let head = '';
  for (let i = 0; i < depth; i++) head += `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`;
  const raw = 'Subject: deep\r\n' + head + 'Content-Type: text/plain\r\n\r\ninnermost\r\n';
  const { value: m, ms } = await timed(() => parseMail(raw));
  assert.ok(ms < 30000, `${ms} ms`);
  assert.equal(m.truncated, true);
  assert.ok(m.warnings.some((w) => /maxDepth \(50\)/.test(w)));
  let d = 0;
  for (let p = m.root; p.children.length; p = p.children[0]) d++;
  assert.equal(d, 50);
  const shallow = await parseMail(raw, { maxDepth: 5 });
  assert.ok(shallow.warnings.some((w) => /maxDepth \(5\)/.test(w)));
});

test('many parts stop at maxParts, flagged', async () => {
  const parts = Array.from({ length: 5000 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
  const raw = `Content-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--\r\n`;
  const m = await parseMail(raw, { maxParts: 100 });
  assert.equal(m.truncated, true);
  assert.equal(m.root.children.length, 99);
  assert.ok(m.warnings.some((w) => /maxParts \(100\)/.test(w)));
  const all = await parseMail(raw);
  assert.equal(all.root.children.length, 1999);
});

test('huge headers: one endless line and many fields are cut at maxHeaderBytes / maxHeaderFields', async () => {
  const long = 'Subject: ' + 'x'.repeat(3 * 1024 * 1024) + '\r\nFrom: a@b.c\r\n\r\nbody\r\n';
  const { value: m, ms } = await timed(() => parseMail(long));
  assert.ok(ms < 20000);
  assert.equal(m.truncated, true);
  assert.equal(m.text, 'body\n');
  const many = Array.from({ length: 20000 }, (_, i) => `X-H${i}: v`).join('\r\n') + '\r\nSubject: late\r\n\r\nbody';
  const m2 = await parseMail(many);
  assert.equal(m2.headers.length, 5000);
  assert.equal(m2.truncated, true);
  assert.equal(m2.text, 'body');
});

test('a long header line written one byte at a time costs linear time', () => {
  const cost = (n: number): number => {
    const raw = Buffer.from('Subject: ' + 'y'.repeat(n) + '\r\n\r\nbody');
    const parser = new MimeStreamParser({ partStart() {}, partData() {}, partEnd() {}, warn() {}, truncate() {} });
    const t = performance.now();
    for (let i = 0; i < raw.length; i++) parser.write(raw.subarray(i, i + 1));
    parser.end();
    assert.equal(parser.root.headers[0].value.length, n);
    return performance.now() - t;
  };
  cost(20000);
  const small = cost(50000);
  const big = cost(400000);
  // 8x the bytes: linear is ~8x; quadratic would be ~64x (generous bound: the machine may be busy)
  assert.ok(big < small * 40 + 100, `${small} ms vs ${big} ms`);
});

test('100k addresses: linear, capped by maxAddresses and flagged', async () => {
  const to = Array.from({ length: 100000 }, (_, i) => `u${i}@example.com`).join(', ');
  const big = { maxHeaderBytes: 4 * 1024 * 1024 };
  const { value: m, ms } = await timed(() => parseMail(`To: ${to}\r\n\r\nx`, big));
  assert.ok(ms < 30000);
  assert.equal(m.to.length, 10000);
  assert.equal(m.truncated, true);
  assert.ok(m.warnings.some((w) => /maxAddresses/.test(w)));
  const some = to.split(', ').slice(0, 20000).join(', ');
  assert.equal((await parseMail(`To: ${some}\r\n\r\nx`, { maxAddresses: 200000 })).to.length, 20000);
});

test('maxMessageBytes rejects with a LIMIT_EXCEEDED MimeError; bad options are refused', async () => {
  await assert.rejects(parseMail(Buffer.alloc(2000, 0x61), { maxMessageBytes: 1000 }), (e: unknown) => e instanceof MimeError && e.code === 'LIMIT_EXCEEDED');
  await assert.rejects(parseMail('x', { maxParts: -1 }), TypeError);
  await assert.rejects(parseMail(42 as unknown as string), (e: unknown) => e instanceof MimeError && e.code === 'INPUT_ERROR');
});

test('maxTextBytes truncates a huge text body, flagged', async () => {
  const m = await parseMail('Content-Type: text/plain\r\n\r\n' + 'z'.repeat(100000), { maxTextBytes: 1000 });
  assert.equal(m.text?.length, 1000);
  assert.equal(m.truncated, true);
});

test('hostile header values (long runs of specials in every structured header) cost linear time', async () => {
  const runs = ['(', ')', '"', '<', '=', '?', ',', ';', ':', '\\', '@', '*', '%', '=?', '=?utf-8?q?', '(a', '<a', 'a*0*=', "utf-8''", '\r\n ', '1 '];
  const names = ['Subject', 'From', 'To', 'Content-Type', 'Content-Disposition', 'Date', 'References', 'Content-ID'];
  let slowest = 0;
  for (const c of runs) {
    for (const name of names) {
      let v = c.repeat(Math.floor(60000 / c.length));
      if (name.startsWith('Content-') && name !== 'Content-ID') v = 'multipart/mixed; boundary=' + v;
      const t = performance.now();
      await parseMail(`${name}: ${v}\r\n\r\nbody`);
      slowest = Math.max(slowest, performance.now() - t);
    }
  }
  assert.ok(slowest < 5000, `slowest ${slowest} ms`);
});
