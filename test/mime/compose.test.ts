import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { composeMail, composeMailStream, envelopeFromOptions, parseMail, MimeError, type ComposeOptions } from '../../src/mime/index.js';

const base: ComposeOptions = { from: 'Sender <sender@example.com>', to: 'rcpt@example.org', subject: 'Hi', text: 'Hello', seed: 't', date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) };

function lines(b: Buffer): string[] {
  return b.toString('latin1').split('\r\n');
}

test('a plain text message: headers, 7bit body, CRLF, deterministic with a seed', async () => {
  const a = await composeMail(base);
  const b = await composeMail(base);
  assert.deepEqual(a, b);
  const text = a.toString();
  assert.match(text, /^Date: Tue, 2 Jan 2024 03:04:05 \+0000\r\nFrom: Sender <sender@example.com>\r\nTo: rcpt@example.org\r\nSubject: Hi\r\nMessage-ID: <[0-9a-f]{24}@posthorn.localhost>\r\nMIME-Version: 1.0\r\nContent-Type: text\/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello\r\n$/);
  assert.notDeepEqual(await composeMail({ ...base, seed: 'other' }), a);
  assert.ok(!/\n(?<!\r\n)/.test(text.replace(/\r\n/g, '')));
});

test('Bcc is never written; envelopeFromOptions lists to + cc + bcc once each', async () => {
  const opts: ComposeOptions = { ...base, cc: ['c@x.org', { name: 'Dup', address: 'RCPT@example.org' }], bcc: ['hidden@x.org', 'c@x.org'] };
  const out = (await composeMail(opts)).toString();
  assert.ok(!/hidden/i.test(out));
  assert.ok(!/^bcc:/im.test(out));
  assert.deepEqual(envelopeFromOptions(opts), { from: 'sender@example.com', to: ['rcpt@example.org', 'c@x.org', 'hidden@x.org'] });
  assert.deepEqual(envelopeFromOptions({ from: 'a@b.c', sender: 'bounce@b.c', to: 'Kris Arndt <karn@nucleus.com>,npl@nucleus.com' }), { from: 'bounce@b.c', to: ['karn@nucleus.com', 'npl@nucleus.com'] });
  await assert.rejects(composeMail({ ...base, headers: { Bcc: 'x@y.z' } }), /cannot be set/);
});

test('CR, LF or NUL in any caller header text is rejected (header injection)', async () => {
  const evil = ['x\r\nBcc: victim@x.org', 'x\nX: y', 'x\rY', 'x\0y'];
  for (const e of evil) {
    for (const opts of [
      { ...base, subject: e }, { ...base, to: `a@b.c${e}` }, { ...base, from: { name: e, address: 'a@b.c' } },
      { ...base, replyTo: { address: `a@b.c${e}` } }, { ...base, headers: { 'X-Custom': e } }, { ...base, messageId: e },
      { ...base, attachments: [{ filename: e, content: 'x' }] }, { ...base, attachments: [{ content: 'x', contentType: `text/plain${e}` }] },
      { ...base, inReplyTo: e }, { ...base, references: ['<a@b>', e] },
    ] as ComposeOptions[]) {
      await assert.rejects(composeMail(opts), (err: unknown) => err instanceof MimeError && err.code === 'HEADER_INJECTION', JSON.stringify(opts));
    }
  }
  await assert.rejects(composeMail({ ...base, headers: { 'Bad Name': 'x' } }), (err: unknown) => err instanceof MimeError && err.code === 'HEADER_INJECTION');
  await assert.rejects(composeMail({ ...base, to: 'not an address' }), (err: unknown) => err instanceof MimeError && err.code === 'INVALID_ADDRESS');
  await assert.rejects(composeMail({ ...base, charset: 'x-klingon' }), (err: unknown) => err instanceof MimeError && err.code === 'UNSUPPORTED_CHARSET');
});

