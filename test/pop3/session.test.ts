/** RFC 1939 transcripts over real sockets: states, every TRANSACTION command, UPDATE rules, locking, limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pop3Transcript } from '../support/pop3-transcript.js';
import { ALICE, ALICE_PASSWORD, BOB, deliver, message, startPop3 } from '../support/pop3-fixture.js';
import { MemoryStore } from '../../src/store/memory.js';
import { StoreError, type MailStore } from '../../src/store/types.js';

async function login(port: number, user = ALICE, password = ALICE_PASSWORD): Promise<Pop3Transcript> {
  const { client } = await Pop3Transcript.open(port);
  await client.command(`USER ${user}`, /^\+OK/);
  await client.command(`PASS ${password}`, /^\+OK /);
  return client;
}

const M1 = message('first', 'Hello Alice.\r\nSecond line.\r\n');
const M2 = message('dots', '.leading dot\r\n..two dots\r\n.\r\nend\r\n');
const M3 = message('third', 'line 1\r\nline 2\r\nline 3\r\n');

async function threeMessages() {
  const fx = await startPop3();
  const uids = [await deliver(fx.store, ALICE, M1), await deliver(fx.store, ALICE, M2), await deliver(fx.store, ALICE, M3)];
  return { fx, uids };
}

test('greeting carries a unique APOP timestamp that is a msg-id', async () => {
  const fx = await startPop3();
  try {
    const a = await Pop3Transcript.open(fx.port);
    const b = await Pop3Transcript.open(fx.port);
    const stamp = /<(\d+)\.(\d+)\.[^@>]+@pop\.example\.com>$/;
    assert.match(a.greeting, stamp);
    assert.match(b.greeting, stamp);
    assert.notEqual(a.greeting.match(stamp)?.[0], b.greeting.match(stamp)?.[0]);
    a.client.close();
    b.client.close();
  } finally {
    await fx.close();
  }
});

test('USER/PASS, STAT, LIST, UIDL, RETR, TOP, NOOP, QUIT', async () => {
  const { fx, uids } = await threeMessages();
  try {
    const total = M1.length + M2.length + M3.length;
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`USER ${ALICE}`, '+OK send PASS');
    await client.command(`PASS ${ALICE_PASSWORD}`, `+OK maildrop has 3 messages (${total} octets)`);
    await client.command('STAT', `+OK 3 ${total}`);
    assert.deepEqual(await client.multi('LIST', `+OK 3 messages (${total} octets)`), [`1 ${M1.length}`, `2 ${M2.length}`, `3 ${M3.length}`]);
    await client.command('LIST 2', `+OK 2 ${M2.length}`);
    await client.command('LIST 4', /^-ERR no such message/);
    assert.deepEqual(await client.multi('UIDL'), uids.map((u, i) => `${i + 1} ${u}`));
    await client.command('UIDL 3', `+OK 3 ${uids[2]}`);
    await client.command('RETR 1', `+OK ${M1.length} octets`);
    assert.equal((await client.bodyBytes()).content.toString(), M1);
    await client.command('TOP 3 0', '+OK top of message follows');
    assert.equal((await client.bodyBytes()).content.toString(), 'From: sender@example.net\r\nTo: alice@example.com\r\nSubject: third\r\n\r\n');
    await client.command('TOP 3 2', /^\+OK/);
    assert.match((await client.bodyBytes()).content.toString(), /\r\n\r\nline 1\r\nline 2\r\n$/);
    await client.command('TOP 3 1000', /^\+OK/);
    assert.equal((await client.bodyBytes()).content.toString(), M3, 'TOP past the end sends the whole message');
    await client.command('NOOP', '+OK');
    await client.command('QUIT', /^\+OK .*signing off/);
    await client.closed();
    assert.equal((await fx.store.list(ALICE)).length, 3, 'nothing marked, nothing deleted');
  } finally {
    await fx.close();
  }
});

test('exact sizes with byte-stuffed content: LIST counts octets before stuffing, the wire carries the dots doubled', async () => {
  const { fx } = await threeMessages();
  try {
    const client = await login(fx.port);
    await client.command('LIST 2', `+OK 2 ${M2.length}`);
    await client.command('RETR 2', `+OK ${M2.length} octets`);
    const { content, wire } = await client.bodyBytes();
    assert.equal(content.length, M2.length);
    assert.equal(content.toString(), M2);
    assert.match(wire.toString(), /\r\n\.\.leading dot\r\n\.\.\.two dots\r\n\.\.\r\nend\r\n$/);
    assert.equal(wire.length, M2.length + 3);
    client.close();
  } finally {
    await fx.close();
  }
});

test('a message without a final CRLF still ends with CRLF.CRLF', async () => {
  const fx = await startPop3();
  try {
    const raw = 'Subject: x\r\n\r\nno final newline';
    await deliver(fx.store, ALICE, raw);
    const client = await login(fx.port);
    await client.command('RETR 1', `+OK ${raw.length} octets`);
    assert.equal(await client.line(), 'Subject: x');
    assert.equal(await client.line(), '');
    assert.equal(await client.line(), 'no final newline');
    assert.equal(await client.line(), '.');
    await client.command('NOOP', '+OK');
    client.close();
  } finally {
    await fx.close();
  }
});

test('DELE hides a message from STAT, LIST and UIDL; RETR/TOP/DELE of it fail; RSET unmarks; QUIT deletes', async () => {
  const { fx, uids } = await threeMessages();
  try {
    const client = await login(fx.port);
    await client.command('DELE 2', '+OK message 2 deleted');
    await client.command('STAT', `+OK 2 ${M1.length + M3.length}`);
    assert.deepEqual(await client.multi('LIST'), [`1 ${M1.length}`, `3 ${M3.length}`]);
    assert.deepEqual(await client.multi('UIDL'), [`1 ${uids[0]}`, `3 ${uids[2]}`]);
    await client.command('LIST 2', /^-ERR message 2 already deleted/);
    await client.command('UIDL 2', /^-ERR/);
    await client.command('RETR 2', /^-ERR/);
    await client.command('TOP 2 0', /^-ERR/);
    await client.command('DELE 2', /^-ERR/);
    await client.command('RSET', `+OK maildrop has 3 messages (${M1.length + M2.length + M3.length} octets)`);
    await client.command('STAT', `+OK 3 ${M1.length + M2.length + M3.length}`);
    await client.command('DELE 1', /^\+OK/);
    await client.command('DELE 3', /^\+OK/);
    await client.command('QUIT', /^\+OK .*2 messages deleted/);
    await client.closed();
    assert.deepEqual((await fx.store.list(ALICE)).map((e) => e.uid), [uids[1]]);
    const again = await login(fx.port);
    assert.deepEqual(await again.multi('UIDL'), [`1 ${uids[1]}`], 'UIDL stable across sessions, numbering restarts');
    await again.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});

test('a connection dropped after DELE deletes nothing, and the lock is released', async () => {
  const { fx } = await threeMessages();
  try {
    const client = await login(fx.port);
    await client.command('DELE 1', /^\+OK/);
    await client.command('DELE 2', /^\+OK/);
    await client.drop();
    const next = await waitForLogin(fx.port);
    await next.command('STAT', /^\+OK 3 /);
    await next.command('QUIT', /^\+OK/);
    assert.equal((await fx.store.list(ALICE)).length, 3);
  } finally {
    await fx.close();
  }
});

/** Log in, retrying while the previous session's lock is being released (the close is asynchronous). */
async function waitForLogin(port: number): Promise<Pop3Transcript> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { client } = await Pop3Transcript.open(port);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    client.send(`PASS ${ALICE_PASSWORD}`);
    const reply = await client.line();
    if (reply.startsWith('+OK')) return client;
    assert.match(reply, /^-ERR \[IN-USE\]/);
    client.close();
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('maildrop never released');
}

