import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { overridesFromFlags } from '../../src/cli/commands/serve.js';

function dirWith(toml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'posthorn-config-'));
  if (toml !== undefined) writeFileSync(join(dir, 'posthorn.toml'), toml);
  return dir;
}

function errorOf(toml: string): string {
  try {
    loadConfig({ dataDir: dirWith(toml) });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

test('no file: every default, the unprivileged ports on 127.0.0.1', () => {
  const { config, file } = loadConfig({ dataDir: dirWith() });
  assert.equal(file, null);
  assert.equal(config.version, 1);
  assert.deepEqual(config.listeners, {
    smtp: '127.0.0.1:2525',
    submission: '127.0.0.1:2587',
    smtps: '127.0.0.1:2465',
    pop3: '127.0.0.1:2110',
    pop3s: '127.0.0.1:2995',
    http: '127.0.0.1:8025',
  });
  assert.equal(config.smtp.max_message_size, 50 * 1024 * 1024);
  assert.equal(config.pop3.timeout, 600);
});

test('file values are read and flags override them', () => {
  const dir = dirWith('version = 1\nhostname = "mx.example.com"\n[listeners]\nsmtp = "0.0.0.0:25"\npop3 = "off"\n[smtp]\nmax_recipients = 500\n');
  const { config } = loadConfig({ dataDir: dir, overrides: overridesFromFlags({ smtp: '[::1]:2526', hostname: 'other.example' }) });
  assert.equal(config.hostname, 'other.example');
  assert.equal(config.listeners.smtp, '[::1]:2526');
  assert.equal(config.listeners.pop3, 'off');
  assert.equal(config.smtp.max_recipients, 500);
});

test('--route flags become delivery routes, merged with the file', () => {
  const dir = dirWith('[delivery]\nroutes = { "a.example" = "127.0.0.1:1" }\n');
  const { config } = loadConfig({ dataDir: dir, overrides: overridesFromFlags({ route: ['B.example=127.0.0.1:2', '*=127.0.0.1:3'], smarthost: 'smtps://u:p@h:465' }) });
  assert.deepEqual(config.delivery.routes, { 'a.example': '127.0.0.1:1', 'b.example': '127.0.0.1:2', '*': '127.0.0.1:3' });
  assert.equal(config.delivery.smarthost, 'smtps://u:p@h:465');
});

test('an unknown key names the key', () => {
  assert.match(errorOf('version = 1\n[smtp]\nmax_recipents = 5\n'), /unknown key "smtp\.max_recipents"/);
  assert.match(errorOf('colour = "blue"\n'), /unknown key "colour"/);
});

test('a bad value names the key, the value and what was expected', () => {
  assert.match(errorOf('[smtp]\nmax_recipients = "many"\n'), /key "smtp\.max_recipients" has value "many": expected number/);
  assert.match(errorOf('[listeners]\nsmtp = "localhost"\n'), /key "listeners\.smtp" has value "localhost": expected HOST:PORT/);
  assert.match(errorOf('[listeners]\nsmtp = "127.0.0.1:70000"\n'), /listeners\.smtp/);
  assert.match(errorOf('log_level = "loud"\n'), /key "log_level" has value "loud": expected one of "debug"/);
  assert.match(errorOf('[pop3]\ntimeout = 30\n'), /key "pop3\.timeout" has value 30: expected a value >= 600/);
  assert.match(errorOf('version = 7\n'), /key "version" has value 7/);
});

test('a TOML syntax error gives the line', () => {
  assert.match(errorOf('hostname = "unterminated\n'), /posthorn\.toml:1:\d+: TOML syntax error/);
});

test('--config pointing at a missing file is an error', () => {
  assert.throws(() => loadConfig({ dataDir: dirWith(), configFile: '/nonexistent/posthorn.toml' }), /no such file/);
});
