/**
 * End to end: nodemailer submits to Posthorn's SMTP server (submission, AUTH); the server hands remote recipients to
 * the queue; the queue signs with DKIM and delivers to an smtp-server peer, which refuses one recipient; the bounce
 * lands in the sender's local mailbox.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { dkimVerify } from 'mailauth';
import nodemailer from 'nodemailer';
import PostalMime from 'postal-mime';
import { generateDkimKey } from '../../src/delivery/dkim.js';
import { createDelivery } from '../../src/delivery/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { startSmtp, testDirectory } from '../smtp/fixture.js';
import { tempDataDir } from './helpers.js';
import { Peer } from './peers.js';

it('submission -> queue -> DKIM-signed remote delivery, and a local bounce for the refused recipient', async () => {
  const { dir, cleanup } = await tempDataDir();
  const peer = await new Peer({ rcpt: (r) => (r.startsWith('nobody') ? { code: 550, message: '5.1.1 Unknown user' } : null) }).start();
  const key = await generateDkimKey(dir, 'example.com', { selector: 'e2e', algorithm: 'rsa' });
  const store = new MemoryStore();
  await store.ensureMailbox('alice@example.com');
  const delivery = createDelivery({
    dataDir: dir,
    hostname: 'mx.example.com',
    config: { routes: { '*': `127.0.0.1:${peer.port}` } },
    store,
    directory: testDirectory(),
    controlSocket: false,
  });
  await delivery.start();
  const smtp = await startSmtp({ kinds: ['submission'], queue: delivery.queue, store, config: { allow_insecure_auth: true } });
  try {
    const client = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtp.port('submission'),
      secure: false,
      auth: { user: 'alice@example.com', pass: 'alice-password' },
      tls: { rejectUnauthorized: false },
    });
    const info = await client.sendMail({
      from: 'Alice <alice@example.com>',
      to: ['bob@remote.test', 'nobody@remote.test'],
      subject: 'Hello from the queue',
      text: 'First line.\n.\nA lone dot above.\n',
      dsn: { id: 'E2E-1', return: 'headers', notify: ['failure'] },
    });
    client.close();
    assert.deepEqual(info.accepted.sort(), ['bob@remote.test', 'nobody@remote.test']);
    await delivery.idle();

    assert.equal(peer.received.length, 1);
    const got = peer.received[0];
    assert.deepEqual(got.to, ['bob@remote.test']);
    assert.equal(got.from, 'alice@example.com');
    assert.match(got.body, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.com;/);
    assert.match(got.body, /\r\nReceived: from /);
    const verified = await dkimVerify(Buffer.from(got.body), {
      resolver: async (name: string) => {
        if (name === key.name) return [[key.value]];
        throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      },
    });
    assert.equal(verified.results[0]?.status.result, 'pass', verified.results[0]?.info);
    const parsed = await PostalMime.parse(got.body);
    assert.equal(parsed.text?.replace(/\r\n/g, '\n'), 'First line.\n.\nA lone dot above.\n');

    const box = store.messages('alice@example.com');
    assert.equal(box.length, 1, 'the bounce was delivered locally');
    const bounce = await PostalMime.parse(box[0]);
    const status = bounce.attachments.find((a) => a.mimeType === 'message/delivery-status');
    assert.ok(status);
    const fields = Buffer.from(typeof status.content === 'string' ? status.content : new Uint8Array(status.content)).toString();
    assert.match(fields, /Original-Envelope-Id: E2E-1/);
    assert.match(fields, /Final-Recipient: rfc822; nobody@remote\.test\r?\nAction: failed\r?\nStatus: 5\.1\.1/);
    assert.ok(bounce.attachments.some((a) => a.mimeType === 'text/rfc822-headers'), 'RET=HDRS');
    assert.deepEqual(delivery.list(), []);
  } finally {
    await smtp.close();
    await delivery.stop();
    await peer.stop();
    await cleanup();
  }
});
