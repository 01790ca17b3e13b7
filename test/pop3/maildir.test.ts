/** The POP3 server over the Maildir store: the key rules on real files, foreign LF files, and a large message streamed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pop3Transcript } from '../support/pop3-transcript.js';
import { ALICE, ALICE_PASSWORD, deliver, message, startPop3, type Pop3Fixture } from '../support/pop3-fixture.js';
import { MaildirStore } from '../../src/store/maildir/index.js';
import { deliverStream } from '../../src/store/deliver.js';
import { NameMaker } from '../../src/store/maildir/names.js';

async function withMaildir(fn: (fx: Pop3Fixture, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'posthorn-pop3-'));
  const store = new MaildirStore({ root, hostname: 'test.example' });
  const fx = await startPop3({ store });
  try {
    await fn(fx, root);
  } finally {
    await fx.close();
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function login(port: number): Promise<Pop3Transcript> {
  const { client } = await Pop3Transcript.open(port);
  await client.command(`USER ${ALICE}`, /^\+OK/);
  await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK/);
  return client;
}

const M1 = message('one', 'first\r\n');
const M2 = message('dots', '.a\r\n..b\r\n.\r\n');

test('maildir: sizes, byte-stuffing, UIDL stability, lock contention, drop-after-DELE, QUIT deletes files', async () => {
  await withMaildir(async (fx, root) => {
    const uids = [await deliver(fx.store, ALICE, M1), await deliver(fx.store, ALICE, M2)];
    const first = await login(fx.port);
    await first.command('STAT', `+OK 2 ${M1.length + M2.length}`);
    assert.deepEqual(await first.multi('UIDL'), [`1 ${uids[0]}`, `2 ${uids[1]}`]);
    await first.command('RETR 2', `+OK ${M2.length} octets`);
    const { content, wire } = await first.bodyBytes();
    assert.equal(content.toString(), M2);
    assert.equal(wire.length, M2.length + 3);
    await first.command('TOP 1 0', /^\+OK/);
    assert.equal((await first.bodyBytes()).content.toString(), M1.slice(0, M1.indexOf('\r\n\r\n') + 4));
    const { client: second } = await Pop3Transcript.open(fx.port);
    await second.command(`USER ${ALICE}`, /^\+OK/);
    await second.command(`PASS ${ALICE_PASSWORD}`, /^-ERR \[IN-USE\]/);
    await first.command('DELE 1', /^\+OK/);
    await first.drop();
    let again: Pop3Transcript | null = null;
    for (let i = 0; i < 100 && !again; i++) {
      await second.command(`USER ${ALICE}`, /^\+OK/);
      second.send(`PASS ${ALICE_PASSWORD}`);
      const reply = await second.line();
      if (reply.startsWith('+OK')) again = second;
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(again, 'lock released after the drop');
    await again.command('STAT', `+OK 2 ${M1.length + M2.length}`);
    assert.deepEqual(await again.multi('UIDL'), [`1 ${uids[0]}`, `2 ${uids[1]}`], 'UIDL stable across sessions');
    await again.command('DELE 1', /^\+OK/);
    await again.command('QUIT', /^\+OK .*1 messages deleted/);
    await again.closed();
    const files = await readdir(join(root, 'example.com', 'alice', 'new'));
    assert.equal(files.length, 1);
    assert.ok(files[0].startsWith(uids[1]));
  });
});

test('maildir: a foreign file with LF line ends is listed and sent with its CRLF size', async () => {
  await withMaildir(async (fx, root) => {
    await fx.store.ensureMailbox(ALICE);
    const lf = 'From: x@example.net\nSubject: lf\n\n.dot\nbody\n';
    await writeFile(join(root, 'example.com', 'alice', 'new', '1700000000.M1P1.other'), lf);
    const crlf = lf.replace(/\n/g, '\r\n');
    const client = await login(fx.port);
    await client.command('LIST 1', `+OK 1 ${crlf.length}`);
    await client.command('RETR 1', `+OK ${crlf.length} octets`);
    assert.equal((await client.bodyBytes()).content.toString(), crlf);
    await client.command('QUIT', /^\+OK/);
  });
});

/** A big message with many dot-lines, produced in chunks; returns the stuffed wire form's hash too. */
function bigMessage(lines: number): { chunks: () => AsyncGenerator<Buffer>; size: number; wireHash: string; dotLines: number } {
  const header = Buffer.from('Subject: big\r\n\r\n');
  const normal = Buffer.from('x'.repeat(1022) + '\r\n');
  const dotted = Buffer.from('.' + 'y'.repeat(1021) + '\r\n');
  const hash = createHash('sha256');
  hash.update(header);
  let dotLines = 0;
  const per = 64;
  const block: Buffer[] = [];
  for (let i = 0; i < per; i++) block.push(i % 8 === 0 ? dotted : normal);
  const blockBuf = Buffer.concat(block);
  const stuffedBlock = Buffer.concat(block.map((b) => (b[0] === 0x2e ? Buffer.concat([Buffer.from('.'), b]) : b)));
  for (let i = 0; i < lines / per; i++) {
    hash.update(stuffedBlock);
    dotLines += per / 8;
  }
  hash.update('.\r\n');
  return {
    size: header.length + (lines / per) * blockBuf.length,
    wireHash: hash.digest('hex'),
    dotLines,
    chunks: async function* () {
      yield header;
      for (let i = 0; i < lines / per; i++) yield blockBuf;
    },
  };
}

