import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import iconv from 'iconv-lite';
import { parseMail, type ParsedMail, type MimePart } from '../../src/mime/index.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const crlf = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

function tree(p: MimePart): unknown {
  return { path: p.path, type: p.contentType, size: p.size, children: p.children.map(tree) };
}

function summary(m: ParsedMail): unknown {
  return {
    headers: m.headers.map((h) => [h.name, h.value]), subject: m.subject, from: m.from, to: m.to, date: m.date?.toISOString(),
    text: m.text, html: m.html, warnings: m.warnings, truncated: m.truncated, tree: tree(m.root),
    attachments: m.attachments.map((a) => ({ ...a, content: createHash('sha256').update(a.content).digest('hex') })),
  };
}

function chunks(buf: Buffer, size: number): Readable {
  const list: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) list.push(buf.subarray(i, i + size));
  return Readable.from(list);
}

test('a simple message: headers in order, raw bytes kept, repeated headers, hostile names', async () => {
  const raw = Buffer.from(
    'Received: from a\r\nReceived: from b\r\n  (folded)\r\n__proto__: polluted\r\nconstructor: x\r\nSubject: Hello\r\n\tWorld\r\n' +
      'From: "Joe Q. Public" <john.q.public@example.com>\r\nTo: Mary Smith <mary@x.test>, jdoe@example.org\r\n' +
      'Date: Tue, 1 Jul 2003 10:52:37 +0200\r\nMessage-ID: <5678.21-Nov-1997@example.com>\r\n\r\nHi.\r\n',
  );
  const m = await parseMail(raw);
  assert.deepEqual(m.headers.map((h) => h.name), ['Received', 'Received', '__proto__', 'constructor', 'Subject', 'From', 'To', 'Date', 'Message-ID']);
  assert.equal(m.headers[1].value, 'from b  (folded)');
  assert.equal(m.headers[1].raw.toString(), 'Received: from b\r\n  (folded)');
  assert.equal(m.headers[2].value, 'polluted');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(m.subject, 'Hello\tWorld');
  assert.deepEqual(m.from, [{ name: 'Joe Q. Public', address: 'john.q.public@example.com' }]);
  assert.deepEqual(m.to.map((a) => a.address), ['mary@x.test', 'jdoe@example.org']);
  assert.equal(m.date?.toISOString(), '2003-07-01T08:52:37.000Z');
  assert.equal(m.messageId, '<5678.21-Nov-1997@example.com>');
  assert.equal(m.text, 'Hi.\n');
  assert.deepEqual(m.attachments, []);
});

test('torture message: structure, nested message/rfc822, digest defaults, missing inner boundary', async () => {
  for (const raw of [fixture('torture.eml'), crlf(fixture('torture.eml'))]) {
    const m = await parseMail(raw);
    assert.equal(m.subject, 'Multi-media mail demonstration (torture test shape)');
    assert.equal(m.root.contentType, 'multipart/mixed');
    assert.deepEqual(m.root.children.map((c) => c.contentType), ['text/plain', 'multipart/parallel', 'message/rfc822', 'multipart/digest', 'text/plain', 'multipart/mixed']);
    assert.deepEqual(m.root.children[3].children.map((c) => c.contentType), ['message/rfc822', 'message/rfc822']);
    assert.equal(m.text?.includes('-- not a boundary\n--owatagusiamNOT a boundary either\n'), true);
    assert.equal(m.text?.includes('Inner part whose multipart never closes.'), true);
    assert.ok(!m.text?.includes('preamble') && !m.text?.includes('epilogue'));
    const byPath = new Map(m.attachments.map((a) => [a.part, a]));
    assert.equal(byPath.get('2.1')?.size, 128);
    assert.deepEqual([...(byPath.get('2.1')?.content ?? [])], Array.from({ length: 128 }, (_, i) => i));
    assert.equal(byPath.get('2.2')?.filename, 'smile.gif');
    assert.equal(byPath.get('5')?.filename, '说明.txt');
    assert.equal(byPath.get('5')?.content.toString(), 'Attached note ✓');
    const embedded = byPath.get('3');
    assert.equal(embedded?.contentType, 'message/rfc822');
    const inner = await parseMail(embedded!.content);
    assert.equal(inner.subject, 'André says hello');
    assert.equal(inner.text, 'Café au lait, € 5.');
    assert.equal(inner.html, '<p>Café au lait</p>');
    assert.ok(m.warnings.some((w) => /outer boundary/.test(w)), m.warnings.join('; '));
  }
});

test('the same result at every chunk size (1, 2, 3, 7, 64, 4096, whole)', async () => {
  for (const name of ['torture.eml', 'gbk.eml', 'big5.eml', 'iso-2022-jp.eml', 'unlabelled-gbk.eml']) {
    for (const raw of [fixture(name), crlf(fixture(name))]) {
      const want = summary(await parseMail(raw));
      for (const size of [1, 2, 3, 7, 64, 4096]) assert.deepEqual(summary(await parseMail(chunks(raw, size))), want, `${name} at ${size}`);
    }
  }
});

