/** Maildir specifics: where things go on disk, names other tools understand, and files other tools put there. */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { deliverBuffer } from '../../src/store/deliver.js';
import { encodeComponent, mailboxComponents } from '../../src/store/maildir/names.js';
import { parseAnyName, parseMessageName } from '../../src/store/maildir/names.js';
import type { MaildirStore } from '../../src/store/maildir/index.js';
import { StoreError } from '../../src/store/types.js';
import { maildirStore, tempRoot } from './helpers.js';

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('Maildir layout', () => {
  let root: string;
  let remove: () => void;
  let store: MaildirStore;
  beforeEach(() => {
    ({ root, remove } = tempRoot());
    store = maildirStore(root);
  });
  afterEach(async () => {
    await store.close();
    remove();
  });

  it('stores alice@example.com in <root>/example.com/alice/{tmp,new,cur} with Dovecot size fields', async () => {
    const data = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
    const [s] = await deliverBuffer(store, ['alice@Example.COM'], data);
    const box = join(root, 'example.com', 'alice');
    for (const sub of ['tmp', 'new', 'cur']) assert.ok(existsSync(join(box, sub)), sub);
    const files = readdirSync(join(box, 'new'));
    assert.equal(files.length, 1);
    assert.equal(files[0], `${s.uid},S=${data.length},W=${data.length}`);
    assert.match(s.uid, /^\d{10}\.M\d{6}P\d+Q[0-9a-z]+R[0-9a-f]{8}\.test\.example$/);
    assert.deepEqual(readFileSync(join(box, 'new', files[0])), data);
    assert.deepEqual(readdirSync(join(root, '.tmp')), [], 'the temporary file is gone');
    assert.deepEqual(await store.list('alice@example.com'), [{ uid: s.uid, size: data.length }], 'domain case does not matter');
  });

  it('makes valid UIDs (at most 70 printable characters) from any host name', async () => {
    const odd = maildirStore(root, { hostname: `mail/with:odd,chars and ünïcode.${'x'.repeat(100)}.example` });
    const [s] = await deliverBuffer(odd, ['alice@example.com'], Buffer.from('A: b\r\n\r\n'));
    assert.match(s.uid, /^[\x21-\x7e]{1,70}$/);
    assert.ok(s.uid.includes('mail\\057with\\072odd\\054chars_and_'), s.uid);
    assert.deepEqual((await odd.list('alice@example.com')).map((e) => e.uid), [s.uid]);
    await odd.close();
  });

  it('keeps every address inside the root, and distinct addresses apart', async () => {
    const evil = ['../../etc/passwd@example.com', 'a/b@c', '..@..', '.@.', '@', '', 'x@../../..', 'nul\0l@x', 'ü@bücher.de', '%41@x', 'A@x', `${'l'.repeat(300)}@x`];
    const dirs = new Set<string>();
    for (const address of evil) {
      const [domain, local] = mailboxComponents(address);
      for (const c of [domain, local]) {
        assert.ok(!c.includes('/') && !c.includes('\0') && !c.startsWith('.') && c.length > 0 && c.length <= 200, `${address} -> ${c}`);
      }
      dirs.add(`${domain}/${local}`);
      await deliverBuffer(store, [address], Buffer.from(`Subject: ${address.length}\r\n\r\n`));
    }
    assert.equal(dirs.size, evil.length, 'no two addresses share a directory');
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    const all = walk(root).map((p) => relative(root, p));
    assert.equal(all.length, evil.length);
    for (const p of all) assert.ok(!p.startsWith('..') && p.split(sep)[2] === 'new', p);
    assert.equal(encodeComponent('%41'), '%2541');
    assert.equal(encodeComponent('A'), 'A');
  });

  it('gives UIDs that survive a move to cur/ with flags, as mutt and Dovecot do', async () => {
    const data = Buffer.from('Subject: moved\r\n\r\nbody\r\n');
    const [s] = await deliverBuffer(store, ['alice@example.com'], data);
    const box = join(root, 'example.com', 'alice');
    const [name] = readdirSync(join(box, 'new'));
    renameSync(join(box, 'new', name), join(box, 'cur', `${name}:2,S`));
    const md = await store.openMaildrop('alice@example.com');
    assert.deepEqual(md.entries, [{ uid: s.uid, size: data.length }]);
    // Moved again while the maildrop is open (another tool ignores our lock): still found by UID.
    renameSync(join(box, 'cur', `${name}:2,S`), join(box, 'cur', `${name}:2,RS`));
    assert.deepEqual(await md.readBuffer(s.uid), data);
    renameSync(join(box, 'cur', `${name}:2,RS`), join(box, 'cur', `${name}:2,FRS`));
    assert.deepEqual(await collect(md.read(s.uid)), data);
    renameSync(join(box, 'cur', `${name}:2,FRS`), join(box, 'cur', `${name}:2,S`));
    await md.commitDeletions([s.uid]);
    assert.deepEqual(readdirSync(join(box, 'cur')), []);
  });

  it('answers StoreError("missing") for a message another tool deleted, and still deletes the rest', async () => {
    const [a] = await deliverBuffer(store, ['alice@example.com'], Buffer.from('A: 1\r\n\r\n'));
    const [b] = await deliverBuffer(store, ['alice@example.com'], Buffer.from('A: 2\r\n\r\n'));
    const md = await store.openMaildrop('alice@example.com');
    const box = join(root, 'example.com', 'alice', 'new');
    const { unlinkSync } = await import('node:fs');
    unlinkSync(join(box, readdirSync(box).find((n) => n.startsWith(a.uid))!));
    await assert.rejects(md.readBuffer(a.uid), (e: unknown) => e instanceof StoreError && e.kind === 'missing');
    await assert.rejects(collect(md.read(a.uid)), (e: unknown) => e instanceof StoreError && e.kind === 'missing');
    await md.commitDeletions([a.uid, b.uid]);
    assert.deepEqual(await store.list('alice@example.com'), []);
  });

  it('reads files dropped in by other tools with LF line ends, at their CRLF size', async () => {
    const box = join(root, 'example.com', 'alice');
    await store.ensureMailbox('alice@example.com');
    const lf = 'Subject: from procmail\n\nline 1\nline 2\r\nline 3\n';
    const crlf = 'Subject: from procmail\r\n\r\nline 1\r\nline 2\r\nline 3\r\n';
    writeFileSync(join(box, 'new', '1700000000.12345_1.otherhost'), lf);
    // Dovecot's own style: LF on disk, both sizes in the name.
    writeFileSync(join(box, 'cur', `1700000001.M1P2.dovecot,S=${lf.length},W=${crlf.length}:2,S`), lf);
    // Only S=: the CRLF size must be computed.
    writeFileSync(join(box, 'cur', `1700000002.M1P2.dovecot,S=${lf.length}:2,`), lf);
    const listed = await store.list('alice@example.com');
    assert.deepEqual(
      listed.map((e) => e.size),
      [crlf.length, crlf.length, crlf.length],
    );
    assert.deepEqual(listed.map((e) => e.uid), ['1700000000.12345_1.otherhost', '1700000001.M1P2.dovecot', '1700000002.M1P2.dovecot']);
    const md = await store.openMaildrop('alice@example.com');
    assert.deepEqual(md.entries, listed, 'same UIDs and sizes in a maildrop');
    for (const e of md.entries) {
      assert.equal((await md.readBuffer(e.uid)).toString(), crlf);
      assert.equal((await collect(md.read(e.uid))).toString(), crlf);
      assert.equal((await collect(md.read(e.uid, { bodyLines: 1 }))).toString(), 'Subject: from procmail\r\n\r\nline 1\r\n');
    }
    await md.release();
    // Opening the maildrop wrote the sizes into the names, so the next listing reads no bodies.
    assert.deepEqual(readdirSync(join(box, 'new')), [`1700000000.12345_1.otherhost,S=${lf.length},W=${crlf.length}`]);
    assert.ok(readdirSync(join(box, 'cur')).includes(`1700000002.M1P2.dovecot,S=${lf.length},W=${crlf.length}:2,`));
    assert.deepEqual(await store.list('alice@example.com'), listed, 'UIDs unchanged by the rename');
  });

  it('hashes foreign names that are not valid UIDs, stably', async () => {
    const box = join(root, 'example.com', 'alice');
    await store.ensureMailbox('alice@example.com');
    const long = `1700000000.${'x'.repeat(100)}.host`;
    writeFileSync(join(box, 'new', long), 'A: b\r\n\r\n');
    writeFileSync(join(box, 'new', '1700000001.with space'), 'A: b\r\n\r\n');
    writeFileSync(join(box, 'new', '.hidden-editor-file'), 'ignored');
    mkdirSync(join(box, 'new', 'a-directory'));
    const first = await store.list('alice@example.com');
    assert.equal(first.length, 2);
    for (const e of first) assert.match(e.uid, /^h[A-Za-z0-9_-]{40}$/);
    const md = await store.openMaildrop('alice@example.com');
    assert.deepEqual(md.entries, first);
    await md.release();
    assert.deepEqual(await store.list('alice@example.com'), first);
    assert.equal(parseMessageName(`${long},S=8,W=8:2,S`).uid, first[0].uid);
  });

  it('orders by delivery time, not by name', async () => {
    const box = join(root, 'example.com', 'alice');
    await store.ensureMailbox('alice@example.com');
    writeFileSync(join(box, 'cur', '999999999.M000001P1.h,S=1,W=1:2,'), 'a');
    writeFileSync(join(box, 'new', '1000000000.M000002P1.h,S=1,W=1'), 'b');
    writeFileSync(join(box, 'new', '1000000000.M000001P9.h,S=1,W=1'), 'c');
    const [s] = await deliverBuffer(store, ['alice@example.com'], Buffer.from('d'));
    assert.deepEqual(
      (await store.list('alice@example.com')).map((e) => e.uid),
      ['999999999.M000001P1.h', '1000000000.M000001P9.h', '1000000000.M000002P1.h', s.uid],
    );
  });

  it('stores bytes exactly as written, and reads bare LF as CRLF at the matching size', async () => {
    const data = Buffer.from('Subject: mixed\r\n\r\nbare\nlf and a bare cr\r here\r\n\n');
    const [s] = await deliverBuffer(store, ['alice@example.com'], data);
    const box = join(root, 'example.com', 'alice');
    const [name] = readdirSync(join(box, 'new'));
    assert.deepEqual(readFileSync(join(box, 'new', name)), data, 'on disk unchanged');
    const expected = Buffer.from('Subject: mixed\r\n\r\nbare\r\nlf and a bare cr\r here\r\n\r\n');
    assert.equal(s.size, expected.length);
    const md = await store.openMaildrop('alice@example.com');
    assert.deepEqual(md.entries, [{ uid: s.uid, size: expected.length }]);
    assert.deepEqual(await md.readBuffer(s.uid), expected);
    assert.deepEqual(await collect(md.read(s.uid)), expected);
    await md.release();
  });

  it('makes a mailbox again if its directory was removed while the store ran', async () => {
    await deliverBuffer(store, ['alice@example.com'], Buffer.from('a'));
    const { rmSync } = await import('node:fs');
    rmSync(join(root, 'example.com'), { recursive: true });
    await deliverBuffer(store, ['alice@example.com'], Buffer.from('b'));
    assert.equal((await store.list('alice@example.com')).length, 1);
  });
});

describe('message name parsing fast path', () => {
  it('gives exactly what the general parser gives, for usual and unusual names', () => {
    const parts = ['1764157794', '.M123456', 'P4242', 'Q1a', '.host', ',S=10014', ',W=10020', ',S=', ',W=x', ':2,S', ':2,', ',X=1', ' ', 'é', '.M', '12', ',', ':', 'a'.repeat(30), '9'.repeat(16)];
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 20_000; round++) {
      let name = '';
      const count = 1 + Math.floor(random() * 8);
      for (let i = 0; i < count; i++) name += parts[Math.floor(random() * parts.length)];
      if (round % 3 === 0) name = `1764157794.M12345${round % 10}P42Q${round}R9f3c01de.host,S=${round},W=${round + 5}${round % 2 ? ':2,S' : ''}`;
      assert.deepEqual(parseMessageName(name), parseAnyName(name), name);
    }
    assert.deepEqual(parseMessageName('1764157794.M000042P7Q1R0.h,S=10,W=12:2,S'), {
      name: '1764157794.M000042P7Q1R0.h,S=10,W=12:2,S',
      uid: '1764157794.M000042P7Q1R0.h',
      size: 10,
      vsize: 12,
      secs: 1764157794,
      usecs: 42,
    });
  });
});
