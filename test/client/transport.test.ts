import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { createTransport } from '../../src/client/transport.js';
import { parseSmtpUrl, redactUrl, SmtpUrlError } from '../../src/client/url.js';
import { configureMail, mail, mailDetailed, buildPhpMail } from '../../src/client/mail.js';
import { localSocketPath, resolveSubmission } from '../../src/client/local.js';
import { startSmtpServer } from './support.js';

test('SMTP URLs: schemes, default ports, percent-decoded credentials, query options', () => {
  const a = parseSmtpUrl('smtps://me%40example.com:p%40ss%3Aw0rd@smtp.example.com');
  assert.equal(a.tls, 'implicit');
  assert.equal(a.port, 465);
  assert.deepEqual(a.auth, { user: 'me@example.com', pass: 'p@ss:w0rd', method: undefined });
  const b = parseSmtpUrl('smtp+starttls://u:p@[::1]:2587/?auth=login&name=client.example&pool=20&verify=false');
  assert.equal(b.tls, 'starttls');
  assert.equal(b.host, '::1');
  assert.equal(b.port, 2587);
  assert.equal(b.auth?.method, 'LOGIN');
  assert.equal(b.name, 'client.example');
  assert.equal(b.poolSize, 20);
  assert.equal(b.rejectUnauthorized, false);
  const c = parseSmtpUrl('smtp://mail.example.com:25/?tls=off');
  assert.equal(c.tls, 'off');
  assert.equal(c.auth, undefined);
  const x = parseSmtpUrl('smtps://me:ya29.token@smtp.gmail.com/?auth=XOAUTH2');
  assert.deepEqual(x.auth, { user: 'me', accessToken: 'ya29.token', method: 'XOAUTH2' });
  assert.throws(() => parseSmtpUrl('http://x'), SmtpUrlError);
  assert.throws(() => parseSmtpUrl('smtp://h/?tls=maybe'), /tls=maybe/);
  assert.throws(() => parseSmtpUrl('smtp://u:%E0%A4%A@h'), /percent-encoding/);
  assert.equal(redactUrl('smtps://u:secret@h'), 'smtps://u:***@h');
});

test('submission target: --smtp, then POSTHORN_SMTP_URL, then the data directory socket', () => {
  assert.equal(resolveSubmission({ smtp: 'smtp://a', env: { POSTHORN_SMTP_URL: 'smtp://b' } }).kind, 'url');
  const env = resolveSubmission({ env: { POSTHORN_SMTP_URL: 'smtps://b', POSTHORN_DATA: '/x' } });
  assert.equal(env.kind === 'url' && env.source, 'environment');
  const local = resolveSubmission({ env: { POSTHORN_DATA: '/srv/posthorn' } });
  assert.equal(local.kind === 'local' && local.path, '/srv/posthorn/posthorn.sock');
  const dflt = resolveSubmission({ env: {} });
  assert.equal(dflt.kind === 'local' && dflt.path, path.resolve('data', 'posthorn.sock'));
  assert.equal(localSocketPath('d'), path.resolve('d/posthorn.sock'));
});

