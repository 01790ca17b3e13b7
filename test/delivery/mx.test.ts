import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDelivery } from '../../src/delivery/index.js';
import { createResolver, resolveMxHosts, RoutingFailure } from '../../src/delivery/mx.js';
import { buildRouteTable, destinationFor, parseRouteFlag, parseSmarthostUrl, RouteError } from '../../src/delivery/route.js';
import { FakeDns } from '../support/fake-dns.js';
import { FakeClock, FakeTransport, message, OK, tempDataDir } from './helpers.js';

describe('MX resolution against a real UDP DNS server', () => {
  const dns = new FakeDns();
  before(async () => {
    await dns.start();
    dns
      .set('pref.test', { mx: [{ preference: 20, exchange: 'mx2.pref.test' }, { preference: 10, exchange: 'mx1.pref.test' }] })
      .set('mx1.pref.test', { a: ['127.0.0.11'] })
      .set('mx2.pref.test', { a: ['127.0.0.12'], aaaa: ['::1'] })
      .set('equal.test', { mx: ['a', 'b', 'c'].map((h) => ({ preference: 5, exchange: `${h}.equal.test` })) })
      .set('a.equal.test', { a: ['127.0.1.1'] })
      .set('b.equal.test', { a: ['127.0.1.2'] })
      .set('c.equal.test', { a: ['127.0.1.3'] })
      .set('nomx.test', { a: ['127.0.0.5'] })
      .set('nullmx.test', { mx: [{ preference: 0, exchange: '' }] })
      .set('broken.test', { servfail: true })
      .set('empty.test', {})
      .set('dangling.test', { mx: [{ preference: 10, exchange: 'gone.dangling.test' }] });
  });
  after(() => dns.stop());

  const resolver = () => createResolver({ server: dns.server, timeoutMs: 500, tries: 1 });

  it('orders MX hosts by preference and resolves each host through the same server (A before AAAA)', async () => {
    const hosts = await resolveMxHosts(resolver(), 'pref.test');
    assert.deepEqual(hosts, [
      { host: 'mx1.pref.test', preference: 10, addresses: ['127.0.0.11'] },
      { host: 'mx2.pref.test', preference: 20, addresses: ['127.0.0.12', '::1'] },
    ]);
    assert.ok(dns.queries.includes('MX pref.test'));
    assert.ok(dns.queries.includes('AAAA mx2.pref.test'));
  });

  it('shuffles hosts of equal preference', async () => {
    const seen = new Set<string>();
    const sequences = [() => 0, () => 0.99, () => 0.5];
    for (const r of sequences) {
      const hosts = await resolveMxHosts(resolver(), 'equal.test', { random: r });
      assert.equal(hosts.length, 3);
      seen.add(hosts.map((h) => h.host[0]).join(''));
    }
    assert.ok(seen.size >= 2, `different orders: ${[...seen].join(' ')}`);
  });

  it('falls back to the A record of the domain when there is no MX (implicit MX)', async () => {
    assert.deepEqual(await resolveMxHosts(resolver(), 'nomx.test'), [{ host: 'nomx.test', preference: 0, addresses: ['127.0.0.5'] }]);
  });

  it('null MX (RFC 7505) and a non-existent domain are permanent; SERVFAIL and dangling MX are temporary', async () => {
    const failure = async (domain: string) => {
      try {
        await resolveMxHosts(resolver(), domain);
      } catch (err) {
        assert.ok(err instanceof RoutingFailure, String(err));
        return err.reply;
      }
      assert.fail(`${domain} resolved`);
    };
    assert.deepEqual(await failure('nullmx.test'), { code: 556, enhanced: '5.1.10', text: 'domain nullmx.test does not accept mail (null MX)' });
    assert.equal((await failure('nowhere.test')).code, 550);
    assert.equal((await failure('nowhere.test')).enhanced, '5.1.2');
    assert.equal((await failure('empty.test')).code, 550);
    assert.equal((await failure('broken.test')).code, 451);
    assert.equal((await failure('dangling.test')).code, 451);
  });

  it('address literals skip DNS', async () => {
    assert.deepEqual(await resolveMxHosts(resolver(), '[127.0.0.9]'), [{ host: '127.0.0.9', preference: 0, addresses: ['127.0.0.9'] }]);
  });

  it('the scheduler tries the next MX when one fails, and bounces a null-MX domain at once', async () => {
    const { dir, cleanup } = await tempDataDir();
    const clock = new FakeClock();
    const transport = new FakeTransport(() => OK, clock);
    transport.connectError = (t) => (t.address === '127.0.0.11' ? Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) : null);
    const d = createDelivery({
      dataDir: dir,
      hostname: 'mx.example.org',
      config: { dns: dns.server, routes: { 'example.org': '127.0.0.99:25' } },
      transport,
      clock,
      controlSocket: false,
    });
    try {
      await d.start();
      await d.queue.enqueue({ mailFrom: 'alice@example.org', recipients: [{ address: 'bob@pref.test' }, { address: 'x@nullmx.test' }], body: '7BIT', smtputf8: false }, message());
      await d.idle();
      const sent = transport.attempts.filter((a) => a.message.mailFrom !== '');
      assert.deepEqual(sent.map((a) => [a.target.host, a.target.address, a.target.port]), [['mx2.pref.test', '127.0.0.12', 25]]);
      assert.equal(sent[0].target.tls, 'opportunistic');
      const bounce = transport.attempts.find((a) => a.message.mailFrom === '');
      assert.ok(bounce);
      assert.match(bounce.message.body.toString(), /Final-Recipient: rfc822; x@nullmx.test\r\nAction: failed\r\nStatus: 5\.1\.10/);
      assert.deepEqual(d.list(), []);
    } finally {
      await d.stop();
      await cleanup();
    }
  });
});

