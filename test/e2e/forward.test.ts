/** An alias whose targets include an address in another domain: local copy delivered, remote copy forwarded. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import nodemailer from 'nodemailer';
import { PosthornApp } from '../../src/server/app.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/log.js';

test('an alias forwards to a remote target through the queue and delivers the local one', async () => {
  const received: Array<{ from: string; to: string[]; data: string }> = [];
  let gotIt: () => void;
  const arrived = new Promise<void>((r) => (gotIt = r));
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString() });
        cb();
        gotIt();
      });
    },
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  after(() => new Promise<void>((r) => sink.close(() => r())));
  const sinkPort = (sink.server.address() as AddressInfo).port;

  const data = mkdtempSync(join(tmpdir(), 'posthorn-fwd-'));
  const config = validateConfig(
    {
      hostname: 'mail.test',
      listeners: { smtp: '127.0.0.1:0', submission: 'off', smtps: 'off', pop3: 'off', pop3s: 'off', http: 'off' },
      delivery: { routes: { 'remote.example': `127.0.0.1:${sinkPort}` } },
    },
    'test',
  );
  const app = new PosthornApp({ dataDir: data, config, logger: silentLogger });
  const listeners = await app.start();
  after(() => app.stop(0));
  app.directory.addDomain('example.com');
  await app.directory.addUser('alice@example.com', 'pw');
  app.directory.addAlias('sales@example.com', ['alice@example.com', 'bob@remote.example']);

  const mx = nodemailer.createTransport({ host: '127.0.0.1', port: listeners.find((l) => l.name === 'smtp')!.port!, ignoreTLS: true });
  const info = await mx.sendMail({ envelope: { from: 'customer@elsewhere.example', to: ['sales@example.com'] }, raw: 'From: customer@elsewhere.example\r\nTo: sales@example.com\r\nSubject: order\r\n\r\nplease\r\n' });
  assert.deepEqual(info.accepted, ['sales@example.com']);
  assert.equal((await app.store.list('alice@example.com')).length, 1);

  await arrived;
  assert.equal(received.length, 1);
  assert.equal(received[0].from, 'customer@elsewhere.example');
  assert.deepEqual(received[0].to, ['bob@remote.example']);
  assert.match(received[0].data, /Subject: order\r\n/);

  // Strangers still may not relay: only the alias forwards.
  await assert.rejects(mx.sendMail({ envelope: { from: 'x@elsewhere.example', to: ['bob@remote.example'] }, raw: 'Subject: x\r\n\r\nx\r\n' }), (err: Error & { responseCode?: number }) => err.responseCode === 554 || err.responseCode === 550);
});