test('sendMail composes with to/cc/bcc/html/attachments; Bcc only in the envelope', async () => {
  const server = await startSmtpServer({ authMethods: ['PLAIN', 'LOGIN'], authOptional: false });
  const transport = createTransport(`smtp://alice:secret@127.0.0.1:${server.port}/?tls=off`);
  assert.equal(await transport.verify(), true);
  await assert.rejects(createTransport(`smtp://alice:wrong@127.0.0.1:${server.port}/?tls=off`).verify(), /535/);
  const info = await transport.sendMail({
    from: 'Alice <alice@example.com>',
    to: 'Bob <bob@example.com>, carol@example.com',
    cc: ['dave@example.com'],
    bcc: 'hidden@example.com',
    replyTo: 'replies@example.com',
    subject: 'Grüße aus Köln',
    text: 'Hallo\nWelt',
    html: '<p>Hallo</p>',
    attachments: [{ filename: 'a.txt', content: 'attachment body' }],
    headers: { 'X-Custom': 'yes' },
  });
  await transport.close();
  assert.deepEqual(info.accepted, ['bob@example.com', 'carol@example.com', 'dave@example.com', 'hidden@example.com']);
  assert.deepEqual(info.rejected, []);
  assert.match(info.response, /^250/);
  assert.ok(info.messageId && /^<.+@example\.com>$/.test(info.messageId));
  const received = server.received[0];
  assert.equal(received.user, 'alice');
  assert.equal(received.envelope.mailFrom && received.envelope.mailFrom.address, 'alice@example.com');
  assert.equal(received.envelope.rcptTo.length, 4);
  assert.doesNotMatch(received.raw.toString(), /hidden@example\.com/i);
  const parsed = await simpleParser(received.raw);
  assert.equal(parsed.subject, 'Grüße aus Köln');
  assert.equal(parsed.text?.trim(), 'Hallo\nWelt');
  assert.equal(parsed.attachments[0].filename, 'a.txt');
  assert.equal(parsed.attachments[0].content.toString(), 'attachment body');
  assert.equal(parsed.headers.get('x-custom'), 'yes');
  assert.equal(parsed.messageId, info.messageId);
  await server.close();
});

test('a pool never opens more than its size, delivers every message, and reports refusals per message', async () => {
  let open = 0;
  let peak = 0;
  const server = await startSmtpServer({
    refuse: (a) => (a === 'bad@example.com' ? 'no such user' : null),
    onConnect(_session, callback) {
      open++;
      peak = Math.max(peak, open);
      callback();
    },
    onClose() {
      open--;
    },
  });
  const transport = createTransport({ host: '127.0.0.1', port: server.port, tls: 'off', pool: 3 });
  const sends = Array.from({ length: 30 }, (_, i) =>
    transport.sendMail({ from: 'a@example.com', to: i % 10 === 0 ? ['bad@example.com', `r${i}@example.com`] : `r${i}@example.com`, subject: `n${i}`, text: 'x' }),
  );
  const results = await Promise.all(sends);
  await transport.close();
  assert.ok(peak <= 3, `peak ${peak}`);
  assert.equal(server.received.length, 30);
  assert.deepEqual(results[10].rejected, ['bad@example.com']);
  assert.equal(results[10].rejectedDetails[0].code, 550);
  await server.close();
});

const PHP_HEADERS = 'From: webmaster@example.com\r\nReply-To: webmaster@example.com\r\nCc: c@example.com\r\nBcc: hidden@example.com\r\nX-Mailer: PHP/8.3';

test('mail(): PHP semantics — comma-separated To, headers string, Bcc dropped, -f sets the envelope sender', async () => {
  const server = await startSmtpServer({});
  void configureMail(`smtp://127.0.0.1:${server.port}/?tls=off`);
  try {
    const ok = await mail('Kris Arndt <karn@nucleus.com>,npl@nucleus.com', 'the subject', 'Line 1\nLine 2\n.\nLine 4', PHP_HEADERS, '-fbounce@example.com');
    assert.equal(ok, true);
    const received = server.received[0];
    assert.equal(received.envelope.mailFrom && received.envelope.mailFrom.address, 'bounce@example.com');
    assert.deepEqual(received.envelope.rcptTo.map((r) => r.address), ['karn@nucleus.com', 'npl@nucleus.com', 'c@example.com', 'hidden@example.com']);
    const raw = received.raw.toString();
    assert.doesNotMatch(raw, /^Bcc:/im);
    assert.match(raw, /^To: Kris Arndt <karn@nucleus\.com>,npl@nucleus\.com\r\n/m);
    assert.match(raw, /^Reply-To: webmaster@example\.com\r\n/m);
    assert.match(raw, /^Message-ID: <.+@example\.com>\r\n/m);
    assert.match(raw, /\r\n\r\nLine 1\r\nLine 2\r\n\.\r\nLine 4\r\n$/);
    // Header injection through subject or headers: false, nothing sent.
    assert.equal(await mail('x@example.com', 'hi\r\nBcc: victim@example.com', 'body'), false);
    assert.equal(await mail('x@example.com', 'hi', 'body', 'X-A: 1\r\n\r\nInjected body'), false);
    assert.equal(await mail('x@example.com', 'hi', 'body', 'X-A: 1\rBcc: victim@example.com'), false);
    const detailed = await mailDetailed('x@example.com', 'hi', 'body', { 'X-A': 'a\nBcc: v@example.com' });
    assert.equal(detailed.ok, false);
    assert.match(String(detailed.error), /header injection/);
    assert.equal(server.received.length, 1);
  } finally {
    await configureMail(null);
    await server.close();
  }
});

