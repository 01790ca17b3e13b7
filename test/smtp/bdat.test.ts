/** CHUNKING / BDAT and BINARYMIME (RFC 3030), DSN parameters kept (RFC 3461). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REPLIES, replyLine } from '../../src/protocol/smtp/replies.js';
import { startSmtp, type TestServer } from './fixture.js';

const R = (name: keyof typeof REPLIES) => replyLine(REPLIES[name]);

let t: TestServer;
before(async () => {
  t = await startSmtp({ config: { max_message_size: 10_000 } });
});
after(() => t.close());

const last = (box = 'alice@example.com') => t.store.messages(box).at(-1)!;

test('BDAT chunks are stored verbatim (no dot handling), 250 per chunk, BDAT LAST commits', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  const part1 = 'Subject: chunks\r\n\r\n.leading dot\r\n';
  const part2 = '.\r\nend\r\n';
  s.send(`BDAT ${part1.length}\r\n${part1}`);
  await s.expect(`250 2.0.0 ${part1.length} octets received`);
  s.send(`BDAT ${part2.length} LAST\r\n${part2}`);
  await s.expect('250 2.0.0 OK queued as');
  assert.ok(last().toString().endsWith(part1 + part2));
  s.end();
});

test('BDAT pipelined with the whole transaction, and BDAT 0 LAST', async () => {
  const s = await t.connect();
  await s.hello();
  const body = 'Subject: p\r\n\r\nbody\r\n';
  s.send(`MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.com>\r\nBDAT ${body.length}\r\n${body}BDAT 0 LAST\r\nNOOP\r\n`);
  await s.expect(250);
  await s.expect(250);
  await s.expect(`250 2.0.0 ${body.length} octets`);
  await s.expect('250 2.0.0 OK queued');
  await s.expect(R('ok'));
  assert.ok(last().toString().endsWith(body));
  s.end();
});

test('BINARYMIME: BODY=BINARYMIME needs BDAT (DATA 503); bare CR/LF and NUL kept as sent', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd('MAIL FROM:<a@example.org> BODY=BINARYMIME', 250);
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  await s.cmd('DATA', R('dataWithBinary'));
  const binary = Buffer.concat([Buffer.from('Content-Type: application/octet-stream\r\n\r\n'), Buffer.from([0, 1, 10, 13, 46, 13, 10, 46, 10, 255])]);
  s.send(`BDAT ${binary.length} LAST\r\n`);
  s.send(binary);
  await s.expect(250);
  assert.ok(last().subarray(-binary.length).equals(binary));
  s.end();
});

test('BDAT with 8BITMIME: a bare LF is refused at LAST with 550 5.6.0', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd('MAIL FROM:<a@example.org> BODY=8BITMIME', 250);
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  const count = t.store.messages('alice@example.com').length;
  const bad = 'Subject: x\r\n\r\nbare\nline\r\n';
  s.send(`BDAT ${bad.length}\r\n${bad}`);
  await s.expect(250);
  await s.cmd('BDAT 0 LAST', R('bareLineEnding'));
  assert.equal(t.store.messages('alice@example.com').length, count);
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  s.end();
});

test('BDAT out of sequence: the chunk is consumed (never read as commands) and answered 503', async () => {
  const s = await t.connect();
  await s.hello();
  const payload = 'RSET\r\nMAIL FROM:<evil@example.org>\r\n';
  s.send(`BDAT ${payload.length} LAST\r\n${payload}`);
  await s.expect(R('needMail'));
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  s.send(`BDAT ${payload.length}\r\n${payload}`);
  await s.expect(R('needRcpt'));
  // 503 leaves the state unchanged: the transaction goes on.
  await s.cmd('RCPT TO:<alice@example.com>', R('recipientOk'));
  await s.cmd('BDAT x', R('bdatSyntax'));
  await s.closed();
});

test('BDAT over the size limit: 552 after the chunk, transaction over; DATA after BDAT is 503', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  s.send('BDAT 5\r\nabc\r\n');
  await s.expect(250);
  await s.cmd('DATA', R('dataAfterBdat'));
  s.send(`BDAT 20000 LAST\r\n${'z'.repeat(20000)}`);
  await s.expect(R('sizeExceeded'));
  await s.cmd('RCPT TO:<alice@example.com>', R('needMail'));
  s.end();
});

test('RSET during BDAT throws the partial message away', async () => {
  const s = await t.connect();
  await s.hello();
  const count = t.store.messages('alice@example.com').length;
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  s.send('BDAT 5\r\nhello');
  await s.expect(250);
  await s.cmd('RSET', 250);
  await s.cmd('BDAT 0 LAST', R('needMail'));
  assert.equal(t.store.messages('alice@example.com').length, count);
  s.end();
});
