/**
 * Crash simulation and cross-process locking: a child process is killed with SIGKILL at chosen points of a delivery,
 * then this process opens the store, runs recover(), and checks that no partial message is visible and no committed
 * one is lost.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from '../../src/store/types.js';
import type { MaildirStore } from '../../src/store/maildir/index.js';
import { crashMessage } from './crash-message.js';
import { maildirStore, tempRoot } from './helpers.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  /** The first line the child prints. */
  line: Promise<string>;
}

function startChild(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (l) => resolve(l));
    proc.once('exit', (code) => reject(new Error(`child exited (${code}) before printing: ${stderr}`)));
  });
  return { proc, line };
}

async function kill(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill('SIGKILL');
  await exited;
}

/** Run a test body with its own store directory, so the crash tests can run concurrently. */
async function withRoot(body: (root: string, open: () => MaildirStore) => Promise<void>): Promise<void> {
  const { root, remove } = tempRoot();
  const opened: MaildirStore[] = [];
  try {
    await body(root, () => {
      const s = maildirStore(root);
      opened.push(s);
      return s;
    });
  } finally {
    for (const s of opened) await s.close();
    remove();
  }
}

/** After recover(): every visible message is whole; the store's tmp is empty. Answers how many are visible. */
async function checkAfterRecovery(root: string, store: MaildirStore, mailboxes: string[]): Promise<number> {
  await store.recover();
  assert.deepEqual(readdirSync(join(root, '.tmp')), [], 'recover() removed the leftovers');
  const whole = crashMessage();
  let visible = 0;
  for (const mailbox of mailboxes) {
    const md = await store.openMaildrop(mailbox);
    for (const e of md.entries) {
      assert.equal(e.size, whole.length);
      assert.ok((await md.readBuffer(e.uid)).equals(whole), 'a visible message is whole');
      visible++;
    }
    await md.release();
  }
  return visible;
}

describe('crash simulation (SIGKILL)', { concurrency: true }, () => {
  const points: [string, string, (visible: number) => boolean][] = [
    ['write', 'in the middle of writing the body', (n) => n === 0],
    ['datasync', 'before the body is fsynced', (n) => n === 0],
    ['link', 'before the first mailbox link', (n) => n === 0],
    ['rename', 'after linking into the first mailboxes, before the last', (n) => n === 2],
    ['fsyncdir', 'after publishing, before the directory fsync', (n) => n === 3],
  ];
  for (const [op, when, expectVisible] of points) {
    it(`killed ${when}: whole message or nothing`, () =>
      withRoot(async (root, open) => {
        const mailboxes = ['a@example.com', 'b@example.com', 'c@example.com'];
        const child = startChild(['crash-at', op, root, ...mailboxes]);
        try {
          assert.equal(await child.line, `at ${op}`);
        } finally {
          await kill(child);
        }
        assert.equal(readdirSync(join(root, '.tmp')).length, op === 'fsyncdir' ? 0 : 1, 'the body was in the tmp directory');
        const visible = await checkAfterRecovery(root, open(), mailboxes);
        assert.ok(expectVisible(visible), `visible after ${op}: ${visible}`);
      }));
  }

  it('killed right after commit resolved: the message is there, intact', () =>
    withRoot(async (root, open) => {
      const child = startChild(['commit', root, 'a@example.com']);
      let line: string;
      try {
        line = await child.line;
      } finally {
        await kill(child);
      }
      const uid = /^committed (\S+)$/.exec(line)?.[1];
      assert.ok(uid, line);
      const store = open();
      assert.equal(await checkAfterRecovery(root, store, ['a@example.com']), 1);
      assert.deepEqual((await store.list('a@example.com')).map((e) => e.uid), [uid]);
    }));
});

