import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import PostalMime from 'postal-mime';
import { MemoryDirectory } from '../../src/directory/memory.js';
import { buildDsn } from '../../src/delivery/dsn.js';
import { createDelivery } from '../../src/delivery/index.js';
import type { QueueRecord, RecipientRecord } from '../../src/delivery/record.js';
import { MemoryStore } from '../../src/store/memory.js';
import { FakeClock, FakeTransport, message, OK, REJECT, tempDataDir } from './helpers.js';

/** Split a message/delivery-status body into its field groups (per-message first), as maps of lower-case names. */
function statusGroups(text: string): Array<Map<string, string>> {
  return text
    .replace(/\r\n/g, '\n')
    .trim()
    .split(/\n\n+/)
    .map((block) => new Map(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])));
}

/** Parsed with postal-mime (code we did not write). */
async function parseDsn(raw: Buffer) {
  const mail = await PostalMime.parse(raw);
  const header = (name: string) => mail.headers.find((h) => h.key === name)?.value;
  const parts = mail.attachments.map((a) => ({
    contentType: a.mimeType,
    content: Buffer.from(typeof a.content === 'string' ? a.content : new Uint8Array(a.content)),
  }));
  const status = parts.find((p) => p.contentType === 'message/delivery-status');
  assert.ok(status, 'a message/delivery-status part');
  return { mail, header, parts, groups: statusGroups(status.content.toString()) };
}

function recipient(address: string, extra: Partial<RecipientRecord> = {}): RecipientRecord {
  return { address, status: 'failed', attempts: 1, nextAttemptAt: 0, reported: false, delayReported: false, ...extra };
}

function record(extra: Partial<QueueRecord['envelope']> = {}, recipients: RecipientRecord[] = []): QueueRecord {
  return {
    version: 1,
    id: '0mjuohs00aabbccddee',
    createdAt: Date.UTC(2026, 0, 1, 10),
    envelope: { mailFrom: 'alice@example.org', body: '7BIT', smtputf8: false, ...extra },
    recipients,
    size: 100,
    origin: 'submission',
  };
}

