import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatParam, parseParamValue } from '../../src/mime/index.js';

test('quoted strings, tokens and case', () => {
  const p = parseParamValue('Text/Plain; Charset="utf-8"; format=flowed; name="a \\"b\\";c.txt"');
  assert.equal(p.value, 'text/plain');
  assert.equal(p.params.charset, 'utf-8');
  assert.equal(p.params.format, 'flowed');
  assert.equal(p.params.name, 'a "b";c.txt');
});

test('RFC 2231 continuations, charset and language', () => {
  const p = parseParamValue(
    "attachment; filename*0*=us-ascii'en'This%20is%20even%20more%20; filename*1*=%2A%2A%2Afun%2A%2A%2A%20; filename*2=\"isn't it!\"",
  );
  assert.equal(p.value, 'attachment');
  assert.equal(p.params.filename, "This is even more ***fun*** isn't it!");
  assert.equal(parseParamValue("attachment; filename*=UTF-8''%E4%B8%AD%E6%96%87.pdf").params.filename, '中文.pdf');
  assert.equal(parseParamValue("attachment; filename*=iso-8859-1'de'M%FCller.txt").params.filename, 'Müller.txt');
  // out-of-order sections are sorted
  assert.equal(parseParamValue('a; name*1="world"; name*0="hello "').params.name, 'hello world');
});

test('unencoded UTF-8 and encoded words in parameters (QUIRK)', () => {
  assert.equal(parseParamValue('attachment; filename="résumé.pdf"').params.filename, 'résumé.pdf');
  assert.equal(parseParamValue('attachment; filename="=?UTF-8?B?5Lit5paHLnBkZg==?="').params.filename, '中文.pdf');
});

test('hostile parameter names are ordinary keys', () => {
  const p = parseParamValue('text/plain; __proto__=x; constructor=y; toString=z');
  assert.equal(p.params.__proto__, 'x');
  assert.equal(Object.getPrototypeOf(p.params), null);
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal(p.params.constructor, 'y');
});

test('formatParam writes RFC 2231 sections for non-ASCII values and round-trips', () => {
  assert.deepEqual(formatParam('filename', 'a b.txt'), ['filename="a b.txt"']);
  assert.deepEqual(formatParam('filename', 'report.pdf'), ['filename=report.pdf']);
  const name = '非常に長い日本語のファイル名です、本当に長いファイル名.pdf';
  const sections = formatParam('filename', name);
  assert.ok(sections.length > 1);
  for (const s of sections) assert.ok(s.length < 78 && /^[\x21-\x7e]+$/.test(s), s);
  assert.equal(parseParamValue(['attachment', ...sections].join('; ')).params.filename, name);
});

test('comments around values are dropped; long white space runs cost linear time (no regex backtracking)', () => {
  assert.equal(parseParamValue('multipart/mixed (a comment); boundary=(c1) (c2) "b-1" (trailing)').params.boundary, 'b-1');
  assert.equal(parseParamValue('a; name=token (comment)').params.name, 'token');
  assert.equal(parseParamValue('a; filename=file (1).pdf').params.filename, 'file (1).pdf');
  const t = performance.now();
  const p = parseParamValue('a; name=x' + ' '.repeat(500000) + 'y; other=(' + ' '.repeat(500000));
  assert.ok(p.params.name.startsWith('x'));
  assert.ok(performance.now() - t < 5000);
});
