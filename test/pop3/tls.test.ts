/** STLS (RFC 2595), pop3s, insecure-auth refusal and CAPA (RFC 2449) contents. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pop3Transcript } from '../support/pop3-transcript.js';
import { ALICE, ALICE_PASSWORD, BOB, BOB_SECRET, startPop3, testCertificate } from '../support/pop3-fixture.js';
import { isLoopbackHost } from '../../src/server/pop3/index.js';
import { createHash } from 'node:crypto';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

test('CAPA lists every capability, in AUTHORIZATION and TRANSACTION', async () => {
  const fx = await startPop3({ tls: await testCertificate() });
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    assert.deepEqual(await client.multi('CAPA', '+OK capability list follows'), [
      'TOP',
      'UIDL',
      'RESP-CODES',
      'AUTH-RESP-CODE',
      'PIPELINING',
      'EXPIRE NEVER',
      'LOGIN-DELAY 0',
      'USER',
      'SASL PLAIN LOGIN CRAM-MD5',
      'STLS',
      'UTF8 USER',
      'IMPLEMENTATION Posthorn',
    ]);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
    const inTransaction = await client.multi('CAPA');
    assert.ok(inTransaction.includes('PIPELINING') && inTransaction.includes('TOP') && !inTransaction.includes('STLS'));
    client.close();
  } finally {
    await fx.close();
  }
});

test('CAPA: EXPIRE is configurable; no STLS without a certificate, and STLS then says -ERR', async () => {
  const fx = await startPop3({ config: { expire: 30 } });
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    const caps = await client.multi('CAPA');
    assert.ok(caps.includes('EXPIRE 30'));
    assert.ok(!caps.includes('STLS'));
    await client.command('STLS', /^-ERR TLS not available/);
    await client.command('NOOP', /^-ERR/);
    client.close();
  } finally {
    await fx.close();
  }
});

test('STLS: handshake, then USER/PASS; a second STLS is refused', async () => {
  const fx = await startPop3({ tls: await testCertificate(), config: { allow_insecure_auth: false } });
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command('STLS', '+OK begin TLS negotiation');
    await client.startTls();
    const caps = await client.multi('CAPA');
    assert.ok(!caps.includes('STLS') && caps.includes('USER') && caps.includes('SASL PLAIN LOGIN CRAM-MD5'));
    await client.command('STLS', /^-ERR TLS already active/);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK maildrop/);
    await client.command('STLS', /^-ERR STLS not valid in this state/);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});

test('STLS injection: commands pipelined after STLS are discarded, and a USER given before it is forgotten', async () => {
  const fx = await startPop3({ tls: await testCertificate() });
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    client.sendRaw(`STLS\r\nPASS ${ALICE_PASSWORD}\r\nSTAT\r\n`);
    await client.expect('+OK begin TLS negotiation');
    await client.startTls();
    await client.command('NOOP', /^-ERR NOOP not valid/);
    await client.command(`PASS ${ALICE_PASSWORD}`, '-ERR USER first');
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK maildrop/);
    client.close();
  } finally {
    await fx.close();
  }
});

test('insecure auth refused before TLS when not allowed: USER, PASS, AUTH PLAIN/LOGIN; APOP and CRAM-MD5 still work', async () => {
  const fx = await startPop3({ tls: await testCertificate(), config: { allow_insecure_auth: false } });
  try {
    const { client, greeting } = await Pop3Transcript.open(fx.port);
    const caps = await client.multi('CAPA');
    assert.ok(!caps.includes('USER'));
    assert.ok(caps.includes('SASL CRAM-MD5'));
    assert.ok(caps.includes('STLS'));
    await client.command(`USER ${ALICE}`, /^-ERR \[AUTH\] plaintext authentication disallowed/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^-ERR \[AUTH\] plaintext/);
    await client.command(`AUTH PLAIN ${b64(`\0${ALICE}\0${ALICE_PASSWORD}`)}`, /^-ERR \[AUTH\] plaintext/);
    await client.command('AUTH LOGIN', /^-ERR \[AUTH\] plaintext/);
    assert.deepEqual(await client.multi('AUTH'), ['CRAM-MD5']);
    const timestamp = /(<[^>]+>)$/.exec(greeting)?.[1];
    await client.command(`APOP ${BOB} ${createHash('md5').update(timestamp + BOB_SECRET).digest('hex')}`, /^\+OK maildrop/);
    client.close();
  } finally {
    await fx.close();
  }
});

test('insecure auth defaults: allowed on loopback listeners only', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '192.0.2.1', 'mail.example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(host), host);
});

test('pop3s: implicit TLS, no STLS offered, USER/PASS allowed even when insecure auth is off', async () => {
  const fx = await startPop3({ tls: await testCertificate(), config: { allow_insecure_auth: false } });
  try {
    const { client, greeting } = await Pop3Transcript.open(fx.tlsPort, { tls: true });
    assert.match(greeting, /^\+OK pop\.example\.com POP3 server ready <.+>$/);
    const caps = await client.multi('CAPA');
    assert.ok(!caps.includes('STLS') && caps.includes('USER'));
    await client.command('STLS', /^-ERR TLS already active/);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK maildrop/);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});

test('pop3s needs a certificate', async () => {
  const fx = await startPop3();
  try {
    await assert.rejects(fx.server.listen('pop3s', { host: '127.0.0.1', port: 0 }), /TLS key and certificate/);
  } finally {
    await fx.close();
  }
});
