import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Base64Decoder, QuotedPrintableDecoder, decodeBase64, decodeQuotedPrintable, encodeBase64Lines, encodeQuotedPrintable } from '../../src/mime/index.js';

function chunked(dec: { update(b: Buffer): Buffer; final(): Buffer }, data: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(dec.update(data.subarray(i, i + size)));
  out.push(dec.final());
  return Buffer.concat(out);
}

test('base64: decodes CRLF-wrapped data identically at every chunk size', () => {
  const raw = randomBytes(1000);
  const enc = encodeBase64Lines(raw);
  for (let size = 1; size <= 90; size++) assert.deepEqual(chunked(new Base64Decoder(), enc, size), raw, `chunk size ${size}`);
  assert.deepEqual(chunked(new Base64Decoder(), enc, enc.length), raw);
});

test('base64: lenient on whitespace, odd line lengths, missing padding and junk', () => {
  assert.equal(decodeBase64(Buffer.from('SGVs bG8g\r\nV29y\tbGQ')).toString(), 'Hello World');
  assert.equal(decodeBase64(Buffer.from('SGVsbG8')).toString(), 'Hello');
  assert.equal(decodeBase64(Buffer.from('SGVsbG8=\r\n')).toString(), 'Hello');
  assert.equal(decodeBase64(Buffer.from('SGV*sbG8h')).toString(), 'Hello!');
  const raw = randomBytes(500);
  const odd = raw.toString('base64').replace(/.{7}/g, '$&\n');
  for (const size of [1, 3, 7, 8, 64]) assert.deepEqual(chunked(new Base64Decoder(), Buffer.from(odd), size), raw);
});

test('base64: encoder wraps at 76 characters with CRLF', () => {
  const enc = encodeBase64Lines(randomBytes(300)).toString();
  for (const line of enc.split('\r\n').slice(0, -1)) assert.ok(line.length <= 76);
  assert.ok(enc.endsWith('\r\n'));
});

test('quoted-printable: soft breaks, escapes, lenient bad escapes (RFC 2045 6.7)', () => {
  const cases: Array<[string, string]> = [
    ['Hello=20World', 'Hello World'],
    ['soft=\r\nbreak', 'softbreak'],
    ['soft=\nbreak', 'softbreak'],
    ['padded=  \r\nbreak', 'paddedbreak'],
    ['caf=C3=A9', 'café'],
    ['lower=c3=a9', 'loweré'],
    ['bad=ZZescape', 'bad=ZZescape'],
    ['trailing=', 'trailing='],
    ['a=3D=3Db', 'a==b'],
  ];
  for (const [input, want] of cases) assert.equal(decodeQuotedPrintable(Buffer.from(input)).toString('utf8'), want, input);
});

test('quoted-printable: same result at every chunk size', () => {
  const text = Buffer.from('Line one with =C3=A9 and a soft=\r\nbreak, =ZZ bad, end=\r\n\r\nnext =3D= \r\nx', 'latin1');
  const whole = decodeQuotedPrintable(text);
  for (let size = 1; size <= text.length; size++) assert.deepEqual(chunked(new QuotedPrintableDecoder(), text, size), whole, `size ${size}`);
});

test('quoted-printable: encoder round-trips random bytes and keeps lines at most 76', () => {
  for (let i = 0; i < 50; i++) {
    const raw = randomBytes(1 + i * 37);
    const enc = encodeQuotedPrintable(raw);
    for (const line of enc.toString('latin1').split('\r\n')) assert.ok(line.length <= 76, line);
    assert.ok(/^[\x20-\x7e\t\r\n]*$/.test(enc.toString('latin1')));
    // hard line breaks are canonicalised to CRLF by design; compare after the same canonicalisation
    const canon = Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
    assert.deepEqual(decodeQuotedPrintable(enc), canon);
  }
  assert.equal(encodeQuotedPrintable(Buffer.from('trailing space \nx')).toString(), 'trailing space=20\r\nx');
});
