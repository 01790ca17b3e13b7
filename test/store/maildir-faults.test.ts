/** Failures at every step of a delivery: the caller gets a StoreError it can turn into a 4xx, and nothing is published. */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../src/store/types.js';
import { deliverBuffer } from '../../src/store/deliver.js';
import { DirSyncer } from '../../src/store/maildir/dirsync.js';
import type { FsOps, FsOp } from '../../src/store/maildir/fsops.js';
import type { MaildirStore } from '../../src/store/maildir/index.js';
import { Faults, maildirStore, tempRoot } from './helpers.js';

const MSG = Buffer.from('Subject: fault\r\n\r\nbody\r\n');

describe('Maildir faults', () => {
  let root: string;
  let remove: () => void;
  let store: MaildirStore;
  let faults: Faults;
  beforeEach(async () => {
    ({ root, remove } = tempRoot());
    faults = new Faults();
    store = maildirStore(root, { faultHook: faults.hook, bufferBytes: 1024 });
    // Mailboxes exist already, so the commit path is what is tested (mkdir is tested separately).
    await store.ensureMailbox('alice@example.com');
    await store.ensureMailbox('bob@example.com');
  });
  afterEach(async () => {
    await store.close();
    remove();
  });

  const messagesOnDisk = () =>
    ['alice', 'bob'].flatMap((u) => ['new', 'cur', 'tmp'].flatMap((s) => readdirSync(join(root, 'example.com', u, s))));

  const cases: [FsOp, string, StoreError['kind'], RegExp?][] = [
    ['open', 'ENOSPC', 'full'],
    ['write', 'ENOSPC', 'full'],
    ['write', 'EDQUOT', 'full'],
    ['write', 'EIO', 'io'],
    ['datasync', 'EIO', 'io'],
    ['datasync', 'ENOSPC', 'full'],
    ['link', 'ENOSPC', 'full'],
    ['link', 'EIO', 'io'],
    ['rename', 'ENOSPC', 'full'],
    ['rename', 'EIO', 'io'],
    ['fsyncdir', 'EIO', 'io', /alice/],
    ['fsyncdir', 'EIO', 'io', /bob/],
  ];
  for (const [op, code, kind, path] of cases) {
    it(`${op} failing with ${code}${path ? ` (${path.source})` : ''} -> StoreError('${kind}'), nothing published`, async () => {
      faults.arm(op, code, path);
      await assert.rejects(deliverBuffer(store, ['alice@example.com', 'bob@example.com'], MSG), (err: unknown) => {
        assert.ok(err instanceof StoreError, String(err));
        assert.equal(err.kind, kind);
        assert.ok(err.temporary);
        return true;
      });
      assert.deepEqual(messagesOnDisk(), []);
      assert.deepEqual(readdirSync(join(root, '.tmp')), []);
      // The store keeps working afterwards.
      await deliverBuffer(store, ['alice@example.com', 'bob@example.com'], MSG);
      assert.equal(messagesOnDisk().length, 2);
    });
  }

  for (const code of ['EPERM', 'EXDEV', 'EMLINK', 'ENOTSUP']) {
    it(`link failing with ${code} (no hard links here) falls back to a durable copy`, async () => {
      faults.arm('link', code);
      const stored = await deliverBuffer(store, ['alice@example.com', 'bob@example.com'], MSG);
      for (const s of stored) {
        const md = await store.openMaildrop(s.mailbox);
        assert.deepEqual(md.entries, [{ uid: s.uid, size: MSG.length }]);
        assert.deepEqual(await md.readBuffer(s.uid), MSG);
        await md.release();
      }
      assert.deepEqual(readdirSync(join(root, 'example.com', 'alice', 'tmp')), []);
      assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    });
  }

  it('rename failing with EXDEV (mailbox on another file system) falls back to a durable copy', async () => {
    faults.arm('rename', 'EXDEV', /new/);
    const [s] = await deliverBuffer(store, ['alice@example.com'], MSG);
    const md = await store.openMaildrop('alice@example.com');
    assert.deepEqual(await md.readBuffer(s.uid), MSG);
    await md.release();
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    assert.deepEqual(readdirSync(join(root, 'example.com', 'alice', 'tmp')), []);
  });

  it('a failing fallback copy -> StoreError, nothing published, no copy left in tmp/', async () => {
    faults.arm('link', 'EPERM');
    faults.arm('copy', 'ENOSPC');
    await assert.rejects(deliverBuffer(store, ['alice@example.com', 'bob@example.com'], MSG), (e: unknown) => e instanceof StoreError && e.kind === 'full');
    assert.deepEqual(messagesOnDisk(), []);
    faults.arm('link', 'EPERM');
    faults.arm('rename', 'EIO', /alice/);
    await assert.rejects(deliverBuffer(store, ['alice@example.com', 'bob@example.com'], MSG), (e: unknown) => e instanceof StoreError && e.kind === 'io');
    assert.deepEqual(messagesOnDisk(), []);
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
  });

  it('a write failing mid-stream rejects that write and the commit; abort cleans up', async () => {
    const tx = await store.beginDelivery();
    await tx.write(Buffer.alloc(1000, 'a'));
    faults.arm('write', 'ENOSPC');
    await assert.rejects(tx.write(Buffer.alloc(1000, 'b')), (e: unknown) => e instanceof StoreError && e.kind === 'full');
    await assert.rejects(tx.write(Buffer.alloc(10, 'c')), (e: unknown) => e instanceof StoreError && e.kind === 'full');
    await assert.rejects(tx.commit(['alice@example.com']), (e: unknown) => e instanceof StoreError && e.kind === 'full');
    await tx.abort();
    assert.deepEqual(messagesOnDisk(), []);
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
  });

  it('abort removes a body already streamed to disk', async () => {
    const tx = await store.beginDelivery();
    for (let i = 0; i < 10; i++) await tx.write(Buffer.alloc(1000, 'x'));
    assert.equal(readdirSync(join(root, '.tmp')).length, 1, 'spilled to the temporary file');
    await tx.abort();
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
  });

  it('abort while a write is still creating the file leaves nothing behind', async () => {
    let opening!: () => void;
    const openStarted = new Promise<void>((r) => (opening = r));
    let letOpen!: () => void;
    const openMayGo = new Promise<void>((r) => (letOpen = r));
    const slow = maildirStore(root, {
      bufferBytes: 1024,
      faultHook: async (op) => {
        if (op === 'open') {
          opening();
          await openMayGo;
        }
      },
    });
    const tx = await slow.beginDelivery();
    const pending = tx.write(Buffer.alloc(5000, 'x'));
    await openStarted;
    const aborted = tx.abort();
    letOpen();
    await aborted;
    await pending.catch(() => undefined);
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    await slow.close();
  });

  it('a mailbox that cannot be created fails the commit for all', async () => {
    faults.arm('mkdir', 'ENOSPC', /carol/);
    await assert.rejects(deliverBuffer(store, ['alice@example.com', 'carol@example.com'], MSG), (e: unknown) => e instanceof StoreError && e.kind === 'full');
    assert.deepEqual(messagesOnDisk(), []);
    await deliverBuffer(store, ['carol@example.com'], MSG);
    assert.equal((await store.list('carol@example.com')).length, 1);
  });

  it('a failed deletion reports StoreError and still releases the lock', async () => {
    const [s] = await deliverBuffer(store, ['alice@example.com'], MSG);
    const md = await store.openMaildrop('alice@example.com');
    faults.arm('unlink', 'EIO');
    await assert.rejects(md.commitDeletions([s.uid]), (e: unknown) => e instanceof StoreError && e.kind === 'io');
    const again = await store.openMaildrop('alice@example.com');
    assert.equal(again.entries.length, 1);
    await again.commitDeletions([s.uid]);
    assert.deepEqual(await store.list('alice@example.com'), []);
  });

  it('a read error reaches the reader as StoreError', async () => {
    const [s] = await deliverBuffer(store, ['alice@example.com'], MSG);
    const md = await store.openMaildrop('alice@example.com');
    faults.arm('read', 'EIO');
    await assert.rejects(md.readBuffer(s.uid), (e: unknown) => e instanceof StoreError && e.kind === 'io');
    faults.arm('read', 'EIO');
    await assert.rejects(async () => {
      for await (const _ of md.read(s.uid)) void _;
    }, (e: unknown) => e instanceof StoreError && e.kind === 'io');
    assert.deepEqual(await md.readBuffer(s.uid), MSG);
    await md.release();
  });
});

