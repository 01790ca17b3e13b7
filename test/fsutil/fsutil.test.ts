/** fsutil: durable create/replace, directory fsync, PID locks. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirSyncer, fsyncDir, fsyncDirSync } from '../../src/fsutil/dir-sync.js';
import { afterShortWrite, replaceFileDurably, replaceFileDurablySync, writeNewFileSynced, writeNewFileSyncedSync } from '../../src/fsutil/durable-file.js';
import { LockHeldError, PidLock } from '../../src/fsutil/pid-lock.js';

function withDir(body: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posthorn-fsutil-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('durable files', () => {
  it('writeNewFileSynced writes every chunk, refuses an existing name and leaves it alone', withDir(async (dir) => {
    const chunks = Array.from({ length: 300 }, (_, i) => Buffer.from(`chunk ${i}\n`));
    await writeNewFileSynced(join(dir, 'a'), chunks);
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), chunks.join(''));
    await assert.rejects(writeNewFileSynced(join(dir, 'a'), 'other'), /EEXIST/);
    assert.throws(() => writeNewFileSyncedSync(join(dir, 'a'), 'other'), /EEXIST/);
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), chunks.join(''));
  }));

  it('replaceFileDurably creates and replaces atomically, leaving no temporary file', withDir(async (dir) => {
    const target = join(dir, 'state.json');
    await replaceFileDurably(target, '{"v":1}\n');
    await replaceFileDurably(target, Buffer.from('{"v":2}\n'), { dirSync: new DirSyncer() });
    replaceFileDurablySync(target, '{"v":3}\n');
    assert.equal(readFileSync(target, 'utf8'), '{"v":3}\n');
    assert.deepEqual(readdirSync(dir), ['state.json']);
  }));

  it('a failed rename removes the temporary file and keeps the old content', withDir(async (dir) => {
    const target = join(dir, 'sub');
    mkdirSync(join(target, 'not-empty'), { recursive: true });
    await assert.rejects(replaceFileDurably(target, 'x'), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.throws(() => replaceFileDurablySync(target, 'x'), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(readdirSync(dir), ['sub']);
  }));

  it('afterShortWrite keeps exactly the unwritten bytes', () => {
    const chunks = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
    assert.equal(Buffer.concat(afterShortWrite(chunks, 0)).toString(), 'abcdefgh');
    assert.equal(Buffer.concat(afterShortWrite(chunks, 5)).toString(), 'fgh');
    assert.equal(Buffer.concat(afterShortWrite(chunks, 7)).toString(), 'h');
    assert.deepEqual(afterShortWrite(chunks, 8), []);
  });

  it('fsyncDir works on a directory and reports a path that is not one', withDir(async (dir) => {
    await fsyncDir(dir);
    fsyncDirSync(dir);
    writeFileSync(join(dir, 'file'), 'x');
    await assert.rejects(fsyncDir(join(dir, 'file')), /ENOTDIR/);
    await assert.rejects(fsyncDir(join(dir, 'missing')), /ENOENT/);
  }));
});

describe('PID lock', () => {
  const isHeld = (e: unknown) => e instanceof LockHeldError;

  it('one holder at a time, in this process too; released, it can be taken again', withDir(async (dir) => {
    const path = join(dir, 'lock');
    const lock = await PidLock.acquire(path);
    await assert.rejects(PidLock.acquire(path), (e: unknown) => isHeld(e) && (e as LockHeldError).holder?.pid === process.pid);
    await lock.release();
    await lock.release();
    const again = await PidLock.acquire(path);
    await again.release();
    assert.deepEqual(readdirSync(dir), [], 'no private files left');
  }));

  it('takes over the lock of a dead process (both formats), respects a live one', withDir(async (dir) => {
    const path = join(dir, 'lock');
    writeFileSync(path, `999999999 ${hostname()} - 0123456789abcdef\n`);
    await (await PidLock.acquire(path)).release();
    writeFileSync(path, '999999999');
    await (await PidLock.acquire(path)).release();
    writeFileSync(path, String(process.ppid));
    await assert.rejects(PidLock.acquire(path), isHeld);
    writeFileSync(path, `${process.ppid} ${hostname()} - 0123456789abcdef\n`);
    await assert.rejects(PidLock.acquire(path), isHeld);
  }));

  it('an unreadable or foreign lock is respected until it has not changed for foreignStaleSeconds', withDir(async (dir) => {
    const path = join(dir, 'lock');
    const old = new Date(Date.now() - 120_000);
    for (const content of ['', 'garbage', `1 another-host - 0123456789abcdef\n`]) {
      writeFileSync(path, content);
      await assert.rejects(PidLock.acquire(path, { foreignStaleSeconds: 60 }), isHeld);
      assert.equal(readFileSync(path, 'utf8'), content);
      utimesSync(path, old, old);
      await (await PidLock.acquire(path, { foreignStaleSeconds: 60 })).release();
    }
  }));
});