test('maildir: a 64 MB message streams with flat memory and arrives byte-exact', async () => {
  await withMaildir(async (fx) => {
    const big = bigMessage(64 * 1024); // 64 Ki lines of 1 KiB
    await deliverStream(fx.store, [ALICE], big.chunks());
    const socket = connect(fx.port, '127.0.0.1');
    const hash = createHash('sha256');
    let stage = 0;
    let pending = '';
    let bodyBytes = 0;
    let tail = Buffer.alloc(0);
    const baseline = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.arrayBuffers - baseline.arrayBuffers + (m.heapUsed - baseline.heapUsed));
    }, 5);
    const done = new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        if (stage < 4) {
          pending += chunk.toString('latin1');
          const lines = pending.split('\r\n');
          while (lines.length > 1 && stage < 4) {
            const line = lines.shift() as string;
            assert.match(line, /^\+OK/, `stage ${stage}`);
            stage++;
            if (stage === 1) socket.write(`USER ${ALICE}\r\n`);
            if (stage === 2) socket.write(`PASS ${ALICE_PASSWORD}\r\n`);
            if (stage === 3) socket.write('RETR 1\r\n');
            if (stage === 4) {
              assert.equal(line, `+OK ${big.size} octets`);
              chunk = Buffer.from(lines.join('\r\n'), 'latin1');
            }
          }
          pending = lines.join('\r\n');
          if (stage < 4) return;
        }
        hash.update(chunk);
        bodyBytes += chunk.length;
        tail = Buffer.concat([tail, chunk]).subarray(-5);
        if (bodyBytes >= big.size + big.dotLines + 3 && tail.toString() === '\r\n.\r\n') resolve();
      });
    });
    await done;
    clearInterval(sampler);
    socket.destroy();
    assert.equal(bodyBytes, big.size + big.dotLines + 3);
    assert.equal(hash.digest('hex'), big.wireHash);
    // Garbage not yet collected counts too, so the bound is loose; a server holding the message would need >= its size.
    assert.ok(peak < big.size * 0.75, `memory grew by ${(peak / 1048576).toFixed(1)} MB while streaming ${(big.size / 1048576).toFixed(0)} MB`);
  });
});

test('maildir: a message above the whole-read size goes through the stream path for RETR and TOP, byte-exact', async () => {
  await withMaildir(async (fx) => {
    const body = Array.from({ length: 4000 }, (_, i) => (i % 7 === 0 ? '.' : '') + `line ${i} `.padEnd(78, 'q')).join('\r\n') + '\r\n';
    const big = message('stream path', body);
    assert.ok(big.length > 256 * 1024);
    await deliver(fx.store, ALICE, big);
    const client = await login(fx.port);
    await client.command('RETR 1', `+OK ${big.length} octets`);
    const { content, wire } = await client.bodyBytes();
    assert.equal(content.toString(), big);
    assert.equal(wire.length, big.length + Math.ceil(4000 / 7));
    await client.command('TOP 1 3', /^\+OK/);
    const top = (await client.bodyBytes()).content.toString();
    assert.equal(top, big.slice(0, big.indexOf('\r\n\r\n') + 4) + body.split('\r\n').slice(0, 3).join('\r\n') + '\r\n');
    await client.command('TOP 1 0', /^\+OK/);
    assert.equal((await client.bodyBytes()).content.toString(), big.slice(0, big.indexOf('\r\n\r\n') + 4));
    await client.command('QUIT', /^\+OK/);
  });
});

