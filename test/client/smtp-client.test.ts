import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpConnection } from '../../src/client/smtp/connection.js';
import { SmtpTransactionError } from '../../src/client/smtp/transaction.js';
import { SmtpAuthError } from '../../src/client/smtp/auth.js';
import { SmtpConnectionError } from '../../src/client/smtp/channel.js';
import { EnvelopeError } from '../../src/client/smtp/envelope.js';
import { SmtpError } from '../../src/protocol/smtp/error.js';
import { certificate, ordinaryScript, startScriptedServer, startSmtpServer } from './support.js';

const MESSAGE = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nHello\r\n.leading dot\r\n';

test('sends over plain SMTP with PIPELINING and reports each recipient (one refused)', async () => {
  const server = await startSmtpServer({ refuse: (a) => (a.startsWith('nobody@') ? 'No such user' : null) });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', name: 'client.test' });
  assert.ok(conn.extensions.has('PIPELINING'));
  const result = await conn.send({ from: 'a@example.com', to: ['b@example.com', 'nobody@example.com', 'c@example.com'] }, MESSAGE);
  await conn.quit();
  assert.deepEqual(result.accepted, ['b@example.com', 'c@example.com']);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0].address, 'nobody@example.com');
  assert.equal(result.rejected[0].code, 550);
  assert.match(result.rejected[0].message, /No such user/);
  assert.equal(result.reply.code, 250);
  assert.equal(server.received.length, 1);
  assert.equal(server.received[0].raw.toString(), MESSAGE);
  assert.deepEqual(server.received[0].envelope.rcptTo.map((r) => r.address), ['b@example.com', 'c@example.com']);
  await server.close();
});

test('every recipient refused: SmtpTransactionError at RCPT with the replies, connection still usable', async () => {
  const server = await startSmtpServer({ refuse: () => 'Mailbox unavailable' });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  await assert.rejects(conn.send({ from: 'a@example.com', to: ['x@example.com', 'y@example.com'] }, MESSAGE), (error: unknown) => {
    assert.ok(error instanceof SmtpTransactionError);
    assert.equal(error.stage, 'RCPT');
    assert.equal(error.code, 550);
    assert.equal(error.recipients.length, 2);
    assert.ok(error.recipients.every((r) => !r.accepted));
    return true;
  });
  assert.equal(await conn.noop(), true);
  await conn.quit();
  await server.close();
});

test('sequential commands without PIPELINING', async () => {
  const server = await startSmtpServer({ hidePIPELINING: true, refuse: (a) => (a.startsWith('no@') ? 'nope' : null) });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  assert.ok(!conn.extensions.has('PIPELINING'));
  const r1 = await conn.send({ from: '', to: ['b@example.com', 'no@example.com'] }, MESSAGE);
  const r2 = await conn.send({ from: 'a@example.com', to: ['c@example.com'] }, Buffer.from(MESSAGE));
  await conn.quit();
  assert.deepEqual(r1.accepted, ['b@example.com']);
  assert.deepEqual(r2.accepted, ['c@example.com']);
  assert.equal(server.received.length, 2);
  assert.equal(server.received[0].envelope.mailFrom && server.received[0].envelope.mailFrom.address, '');
  await server.close();
});