test('mail(): object headers, UTF-8 subject and body get MIME headers; refusal is false with the reason', async () => {
  const server = await startSmtpServer({ refuse: (a) => (a.startsWith('nobody') ? 'unknown user' : null) });
  void configureMail({ host: '127.0.0.1', port: server.port, tls: 'off' });
  try {
    assert.equal(await mail('bob@example.com', 'Grüße', 'Schöne Grüße', { From: 'Alice <alice@example.com>', Bcc: ['b1@example.com', 'b2@example.com'] }), true);
    const parsed = await simpleParser(server.received[0].raw);
    assert.equal(parsed.subject, 'Grüße');
    assert.equal(parsed.text?.trim(), 'Schöne Grüße');
    assert.equal(server.received[0].envelope.rcptTo.length, 3);
    const refused = await mailDetailed('nobody@example.com', 's', 'b', 'From: a@example.com');
    assert.equal(refused.ok, false);
    assert.match(String(refused.error), /550.*unknown user/);
  } finally {
    await configureMail(null);
    await server.close();
  }
});

test('mail() without configuration submits to the local socket of POSTHORN_DATA', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-client-'));
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        received.push(session.envelope.rcptTo.map((r) => r.address).join(','));
        cb(null);
      });
    },
  });
  server.listen(localSocketPath(dir));
  await once(server.server, 'listening');
  const saved = { data: process.env.POSTHORN_DATA, url: process.env.POSTHORN_SMTP_URL };
  process.env.POSTHORN_DATA = dir;
  delete process.env.POSTHORN_SMTP_URL;
  try {
    assert.equal(await mail('local@example.com', 'via socket', 'hello', 'From: a@example.com'), true);
    assert.deepEqual(received, ['local@example.com']);
  } finally {
    if (saved.data === undefined) delete process.env.POSTHORN_DATA;
    else process.env.POSTHORN_DATA = saved.data;
    if (saved.url !== undefined) process.env.POSTHORN_SMTP_URL = saved.url;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('buildPhpMail: -F sets the From name when From is missing; no recipients is an error', () => {
  const built = buildPhpMail('a@example.com', 's', 'b', undefined, "-f 'sender@example.com' -F 'Web Site'");
  assert.equal(built.envelope.from, 'sender@example.com');
  assert.match(built.raw.toString(), /^From: "Web Site" <sender@example\.com>\r\n/m);
  assert.throws(() => buildPhpMail('undisclosed-recipients:;', 's', 'b'), /no recipient/);
});

test('sendMail with a raw message and an explicit envelope', async () => {
  const server = await startSmtpServer({});
  const transport = createTransport({ host: '127.0.0.1', port: server.port, tls: 'off' });
  const info = await transport.sendMail({ raw: 'Subject: raw\n\nbody\n', envelope: { from: 'a@example.com', to: 'b@example.com, c@example.com' } });
  await assert.rejects(transport.sendMail({ raw: 'x' }), /envelope\.to/);
  await transport.close();
  assert.deepEqual(info.accepted, ['b@example.com', 'c@example.com']);
  assert.equal(info.messageId, null);
  assert.equal(server.received[0].raw.toString(), 'Subject: raw\r\n\r\nbody\r\n');
  await server.close();
});
