/** AUTH (RFC 4954), STARTTLS (RFC 3207), submission/MX policy, relay rules and the local socket. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPLIES, replyLine } from '../../src/protocol/smtp/replies.js';
import { SmtpTranscript } from '../support/smtp-transcript.js';
import { b64, plain, RecordingQueue, startSmtp } from './fixture.js';

const R = (name: keyof typeof REPLIES) => replyLine(REPLIES[name]);

test('submission without TLS: AUTH required before MAIL, only CRAM-MD5 offered, PLAIN refused with 538', async () => {
  const t = await startSmtp({ kinds: ['submission'] });
  try {
    const s = await t.connect();
    const ehlo = await s.hello();
    assert.ok(ehlo.lines.includes('AUTH CRAM-MD5'));
    assert.ok(ehlo.lines.includes('STARTTLS'));
    await s.cmd('MAIL FROM:<alice@example.com>', R('authRequired'));
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authNeedsTls'));
    await s.cmd('AUTH LOGIN', R('authNeedsTls'));
    await s.cmd('AUTH GSSAPI', R('authUnknownMechanism'));
    s.end();
  } finally {
    await t.close();
  }
});

test('STARTTLS: 220, handshake, pipelined plaintext discarded (CVE-2011-0411), session reset, no second STARTTLS', async () => {
  const t = await startSmtp({ kinds: ['submission'] });
  try {
    const s = await t.connect();
    await s.hello();
    await s.cmd('STARTTLS now', R('noArgsExpected'));
    // The injected RSET must never be answered.
    s.send('STARTTLS\r\nRSET\r\n');
    await s.expect(R('startTls'));
    await s.startTls();
    await s.cmd('MAIL FROM:<alice@example.com>', R('sendHelloFirst'));
    const ehlo = await s.cmd('EHLO client.example', 250);
    assert.ok(!ehlo.lines.includes('STARTTLS'));
    assert.ok(ehlo.lines.includes('AUTH PLAIN LOGIN CRAM-MD5'));
    await s.cmd('STARTTLS', R('tlsAlreadyActive'));
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authOk'));
    await s.cmd('MAIL FROM:<alice@example.com>', 250);
    await s.cmd('RCPT TO:<bob@example.com>', 250);
    await s.cmd('DATA', 354);
    await s.cmd('Subject: tls\r\n\r\nhi\r\n.', 250);
    const msg = t.store.messages('bob@example.com').at(-1)!.toString();
    assert.match(msg, /with ESMTPSA id \S+\r\n\t\(using TLSv1\.[23] with cipher \S+\)/);
    assert.doesNotMatch(msg, /authenticated as/, 'the authenticated user is not named by default');
    assert.equal(s.pending, '');
    s.end();
  } finally {
    await t.close();
  }
});

test('AUTH PLAIN / LOGIN / CRAM-MD5 with and without initial response', async () => {
  const t = await startSmtp({ kinds: ['submission'], config: { allow_insecure_auth: true } });
  try {
    const run = async (steps: (s: SmtpTranscript) => Promise<void>) => {
      const s = await t.connect();
      const ehlo = await s.hello();
      assert.ok(ehlo.lines.includes('AUTH PLAIN LOGIN CRAM-MD5'));
      await steps(s);
      await s.cmd('MAIL FROM:<x@example.com>', 250);
      s.end();
    };
    await run(async (s) => {
      await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authOk'));
    });
    await run(async (s) => {
      await s.cmd('AUTH PLAIN', '334');
      await s.cmd(plain('alice@example.com', 'alice-password'), R('authOk'));
    });
    await run(async (s) => {
      await s.cmd('AUTH LOGIN', '334 VXNlcm5hbWU6');
      await s.cmd(b64('alice@example.com'), '334 UGFzc3dvcmQ6');
      await s.cmd(b64('alice-password'), R('authOk'));
    });
    await run(async (s) => {
      await s.cmd(`AUTH LOGIN ${b64('alice@example.com')}`, '334 UGFzc3dvcmQ6');
      await s.cmd(b64('alice-password'), R('authOk'));
    });
    const challenges = new Set<string>();
    for (let i = 0; i < 2; i++) {
      await run(async (s) => {
        const c = await s.cmd('AUTH CRAM-MD5', 334);
        const challenge = Buffer.from(c.lines[0], 'base64').toString();
        assert.match(challenge, /^<.+@mx\.example\.com>$/);
        challenges.add(challenge);
        const digest = createHmac('md5', 'bob-password').update(challenge).digest('hex');
        await s.cmd(b64(`bob@example.com ${digest}`), R('authOk'));
      });
    }
    assert.equal(challenges.size, 2, 'CRAM-MD5 challenges are unique');
  } finally {
    await t.close();
  }
});

test('AUTH errors: cancel 501, bad base64 501 5.5.2, wrong 535 5.7.8, CRAM-MD5 without legacy opt-in, control characters, sequence', async () => {
  const t = await startSmtp({ kinds: ['mx'], config: { allow_insecure_auth: true, auth_on_mx: true, auth_free_failures: 100 } });
  try {
    const s = await t.connect();
    await s.expect(220);
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('sendEhloFirst'));
    await s.cmd('EHLO client.example', 250);
    await s.cmd('AUTH PLAIN', 334);
    await s.cmd('*', R('authCancelled'));
    await s.cmd('AUTH LOGIN', 334);
    await s.cmd(b64('alice@example.com'), 334);
    await s.cmd('*', R('authCancelled'));
    await s.cmd('AUTH PLAIN not!base64', R('authBadBase64'));
    await s.cmd('AUTH PLAIN', 334);
    await s.cmd('abc', R('authBadBase64'));
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'wrong')}`, R('authFailed'));
    await s.cmd(`AUTH PLAIN ${plain('ali\x01ce@example.com', 'alice-password')}`, R('authMalformed'));
    const c = await s.cmd('AUTH CRAM-MD5', 334);
    const digest = createHmac('md5', 'alice-password').update(Buffer.from(c.lines[0], 'base64').toString()).digest('hex');
    await s.cmd(b64(`alice@example.com ${digest}`), R('authFailed'));
    // A response line of 12,288 octets is read (and judged), a longer one is refused as too long. The AUTH command
    // line itself stays within 512 octets (RFC 4954 4: no initial response that would make it longer).
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'p'.repeat(600))}`, R('lineTooLong'));
    await s.cmd('AUTH PLAIN', 334);
    await s.cmd(plain('alice@example.com', 'p'.repeat(9197)), R('authFailed'));
    await s.cmd('AUTH PLAIN', 334);
    await s.cmd('A'.repeat(12292), R('authLineTooLong'));
    // MAIL on MX needs no AUTH; AUTH inside a transaction is a sequence error.
    await s.cmd('MAIL FROM:<x@example.org>', 250);
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authInTransaction'));
    await s.cmd('RSET', 250);
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authOk'));
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authAlready'));
    s.end();
  } finally {
    await t.close();
  }
});

test('failed logins are throttled per address and account, then locked out with 454 4.7.0; lockout expires', async () => {
  let now = 1_000_000;
  const t = await startSmtp({
    kinds: ['submission'],
    now: () => now,
    config: { allow_insecure_auth: true, auth_free_failures: 1, auth_delay_step: 0.01, auth_max_delay: 0.02, auth_lockout_after: 3, auth_lockout_time: 60, max_errors: 100 },
  });
  try {
    const s = await t.connect();
    await s.hello();
    for (let i = 0; i < 3; i++) await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'wrong')}`, R('authFailed'));
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authThrottled'));
    await s.cmd('AUTH LOGIN', R('authThrottled'));
    now += 61_000;
    // An aborted exchange followed by a good one works.
    await s.cmd('AUTH LOGIN', 334);
    await s.cmd('*', R('authCancelled'));
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authOk'));
    s.end();
  } finally {
    await t.close();
  }
});

test('SMTPS: implicit TLS with submission rules', async () => {
  const t = await startSmtp({ kinds: ['smtps'] });
  try {
    const s = await t.connect('smtps');
    const ehlo = await s.hello();
    assert.ok(ehlo.lines.includes('AUTH PLAIN LOGIN CRAM-MD5'));
    assert.ok(!ehlo.lines.includes('STARTTLS'));
    await s.cmd('STARTTLS', R('tlsAlreadyActive'));
    await s.cmd('MAIL FROM:<alice@example.com>', R('authRequired'));
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, R('authOk'));
    await s.cmd('MAIL FROM:<alice@example.com>', 250);
    s.end();
  } finally {
    await t.close();
  }
});

test('relay: unauthenticated clients may not relay, also through %-hack, source route, quoted "@" and bang paths', async () => {
  const t = await startSmtp();
  try {
    const s = await t.connect();
    await s.hello();
    await s.cmd('MAIL FROM:<stranger@example.org>', 250);
    await s.cmd('RCPT TO:<victim@elsewhere.example>', R('relayDenied'));
    await s.cmd('RCPT TO:<victim%elsewhere.example@example.com>', R('routingDenied'));
    await s.cmd('RCPT TO:<victim%elsewhere.example@example.net>', R('routingDenied'));
    await s.cmd('RCPT TO:<@example.com:victim@elsewhere.example>', R('relayDenied'));
    await s.cmd('RCPT TO:<"victim@elsewhere.example"@example.com>', R('routingDenied'));
    await s.cmd('RCPT TO:<elsewhere.example!victim@example.com>', R('routingDenied'));
    await s.cmd('RCPT TO:<@elsewhere.example:alice@example.com>', R('recipientOk'));
    await s.cmd('RCPT TO:<anything@example.net>', R('recipientOk'));
    await s.cmd('RCPT TO:<Postmaster>', R('unknownUser'));
    t.directory.addDomain('mx.example.com').addAlias('postmaster@mx.example.com', ['postmaster@example.com']);
    await s.cmd('RCPT TO:<Postmaster>', R('recipientOk'));
    s.end();
  } finally {
    await t.close();
  }
});

test('authenticated relay: 551 without an outbound queue; with one, the body goes to the queue and the store', async () => {
  const noQueue = await startSmtp({ kinds: ['submission'], config: { allow_insecure_auth: true } });
  try {
    const s = await noQueue.connect();
    await s.hello();
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, 235);
    await s.cmd('MAIL FROM:<alice@example.com>', 250);
    await s.cmd('RCPT TO:<friend@elsewhere.example>', R('noOutboundQueue'));
    s.end();
  } finally {
    await noQueue.close();
  }
  const queue = new RecordingQueue();
  const t = await startSmtp({ kinds: ['submission'], queue, config: { allow_insecure_auth: true, received_show_user: true } });
  try {
    const s = await t.connect();
    await s.hello();
    await s.cmd(`AUTH PLAIN ${plain('alice@example.com', 'alice-password')}`, 235);
    await s.cmd('MAIL FROM:<alice@example.com> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME', 250);
    await s.cmd('RCPT TO:<friend@elsewhere.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;friend@elsewhere.example', 250);
    await s.cmd('RCPT TO:<bob@example.com> NOTIFY=NEVER', 250);
    await s.cmd('DATA', 354);
    await s.cmd('Subject: out\r\n\r\nhello\r\n.', 250);
    assert.equal(queue.queued.length, 1);
    const q = queue.queued[0];
    assert.deepEqual(q.envelope.recipients, [{ address: 'friend@elsewhere.example', notify: ['SUCCESS', 'DELAY'], orcpt: 'rfc822;friend@elsewhere.example' }]);
    assert.equal(q.envelope.mailFrom, 'alice@example.com');
    assert.equal(q.envelope.dsnRet, 'HDRS');
    assert.equal(q.envelope.envid, 'abc+def');
    assert.equal(q.envelope.body, '8BITMIME');
    assert.equal(q.envelope.authenticatedUser, 'alice@example.com');
    assert.match(q.data.toString(), /^Received: from client\.example .*\r\n\t\(authenticated as alice@example\.com\)\r\n/s);
    assert.doesNotMatch(q.data.toString(), /Return-Path/);
    assert.ok(q.data.toString().endsWith('Subject: out\r\n\r\nhello\r\n'));
    assert.match(t.store.messages('bob@example.com').at(-1)!.toString(), /^Return-Path: <alice@example\.com>\r\nReceived: /);
    // The queue failing means no 250.
    queue.failNext = true;
    await s.cmd('MAIL FROM:<alice@example.com>', 250);
    await s.cmd('RCPT TO:<friend@elsewhere.example>', 250);
    await s.cmd('DATA', 354);
    await s.cmd('x\r\n.', R('storeFailed'));
    s.end();
  } finally {
    await t.close();
  }
});

test('local socket: sessions are the authenticated user "local" (for posthorn sendmail)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'posthorn-smtp-'));
  const queue = new RecordingQueue();
  const t = await startSmtp({ kinds: [], queue });
  try {
    const path = join(dir, 'smtp.sock');
    // A socket file left by a killed process is replaced.
    const { spawn } = await import('node:child_process');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    assert.equal(await t.server.listen('local', { path }), path);
    const s = await SmtpTranscript.connect(0, { path });
    const ehlo = await s.hello();
    assert.ok(!ehlo.lines.some((l) => l.startsWith('AUTH') || l === 'STARTTLS'));
    await s.cmd('MAIL FROM:<root@example.com>', 250);
    await s.cmd('RCPT TO:<someone@elsewhere.example>', 250);
    await s.cmd('DATA', 354);
    await s.cmd('Subject: cron\r\n\r\nout\r\n.', 250);
    assert.equal(queue.queued.at(-1)!.envelope.authenticatedUser, 'local');
    s.end();
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