test('QUIT from AUTHORIZATION deletes nothing and closes', async () => {
  const { fx } = await threeMessages();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command('QUIT', /^\+OK/);
    await client.closed();
    assert.equal((await fx.store.list(ALICE)).length, 3);
  } finally {
    await fx.close();
  }
});

test('autologout: a timed-out session never enters UPDATE', async () => {
  const fx = await startPop3({ config: { timeout: 0.3 } });
  try {
    await deliver(fx.store, ALICE, M1);
    const client = await login(fx.port);
    await client.command('DELE 1', /^\+OK/);
    await client.expect(/^-ERR autologout/);
    await client.closed();
    const next = await waitForLogin(fx.port);
    await next.command('STAT', `+OK 1 ${M1.length}`);
    next.close();
    assert.equal((await fx.store.list(ALICE)).length, 1);
  } finally {
    await fx.close();
  }
});

test('the maildrop is locked: a second login gets -ERR [IN-USE] until the first session ends', async () => {
  const { fx } = await threeMessages();
  try {
    const first = await login(fx.port);
    const { client: second } = await Pop3Transcript.open(fx.port);
    await second.command(`USER ${ALICE}`, /^\+OK/);
    await second.command(`PASS ${ALICE_PASSWORD}`, /^-ERR \[IN-USE\] /);
    await second.command('STAT', /^-ERR/, );
    await first.command('QUIT', /^\+OK/);
    await first.closed();
    await second.command(`USER ${ALICE}`, /^\+OK/);
    await second.command(`PASS ${ALICE_PASSWORD}`, /^\+OK maildrop has 3/);
    second.close();
  } finally {
    await fx.close();
  }
});