test('text + html + inline image + attachments: structure, lines within limits, 7-bit clean, read back by mailparser', async () => {
  const png = randomBytes(5000);
  const opts: ComposeOptions = {
    ...base,
    subject: 'Grüße – 中文主题 '.repeat(6).trim(),
    text: 'Hällo wörld\n' + 'long line '.repeat(30) + '\nend',
    html: '<p>Hällo <img src="cid:logo@x"></p>',
    attachments: [
      { filename: 'logo.png', content: png, cid: 'logo@x' },
      { filename: 'Übersicht – 2024 年度報告書.pdf', content: Buffer.from('%PDF-1.4 fake') },
      { filename: 'notes.txt', content: 'plain notes\n' },
    ],
  };
  const raw = await composeMail(opts);
  for (const l of lines(raw)) {
    assert.ok(l.length <= 78, `line over 78: ${l}`);
    assert.ok(/^[\x20-\x7e\t]*$/.test(l), `non-ASCII line: ${l}`);
  }
  const m = await parseMail(raw);
  assert.equal(m.subject, opts.subject);
  assert.equal(m.text, opts.text);
  assert.equal(m.html, opts.html);
  assert.equal(m.root.contentType, 'multipart/mixed');
  assert.equal(m.root.children[0].contentType, 'multipart/alternative');
  assert.equal(m.root.children[0].children[1].contentType, 'multipart/related');
  const logo = m.attachments.find((a) => a.contentId === 'logo@x');
  assert.deepEqual(logo?.content, png);
  assert.equal(logo?.related, true);
  assert.equal(m.attachments.find((a) => a.filename?.startsWith('Übersicht'))?.filename, 'Übersicht – 2024 年度報告書.pdf');
  const peer = await simpleParser(raw);
  assert.equal(peer.subject, opts.subject);
  assert.equal(peer.text?.trim(), (opts.text as string).trim());
  assert.deepEqual(peer.attachments.map((a) => a.filename).sort(), ['logo.png', 'notes.txt', 'Übersicht – 2024 年度報告書.pdf'].sort());
  assert.deepEqual(peer.attachments.find((a) => a.filename === 'logo.png')?.content, png);
});

test('transfer encoding per part: 7bit, quoted-printable for mostly ASCII, base64 otherwise', async () => {
  const cte = async (text: string): Promise<string> => /Content-Transfer-Encoding: (\S+)/.exec((await composeMail({ ...base, text })).toString())?.[1] ?? '';
  assert.equal(await cte('plain ascii'), '7bit');
  assert.equal(await cte('x'.repeat(100)), 'quoted-printable');
  assert.equal(await cte('mostly ascii with one é'), 'quoted-printable');
  assert.equal(await cte('全部都是中文的正文内容'), 'base64');
});

test('legacy charsets: GB2312 subject and body, ISO-2022-JP, Big5, read back by us and by mailparser', async () => {
  for (const [charset, subject, text] of [
    ['gb2312', '关于下周会议的安排', '各位同事：下周一开会。'],
    ['big5', '關於下週會議的安排', '各位同事：下週一開會。'],
    ['iso-2022-jp', '会議のお知らせ', '皆様、来週会議を行います。'],
    ['shift_jis', '会議のお知らせ', '皆様、来週会議を行います。'],
    ['euc-kr', '회의 안내', '다음 주 회의 일정 안내'],
  ] as const) {
    const raw = await composeMail({ ...base, charset, subject, text, from: { name: subject.slice(0, 3), address: 'a@b.c' } });
    const head = raw.toString('latin1');
    assert.match(head, new RegExp(`Subject: =\\?${charset.toUpperCase()}\\?`));
    assert.match(head, new RegExp(`charset=${charset.toUpperCase()}`));
    if (charset === 'iso-2022-jp') assert.match(head, /Content-Transfer-Encoding: 7bit/);
    const m = await parseMail(raw);
    assert.equal(m.subject, subject, charset);
    assert.equal(m.text, text + '\n', charset); // single part: a final CRLF is added
    assert.equal(m.from[0].name, subject.slice(0, 3).trim());
    const peer = await simpleParser(raw);
    assert.equal(peer.subject, subject, `mailparser ${charset}`);
  }
});

