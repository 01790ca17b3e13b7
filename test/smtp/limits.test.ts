/** Smuggling, line limits, early talkers, HTTP, error and recipient limits, timeouts, connection limits, shutdown. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REPLIES, replyLine } from '../../src/protocol/smtp/replies.js';
import { SmtpTranscript } from '../support/smtp-transcript.js';
import { startSmtp, type TestServer } from './fixture.js';

const R = (name: keyof typeof REPLIES) => replyLine(REPLIES[name]);

let t: TestServer;
before(async () => {
  t = await startSmtp({ config: { max_message_size: 4096 } });
});
after(() => t.close());

const SEQUENCES = ['\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '\r\n.\r', '\r.\r\n', '\n.\r', '\r\n.\r\r\n', '\n\n.\n\n', '\r\n\x00.\r\n'];

for (const seq of SEQUENCES) {
  for (const oversize of [false, true]) {
    test(`smuggling ${JSON.stringify(seq)}${oversize ? ' while over the size limit' : ''}: no early end, no second message`, async () => {
      const s = await t.connect();
      await s.hello();
      const before = t.store.messages('alice@example.com').length;
      const beforeBob = t.store.messages('bob@example.com').length;
      await s.cmd('MAIL FROM:<a@example.org>', 250);
      await s.cmd('RCPT TO:<alice@example.com>', 250);
      await s.cmd('DATA', 354);
      const padding = oversize ? 'x'.repeat(70) + '\r\n' : '';
      s.send(`Subject: smuggle\r\n\r\n${padding.repeat(80)}hello${seq}MAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n\r\nsmuggled\r\n`);
      // Nothing may be answered yet: the data has not ended.
      s.line('NOOP');
      s.send('.\r\n');
      const reply = await s.reply();
      if (oversize) assert.equal(`${reply.code} ${reply.lines[0]}`, R('sizeExceeded'));
      else if (seq.includes('\x00')) assert.equal(reply.code, 250);
      else assert.equal(`${reply.code} ${reply.lines[0]}`, R('bareLineEnding'));
      await s.cmd('NOOP', R('ok'));
      assert.equal(s.pending, '');
      assert.equal(t.store.messages('bob@example.com').length, beforeBob, 'no smuggled second message');
      assert.equal(t.store.messages('alice@example.com').length, before + (reply.code === 250 ? 1 : 0));
      s.end();
    });
  }
}

test('bare_line_endings = "normalize": bare CR/LF stored as CRLF, smuggling still impossible', async () => {
  const n = await startSmtp({ config: { bare_line_endings: 'normalize' } });
  try {
    const s = await n.connect();
    await s.hello();
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    s.send('Subject: n\r\n\r\na\nb\n.\nMAIL FROM:<evil@example.org>\r\n');
    await s.cmd('.', 250);
    const msgs = n.store.messages('alice@example.com');
    assert.equal(msgs.length, 1);
    assert.ok(msgs[0].toString().endsWith('Subject: n\r\n\r\na\r\nb\r\n.\r\nMAIL FROM:<evil@example.org>\r\n'));
    s.end();
  } finally {
    await n.close();
  }
});

test('over-long command line: 500, connection stays usable; 10 MB without LF is cut off in bounded memory', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd(`NOOP ${'x'.repeat(600)}`, R('lineTooLong'));
  await s.cmd(`NOOP ${'x'.repeat(505)}`, R('ok'));
  await s.cmd('NOOP', R('ok'));
  const rss = process.memoryUsage().rss;
  const chunk = Buffer.alloc(64 * 1024, 'A');
  let sent = 0;
  while (sent < 10 * 1024 * 1024 && !s.isClosed) {
    if (!s.socket.write(chunk)) await new Promise((resolve) => s.socket.once('drain', resolve).once('close', resolve));
    sent += chunk.length;
  }
  await s.expect(R('lineTooLongClosing'));
  await s.closed();
  assert.ok(sent < 10 * 1024 * 1024 || s.isClosed);
  assert.ok(process.memoryUsage().rss - rss < 32 * 1024 * 1024, 'memory stays bounded');
});

test('over-long text line in DATA is answered after the final dot; leniency option accepts it', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  await s.cmd('DATA', 354);
  s.line('y'.repeat(1200));
  s.line('NOOP');
  await s.cmd('.', R('dataLineTooLong'));
  s.end();
  const lenient = await startSmtp({ config: { lenient_text_line: 2000 } });
  try {
    const l = await lenient.connect();
    await l.hello();
    await l.cmd('MAIL FROM:<a@example.org>', 250);
    await l.cmd('RCPT TO:<alice@example.com>', 250);
    await l.cmd('DATA', 354);
    l.line('y'.repeat(1200));
    await l.cmd('.', 250);
    l.end();
  } finally {
    await lenient.close();
  }
});

test('early talker (data before the greeting) gets 554 and is disconnected', async () => {
  const d = await startSmtp({ config: { greeting_delay: 5 } });
  try {
    const s = await d.connect();
    s.line('EHLO impatient.example');
    await s.expect(R('earlyTalker'));
    await s.closed();
  } finally {
    await d.close();
  }
});

test('an HTTP request is refused with 554 and the connection closed', async () => {
  const s = await t.connect();
  await s.expect(220);
  s.send('GET / HTTP/1.1\r\nHost: mx.example.com\r\n\r\n');
  await s.expect(R('httpRequest'));
  await s.closed();
});

test('recipient limit: 100 accepted, the next 452 4.5.3, and the message still goes', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  let batch = '';
  for (let i = 0; i < 101; i++) batch += 'RCPT TO:<alice@example.com>\r\n';
  s.send(batch);
  for (let i = 0; i < 100; i++) await s.expect(250);
  await s.expect(R('tooManyRecipients'));
  await s.cmd('DATA', 354);
  await s.cmd('x\r\n.', 250);
  s.end();
});

test('after 20 errors: 421 and close; an unknown command alone does not close', async () => {
  const s = await t.connect();
  await s.hello();
  for (let i = 0; i < 19; i++) await s.cmd('FROB', R('unknownCommand'));
  s.line('FROB');
  await s.expect(R('unknownCommand'));
  await s.expect(R('tooManyErrors'));
  await s.closed();
});

test('commands before MAIL are limited', async () => {
  const c = await startSmtp({ config: { max_commands_before_mail: 5 } });
  try {
    const s = await c.connect();
    await s.hello();
    for (let i = 0; i < 4; i++) await s.cmd('NOOP', 250);
    await s.cmd('NOOP', R('tooManyCommands'));
    await s.closed();
  } finally {
    await c.close();
  }
});

test('timeouts (RFC 5321 4.5.3.2): idle command and DATA sessions get 421 4.4.2', async () => {
  let now = 5_000_000;
  const c = await startSmtp({ now: () => now });
  try {
    const idle = await c.connect();
    await idle.hello();
    const data = await c.connect();
    await data.hello();
    await data.cmd('MAIL FROM:<a@example.org>', 250);
    await data.cmd('RCPT TO:<alice@example.com>', 250);
    await data.cmd('DATA', 354);
    now += 181_000;
    c.server.checkTimeouts();
    await data.expect(R('timeout'));
    await data.closed();
    assert.equal(idle.isClosed, false, 'command timeout is 5 minutes');
    now += 120_000;
    c.server.checkTimeouts();
    await idle.expect(R('timeout'));
    await idle.closed();
  } finally {
    await c.close();
  }
});

test('connections per address are limited, trusted networks exempt', async () => {
  const c = await startSmtp({ config: { max_connections_per_ip: 2, trusted_networks: [] } });
  try {
    const a = await c.connect();
    const b = await c.connect();
    await a.expect(220);
    await b.expect(220);
    const third = await c.connect();
    await third.expect(R('tooManyConnectionsFromIp'));
    await third.closed();
    a.end();
    await a.closed();
    while (c.server.connectionCount > 1) await new Promise((r) => setImmediate(r));
    const again = await c.connect();
    await again.expect(220);
    b.end();
    again.end();
  } finally {
    await c.close();
  }
  const trusted = await startSmtp({ config: { max_connections_per_ip: 1 } });
  try {
    const a = await trusted.connect();
    const b = await trusted.connect();
    await a.expect(220);
    await b.expect(220);
    a.end();
    b.end();
  } finally {
    await trusted.close();
  }
});

test('close(): idle sessions get 421 4.3.2 at once, a message in progress can finish', async () => {
  const c = await startSmtp();
  const idle = await c.connect();
  await idle.hello();
  const busy = await c.connect();
  await busy.hello();
  await busy.cmd('MAIL FROM:<a@example.org>', 250);
  await busy.cmd('RCPT TO:<alice@example.com>', 250);
  await busy.cmd('DATA', 354);
  const closing = c.server.close(5000);
  await idle.expect(R('shuttingDown'));
  await idle.closed();
  await busy.cmd('last words\r\n.', 250);
  await busy.expect(R('shuttingDown'));
  await busy.closed();
  await closing;
  assert.equal(c.store.messages('alice@example.com').length, 1);
  await assert.rejects(SmtpTranscript.connect(c.port()));
});

test('a client that disconnects in the middle of DATA leaves nothing: the store transaction is aborted', async () => {
  const { MemoryStore } = await import('../../src/store/memory.js');
  const inner = new MemoryStore();
  let aborted = 0;
  let begun = 0;
  const store = Object.assign(Object.create(inner) as typeof inner, {
    beginDelivery: async () => {
      begun++;
      const tx = await inner.beginDelivery();
      return { ...tx, get size() { return tx.size; }, write: tx.write, commit: tx.commit, abort: async () => { aborted++; await tx.abort(); } };
    },
  });
  const c = await startSmtp({ store });
  try {
    const s = await c.connect();
    await s.hello();
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    s.send('Subject: cut\r\n\r\npartial');
    s.end();
    while (c.server.connectionCount > 0) await new Promise((r) => setImmediate(r));
    assert.equal(begun, 1);
    assert.equal(aborted, 1);
    assert.equal(inner.messages('alice@example.com').length, 0);
  } finally {
    await c.close();
  }
});

test('a 6 MB message streams through (young-generation collections on the way) and is stored exactly', async () => {
  const { collectYoungGeneration } = await import('../../src/server/smtp/memory.js');
  collectYoungGeneration();
  assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'the gc extension is not put on the global object');
  const big = await startSmtp();
  try {
    const s = await big.connect();
    await s.hello();
    await s.cmd('MAIL FROM:<a@example.org> SIZE=6400000', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    const line = `${'0123456789'.repeat(7)}\r\n`;
    const block = line.repeat(1000);
    for (let i = 0; i < 85; i++) if (!s.socket.write(block)) await new Promise((r) => s.socket.once('drain', r));
    await s.cmd('.', 250);
    const msg = big.store.messages('alice@example.com')[0];
    assert.ok(msg.subarray(msg.length - block.length).equals(Buffer.from(block)));
    assert.equal(msg.length - msg.indexOf(block), block.length * 85);
    s.end();
  } finally {
    await big.close();
  }
});
