/**
 * The whole program: `posthorn serve --route '*=...'` as a child process takes a submission for a remote recipient,
 * the remote peer defers it, `posthorn queue list` shows it on the running server, `posthorn queue flush` delivers it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, it } from 'node:test';
import nodemailer from 'nodemailer';
import { queueCommand } from '../../src/delivery/control.js';
import type { QueueSummary } from '../../src/delivery/scheduler.js';
import { SqliteDirectory } from '../../src/directory/sqlite.js';
import { CLI_MAIN, runCli } from '../support/cli.js';
import { tempDataDir } from './helpers.js';
import { Peer } from './peers.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

it('posthorn queue list and flush act on a running posthorn serve', async () => {
  const { dir, cleanup } = await tempDataDir();
  cleanups.push(cleanup);
  const directory = new SqliteDirectory({ dataDir: dir });
  directory.addDomain('example.org');
  await directory.addUser('alice@example.org', 'alice-pw');
  directory.close();

  let defer = true;
  const peer = await new Peer({ rcpt: () => (defer ? { code: 451, message: '4.7.1 Try later' } : null) }).start();
  cleanups.push(() => peer.stop());

  const listeners = ['--smtp', 'off', '--submission', '127.0.0.1:0', '--smtps', 'off', '--pop3', 'off', '--pop3s', 'off', '--http', 'off'];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve', '--data', dir, '--hostname', 'mail.example.org', ...listeners, '--route', `*=127.0.0.1:${peer.port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const submissionPort = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l) => l.trimStart().startsWith('Submission'));
      const m = line ? /:(\d+)\s*$/.exec(line) : null;
      if (m && stdout.includes('--password-stdin')) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });

  const client = nodemailer.createTransport({ host: '127.0.0.1', port: submissionPort, auth: { user: 'alice@example.org', pass: 'alice-pw' }, tls: { rejectUnauthorized: false } });
  await client.sendMail({ from: 'alice@example.org', to: 'bob@remote.test', subject: 'queued', text: 'hello\n' });
  client.close();
  while (peer.rcptAttempts === 0) await new Promise((r) => setTimeout(r, 20));

  // Wait (cheaply, through the socket in-process) until the first attempt is recorded, then ask the real CLI.
  const attempted = async () => ((await queueCommand(dir, { cmd: 'list' })).result as QueueSummary[])[0]?.recipients[0]?.attempts === 1;
  for (let i = 0; i < 100 && !(await attempted()); i++) await new Promise((r) => setTimeout(r, 50));
  const list = await runCli(['queue', 'list', '--data', dir]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /<alice@example\.org>/);
  assert.match(list.stdout, /pending +bob@remote\.test +attempts=1 +next in \dm +451 4\.7\.1 Try later/);
  assert.doesNotMatch(list.stderr, /no server is running/);

  defer = false;
  const flush = await runCli(['queue', 'flush', '--data', dir]);
  assert.equal(flush.code, 0, flush.stderr);
  assert.match(flush.stdout, /1 recipient\(s\) attempted/);
  assert.equal(peer.received.length, 1);
  assert.deepEqual(peer.received[0].to, ['bob@remote.test']);
  const after = await queueCommand(dir, { cmd: 'list' });
  assert.equal(after.mode, 'server');
  assert.deepEqual(after.result, []);

  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
});
