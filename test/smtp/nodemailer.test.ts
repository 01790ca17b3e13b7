/** nodemailer (code we did not write) as the client: MX, submission with STARTTLS and SMTPS, each AUTH method. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startSmtp, type TestServer } from './fixture.js';

let t: TestServer;
before(async () => {
  t = await startSmtp({ kinds: ['mx', 'submission', 'smtps'] });
});
after(() => t.close());

type Method = 'PLAIN' | 'LOGIN' | 'CRAM-MD5';
const USERS: Record<Method, { user: string; pass: string }> = {
  PLAIN: { user: 'alice@example.com', pass: 'alice-password' },
  LOGIN: { user: 'alice@example.com', pass: 'alice-password' },
  'CRAM-MD5': { user: 'bob@example.com', pass: 'bob-password' },
};

async function send(options: Record<string, unknown>, subject: string, to = 'alice@example.com'): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', tls: { rejectUnauthorized: false }, ...options });
  try {
    const info = await transport.sendMail({
      from: 'Sender <sender@example.org>',
      to,
      subject,
      text: `Hello from nodemailer: ${subject}\n.\n..dots\n`,
      attachments: [{ filename: 'a.bin', content: Buffer.alloc(3000, 7) }],
    });
    assert.deepEqual(info.accepted, [to]);
    return info.response;
  } finally {
    transport.close();
  }
}

function stored(box: string, subject: string): string {
  const msg = t.store.messages(box).find((m) => m.toString().includes(`Subject: ${subject}`));
  assert.ok(msg, `message "${subject}" stored in ${box}`);
  return msg.toString();
}

test('MX: nodemailer delivers without AUTH, upgrading with STARTTLS on its own', async () => {
  const response = await send({ port: t.port('mx') }, 'mx plain');
  assert.match(response, /^250 2\.0\.0 OK queued as /);
  const msg = stored('alice@example.com', 'mx plain');
  assert.match(msg, /with ESMTPS id/);
  assert.match(msg, /Hello from nodemailer: mx plain\r\n\.\r\n\.\.dots\r\n/);
});

test('MX without TLS (ignoreTLS): plain ESMTP', async () => {
  await send({ port: t.port('mx'), ignoreTLS: true }, 'mx notls');
  assert.match(stored('alice@example.com', 'mx notls'), /with ESMTP id/);
});

for (const method of ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const) {
  test(`submission + STARTTLS + AUTH ${method}`, async () => {
    await send({ port: t.port('submission'), requireTLS: true, auth: { ...USERS[method], method } }, `587 ${method}`, 'bob@example.com');
    assert.match(stored('bob@example.com', `587 ${method}`), /with ESMTPSA id/);
  });
  test(`SMTPS + AUTH ${method}`, async () => {
    await send({ port: t.port('smtps'), secure: true, auth: { ...USERS[method], method } }, `465 ${method}`, 'bob@example.com');
    assert.match(stored('bob@example.com', `465 ${method}`), /with ESMTPSA id/);
  });
}

test('submission refuses nodemailer without credentials, and with wrong ones', async () => {
  await assert.rejects(send({ port: t.port('submission'), requireTLS: true }, 'no auth'), /530/);
  await assert.rejects(send({ port: t.port('submission'), requireTLS: true, auth: { user: 'alice@example.com', pass: 'nope' } }, 'bad auth'), /535/);
});

test('nodemailer pooled connection sends many messages over one session', async () => {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.port('mx'), pool: true, maxConnections: 2, tls: { rejectUnauthorized: false } });
  try {
    await Promise.all(Array.from({ length: 10 }, (_, i) => transport.sendMail({ from: 'p@example.org', to: 'alice@example.com', subject: `pool ${i}`, text: 'x' })));
  } finally {
    transport.close();
  }
  for (let i = 0; i < 10; i++) stored('alice@example.com', `pool ${i}`);
});
