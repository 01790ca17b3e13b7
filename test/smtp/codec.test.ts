/** The pure SMTP codec: DATA decoding (end detection, unstuffing, smuggling), BDAT checks, paths, parameters, lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataDecoder, type DataDecoderOptions } from '../../src/protocol/smtp/data-decoder.js';
import { TextChecker } from '../../src/protocol/smtp/bdat.js';
import { parsePath } from '../../src/protocol/smtp/path.js';
import { parseMailParams, parseRcptParams, decodeXtext, encodeXtext } from '../../src/protocol/smtp/params.js';
import { LineReader, TOO_LONG, ABUSE } from '../../src/protocol/smtp/line-reader.js';
import { parseCommandLine, parsePathArgument, parseBdatArgument } from '../../src/protocol/smtp/command.js';
import { formatReply } from '../../src/protocol/smtp/replies.js';

const OPTS: DataDecoderOptions = { bareLineEndings: 'reject', maxLineLength: 1000, maxSize: 1 << 20 };

interface Decoded {
  content: string;
  consumed: number;
  done: boolean;
  bare: boolean;
  long: boolean;
  big: boolean;
}

/** Feed `input` in pieces of `size` octets (0: at once). */
function decode(input: string | Buffer, size = 0, options: Partial<DataDecoderOptions> = {}): Decoded {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1');
  const d = new DataDecoder({ ...OPTS, ...options });
  const out: Buffer[] = [];
  let consumed = 0;
  const step = size || bytes.length || 1;
  for (let i = 0; i < bytes.length && !d.done; i += step) {
    const piece = bytes.subarray(i, Math.min(bytes.length, i + step));
    consumed += d.feed(piece, out);
  }
  return { content: Buffer.concat(out).toString('latin1'), consumed, done: d.done, bare: d.bareLineEnding, long: d.lineTooLong, big: d.tooBig };
}

/** Same result at every chunk size: the parser must not depend on how TCP splits the stream. */
function decodeAllSizes(input: string, options: Partial<DataDecoderOptions> = {}): Decoded {
  const whole = decode(input, 0, options);
  const { content: wholeContent, ...wholeFlags } = whole;
  for (let size = 1; size <= Math.min(input.length, 40); size++) {
    const { content, ...flags } = decode(input, size, options);
    assert.deepEqual(flags, wholeFlags, `chunk size ${size}`);
    const refused = flags.big || flags.long || (flags.bare && options.bareLineEndings !== 'normalize');
    if (!refused) assert.equal(content, wholeContent, `content at chunk size ${size}`);
  }
  return whole;
}

test('DATA: CRLF.CRLF ends the message; the final CRLF belongs to the content', () => {
  const r = decodeAllSizes('Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n');
  assert.equal(r.content, 'Subject: hi\r\n\r\nHello\r\n');
  assert.equal(r.done, true);
  assert.equal(r.consumed, 'Subject: hi\r\n\r\nHello\r\n.\r\n'.length);
  assert.equal(r.bare, false);
});

test('DATA: an immediate ".\\r\\n" is an empty message (the DATA line supplies the first CRLF)', () => {
  const r = decodeAllSizes('.\r\n');
  assert.equal(r.done, true);
  assert.equal(r.content, '');
});

test('DATA: dot-stuffing is undone exactly', () => {
  const r = decodeAllSizes('..x\r\n...\r\n..\r\na.b\r\n .\r\n.\r\n');
  assert.equal(r.content, '.x\r\n..\r\n.\r\na.b\r\n .\r\n');
});

const SMUGGLING = [
  '\n.\n',
  '\r.\r',
  '\n.\r\n',
  '\r\n.\n',
  '\r\n.\r',
  '\r.\r\n',
  '\n.\r',
  '\r\n.\r\r\n',
  '\r\n\x00.\r\n',
  '\n\n.\n\n',
  '\r\r.\r\r',
  '\r\n.\n\r\n',
];

for (const seq of SMUGGLING) {
  test(`DATA smuggling: ${JSON.stringify(seq)} does not end the message`, () => {
    const smuggled = `From: a@example.org\r\n\r\nhello${seq}MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n`;
    const input = `${smuggled}real end\r\n.\r\n`;
    for (const maxSize of [1 << 20, 10]) {
      const r = decodeAllSizes(input, { maxSize });
      assert.equal(r.done, true);
      assert.equal(r.consumed, input.length, 'only the real CRLF.CRLF ends the data');
      assert.equal(r.big, maxSize === 10);
      if (seq.includes('\x00')) assert.equal(r.bare, false);
      else assert.equal(r.bare, true, 'bare CR or LF is flagged');
    }
  });
}

