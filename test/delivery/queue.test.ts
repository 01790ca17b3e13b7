import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { retryDelayMs, defaultRetryPolicy } from '../../src/delivery/backoff.js';
import { createDelivery, type Delivery, type DeliveryOptions } from '../../src/delivery/index.js';
import type { Envelope } from '../../src/delivery/types.js';
import { DEFER, FakeClock, FakeTransport, mailFromError, message, OK, REJECT, tempDataDir } from './helpers.js';

const noDns = {
  resolveMx: async () => {
    throw Object.assign(new Error('no dns in this test'), { code: 'ESERVFAIL' });
  },
  resolve4: async () => [],
  resolve6: async () => [],
};

function env(to: string[], extra: Partial<Envelope> = {}): Envelope {
  return { mailFrom: 'alice@example.org', recipients: to.map((address) => ({ address })), body: '7BIT', smtputf8: false, ...extra };
}

describe('queue scheduler with a fake transport', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let clock: FakeClock;
  let transport: FakeTransport;
  let delivery: Delivery | null;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDataDir());
    clock = new FakeClock();
    transport = new FakeTransport(() => OK, clock);
    delivery = null;
  });
  afterEach(async () => {
    await delivery?.stop();
    await cleanup();
  });

  async function start(config: DeliveryOptions['config'] = {}, more: Partial<DeliveryOptions> = {}): Promise<Delivery> {
    delivery = createDelivery({
      dataDir: dir,
      hostname: 'mx.example.org',
      config: { routes: { '*': '127.0.0.1:2525' }, ...config },
      transport,
      resolver: noDns,
      clock,
      random: () => 0.5,
      controlSocket: false,
      ...more,
    });
    await delivery.start();
    return delivery;
  }

  async function files(): Promise<{ msg: string[]; state: string[]; tmp: string[] }> {
    const q = join(dir, 'queue');
    return { msg: await readdir(join(q, 'msg')), state: await readdir(join(q, 'state')), tmp: await readdir(join(q, 'tmp')) };
  }

  it('delivers, then removes message and state; recipients at one host share one transaction', async () => {
    const d = await start();
    const id = await d.queue.enqueue(env(['bob@remote.test', 'carol@remote.test', 'dave@other.test']), message());
    assert.match(id, /^[0-9a-z]{19}$/);
    await d.idle();
    assert.equal(transport.attempts.length, 1, 'one route, one transaction');
    assert.deepEqual(
      transport.attempts[0].message.recipients.map((r) => r.address),
      ['bob@remote.test', 'carol@remote.test', 'dave@other.test'],
    );
    assert.equal(transport.attempts[0].message.body.toString(), message().toString());
    assert.deepEqual(d.list(), []);
    assert.deepEqual(await files(), { msg: [], state: [], tmp: [] });
  });

  it('commit writes message and state before resolving; abort leaves nothing', async () => {
    transport.hold();
    const d = await start();
    const tx = await d.queue.begin(env(['bob@remote.test']));
    await tx.write(Buffer.from('Subject: x\r\n\r\nbody\r\n'));
    const f1 = await files();
    assert.equal(f1.tmp.length, 1);
    const id = await tx.commit();
    const f2 = await files();
    assert.deepEqual(f2.msg, [id]);
    assert.deepEqual(f2.state, [`${id}.json`]);
    const tx2 = await d.queue.begin(env(['x@remote.test']));
    await tx2.write(Buffer.from('junk'));
    await tx2.abort();
    assert.deepEqual((await files()).tmp, []);
    transport.release();
    await d.idle();
  });

  it('retries a 4xx with exponential backoff from retry_first up to retry_max', async () => {
    let remaining = 4;
    transport.script = () => (remaining-- > 0 ? DEFER : OK);
    const d = await start({ retry_first: 300, retry_max: 1000 });
    const id = await d.queue.enqueue(env(['bob@remote.test']), message());
    await d.idle();
    const t0 = clock.now();
    assert.equal(transport.attempts.length, 1);
    const rec = d.show(id);
    assert.ok(rec);
    assert.equal(rec.recipients[0].status, 'pending');
    assert.equal(rec.recipients[0].nextAttemptAt, t0 + 300_000);
    assert.deepEqual(rec.recipients[0].lastReply, DEFER);
    // Nothing before the retry time.
    clock.advance(299_999);
    await d.idle();
    assert.equal(transport.attempts.length, 1);
    clock.advance(1);
    await d.idle();
    assert.equal(transport.attempts.length, 2);
    clock.advance(600_000);
    await d.idle();
    assert.equal(transport.attempts.length, 3);
    clock.advance(999_999);
    await d.idle();
    assert.equal(transport.attempts.length, 3, 'capped at retry_max, not 1200 s');
    clock.advance(1);
    await d.idle();
    assert.equal(transport.attempts.length, 4);
    clock.advance(1_000_000);
    await d.idle();
    assert.equal(transport.attempts.length, 5);
    assert.deepEqual(
      transport.attempts.map((a) => (a.at - t0) / 1000),
      [0, 300, 900, 1900, 2900],
    );
    assert.equal(d.list().length, 0);
  });

  it('jitter spreads retry delays within +/-20% and defaults follow Postfix', () => {
    const p = defaultRetryPolicy;
    assert.equal(p.retryFirst, 300);
    assert.equal(p.retryMax, 3600);
    assert.equal(p.giveUpAfter, 5 * 86400);
    assert.equal(retryDelayMs(p, 1, () => 0), 240_000);
    const high = retryDelayMs(p, 1, () => 0.999999);
    assert.ok(high > 359_000 && high <= 360_000, String(high));
    assert.equal(retryDelayMs(p, 3, () => 0.5), 1_200_000);
    assert.equal(retryDelayMs(p, 20, () => 0.5), 3_600_000);
  });

  it('fails a 5xx recipient at once and bounces it; other recipients go on independently', async () => {
    transport.script = (rcpt) => (rcpt.startsWith('bad') ? REJECT : rcpt.endsWith('slow.test') ? DEFER : OK);
    const d = await start({ routes: { 'remote.test': '127.0.0.1:1', 'slow.test': '127.0.0.2:1', 'example.org': '127.0.0.3:1' } });
    const id = await d.queue.enqueue(env(['good@remote.test', 'bad@remote.test', 'later@slow.test']), message());
    await d.idle();
    const rec = d.show(id);
    assert.ok(rec);
    assert.deepEqual(
      rec.recipients.map((r) => [r.address, r.status]),
      [
        ['good@remote.test', 'delivered'],
        ['bad@remote.test', 'failed'],
        ['later@slow.test', 'pending'],
      ],
    );
    // The bounce went to the sender's host from <>.
    const bounce = transport.attempts.find((a) => a.message.mailFrom === '');
    assert.ok(bounce, 'a bounce was sent');
    assert.equal(bounce.target.address, '127.0.0.3');
    assert.deepEqual(bounce.message.recipients, [{ address: 'alice@example.org', notify: 'NEVER' }]);
    assert.match(bounce.message.body.toString(), /Final-Recipient: rfc822; bad@remote.test/);
    assert.doesNotMatch(bounce.message.body.toString(), /good@remote.test\r\nAction/);
    // Only the deferred recipient is retried.
    transport.script = () => OK;
    clock.advance(300_000);
    await d.idle();
    const last = transport.attempts.at(-1);
    assert.deepEqual(last?.message.recipients.map((r) => r.address), ['later@slow.test']);
    assert.equal(d.list().length, 0);
  });

  it('never bounces a message from the null sender, nor with NOTIFY=NEVER', async () => {
    transport.script = () => REJECT;
    const d = await start();
    await d.queue.enqueue(env(['x@remote.test'], { mailFrom: '' }), message());
    await d.queue.enqueue({ ...env([]), recipients: [{ address: 'y@remote.test', notify: 'NEVER' }] }, message());
    await d.idle();
    assert.equal(transport.attempts.length, 2);
    assert.ok(transport.attempts.every((a) => a.message.mailFrom !== '' || a.message.recipients[0].address === 'x@remote.test'));
    assert.equal(d.list().length, 0);
  });

  it('a refused MAIL FROM (5xx) fails every recipient of the transaction', async () => {
    const d = await start({ routes: { 'remote.test': '127.0.0.1:1', 'example.org': '127.0.0.3:1' } });
    transport.sendError = (t) => (t.address === '127.0.0.1' ? mailFromError(550) : null);
    const id = await d.queue.enqueue(env(['a@remote.test', 'b@remote.test'], { dsnRet: 'HDRS' }), message());
    await d.idle();
    assert.equal(d.show(id), undefined);
    const bounce = transport.attempts.find((a) => a.message.mailFrom === '');
    assert.ok(bounce);
    assert.match(bounce.message.body.toString(), /a@remote.test[\s\S]*b@remote.test/);
  });

  it('gives up after give_up_after and bounces with the last error', async () => {
    transport.script = (rcpt) => (rcpt.endsWith('example.org') ? OK : DEFER);
    const d = await start({ retry_first: 60, retry_max: 600, give_up_after: 3600, delay_warning_after: 0 });
    const id = await d.queue.enqueue(env(['bob@remote.test']), message());
    await d.idle();
    for (let i = 0; i < 20 && d.show(id); i++) {
      clock.advance(600_000);
      await d.idle();
    }
    assert.equal(d.show(id), undefined);
    const tries = transport.attempts.filter((a) => a.message.mailFrom !== '');
    assert.ok(tries.length >= 5, `several attempts (${tries.length})`);
    assert.ok(tries.at(-1)!.at - tries[0].at <= 3600_000, 'last attempt at the give-up time, not after');
    const bounce = transport.attempts.find((a) => a.message.mailFrom === '');
    assert.ok(bounce);
    const text = bounce.message.body.toString();
    assert.match(text, /Action: failed/);
    assert.match(text, /Status: 4\.3\.0/);
    assert.match(text, /Diagnostic-Code: smtp; 451 4\.3\.0 try again later \(gave up after 1 hour\)/);
  });

  it('sends one delay warning after delay_warning_after (NOTIFY default), none with NOTIFY=FAILURE', async () => {
    transport.script = (rcpt) => (rcpt.endsWith('example.org') ? OK : DEFER);
    const d = await start({ retry_first: 600, retry_max: 600, delay_warning_after: 1800 });
    await d.queue.enqueue(
      {
        ...env([]),
        recipients: [{ address: 'warn@remote.test' }, { address: 'quiet@remote.test', notify: ['FAILURE'] }],
      },
      message(),
    );
    await d.idle();
    for (let i = 0; i < 6; i++) {
      clock.advance(600_000);
      await d.idle();
    }
    const notices = transport.attempts.filter((a) => a.message.mailFrom === '');
    assert.equal(notices.length, 1, 'exactly one warning');
    const text = notices[0].message.body.toString();
    assert.match(text, /Final-Recipient: rfc822; warn@remote.test\r\nAction: delayed\r\nStatus: 4\.3\.0/);
    assert.doesNotMatch(text, /quiet@remote.test\r\nAction/);
    assert.match(text, /Will-Retry-Until: /);
  });

  it('NOTIFY=SUCCESS gets a "relayed" notice when the remote has no DSN, none when it has', async () => {
    const d = await start();
    await d.queue.enqueue({ ...env([]), recipients: [{ address: 'x@remote.test', notify: ['SUCCESS'] }] }, message());
    await d.idle();
    const n1 = transport.attempts.filter((a) => a.message.mailFrom === '');
    assert.equal(n1.length, 1);
    assert.match(n1[0].message.body.toString(), /Action: relayed\r\nStatus: 2\.0\.0/);
    transport.dsn = true;
    await d.queue.enqueue({ ...env([]), recipients: [{ address: 'y@remote.test', notify: ['SUCCESS'], orcpt: 'rfc822;y@remote.test' }] }, message());
    await d.idle();
    assert.equal(transport.attempts.filter((a) => a.message.mailFrom === '').length, 1);
    const passed = transport.attempts.at(-1)?.message.recipients[0];
    assert.deepEqual(passed, { address: 'y@remote.test', notify: ['SUCCESS'], orcpt: 'rfc822;y@remote.test' });
  });

  it('a dropped connection is a temporary failure for the whole transaction', async () => {
    let drop = true;
    transport.script = () => (drop ? 'drop' : OK);
    const d = await start();
    const id = await d.queue.enqueue(env(['a@remote.test', 'b@remote.test']), message());
    await d.idle();
    const rec = d.show(id);
    assert.ok(rec);
    assert.ok(rec.recipients.every((r) => r.status === 'pending' && r.attempts === 1));
    assert.match(rec.recipients[0].lastReply?.text ?? '', /connection lost: ECONNRESET/);
    drop = false;
    clock.advance(300_000);
    await d.idle();
    assert.equal(d.show(id), undefined);
  });

  it('opportunistic TLS falls back to plain text when the handshake fails; required TLS does not', async () => {
    const tlsBroken = Object.assign(new Error('STARTTLS handshake failed: wrong version number'), { code: 'tls' });
    transport.connectError = (t) => (t.tls !== 'none' ? tlsBroken : null);
    const d = await start({ require_tls_domains: ['strict.test'] });
    const loose = await d.queue.enqueue(env(['a@loose.test']), message());
    const strict = await d.queue.enqueue(env(['b@strict.test']), message());
    await d.idle();
    assert.equal(d.show(loose), undefined);
    assert.deepEqual(transport.attempts.map((a) => [a.message.recipients[0].address, a.target.tls]), [['a@loose.test', 'none']]);
    const r = d.show(strict)?.recipients[0];
    assert.equal(r?.status, 'pending');
    assert.match(r?.lastReply?.text ?? '', /handshake failed/);
  });

  it('keeps to max_concurrency_per_domain and max_concurrency', async () => {
    transport.hold();
    const d = await start({ max_concurrency: 3, max_concurrency_per_domain: 2, routes: { 'a.test': '10.0.0.1:25', 'b.test': '10.0.0.2:25' } });
    for (let i = 0; i < 5; i++) await d.queue.enqueue(env([`u${i}@a.test`]), message());
    for (let i = 0; i < 5; i++) await d.queue.enqueue(env([`u${i}@b.test`]), message());
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(transport.active, 3);
    transport.release();
    await d.idle();
    assert.equal(transport.maxActive, 3);
    assert.equal(transport.attempts.length, 10);
    assert.ok(transport.connections < 10, `connections are reused (${transport.connections})`);
  });

  it('survives a restart: queued recipients are delivered by the next instance', async () => {
    transport.script = () => DEFER;
    const d1 = await start();
    const id = await d1.queue.enqueue(env(['a@remote.test']), message());
    await d1.idle();
    await d1.stop();
    delivery = null;
    transport.script = () => OK;
    const d2 = await start();
    assert.equal(d2.list().length, 1);
    assert.equal(d2.show(id)?.recipients[0].attempts, 1);
    clock.advance(300_000);
    await d2.idle();
    assert.equal(d2.list().length, 0);
  });

  it('retry, delete and flush act on the running queue', async () => {
    transport.script = () => DEFER;
    const d = await start();
    const id1 = await d.queue.enqueue(env(['a@remote.test']), message());
    const id2 = await d.queue.enqueue(env(['b@remote.test']), message());
    await d.idle();
    assert.equal(transport.attempts.length, 2);
    assert.equal(await d.retry(id1), 1);
    await d.idle();
    assert.equal(transport.attempts.length, 3);
    assert.equal(await d.delete(id1), true);
    assert.equal(await d.delete(id1), false);
    assert.deepEqual(d.list().map((s) => s.id), [id2]);
    transport.script = () => OK;
    assert.equal(await d.flush(), 1);
    assert.deepEqual(d.list(), []);
    assert.deepEqual(await files(), { msg: [], state: [], tmp: [] });
  });
});

