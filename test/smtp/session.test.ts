/** RFC 5321 sessions over a real socket: commands, reply codes, sequence rules, delivery into the store. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REPLIES, replyLine } from '../../src/protocol/smtp/replies.js';
import { startSmtp, type TestServer } from './fixture.js';

let t: TestServer;
before(async () => {
  t = await startSmtp();
});
after(() => t.close());

const R = (name: keyof typeof REPLIES) => replyLine(REPLIES[name]);

test('greeting, EHLO advertises every extension, QUIT', async () => {
  const s = await t.connect();
  const greeting = await s.expect(220);
  assert.match(greeting.raw, /^220 mx\.example\.com ESMTP/);
  const ehlo = await s.cmd('EHLO client.example', 250);
  assert.equal(ehlo.lines[0], 'mx.example.com Hello client.example');
  for (const ext of ['PIPELINING', 'SIZE 52428800', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING', 'BINARYMIME', 'DSN', 'STARTTLS']) {
    assert.ok(ehlo.lines.includes(ext), `EHLO lists ${ext}`);
  }
  assert.ok(!ehlo.lines.some((l) => l.startsWith('AUTH')), 'no AUTH on MX by default');
  await s.cmd('QUIT', R('bye'));
  await s.closed();
});

test('a message is delivered with Return-Path and Received first, dot-unstuffed, 250 after commit', async () => {
  const s = await t.connect();
  await s.hello();
  await s.cmd('MAIL FROM:<sender@example.org>', R('senderOk'));
  await s.cmd('RCPT TO:<alice@example.com>', R('recipientOk'));
  await s.cmd('DATA', 354);
  s.send('Subject: test\r\n\r\n..leading dot\r\nbody\r\n.\r\n');
  const done = await s.expect('250 2.0.0 OK queued as');
  const id = done.lines[0].split(' ').pop()!;
  const [msg] = t.store.messages('alice@example.com').slice(-1);
  const text = msg.toString();
  assert.match(text, /^Return-Path: <sender@example\.org>\r\nReceived: from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.com \(Posthorn\) with ESMTP id /);
  assert.ok(text.includes(`id ${id}`));
  assert.match(text, /\tfor <alice@example\.com>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/);
  assert.ok(text.endsWith('Subject: test\r\n\r\n.leading dot\r\nbody\r\n'));
  await s.cmd('QUIT', 221);
});

test('aliases expand to each mailbox once; HELO sessions say "with SMTP"', async () => {
  const s = await t.connect();
  await s.expect(220);
  await s.cmd('HELO old.example', '250 mx.example.com');
  await s.cmd('MAIL FROM:<>', 250);
  await s.cmd('RCPT TO:<sales@example.com>', 250);
  await s.cmd('RCPT TO:<Alice@Example.COM>', 250);
  const beforeBob = t.store.messages('bob@example.com').length;
  await s.cmd('DATA', 354);
  await s.cmd('Subject: x\r\n\r\nhi\r\n.', 250);
  assert.equal(t.store.messages('bob@example.com').length, beforeBob + 1);
  const msg = t.store.messages('bob@example.com').at(-1)!.toString();
  assert.match(msg, /^Return-Path: <>\r\n/);
  assert.match(msg, /with SMTP id/);
  assert.doesNotMatch(msg, /\tfor </, 'no "for" clause with several recipients');
  s.end();
});

test('sequence errors are 503 and leave the state unchanged; syntax errors 501; unknown 500', async () => {
  const s = await t.connect();
  await s.expect(220);
  await s.cmd('MAIL FROM:<a@example.org>', R('sendHelloFirst'));
  await s.cmd('EHLO', '501 5.5.4');
  await s.cmd('EHLO client.example', 250);
  await s.cmd('RCPT TO:<alice@example.com>', R('needMail'));
  await s.cmd('DATA', R('needMail'));
  await s.cmd('MAIL FROM:a@example.org', R('mailSyntax'));
  await s.cmd('MAIL FROM:<a@@example.org>', R('badSender'));
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('MAIL FROM:<b@example.org>', R('nestedMail'));
  await s.cmd('DATA', R('needRcpt'));
  await s.cmd('RCPT TO:alice@example.com', R('rcptSyntax'));
  await s.cmd('RCPT TO:<alice@example.com> FOO=BAR', R('unknownParameter'));
  await s.cmd('RCPT TO:<nobody@example.com>', R('unknownUser'));
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  await s.cmd('FROB', R('unknownCommand'));
  await s.cmd('DATA extra', R('noArgsExpected'));
  await s.cmd('DATA', 354);
  await s.cmd('.', 250);
  s.end();
});

test('RSET is always 250 and never closes; NOOP, VRFY 252, EXPN 502, HELP 214, TURN/ETRN 502', async () => {
  const s = await t.connect();
  await s.expect(220);
  await s.cmd('RSET', R('reset'));
  await s.cmd('EHLO client.example', 250);
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('RSET', R('reset'));
  await s.cmd('RCPT TO:<alice@example.com>', R('needMail'));
  await s.cmd('NOOP', R('ok'));
  await s.cmd('NOOP whatever', R('ok'));
  await s.cmd('VRFY alice', R('vrfy'));
  await s.cmd('VRFY nobody', R('vrfy'));
  await s.cmd('VRFY', '501');
  await s.cmd('EXPN sales', R('expn'));
  await s.cmd('HELP', 214);
  await s.cmd('TURN', R('notImplemented'));
  await s.cmd('ETRN example.com', R('notImplemented'));
  await s.cmd('RSET', 250);
  await s.cmd('QUIT', 221);
  await s.closed();
});

test('pipelining: a whole transaction in one write gets every reply in order', async () => {
  const s = await t.connect();
  await s.hello();
  const count = t.store.messages('alice@example.com').length;
  s.send('MAIL FROM:<p@example.org>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n');
  await s.expect(R('senderOk'));
  await s.expect(R('recipientOk'));
  await s.expect(R('unknownUser'));
  await s.expect(R('recipientOk'));
  await s.expect(354);
  s.send('Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<q@example.org>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n');
  await s.expect(250);
  await s.expect(250);
  await s.expect(250);
  await s.expect(354);
  s.send('second\r\n.\r\nQUIT\r\n');
  await s.expect(250);
  await s.expect(221);
  assert.equal(t.store.messages('alice@example.com').length, count + 2);
  assert.ok(t.store.messages('alice@example.com').at(-1)!.toString().endsWith('\r\nsecond\r\n'));
});

test('enhanced status codes on every 2xx/4xx/5xx reply after the greeting', async () => {
  const s = await t.connect();
  await s.hello();
  for (const cmd of ['NOOP', 'RSET', 'FROB', 'VRFY x', 'MAIL FROM:<a@example.org>', 'RCPT TO:<x@elsewhere.example>', 'RCPT TO:<alice@example.com>', 'DATA']) {
    const r = await s.cmd(cmd, /.*/);
    if (r.code !== 354) assert.match(r.raw, /^\d{3} [245]\.\d{1,3}\.\d{1,3} /, `${cmd}: ${r.raw}`);
  }
  await s.cmd('.', /^250 2\.0\.0 /);
  s.end();
});