for (const method of ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const) {
  test(`AUTH ${method} against smtp-server`, async () => {
    const server = await startSmtpServer({ authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5'], authOptional: false });
    const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', auth: { user: 'alice', pass: 'secret', method } });
    assert.equal(conn.authenticatedWith, method);
    await conn.send({ from: 'alice@example.com', to: ['b@example.com'] }, MESSAGE);
    await conn.quit();
    assert.equal(server.received[0].user, 'alice');
    await server.close();
  });
}

test('AUTH XOAUTH2 with a bearer token; a bad token fails naming the server reply', async () => {
  const server = await startSmtpServer({ authMethods: ['XOAUTH2'], authOptional: false });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', auth: { user: 'alice', accessToken: 'token-123' } });
  assert.equal(conn.authenticatedWith, 'XOAUTH2');
  await conn.quit();
  await assert.rejects(
    SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', auth: { user: 'alice', accessToken: 'wrong' } }),
    (error: unknown) => error instanceof SmtpAuthError && error.code === 535 && /AUTH XOAUTH2 failed: 535/.test(error.message),
  );
  await server.close();
});

test('without TLS picks the strongest offered mechanism (CRAM-MD5), and reports a wrong password with the reply', async () => {
  const server = await startSmtpServer({ authMethods: ['LOGIN', 'PLAIN', 'CRAM-MD5'], authOptional: false });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', auth: { user: 'alice', pass: 'secret' } });
  assert.equal(conn.authenticatedWith, 'CRAM-MD5');
  await conn.quit();
  await assert.rejects(
    SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', auth: { user: 'alice', pass: 'wrong', method: 'LOGIN' } }),
    (error: unknown) => error instanceof SmtpAuthError && error.code === 535 && /AUTH LOGIN failed: 535.*Invalid username or password/.test(error.message),
  );
  await server.close();
});

test('STARTTLS required: upgrades, verifies against the given CA, authenticates after TLS', async () => {
  const { key, cert } = await certificate();
  const server = await startSmtpServer({ key, cert, authMethods: ['PLAIN'], allowInsecureAuth: false, authOptional: false });
  const conn = await SmtpConnection.connect({ port: server.port, host: 'localhost', tls: 'starttls', ca: cert, auth: { user: 'alice', pass: 'secret' } });
  assert.equal(conn.secure, true);
  assert.equal(conn.authenticatedWith, 'PLAIN');
  await conn.send({ from: 'alice@example.com', to: ['b@example.com'] }, MESSAGE);
  await conn.quit();
  assert.equal(server.received.length, 1);
  // Without the CA the self-signed certificate is refused.
  await assert.rejects(SmtpConnection.connect({ port: server.port, host: 'localhost', tls: 'starttls' }), (error: unknown) => error instanceof SmtpConnectionError && error.reason === 'tls');
  await server.close();
});

test('STARTTLS required but not offered: refused; opportunistic: continues in plaintext', async () => {
  const server = await startSmtpServer({ disabledCommands: ['STARTTLS'] });
  await assert.rejects(SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'starttls' }), /does not offer STARTTLS/);
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'opportunistic' });
  assert.equal(conn.secure, false);
  await conn.quit();
  await server.close();
});

test('implicit TLS (smtps) with a trusted self-signed certificate', async () => {
  const { key, cert } = await certificate();
  const server = await startSmtpServer({ key, cert, secure: true });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'implicit', ca: cert });
  assert.equal(conn.secure, true);
  await conn.send({ from: 'a@example.com', to: ['b@example.com'] }, MESSAGE);
  await conn.quit();
  assert.equal(server.received.length, 1);
  await server.close();
});

test('no bare CR or LF reaches the wire: line endings normalized, dots stuffed, byte for byte', async () => {
  const server = await startScriptedServer({ onLine: ordinaryScript() });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  await conn.send({ from: 'a@example.com', to: ['b@example.com'] }, 'Subject: x\n\nbare\rCR\nbare LF\r\n.dot\r\rend\r\n.\r\n\r\n.\n.');
  await conn.send({ from: 'a@example.com', to: ['b@example.com'] }, 'no final newline');
  await conn.quit();
  const wire = Buffer.concat(server.wire[0]).toString('latin1');
  const first = wire.indexOf('DATA\r\n') + 6;
  const end = wire.indexOf('\r\n.\r\n', first) + 5;
  assert.equal(wire.slice(first, end), 'Subject: x\r\n\r\nbare\r\nCR\r\nbare LF\r\n..dot\r\n\r\nend\r\n..\r\n\r\n..\r\n..\r\n.\r\n');
  assert.match(wire, /DATA\r\nno final newline\r\n\.\r\n/);
  // Nowhere on the wire is there a CR not followed by LF, or an LF not preceded by CR.
  assert.equal(/\r(?!\n)|(?<!\r)\n/.test(wire), false);
  await server.close();
});

test('streamed message with CR/LF split across chunks is normalized the same way', async () => {
  const server = await startScriptedServer({ onLine: ordinaryScript() });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  async function* parts() {
    for (const p of ['Subject: s\r', '\n\r', '\n.a\r', 'b\n', '.', '\r', '\n', 'x']) yield Buffer.from(p);
  }
  await conn.send({ from: 'a@example.com', to: ['b@example.com'] }, parts());
  await conn.quit();
  const wire = Buffer.concat(server.wire[0]).toString('latin1');
  const first = wire.indexOf('DATA\r\n') + 6;
  assert.equal(wire.slice(first, wire.indexOf('\r\n.\r\n', first) + 5), 'Subject: s\r\n\r\n..a\r\nb\r\n..\r\nx\r\n.\r\n');
  await server.close();
});