test('DATA: NUL after CRLF is plain content', () => {
  const r = decodeAllSizes('a\r\n\x00.\r\nb\r\n.\r\n');
  assert.equal(r.content, 'a\r\n\x00.\r\nb\r\n');
  assert.equal(r.bare, false);
});

test('DATA normalize mode: bare CR and LF become CRLF, and still never end the data', () => {
  const r = decodeAllSizes('a\nb\rc\r\n\n.\nd\r\n.\r\n', { bareLineEndings: 'normalize' });
  assert.equal(r.done, true);
  assert.equal(r.bare, true);
  assert.equal(r.content, 'a\r\nb\r\nc\r\n\r\n.\r\nd\r\n');
});

test('DATA: a line over the limit is flagged, streamed (never held), and the end is still found', () => {
  const long = 'x'.repeat(999);
  assert.equal(decode(`${'y'.repeat(998)}\r\n.\r\n`).long, false);
  const r = decode(`${long}\r\n.\r\n`, 7);
  assert.equal(r.long, true);
  assert.equal(r.done, true);
  const lenient = decode(`${long}\r\n.\r\n`, 0, { maxLineLength: 2000 });
  assert.equal(lenient.long, false);
});

test('DATA: past maxSize output stops but the end is found', () => {
  const r = decode(`${'a'.repeat(100)}\r\n${'b'.repeat(100)}\r\n.\r\nNOOP\r\n`, 13, { maxSize: 50 });
  assert.equal(r.big, true);
  assert.equal(r.done, true);
  assert.ok(r.content.length <= 52);
});

test('DATA: 10 MB without a line feed is consumed in constant memory', () => {
  const d = new DataDecoder(OPTS);
  const chunk = Buffer.alloc(65536, 'z');
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 160; i++) {
    const out: Buffer[] = [];
    assert.equal(d.feed(chunk, out), chunk.length);
  }
  assert.equal(d.lineTooLong, true);
  assert.equal(d.done, false);
  assert.ok(process.memoryUsage().rss - before < 8 * 1024 * 1024);
});

test('BDAT text checks: CRLF across chunk boundaries, bare CR/LF, normalize, long lines', () => {
  const check = (pieces: string[], normalize = false) => {
    const c = new TextChecker(1000, normalize);
    const out: Buffer[] = [];
    for (const p of pieces) c.check(Buffer.from(p, 'latin1'), out);
    c.finish(out);
    return { text: Buffer.concat(out).toString('latin1'), bare: c.bareLineEnding, long: c.lineTooLong };
  };
  assert.deepEqual(check(['a\r', '\nb\r\n']), { text: 'a\r\nb\r\n', bare: false, long: false });
  assert.equal(check(['a\nb\r\n']).bare, true);
  assert.equal(check(['a\r', 'b\r\n']).bare, true);
  assert.equal(check(['a\r']).bare, true);
  assert.deepEqual(check(['a\nb\rc\r', 'd\r\n'], true), { text: 'a\r\nb\r\nc\r\nd\r\n', bare: true, long: false });
  assert.equal(check(['x'.repeat(600), 'x'.repeat(400), '\r\n']).long, true);
});

test('paths: RFC 5321 4.1.2 syntax', () => {
  const ok = (text: string, opts = {}) => {
    const r = parsePath(text, opts);
    assert.ok(r.ok, text);
    return r.path;
  };
  const bad = (text: string, opts = {}) => assert.equal(parsePath(text, opts).ok, false, text);
  assert.equal(ok('<alice@example.com>').address, 'alice@example.com');
  assert.equal(ok('<>', { allowNull: true }).address, '');
  bad('<>');
  assert.equal(ok('<postmaster>', { allowPostmaster: true }).address, 'Postmaster');
  bad('<postmaster>');
  const quoted = ok('<"john doe"@example.com>');
  assert.equal(quoted.address, '"john doe"@example.com');
  assert.equal(quoted.quoted, true);
  assert.equal(ok('<"john.doe"@example.com>').address, 'john.doe@example.com');
  const routed = ok('<@relay.example,@b.example:user@example.org>');
  assert.equal(routed.address, 'user@example.org');
  assert.equal(routed.sourceRoute, true);
  assert.equal(ok('<user@[192.0.2.1]>').domain, '[192.0.2.1]');
  assert.equal(ok('<user@[IPv6:2001:db8::1]>').domain, '[IPv6:2001:db8::1]');
  assert.equal(ok('<用户@例子.广告>').utf8, true);
  assert.equal(ok('<v%ext@example.com>').localPart, 'v%ext');
  assert.equal(ok('<"v@ext"@example.com>').localPart, 'v@ext');
  for (const b of ['alice@example.com', '<alice@example.com', '<alice>', '<@example.com>', '<a..b@example.com>', '<.a@example.com>', '<a@-example.com>', '<a@exa mple.com>', '<a@[300.1.1.1]>', '<"a\x01"@example.com>', '<a@b>x', `<${'a'.repeat(65)}@example.com>`]) {
    bad(b);
  }
});

