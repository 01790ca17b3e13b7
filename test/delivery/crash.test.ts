/**
 * A delivery process killed with SIGKILL while queueing and delivering; a new one on the same data directory delivers
 * every recipient of every acknowledged message (some possibly twice, none zero times).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { createDelivery } from '../../src/delivery/index.js';
import { tempDataDir } from './helpers.js';
import { Peer } from './peers.js';

it('SIGKILL mid-queue loses no recipient: the restarted queue delivers the rest', async () => {
  const { dir, cleanup } = await tempDataDir();
  const mx = await new Peer({ dataDelayMs: 20 }).start();
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/queue-child.ts'), dir, String(mx.port), '120'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acknowledged = new Set<number>();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const m = /^queued (\d+) /.exec(line);
        if (m) acknowledged.add(Number(m[1]));
        // Kill while messages are still being queued and some were delivered already.
        if (acknowledged.size >= 12 && mx.received.length >= 2) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
    await exited;
    assert.ok(acknowledged.size >= 12 && acknowledged.size < 120, `killed mid-queue (${acknowledged.size} acknowledged)`);
    const deliveredBefore = mx.received.length;

    // The killed process left its control socket behind; the new one must replace it.
    assert.ok(existsSync(join(dir, 'queue', 'control.sock')));
    const d = createDelivery({ dataDir: dir, hostname: 'mx.example.org', config: { routes: { '*': `127.0.0.1:${mx.port}` } } });
    await d.start();
    await d.idle();
    await d.stop();

    const got = new Map<string, number>();
    for (const r of mx.received) for (const to of r.to) got.set(to, (got.get(to) ?? 0) + 1);
    for (const n of acknowledged) {
      for (const k of [0, 1, 2]) assert.ok((got.get(`r${n}-${k}@remote.test`) ?? 0) >= 1, `r${n}-${k} delivered`);
    }
    assert.ok(mx.received.length > deliveredBefore, 'the restarted queue delivered the rest');
    // Nothing left behind: no state, no message, no temporary file.
    for (const sub of ['msg', 'state', 'tmp']) assert.deepEqual(await readdir(join(dir, 'queue', sub)), [], sub);
    assert.equal(existsSync(join(dir, 'queue', 'control.sock')), false, 'socket removed at stop');
  } finally {
    await mx.stop();
    await cleanup();
  }
});