describe('delivery status notifications (RFC 3464)', () => {
  const original = message('alice@example.org', 'bob@remote.test', 'X-Secret: body follows\r\n');

  it('a failure report carries per-message and per-recipient fields and the full message (RET=FULL)', async () => {
    const bad = recipient('bob@remote.test', {
      orcpt: 'rfc822;Bob@Remote.test',
      lastReply: { code: 550, enhanced: '5.1.1', text: 'no such user\r\nsecond line' },
      remoteMta: 'mx.remote.test [192.0.2.1]:25',
      lastAttemptAt: Date.UTC(2026, 0, 1, 10, 5),
    });
    const rec = record({ dsnRet: 'FULL', envid: 'QQ314159', heloName: 'laptop.example.org' }, [bad]);
    const dsn = buildDsn(rec, [{ recipient: bad, action: 'failed' }], original, { hostname: 'mx.example.org', maxReturnSize: 1 << 20, now: Date.UTC(2026, 0, 1, 10, 6) });
    const { mail, header, parts, groups } = await parseDsn(dsn.message);
    assert.match(header('content-type') ?? '', /^multipart\/report; report-type=delivery-status;/);
    assert.equal(mail.from?.address, 'MAILER-DAEMON@mx.example.org');
    assert.equal(mail.to?.[0].address, 'alice@example.org');
    assert.equal(header('auto-submitted'), 'auto-replied');
    assert.match(mail.text ?? '', /<bob@remote.test>: 550 5\.1\.1 no such user second line/);
    const [perMessage, perRcpt] = groups;
    assert.equal(perMessage.get('reporting-mta'), 'dns; mx.example.org');
    assert.equal(perMessage.get('original-envelope-id'), 'QQ314159');
    assert.equal(perMessage.get('arrival-date'), 'Thu, 01 Jan 2026 10:00:00 +0000');
    assert.equal(perMessage.get('received-from-mta'), 'dns; laptop.example.org');
    assert.equal(perRcpt.get('final-recipient'), 'rfc822; bob@remote.test');
    assert.equal(perRcpt.get('original-recipient'), 'rfc822; Bob@Remote.test');
    assert.equal(perRcpt.get('action'), 'failed');
    assert.equal(perRcpt.get('status'), '5.1.1');
    assert.equal(perRcpt.get('remote-mta'), 'dns; mx.remote.test');
    assert.equal(perRcpt.get('diagnostic-code'), 'smtp; 550 5.1.1 no such user second line');
    assert.equal(perRcpt.get('last-attempt-date'), 'Thu, 01 Jan 2026 10:05:00 +0000');
    const returned = parts.find((p) => p.contentType === 'message/rfc822');
    assert.ok(returned, 'the full message is returned');
    assert.match(returned.content.toString(), /X-Secret: body follows\r?\n\r?\nHello\.\r?\n\.dot line/);
    assert.equal(dsn.eightBit, false);
  });

  it('RET=HDRS, and a message over maxReturnSize, return only the headers (text/rfc822-headers)', async () => {
    const bad = recipient('bob@remote.test', { lastReply: { code: 554, enhanced: null, text: 'rejected' } });
    for (const [ret, max] of [['HDRS', 1 << 20], [undefined, 10]] as const) {
      const rec = record(ret ? { dsnRet: ret } : {}, [bad]);
      const dsn = buildDsn(rec, [{ recipient: bad, action: 'failed' }], original, { hostname: 'h.test', maxReturnSize: max, now: 0 });
      const { parts, groups } = await parseDsn(dsn.message);
      assert.equal(groups[1].get('status'), '5.0.0', 'class-only status without an enhanced code');
      assert.equal(groups[0].get('original-envelope-id'), undefined);
      assert.equal(parts.some((p) => p.contentType === 'message/rfc822'), false);
      const headers = parts.find((p) => p.contentType === 'text/rfc822-headers');
      assert.ok(headers);
      assert.match(headers.content.toString(), /X-Secret: body follows/);
      assert.doesNotMatch(headers.content.toString(), /Hello\./);
    }
  });

  it('a delay notice says delayed, gives Will-Retry-Until, and returns only headers by default', async () => {
    const r = recipient('bob@remote.test', { status: 'pending', lastReply: { code: 421, enhanced: '4.4.2', text: 'busy' } });
    const dsn = buildDsn(record({}, [r]), [{ recipient: r, action: 'delayed' }], original, {
      hostname: 'h.test',
      maxReturnSize: 1 << 20,
      willRetryUntil: Date.UTC(2026, 0, 6, 10),
      now: 0,
    });
    const { mail, parts, groups } = await parseDsn(dsn.message);
    assert.match(mail.subject ?? '', /Delayed/);
    assert.equal(groups[1].get('action'), 'delayed');
    assert.equal(groups[1].get('status'), '4.4.2');
    assert.equal(groups[1].get('will-retry-until'), 'Tue, 06 Jan 2026 10:00:00 +0000');
    assert.ok(parts.some((p) => p.contentType === 'text/rfc822-headers'));
  });

  it('UTF-8 addresses under SMTPUTF8 use the RFC 6533 global types', () => {
    const r = recipient('jöran@bücher.test', { lastReply: { code: 550, enhanced: '5.1.1', text: 'unknown' }, orcpt: 'utf-8;jöran@bücher.test' });
    const orig = Buffer.from('From: <anna@example.org>\r\nTo: <jöran@bücher.test>\r\nSubject: Grüße\r\n\r\nHallo\r\n');
    const dsn = buildDsn(record({ smtputf8: true, dsnRet: 'HDRS' }, [r]), [{ recipient: r, action: 'failed' }], orig, { hostname: 'h.test', maxReturnSize: 1 << 20, now: 0 });
    const text = dsn.message.toString('utf8');
    assert.equal(dsn.utf8, true);
    assert.match(text, /Content-Type: message\/global-delivery-status\r\n/);
    assert.match(text, /Content-Type: message\/global-headers\r\n/);
    assert.match(text, /Final-Recipient: utf-8; jöran@bücher\.test\r\nOriginal-Recipient: utf-8; jöran@bücher\.test\r\n/);
    // Without SMTPUTF8 the classic types stay.
    const plain = recipient('bob@remote.test', { lastReply: { code: 550, enhanced: '5.1.1', text: 'unknown' } });
    const classic = buildDsn(record({ dsnRet: 'HDRS' }, [plain]), [{ recipient: plain, action: 'failed' }], original, { hostname: 'h.test', maxReturnSize: 1 << 20, now: 0 });
    assert.equal(classic.utf8, false);
    assert.match(classic.message.toString(), /Content-Type: message\/delivery-status\r\n/);
  });

  it('an 8-bit original makes an 8-bit report', () => {
    const r = recipient('bob@remote.test', { lastReply: { code: 550, enhanced: '5.7.1', text: 'no' } });
    const dsn = buildDsn(record({ dsnRet: 'FULL' }, [r]), [{ recipient: r, action: 'failed' }], Buffer.from('Subject: Grüße\r\n\r\nÄ\r\n'), {
      hostname: 'h.test',
      maxReturnSize: 1 << 20,
      now: 0,
    });
    assert.equal(dsn.eightBit, true);
    assert.match(dsn.message.toString(), /Content-Transfer-Encoding: 8bit/);
  });

  it('through the queue, an original over maxReturnSize comes back as headers only even with RET=FULL', async () => {
    const { dir, cleanup } = await tempDataDir();
    const clock = new FakeClock();
    const transport = new FakeTransport((rcpt) => (rcpt.startsWith('bad') ? REJECT : OK), clock);
    const d = createDelivery({ dataDir: dir, hostname: 'h.test', config: { routes: { '*': '127.0.0.1:25' } }, transport, clock, controlSocket: false, maxReturnSize: 1000 });
    try {
      await d.start();
      const big = Buffer.concat([original, Buffer.from('y'.repeat(5000) + '\r\n')]);
      await d.queue.enqueue({ mailFrom: 'alice@example.org', recipients: [{ address: 'bad@remote.test' }], body: '7BIT', smtputf8: false, dsnRet: 'FULL' }, big);
      await d.queue.enqueue({ mailFrom: 'alice@example.org', recipients: [{ address: 'bad2@remote.test' }], body: '7BIT', smtputf8: false, dsnRet: 'FULL' }, original);
      await d.idle();
      const bounces = transport.attempts.filter((a) => a.message.mailFrom === '').map((a) => a.message.body);
      assert.equal(bounces.length, 2);
      const bigBounce = bounces.find((b) => b.includes('Final-Recipient: rfc822; bad@remote.test'));
      const smallBounce = bounces.find((b) => b.includes('Final-Recipient: rfc822; bad2@remote.test'));
      assert.ok(bigBounce && smallBounce);
      const [forBig, forSmall] = await Promise.all([parseDsn(bigBounce), parseDsn(smallBounce)]);
      assert.ok(forBig.parts.some((p) => p.contentType === 'text/rfc822-headers'));
      assert.ok(!forBig.parts.some((p) => p.contentType === 'message/rfc822'));
      assert.doesNotMatch(bigBounce.toString(), /yyyy/);
      assert.ok(forSmall.parts.some((p) => p.contentType === 'message/rfc822'));
    } finally {
      await d.stop();
      await cleanup();
    }
  });

  it('bounces to a local sender go to the MailStore, not to the network; unknown local senders get none', async () => {
    const { dir, cleanup } = await tempDataDir();
    const clock = new FakeClock();
    const transport = new FakeTransport((rcpt) => (rcpt.startsWith('bad') ? REJECT : OK), clock);
    const store = new MemoryStore();
    const directory = new MemoryDirectory().addDomain('example.org').addUser('alice@example.org', 'pw');
    await store.ensureMailbox('alice@example.org');
    const d = createDelivery({
      dataDir: dir,
      hostname: 'mx.example.org',
      config: { routes: { '*': '127.0.0.1:25' } },
      transport,
      clock,
      store,
      directory,
      controlSocket: false,
    });
    try {
      await d.start();
      await d.queue.enqueue(
        { mailFrom: 'alice@example.org', recipients: [{ address: 'bad@remote.test', orcpt: 'rfc822;bad@remote.test' }], body: '7BIT', smtputf8: false, envid: 'E1' },
        original,
      );
      await d.queue.enqueue({ mailFrom: 'ghost@example.org', recipients: [{ address: 'bad2@remote.test' }], body: '7BIT', smtputf8: false }, original);
      await d.idle();
      assert.equal(transport.attempts.filter((a) => a.message.mailFrom === '').length, 0, 'no bounce went out to the network');
      const box = store.messages('alice@example.org');
      assert.equal(box.length, 1);
      assert.match(box[0].toString(), /^Return-Path: <>\r\n/);
      const { groups } = await parseDsn(box[0]);
      assert.equal(groups[0].get('original-envelope-id'), 'E1');
      assert.equal(groups[1].get('final-recipient'), 'rfc822; bad@remote.test');
      assert.equal(groups[1].get('original-recipient'), 'rfc822; bad@remote.test');
      assert.deepEqual(d.list(), []);
    } finally {
      await d.stop();
      await cleanup();
    }
  });
});
