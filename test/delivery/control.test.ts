import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ControlError, parseRequest, queueCommand } from '../../src/delivery/control.js';
import { createDelivery } from '../../src/delivery/index.js';
import type { QueueRecord } from '../../src/delivery/record.js';
import type { QueueSummary } from '../../src/delivery/scheduler.js';
import { DEFER, FakeClock, FakeTransport, message, OK, tempDataDir } from './helpers.js';

const execFileP = promisify(execFile);
const cli = join(process.cwd(), 'src/cli/main.ts');
const posthorn = (...args: string[]) => execFileP(process.execPath, ['--import', 'tsx', cli, ...args]);

describe('queue control: posthorn queue on a running server and offline', () => {
  it('list, show, retry, delete and flush through the control socket, then offline on the files', async () => {
    const { dir, cleanup } = await tempDataDir();
    const clock = new FakeClock(Date.now());
    const transport = new FakeTransport(() => DEFER, clock);
    const options = { dataDir: dir, hostname: 'mx.example.org', config: { routes: { '*': '127.0.0.1:25' } }, transport, clock, random: () => 0.5 };
    let d = createDelivery(options);
    try {
      await d.start();
      const sock = join(dir, 'queue', 'control.sock');
      assert.ok(existsSync(sock));
      const env = (to: string) => ({ mailFrom: 'alice@example.org', recipients: [{ address: to }], body: '7BIT' as const, smtputf8: false });
      const id1 = await d.queue.enqueue(env('a@remote.test'), message());
      const id2 = await d.queue.enqueue(env('b@remote.test'), message());
      await d.idle();
      assert.equal(transport.attempts.length, 2);

      // Through the socket (the CLI itself against `posthorn serve` is in serve-queue.test.ts).
      const list = await queueCommand(dir, { cmd: 'list' });
      assert.equal(list.mode, 'server');
      assert.deepEqual((list.result as QueueSummary[]).map((m) => [m.id, m.recipients[0].attempts, m.recipients[0].lastReply?.code]), [
        [id1, 1, 451],
        [id2, 1, 451],
      ]);
      const shown = (await queueCommand(dir, { cmd: 'show', id: id2 })).result as QueueRecord;
      assert.equal(shown.recipients[0].address, 'b@remote.test');
      assert.deepEqual((await queueCommand(dir, { cmd: 'retry', id: id1 })).result, { count: 1 });
      await d.idle();
      assert.equal(transport.attempts.length, 3);
      assert.deepEqual(transport.attempts[2].message.recipients.map((r) => r.address), ['a@remote.test']);
      assert.deepEqual((await queueCommand(dir, { cmd: 'delete', id: id1 })).result, { deleted: true });
      await assert.rejects(queueCommand(dir, { cmd: 'show', id: id1 }), /no message/);
      const show = await posthorn('queue', 'show', id2, '--data', dir);
      assert.match(show.stdout, new RegExp(`^id: +${id2}$`, 'm'));
      assert.match(show.stdout, /^from: +<alice@example\.org>$/m);
      assert.match(show.stdout, /^ {2}b@remote\.test {2}pending {2}attempts=1$/m);
      assert.match(show.stdout, /^ {4}last reply: +451 4\.3\.0 try again later$/m);
      assert.match(show.stdout, /^headers:\nFrom: Alice <alice@example\.org>\nTo: <bob@remote\.test>\nSubject: test\n/m);

      // In-process client, same socket.
      const viaServer = await queueCommand(dir, { cmd: 'list' });
      assert.equal(viaServer.mode, 'server');
      assert.deepEqual((viaServer.result as QueueSummary[]).map((m) => m.id), [id2]);
      transport.script = () => OK;
      const flushed = await queueCommand(dir, { cmd: 'flush' });
      assert.deepEqual(flushed.result, { count: 1 });
      assert.deepEqual(d.list(), []);

      // Offline: no server. list/show read files; retry makes recipients due for the next start; delete removes.
      transport.script = () => DEFER;
      const id3 = await d.queue.enqueue(env('c@remote.test'), message());
      const id4 = await d.queue.enqueue(env('d@remote.test'), message());
      await d.idle();
      await d.stop();
      assert.equal(existsSync(sock), false, 'socket removed at stop');
      const offline = await posthorn('queue', 'list', '--data', dir);
      assert.match(offline.stdout, new RegExp(`${id3} .*<alice@example.org>`));
      assert.match(offline.stdout, /pending +c@remote\.test +attempts=1 +next in 5m +451 4\.3\.0 try again later/);
      assert.match(offline.stdout, /2 message\(s\)/);
      assert.deepEqual((await queueCommand(dir, { cmd: 'delete', id: id4 })).result, { deleted: true });
      const r = await posthorn('queue', 'retry', '--data', dir);
      assert.match(r.stdout, /1 recipient\(s\) rescheduled/);
      assert.match(r.stderr, /no server is running/);
      transport.script = () => OK;
      d = createDelivery(options);
      await d.start();
      await d.idle();
      assert.deepEqual(d.list(), [], 'the rescheduled message went at start, without waiting for its retry time');
      assert.deepEqual(transport.attempts.at(-1)?.message.recipients.map((x) => x.address), ['c@remote.test']);
    } finally {
      await d.stop();
      await cleanup();
    }
  });

  it('a second server on the same data directory is refused', async () => {
    const { dir, cleanup } = await tempDataDir();
    const mk = () => createDelivery({ dataDir: dir, hostname: 'h.test', transport: new FakeTransport() });
    const a = mk();
    try {
      await a.start();
      await assert.rejects(mk().start(), /another server is using this queue/);
    } finally {
      await a.stop();
      await cleanup();
    }
  });

  it('rejects malformed requests', () => {
    for (const bad of ['nope', '[]', '{"cmd":"format"}', '{"cmd":"show"}', '{"cmd":"delete","id":"../../etc"}']) {
      assert.throws(() => parseRequest(bad), ControlError, bad);
    }
    assert.deepEqual(parseRequest('{"cmd":"retry"}'), { cmd: 'retry' });
  });
});
