/**
 * The MailStore contract, as one suite that every store implementation runs (memory.test.ts, maildir.test.ts).
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { StoreError, type MailStore } from '../../src/store/types.js';
import { deliverBuffer, deliverStream } from '../../src/store/deliver.js';
import { Readable as NodeReadable } from 'node:stream';
import { topOfMessage } from '../../src/store/top.js';

export interface StoreUnderTest {
  store: MailStore;
  /** Make the next commit fail the way a full disk does. */
  failNextCommitWithFullDisk(): void;
  /** A fresh store over the same data (a restart), if the store persists; null for memory stores. */
  reopen(): Promise<MailStore | null>;
  cleanup(): Promise<void>;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

function message(subject: string, bodyLines = 3): Buffer {
  const body = Array.from({ length: bodyLines }, (_, i) => `line ${i + 1} of ${subject}\r\n`).join('');
  return Buffer.from(`From: a@example.org\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}`);
}

function isStoreError(kind: StoreError['kind']) {
  return (err: unknown) => err instanceof StoreError && err.kind === kind;
}

export function runStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`MailStore contract: ${name}`, () => {
    let t: StoreUnderTest;
    let store: MailStore;
    beforeEach(async () => {
      t = await make();
      store = t.store;
      await store.recover();
    });
    afterEach(async () => {
      await store.close();
      await t.cleanup();
    });

    it('publishes nothing before commit, then the exact bytes', async () => {
      const data = message('two-phase');
      const tx = await store.beginDelivery();
      await tx.write(data.subarray(0, 10));
      await tx.write(data.subarray(10));
      assert.equal(tx.size, data.length);
      assert.deepEqual(await store.list('alice@example.com'), []);
      const stored = await tx.commit(['alice@example.com']);
      assert.equal(stored.length, 1);
      assert.equal(stored[0].mailbox, 'alice@example.com');
      assert.equal(stored[0].size, data.length);
      const listed = await store.list('alice@example.com');
      assert.deepEqual(listed, [{ uid: stored[0].uid, size: data.length }]);
      const md = await store.openMaildrop('alice@example.com');
      assert.deepEqual(md.entries, listed);
      assert.deepEqual(await md.readBuffer(stored[0].uid), data);
      assert.deepEqual(await collect(md.read(stored[0].uid)), data);
      await md.release();
    });

    it('commits one body to several mailboxes', async () => {
      const data = message('multi');
      const stored = await deliverBuffer(store, ['alice@example.com', 'bob@example.com', 'carol@example.net'], data);
      assert.deepEqual(stored.map((s) => s.mailbox), ['alice@example.com', 'bob@example.com', 'carol@example.net']);
      for (const s of stored) {
        const md = await store.openMaildrop(s.mailbox);
        assert.deepEqual(md.entries, [{ uid: s.uid, size: data.length }]);
        assert.deepEqual(await md.readBuffer(s.uid), data);
        await md.release();
      }
    });

    it('abort leaves nothing, is idempotent, and ends the transaction', async () => {
      const tx = await store.beginDelivery();
      await tx.write(message('aborted'));
      await tx.abort();
      await tx.abort();
      await assert.rejects(tx.commit(['alice@example.com']), isStoreError('io'));
      await assert.rejects(tx.write(Buffer.from('x')), StoreError);
      assert.deepEqual(await store.list('alice@example.com'), []);
    });

    it('refuses a commit without mailboxes and a second commit', async () => {
      const tx = await store.beginDelivery();
      await tx.write(message('x'));
      await assert.rejects(tx.commit([]), StoreError);
      await tx.commit(['alice@example.com']);
      await assert.rejects(tx.commit(['alice@example.com']), StoreError);
      await assert.rejects(tx.write(Buffer.from('more')), StoreError);
      assert.equal((await store.list('alice@example.com')).length, 1);
    });

    it('streams a large body in many chunks', async () => {
      const line = Buffer.from('0123456789'.repeat(7) + '\r\n');
      const chunks = Array.from({ length: 20000 }, () => line);
      const data = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), ...chunks]);
      const tx = await store.beginDelivery();
      for (let i = 0; i < data.length; i += 4096) await tx.write(data.subarray(i, i + 4096));
      const [s] = await tx.commit(['alice@example.com']);
      assert.equal(s.size, data.length);
      const md = await store.openMaildrop('alice@example.com');
      assert.equal(md.entries[0].size, data.length);
      assert.ok((await collect(md.read(s.uid))).equals(data));
      const top = await collect(md.read(s.uid, { bodyLines: 2 }));
      assert.deepEqual(top, topOfMessage(data, 2));
      await md.release();
    });

    it('keeps the exact bytes of many writes of mixed sizes, and counts them', async () => {
      let seed = 42;
      const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
      const parts: Buffer[] = [];
      const tx = await store.beginDelivery();
      let total = 0;
      for (let i = 0; i < 3000; i++) {
        const len = i % 500 === 0 ? 20000 + rand(50000) : rand(300);
        const part = Buffer.alloc(len);
        for (let j = 0; j < len; j++) part[j] = 32 + rand(90);
        if (len > 0) part[len - 1] = 10;
        if (len > 1) part[len - 2] = 13;
        parts.push(Buffer.from(part));
        await tx.write(part);
        part.fill(0); // the store must have kept its own copy
        total += len;
        assert.equal(tx.size, total);
      }
      const data = Buffer.concat(parts);
      const [s] = await tx.commit(['alice@example.com']);
      assert.equal(s.size, data.length);
      const md = await store.openMaildrop('alice@example.com');
      assert.ok((await md.readBuffer(s.uid)).equals(data));
      assert.ok((await collect(md.read(s.uid))).equals(data));
      await md.release();
    });

    it('delivers from a stream, and aborts when the stream fails', async () => {
      const data = message('streamed', 50);
      const [s] = await deliverStream(store, ['alice@example.com'], NodeReadable.from([data.subarray(0, 7), data.subarray(7, 500), data.subarray(500)]));
      assert.equal(s.size, data.length);
      async function* broken(): AsyncGenerator<Buffer> {
        yield data.subarray(0, 100);
        throw new Error('connection lost');
      }
      await assert.rejects(deliverStream(store, ['alice@example.com'], broken()), /connection lost/);
      const md = await store.openMaildrop('alice@example.com');
      assert.deepEqual(md.entries, [{ uid: s.uid, size: data.length }]);
      assert.deepEqual(await md.readBuffer(s.uid), data);
      await md.release();
    });

    it('delivers an empty message', async () => {
      const [s] = await deliverBuffer(store, ['alice@example.com'], Buffer.alloc(0));
      const md = await store.openMaildrop('alice@example.com');
      assert.deepEqual(md.entries, [{ uid: s.uid, size: 0 }]);
      assert.equal((await md.readBuffer(s.uid)).length, 0);
      await md.release();
    });

    it('locks a maildrop exclusively until release, and release is idempotent', async () => {
      const md = await store.openMaildrop('alice@example.com');
      await assert.rejects(store.openMaildrop('alice@example.com'), isStoreError('locked'));
      const other = await store.openMaildrop('bob@example.com');
      await other.release();
      await md.release();
      await md.release();
      const again = await store.openMaildrop('alice@example.com');
      await again.release();
    });

    it('holds the lock while two sessions race to open', async () => {
      const results = await Promise.allSettled([store.openMaildrop('alice@example.com'), store.openMaildrop('alice@example.com')]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const locked = results.filter((r) => r.status === 'rejected' && isStoreError('locked')(r.reason));
      assert.equal(ok.length, 1);
      assert.equal(locked.length, 1);
      for (const r of ok) await r.value.release();
    });

    it('keeps the snapshot taken at open', async () => {
      const [first] = await deliverBuffer(store, ['alice@example.com'], message('one'));
      const md = await store.openMaildrop('alice@example.com');
      const [second] = await deliverBuffer(store, ['alice@example.com'], message('two'));
      assert.deepEqual(md.entries.map((e) => e.uid), [first.uid]);
      assert.throws(() => md.read(second.uid), isStoreError('missing'));
      await assert.rejects(md.readBuffer(second.uid), isStoreError('missing'));
      await md.release();
      const md2 = await store.openMaildrop('alice@example.com');
      assert.deepEqual(md2.entries.map((e) => e.uid), [first.uid, second.uid]);
      await md2.release();
    });

    it('lists oldest first with unique printable UIDs', async () => {
      const uids: string[] = [];
      for (let i = 0; i < 30; i++) uids.push((await deliverBuffer(store, ['alice@example.com'], message(`m${i}`)))[0].uid);
      const md = await store.openMaildrop('alice@example.com');
      assert.deepEqual(md.entries.map((e) => e.uid), uids);
      assert.equal(new Set(uids).size, uids.length);
      for (const uid of uids) assert.match(uid, /^[\x21-\x7e]{1,70}$/);
      for (let i = 0; i < 30; i++) assert.deepEqual(await md.readBuffer(uids[i]), message(`m${i}`));
      await md.release();
    });

    it('answers TOP: header, blank line and at most N body lines', async () => {
      const data = message('top', 5);
      const noBody = Buffer.from('Subject: only a header\r\nX: y\r\n');
      const emptyHeader = Buffer.from('\r\nbody 1\r\nbody 2\r\n');
      const [a] = await deliverBuffer(store, ['alice@example.com'], data);
      const [b] = await deliverBuffer(store, ['alice@example.com'], noBody);
      const [c] = await deliverBuffer(store, ['alice@example.com'], emptyHeader);
      const md = await store.openMaildrop('alice@example.com');
      const header = 'From: a@example.org\r\nTo: b@example.com\r\nSubject: top\r\n\r\n';
      assert.equal((await collect(md.read(a.uid, { bodyLines: 0 }))).toString(), header);
      assert.equal((await collect(md.read(a.uid, { bodyLines: 2 }))).toString(), header + 'line 1 of top\r\nline 2 of top\r\n');
      assert.deepEqual(await collect(md.read(a.uid, { bodyLines: 5 })), data);
      assert.deepEqual(await collect(md.read(a.uid, { bodyLines: 100 })), data);
      assert.deepEqual(await collect(md.read(b.uid, { bodyLines: 1 })), noBody);
      assert.equal((await collect(md.read(c.uid, { bodyLines: 1 }))).toString(), '\r\nbody 1\r\n');
      await md.release();
    });

    it('keeps UIDs and sizes across sessions and restarts', async () => {
      const stored = [];
      for (let i = 0; i < 5; i++) stored.push((await deliverBuffer(store, ['alice@example.com'], message(`keep${i}`, i)))[0]);
      const md = await store.openMaildrop('alice@example.com');
      const entries = md.entries.map((e) => ({ ...e }));
      await md.release();
      const md2 = await store.openMaildrop('alice@example.com');
      assert.deepEqual(md2.entries, entries);
      await md2.release();
      const reopened = await t.reopen();
      if (reopened) {
        await store.close();
        store = reopened;
        await store.recover();
        const md3 = await store.openMaildrop('alice@example.com');
        assert.deepEqual(md3.entries, entries);
        const [fresh] = await deliverBuffer(store, ['alice@example.com'], message('after restart'));
        assert.ok(!entries.some((e) => e.uid === fresh.uid), 'a UID is never reused');
        for (let i = 0; i < 5; i++) assert.deepEqual(await md3.readBuffer(stored[i].uid), message(`keep${i}`, i));
        await md3.release();
      }
    });

    it('deletes only on commitDeletions, which also releases', async () => {
      const uids: string[] = [];
      for (let i = 0; i < 4; i++) uids.push((await deliverBuffer(store, ['alice@example.com'], message(`d${i}`)))[0].uid);
      const md = await store.openMaildrop('alice@example.com');
      await md.release();
      assert.equal((await store.list('alice@example.com')).length, 4, 'release deletes nothing');
      const md2 = await store.openMaildrop('alice@example.com');
      await md2.commitDeletions([uids[1], uids[3], 'no-such-uid']);
      await md2.release();
      assert.deepEqual((await store.list('alice@example.com')).map((e) => e.uid), [uids[0], uids[2]]);
      const md3 = await store.openMaildrop('alice@example.com'); // the lock was released
      assert.deepEqual(md3.entries.map((e) => e.uid), [uids[0], uids[2]]);
      await md3.commitDeletions([]);
      assert.equal((await store.list('alice@example.com')).length, 2);
    });

    it('leaves other mailboxes alone when deleting', async () => {
      const stored = await deliverBuffer(store, ['alice@example.com', 'bob@example.com'], message('shared'));
      const md = await store.openMaildrop('alice@example.com');
      await md.commitDeletions([stored[0].uid]);
      assert.equal((await store.list('alice@example.com')).length, 0);
      const bob = await store.openMaildrop('bob@example.com');
      assert.deepEqual(await bob.readBuffer(stored[1].uid), message('shared'));
      await bob.release();
    });

    it('turns a full disk into StoreError("full") and publishes nothing', async () => {
      const [kept] = await deliverBuffer(store, ['alice@example.com'], message('before'));
      t.failNextCommitWithFullDisk();
      const tx = await store.beginDelivery();
      await tx.write(message('doomed'));
      const err = await tx.commit(['alice@example.com', 'bob@example.com']).then(
        () => assert.fail('commit should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StoreError && err.kind === 'full' && err.temporary, String(err));
      await tx.abort();
      assert.deepEqual((await store.list('alice@example.com')).map((e) => e.uid), [kept.uid]);
      assert.deepEqual(await store.list('bob@example.com'), []);
      const [after] = await deliverBuffer(store, ['alice@example.com'], message('after'));
      assert.equal((await store.list('alice@example.com')).length, 2);
      assert.notEqual(after.uid, kept.uid);
    });

    it('commits concurrent deliveries, each exactly once', async () => {
      const n = 40;
      const stored = await Promise.all(
        Array.from({ length: n }, (_, i) => deliverBuffer(store, [i % 2 ? 'alice@example.com' : 'bob@example.com'], message(`c${i}`))),
      );
      const alice = await store.openMaildrop('alice@example.com');
      const bob = await store.openMaildrop('bob@example.com');
      assert.equal(alice.entries.length + bob.entries.length, n);
      for (let i = 0; i < n; i++) {
        const md = i % 2 ? alice : bob;
        assert.deepEqual(await md.readBuffer(stored[i][0].uid), message(`c${i}`));
      }
      await alice.release();
      await bob.release();
    });
  });
}