test('CR, LF or NUL in an envelope value or the EHLO name is rejected before anything is sent', async () => {
  const server = await startScriptedServer({ onLine: ordinaryScript() });
  await assert.rejects(SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', name: 'host\r\nMAIL FROM:<x@y>' }), EnvelopeError);
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  for (const envelope of [
    { from: 'a@example.com\r\nRCPT TO:<evil@x>', to: ['b@example.com'] },
    { from: 'a@example.com', to: ['b@example.com\nDATA'] },
    { from: 'a@exa\0mple.com', to: ['b@example.com'] },
    { from: 'a@example.com', to: ['b@example.com>  NOTIFY=NEVER'] },
    { from: 'a@example.com', to: [] },
  ]) {
    await assert.rejects(conn.send(envelope, MESSAGE), EnvelopeError);
  }
  await conn.quit();
  const wire = server.wire.map((w) => Buffer.concat(w).toString('latin1')).join('');
  assert.doesNotMatch(wire, /MAIL FROM|evil|NOTIFY/);
  await server.close();
});

test('hostile replies: endless continuation lines and a huge line end with an error, quickly', async () => {
  const endless = await startScriptedServer({
    onLine: (line) => (line.startsWith('EHLO') ? Buffer.from('250-x\r\n'.repeat(5000)) : null),
  });
  const started = Date.now();
  await assert.rejects(SmtpConnection.connect({ port: endless.port, host: '127.0.0.1', tls: 'off' }), /longer than 128 lines/);
  await endless.close();
  const huge = await startScriptedServer({ onLine: (line) => (line.startsWith('EHLO') ? Buffer.alloc(10 * 1024 * 1024, 0x61) : null) });
  await assert.rejects(SmtpConnection.connect({ port: huge.port, host: '127.0.0.1', tls: 'off' }), /longer than 4096 octets/);
  await huge.close();
  const garbage = await startScriptedServer({ greeting: 'hello there\r\n', onLine: () => null });
  await assert.rejects(SmtpConnection.connect({ port: garbage.port, host: '127.0.0.1', tls: 'off' }), /malformed server reply/);
  await garbage.close();
  assert.ok(Date.now() - started < 5000);
});

test('EHLO refused: falls back to HELO and sends without extensions', async () => {
  const script = ordinaryScript();
  const server = await startScriptedServer({ onLine: (line) => (line.startsWith('EHLO') ? '500 5.5.1 what?\r\n' : script(line)) });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', name: 'client.example' });
  assert.equal(conn.extensions.size, 0);
  await conn.send({ from: 'a@example.com', to: ['b@example.com'] }, MESSAGE);
  await conn.quit();
  assert.match(Buffer.concat(server.wire[0]).toString(), /^EHLO client\.example\r\nHELO client\.example\r\nMAIL FROM:<a@example\.com>\r\n/);
  await server.close();
});

test('SIZE is checked before MAIL; 8-bit data refused clearly without 8BITMIME; SMTPUTF8 needed for UTF-8 addresses', async () => {
  const server = await startScriptedServer({ onLine: ordinaryScript(['SIZE 100']) });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  await assert.rejects(conn.send({ from: 'a@example.com', to: ['b@example.com'] }, 'x'.repeat(200)), (e: unknown) => e instanceof SmtpTransactionError && e.stage === 'SIZE' && /exceeds the server's SIZE limit of 100/.test(e.message));
  await assert.rejects(conn.send({ from: 'a@example.com', to: ['b@example.com'] }, 'Subject: x\r\n\r\ncaf\u00e9\r\n'), /8-bit data.*8BITMIME/);
  await assert.rejects(conn.send({ from: 'a@example.com', to: ['j\u00f6rg@example.com'] }, 'x'), /SMTPUTF8/);
  const ok = await conn.send({ from: 'a@example.com', to: ['b@example.com'] }, 'small');
  await conn.quit();
  assert.equal(ok.accepted.length, 1);
  const wire = Buffer.concat(server.wire[0]).toString();
  assert.equal((wire.match(/MAIL FROM/g) ?? []).length, 1);
  assert.match(wire, /MAIL FROM:<a@example\.com> SIZE=7\r\n/);
  await server.close();
});

test('8BITMIME and SMTPUTF8 parameters are used when needed, DSN parameters passed through', async () => {
  const server = await startScriptedServer({ onLine: ordinaryScript(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'DSN']) });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  await conn.send(
    { from: 'a@example.com', to: [{ address: 'j\u00f6rg@example.com', notify: ['FAILURE', 'DELAY'], orcpt: 'rfc822;j\u00f6rg+x@example.com' }], dsnRet: 'HDRS', envid: 'id=1 2' },
    'Subject: caf\u00e9\r\n\r\nbody\r\n',
  );
  await conn.quit();
  const wire = Buffer.concat(server.wire[0]).toString();
  assert.match(wire, /MAIL FROM:<a@example\.com> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id\+3D1\+202\r\n/);
  assert.match(wire, /RCPT TO:<j\u00f6rg@example\.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;j\+C3\+B6rg\+2Bx@example\.com\r\n/);
  await server.close();
});

test('timeouts: a server that never greets fails within the greeting timeout', async () => {
  const server = await startScriptedServer({ greeting: Buffer.alloc(0), onLine: () => null });
  const started = Date.now();
  await assert.rejects(SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off', timeouts: { greeting: 200 } }), (e: unknown) => e instanceof SmtpConnectionError && e.reason === 'timeout' && /greeting/.test(e.message));
  assert.ok(Date.now() - started < 3000);
  await server.close();
});

test('STARTTLS injection: bytes after the 220 reply drop the connection', async () => {
  const script = ordinaryScript(['STARTTLS']);
  const server = await startScriptedServer({ onLine: (line) => (line === 'STARTTLS' ? '220 go ahead\r\n250 injected\r\n' : script(line)) });
  await assert.rejects(SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'starttls' }), /after its STARTTLS reply/);
  await server.close();
});