describe('group commit of directory fsyncs', () => {
  function fakeFs() {
    const pending: { dir: string; done: () => void }[] = [];
    const fs = {
      fsyncDir: (dir: string) => new Promise<void>((resolve) => pending.push({ dir, done: resolve })),
    } as unknown as FsOps;
    return { fs, pending };
  }
  const tick = async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };

  it('shares one fsync among requests of the same tick, never resolving a later request early', async () => {
    const { fs, pending } = fakeFs();
    const syncer = new DirSyncer(fs);
    const resolved: string[] = [];
    void syncer.sync('/a').then(() => resolved.push('a1'));
    void syncer.sync('/a').then(() => resolved.push('a2'));
    void syncer.sync('/b').then(() => resolved.push('b1'));
    await tick();
    assert.deepEqual(pending.map((p) => p.dir), ['/a', '/b']);
    // A request made while /a's fsync runs must wait for a fsync that starts after it.
    void syncer.sync('/a').then(() => resolved.push('a3'));
    pending.shift()?.done();
    await tick();
    assert.deepEqual(resolved, ['a1', 'a2']);
    assert.deepEqual(pending.map((p) => p.dir), ['/b', '/a']);
    pending.shift()?.done();
    await tick();
    assert.deepEqual(resolved, ['a1', 'a2', 'b1']);
    pending.shift()?.done();
    await tick();
    assert.deepEqual(resolved, ['a1', 'a2', 'b1', 'a3']);
    assert.equal(syncer.fsyncs, 3);
  });

  it('with maxInFlight > 1, starts the next fsync without waiting for the running one', async () => {
    const { fs, pending } = fakeFs();
    const syncer = new DirSyncer(fs, 2);
    const resolved: string[] = [];
    void syncer.sync('/a').then(() => resolved.push('a1'));
    await tick();
    void syncer.sync('/a').then(() => resolved.push('a2'));
    await tick();
    void syncer.sync('/a').then(() => resolved.push('a3'));
    await tick();
    assert.equal(pending.length, 2, 'two fsyncs run, the third request waits');
    pending[1].done(); // the second finishes first: only a2 is covered
    await tick();
    assert.deepEqual(resolved, ['a2']);
    assert.equal(pending.length, 3, 'a3 got its own fsync as soon as a slot was free');
    pending[0].done();
    pending[2].done();
    await tick();
    assert.deepEqual(resolved.sort(), ['a1', 'a2', 'a3']);
  });

  it('passes an fsync failure to every request of that batch', async () => {
    const fs = { fsyncDir: async () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) } as unknown as FsOps;
    const syncer = new DirSyncer(fs);
    const results = await Promise.allSettled([syncer.sync('/a'), syncer.sync('/a')]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });

  it('uses fewer directory fsyncs than commits under concurrency', async () => {
    const { root, remove } = tempRoot();
    const store = maildirStore(root);
    try {
      await Promise.all(Array.from({ length: 50 }, () => deliverBuffer(store, ['alice@example.com'], MSG)));
      assert.equal((await store.list('alice@example.com')).length, 50);
      assert.ok(store.dirSync.fsyncs < 50, `fsyncs: ${store.dirSync.fsyncs}`);
    } finally {
      await store.close();
      remove();
    }
  });
});
