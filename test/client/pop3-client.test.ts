/** POP3 client and fetch against Posthorn's own POP3 server (memory store), RFC 1939 transcripts in spirit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pop3Client, Pop3ClientError } from '../../src/client/pop3/client.js';
import { Pop3Reader, Pop3ProtocolError, type StatusLine } from '../../src/client/pop3/reader.js';
import { fetchMail, defaultStateFile, type FetchOptions } from '../../src/client/pop3/fetch.js';
import { parsePop3Url } from '../../src/client/pop3/url.js';
import { progressLine, runFetch } from '../../src/cli/commands/fetch.js';
import { ALICE, ALICE_PASSWORD, BOB, BOB_SECRET, deliver, message, startPop3 } from '../support/pop3-fixture.js';
import { certificate } from './support.js';

const local = (port: number) => ({ host: '127.0.0.1', port, tls: 'off' as const });

test('reader: the same multi-line response split at every chunk size gives the same unstuffed bytes', () => {
  const wire = Buffer.from('+OK 3 octets\r\nline one\r\n..dot line\r\n...two dots\r\n.\r\n+OK next\r\n');
  for (let size = 1; size <= wire.length; size++) {
    const reader = new Pop3Reader(512);
    const got: Buffer[] = [];
    const statuses: StatusLine[] = [];
    reader.expect({ multiline: true, sink: { write: (c) => (got.push(Buffer.from(c)), true) }, maxBytes: 1000, resolve: (s) => statuses.push(s), reject: assert.fail });
    reader.expect({ multiline: false, maxBytes: 0, resolve: (s) => statuses.push(s), reject: assert.fail });
    for (let i = 0; i < wire.length; i += size) reader.push(wire.subarray(i, i + size));
    assert.equal(Buffer.concat(got).toString(), 'line one\r\n.dot line\r\n..two dots\r\n', `chunk size ${size}`);
    assert.deepEqual(statuses.map((s) => s.text), ['3 octets', 'next']);
  }
});

test('reader: hostile responses are bounded (long status line, oversized block, garbage)', () => {
  const r1 = new Pop3Reader(100);
  r1.expect({ multiline: false, maxBytes: 0, resolve: assert.fail, reject: () => {} });
  assert.throws(() => r1.push(Buffer.alloc(1000, 0x61)), Pop3ProtocolError);
  const r2 = new Pop3Reader(100);
  r2.expect({ multiline: true, maxBytes: 50, resolve: assert.fail, reject: () => {} });
  assert.throws(() => r2.push(Buffer.from('+OK\r\n' + 'x'.repeat(60) + '\r\n')), /larger than 50/);
  const r3 = new Pop3Reader(100);
  r3.expect({ multiline: false, maxBytes: 0, resolve: assert.fail, reject: () => {} });
  assert.throws(() => r3.push(Buffer.from('HELLO\r\n')), /malformed/);
});

test('USER/PASS, STAT, LIST, UIDL, RETR (unstuffed), TOP, DELE and QUIT against the Posthorn server', async () => {
  const s = await startPop3();
  try {
    await deliver(s.store, ALICE, message('one', 'first\n.starts with a dot\nend'));
    await deliver(s.store, ALICE, message('two', 'second'));
    const c = await Pop3Client.connect(local(s.port));
    assert.ok(c.capabilities.has('UIDL') && c.pipelining);
    await c.login(ALICE, ALICE_PASSWORD, 'USER');
    const stat = await c.stat();
    assert.equal(stat.count, 2);
    const list = await c.list();
    assert.equal(list.length, 2);
    assert.equal(list.reduce((a, e) => a + e.size, 0), stat.size);
    const uids = await c.uidl();
    assert.equal(new Set(uids.map((u) => u.uid)).size, 2);
    const first = await c.retrBuffer(1);
    assert.equal(first.toString(), message('one', 'first\n.starts with a dot\nend') + '\r\n');
    const chunks: Buffer[] = [];
    await c.top(2, 0, { write: (b: Buffer) => (chunks.push(Buffer.from(b)), true) });
    assert.match(Buffer.concat(chunks).toString(), /^From: sender@example\.net\r\n[\s\S]*Subject: two\r\n\r\n$/);
    await assert.rejects(c.retr(9, { write: () => true }), (e: unknown) => e instanceof Pop3ClientError && /RETR refused: -ERR/.test(e.message));
    await c.dele(2);
    await c.rset();
    await c.dele(1);
    await c.noop();
    await c.quit();
    const c2 = await Pop3Client.connect(local(s.port));
    await c2.login(ALICE, ALICE_PASSWORD);
    assert.equal((await c2.stat()).count, 1);
    await c2.quit();
  } finally {
    await s.close();
  }
});

test('APOP and SASL CRAM-MD5 (legacy user), PLAIN; a wrong password names the server reply', async () => {
  const s = await startPop3();
  try {
    for (const method of ['APOP', 'CRAM-MD5'] as const) {
      const c = await Pop3Client.connect(local(s.port));
      await c.login(BOB, BOB_SECRET, method);
      await c.stat();
      await c.quit();
    }
    const p = await Pop3Client.connect(local(s.port));
    await p.login(ALICE, ALICE_PASSWORD, 'PLAIN');
    await p.quit();
    const bad = await Pop3Client.connect(local(s.port));
    await assert.rejects(bad.login(ALICE, 'wrong', 'USER'), (e: unknown) => e instanceof Pop3ClientError && /login \(USER\) failed: -ERR/.test(e.message) && e.responseCode === 'AUTH');
    bad.close();
  } finally {
    await s.close();
  }
});

test('STLS upgrades with a trusted certificate; pop3s implicit TLS; an untrusted certificate is refused', async () => {
  const tls = await certificate();
  const s = await startPop3({ tls });
  try {
    await deliver(s.store, ALICE, message('tls', 'secret'));
    const c = await Pop3Client.connect({ host: 'localhost', port: s.port, tls: 'stls', ca: tls.cert });
    assert.equal(c.secure, true);
    await c.login(ALICE, ALICE_PASSWORD);
    assert.equal((await c.stat()).count, 1);
    await c.quit();
    const i = await Pop3Client.connect({ host: '127.0.0.1', port: s.tlsPort, tls: 'implicit', ca: tls.cert });
    await i.login(ALICE, ALICE_PASSWORD);
    await i.quit();
    await assert.rejects(Pop3Client.connect({ host: 'localhost', port: s.port, tls: 'stls' }), (e: unknown) => e instanceof Pop3ClientError && e.kind === 'tls');
  } finally {
    await s.close();
  }
});

test('POP3 URLs', () => {
  const u = parsePop3Url('pop3s://me%40example.com:p%40ss@pop.example.com/?auth=apop');
  assert.deepEqual(u.server, { host: 'pop.example.com', port: 995, tls: 'implicit' });
  assert.equal(u.user, 'me@example.com');
  assert.equal(u.password, 'p@ss');
  assert.equal(u.auth, 'APOP');
  assert.equal(parsePop3Url('pop3+stls://u@h:1110').server.tls, 'stls');
  assert.equal(parsePop3Url('pop3://u@h').password, null);
  assert.throws(() => parsePop3Url('pop3://h'), /needs a user/);
});

/** A TCP proxy that cuts the connection after `limit` bytes from the server (an interrupted download). */
async function cuttingProxy(target: number, limit: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let sent = 0;
    upstream.on('data', (d: Buffer) => {
      const room = limit - sent;
      if (room <= 0) return;
      client.write(d.subarray(0, room));
      sent += Math.min(room, d.length);
      if (sent >= limit) {
        client.destroy();
        upstream.destroy();
      }
    });
    client.on('data', (d) => upstream.write(d));
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

function maildirMessages(dir: string): string[] {
  return readdirSync(path.join(dir, 'new')).map((f) => readFileSync(path.join(dir, 'new', f), 'utf8')).sort();
}

test('fetch to a Maildir: UIDL-tracked, nothing twice, interrupted mid-message and resumed without loss; --delete after storing', async () => {
  const s = await startPop3();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-fetch-'));
  const maildir = path.join(dir, 'Maildir');
  try {
    const bodies = Array.from({ length: 6 }, (_, i) => `message ${i}\n${'x'.repeat(2000 + i)}\n.dot line ${i}`);
    for (const [i, b] of bodies.entries()) await deliver(s.store, ALICE, message(`m${i}`, b));
    const base: FetchOptions = { server: local(s.port), account: 'alice@test', user: ALICE, password: ALICE_PASSWORD, target: { maildir }, mode: 'delete' };
    // Cut the connection in the middle of the third message.
    const proxy = await cuttingProxy(s.port, 2000 + 3 * 2150);
    await assert.rejects(fetchMail({ ...base, server: local(proxy.port) }), Pop3ClientError);
    await proxy.close();
    const partial = maildirMessages(maildir);
    assert.ok(partial.length >= 1 && partial.length < 6, `stored ${partial.length}`);
    assert.equal(readdirSync(path.join(maildir, 'tmp')).length, 0, 'no debris visible');
    // Nothing was deleted on the server: QUIT never happened.
    const check = await Pop3Client.connect(local(s.port));
    await check.login(ALICE, ALICE_PASSWORD);
    assert.equal((await check.stat()).count, 6);
    await check.quit();
    const progress: string[] = [];
    const resumed = await fetchMail({ ...base, onProgress: (p) => progress.push(`${p.done}/${p.total}`) });
    assert.equal(resumed.fetched, 6 - partial.length);
    assert.equal(resumed.skipped, partial.length);
    assert.equal(resumed.deleted, 6);
    assert.equal(progress.at(-1), `${6 - partial.length}/${6 - partial.length}`);
    const all = maildirMessages(maildir);
    assert.equal(all.length, 6);
    const expected = bodies.map((b, i) => message(`m${i}`, b).replace(/\r\n/g, '\n') + '\n').sort();
    assert.deepEqual(all, expected);
    const after = await Pop3Client.connect(local(s.port));
    await after.login(ALICE, ALICE_PASSWORD);
    assert.equal((await after.stat()).count, 0);
    await after.quit();
    const again = await fetchMail(base);
    assert.equal(again.fetched, 0);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fetch --keep: a second run fetches only new mail; a lost state file is rebuilt from Maildir names', async () => {
  const s = await startPop3();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-fetch-'));
  const maildir = path.join(dir, 'Maildir');
  try {
    await deliver(s.store, ALICE, message('a', 'a'));
    await deliver(s.store, ALICE, message('b', 'b'));
    const base: FetchOptions = { server: local(s.port), user: ALICE, password: ALICE_PASSWORD, target: { maildir } };
    assert.equal((await fetchMail(base)).fetched, 2);
    await deliver(s.store, ALICE, message('c', 'c'));
    const second = await fetchMail(base);
    assert.equal(second.fetched, 1);
    assert.equal(second.skipped, 2);
    rmSync(defaultStateFile(base));
    // A second fetch of the same account while one runs is refused; a stale lock (dead pid) is taken over.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(defaultStateFile(base) + '.lock', String(process.pid));
    await assert.rejects(fetchMail(base), /another fetch for this account is running/);
    writeFileSync(defaultStateFile(base) + '.lock', '999999999');
    const third = await fetchMail(base);
    assert.equal(third.fetched, 0);
    assert.equal(maildirMessages(maildir).length, 3);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fetch to mbox: mboxrd quoting, and a torn append from a crash is cut off on resume', async () => {
  const s = await startPop3();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-fetch-'));
  const mbox = path.join(dir, 'inbox.mbox');
  try {
    await deliver(s.store, ALICE, message('one', 'From here\n>From there\nend'));
    const base: FetchOptions = { server: local(s.port), user: ALICE, password: ALICE_PASSWORD, target: { mbox } };
    assert.equal((await fetchMail(base)).fetched, 1);
    const text = readFileSync(mbox, 'utf8');
    assert.match(text, /^From MAILER-DAEMON .+\n/);
    assert.match(text, /\n>From here\n>>From there\nend\n\n$/);
    // Simulate a crash in the middle of appending a second message: the P line is written, the data is partial.
    const uid2 = await deliver(s.store, ALICE, message('two', 'second body'));
    const offset = statSync(mbox).size;
    appendFileSync(defaultStateFile(base), `P ${uid2} ${offset}\n`);
    appendFileSync(mbox, 'From MAILER-DAEMON torn\nFrom: half a mess');
    const resumed = await fetchMail(base);
    assert.equal(resumed.fetched, 1);
    const final = readFileSync(mbox, 'utf8');
    assert.doesNotMatch(final, /torn|half a mess/);
    assert.equal((final.match(/^From MAILER-DAEMON /gm) ?? []).length, 2);
    assert.match(final, /Subject: two\n\nsecond body\n\n$/);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('posthorn fetch command: plain progress lines when not a terminal, usage errors', async () => {
  const s = await startPop3();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-fetch-'));
  try {
    await deliver(s.store, ALICE, message('a', 'a'));
    await deliver(s.store, ALICE, message('b', 'b'));
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdin: [Buffer.from(ALICE_PASSWORD + '\n')], stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), isTty: false, env: {} };
    const url = `pop3://${encodeURIComponent(ALICE)}@127.0.0.1:${s.port}/?tls=off`;
    assert.equal(await runFetch(url, { maildir: path.join(dir, 'M'), passwordStdin: true }, io), 0);
    assert.deepEqual(err.map((l) => l.replace(/uid=\S+/, 'uid=U')), ['fetched 1/2 uid=U ' + err[0].split(' ').slice(3).join(' '), 'fetched 2/2 uid=U ' + err[1].split(' ').slice(3).join(' ')]);
    assert.match(out[0], /^fetched 2 messages .* 0 already here, 0 deleted on the server\n$/);
    assert.equal(await runFetch(url, { passwordStdin: true }, io), 64);
    assert.equal(await runFetch(url, { maildir: 'x', mbox: 'y' }, io), 64);
    const wrong = { ...io, stdin: [Buffer.from('wrong\n')] };
    assert.equal(await runFetch(url, { maildir: path.join(dir, 'M'), passwordStdin: true }, wrong), 77);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress: a bar with count and bytes on a terminal, plain lines otherwise', () => {
  const p = { done: 3, total: 4, bytes: 3 * 1024 * 1024, totalBytes: 4 * 1024 * 1024, uid: 'u3' };
  assert.equal(progressLine(p, true), '\r[#######################.......] 3/4 messages  3.0 MB/4.0 MB');
  assert.equal(progressLine(p, false), 'fetched 3/4 uid=u3 3.0 MB/4.0 MB\n');
});

test('pipelined DELE of many messages; a silent server times out with a named step', async () => {
  const s = await startPop3();
  try {
    for (let i = 0; i < 40; i++) await deliver(s.store, ALICE, message(`m${i}`, 'x'));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const c = await Pop3Client.connect(local(s.port));
    await c.login(ALICE, ALICE_PASSWORD);
    await c.deleMany(Array.from({ length: 40 }, (_, i) => i + 1));
    await c.quit();
    process.off('warning', onWarning);
    assert.deepEqual(warnings, []);
    const check = await Pop3Client.connect(local(s.port));
    await check.login(ALICE, ALICE_PASSWORD);
    assert.equal((await check.stat()).count, 0);
    await check.quit();
  } finally {
    await s.close();
  }
  const silent = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.write('+OK ready\r\n');
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const port = (silent.address() as net.AddressInfo).port;
  await assert.rejects(Pop3Client.connect({ ...local(port), timeouts: { command: 150 } }), (e: unknown) => e instanceof Pop3ClientError && e.kind === 'timeout' && /CAPA/.test(e.message));
  silent.close();
});

test('fetch from an old server without CAPA or UIDL: a clear refusal, nothing written', async () => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.write('+OK old server ready\r\n');
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const verb = buf.slice(0, i).split(' ')[0];
        buf = buf.slice(i + 2);
        if (verb === 'CAPA' || verb === 'UIDL') socket.write('-ERR unknown command\r\n');
        else if (verb === 'LIST') socket.write('+OK\r\n1 10\r\n.\r\n');
        else socket.write('+OK\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-fetch-'));
  try {
    const port = (server.address() as net.AddressInfo).port;
    await assert.rejects(
      fetchMail({ server: local(port), user: 'u', password: 'p', target: { maildir: path.join(dir, 'M') } }),
      (e: unknown) => e instanceof Pop3ClientError && /refused UIDL .*fetch needs unique ids/.test(e.message),
    );
    assert.equal(readdirSync(path.join(dir, 'M', 'new')).length, 0);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
