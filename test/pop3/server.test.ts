/** Server lifecycle: graceful shutdown never enters UPDATE; connection limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pop3Transcript } from '../support/pop3-transcript.js';
import { ALICE, ALICE_PASSWORD, deliver, message, startPop3 } from '../support/pop3-fixture.js';

test('close(grace): idle sessions get -ERR [SYS/TEMP] after the grace period and nothing marked is deleted', async () => {
  const fx = await startPop3();
  await deliver(fx.store, ALICE, message('a', 'b'));
  const { client } = await Pop3Transcript.open(fx.port);
  await client.command(`USER ${ALICE}`, /^\+OK/);
  await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
  await client.command('DELE 1', /^\+OK/);
  const waiting = await Pop3Transcript.open(fx.port);
  const started = Date.now();
  await fx.server.close(200);
  assert.ok(Date.now() - started >= 150, 'sessions had their grace period');
  await client.expect('-ERR [SYS/TEMP] server shutting down');
  await client.closed();
  await waiting.client.expect('-ERR [SYS/TEMP] server shutting down');
  assert.equal((await fx.store.list(ALICE)).length, 1);
  assert.equal(fx.server.connections, 0);
  // The lock was released: the store can be opened again.
  const drop = await fx.store.openMaildrop(ALICE);
  await drop.release();
});

test('close(grace): a session that QUITs within the grace period completes its UPDATE', async () => {
  const fx = await startPop3();
  await deliver(fx.store, ALICE, message('a', 'b'));
  const { client } = await Pop3Transcript.open(fx.port);
  await client.command(`USER ${ALICE}`, /^\+OK/);
  await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
  await client.command('DELE 1', /^\+OK/);
  const closing = fx.server.close(5000);
  await client.command('QUIT', /^\+OK .*1 messages deleted/);
  await closing;
  assert.equal((await fx.store.list(ALICE)).length, 0);
});

test('max_connections_per_ip: the next connection gets -ERR [SYS/TEMP] and is closed', async () => {
  const fx = await startPop3({ config: { max_connections_per_ip: 2 } });
  try {
    const a = await Pop3Transcript.open(fx.port);
    const b = await Pop3Transcript.open(fx.port);
    const c = await Pop3Transcript.connect(fx.port);
    await c.expect(/^-ERR \[SYS\/TEMP\] too many connections/);
    await c.closed();
    a.client.close();
    await a.client.closed();
    // Once one closes, a new connection is accepted (the count drops when the server sees the close).
    for (let i = 0; i < 50; i++) {
      const d = await Pop3Transcript.connect(fx.port);
      const line = await d.line();
      d.close();
      if (line.startsWith('+OK')) break;
      assert.ok(i < 49, 'slot never freed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    b.client.close();
  } finally {
    await fx.close();
  }
});

test('max_connections: past the total limit a connection gets -ERR [SYS/TEMP] and is closed', async () => {
  const fx = await startPop3({ config: { max_connections: 1 } });
  try {
    const a = await Pop3Transcript.open(fx.port);
    const b = await Pop3Transcript.connect(fx.port);
    await b.expect(/^-ERR \[SYS\/TEMP\] too many connections/);
    await b.closed();
    await a.client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});
