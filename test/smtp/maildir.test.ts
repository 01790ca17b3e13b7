/** Delivery through the real MaildirStore, and a server killed right after 250 that still has the message. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaildirStore } from '../../src/store/maildir/index.js';
import { SmtpTranscript } from '../support/smtp-transcript.js';
import { startSmtp } from './fixture.js';

test('MaildirStore: delivered messages are listed and read back byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'posthorn-smtp-maildir-'));
  const store = new MaildirStore({ root: dir });
  const t = await startSmtp({ store });
  try {
    const s = await t.connect();
    await s.hello();
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<sales@example.com>', 250);
    await s.cmd('DATA', 354);
    const body = `Subject: maildir\r\n\r\n${'line of text\r\n'.repeat(20000)}`;
    s.send(body);
    await s.cmd('.', 250);
    for (const box of ['alice@example.com', 'bob@example.com']) {
      const list = await store.list(box);
      assert.equal(list.length, 1);
      const drop = await store.openMaildrop(box);
      const data = await drop.readBuffer(drop.entries[0].uid);
      await drop.release();
      assert.match(data.toString(), /^Return-Path: <a@example\.org>\r\nReceived: /);
      assert.ok(data.toString().endsWith(body));
    }
    s.end();
  } finally {
    await t.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process killed (SIGKILL) right after 250 still has the message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'posthorn-smtp-crash-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'smtp-child.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const s = await SmtpTranscript.connect(port);
    await s.hello();
    await s.cmd('MAIL FROM:<a@example.org>', 250);
    await s.cmd('RCPT TO:<alice@example.com>', 250);
    await s.cmd('DATA', 354);
    s.send('Subject: survive\r\n\r\nstill here\r\n.\r\n');
    const reply = await s.reply();
    child.kill('SIGKILL');
    assert.equal(reply.code, 250);
    await new Promise((resolve) => child.once('exit', resolve));
    s.end();
    const store = new MaildirStore({ root: dir });
    await store.recover();
    const list = await store.list('alice@example.com');
    assert.equal(list.length, 1);
    const drop = await store.openMaildrop('alice@example.com');
    const data = (await drop.readBuffer(list[0].uid)).toString();
    await drop.release();
    await store.close();
    assert.ok(data.endsWith('Subject: survive\r\n\r\nstill here\r\n'));
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