test('message/rfc822 attachments stay 7bit/8bit, and the stream variant equals the buffer variant', async () => {
  const inner = await composeMail({ ...base, subject: 'inner' });
  const raw = await composeMail({ ...base, attachments: [{ filename: 'fwd.eml', content: inner }] });
  assert.match(raw.toString(), /Content-Type: message\/rfc822; name=fwd.eml\r\nContent-Transfer-Encoding: 7bit/);
  const m = await parseMail(raw);
  assert.equal((await parseMail(m.attachments[0].content)).subject, 'inner');
  const big = randomBytes(300000);
  const opts: ComposeOptions = { ...base, attachments: [{ filename: 'big.bin', content: big }] };
  const streamed: Buffer[] = [];
  for await (const c of composeMailStream({ ...opts, attachments: [{ filename: 'big.bin', content: Readable.from([big.subarray(0, 1000), big.subarray(1000)]) }] })) streamed.push(c as Buffer);
  assert.deepEqual(Buffer.concat(streamed), await composeMail(opts));
  const parsed = await parseMail(Buffer.concat(streamed));
  assert.deepEqual(parsed.attachments[0].content, big);
});

test('IDN domains become punycode in headers; UTF-8 local parts stay UTF-8 (RFC 6532)', async () => {
  const raw = (await composeMail({ ...base, to: ['用户@例子.广告', 'user@bücher.example'] })).toString();
  assert.match(raw, /To: 用户@例子.广告, user@xn--bcher-kva.example/);
});

test('a DSN (RFC 3464) as multipart/report: delivery-status and rfc822-headers stay readable 7bit', async () => {
  const status = 'Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n';
  const raw = await composeMail({
    ...base, report: 'delivery-status', text: 'Your message could not be delivered.',
    attachments: [{ content: status, contentType: 'message/delivery-status' }, { content: 'Subject: hi\r\nFrom: a@b.c\r\n', contentType: 'text/rfc822-headers' }],
  });
  const s = raw.toString();
  assert.match(s, /Content-Type: multipart\/report; report-type=delivery-status;\r\n boundary="/);
  assert.match(s, /Content-Type: message\/delivery-status\r\nContent-Transfer-Encoding: 7bit\r\n\r\nReporting-MTA: dns; mx.example.org\r\n/);
  assert.ok(!/Content-Disposition/.test(s));
  const m = await parseMail(raw);
  assert.equal(m.root.contentType, 'multipart/report');
  assert.equal(m.root.params['report-type'], 'delivery-status');
  assert.equal(m.text, 'Your message could not be delivered.');
  assert.equal(m.attachments[0].content.toString(), status);
  await assert.rejects(composeMail({ ...base, report: 'bogus' as 'delivery-status' }), /report must be/);
});

test('a header word too long to fold is encoded so no line exceeds 998 characters', async () => {
  const long = 'x'.repeat(2000);
  const raw = await composeMail({ ...base, subject: `long ${long} end`, headers: { 'X-Long': long } });
  for (const l of raw.toString().split('\r\n')) assert.ok(l.length <= 78, `${l.length}`);
  const m = await parseMail(raw);
  assert.equal(m.subject, `long ${long} end`);
  assert.equal(m.headers.find((h) => h.name === 'X-Long')?.value, long);
});

test('legacy-charset messages read back by postal-mime too (subject, name, text, html, RFC 2231 filename)', async () => {
  const { default: PostalMime } = await import('postal-mime');
  for (const [charset, subject] of [['gb2312', '关于会议'], ['big5', '關於會議'], ['iso-2022-jp', '会議のお知らせ'], ['euc-kr', '회의 안내']] as const) {
    const raw = await composeMail({ ...base, from: { name: subject, address: 'a@b.c' }, subject, text: `${subject} body`, html: `<p>${subject}</p>`, charset, attachments: [{ filename: `${subject}.txt`, content: 'hi' }] });
    const p = await PostalMime.parse(raw);
    assert.equal(p.subject, subject, charset);
    assert.equal(p.from?.name, subject, charset);
    // postal-mime keeps the line break before a boundary in 7bit parts (RFC 2046 5.1.1 gives it to the delimiter)
    assert.equal(p.text?.trimEnd(), `${subject} body`, charset);
    assert.equal(p.html?.trimEnd(), `<p>${subject}</p>`, charset);
    assert.equal(p.attachments[0]?.filename, `${subject}.txt`, charset);
  }
});
