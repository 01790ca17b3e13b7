/** The pure POP3 codec: line reader at every chunk size, command parsing, byte-stuffing, response lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineReader, type LineEvent } from '../../src/protocol/pop3/line-reader.js';
import { parseCommand, parseLineCount, parseMessageNumber } from '../../src/protocol/pop3/command.js';
import { DotStuffer, indexOfLineDot, stuffBuffer, terminatorFor } from '../../src/protocol/pop3/stuffing.js';
import { Pop3Error } from '../../src/protocol/pop3/error.js';
import { err, multiLine, ok } from '../../src/protocol/pop3/response.js';

type Seen = { line: string } | { tooLong: true };

function feed(script: Buffer, chunkSize: number, max: number): Seen[] {
  const reader = new LineReader(max);
  const out: Seen[] = [];
  const drain = () => {
    let ev: LineEvent | null;
    while ((ev = reader.next())) out.push(ev.kind === 'line' ? { line: ev.line.toString('latin1') } : { tooLong: true });
  };
  for (let i = 0; i < script.length; i += chunkSize) {
    reader.push(script.subarray(i, i + chunkSize));
    drain();
  }
  return out;
}

test('line reader: the same script gives the same lines at every chunk size', () => {
  const long = 'X'.repeat(300);
  const script = Buffer.from(`USER alice\r\nPASS two words\r\nLIST 1\nSTAT\r\n${long}\r\n\r\nNOOP\r\nRETR 1\r\nQUIT\r\n`);
  const expected: Seen[] = [
    { line: 'USER alice' },
    { line: 'PASS two words' },
    { line: 'LIST 1' },
    { line: 'STAT' },
    { tooLong: true },
    { line: '' },
    { line: 'NOOP' },
    { line: 'RETR 1' },
    { line: 'QUIT' },
  ];
  for (let size = 1; size <= script.length; size++) assert.deepEqual(feed(script, size, 255), expected, `chunk size ${size}`);
});

test('line reader: a 100 KB line is reported as soon as it passes the limit, dropped as it arrives, memory bounded', () => {
  const reader = new LineReader(255);
  const chunk = Buffer.alloc(4096, 0x41);
  reader.push(chunk);
  assert.deepEqual(reader.next(), { kind: 'too-long' }, 'reported before the line ends');
  assert.equal(reader.next(), null);
  for (let i = 1; i < 25; i++) {
    reader.push(chunk);
    assert.equal(reader.next(), null, 'reported once');
    assert.equal(reader.pending, 0, 'over-long line not buffered');
  }
  reader.push(Buffer.from('\r\nSTAT\r\n'));
  const next = reader.next();
  assert.equal(next?.kind === 'line' && next.line.toString(), 'STAT');
  assert.equal(reader.next(), null);
});

test('line reader: a line of exactly the limit passes, one more octet does not', () => {
  const atLimit = Buffer.from('A'.repeat(253) + '\r\n');
  const over = Buffer.from('A'.repeat(254) + '\r\n');
  assert.deepEqual(feed(atLimit, atLimit.length, 255), [{ line: 'A'.repeat(253) }]);
  assert.deepEqual(feed(over, 1, 255), [{ tooLong: true }]);
  assert.deepEqual(feed(over, over.length, 255), [{ tooLong: true }]);
});

test('line reader: discardBuffered drops pipelined input (STLS)', () => {
  const reader = new LineReader(255);
  reader.push(Buffer.from('STLS\r\nUSER mallory\r\nPASS x\r\n'));
  const first = reader.next();
  assert.equal(first?.kind === 'line' && first.line.toString(), 'STLS');
  assert.equal(reader.discardBuffered(), 'USER mallory\r\nPASS x\r\n'.length);
  assert.equal(reader.next(), null);
});

test('command parser: keywords case-insensitive, arguments split, PASS keeps the rest', () => {
  const parse = (s: string) => parseCommand(Buffer.from(s));
  assert.deepEqual(parse('retr 1'), { ok: true, command: { keyword: 'RETR', args: ['1'], rest: '1' } });
  assert.deepEqual(parse('Top 2 10'), { ok: true, command: { keyword: 'TOP', args: ['2', '10'], rest: '2 10' } });
  assert.deepEqual(parse('PASS my secret  pw'), { ok: true, command: { keyword: 'PASS', args: ['my', 'secret', 'pw'], rest: 'my secret  pw' } });
  assert.deepEqual(parse('STAT'), { ok: true, command: { keyword: 'STAT', args: [], rest: '' } });
  assert.equal(parse('').ok, false);
  assert.equal(parse('XY').ok, false);
  assert.equal(parse('TOOLONG').ok, false);
  assert.equal(parse('US\x00R a').ok, false);
  assert.equal(parseCommand(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xff])).ok, false, 'invalid UTF-8');
  const utf8 = parse('USER jörg@example.com');
  assert.equal(utf8.ok && utf8.command.args[0], 'jörg@example.com');
});

test('message numbers and line counts', () => {
  assert.equal(parseMessageNumber('1'), 1);
  assert.equal(parseMessageNumber('0'), null);
  assert.equal(parseMessageNumber('-1'), null);
  assert.equal(parseMessageNumber('+1'), null);
  assert.equal(parseMessageNumber('1.0'), null);
  assert.equal(parseMessageNumber('99999999999'), null);
  assert.equal(parseMessageNumber(undefined), null);
  assert.equal(parseLineCount('0'), 0);
  assert.equal(parseLineCount('99999999999999999999'), Number.MAX_SAFE_INTEGER);
  assert.equal(parseLineCount('x'), null);
});

function naiveStuff(data: Buffer): Buffer {
  const text = data.toString('latin1');
  return Buffer.from(text.replace(/(^|\n)\./g, '$1..'), 'latin1');
}

test('byte-stuffing: lines starting with "." doubled, nothing else touched, input returned as-is when clean', () => {
  const clean = Buffer.from('Subject: x\r\n\r\nno dots at line start. here.\r\n');
  assert.equal(stuffBuffer(clean), clean);
  assert.equal(stuffBuffer(Buffer.from('.\r\n..x\r\na.b\r\n.')).toString(), '..\r\n...x\r\na.b\r\n..');
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = ['.', '\r\n', 'a', '..', '\n'];
  for (let round = 0; round < 300; round++) {
    const parts: string[] = [];
    for (let i = 0; i < 40; i++) parts.push(alphabet[Math.floor(rand() * alphabet.length)]);
    const data = Buffer.from(parts.join(''), 'latin1');
    const expected = naiveStuff(data);
    assert.deepEqual(stuffBuffer(data), expected);
    for (const size of [1, 2, 3, 7]) {
      const stuffer = new DotStuffer();
      const out: Buffer[] = [];
      for (let i = 0; i < data.length; i += size) out.push(stuffer.push(data.subarray(i, i + size)));
      assert.deepEqual(Buffer.concat(out), expected, `chunk ${size}: ${JSON.stringify(data.toString())}`);
      assert.deepEqual(stuffer.end(), terminatorFor(data));
    }
  }
});

test('terminator: ".\\r\\n" after a final CRLF, else CRLF first', () => {
  assert.equal(terminatorFor(Buffer.from('a\r\n')).toString(), '.\r\n');
  assert.equal(terminatorFor(Buffer.from('a')).toString(), '\r\n.\r\n');
  assert.equal(terminatorFor(Buffer.alloc(0)).toString(), '.\r\n');
});

test('responses and Pop3Error', () => {
  assert.equal(ok(), '+OK\r\n');
  assert.equal(ok('2 320'), '+OK 2 320\r\n');
  assert.equal(err('IN-USE', 'maildrop locked'), '-ERR [IN-USE] maildrop locked\r\n');
  assert.equal(err(null, 'no such message'), '-ERR no such message\r\n');
  assert.equal(multiLine('list', ['1 120', '.x']), '+OK list\r\n1 120\r\n..x\r\n.\r\n');
  const parsed = Pop3Error.fromResponse('-ERR [LOGIN-DELAY] wait');
  assert.equal(parsed?.code, 'LOGIN-DELAY');
  assert.equal(parsed?.message, 'wait');
  assert.equal(Pop3Error.fromResponse('-ERR')?.message, '');
  assert.equal(Pop3Error.fromResponse('+OK'), null);
});

test('byte-stuffing: dot-heavy text (many dots inside lines before and between line-initial dots) matches a plain search', () => {
  // indexOfLineDot() skips a few dots one by one, then switches to a two-octet search: exercise both, at every offset.
  const pieces = ['.', '.', '\n', '\r\n', 'a', 'e.g. ', '...', '\r\n.', 'x.y.z'];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 400; round++) {
    let text = '';
    const parts = 1 + Math.floor(random() * 40);
    for (let i = 0; i < parts; i++) text += pieces[Math.floor(random() * pieces.length)];
    const data = Buffer.from(text, 'latin1');
    for (let from = 0; from <= data.length; from++) assert.equal(indexOfLineDot(data, from), data.indexOf('\n.', from), JSON.stringify(text));
    const expected = (text.startsWith('.') ? '.' : '') + text.replace(/\n\./g, '\n..');
    assert.equal(stuffBuffer(data).toString('latin1'), expected, JSON.stringify(text));
  }
});
