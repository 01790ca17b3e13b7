import { test, after } from 'node:test';
import type { ChildProcess } from 'node:child_process';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { CLI_MAIN } from '../support/cli.js';

/** Starts `posthorn serve` with every listener on port 0 and waits for the banner. */
function startServe(data: string, extra: string[] = []) {
  const listeners = ['--smtp', '127.0.0.1:0', '--submission', '127.0.0.1:0', '--smtps', '127.0.0.1:0', '--pop3', '127.0.0.1:0', '--pop3s', '127.0.0.1:0', '--http', '127.0.0.1:0'];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve', '--data', data, '--hostname', 'mail.test', ...listeners, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const banner = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Add a user:') && stdout.includes('--password-stdin')) resolve(stdout);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? `${signal}: ${stderr}`)));
  return { child, banner, exited, logs: () => stderr };
}

function portOf(banner: string, label: string): number {
  const line = banner.split('\n').find((l) => l.trimStart().startsWith(label));
  assert.ok(line, `banner has ${label}`);
  return Number(/:(\d+)$/.exec(line.trim())![1]);
}

test('serve: first start creates config and a self-signed certificate, prints listeners, stops on SIGTERM', async () => {
  const data = mkdtempSync(join(tmpdir(), 'posthorn-serve-'));
  const s = startServe(data);
  const banner = await s.banner;
  assert.match(banner, /^Posthorn \S+ serving .* as mail\.test$/m);
  for (const label of ['SMTP (MX)', 'Submission', 'SMTPS', 'POP3 (STLS)', 'POP3S', 'HTTP']) assert.ok(portOf(banner, label) > 0, label);
  assert.ok(existsSync(join(data, 'posthorn.toml')));
  const cert = new X509Certificate(readFileSync(join(data, 'tls', 'selfsigned.crt')));
  assert.ok(cert.checkHost('mail.test'));
  assert.match(s.logs(), /self_signed/);

  const res = await fetch(`http://127.0.0.1:${portOf(banner, 'HTTP')}/api/status`);
  const status = (await res.json()) as { hostname: string; domains: number };
  assert.equal(status.hostname, 'mail.test');
  assert.equal(status.domains, 0);

  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('serve: a listener given "off" is not started; a bad flag value stops the start with one line', async () => {
  const data = mkdtempSync(join(tmpdir(), 'posthorn-serve-'));
  const s = startServe(data, ['--pop3', 'off', '--pop3s', 'off']);
  const banner = await s.banner;
  assert.ok(!/POP3/.test(banner));
  s.child.kill('SIGINT');
  assert.equal(await s.exited, 0);

  const bad = startServe(data, ['--smtp', 'nowhere']);
  bad.banner.catch(() => {});
  assert.equal(await bad.exited, 1);
  assert.match(bad.logs(), /^posthorn: --smtp: key "listeners\.smtp" has value "nowhere": expected HOST:PORT/m);
});
