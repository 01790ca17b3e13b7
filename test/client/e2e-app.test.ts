/**
 * The whole chain with the real server: PHP-style `posthorn sendmail -t -i` submits through <data>/posthorn.sock of a
 * running PosthornApp, the message lands in the store, `fetch` downloads it over POP3 into a Maildir and deletes it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PosthornApp } from '../../src/server/app.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/log.js';
import { fetchMail } from '../../src/client/pop3/fetch.js';
import { mailDetailed } from '../../src/client/mail.js';

const data = mkdtempSync(path.join(tmpdir(), 'ph-client-e2e-'));
const config = validateConfig(
  {
    hostname: 'mail.test',
    listeners: { smtp: '127.0.0.1:0', submission: 'off', smtps: 'off', pop3: '127.0.0.1:0', pop3s: 'off', http: 'off' },
  },
  'test',
);
const app = new PosthornApp({ dataDir: data, config, logger: silentLogger });
const listeners = await app.start();
after(async () => {
  await app.stop(0);
  rmSync(data, { recursive: true, force: true });
});
const pop3Port = listeners.find((l) => l.name === 'pop3')!.port!;

test('sendmail -t -i (as PHP runs it) -> local socket -> store -> POP3 fetch into a Maildir', async () => {
  app.directory.addDomain('example.com');
  await app.directory.addUser('alice@example.com', 'wonderland');
  const stdin = 'To: Alice <alice@example.com>\nSubject: From PHP\nFrom: web@example.com\n\nHello from mail().\n.\nStill here.\n';
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/main.ts'), 'sendmail', '-t', '-i'], {
    env: { ...process.env, POSTHORN_DATA: data, POSTHORN_SMTP_URL: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(stdin);
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);

  // mail() from the library goes the same way when nothing is configured.
  const saved = process.env.POSTHORN_DATA;
  process.env.POSTHORN_DATA = data;
  delete process.env.POSTHORN_SMTP_URL;
  try {
    const r = await mailDetailed('alice@example.com', 'Second', 'Body two', 'From: web@example.com');
    assert.equal(r.ok, true, String(r.error));
  } finally {
    if (saved === undefined) delete process.env.POSTHORN_DATA;
    else process.env.POSTHORN_DATA = saved;
  }

  const maildir = path.join(data, 'fetched');
  const result = await fetchMail({ server: { host: '127.0.0.1', port: pop3Port, tls: 'off' }, user: 'alice@example.com', password: 'wonderland', target: { maildir }, mode: 'delete' });
  assert.equal(result.fetched, 2);
  assert.equal(result.deleted, 2);
  const texts = readdirSync(path.join(maildir, 'new')).map((f) => readFileSync(path.join(maildir, 'new', f), 'utf8'));
  const php = texts.find((t) => t.includes('Subject: From PHP'))!;
  assert.ok(php, texts.join('\n---\n'));
  assert.match(php, /\n\nHello from mail\(\)\.\n\.\nStill here\.\n$/);
  assert.match(php, /^Received: /m);
  assert.ok(texts.some((t) => /Subject: Second\n[\s\S]*\n\nBody two\n$/.test(t)));
  assert.equal((await fetchMail({ server: { host: '127.0.0.1', port: pop3Port, tls: 'off' }, user: 'alice@example.com', password: 'wonderland', target: { maildir } })).fetched, 0);
});
