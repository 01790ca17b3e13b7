import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDirectory } from '../../src/directory/sqlite.js';
import { MemoryDirectory } from '../../src/directory/memory.js';
import { hashPassword, verifyPassword, SecretBox } from '../../src/directory/credentials.js';
import { verifySaslCredentials, verifyApop } from '../../src/protocol/sasl/verify.js';
import { createHash, createHmac } from 'node:crypto';

const FAST = { N: 1024, r: 8, p: 1 };

function fresh(): { dir: string; d: SqliteDirectory } {
  const dir = mkdtempSync(join(tmpdir(), 'posthorn-dir-'));
  return { dir, d: new SqliteDirectory({ dataDir: dir, scrypt: FAST }) };
}

test('passwords are hashed with scrypt and verified; the hash never contains the password', async () => {
  const h = await hashPassword('correct horse', FAST);
  assert.match(h, /^\$scrypt\$ln=10,r=8,p=1\$/);
  assert.ok(!h.includes('correct horse'));
  assert.equal(await verifyPassword('correct horse', h), true);
  assert.equal(await verifyPassword('correct hors', h), false);
  assert.notEqual(await hashPassword('correct horse', FAST), h, 'salted');
  assert.equal(await verifyPassword('x', 'garbage'), false);
});

test('the legacy secret box round-trips and is not plain text at rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'posthorn-box-'));
  const box = new SecretBox(join(dir, 'secrets.key'));
  const sealed = box.seal('tanstaaf');
  assert.ok(!sealed.includes('tanstaaf'));
  assert.equal(new SecretBox(join(dir, 'secrets.key')).open(sealed), 'tanstaaf');
  assert.equal(readFileSync(join(dir, 'secrets.key'), 'utf8').trim().length, 44);
});

test('domains: IDN stored as punycode, duplicates and bad names refused', async () => {
  const { d } = fresh();
  assert.equal(d.addDomain('Bücher.Example'), 'xn--bcher-kva.example');
  assert.deepEqual(d.listDomains(), ['xn--bcher-kva.example']);
  assert.throws(() => d.addDomain('bücher.example'), /already exists/);
  assert.throws(() => d.addDomain('bad_domain!'), /not a valid domain name/);
  assert.equal(await d.isLocalDomain('BÜCHER.example'), true);
  assert.equal(await d.isLocalDomain('xn--bcher-kva.example'), true);
  assert.equal(await d.isLocalDomain('other.example'), false);
});

test('users: only in local domains, authenticate by password, case-insensitive', async () => {
  const { d } = fresh();
  d.addDomain('example.com');
  await assert.rejects(d.addUser('bob@other.org', 'pw'), /other\.org is not a local domain; add it first/);
  assert.equal(await d.addUser('Alice@Example.COM', 'secret'), 'alice@example.com');
  await assert.rejects(d.addUser('alice@example.com', 'x'), /already exists/);
  assert.equal(await d.authenticate('ALICE@example.com', 'secret'), 'alice@example.com');
  assert.equal(await d.authenticate('alice@example.com', 'wrong'), null);
  assert.equal(await d.authenticate('nobody@example.com', 'secret'), null);
  assert.equal(await d.legacySecret('alice@example.com'), null, 'no legacy secret without the opt-in');
  await d.setPassword('alice@example.com', 'new');
  assert.equal(await d.authenticate('alice@example.com', 'secret'), null);
  assert.equal(await d.authenticate('alice@example.com', 'new'), 'alice@example.com');
  d.removeUser('alice@example.com');
  assert.equal(await d.findUser('alice@example.com'), null);
});