test('MAIL/RCPT arguments and parameters', () => {
  const m = parsePathArgument('FROM:<a@example.org> SIZE=1000 BODY=8BITMIME', 'FROM');
  assert.ok(m.ok);
  const p = parseMailParams(m.params, { dsn: true, binary: true });
  assert.deepEqual(p, { ok: true, params: { body: '8BITMIME', smtputf8: false, size: 1000 } });
  assert.ok(parsePathArgument('from: <a@example.org>', 'FROM').ok, 'space after colon tolerated');
  assert.deepEqual(parseMailParams(' RET=HDRS ENVID=QQ+2B314 SMTPUTF8 BODY=BINARYMIME', { dsn: true, binary: true }), {
    ok: true,
    params: { body: 'BINARYMIME', smtputf8: true, ret: 'HDRS', envid: 'QQ+314' },
  });
  assert.deepEqual(parseMailParams(' SIZE=1 SIZE=2', { dsn: true, binary: true }), { ok: false, error: 'duplicate', keyword: 'SIZE' });
  assert.deepEqual(parseMailParams(' FOO=1', { dsn: true, binary: true }), { ok: false, error: 'unknown', keyword: 'FOO' });
  assert.deepEqual(parseMailParams(' SIZE=abc', { dsn: true, binary: true }), { ok: false, error: 'bad-value', keyword: 'SIZE' });
  assert.deepEqual(parseMailParams(' BODY=9BIT', { dsn: true, binary: true }), { ok: false, error: 'bad-value', keyword: 'BODY' });
  assert.deepEqual(parseRcptParams(' NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@example.com', { dsn: true }), {
    ok: true,
    params: { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;a+b@example.com' },
  });
  assert.deepEqual(parseRcptParams(' NOTIFY=NEVER', { dsn: true }), { ok: true, params: { notify: 'NEVER' } });
  assert.equal(parseRcptParams(' NOTIFY=NEVER,SUCCESS', { dsn: true }).ok, false);
  assert.equal(parseRcptParams(' ORCPT=rfc822', { dsn: true }).ok, false);
  assert.equal(decodeXtext('a+2'), null);
  assert.equal(decodeXtext(encodeXtext('a+b=c d')), 'a+b=c d');
  assert.deepEqual(parseBdatArgument('100 LAST'), { size: 100, last: true });
  assert.deepEqual(parseBdatArgument('0'), { size: 0, last: false });
  assert.equal(parseBdatArgument('x'), null);
  assert.equal(parseBdatArgument('-1'), null);
  assert.deepEqual(parseCommandLine(Buffer.from('mail FROM:<a@b>')), { verb: 'MAIL', arg: 'FROM:<a@b>', invalidUtf8: false });
});

test('line reader: limit, CRLF and bare LF, over-long lines skipped in bounded memory', () => {
  const r = new LineReader(512, 4096);
  const buf = Buffer.from('NOOP\r\nRSET\nx');
  assert.equal(String(r.read(buf, 0)), 'NOOP');
  assert.equal(String(r.read(buf, r.offset)), 'RSET');
  assert.equal(r.read(buf, r.offset), null);
  assert.equal(String(r.read(Buffer.from('y\r\n'), 0)), 'xy');
  const long = Buffer.from('A'.repeat(511) + '\r\n');
  assert.equal(r.read(long, 0), TOO_LONG);
  assert.equal(String(r.read(Buffer.from('A'.repeat(510) + '\r\n'), 0)), 'A'.repeat(510));
  assert.equal(r.read(Buffer.alloc(1000, 'B'), 0), null);
  assert.equal(r.read(Buffer.from('B\r\nQUIT\r\n'), 0), TOO_LONG);
  assert.equal(String(r.read(Buffer.from('B\r\nQUIT\r\n'), r.offset)), 'QUIT');
  assert.equal(r.read(Buffer.alloc(3000, 'C'), 0), null);
  assert.equal(r.read(Buffer.alloc(3000, 'C'), 0), ABUSE);
});

test('reply formatting: multi-line replies use "-" on all but the last line', () => {
  assert.equal(formatReply(250, null, ['a', 'b', 'c']), '250-a\r\n250-b\r\n250 c\r\n');
  assert.equal(formatReply(550, '5.1.1', 'No'), '550 5.1.1 No\r\n');
});