test('wrong state, unknown commands and bad arguments get -ERR and the session continues', async () => {
  const { fx } = await threeMessages();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command('STAT', /^-ERR STAT not valid in this state/);
    await client.command('RETR 1', /^-ERR/);
    await client.command('PASS x', /^-ERR USER first/);
    await client.command('FROB', /^-ERR unknown command/);
    await client.command('', /^-ERR/);
    await client.command('USER', /^-ERR wrong number of arguments/);
    await client.command('user ' + ALICE, /^\+OK/);
    await client.command('pAsS ' + ALICE_PASSWORD, /^\+OK/);
    await client.command('USER alice', /^-ERR USER not valid in this state/);
    await client.command('APOP a 0123456789abcdef0123456789abcdef', /^-ERR/);
    await client.command('STLS', /^-ERR/);
    for (const bad of ['RETR', 'RETR x', 'RETR 0', 'RETR -1', 'RETR 4', 'RETR 1 2', 'TOP 1', 'TOP 1 x', 'TOP 1 -1', 'LIST 1 2', 'DELE', 'STAT 1', 'NOOP x', 'QUIT now']) {
      await client.command(bad, /^-ERR/);
    }
    await client.command('stat', /^\+OK 3 /);
    await client.command('QUIT', /^\+OK/);
    assert.equal((await fx.store.list(ALICE)).length, 3);
  } finally {
    await fx.close();
  }
});

test('a 100 KB argument gets -ERR, not a hang, and the session carries on', async () => {
  const fx = await startPop3();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`USER ${'a'.repeat(100 * 1024)}`, /^-ERR line too long/);
    await client.command(`USER ${'a'.repeat(300)}`, /^-ERR line too long/);
    await client.command(`AUTH PLAIN ${'A'.repeat(100 * 1024)}`, /^-ERR line too long/);
    // Without a line end the answer comes anyway, and the rest of that line is dropped when it arrives.
    client.sendRaw(`PASS ${'b'.repeat(100 * 1024)}`);
    await client.expect(/^-ERR line too long/);
    client.sendRaw(`${'b'.repeat(1000)}\r\n`);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
    client.close();
  } finally {
    await fx.close();
  }
});