test('CJK messages: GB2312 (base64), Big5 (8bit), ISO-2022-JP (7bit)', async () => {
  const gbk = await parseMail(fixture('gbk.eml'));
  assert.equal(gbk.subject, '关于下周会议的安排');
  assert.deepEqual(gbk.from, [{ name: '发件人', address: 'sender@example.cn' }]);
  assert.equal(gbk.text, '各位同事：\n下周一上午九点在三楼会议室开会，请准时参加。\n谢谢！\n');
  const big5 = await parseMail(fixture('big5.eml'));
  assert.equal(big5.subject, '關於下週會議的安排');
  assert.equal(big5.text, '各位同事：\n下週一上午九點在三樓會議室開會，請準時參加。\n謝謝！\n');
  const jp = await parseMail(fixture('iso-2022-jp.eml'));
  assert.equal(jp.subject, '会議のお知らせ');
  assert.equal(jp.text, '皆様\n来週月曜日の午前九時に会議を行います。\nよろしくお願いします。\n');
});

test('unlabelled 8-bit header is guessed and the guess reported (mailparser #351)', async () => {
  const m = await parseMail(fixture('unlabelled-gbk.eml'));
  assert.equal(m.subject, '关于下周会议的安排通知');
  assert.ok(m.warnings.some((w) => /gb18030 \(guessed\)/.test(w)));
  assert.equal(m.text, '正文内容\n');
});

test('unknown charset yields latin1 text and a warning', async () => {
  const m = await parseMail('Subject: x\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\ncaf\xe9');
  assert.equal(m.text, 'caf\u00c3\u00a9'); // the string input is UTF-8; its bytes shown as latin1
  assert.ok(m.warnings.some((w) => /unknown charset "x-nonsense"/.test(w)));
});

test('tolerates NUL, 8-bit bytes, bare LF, missing blank line, mbox From line, headers only', async () => {
  const m = await parseMail(Buffer.from('From someone@x Mon Jan  1 00:00:00 2024\nSubject: a\x00b\nX-8bit: \xff\xfe\nnot a header line\nbody\n', 'latin1'));
  assert.equal(m.subject, 'a\x00b');
  assert.equal(m.text, 'not a header line\nbody\n');
  assert.ok(m.warnings.some((w) => /mbox/.test(w)));
  const h = await parseMail('Subject: only headers');
  assert.equal(h.subject, 'only headers');
  assert.equal(h.text, undefined);
  const empty = await parseMail('');
  assert.equal(empty.headers.length, 0);
});

test('multipart edge cases: boundary at body start, whitespace after boundary, no final boundary, no boundary param', async () => {
  const m = await parseMail('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b  \r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo');
  assert.equal(m.text, 'one\ntwo');
  assert.ok(m.warnings.some((w) => /final boundary/.test(w)));
  const nb = await parseMail('Content-Type: multipart/mixed\r\n\r\nstuff');
  assert.equal(nb.root.children.length, 0);
  assert.ok(nb.warnings.some((w) => /without a boundary/.test(w)));
  const empty = await parseMail('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\nx\r\n--b--\r\n');
  assert.equal(empty.root.children.length, 2);
  assert.equal(empty.text, 'x');
});

test('agrees with mailparser on the fixtures (a peer we did not write)', async () => {
  for (const name of ['gbk.eml', 'big5.eml', 'iso-2022-jp.eml']) {
    const raw = fixture(name);
    const ours = await parseMail(raw);
    const theirs = await simpleParser(raw);
    assert.equal(ours.subject, theirs.subject, name);
    assert.equal(ours.text?.trim(), theirs.text?.trim(), name);
  }
  const ours = await parseMail(fixture('torture.eml'));
  const theirs = await simpleParser(fixture('torture.eml'));
  assert.equal(ours.subject, theirs.subject);
  // mailparser misses the comment-prefixed boundary and reads digest parts as text; the parts it does get must match
  for (const a of theirs.attachments) {
    const mine = ours.attachments.find((b) => b.contentType === a.contentType && b.filename === a.filename);
    assert.deepEqual(mine?.content, a.content, `${a.contentType} ${a.filename}`);
  }
  assert.equal(theirs.attachments.length, 2);
});

test('8-bit text without a charset: UTF-8 when valid, else guessed (reported)', async () => {
  const utf8 = await parseMail(Buffer.from('Subject: x\r\n\r\nGrüße, 你好\r\n'));
  assert.equal(utf8.text, 'Grüße, 你好\n');
  assert.deepEqual(utf8.warnings, []);
  const gbk = await parseMail(Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), iconv.encode('下周一上午九点在三楼会议室开会', 'gbk')]));
  assert.equal(gbk.text, '下周一上午九点在三楼会议室开会');
  assert.ok(gbk.warnings.some((w) => /guessed/.test(w)));
});

test('embeddedDepth parses attached messages into attachment.message', async () => {
  const m = await parseMail(fixture('torture.eml'), { embeddedDepth: 1 });
  const fwd = m.attachments.find((a) => a.part === '3');
  assert.equal(fwd?.message?.subject, 'André says hello');
  assert.equal(fwd?.message?.html, '<p>Café au lait</p>');
  assert.deepEqual(m.attachments.filter((a) => a.part.startsWith('4.')).map((a) => a.message?.subject), ['first digest message', 'second digest message']);
  assert.equal((await parseMail(fixture('torture.eml'))).attachments.find((a) => a.part === '3')?.message, undefined);
  await assert.rejects(parseMail('x', { embeddedDepth: -1 }), TypeError);
});
