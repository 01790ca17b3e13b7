/**
 * `posthorn sendmail` driven exactly as PHP's mail() drives it (sendmail_path = "posthorn sendmail -t -i": message on
 * stdin, To/Subject/extra headers, a blank line, the body), against Posthorn's own SMTP server on the local socket,
 * and `posthorn send` against smtp-server with an SMTP URL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { localSocketPath } from '../../src/client/local.js';
import { parseSendmailArgs, runSendmail } from '../../src/cli/commands/sendmail.js';
import { runSend } from '../../src/cli/commands/send.js';
import { RecordingQueue, startSmtp } from '../smtp/fixture.js';
import { startSmtpServer } from './support.js';

const MAIN = path.resolve('src/cli/main.ts');

function run(args: string[], stdin: string | Buffer, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function localServer() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-sendmail-'));
  const queue = new RecordingQueue();
  const t = await startSmtp({ kinds: [], queue });
  await t.server.listen('local', { path: localSocketPath(dir) });
  return {
    dir,
    queue,
    t,
    close: async () => {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// What PHP 8 writes to sendmail's stdin for
// mail('alice@example.com, Remote <friend@elsewhere.example>', 'Report', "Line one\n.\nLast", "From: web@example.com\r\nBcc: hidden@elsewhere.example")
const PHP_STDIN = 'To: alice@example.com, Remote <friend@elsewhere.example>\nSubject: Report\nFrom: web@example.com\r\nBcc: hidden@elsewhere.example\n\nLine one\n.\nLast\n';

test('sendmail -t -i as PHP runs it: local and remote recipients, Bcc removed, lone dot kept', async () => {
  const s = await localServer();
  try {
    const r = await run(['sendmail', '-t', '-i'], PHP_STDIN, { POSTHORN_DATA: s.dir, POSTHORN_SMTP_URL: '' });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const local = s.t.store.messages('alice@example.com');
    assert.equal(local.length, 1);
    const queued = s.queue.queued.at(-1)!;
    assert.deepEqual(queued.envelope.recipients.map((x) => x.address).sort(), ['friend@elsewhere.example', 'hidden@elsewhere.example']);
    assert.equal(queued.envelope.authenticatedUser, 'local');
    assert.equal(queued.envelope.mailFrom, (await import('../../src/client/mail.js')).defaultSender());
    const text = local[0].toString();
    assert.doesNotMatch(text, /hidden@/);
    assert.match(text, /\r\nLine one\r\n\.\r\nLast\r\n$/);
    const parsed = await simpleParser(local[0]);
    assert.equal(parsed.subject, 'Report');
    assert.ok(parsed.messageId);
    assert.ok(parsed.date);
  } finally {
    await s.close();
  }
});

test('sendmail -f sender -F name with recipients as arguments; without -i a lone dot ends the message', async () => {
  const s = await localServer();
  try {
    const errors: string[] = [];
    const io = (stdin: string) => ({ stdin: [Buffer.from(stdin)], stderr: (t: string) => errors.push(t), env: { POSTHORN_DATA: s.dir } });
    assert.equal(await runSendmail(['-oi', '-fbounce@example.com', '-F', 'Cron Daemon', '-odb', 'alice@example.com'], io('Subject: cron\n\nout\n')), 0);
    assert.equal(await runSendmail(['-f', 'bounce@example.com', 'alice@example.com'], io('Subject: dots\n\nbefore\n.\nafter\n')), 0);
    assert.deepEqual(errors, []);
    const [first, second] = s.t.store.messages('alice@example.com').map((b) => b.toString());
    assert.match(first, /^From: "Cron Daemon" <bounce@example\.com>\r\n/m);
    assert.match(second, /\r\n\r\nbefore\r\n$/);
    assert.doesNotMatch(second, /after/);
  } finally {
    await s.close();
  }
});

test('sendmail exit codes: 75 when the server cannot be reached, 64 for usage, 67 when every recipient is unknown', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-sendmail-'));
  try {
    const stderr: string[] = [];
    const down = await runSendmail(['-t', '-i'], { stdin: [Buffer.from(PHP_STDIN)], stderr: (t) => stderr.push(t), env: { POSTHORN_DATA: dir } });
    assert.equal(down, 75);
    assert.match(stderr.join(''), /cannot reach the local Posthorn server at .*posthorn\.sock/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const errors: string[] = [];
  const io = { stdin: [Buffer.from('Subject: x\n\nbody\n')], stderr: (t: string) => errors.push(t) };
  assert.equal(await runSendmail(['-t'], io), 64);
  assert.match(errors.join(''), /no recipients found/);
  assert.equal(await runSendmail(['-bs'], io), 64);
  const s = await localServer();
  try {
    const io2 = { stdin: [Buffer.from('Subject: x\n\nbody\n')], stderr: (t: string) => errors.push(t), env: { POSTHORN_DATA: s.dir } };
    assert.equal(await runSendmail(['nobody@example.com'], io2), 67);
    assert.match(errors.at(-1)!, /550/);
  } finally {
    await s.close();
  }
});

test('sendmail argument parsing covers the flags PHP, cron and mailers pass', () => {
  const a = parseSendmailArgs(['-t', '-i', '-f', '<>', '-N', 'failure,delay', '-R', 'hdrs', '-V', 'env1', '-oem', '-B', '8BITMIME', '--', 'x@example.com']);
  assert.equal(a.extractRecipients, true);
  assert.equal(a.ignoreDots, true);
  assert.equal(a.sender, '');
  assert.deepEqual(a.notify, ['FAILURE', 'DELAY']);
  assert.equal(a.ret, 'HDRS');
  assert.equal(a.envid, 'env1');
  assert.deepEqual(a.recipients, ['x@example.com']);
  assert.equal(parseSendmailArgs(['-fme@example.com', '--smtp', 'smtp://h']).smtp, 'smtp://h');
  assert.throws(() => parseSendmailArgs(['-f']), /needs a value/);
  assert.throws(() => parseSendmailArgs(['-Z']), /unknown option/);
});

test('posthorn send with an SMTP URL, an attachment and an HTML file', async () => {
  const server = await startSmtpServer({ authMethods: ['PLAIN'], authOptional: false });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-send-'));
  try {
    writeFileSync(path.join(dir, 'report.csv'), 'a,b\n1,2\n');
    writeFileSync(path.join(dir, 'body.html'), '<p>Hi <b>there</b></p>');
    const r = await run(
      ['send', '--to', 'bob@example.com, carol@example.com', '--bcc', 'hidden@example.com', '--subject', 'Monthly report', '--from', 'alice@example.com', '--attach', path.join(dir, 'report.csv'), '--html', path.join(dir, 'body.html'), '--smtp', `smtp://alice:secret@127.0.0.1:${server.port}/?tls=off`],
      'Hi there\n',
      {},
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sent <.+@example\.com> via smtp:\/\/alice:\*\*\*@127\.0\.0\.1/);
    assert.match(r.stdout, /accepted <hidden@example\.com>/);
    const parsed = await simpleParser(server.received[0].raw);
    assert.equal(parsed.subject, 'Monthly report');
    assert.equal(parsed.text?.trim(), 'Hi there');
    assert.match(String(parsed.html), /<b>there<\/b>/);
    assert.equal(parsed.attachments[0].filename, 'report.csv');
    assert.equal(server.received[0].envelope.rcptTo.length, 3);
    assert.doesNotMatch(server.received[0].raw.toString(), /hidden/);
    const errors: string[] = [];
    const bad = await runSend(
      { to: ['x@example.com'], cc: [], bcc: [], attach: [], header: [], smtp: `smtp://alice:wrong@127.0.0.1:${server.port}/?tls=off` },
      { stdin: [Buffer.from('x')], stdout: () => {}, stderr: (t) => errors.push(t) },
    );
    assert.equal(bad, 77);
    assert.match(errors.join(''), /AUTH PLAIN failed: 535/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
});