test('legacy-auth opt-in: APOP and CRAM-MD5 work only for users who have it', async () => {
  const { d } = fresh();
  d.addDomain('example.com');
  await d.addUser('mrose@example.com', 'tanstaaf', { legacyAuth: true });
  await d.addUser('plain@example.com', 'tanstaaf');
  const ts = '<1896.697170952@dbc.mtview.ca.us>';
  const digest = createHash('md5').update(ts + 'tanstaaf').digest('hex');
  assert.equal(digest, 'c4c9334bac560ecc979e58001b3e22fb');
  assert.equal(await verifyApop(d, 'mrose@example.com', ts, digest), 'mrose@example.com');
  assert.equal(await verifyApop(d, 'plain@example.com', ts, digest), null);
  const challenge = '<1.2@host>';
  const cram = createHmac('md5', 'tanstaaf').update(challenge).digest('hex');
  assert.equal(await verifySaslCredentials(d, { mechanism: 'CRAM-MD5', username: 'mrose@example.com', challenge, digest: cram }), 'mrose@example.com');
  assert.equal(await verifySaslCredentials(d, { mechanism: 'CRAM-MD5', username: 'plain@example.com', challenge, digest: cram }), null);
  // Turning it off drops the secret.
  await d.setPassword('mrose@example.com', 'tanstaaf');
  assert.equal(await d.legacySecret('mrose@example.com'), null);
});

test('aliases: users, alias chains, catch-all, forwards, loops', async () => {
  const { d } = fresh();
  d.addDomain('example.com');
  d.addDomain('example.net');
  await d.addUser('alice@example.com', 'a');
  await d.addUser('bob@example.net', 'b');
  d.addAlias('sales@example.com', ['alice@example.com', 'bob@example.net', 'ext@remote.example']);
  d.addAlias('team@example.com', ['sales@example.com']);
  d.addAlias('@example.net', ['bob@example.net']);
  d.addAlias('loop1@example.com', ['loop2@example.com']);
  d.addAlias('loop2@example.com', ['loop1@example.com']);
  assert.deepEqual(await d.resolve('alice@example.com'), { kind: 'local', mailboxes: ['alice@example.com'] });
  assert.deepEqual(await d.resolve('Team@Example.com'), { kind: 'local', mailboxes: ['alice@example.com', 'bob@example.net'], forward: ['ext@remote.example'] });
  assert.deepEqual(await d.resolve('anything@example.net'), { kind: 'local', mailboxes: ['bob@example.net'] });
  assert.deepEqual(await d.resolve('nobody@example.com'), { kind: 'unknown' });
  assert.deepEqual(await d.resolve('loop1@example.com'), { kind: 'unknown' });
  assert.deepEqual(await d.resolve('someone@remote.example'), { kind: 'remote' });
  assert.throws(() => d.addAlias('x@remote.example', ['alice@example.com']), /not a local domain/);
  assert.throws(() => d.removeDomain('example.com'), /still has 1 user\(s\) and 4 alias\(es\)/);
});

test('a second handle (the CLI) sees changes made by the first (the server) at once', async () => {
  const { dir, d } = fresh();
  const server = new SqliteDirectory({ dataDir: dir, scrypt: FAST });
  assert.equal(await server.isLocalDomain('example.org'), false);
  d.addDomain('example.org');
  await d.addUser('carol@example.org', 'pw');
  assert.equal(await server.isLocalDomain('example.org'), true);
  assert.equal(await server.authenticate('carol@example.org', 'pw'), 'carol@example.org');
  d.removeUser('carol@example.org');
  assert.equal(await server.authenticate('carol@example.org', 'pw'), null);
  server.close();
  d.close();
});

test('MemoryDirectory (for tests) resolves exactly as SqliteDirectory does', async () => {
  const { d } = fresh();
  const m = new MemoryDirectory();
  for (const dir of [d, m]) {
    dir.addDomain('example.com');
    dir.addDomain('example.net');
  }
  await d.addUser('alice@example.com', 'a');
  await d.addUser('bob@example.net', 'b');
  m.addUser('alice@example.com', 'a').addUser('bob@example.net', 'b');
  const aliases: Array<[string, string[]]> = [
    ['sales@example.com', ['alice@example.com', 'bob@example.net', 'ext@remote.example']],
    ['team@example.com', ['sales@example.com']],
    ['@example.net', ['bob@example.net']],
    ['loop1@example.com', ['loop2@example.com']],
    ['loop2@example.com', ['loop1@example.com']],
  ];
  for (const [source, targets] of aliases) {
    d.addAlias(source, targets);
    m.addAlias(source, targets);
  }
  for (const address of ['Alice@Example.com', 'team@example.com', 'anything@example.net', 'nobody@example.com', 'loop1@example.com', 'x@remote.example', 'not an address']) {
    assert.deepEqual(await m.resolve(address), await d.resolve(address), address);
  }
});
