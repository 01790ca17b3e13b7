/**
 * Remote delivery through the real SMTP client to nodemailer's smtp-server peers, with MX records from a UDP fake DNS.
 * The scheduler runs on a fake clock (retries on demand); the network runs for real on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import PostalMime from 'postal-mime';
import { createDelivery, type Delivery, type DeliveryOptions } from '../../src/delivery/index.js';
import type { Envelope } from '../../src/delivery/types.js';
import { FakeDns } from '../support/fake-dns.js';
import { FakeClock, message, tempDataDir } from './helpers.js';
import { Peer, testCertificate } from './peers.js';

const env = (to: string[], extra: Partial<Envelope> = {}): Envelope => ({
  mailFrom: 'alice@example.org',
  recipients: to.map((address) => ({ address })),
  body: '7BIT',
  smtputf8: false,
  ...extra,
});

describe('remote delivery to smtp-server peers', () => {
  const dns = new FakeDns();
  let dir: string;
  let cleanup: () => Promise<void>;
  let clock: FakeClock;
  let peers: Peer[];
  let delivery: Delivery | null;

  before(async () => {
    await dns.start();
    dns
      .set('remote.test', { mx: [{ preference: 10, exchange: 'mx1.remote.test' }, { preference: 20, exchange: 'mx2.remote.test' }] })
      .set('mx1.remote.test', { a: ['127.0.0.1'] })
      .set('mx2.remote.test', { a: ['127.0.0.1'] })
      .set('secure.test', { mx: [{ preference: 10, exchange: 'mx.secure.test' }] })
      .set('mx.secure.test', { a: ['127.0.0.1'] })
      .set('wrongname.test', { mx: [{ preference: 10, exchange: 'mx.wrongname.test' }] })
      .set('mx.wrongname.test', { a: ['127.0.0.1'] })
      .set('backup.test', { mx: [{ preference: 10, exchange: 'dead.backup.test' }, { preference: 20, exchange: 'live.backup.test' }] })
      .set('dead.backup.test', { a: ['127.0.0.2'] })
      .set('live.backup.test', { a: ['127.0.0.1'] });
  });
  after(() => dns.stop());
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDataDir());
    clock = new FakeClock(Date.now());
    peers = [];
    delivery = null;
  });
  afterEach(async () => {
    await delivery?.stop();
    await Promise.all(peers.map((p) => p.stop()));
    await cleanup();
  });

  async function peer(options: ConstructorParameters<typeof Peer>[0] = {}): Promise<Peer> {
    const p = await new Peer(options).start();
    peers.push(p);
    return p;
  }

  async function start(mxPort: number, config: DeliveryOptions['config'] = {}, more: Partial<DeliveryOptions> = {}): Promise<Delivery> {
    delivery = createDelivery({ dataDir: dir, hostname: 'mx.example.org', config: { dns: dns.server, ...config }, clock, random: () => 0.5, mxPort, controlSocket: false, ...more });
    await delivery.start();
    return delivery;
  }

  it('delivers through MX with opportunistic STARTTLS; recipients at one host share one transaction; dots survive', async () => {
    const mx = await peer({ tls: await testCertificate() });
    const d = await start(mx.port);
    const body = message('alice@example.org', 'bob@remote.test', 'X-Test: 1\r\n');
    await d.queue.enqueue(env(['bob@remote.test', 'carol@remote.test']), Buffer.concat([body, Buffer.from('..two dots\r\n.\r\nend\r\n')]));
    await d.idle();
    assert.equal(mx.received.length, 1);
    const got = mx.received[0];
    assert.deepEqual(got.to, ['bob@remote.test', 'carol@remote.test']);
    assert.equal(got.from, 'alice@example.org');
    assert.equal(got.secure, true, 'STARTTLS was used (certificate not verified: opportunistic)');
    assert.equal(got.body, Buffer.concat([body, Buffer.from('..two dots\r\n.\r\nend\r\n')]).toString());
    assert.deepEqual(d.list(), []);
  });

  it('streams a large message from disk on each attempt and it arrives byte for byte', async () => {
    const mx = await peer();
    const d = await start(mx.port, {}, { streamThreshold: 64 * 1024 });
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++) lines.push(i % 7 === 0 ? `.line ${i} starts with a dot` : `line ${i} ${'x'.repeat(60)}`);
    const big = Buffer.concat([message(), Buffer.from(lines.join('\r\n') + '\r\n')]);
    assert.ok(big.length > 1_500_000);
    await d.queue.enqueue(env(['big@remote.test']), big);
    await d.idle();
    assert.equal(mx.received.length, 1);
    assert.equal(mx.received[0].body.length, big.length);
    const got = mx.received[0].body;
    const want = big.toString();
    let i = 0;
    while (i < want.length && got[i] === want[i]) i++;
    assert.equal(i, want.length, `first difference at ${i}: ${JSON.stringify(got.slice(i - 20, i + 40))} vs ${JSON.stringify(want.slice(i - 20, i + 40))}`);
  });

  it('defers on 4xx and delivers on the retry; rejects on 5xx and bounces to the sender from <>', async () => {
    let deferring = true;
    const mx = await peer({
      rcpt: (rcpt) =>
        rcpt.startsWith('nobody') ? { code: 550, message: '5.1.1 No such user' } : deferring && rcpt.startsWith('slow') ? { code: 451, message: '4.7.1 Greylisted' } : null,
    });
    const senderMx = await peer();
    const d = await start(mx.port, { routes: { 'example.org': `127.0.0.1:${senderMx.port}` } });
    const id = await d.queue.enqueue(env(['slow@remote.test', 'nobody@remote.test', 'ok@remote.test'], { envid: 'ENV-42', dsnRet: 'HDRS' }), message());
    await d.idle();
    assert.deepEqual(mx.received.map((r) => r.to), [['ok@remote.test']]);
    const rec = d.show(id);
    assert.deepEqual(rec?.recipients.map((r) => r.status), ['pending', 'failed', 'delivered']);
    assert.equal(rec?.recipients[0].lastReply?.code, 451);
    assert.equal(rec?.recipients[0].remoteMta, `mx1.remote.test [127.0.0.1]:${mx.port}`);

    assert.equal(senderMx.received.length, 1, 'one bounce');
    const bounce = senderMx.received[0];
    assert.equal(bounce.from, '', 'from the null sender');
    assert.deepEqual(bounce.to, ['alice@example.org']);
    const parsed = await PostalMime.parse(bounce.body);
    const status = parsed.attachments.find((a) => a.mimeType === 'message/delivery-status');
    assert.ok(status);
    const text = Buffer.from(typeof status.content === 'string' ? status.content : new Uint8Array(status.content)).toString();
    assert.match(text, /Original-Envelope-Id: ENV-42/);
    assert.match(text, /Final-Recipient: rfc822; nobody@remote\.test\r?\nAction: failed\r?\nStatus: 5\.1\.1\r?\nRemote-MTA: dns; mx1\.remote\.test\r?\nDiagnostic-Code: smtp; 550 5\.1\.1 No such user/);
    assert.ok(parsed.attachments.some((a) => a.mimeType === 'text/rfc822-headers'));

    deferring = false;
    clock.advance(300_000);
    await d.idle();
    assert.deepEqual(mx.received.map((r) => r.to), [['ok@remote.test'], ['slow@remote.test']]);
    assert.deepEqual(d.list(), []);
  });

  it('a connection dropped mid-DATA leaves every recipient queued; the retry delivers', async () => {
    let drop = true;
    const mx = await peer({ dropDuringData: () => drop });
    const d = await start(mx.port);
    const id = await d.queue.enqueue(env(['a@remote.test', 'b@remote.test']), Buffer.concat([message(), Buffer.alloc(200_000, 'x'), Buffer.from('\r\n')]));
    await d.idle();
    assert.equal(mx.received.length, 0);
    const rec = d.show(id);
    assert.ok(rec);
    assert.deepEqual(rec.recipients.map((r) => [r.status, r.attempts]), [['pending', 1], ['pending', 1]]);
    assert.equal(rec.recipients[0].lastReply?.code, 451);
    drop = false;
    clock.advance(300_000);
    await d.idle();
    assert.equal(mx.received.length, 1);
    assert.deepEqual(mx.received[0].to, ['a@remote.test', 'b@remote.test']);
  });

  it('stop() cuts a transaction that outlives the grace period; the recipient stays queued', async () => {
    const mx = await peer({ dataDelayMs: 20_000 });
    const d = await start(mx.port);
    const id = await d.queue.enqueue(env(['slow@remote.test']), message());
    while (mx.transactions === 0) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    await d.stop(200);
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
    delivery = null;
    const again = await start(mx.port);
    const r = again.show(id)?.recipients[0];
    assert.equal(r?.status, 'pending');
    assert.equal(r?.attempts, 1);
  });

  it('an address the client cannot send (over 256 octets) fails at once instead of being retried for days', async () => {
    const mx = await peer();
    const d = await start(mx.port);
    const long = `${'a'.repeat(250)}@remote.test`;
    const id = await d.queue.enqueue(env([long], { mailFrom: '' }), message());
    await d.idle();
    assert.equal(d.show(id), undefined, 'failed and done (null sender: no bounce)');
    assert.equal(mx.received.length, 0);
  });

  it('tries the next MX when the first refuses the connection', async () => {
    const live = await peer();
    const d = await start(live.port);
    await d.queue.enqueue(env(['x@backup.test']), message());
    await d.idle();
    assert.equal(live.received.length, 1);
    assert.deepEqual(d.list(), []);
  });

  it('require_tls_domains: verified STARTTLS or no delivery', async () => {
    const { cert, key } = await testCertificate();
    // 1. The server offers no STARTTLS: deferred, nothing sent in clear.
    const plain = await peer();
    let d = await start(plain.port, { require_tls_domains: ['secure.test'] }, { tlsCa: cert });
    const id1 = await d.queue.enqueue(env(['a@secure.test']), message());
    await d.idle();
    assert.equal(plain.received.length, 0);
    assert.equal(d.show(id1)?.recipients[0].status, 'pending');
    assert.match(d.show(id1)?.recipients[0].lastReply?.text ?? '', /STARTTLS/);
    await d.stop();
    // 2. STARTTLS with a certificate for another name: deferred.
    const tlsPeer = await peer({ tls: { cert, key }, requireTls: true });
    d = await start(tlsPeer.port, { require_tls_domains: ['secure.test', 'wrongname.test'] }, { tlsCa: cert });
    const id2 = await d.queue.enqueue(env(['b@wrongname.test']), message());
    await d.idle();
    assert.equal(d.show(id2)?.recipients[0].status, 'pending');
    assert.match(d.show(id2)?.recipients[0].lastReply?.text ?? '', /altnames|certificate|Hostname/i);
    // 3. A certificate for mx.secure.test, trusted: delivered over TLS (the queued a@secure.test too).
    const id3 = await d.queue.enqueue(env(['c@secure.test']), message());
    await d.idle();
    assert.equal(d.show(id3), undefined);
    assert.deepEqual(tlsPeer.received.map((r) => [r.to, r.secure]), [[['c@secure.test'], true]]);
    // Without the CA the same certificate does not verify.
    await d.stop();
    d = await start(tlsPeer.port, { require_tls_domains: ['secure.test'] });
    const before = tlsPeer.received.length;
    const id4 = await d.queue.enqueue(env(['d@secure.test']), message());
    await d.idle();
    assert.equal(tlsPeer.received.length, before);
    assert.match(d.show(id4)?.recipients[0].lastReply?.text ?? '', /self.signed|certificate/i);
  });

  it('relays through a smarthost with AUTH LOGIN; a wrong password defers instead of bouncing', async () => {
    const relay = await peer({ auth: { methods: ['LOGIN'], user: 'me@example.org', pass: 's3cret:x' } });
    const url = (pass: string) => `smtp://me%40example.org:${encodeURIComponent(pass)}@127.0.0.1:${relay.port}?auth=login`;
    let d = await start(1, { smarthost: url('wrong') });
    const id = await d.queue.enqueue(env(['bob@anywhere.test']), message());
    await d.idle();
    assert.equal(relay.received.length, 0);
    const r = d.show(id)?.recipients[0];
    assert.equal(r?.status, 'pending');
    assert.equal(r?.lastReply?.code, 451);
    assert.match(r?.lastReply?.text ?? '', /535/);
    await d.stop();
    d = await start(1, { smarthost: url('s3cret:x') });
    await d.flush();
    assert.equal(relay.received.length, 1);
    assert.equal(relay.received[0].user, 'me@example.org via LOGIN');
    assert.deepEqual(relay.received[0].to, ['bob@anywhere.test']);
    assert.deepEqual(d.list(), []);
  });

  it('smarthost AUTH: the client picks PLAIN or CRAM-MD5 as offered; smtps:// verifies the certificate', async () => {
    const { cert, key } = await testCertificate();
    for (const method of ['PLAIN', 'CRAM-MD5']) {
      const relay = await peer({ auth: { methods: [method], user: 'u', pass: 'p w' } });
      const d = await start(1, { smarthost: `smtp://u:p%20w@127.0.0.1:${relay.port}` });
      await d.queue.enqueue(env([`to-${method}@anywhere.test`]), message());
      await d.idle();
      await d.stop();
      delivery = null;
      assert.deepEqual(relay.received.map((r) => r.user), [`u via ${method}`], method);
    }
    const tlsRelay = await peer({ tls: { cert, key }, implicitTls: true, auth: { methods: ['PLAIN'], user: 'u', pass: 'p' } });
    // localhost is a name in the certificate; 127.0.0.1 is too, but a name is what smarthost users write.
    const d = await start(1, { smarthost: `smtps://u:p@localhost:${tlsRelay.port}` }, { tlsCa: cert });
    await d.queue.enqueue(env(['tls@anywhere.test']), message());
    await d.idle();
    assert.deepEqual(tlsRelay.received.map((r) => [r.user, r.secure]), [['u via PLAIN', true]]);
  });

  it('passes DSN parameters to a DSN-capable server and reuses the connection', async () => {
    const mx = await peer({ dsn: true });
    const d = await start(mx.port);
    await d.queue.enqueue(
      { ...env([]), recipients: [{ address: 'a@remote.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;A@remote.test' }], envid: 'E-1', dsnRet: 'FULL' },
      message(),
    );
    await d.idle();
    await d.queue.enqueue(env(['b@remote.test']), message());
    await d.idle();
    assert.equal(mx.received.length, 2);
    assert.equal(mx.sessions.length, 1, 'the second message went over the same connection');
    const dsn = mx.received[0].dsn as { ret?: string; envid?: string };
    assert.equal(dsn.ret, 'FULL');
    assert.equal(dsn.envid, 'E-1');
  });
});
