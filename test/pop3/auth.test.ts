/** Authentication: APOP (RFC 1939 section 7), AUTH (RFC 5034), throttling, LOGIN-DELAY, no user enumeration. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Pop3Transcript } from '../support/pop3-transcript.js';
import { ALICE, ALICE_PASSWORD, BOB, BOB_SECRET, deliver, message, startPop3 } from '../support/pop3-fixture.js';
import { MemoryDirectory } from '../../src/directory/memory.js';
import { verifyApop } from '../../src/protocol/sasl/verify.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

test('verifyApop: the RFC 1939 example', async () => {
  const directory = new MemoryDirectory().addDomain('dbc.mtview.ca.us').addUser('mrose', 'tanstaaf', true);
  const timestamp = '<1896.697170952@dbc.mtview.ca.us>';
  assert.equal(createHash('md5').update(timestamp + 'tanstaaf').digest('hex'), 'c4c9334bac560ecc979e58001b3e22fb');
  assert.equal(await verifyApop(directory, 'mrose', timestamp, 'c4c9334bac560ecc979e58001b3e22fb'), 'mrose');
  assert.equal(await verifyApop(directory, 'mrose', timestamp, 'C4C9334BAC560ECC979E58001B3E22FB'), 'mrose');
  assert.equal(await verifyApop(directory, 'mrose', timestamp, 'c4c9334bac560ecc979e58001b3e22fc'), null);
  assert.equal(await verifyApop(directory, 'mrose', '<1896.697170953@dbc.mtview.ca.us>', 'c4c9334bac560ecc979e58001b3e22fb'), null);
  const noLegacy = new MemoryDirectory().addUser('mrose', 'tanstaaf', false);
  assert.equal(await verifyApop(noLegacy, 'mrose', timestamp, 'c4c9334bac560ecc979e58001b3e22fb'), null, 'legacy opt-in required');
});

test('APOP over the wire with the greeting timestamp; only for legacy users; wrong digest -ERR [AUTH]', async () => {
  const fx = await startPop3();
  try {
    await deliver(fx.store, BOB, message('hi', 'x'));
    const { client, greeting } = await Pop3Transcript.open(fx.port);
    const timestamp = /(<[^>]+>)$/.exec(greeting)?.[1];
    assert.ok(timestamp);
    await client.command(`APOP ${BOB} ${'0'.repeat(32)}`, /^-ERR \[AUTH\] /);
    await client.command(`APOP ${BOB} nothex`, /^-ERR/);
    const aliceDigest = createHash('md5').update(timestamp + ALICE_PASSWORD).digest('hex');
    await client.command(`APOP ${ALICE} ${aliceDigest}`, /^-ERR \[AUTH\] /);
    const digest = createHash('md5').update(timestamp + BOB_SECRET).digest('hex');
    await client.command(`APOP ${BOB} ${digest}`, /^\+OK maildrop has 1 messages/);
    await client.command('QUIT', /^\+OK/);
    // The digest is bound to that connection's timestamp: replaying it on another connection fails.
    const other = await Pop3Transcript.open(fx.port);
    await other.client.command(`APOP ${BOB} ${digest}`, /^-ERR \[AUTH\] /);
    other.client.close();
  } finally {
    await fx.close();
  }
});

test('USER answers the same for existing and unknown users; failures look the same too', async () => {
  const fx = await startPop3();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    const known = await client.command(`USER ${ALICE}`, /^\+OK/);
    const knownFail = await client.command('PASS wrong', /^-ERR \[AUTH\]/);
    const unknown = await client.command('USER nobody@example.com', /^\+OK/);
    const unknownFail = await client.command('PASS wrong', /^-ERR \[AUTH\]/);
    assert.equal(known, unknown);
    assert.equal(knownFail, unknownFail);
    client.close();
  } finally {
    await fx.close();
  }
});

test('AUTH PLAIN with and without initial response, "=" empty response, bad base64', async () => {
  const fx = await startPop3();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`AUTH PLAIN ${b64(`\0${ALICE}\0wrong`)}`, /^-ERR \[AUTH\] /);
    await client.command('AUTH PLAIN =', /^-ERR invalid SASL response/);
    await client.command('AUTH PLAIN', '+ ');
    await client.command('not base64!', /^-ERR invalid SASL response/);
    await client.command('AUTH plain', '+ ');
    await client.command(b64(`\0${ALICE}\0${ALICE_PASSWORD}`), /^\+OK maildrop has 0 messages/);
    await client.command('STAT', '+OK 0 0');
    await client.command('AUTH PLAIN', /^-ERR AUTH not valid in this state/);
    // authzid equal to the user is accepted; the maildrop is still locked by the first session.
    const second = await Pop3Transcript.open(fx.port);
    await second.client.command(`AUTH PLAIN ${b64(`${ALICE}\0${ALICE}\0${ALICE_PASSWORD}`)}`, /^-ERR \[IN-USE\]/);
    await second.client.command(`AUTH PLAIN ${b64(`${BOB}\0${ALICE}\0${ALICE_PASSWORD}`)}`, /^-ERR \[AUTH\]/);
    second.client.close();
    client.close();
  } finally {
    await fx.close();
  }
});

test('AUTH LOGIN, "*" cancels, unknown mechanism, AUTH alone lists mechanisms', async () => {
  const fx = await startPop3();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    assert.deepEqual(await client.multi('AUTH'), ['PLAIN', 'LOGIN', 'CRAM-MD5']);
    await client.command('AUTH GSSAPI', /^-ERR unsupported authentication mechanism/);
    await client.command('AUTH LOGIN', `+ ${b64('Username:')}`);
    await client.command('*', '-ERR authentication cancelled');
    await client.command('AUTH LOGIN', `+ ${b64('Username:')}`);
    await client.command(b64(ALICE), `+ ${b64('Password:')}`);
    await client.command('*', '-ERR authentication cancelled');
    await client.command('STAT', /^-ERR/);
    await client.command(`AUTH LOGIN ${b64(ALICE)}`, `+ ${b64('Password:')}`);
    await client.command(b64(ALICE_PASSWORD), /^\+OK maildrop/);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});

test('AUTH CRAM-MD5 for a legacy user; not for a user without the opt-in; no initial response allowed', async () => {
  const fx = await startPop3();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`AUTH CRAM-MD5 ${b64('x')}`, /^-ERR invalid SASL response/);
    const challenge = Buffer.from((await client.command('AUTH CRAM-MD5', /^\+ /)).slice(2), 'base64').toString();
    assert.match(challenge, /^<\d+\.\d+\.[0-9a-f]+@pop\.example\.com>$/);
    const aliceDigest = createHmac('md5', ALICE_PASSWORD).update(challenge).digest('hex');
    await client.command(b64(`${ALICE} ${aliceDigest}`), /^-ERR \[AUTH\]/);
    const again = Buffer.from((await client.command('AUTH CRAM-MD5', /^\+ /)).slice(2), 'base64').toString();
    assert.notEqual(again, challenge);
    const digest = createHmac('md5', BOB_SECRET).update(again).digest('hex');
    await client.command(b64(`${BOB} ${digest}`), /^\+OK maildrop/);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});

test('throttling: delays, then -ERR [LOGIN-DELAY] lockout per account and per address, cleared by time', async () => {
  let now = 1_000_000;
  const fx = await startPop3({
    now: () => now,
    config: { auth_free_failures: 1, auth_delay_step: 0.15, auth_max_delay: 0.15, auth_lockout_after: 3, auth_lockout_time: 60 },
  });
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command('PASS bad1', /^-ERR \[AUTH\]/);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command('PASS bad2', /^-ERR \[AUTH\]/);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    const started = Date.now();
    await client.command('PASS bad3', /^-ERR \[AUTH\] authentication failed; too many failures, closing$/);
    assert.ok(Date.now() - started >= 140, 'past the free failures an attempt is delayed');
    await client.closed();
    assert.equal(client.unread.length, 0, 'one response per command');
    // Locked out now, even with the right password, from this address and for this account.
    const second = await Pop3Transcript.open(fx.port);
    await second.client.command(`USER ${ALICE}`, /^\+OK/);
    await second.client.command(`PASS ${ALICE_PASSWORD}`, /^-ERR \[LOGIN-DELAY\] /);
    await second.client.command(`AUTH PLAIN ${b64(`\0${BOB}\0${BOB_SECRET}`)}`, /^-ERR \[LOGIN-DELAY\] /, );
    now += 61_000;
    await second.client.command(`USER ${ALICE}`, /^\+OK/);
    await second.client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK maildrop/);
    second.client.close();
  } finally {
    await fx.close();
  }
});

test('LOGIN-DELAY: a second login within login_delay seconds is refused with [LOGIN-DELAY]', async () => {
  let now = 5_000_000;
  const fx = await startPop3({ now: () => now, config: { login_delay: 300 } });
  try {
    const first = await Pop3Transcript.open(fx.port);
    await first.client.command(`USER ${ALICE}`, /^\+OK/);
    await first.client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
    await first.client.command('QUIT', /^\+OK/);
    await first.client.closed();
    const second = await Pop3Transcript.open(fx.port);
    assert.ok((await second.client.multi('CAPA')).includes('LOGIN-DELAY 300'));
    await second.client.command(`USER ${ALICE}`, /^\+OK/);
    await second.client.command(`PASS ${ALICE_PASSWORD}`, /^-ERR \[LOGIN-DELAY\] /);
    now += 301_000;
    await second.client.command(`USER ${ALICE}`, /^\+OK/);
    await second.client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
    second.client.close();
  } finally {
    await fx.close();
  }
});

test('a password with spaces and UTF-8 user names work (RFC 6856 UTF8)', async () => {
  const fx = await startPop3();
  fx.directory.addUser('jörg@example.com', 'pass with spaces');
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command('UTF8', '+OK UTF8 enabled');
    client.sendRaw(Buffer.from('USER jörg@example.com\r\n', 'utf8'));
    await client.expect(/^\+OK/);
    await client.command('PASS pass with spaces', /^\+OK maildrop/);
    await client.command('UTF8', /^-ERR/);
    client.close();
  } finally {
    await fx.close();
  }
});
