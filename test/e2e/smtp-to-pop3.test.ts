/**
 * The whole server in one process: a user added while it runs receives mail over SMTP (MX and authenticated
 * submission) and reads it back over POP3, byte for byte apart from the trace headers the server adds.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { PosthornApp } from '../../src/server/app.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/log.js';
import { Pop3Transcript } from '../support/pop3-transcript.js';

const data = mkdtempSync(join(tmpdir(), 'posthorn-e2e-'));
const config = validateConfig(
  {
    hostname: 'mail.test',
    listeners: { smtp: '127.0.0.1:0', submission: '127.0.0.1:0', smtps: 'off', pop3: '127.0.0.1:0', pop3s: 'off', http: 'off' },
    smtp: { allow_insecure_auth: true },
  },
  'test',
);
const app = new PosthornApp({ dataDir: data, config, logger: silentLogger });
const listeners = await app.start();
after(() => app.stop(0));
const port = (name: string) => listeners.find((l) => l.name === name)!.port!;

test('a user added while the server runs gets mail over SMTP and reads it over POP3 byte for byte', async () => {
  app.directory.addDomain('example.com');
  await app.directory.addUser('alice@example.com', 'wonderland');

  const body = 'Hello Alice,\r\n.leading dot line\r\n..two dots\r\n\r\nBye.\r\n';
  const original = `From: bob@remote.example\r\nTo: alice@example.com\r\nSubject: hi\r\nMessage-ID: <1@remote.example>\r\n\r\n${body}`;
  const mx = nodemailer.createTransport({ host: '127.0.0.1', port: port('smtp'), secure: false, ignoreTLS: true });
  const info = await mx.sendMail({ envelope: { from: 'bob@remote.example', to: ['alice@example.com'] }, raw: original });
  assert.deepEqual(info.accepted, ['alice@example.com']);

  const { client } = await Pop3Transcript.open(port('pop3'));
  await client.command('USER alice@example.com', /^\+OK/);
  await client.command('PASS wonderland', /^\+OK/);
  const [, count, size] = /^\+OK (\d+) (\d+)$/.exec(await client.command('STAT', /^\+OK /))!;
  assert.equal(count, '1');
  client.send('RETR 1');
  await client.expect(/^\+OK/);
  const message = (await client.bodyBytes()).content.toString('latin1');
  await client.command('QUIT', /^\+OK/);
  client.close();
  assert.equal(Buffer.byteLength(message, 'latin1'), Number(size), 'STAT size is exactly what RETR sends');
  assert.match(message, /^Return-Path: <bob@remote\.example>\r\n/);
  assert.match(message, /\r\nReceived: from /);
  assert.ok(message.endsWith(original), 'the message after the trace headers is the original, byte for byte');
});

test('submission needs AUTH and relays for authenticated users only; an alias added at runtime delivers', async () => {
  app.directory.addAlias('team@example.com', ['alice@example.com']);
  const anonymous = nodemailer.createTransport({ host: '127.0.0.1', port: port('submission'), secure: false, ignoreTLS: true });
  await assert.rejects(anonymous.sendMail({ from: 'alice@example.com', to: 'team@example.com', text: 'x' }), (err: Error & { responseCode?: number }) => err.responseCode === 530);

  const submit = nodemailer.createTransport({ host: '127.0.0.1', port: port('submission'), secure: false, ignoreTLS: true, auth: { user: 'alice@example.com', pass: 'wonderland' } });
  const info = await submit.sendMail({ from: 'alice@example.com', to: 'team@example.com', subject: 'to the team', text: 'hello team' });
  assert.deepEqual(info.accepted, ['team@example.com']);
  const list = await app.store.list('alice@example.com');
  assert.equal(list.length, 2);

  const mx = nodemailer.createTransport({ host: '127.0.0.1', port: port('smtp'), secure: false, ignoreTLS: true });
  await assert.rejects(mx.sendMail({ from: 'spammer@remote.example', to: 'victim@elsewhere.example', text: 'x' }), (err: Error & { responseCode?: number }) => err.responseCode === 554 || err.responseCode === 550);
  await assert.rejects(mx.sendMail({ from: 'x@remote.example', to: 'nobody@example.com', text: 'x' }), (err: Error & { responseCode?: number }) => err.responseCode === 550);
});
