import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';

const data = mkdtempSync(join(tmpdir(), 'posthorn-cli-'));

test('domain, user and alias commands manage the directory', async () => {
  let r = await runCli(['domain', 'add', 'bücher.example', '--data', data]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /domain bücher\.example added \(stored as xn--bcher-kva\.example\)/);
  r = await runCli(['domain', 'list', '--data', data]);
  assert.equal(r.stdout, 'bücher.example\n');

  r = await runCli(['user', 'add', 'anna@bücher.example', '--password-stdin', '--data', data], { input: 's3cret\n' });
  assert.equal(r.code, 0, r.stderr);
  r = await runCli(['user', 'add', 'max@elsewhere.example', '--password', 'x', '--data', data]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'posthorn: elsewhere.example is not a local domain; add it first with: posthorn domain add elsewhere.example\n');
  r = await runCli(['user', 'add', 'nopw@bücher.example', '--data', data]);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /a password is needed/);

  r = await runCli(['user', 'passwd', 'anna@bücher.example', '--password', 'n3w', '--legacy-auth', '--data', data]);
  assert.equal(r.code, 0, r.stderr);
  r = await runCli(['user', 'list', '--data', data]);
  assert.equal(r.stdout, 'anna@bücher.example  legacy-auth\n');

  r = await runCli(['alias', 'add', '@bücher.example', 'anna@bücher.example', '--data', data]);
  assert.equal(r.code, 0, r.stderr);
  r = await runCli(['alias', 'list', '--data', data]);
  assert.equal(r.stdout, '@bücher.example -> anna@bücher.example\n');
  r = await runCli(['alias', 'remove', '@bücher.example', '--data', data]);
  assert.equal(r.code, 0);
  r = await runCli(['user', 'remove', 'anna@bücher.example', '--data', data]);
  assert.equal(r.code, 0);
  r = await runCli(['domain', 'remove', 'bücher.example', '--data', data]);
  assert.equal(r.code, 0, r.stderr);

  const db = readFileSync(join(data, 'directory.db'));
  assert.ok(!db.includes('s3cret') && !db.includes('n3w'), 'no plain-text password in the database');
});

test('config check validates without starting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'posthorn-cli-cfg-'));
  let r = await runCli(['config', 'check', '--data', dir]);
  assert.equal(r.code, 0);
  writeFileSync(join(dir, 'posthorn.toml'), 'version = 1\n[smtp]\nmax_message_size = -1\n');
  r = await runCli(['config', 'check', '--data', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^posthorn: .*posthorn\.toml: key "smtp\.max_message_size" has value -1: expected a value >= 0\n$/);
});
