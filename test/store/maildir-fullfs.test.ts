/**
 * A real full disk: a 512 KiB tmpfs (only when this process may mount one, i.e. as root with CAP_SYS_ADMIN; skipped
 * otherwise). Deliveries fail with StoreError('full') and leave nothing partial; earlier messages stay intact, and
 * after POP3 deletions free space, deliveries work again.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../src/store/types.js';
import { deliverBuffer } from '../../src/store/deliver.js';
import type { MaildirStore } from '../../src/store/maildir/index.js';
import { maildirStore, tempRoot } from './helpers.js';

function tryMount(dir: string): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
}

const outer = tempRoot();
const mnt = join(outer.root, 'mnt');
mkdirSync(mnt);
const mounted = tryMount(mnt);
if (!mounted) outer.remove();

describe('full file system (tmpfs)', { skip: mounted ? false : 'cannot mount a tmpfs here (needs root)' }, () => {
  let store: MaildirStore;
  before(() => {
    store = maildirStore(join(mnt, 'store'));
  });
  after(async () => {
    await store?.close();
    const r = spawnSync('umount', [mnt], { stdio: 'ignore' });
    if (r.status !== 0) spawnSync('umount', ['-l', mnt], { stdio: 'ignore' });
    outer.remove();
  });

  it('fills up with whole messages, then refuses with StoreError("full"), then recovers after deletions', async () => {
    const message = (i: number) => Buffer.concat([Buffer.from(`Subject: ${i}\r\n\r\n`), Buffer.alloc(40_000, 0x61 + (i % 26)), Buffer.from('\r\n')]);
    const stored: { uid: string; i: number }[] = [];
    let failure: unknown = null;
    for (let i = 0; i < 100 && !failure; i++) {
      try {
        const [s] = await deliverBuffer(store, ['alice@example.com'], message(i));
        stored.push({ uid: s.uid, i });
      } catch (err) {
        failure = err;
      }
    }
    assert.ok(failure instanceof StoreError, `expected a StoreError, got ${String(failure)}`);
    assert.equal(failure.kind, 'full');
    assert.ok(stored.length > 3, `some fitted (${stored.length})`);
    // A multi-mailbox commit on the full disk fails as a whole too.
    await assert.rejects(deliverBuffer(store, ['bob@example.com', 'carol@example.com'], message(999)), (e: unknown) => e instanceof StoreError && e.kind === 'full');
    assert.deepEqual(readdirSync(join(mnt, 'store', '.tmp')), [], 'nothing left in .tmp');
    const md = await store.openMaildrop('alice@example.com');
    assert.deepEqual(md.entries.map((e) => e.uid), stored.map((s) => s.uid), 'exactly the committed ones are visible');
    for (const s of stored) assert.ok((await md.readBuffer(s.uid)).equals(message(s.i)), 'each is whole');
    await md.commitDeletions(stored.slice(0, 3).map((s) => s.uid));
    const [again] = await deliverBuffer(store, ['alice@example.com'], message(1000));
    assert.equal(again.size, message(1000).length);
  });
});