describe('routes and smarthost URLs', () => {
  it('parses --route values', () => {
    assert.deepEqual(parseRouteFlag('Example.COM=127.0.0.1:2525'), { domain: 'example.com', route: { host: '127.0.0.1', port: 2525 } });
    assert.deepEqual(parseRouteFlag('*=[::1]:25'), { domain: '*', route: { host: '::1', port: 25 } });
    assert.deepEqual(parseRouteFlag('bücher.de=mx.local:25').domain, 'xn--bcher-kva.de');
    for (const bad of ['example.com', '=h:25', 'a.com=host', 'a.com=host:0', 'a.com=host:70000']) {
      assert.throws(() => parseRouteFlag(bad), RouteError, bad);
    }
  });

  it('chooses exact route, then smarthost, then "*", then MX', () => {
    const routes = buildRouteTable({ 'a.test': 'h1:25', '*': 'h2:26' });
    const smarthost = parseSmarthostUrl('smtps://u:p@relay.test');
    assert.equal(destinationFor('A.TEST', { routes, smarthostDomains: new Set() }).key, 'route:h1:25');
    assert.equal(destinationFor('b.test', { routes, smarthostDomains: new Set() }).key, 'route:h2:26');
    assert.equal(destinationFor('b.test', { routes, smarthost, smarthostDomains: new Set() }).key, 'smarthost');
    assert.equal(destinationFor('b.test', { routes, smarthost, smarthostDomains: new Set(['c.test']) }).key, 'route:h2:26');
    assert.equal(destinationFor('b.test', { routes: new Map(), smarthostDomains: new Set() }).key, 'mx:b.test');
  });

  it('parses smarthost URLs with credentials and options', () => {
    assert.deepEqual(parseSmarthostUrl('smtp+starttls://me%40x.com:p%3Ass@smtp.provider.test?auth=login'), {
      host: 'smtp.provider.test',
      port: 587,
      tls: 'starttls',
      verifyCertificate: true,
      auth: { user: 'me@x.com', pass: 'p:ss', mechanism: 'LOGIN' },
    });
    assert.deepEqual(parseSmarthostUrl('smtps://relay.test:2465?verify=false'), { host: 'relay.test', port: 2465, tls: 'implicit', verifyCertificate: false });
    assert.deepEqual(parseSmarthostUrl('smtp://relay.test'), { host: 'relay.test', port: 25, tls: 'opportunistic', verifyCertificate: false });
    for (const bad of ['http://x', 'smtp://', 'smtp://h?auth=xoauth', 'smtp://h?auth=plain', 'smtp://h?foo=1', 'nonsense']) {
      assert.throws(() => parseSmarthostUrl(bad), RouteError, bad);
    }
  });
});