test('a 554 greeting and a DATA-time rejection are SmtpErrors with code and enhanced code', async () => {
  const refusing = await startScriptedServer({ greeting: '554 5.7.1 go away\r\n', onLine: () => null });
  await assert.rejects(SmtpConnection.connect({ port: refusing.port, host: '127.0.0.1', tls: 'off' }), (e: unknown) => e instanceof SmtpError && e.code === 554 && e.enhancedCode === '5.7.1');
  await refusing.close();
  const script = ordinaryScript();
  const server = await startScriptedServer({ onLine: (line) => (line === '.' ? '552 5.3.4 too big\r\n' : script(line)) });
  const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
  await assert.rejects(conn.send({ from: 'a@example.com', to: ['b@example.com'] }, MESSAGE), (e: unknown) => e instanceof SmtpTransactionError && e.stage === 'DATA' && e.code === 552 && e.enhancedCode === '5.3.4' && e.permanent);
  await conn.quit();
  await server.close();
});

test('pool: a connection that got an unsolicited 421 while idle is dropped, the next send opens a fresh one', async () => {
  const { SmtpPool } = await import('../../src/client/smtp/pool.js');
  const script = ordinaryScript();
  let connections = 0;
  const server = await startScriptedServer({
    onLine: (line) => {
      if (line.startsWith('EHLO')) connections++;
      if (line === '.' && connections === 1) return '250 queued\r\n421 4.4.2 idle timeout\r\n';
      return script(line);
    },
  });
  const pool = new SmtpPool({ host: '127.0.0.1', port: server.port, tls: 'off', maxConnections: 1 });
  await pool.send({ from: 'a@example.com', to: ['b@example.com'] }, MESSAGE);
  // The 421 came in the same segment as the 250, so it is already queued as an unsolicited reply.
  const second = await pool.send({ from: 'a@example.com', to: ['b@example.com'] }, MESSAGE);
  assert.equal(second.reply.code, 250);
  assert.equal(connections, 2);
  await pool.close();
  await server.close();
});

test('PIPELINING: MAIL, every RCPT and DATA leave in one write; without it, one command per round trip', async () => {
  for (const offered of [true, false]) {
    const server = await startScriptedServer({ onLine: ordinaryScript(offered ? ['PIPELINING'] : []) });
    const conn = await SmtpConnection.connect({ port: server.port, host: '127.0.0.1', tls: 'off' });
    await conn.send({ from: 'a@example.com', to: ['b@example.com', 'c@example.com'] }, MESSAGE);
    await conn.quit();
    const chunks = server.wire[0].map((c) => c.toString());
    const mail = chunks.find((c) => c.startsWith('MAIL FROM'))!;
    if (offered) assert.equal(mail, 'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n');
    else assert.equal(mail, 'MAIL FROM:<a@example.com>\r\n');
    await server.close();
  }
});

test('pool: sends beyond maxWaiting are refused at once; close() rejects those still waiting', async () => {
  const { SmtpPool, SmtpPoolError } = await import('../../src/client/smtp/pool.js');
  const server = await startScriptedServer({ onLine: ordinaryScript() });
  const pool = new SmtpPool({ host: '127.0.0.1', port: server.port, tls: 'off', maxConnections: 1, maxWaiting: 1 });
  const envelope = { from: 'a@example.com', to: ['b@example.com'] };
  const first = pool.send(envelope, MESSAGE);
  const second = pool.send(envelope, MESSAGE);
  await assert.rejects(pool.send(envelope, MESSAGE), (e: unknown) => e instanceof SmtpPoolError && /more than 1 sends waiting/.test(e.message));
  await first;
  await second;
  assert.equal(pool.size, 1);
  const busy = pool.send(envelope, MESSAGE);
  const waiting = pool.send(envelope, MESSAGE);
  const closed = pool.close();
  await assert.rejects(waiting, SmtpPoolError);
  await busy;
  await closed;
  await server.close();
});