test('pipelining: many commands in one write are all answered, in order', async () => {
  const { fx } = await threeMessages();
  try {
    const { client } = await Pop3Transcript.open(fx.port);
    const commands = [`USER ${ALICE}`, `PASS ${ALICE_PASSWORD}`, 'STAT'];
    for (let i = 0; i < 200; i++) commands.push(`LIST ${(i % 3) + 1}`, `RETR ${(i % 3) + 1}`, 'NOOP');
    commands.push('DELE 1', 'STAT', 'QUIT');
    client.sendRaw(commands.join('\r\n') + '\r\n');
    await client.expect('+OK send PASS');
    await client.expect(/^\+OK maildrop has 3/);
    await client.expect(/^\+OK 3 /);
    const sizes = [M1.length, M2.length, M3.length];
    const bodies = [M1, M2, M3];
    for (let i = 0; i < 200; i++) {
      const n = (i % 3) + 1;
      await client.expect(`+OK ${n} ${sizes[n - 1]}`);
      await client.expect(`+OK ${sizes[n - 1]} octets`);
      assert.equal((await client.bodyBytes()).content.toString(), bodies[n - 1]);
      await client.expect('+OK');
    }
    await client.expect('+OK message 1 deleted');
    await client.expect(`+OK 2 ${M2.length + M3.length}`);
    await client.expect(/^\+OK .*1 messages deleted/);
    await client.closed();
    assert.equal((await fx.store.list(ALICE)).length, 2);
  } finally {
    await fx.close();
  }
});

test('UIDL: 1-70 printable characters, unique, never taken from content; LIST shows only numbers', async () => {
  const fx = await startPop3();
  try {
    await deliver(fx.store, ALICE, message('UIDL 1 evil\r\nX-UIDL: injected', 'body'));
    await deliver(fx.store, ALICE, message('second', 'body'));
    const client = await login(fx.port);
    const lines = await client.multi('UIDL');
    assert.equal(lines.length, 2);
    const ids = lines.map((l) => {
      const m = /^(\d+) ([\x21-\x7e]{1,70})$/.exec(l);
      assert.ok(m, l);
      return m[2];
    });
    assert.notEqual(ids[0], ids[1]);
    assert.ok(!ids.some((id) => id.includes('evil') || id.includes('injected')));
    for (const l of await client.multi('LIST')) assert.match(l, /^\d+ \d+$/);
    client.close();
  } finally {
    await fx.close();
  }
});

test('an empty maildrop: STAT 0 0, LIST and UIDL empty, RETR 1 -ERR', async () => {
  const fx = await startPop3();
  try {
    const client = await login(fx.port, BOB, 'tanstaaf');
    await client.command('STAT', '+OK 0 0');
    assert.deepEqual(await client.multi('LIST'), []);
    assert.deepEqual(await client.multi('UIDL'), []);
    await client.command('RETR 1', /^-ERR no such message/);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});

test('a message that vanished from the store gets -ERR on RETR and the session goes on', async () => {
  const inner = new MemoryStore();
  const gone = new Set<string>();
  const store: MailStore = {
    beginDelivery: () => inner.beginDelivery(),
    ensureMailbox: (m) => inner.ensureMailbox(m),
    list: (m) => inner.list(m),
    recover: () => inner.recover(),
    close: () => inner.close(),
    openMaildrop: async (m) => {
      const drop = await inner.openMaildrop(m);
      return {
        ...drop,
        entries: drop.entries,
        readBuffer: async (uid) => {
          if (gone.has(uid)) throw new StoreError('missing', `message ${uid} gone`);
          return drop.readBuffer(uid);
        },
      };
    },
  };
  const fx = await startPop3({ store });
  try {
    const uids = [await deliver(store, ALICE, M1), await deliver(store, ALICE, M2)];
    const client = await login(fx.port);
    gone.add(uids[1]);
    await client.command('RETR 2', /^-ERR message no longer available/);
    await client.command('RETR 1', `+OK ${M1.length} octets`);
    assert.equal((await client.bodyBytes()).content.toString(), M1);
    await client.command('RETR 2', /^-ERR message no longer available/, );
    await client.command('NOOP', '+OK');
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});
