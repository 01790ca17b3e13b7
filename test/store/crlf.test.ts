/** The streaming line-end conversion and TOP give the same result at every chunk size as on the whole buffer. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BareLfCounter, CrlfConverter, countBareLf, topLines } from '../../src/store/maildir/crlf.js';
import { topOfMessage } from '../../src/store/top.js';

function toCrlf(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

function chunked(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts);
}

async function* from(chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

const samples = [
  'Subject: a\r\nTo: b\r\n\r\nline 1\r\nline 2\r\nline 3\r\n',
  'Subject: lf\n\nbody\nmore\n',
  'Subject: mixed\r\n\nbody\r\nbare cr\r\rx\n\n\n',
  '\r\nempty header\r\nsecond\r\n',
  'no blank line\r\nat all\r\n',
  'no final newline\r\n\r\nlast line',
  '',
  '\n',
  '\r\n\r\n\r\n',
];

describe('CRLF conversion and streaming TOP', () => {
  it('counts and converts bare LFs at every chunk size', () => {
    for (const s of samples) {
      const data = Buffer.from(s);
      const expected = Buffer.from(s.replace(/(?<!\r)\n/g, '\r\n'));
      assert.equal(data.length + countBareLf(data, false), expected.length, JSON.stringify(s));
      for (let size = 1; size <= Math.max(1, data.length); size++) {
        const counter = new BareLfCounter();
        const conv = new CrlfConverter();
        const out = chunked(data, size).map((c) => {
          counter.add(c);
          return conv.convert(c);
        });
        assert.equal(data.length + counter.count, expected.length);
        assert.deepEqual(Buffer.concat(out), expected, `${JSON.stringify(s)} at ${size}`);
      }
    }
  });

  it('matches topOfMessage for every line count at every chunk size', async () => {
    for (const s of samples) {
      const data = Buffer.from(s.includes('\r') ? s : toCrlf(s)).subarray(0);
      for (let lines = 0; lines <= 5; lines++) {
        const expected = topOfMessage(data, lines);
        for (let size = 1; size <= Math.max(1, data.length); size++) {
          assert.deepEqual(await collect(topLines(from(chunked(data, size)), lines)), expected, `${JSON.stringify(s)} lines=${lines} size=${size}`);
        }
      }
    }
  });

  it('stops reading the source once the lines are out', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.from(i === 0 ? 'H: v\r\n\r\n' : `line ${i}\r\n`);
      }
    }
    const out = await collect(topLines(source(), 2));
    assert.equal(out.toString(), 'H: v\r\n\r\nline 1\r\nline 2\r\n');
    assert.equal(pulled, 3);
  });
});
