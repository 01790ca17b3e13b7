/**
 * The fetch lock (one `posthorn fetch` per account at a time) is a PID lock created atomically: another taker never
 * sees it empty, so it never mistakes a lock being written for a stale one and removes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockState } from '../../src/client/pop3/state.js';

function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posthorn-fetch-lock-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a lock file still being written by another taker (empty for now) is respected, not removed', async () => {
  const { dir, remove } = tempDir();
  try {
    const state = path.join(dir, 'state');
    // What a taker that creates the file first and writes its pid second leaves between its two steps.
    writeFileSync(`${state}.lock`, '');
    await assert.rejects(async () => {
      const release = await lockState(state);
      await release();
    }, /another fetch for this account is running/);
    assert.ok(existsSync(`${state}.lock`), 'the lock file is still there');
    assert.equal(readFileSync(`${state}.lock`, 'utf8'), '', 'and untouched');
  } finally {
    remove();
  }
});

test('the lock file appears whole: pid, host, process start and token in one line', async () => {
  const { dir, remove } = tempDir();
  try {
    const state = path.join(dir, 'state');
    const release = await lockState(state);
    assert.match(readFileSync(`${state}.lock`, 'utf8'), new RegExp(`^${process.pid} ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\S+ [0-9a-f]{16}\\n$`));
    await assert.rejects(async () => await lockState(state), /another fetch for this account is running/);
    await release();
    assert.ok(!existsSync(`${state}.lock`));
  } finally {
    remove();
  }
});

test('processes racing for the lock never hold it at the same time', async () => {
  const { dir, remove } = tempDir();
  try {
    const state = path.join(dir, 'state');
    const script = `
      import { lockState } from ${JSON.stringify(path.resolve('src/client/pop3/state.ts'))};
      import { openSync, closeSync, unlinkSync } from 'node:fs';
      let held = 0, overlaps = 0;
      for (let i = 0; i < 40; i++) {
        let release;
        try { release = await lockState(${JSON.stringify(state)}); } catch { continue; }
        held++;
        try { closeSync(openSync(${JSON.stringify(path.join(dir, 'holder'))}, 'wx')); } catch { overlaps++; }
        await new Promise((r) => setTimeout(r, 1));
        try { unlinkSync(${JSON.stringify(path.join(dir, 'holder'))}); } catch {}
        await release();
      }
      process.stdout.write(JSON.stringify({ held, overlaps }));`;
    const run = () =>
      new Promise<{ held: number; overlaps: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { held: number; overlaps: number }) : reject(new Error(`child exited ${code}`))));
      });
    const results = await Promise.all([run(), run(), run(), run()]);
    assert.equal(results.reduce((n, r) => n + r.overlaps, 0), 0, JSON.stringify(results));
    assert.ok(results.reduce((n, r) => n + r.held, 0) > 0);
  } finally {
    remove();
  }
});
