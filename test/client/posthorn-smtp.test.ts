/** The SMTP client against Posthorn's own SMTP server: submission with STARTTLS + AUTH, BDAT, SMTPUTF8, MX refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpConnection } from '../../src/client/smtp/connection.js';
import { SmtpTransactionError } from '../../src/client/smtp/transaction.js';
import { createTransport } from '../../src/client/transport.js';
import { RecordingQueue, startSmtp, testTls } from '../smtp/fixture.js';

test('submission: STARTTLS required, AUTH PLAIN, remote recipient queued, local one stored', async () => {
  const queue = new RecordingQueue();
  const t = await startSmtp({ kinds: ['submission'], queue });
  const { cert } = await testTls();
  try {
    const conn = await SmtpConnection.connect({ host: 'localhost', port: t.port(), tls: 'starttls', ca: cert, auth: { user: 'alice@example.com', pass: 'alice-password' } });
    assert.equal(conn.secure, true);
    assert.equal(conn.authenticatedWith, 'PLAIN');
    const r = await conn.send({ from: 'alice@example.com', to: ['bob@example.com', 'friend@elsewhere.example'] }, 'Subject: hi\r\n\r\nhello\r\n');
    await conn.quit();
    assert.deepEqual(r.accepted, ['bob@example.com', 'friend@elsewhere.example']);
    assert.equal(t.store.messages('bob@example.com').length, 1);
    assert.deepEqual(queue.queued[0].envelope.recipients.map((x) => x.address), ['friend@elsewhere.example']);
  } finally {
    await t.close();
  }
});

test('BDAT (CHUNKING) in several chunks and streamed, byte-exact, with bare CR/LF normalized', async () => {
  const t = await startSmtp({ kinds: ['mx'] });
  try {
    const conn = await SmtpConnection.connect({ host: '127.0.0.1', port: t.port(), tls: 'off', bdat: true, bdatChunkSize: 1000 });
    assert.ok(conn.extensions.has('CHUNKING'));
    const body = Array.from({ length: 100 }, (_, i) => `.line ${i}`).join('\n');
    await conn.send({ from: 'x@elsewhere.example', to: ['alice@example.com'] }, `Subject: bdat\n\n${body}\r`);
    async function* stream() {
      yield Buffer.from('Subject: streamed\r');
      yield Buffer.from('\n\r\n');
      for (let i = 0; i < 50; i++) yield Buffer.from(`chunk ${i}\n`);
    }
    await conn.send({ from: 'x@elsewhere.example', to: ['alice@example.com'] }, stream());
    await conn.quit();
    const [first, second] = t.store.messages('alice@example.com').map((b) => b.toString());
    assert.ok(first.endsWith(`Subject: bdat\r\n\r\n${body.replace(/\n/g, '\r\n')}\r\n`), first.slice(-200));
    assert.ok(second.endsWith('Subject: streamed\r\n\r\n' + Array.from({ length: 50 }, (_, i) => `chunk ${i}\r\n`).join('')));
  } finally {
    await t.close();
  }
});

test('MX: unknown local user refused per recipient; SMTPUTF8 address accepted; pool through createTransport', async () => {
  const t = await startSmtp({ kinds: ['mx'] });
  try {
    const conn = await SmtpConnection.connect({ host: '127.0.0.1', port: t.port(), tls: 'off' });
    const r = await conn.send({ from: 'j\u00f6rg@elsewhere.example', to: ['nobody@example.com', 'alice@example.com'] }, 'Subject: x\r\n\r\ny\r\n');
    assert.deepEqual(r.accepted, ['alice@example.com']);
    assert.equal(r.rejected[0].code, 550);
    assert.equal(r.rejected[0].enhancedCode, '5.1.1');
    await assert.rejects(conn.send({ from: 'a@elsewhere.example', to: ['nobody@example.com'] }, 'x'), (e: unknown) => e instanceof SmtpTransactionError && e.stage === 'RCPT');
    await conn.quit();
    const transport = createTransport({ host: '127.0.0.1', port: t.port(), tls: 'off', pool: 4 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => transport.sendMail({ from: 'a@elsewhere.example', to: 'alice@example.com', subject: `n${i}`, text: 'hi' })));
    await transport.close();
    assert.equal(t.store.messages('alice@example.com').length, 21);
  } finally {
    await t.close();
  }
});
