import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerParseCommand } from '../../src/cli/commands/parse.js';
import { createHash } from 'node:crypto';
import { composeMail } from '../../src/mime/index.js';

const harness = fileURLToPath(new URL('./support/parse-cli.ts', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/torture.eml', import.meta.url));

function run(args: string[], stdin?: Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', harness, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

test('posthorn parse FILE --json prints the documented object', async () => {
  const r = await run(['parse', fixture, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['headers', 'subject', 'from', 'to', 'cc', 'replyTo', 'date', 'messageId', 'text', 'html', 'attachments', 'warnings', 'truncated']);
  assert.equal(j.subject, 'Multi-media mail demonstration (torture test shape)');
  assert.deepEqual(j.from, [{ name: 'Mark Crispin', address: 'mrc@example.edu' }]);
  assert.equal(j.date, '1992-04-06T17:22:54.000Z');
  const gif = (j.attachments as Array<Record<string, unknown>>).find((a) => a.filename === 'smile.gif');
  const gifBytes = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
  assert.deepEqual(gif, { filename: 'smile.gif', contentType: 'image/gif', disposition: null, contentId: null, size: 43, sha256: createHash('sha256').update(gifBytes).digest('hex') });
  assert.equal((j.headers as Array<{ name: string }>)[0].name, 'Return-Path');
});

test('posthorn parse reads standard input when no file is given', async () => {
  const msg = await composeMail({ from: 'a@b.c', to: 'd@e.f', subject: '中文主题', text: 'body', charset: 'gb2312', seed: 's', date: new Date(0) });
  const r = await run(['parse', '--json'], msg);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { subject: string; text: string };
  assert.equal(j.subject, '中文主题');
  assert.equal(j.text, 'body\n');
});

/** Runs the command in this process with its output captured (no child process: quicker). */
async function runHere(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  const r = { stdout: '', stderr: '', exitCode: undefined as number | undefined };
  const program = new Command().name('posthorn').exitOverride();
  registerParseCommand(program, { out: (t) => (r.stdout += t), err: (t) => (r.stderr += t), fail: (c) => (r.exitCode = c) });
  await program.parseAsync(['node', 'posthorn', ...args]);
  return r;
}

test('posthorn parse FILE without --json prints a summary', async () => {
  const r = await runHere(['parse', fixture]);
  assert.match(r.stdout, /^Subject: Multi-media mail demonstration/);
  assert.match(r.stdout, /smile\.gif {2}image\/gif {2}43 bytes {2}sha256:/);
  assert.equal(r.exitCode, undefined);
});

test('posthorn parse: a missing file is a clear error with exit code 1', async () => {
  const r = await runHere(['parse', '/nonexistent/file.eml', '--json']);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /^posthorn: cannot read \/nonexistent\/file.eml/);
  assert.equal(r.stdout, '');
});
