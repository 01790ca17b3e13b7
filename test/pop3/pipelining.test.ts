/** The whole session fed in every chunk size gives the same transcript; LIST, UIDL and STAT read no message body. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { MemoryStore } from '../../src/store/memory.js';
import type { MailStore } from '../../src/store/types.js';
import { Pop3Transcript } from '../support/pop3-transcript.js';
import { ALICE, ALICE_PASSWORD, deliver, message, startPop3 } from '../support/pop3-fixture.js';

/** Send `script` in pieces of `size` octets (each its own write, after the previous one is flushed); collect everything until close. */
async function run(port: number, script: Buffer, size: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (let i = 0; i < script.length; i += size) {
    await new Promise<void>((resolve) => socket.write(script.subarray(i, i + size), () => resolve()));
  }
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return Buffer.concat(chunks).toString('latin1').replace(/<[^>]+>/, '<timestamp>');
}

test('the same pipelined session split at every chunk size gets the same answers', async () => {
  const fx = await startPop3();
  try {
    await deliver(fx.store, ALICE, message('one', '.dot\r\nline\r\n'));
    await deliver(fx.store, ALICE, message('two', 'x\r\n'));
    const script = Buffer.from(`user ${ALICE}\r\nPASS ${ALICE_PASSWORD}\r\nSTAT\r\nLIST\r\nUIDL 2\r\nRETR 1\nTOP 2 0\r\nDELE 1\r\nBOGUS\r\nRSET\r\nQUIT\r\n`);
    const reference = await run(fx.port, script, script.length);
    assert.match(reference, /^\+OK .*\r\n\+OK send PASS\r\n\+OK maildrop has 2 messages/);
    assert.match(reference, /-ERR unknown command\r\n\+OK maildrop has 2 messages .*\r\n\+OK .*signing off \(0 messages deleted, 2 left\)\r\n$/);
    for (let size = 1; size < script.length; size++) assert.equal(await run(fx.port, script, size), reference, `chunk size ${size}`);
    assert.equal((await fx.store.list(ALICE)).length, 2);
  } finally {
    await fx.close();
  }
});

test('STAT, LIST and UIDL read no message body', async () => {
  const inner = new MemoryStore();
  let bodyReads = 0;
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
        read: (uid, options) => {
          bodyReads++;
          return drop.read(uid, options);
        },
        readBuffer: (uid) => {
          bodyReads++;
          return drop.readBuffer(uid);
        },
      };
    },
  };
  const fx = await startPop3({ store });
  try {
    for (let i = 0; i < 50; i++) await deliver(store, ALICE, message(`m${i}`, 'body\r\n'));
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK maildrop has 50 messages/);
    await client.command('STAT', /^\+OK 50 /);
    assert.equal((await client.multi('LIST')).length, 50);
    assert.equal((await client.multi('UIDL')).length, 50);
    await client.command('LIST 7', /^\+OK 7 /);
    await client.command('UIDL 7', /^\+OK 7 /);
    await client.command('DELE 3', /^\+OK/);
    await client.command('RSET', /^\+OK/);
    assert.equal(bodyReads, 0);
    await client.command('RETR 1', /^\+OK/);
    await client.body();
    assert.ok(bodyReads >= 1);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});

test('backpressure: a client that pipelines 600 RETRs of 100 KB and does not read makes the server stop reading messages', async () => {
  const inner = new MemoryStore();
  let bodyReads = 0;
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
        readBuffer: (uid) => {
          bodyReads++;
          return drop.readBuffer(uid);
        },
      };
    },
  };
  const fx = await startPop3({ store });
  try {
    const big = message('100 KB', ('z'.repeat(998) + '\r\n').repeat(100));
    await deliver(store, ALICE, big);
    await deliver(store, ALICE, big);
    const { client } = await Pop3Transcript.open(fx.port);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
    const socket = (client as unknown as { socket: import('node:net').Socket }).socket;
    socket.pause();
    client.sendRaw('RETR 1\r\nRETR 2\r\n'.repeat(300));
    // Wait until the server stops making progress (its output is blocked on the unread socket).
    let last = -1;
    let stable = 0;
    while (stable < 5) {
      await new Promise((resolve) => setTimeout(resolve, 40));
      stable = bodyReads === last ? stable + 1 : 0;
      last = bodyReads;
    }
    assert.ok(bodyReads < 300, `server read ${bodyReads} of 600 messages for a client that reads nothing`);
    socket.resume();
    // No line of the message starts with ".", so each answer is exactly status line, message, ".\r\n".
    const answer = Buffer.from(`+OK ${big.length} octets\r\n${big}.\r\n`);
    for (let i = 0; i < 600; i++) assert.ok((await client.readBytes(answer.length)).equals(answer), `answer ${i + 1}`);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await fx.close();
  }
});
