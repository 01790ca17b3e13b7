import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { composeMailStream, parseMailStream, parseMail } from '../../src/mime/index.js';

/** A deterministic pseudo-random byte source of `size` bytes, produced lazily in 64 KiB pieces. */
function source(size: number, seed = 1): Readable {
  let produced = 0;
  let x = seed;
  return new Readable({
    read() {
      if (produced >= size) return void this.push(null);
      const n = Math.min(65536, size - produced);
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        b[i] = x >>> 16;
      }
      produced += n;
      this.push(b);
    },
  });
}

async function digest(r: Readable): Promise<{ sha: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of r) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha: h.digest('hex'), size };
}

test('compose stream -> parse stream: a 6 MB attachment flows through both without being held', async () => {
  const size = 6 * 1024 * 1024;
  const want = await digest(source(size));
  const composed = composeMailStream({
    from: 'a@b.c', to: 'd@e.f', subject: 'big', text: 'see attachment',
    attachments: [{ filename: 'big.bin', content: source(size) }, { filename: 'small.txt', content: 'small' }],
  });
  let maxBuffered = 0;
  const seen: Array<{ name?: string; sha: string; size: number }> = [];
  const result = await parseMailStream(composed, {
    highWaterMark: 16 * 1024,
    onAttachment: async (info, content) => {
      const h = createHash('sha256');
      let n = 0;
      // a slow consumer: the parser must wait for it (backpressure), not buffer the attachment
      await pipeline(content, new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _enc, cb) {
          maxBuffered = Math.max(maxBuffered, content.readableLength);
          h.update(chunk);
          n += chunk.length;
          setImmediate(cb);
        },
      }));
      seen.push({ name: info.filename, sha: h.digest('hex'), size: n });
    },
  });
  assert.equal(result.text, 'see attachment');
  assert.deepEqual(seen.find((s) => s.name === 'big.bin'), { name: 'big.bin', sha: want.sha, size });
  assert.deepEqual(result.attachments.map((a) => [a.filename, a.size]), [['big.bin', size], ['small.txt', 5]]);
  assert.equal(result.attachments[0].sha256, want.sha);
  assert.ok(maxBuffered <= 2 * 1024 * 1024, `stream buffered ${maxBuffered} bytes`);
});

test('parseMailStream without onAttachment still reports sizes and hashes', async () => {
  const raw = Buffer.from('Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--q--\r\n');
  const r = await parseMailStream(raw);
  assert.equal(r.attachments[0].size, 5);
  assert.equal(r.attachments[0].sha256, createHash('sha256').update('hello').digest('hex'));
  const same = await parseMail(raw);
  assert.equal(same.attachments[0].content.toString(), 'hello');
});

test('a failing or quitting attachment handler does not stall parsing; a failure is reported at the end', async () => {
  const mk = (): Readable => composeMailStream({
    from: 'a@b.c', to: 'd@e.f', text: 'x',
    attachments: [{ filename: 'one.bin', content: source(3 * 1024 * 1024, 2) }, { filename: 'two.bin', content: source(3 * 1024 * 1024, 3) }],
  });
  await assert.rejects(parseMailStream(mk(), { highWaterMark: 1024, onAttachment: () => Promise.reject(new Error('disk full')) }), /disk full/);
  await assert.rejects(parseMailStream(mk(), { highWaterMark: 1024, onAttachment: () => { throw new Error('sync boom'); } }), /sync boom/);
  const r = await parseMailStream(mk(), { highWaterMark: 1024, onAttachment: (_info, content) => void content.destroy() });
  assert.deepEqual(r.attachments.map((a) => a.size), [3 * 1024 * 1024, 3 * 1024 * 1024]);
});