test('SIZE: refused at MAIL when declared too big, and during DATA when the data is', async () => {
  const small = await startSmtp({ config: { max_message_size: 1000 } });
  try {
    const s = await small.connect();
    const ehlo = await s.hello();
    assert.ok(ehlo.lines.includes('SIZE 1000'));
    await s.cmd('MAIL FROM:<a@example.org> SIZE=1001', R('sizeExceeded'));
    await s.cmd('MAIL FROM:<a@example.org> SIZE=1000', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    s.send(`Subject: big\r\n\r\n${'x'.repeat(70)}\r\n`.repeat(20));
    // a smuggled end of data inside the oversized part must not end it
    s.send('\n.\nMAIL FROM:<evil@example.org>\r\n');
    await s.cmd('.', R('sizeExceeded'));
    assert.equal(small.store.messages('alice@example.com').length, 0);
    await s.cmd('MAIL FROM:<a@example.org>', 250, );
    s.end();
  } finally {
    await small.close();
  }
});

test('8BITMIME and SMTPUTF8: UTF-8 addresses only with SMTPUTF8, 8-bit data kept byte for byte', async () => {
  const u = await startSmtp();
  u.directory.addDomain('例子.广告').addUser('用户@例子.广告', 'pw');
  try {
    const s = await u.connect();
    await s.hello();
    await s.cmd('MAIL FROM:<José@example.org>', R('utf8NeedsSmtputf8'));
    await s.cmd('MAIL FROM:<jose@example.org> BODY=8BITMIME', 250);
    await s.cmd('RCPT TO:<用户@例子.广告>', R('utf8NeedsSmtputf8'));
    await s.cmd('RSET', 250);
    await s.cmd('MAIL FROM:<José@example.org> SMTPUTF8 BODY=8BITMIME', 250);
    await s.cmd('RCPT TO:<用户@例子.广告>', 250);
    await s.cmd('DATA', 354);
    s.send(Buffer.from('Subject: Grüße\r\n\r\nÄÖÜ \xff\r\n.\r\n', 'latin1'));
    await s.expect(250);
    const msg = u.store.messages('用户@xn--fsqu00a.xn--4rr70v').at(-1)!;
    assert.ok(msg.includes(Buffer.from('ÄÖÜ \xff\r\n', 'latin1')));
    assert.match(msg.toString('latin1'), /with UTF8SMTP id/);
    s.end();
  } finally {
    await u.close();
  }
});

test('store failures: full disk 452 4.3.1, other errors 451 4.3.0, never 250', async () => {
  const { StoreError } = await import('../../src/store/types.js');
  const s = await t.connect();
  await s.hello();
  for (const [err, expected] of [
    [new StoreError('full', 'disk full'), R('storeFull')],
    [new StoreError('io', 'EIO'), R('storeFailed')],
  ] as const) {
    t.store.failNextCommit = err;
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    await s.cmd('x\r\n.', expected);
  }
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  s.end();
});

test('a store that cannot begin a delivery: 354 is not held up, the failure is answered after the data (452/451)', async () => {
  const { StoreError } = await import('../../src/store/types.js');
  const { MemoryStore } = await import('../../src/store/memory.js');
  const inner = new MemoryStore();
  let fail: Error | null = new StoreError('full', 'quota');
  const store = Object.assign(Object.create(inner) as typeof inner, {
    beginDelivery: async () => {
      if (fail) throw fail;
      return inner.beginDelivery();
    },
  });
  const f = await startSmtp({ store });
  try {
    const s = await f.connect();
    await s.hello();
    for (const [err, expected] of [
      [new StoreError('full', 'quota'), R('storeFull')],
      [new Error('EIO'), R('storeFailed')],
    ] as const) {
      fail = err;
      await s.cmd('MAIL FROM:<a@example.org>', 250);
      await s.cmd('RCPT TO:<alice@example.com>', 250);
      await s.cmd('DATA', 354);
      await s.cmd('Subject: x\r\n\r\nbody\r\n.', expected);
      s.send('MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.com>\r\nBDAT 5 LAST\r\nhello');
      await s.expect(250);
      await s.expect(250);
      await s.expect(expected);
    }
    fail = null;
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    await s.cmd('.', 250);
    assert.match(inner.messages('alice@example.com')[0].toString(), /^Return-Path: <a@example\.org>\r\nReceived: [^]*\+0000\r\n$/);
    s.end();
  } finally {
    await f.close();
  }
});

test('a client that sends everything and shuts down its side (like "... | nc") still gets every reply', async () => {
  const s = await t.connect();
  await s.expect(220);
  const before = t.store.messages('bob@example.com').length;
  s.socket.end('EHLO pipe.example\r\nMAIL FROM:<cron@example.org>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: piped\r\n\r\nok\r\n.\r\nQUIT\r\n');
  await s.expect(250);
  await s.expect(R('senderOk'));
  await s.expect(R('recipientOk'));
  await s.expect(354);
  await s.expect('250 2.0.0 OK queued as');
  await s.expect(R('bye'));
  await s.closed();
  assert.equal(t.store.messages('bob@example.com').length, before + 1);
});

test('a store write failing in the middle of the data (disk full): 452 after the final dot, session goes on', async () => {
  const { StoreError } = await import('../../src/store/types.js');
  const { MemoryStore } = await import('../../src/store/memory.js');
  const inner = new MemoryStore();
  let aborted = 0;
  let failWrites = true;
  const store = Object.assign(Object.create(inner) as typeof inner, {
    beginDelivery: async () => {
      const tx = await inner.beginDelivery();
      return {
        get size() {
          return tx.size;
        },
        write: async (chunk: Buffer) => {
          if (failWrites && chunk.includes('second part')) throw new StoreError('full', 'No space left on device');
          return tx.write(chunk);
        },
        commit: tx.commit,
        abort: async () => {
          aborted++;
          await tx.abort();
        },
      };
    },
  });
  const f = await startSmtp({ store });
  try {
    const s = await f.connect();
    await s.hello();
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    s.send('Subject: first part\r\n\r\n');
    s.send('second part\r\n');
    await s.cmd('third part\r\n.', R('storeFull'));
    assert.equal(aborted, 1);
    assert.equal(inner.messages('alice@example.com').length, 0);
    failWrites = false;
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    await s.cmd('fine\r\n.', 250);
    s.end();
  } finally {
    await f.close();
  }
});

test('after HELO (not EHLO) ESMTP parameters and extension commands are not available', async () => {
  const s = await t.connect();
  await s.expect(220);
  await s.cmd('HELO old.example', 250);
  await s.cmd('MAIL FROM:<a@example.org> SIZE=10', R('unknownParameter'));
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('RCPT TO:<alice@example.com> NOTIFY=NEVER', R('unknownParameter'));
  await s.cmd('RCPT TO:<alice@example.com>', 250);
  await s.cmd('STARTTLS', R('sendEhloFirst'));
  s.send('BDAT 3 LAST\r\nabc');
  await s.expect(R('sendEhloFirst'));
  await s.cmd('DATA', 354);
  await s.cmd('.', 250);
  s.end();
});

test('Received: a HELO name that is not a domain is replaced by the address literal and kept in a comment', async () => {
  const s = await t.connect();
  await s.expect(220);
  await s.cmd('EHLO not_a(domain)', 250);
  await s.cmd('MAIL FROM:<a@example.org>', 250);
  await s.cmd('RCPT TO:<bob@example.com>', 250);
  await s.cmd('DATA', 354);
  await s.cmd('Subject: helo\r\n\r\nx\r\n.', 250);
  const msg = t.store.messages('bob@example.com').at(-1)!.toString();
  assert.match(msg, /^Return-Path: <a@example\.org>\r\nReceived: from \[127\.0\.0\.1\] \(\[127\.0\.0\.1\]\)\r\n\t\(helo=not_a\?domain\?\)\r\n\tby mx\.example\.com /);
  s.end();
});