test('maildir: 400 pipelined RETRs of distinct messages arrive byte for byte, also when the client stops reading for a while', async () => {
  // The server reuses read buffers once the socket no longer needs them; a client that stops reading makes writes
  // stay queued (12 MB is more than the kernel's socket buffers take), so a buffer given back too early would show
  // up here as another message's bytes.
  await withMaildir(async (fx, root) => {
    const bodies: string[] = [];
    await deliver(fx.store, ALICE, 'Subject: creates the mailbox\r\n\r\n');
    const names = new NameMaker('test.example');
    const newDir = join(root, 'example.com', 'alice', 'new');
    for (let i = 0; i < 400; i++) {
      const size = [3_000, 25_000, 31_000, 31_000, 40_000][i % 5];
      const line = (i % 7 === 0 ? '.' : '') + `message ${i} `.padEnd(70, String.fromCharCode(97 + (i % 26))) + '\r\n';
      bodies.push(message(`m${i}`, line.repeat(Math.ceil(size / line.length))));
      // Written in the store's own file format (delivering 400 messages with an fsync each would only slow the test).
      await writeFile(join(newDir, names.fileName(names.next(), bodies[i].length, bodies[i].length)), bodies[i]);
    }
    bodies.unshift('Subject: creates the mailbox\r\n\r\n');
    for (const stalled of [false, true]) {
      // Stalled round: another connection is open too, so the server reads ahead in batches.
      const other = stalled ? connect(fx.port, '127.0.0.1') : null;
      if (other) await new Promise((resolve) => other.once('data', resolve));
      const socket = connect(fx.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      const commands = [`USER ${ALICE}`, `PASS ${ALICE_PASSWORD}`, ...bodies.map((_, i) => `RETR ${i + 1}`), 'QUIT'];
      if (!stalled) socket.write(commands.map((c) => c + '\r\n').join(''));
      else {
        // Not reading while the commands arrive in small groups: the server's output backs up between groups, and
        // it reads ahead (into reusable buffers) every time it runs out of commands.
        socket.pause();
        for (let i = 0; i < commands.length; i += 5) {
          socket.write(commands.slice(i, i + 5).map((c) => c + '\r\n').join(''));
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        socket.resume();
      }
      await closed;
      other?.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const replies = text.split('\r\n.\r\n');
      assert.equal(replies.length, bodies.length + 1);
      for (let i = 0; i < bodies.length; i++) {
        const reply = replies[i];
        const start = reply.indexOf(`+OK ${bodies[i].length} octets\r\n`);
        assert.ok(start >= 0, `status of message ${i + 1}`);
        const content = reply.slice(start + `+OK ${bodies[i].length} octets\r\n`.length).replace(/\r\n\.\./g, '\r\n.');
        const unstuffed = content.startsWith('..') ? content.slice(1) : content;
        assert.equal(unstuffed + '\r\n', bodies[i], `content of message ${i + 1}`);
      }
    }
  });
});

test('maildir: a message moved to cur/ by another tool during the session is still sent; one deleted meanwhile gets -ERR', async () => {
  await withMaildir(async (fx, root) => {
    const bodies = [message('moved', 'x'.repeat(6000) + '\r\n'), message('gone', 'y'.repeat(6000) + '\r\n'), message('small', 'z\r\n')];
    for (const body of bodies) await deliver(fx.store, ALICE, body);
    const client = await login(fx.port);
    const mailbox = join(root, 'example.com', 'alice');
    const names = (await readdir(join(mailbox, 'new'))).sort();
    assert.equal(names.length, 3);
    // As a mail reader would: moved to cur/ with flags; the second deleted; the third also moved.
    await rename(join(mailbox, 'new', names[0]), join(mailbox, 'cur', `${names[0]}:2,S`));
    await unlink(join(mailbox, 'new', names[1]));
    await rename(join(mailbox, 'new', names[2]), join(mailbox, 'cur', `${names[2]}:2,RS`));
    await client.command('RETR 1', `+OK ${bodies[0].length} octets`);
    assert.equal((await client.bodyBytes()).content.toString(), bodies[0]);
    await client.command('RETR 2', /^-ERR message no longer available/);
    await client.command('TOP 3 0', /^\+OK/);
    assert.equal((await client.bodyBytes()).content.toString(), bodies[2].slice(0, bodies[2].indexOf('\r\n\r\n') + 4));
    await client.command('RETR 3', `+OK ${bodies[2].length} octets`);
    assert.equal((await client.bodyBytes()).content.toString(), bodies[2]);
    await client.command('QUIT', /^\+OK/);
  });
});
