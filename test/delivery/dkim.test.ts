import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { dkimVerify } from 'mailauth';
import { dnsRecordFor, fromDomain, generateDkimKey, loadDkimKeys, signMessage, DkimError } from '../../src/delivery/dkim.js';
import { createDelivery } from '../../src/delivery/index.js';
import { FakeClock, FakeTransport, message, OK, tempDataDir } from './helpers.js';

const run = promisify(execFile);

/** A DNS for mailauth's verifier: TXT records by name. */
function txtResolver(records: Map<string, string>) {
  return async (name: string, type: string): Promise<string[][]> => {
    const v = records.get(name);
    if (type !== 'TXT' || !v) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return [[v]];
  };
}

describe('DKIM signing (verified by mailauth)', () => {
  it('signs queued mail with RSA-SHA256 and Ed25519 keys of the From: domain, relaxed/relaxed', async () => {
    const { dir, cleanup } = await tempDataDir();
    try {
      const rsa = await generateDkimKey(dir, 'Example.ORG', { selector: 'r1', algorithm: 'rsa' });
      const ed = await generateDkimKey(dir, 'example.org', { selector: 'e1', algorithm: 'ed25519' });
      assert.equal(rsa.name, 'r1._domainkey.example.org');
      assert.match(rsa.value, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
      assert.match(ed.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
      assert.equal((await stat(rsa.path)).mode & 0o777, 0o600);
      await assert.rejects(generateDkimKey(dir, 'example.org', { selector: 'r1' }), DkimError);

      const clock = new FakeClock(Date.now());
      const transport = new FakeTransport(() => OK, clock);
      // streamThreshold 0: the signed message is streamed (signature header + file), exercising that path too.
      const d = createDelivery({ dataDir: dir, hostname: 'mx.example.org', config: { routes: { '*': '127.0.0.1:25' } }, transport, clock, controlSocket: false, streamThreshold: 0 });
      await d.start();
      await d.queue.enqueue({ mailFrom: 'bounces@example.org', recipients: [{ address: 'bob@remote.test' }], body: '7BIT', smtputf8: false }, message());
      await d.queue.enqueue({ mailFrom: 'x@other.test', recipients: [{ address: 'bob@remote.test' }], body: '7BIT', smtputf8: false }, message('x@other.test'));
      await d.idle();
      await d.stop();
      assert.equal(transport.streamed, 2);
      const [signed, unsigned] = transport.attempts.map((a) => a.message.body);
      assert.doesNotMatch(unsigned.toString(), /DKIM-Signature/i, 'no key for other.test: not signed');
      assert.match(signed.toString(), /^DKIM-Signature: /);

      const dns = txtResolver(new Map([[rsa.name, rsa.value], [ed.name, ed.value]]));
      const result = await dkimVerify(signed, { resolver: dns });
      const by = new Map(result.results.map((r) => [r.selector, r]));
      assert.equal(by.get('r1')?.status.result, 'pass', by.get('r1')?.info);
      assert.equal(by.get('e1')?.status.result, 'pass', by.get('e1')?.info);
      const detail = (s: string) => by.get(s) as unknown as { status: { header: { a: string } }; format: string };
      assert.equal(detail('r1').status.header.a, 'rsa-sha256');
      assert.equal(detail('e1').status.header.a, 'ed25519-sha256');
      assert.equal(detail('r1').format, 'relaxed/relaxed');
      assert.equal(detail('e1').format, 'relaxed/relaxed');
      assert.equal(by.get('r1')?.signingDomain, 'example.org');

      // Relaxed canonicalisation tolerates whitespace changes; a changed body does not verify.
      const rewrapped = Buffer.from(signed.toString().replace('Subject: test', 'Subject:   test'));
      assert.equal((await dkimVerify(rewrapped, { resolver: dns })).results[0].status.result, 'pass');
      const tampered = Buffer.from(signed.toString().replace('Hello.', 'Hellx.'));
      assert.ok((await dkimVerify(tampered, { resolver: dns })).results.every((r) => r.status.result !== 'pass'));
    } finally {
      await cleanup();
    }
  });

  it('finds the From: domain through display names, comments and folding', () => {
    assert.equal(fromDomain('Subject: x\r\nFrom: "Doe, John <j@evil.test>" <john@Example.COM>\r\n'), 'example.com');
    assert.equal(fromDomain('from:\r\n john@a.test (John)\r\n'), 'a.test');
    assert.equal(fromDomain('To: a@b.test\r\n'), null);
  });

  it('loads keys and reproduces the DNS record', async () => {
    const { dir, cleanup } = await tempDataDir();
    try {
      const g = await generateDkimKey(dir, 'a.test', { selector: 'sel', algorithm: 'ed25519' });
      const keys = await loadDkimKeys(dir, 'A.test');
      assert.equal(keys.length, 1);
      assert.equal(dnsRecordFor(keys[0].privateKeyPem).value, g.value);
      assert.deepEqual(await loadDkimKeys(dir, 'none.test'), []);
      const sig = await signMessage(message('x@a.test'), keys, new Date(Date.UTC(2026, 0, 1)));
      assert.match(sig, /^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=a\.test;/);
      assert.match(sig, /\r\n$/);
      assert.doesNotMatch(sig.replace(/\r\n/g, ''), /[\r\n]/);
    } finally {
      await cleanup();
    }
  });

  it('posthorn dkim generate prints the TXT record', async () => {
    const { dir, cleanup } = await tempDataDir();
    try {
      const cli = join(process.cwd(), 'src/cli/main.ts');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, 'dkim', 'generate', 'example.net', '--data', dir, '--selector', 's2026', '--algorithm', 'ed25519']);
      assert.match(stdout, /s2026\._domainkey\.example\.net\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="/);
      const keys = await loadDkimKeys(dir, 'example.net');
      assert.equal(keys[0].algorithm, 'ed25519');
    } finally {
      await cleanup();
    }
  });
});
