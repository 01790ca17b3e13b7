import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCharset, decodeEncodedWords, encodeHeaderText, encodeWords } from '../../src/mime/index.js';

test('RFC 2047 section 8 examples', () => {
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?='), 'a');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?= b'), 'a b');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?='), 'ab');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?='), 'ab');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a_b?='), 'a b');
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?='), 'a b');
});

test('classic subjects: ISO-8859-1 Q and GB2312 B', () => {
  assert.equal(decodeEncodedWords('=?ISO-8859-1?Q?Andr=E9?= Pirard'), 'André Pirard');
  assert.equal(decodeEncodedWords('=?iso-8859-1?q?this=20is=20some=20text?='), 'this is some text');
  assert.equal(decodeEncodedWords('=?GB2312?B?1tDOxNb3zOI=?='), '中文主题');
  assert.equal(decodeEncodedWords('=?windows-1252?Q?=80_price?='), '€ price');
});

test('a multi-byte character split across two encoded words is joined', () => {
  // "é" is C3 A9 in UTF-8, split between the words; "中" (E4 B8 AD) split in base64
  assert.equal(decodeEncodedWords('=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?='), 'café');
  const bytes = Buffer.from('中文', 'utf8');
  const w1 = bytes.subarray(0, 2).toString('base64');
  const w2 = bytes.subarray(2).toString('base64');
  assert.equal(decodeEncodedWords(`=?utf-8?B?${w1}?=\r\n =?utf-8?B?${w2}?=`), '中文');
});

test('RFC 2231 language suffix and malformed words', () => {
  assert.equal(decodeEncodedWords('=?utf-8*en?Q?Hello?='), 'Hello');
  assert.equal(decodeEncodedWords('=?US-ASCII*EN?Q?Keith_Moore?='), 'Keith Moore');
  assert.equal(decodeEncodedWords('=?utf-8?X?abc?='), '=?utf-8?X?abc?=');
  assert.equal(decodeEncodedWords('=?utf-8?Q?unterminated'), '=?utf-8?Q?unterminated');
  assert.equal(decodeEncodedWords('plain =? text ?= here'), 'plain =? text ?= here');
  const warnings: string[] = [];
  assert.equal(decodeEncodedWords('=?x-unknown?Q?caf=E9?=', (w) => warnings.push(w)), 'café');
  assert.equal(warnings.length, 1);
});

test('encoding picks the shorter of Q and B, splits on characters, words at most 75 chars', () => {
  assert.equal(encodeWords('café au lait'), '=?UTF-8?Q?caf=C3=A9_au_lait?=');
  assert.equal(encodeWords('café'), '=?UTF-8?B?Y2Fmw6k=?=');
  assert.match(encodeWords('中文中文中文'), /^=\?UTF-8\?B\?/);
  const long = '中文主题'.repeat(30) + 'é😀'.repeat(20);
  const enc = encodeHeaderText(long);
  for (const w of enc.split(' ')) assert.ok(w.length <= 75, w);
  assert.equal(decodeEncodedWords(enc), long);
  // every word decodes on its own: no character split between words
  for (const w of enc.split(' ')) assert.ok(!decodeEncodedWords(w).includes('\ufffd'));
});

test('legacy charsets in encoded words round-trip; ISO-2022-JP words are self-contained', () => {
  for (const [cs, text] of [['gb2312', '关于会议的通知'], ['big5', '關於會議的通知'], ['shift_jis', '会議のお知らせ'], ['euc-kr', '회의 안내'], ['iso-2022-jp', '会議のお知らせ'.repeat(8)], ['iso-8859-2', 'Zażółć gęślą']] as const) {
    const enc = encodeHeaderText(text, cs);
    assert.equal(decodeEncodedWords(enc), text, cs);
    if (cs === 'iso-2022-jp') {
      for (const w of enc.split(' ')) {
        const b64 = /\?B\?([^?]*)\?=/.exec(w)?.[1] ?? '';
        assert.ok(decodeCharset(Buffer.from(b64, 'base64'), cs).text.length > 0);
        assert.ok(Buffer.from(b64, 'base64').subarray(-3).equals(Buffer.from([0x1b, 0x28, 0x42])), 'ends in ASCII mode');
      }
    }
  }
});

test('header text: ASCII words stay readable, non-ASCII runs are encoded', () => {
  assert.equal(encodeHeaderText('plain subject'), 'plain subject');
  const enc = encodeHeaderText('Re: Grüße aus Köln today');
  assert.ok(enc.startsWith('Re: =?UTF-8?'));
  assert.ok(enc.endsWith(' today'));
  assert.equal(decodeEncodedWords(enc), 'Re: Grüße aus Köln today');
  // text that looks like an encoded word is encoded so it is not misread
  assert.equal(decodeEncodedWords(encodeHeaderText('=?utf-8?Q?x?=')), '=?utf-8?Q?x?=');
});
