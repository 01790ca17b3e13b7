/**
 * Interoperability with a real peer: Dovecot reads the Maildir we write (its POP3 server, run pre-authenticated on
 * stdin/stdout), and we read what Dovecot's LDA delivers. Sizes, content and deletions must agree both ways.
 * Skipped when Dovecot is not installed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deliverBuffer } from '../../src/store/deliver.js';
import type { MaildirStore } from '../../src/store/maildir/index.js';
import { maildirStore, tempRoot } from './helpers.js';

const POP3 = ['/usr/lib/dovecot/pop3', '/usr/libexec/dovecot/pop3'].find((p) => existsSync(p));
const LDA = ['/usr/lib/dovecot/dovecot-lda', '/usr/libexec/dovecot/dovecot-lda'].find((p) => existsSync(p));
const isRoot = process.getuid?.() === 0;
const skip = !POP3 ? 'Dovecot (dovecot-pop3d) is not installed' : isRoot && !existsSync('/usr/bin/setpriv') ? 'needs setpriv to drop root' : false;

interface Reply {
  status: string;
  lines: string[];
}

/** Run one pre-authenticated Dovecot POP3 session with these commands; answers the replies in order. */
function dovecotSession(conf: string, home: string, commands: string[]): Reply[] {
  const multi = (c: string) => /^(LIST|UIDL|RETR|TOP)\b/i.test(c) && !/^(LIST|UIDL) \d/i.test(c);
  // Dovecot wants real pipes: on a socket (what Node's child pipes are) it assumes inetd and refuses, and a regular file
  // cannot be polled. So the shell connects it with pipes.
  const script = join(home, 'pop3-commands');
  writeFileSync(script, commands.map((c) => c + '\r\n').join(''));
  const r = spawnSync('sh', ['-c', 'cat "$1" | "$2" -c "$3" | cat', 'sh', script, POP3!, conf], {
    env: { PATH: process.env.PATH, USER: 'alice', HOME: home },
    timeout: 20_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stderr = r.stderr.toString();
  const out = r.stdout.toString('latin1');
  const lines = out.split('\r\n');
  const replies: Reply[] = [];
  let i = 0;
  for (const c of commands) {
    const status = lines[i++] ?? '';
    const body: string[] = [];
    if (status.startsWith('+OK') && multi(c)) {
      while (i < lines.length && lines[i] !== '.') body.push(lines[i++].replace(/^\./, ''));
      i++;
    }
    replies.push({ status, lines: body });
  }
  assert.ok(replies.every((x) => x.status.startsWith('+OK')), `dovecot: ${out}\n${stderr}`);
  return replies;
}

describe('Dovecot interoperability', { skip }, () => {
  let root: string;
  let remove: () => void;
  let store: MaildirStore;
  let conf: string;
  const box = () => join(root, 'example.com', 'alice');
  const contents = [
    Buffer.from('From: a@example.org\r\nSubject: plain\r\n\r\nHello Dovecot\r\n.leading dot\r\n'),
    Buffer.from('Subject: bare lf inside\r\n\r\nline one\nline two\r\n'),
    Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.from(('z'.repeat(76) + '\r\n').repeat(3000))]),
  ];

  before(async () => {
    ({ root, remove } = tempRoot());
    store = maildirStore(root);
    for (const c of contents) await deliverBuffer(store, ['alice@example.com'], c);
    chmodSync(root, 0o755);
    conf = join(root, 'dovecot.conf');
    const owner = isRoot ? ['mail_uid = nobody', 'mail_gid = ' + execFileSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).trim(), 'first_valid_uid = 1', 'first_valid_gid = 1'] : [];
    writeFileSync(
      conf,
      [
        `mail_location = maildir:${box()}:INDEX=MEMORY`,
        'pop3_no_flag_updates = yes',
        'pop3_uidl_format = %f',
        'log_path = /dev/stderr',
        `base_dir = ${join(root, 'run')}`,
        ...owner,
      ].join('\n') + '\n',
    );
    if (isRoot) execFileSync('chown', ['-R', 'nobody:', join(root, 'example.com')]);
  });
  after(async () => {
    await store.close();
    remove();
  });

  it('Dovecot lists the sizes we list and sends the bytes we send', async () => {
    const md = await store.openMaildrop('alice@example.com');
    const ours = new Map<string, { size: number; data: Buffer }>();
    for (const e of md.entries) ours.set(e.uid, { size: e.size, data: await md.readBuffer(e.uid) });
    await md.release();
    const [list, uidl, ...rest] = dovecotSession(conf, root, ['LIST', 'UIDL', 'RETR 1', 'RETR 2', 'RETR 3', 'TOP 2 1', 'QUIT']);
    assert.equal(list.lines.length, 3);
    for (let n = 1; n <= 3; n++) {
      const dovecotUid = uidl.lines[n - 1].split(' ')[1];
      const match = [...ours.keys()].find((uid) => dovecotUid === uid || dovecotUid.startsWith(uid + ','));
      assert.ok(match, `${dovecotUid} is one of ours`);
      const mine = ours.get(match)!;
      assert.equal(Number(list.lines[n - 1].split(' ')[1]), mine.size, 'LIST size');
      assert.equal(rest[n - 1].lines.join('\r\n') + '\r\n', mine.data.toString('latin1'), 'RETR content');
      if (n === 2) assert.deepEqual(rest[3].lines.slice(-2), ['', mine.data.toString('latin1').split('\r\n\r\n')[1].split('\r\n')[0]]);
    }
  });

  it('we read what Dovecot LDA delivered (LF on disk), at the size Dovecot lists', { skip: !LDA }, async () => {
    const msg = 'From: x@example.org\r\nSubject: via dovecot-lda\r\n\r\nbody line\r\nsecond\r\n';
    const ldaArgs = ['-c', conf, '-f', 'x@example.org'];
    const r = isRoot
      ? spawnSync('/usr/bin/setpriv', ['--reuid=nobody', '--regid=' + execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim(), '--clear-groups', LDA!, ...ldaArgs], {
          input: msg,
          env: { PATH: process.env.PATH, USER: 'alice', HOME: root },
        })
      : spawnSync(LDA!, ldaArgs, { input: msg, env: { PATH: process.env.PATH, USER: 'alice', HOME: root } });
    assert.equal(r.status, 0, r.stderr.toString());
    const md = await store.openMaildrop('alice@example.com');
    assert.equal(md.entries.length, 4);
    const last = md.entries[3];
    assert.equal(last.size, msg.length);
    assert.equal((await md.readBuffer(last.uid)).toString(), msg);
    await md.release();
    const [list] = dovecotSession(conf, root, ['LIST', 'QUIT']);
    assert.deepEqual(list.lines.map((l) => Number(l.split(' ')[1])).sort((a, b) => a - b), md.entries.map((e) => e.size).sort((a, b) => a - b));
  });

  it('deletions made by either side are seen by the other', async () => {
    const before = await store.list('alice@example.com');
    const [uidl] = dovecotSession(conf, root, ['UIDL', 'DELE 1', 'QUIT']);
    const deletedByDovecot = uidl.lines[0].split(' ')[1];
    const after1 = await store.list('alice@example.com');
    assert.equal(after1.length, before.length - 1);
    assert.ok(!after1.some((e) => deletedByDovecot === e.uid || deletedByDovecot.startsWith(e.uid + ',')));
    const md = await store.openMaildrop('alice@example.com');
    await md.commitDeletions([md.entries[0].uid]);
    const [list] = dovecotSession(conf, root, ['LIST', 'QUIT']);
    assert.equal(list.lines.length, before.length - 2);
  });
});