describe('maildrop lock across processes', () => {
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

  const isLocked = (e: unknown) => e instanceof StoreError && e.kind === 'locked';

  it('a second process cannot take a held maildrop; a dead holder’s lock is taken over', async () => {
    const child = startChild(['hold-lock', root, 'alice@example.com']);
    try {
      assert.equal(await child.line, 'locked');
      await assert.rejects(store.openMaildrop('alice@example.com'), isLocked);
    } finally {
      await kill(child);
    }
    const md = await store.openMaildrop('alice@example.com');
    await md.release();
    assert.ok(!readdirSync(join(root, 'example.com', 'alice')).some((n) => n.startsWith('posthorn.lock')));
  });

  it('takes over a lock left by an earlier run with this same pid (containers reuse pids)', async () => {
    await store.ensureMailbox('alice@example.com');
    writeFileSync(join(root, 'example.com', 'alice', 'posthorn.lock'), `${process.pid} ${hostname()} - 0123456789abcdef\n`);
    const md = await store.openMaildrop('alice@example.com');
    await md.release();
  });

  it('respects a lock from another host or a live process, and an unreadable one', async () => {
    await store.ensureMailbox('alice@example.com');
    const lock = join(root, 'example.com', 'alice', 'posthorn.lock');
    writeFileSync(lock, `1 some-other-host - 0123456789abcdef\n`);
    await assert.rejects(store.openMaildrop('alice@example.com'), isLocked);
    writeFileSync(lock, `${process.ppid} ${hostname()} - 0123456789abcdef\n`);
    await assert.rejects(store.openMaildrop('alice@example.com'), isLocked);
    writeFileSync(lock, 'garbage');
    await assert.rejects(store.openMaildrop('alice@example.com'), isLocked);
  });

  it('takes over a lock from another host once it has not been refreshed for foreignLockSeconds', async () => {
    await store.ensureMailbox('alice@example.com');
    const lock = join(root, 'example.com', 'alice', 'posthorn.lock');
    writeFileSync(lock, `1 old-container-name - 0123456789abcdef\n`);
    await assert.rejects(store.openMaildrop('alice@example.com'), isLocked);
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    utimesSync(lock, old, old);
    const md = await store.openMaildrop('alice@example.com');
    await md.release();
  });

  it('takes over a lock whose pid now belongs to a process started at another time', async (t) => {
    await store.ensureMailbox('alice@example.com');
    const lock = join(root, 'example.com', 'alice', 'posthorn.lock');
    if (!existsSync('/proc/self/stat')) return t.skip('needs /proc');
    writeFileSync(lock, `${process.ppid} ${hostname()} 1 0123456789abcdef\n`);
    const md = await store.openMaildrop('alice@example.com');
    await md.release();
  });
});

describe('recover()', () => {
  it('removes leftovers of dead processes and old foreign tmp files, keeps the rest', async () => {
    const { root, remove } = tempRoot();
    const store = maildirStore(root);
    try {
      await store.ensureMailbox('alice@example.com');
      const tmp = join(root, '.tmp');
      const box = join(root, 'example.com', 'alice');
      const tx = await store.beginDelivery();
      await tx.write(Buffer.alloc(100_000, 'a')); // in flight in this process: kept
      writeFileSync(join(tmp, '999999999.deadbeef.1'), 'dead process');
      writeFileSync(join(tmp, `${process.ppid}.cafe.1`), 'live process, recent');
      writeFileSync(join(tmp, `${process.pid}.0000.1`), 'this pid, not an active delivery');
      writeFileSync(join(box, 'tmp', 'old-foreign'), 'x');
      writeFileSync(join(box, 'tmp', 'fresh-foreign'), 'x');
      writeFileSync(join(box, 'tmp', '1700000000.M000001P999999999Q1R00000000.test.example'), 'copy left by a dead process');
      const old = new Date(Date.now() - 40 * 3600 * 1000);
      utimesSync(join(box, 'tmp', 'old-foreign'), old, old);
      writeFileSync(join(box, 'posthorn.lock.abcd'), 'leftover');
      utimesSync(join(box, 'posthorn.lock.abcd'), old, old);
      await store.recover();
      assert.deepEqual(readdirSync(tmp).sort(), [`${process.ppid}.cafe.1`, readdirSync(tmp).find((n) => n.startsWith(`${process.pid}.`) && n !== `${process.pid}.0000.1`)].sort());
      assert.deepEqual(readdirSync(join(box, 'tmp')), ['fresh-foreign']);
      assert.ok(!readdirSync(box).includes('posthorn.lock.abcd'));
      const [s] = await tx.commit(['alice@example.com']);
      assert.equal((await store.list('alice@example.com'))[0].uid, s.uid);
    } finally {
      await store.close();
      remove();
    }
  });
});
