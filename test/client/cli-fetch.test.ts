/** `posthorn fetch` run as a command (commander wiring, password on stdin, plain progress lines when piped). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALICE, ALICE_PASSWORD, deliver, message, startPop3 } from '../support/pop3-fixture.js';

test('posthorn fetch pop3://... --maildir DIR --delete --password-stdin', async () => {
  const s = await startPop3();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-fetch-cli-'));
  try {
    await deliver(s.store, ALICE, message('one', 'first'));
    await deliver(s.store, ALICE, message('two', 'second'));
    const maildir = path.join(dir, 'Maildir');
    const args = ['--import', 'tsx', path.resolve('src/cli/main.ts'), 'fetch', `pop3://${encodeURIComponent(ALICE)}@127.0.0.1:${s.port}/?tls=off`, '--maildir', maildir, '--delete', '--password-stdin'];
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(ALICE_PASSWORD + '\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^fetched 1\/2 uid=\S+ .+\nfetched 2\/2 uid=\S+ .+\n$/);
    assert.match(stdout, /^fetched 2 messages \(.+\), 0 already here, 2 deleted on the server\n$/);
    assert.equal(readdirSync(path.join(maildir, 'new')).length, 2);
    assert.equal((await s.store.list(ALICE)).length, 0);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
