import { test } from 'node:test';
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { decodeCharset, decodeUnlabelled, encodeCharset, normalizeCharset } from '../../src/mime/index.js';

test('windows-1252 0x80-0x9F decode to the euro sign and curly quotes (nodejs/node#56542)', () => {
  const bytes = Buffer.from([0x80, 0x20, 0x93, 0x71, 0x94, 0x20, 0x85, 0xe9]);
  for (const label of ['windows-1252', 'iso-8859-1', 'us-ascii', 'cp1252', 'latin1']) {
    assert.equal(decodeCharset(bytes, label).text, '\u20ac \u201cq\u201d \u2026é', label);
  }
});

test('charset aliases', () => {
  assert.equal(normalizeCharset('GB2312'), 'gbk');
  assert.equal(normalizeCharset('"x-gbk"'), 'gbk');
  assert.equal(normalizeCharset('cp932'), 'shift_jis');
  assert.equal(normalizeCharset('ks_c_5601-1987'), 'euc-kr');
  assert.equal(normalizeCharset('ISO8859_15'), 'iso-8859-15');
  assert.equal(normalizeCharset('utf-8*en'), 'utf-8');
  assert.equal(decodeCharset(iconv.encode('中文', 'gbk'), 'gb2312').text, '中文');
  assert.equal(decodeCharset(iconv.encode('日本語', 'shift_jis'), 'cp932').text, '日本語');
  assert.equal(decodeCharset(iconv.encode('한국어', 'euc-kr'), 'ks_c_5601-1987').text, '한국어');
  assert.equal(decodeCharset(Buffer.from([0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42]), 'iso-2022-jp').text, '日本');
  assert.equal(decodeCharset(iconv.encode('Привет', 'koi8-r'), 'koi8-r').text, 'Привет');
});

test('UTF-7 (RFC 2152) decodes', () => {
  assert.equal(decodeCharset(Buffer.from('Hi Mom -+Jjo--!'), 'utf-7').text, 'Hi Mom -\u263a-!');
  assert.equal(decodeCharset(Buffer.from('+ZeVnLIqe-'), 'UTF-7').text, '日本語');
});

test('unknown charset gives latin1 text and a warning, never a throw', () => {
  const d = decodeCharset(Buffer.from([0x61, 0xe9]), 'x-made-up');
  assert.equal(d.text, 'aé');
  assert.match(d.warning ?? '', /unknown charset/);
});

test('unlabelled 8-bit text: UTF-8 first, then GB18030 / Big5 / Shift_JIS / EUC-KR guessed and reported', () => {
  assert.deepEqual(decodeUnlabelled(Buffer.from('Grüße')), { text: 'Grüße', charset: 'utf-8' });
  const cases: Array<[string, string, string]> = [
    ['关于下周会议的安排通知', 'gbk', 'gb18030'],
    ['關於下週會議的安排通知', 'big5', 'big5'],
    ['来週の会議についてのお知らせ', 'shift_jis', 'shift_jis'],
    ['다음 주 회의 일정 안내', 'euc-kr', 'euc-kr'],
  ];
  for (const [text, enc, want] of cases) {
    const d = decodeUnlabelled(iconv.encode(text, enc));
    assert.equal(d.charset, want, text);
    assert.equal(d.text, text);
    assert.match(d.warning ?? '', /guessed/);
  }
});

test('legacy charsets encode for composing, ISO-2022-JP included', () => {
  for (const cs of ['gb2312', 'gbk', 'gb18030', 'big5', 'shift_jis', 'euc-kr', 'iso-2022-jp', 'iso-8859-2']) {
    const text = cs === 'iso-8859-2' ? 'Zażółć' : cs === 'euc-kr' ? '한국어' : cs.startsWith('gb') ? '中文' : cs === 'big5' ? '中文' : '日本語';
    assert.equal(decodeCharset(encodeCharset(text, cs), cs).text, text, cs);
  }
  const jis = encodeCharset('ﾃｽﾄ abc 日本', 'iso-2022-jp');
  assert.ok(jis.every((b) => b < 0x80));
  assert.equal(decodeCharset(jis, 'iso-2022-jp').text, 'テスト abc 日本');
});

test('unlabelled Latin-1 text is not mistaken for double-byte CJK', () => {
  for (const text of ['café', 'Renée Zellweger', 'Grüße aus Köln', 'Straße über']) {
    const d = decodeUnlabelled(Buffer.from(text, 'latin1'));
    assert.equal(d.text, text);
    assert.equal(d.charset, 'windows-1252');
  }
  assert.equal(decodeUnlabelled(Buffer.from([0x93, 0x71, 0x94])).text, '\u201cq\u201d');
});