describe('notices that cannot be sent at once', () => {
  it('a failing notice sink is retried after retry_first, and the message is kept until it succeeds', async () => {
    const { dir, cleanup } = await tempDataDir();
    const clock = new FakeClock();
    const transport = new FakeTransport(() => REJECT, clock);
    const store = { fail: true };
    // A local sender whose mailbox store fails: the bounce cannot be delivered yet.
    const { MemoryDirectory } = await import('../../src/directory/memory.js');
    const { MemoryStore } = await import('../../src/store/memory.js');
    const memory = new MemoryStore();
    await memory.ensureMailbox('alice@example.org');
    const flaky = new Proxy(memory, {
      get(target, prop, receiver) {
        if (prop === 'beginDelivery' && store.fail) return async () => Promise.reject(new Error('disk full'));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const d = createDelivery({
      dataDir: dir,
      hostname: 'h.test',
      config: { routes: { '*': '127.0.0.1:25' }, retry_first: 60 },
      transport,
      clock,
      random: () => 0.5,
      store: flaky,
      directory: new MemoryDirectory().addDomain('example.org').addUser('alice@example.org', 'pw'),
      controlSocket: false,
    });
    try {
      await d.start();
      const id = await d.queue.enqueue(env(['x@remote.test']), message());
      await d.idle();
      assert.equal(d.show(id)?.recipients[0].status, 'failed');
      assert.equal(d.show(id)?.recipients[0].reported, false);
      store.fail = false;
      clock.advance(59_000);
      await d.idle();
      assert.equal(memory.messages('alice@example.org').length, 0, 'not before the retry time');
      clock.advance(1_000);
      await d.idle();
      assert.equal(memory.messages('alice@example.org').length, 1);
      assert.equal(d.show(id), undefined);
    } finally {
      await d.stop();
      await cleanup();
    }
  });
});
