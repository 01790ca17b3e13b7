/** The client's byte codecs: the DATA/BDAT encoder and the reply reader, fed at every chunk size. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataEncoder, encodeMessage } from '../../src/client/smtp/data-encoder.js';
import { ReplyReader, ReplyProtocolError } from '../../src/client/smtp/reply-reader.js';
import { parseEhlo } from '../../src/client/smtp/extensions.js';
import { xtext } from '../../src/client/smtp/envelope.js';

/** Reference: every CRLF, CR or LF -> CRLF; dot-stuff; final CRLF; terminator. */
function reference(input: string, dotStuff: boolean): string {
  if (input === '') return dotStuff ? '.\r\n' : '';
  let s = input.replace(/\r\n|\r|\n/g, '\r\n');
  if (!s.endsWith('\r\n')) s += '\r\n';
  if (dotStuff) s = s.split('\r\n').map((l) => (l.startsWith('.') ? '.' + l : l)).join('\r\n') + '.\r\n';
  return s;
}

function encodeInChunks(input: Buffer, size: number, dotStuff: boolean): string {
  const enc = new DataEncoder(dotStuff);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) out.push(Buffer.from(enc.push(input.subarray(i, i + size))));
  out.push(enc.end());
  return Buffer.concat(out).toString('latin1');
}

test('DataEncoder equals the reference at every chunk size, for hostile line endings and dots', () => {
  const samples = ['', 'a', '.', '\r', '\n', '\r\n', '.\r\n', 'x\r\r\n.\n.', 'Subject: a\n\n.\r.\r\n..\n\rend', '\r\n.\r\n', 'a\r\n.\r\nb', 'no newline at all', '\n\n\n.', 'caf\u00e9\r\n.x'];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = ['\r', '\n', '.', 'a', ' ', '\r\n'];
  for (let n = 0; n < 200; n++) samples.push(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''));
  for (const sample of samples) {
    const input = Buffer.from(sample, 'latin1');
    for (const dot of [true, false]) {
      const want = reference(sample, dot);
      assert.equal(encodeMessage(input, dot).data.toString('latin1'), want, `whole ${JSON.stringify(sample)}`);
      for (let size = 1; size <= Math.max(1, input.length); size++) {
        const got = encodeInChunks(input, size, dot);
        assert.equal(got, want, `${JSON.stringify(sample)} size ${size} dot ${dot}`);
        assert.equal(/\r(?!\n)|(?<!\r)\n/.test(got), false);
      }
    }
  }
});

test('ReplyReader: a multi-line reply at every chunk size, enhanced codes, and bounds', () => {
  const wire = Buffer.from('250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-AUTH=PLAIN LOGIN\r\n250 8BITMIME\r\n550 5.1.1 <x@y>: no such user\r\n');
  for (let size = 1; size <= wire.length; size++) {
    const reader = new ReplyReader();
    const replies = [];
    for (let i = 0; i < wire.length; i += size) replies.push(...reader.push(wire.subarray(i, i + size)));
    assert.equal(replies.length, 2);
    assert.equal(replies[0].code, 250);
    assert.equal(replies[0].lines.length, 5);
    assert.deepEqual(replies[1], { code: 550, enhancedCode: '5.1.1', lines: ['<x@y>: no such user'] });
    const ext = parseEhlo(replies[0]);
    assert.equal(ext.get('SIZE'), '1000');
    assert.equal(ext.get('AUTH'), 'PLAIN LOGIN');
    assert.ok(ext.has('PIPELINING') && ext.has('8BITMIME'));
  }
  // 2.x.x on a 5xx reply is not taken as its enhanced code; nor is something that only looks like one.
  assert.equal(new ReplyReader().push(Buffer.from('550 2.1.0 odd\r\n'))[0].enhancedCode, null);
  assert.equal(new ReplyReader().push(Buffer.from('550 5.1.1234 odd\r\n'))[0].enhancedCode, null);
  assert.throws(() => new ReplyReader().push(Buffer.from('250-a\r\n251 b\r\n')), /changed code/);
  assert.throws(() => new ReplyReader().push(Buffer.from('25\r\n')), ReplyProtocolError);
  assert.throws(() => new ReplyReader().push(Buffer.from('650 x\r\n')), ReplyProtocolError);
  assert.throws(() => new ReplyReader({ maxLineLength: 10 }).push(Buffer.from('250 0123456789\r\n')), /longer than 10/);
  assert.throws(() => new ReplyReader({ maxLines: 3 }).push(Buffer.from('250-a\r\n'.repeat(4))), /longer than 3 lines/);
  // A hostile 1 MB reply line is refused as soon as the limit is passed, without waiting for its end.
  const reader = new ReplyReader();
  assert.throws(() => {
    for (let i = 0; i < 256; i++) reader.push(Buffer.alloc(4096, 0x32));
  }, /longer than 4096/);
});

test('xtext (RFC 3461)', () => {
  assert.equal(xtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(xtext('ü'), '+C3+BC');
});
