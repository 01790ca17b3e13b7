/**
 * A child process for the crash and cross-process lock tests (not a test itself). Usage:
 *   child.ts hold-lock ROOT MAILBOX          open the maildrop, print "locked", wait to be killed
 *   child.ts crash-at OP ROOT MAILBOX...     deliver; at the first OP print "at OP" and wait to be killed
 *   child.ts commit ROOT MAILBOX             deliver, print "committed UID", wait to be killed
 */
import { MaildirStore } from '../../src/store/maildir/index.js';
import type { FsOp } from '../../src/store/maildir/fsops.js';
import { crashMessage } from './crash-message.js';

const never = () => new Promise<void>(() => setInterval(() => undefined, 60_000));
const [mode, ...args] = process.argv.slice(2);

if (mode === 'hold-lock') {
  const [root, mailbox] = args;
  const store = new MaildirStore({ root, hostname: 'child.example' });
  await store.openMaildrop(mailbox);
  process.stdout.write('locked\n');
  await never();
} else if (mode === 'crash-at') {
  const [op, root, ...mailboxes] = args;
  // The mailboxes exist before the crash (creating them fsyncs directories too, which would stop us too early).
  const setup = new MaildirStore({ root });
  for (const m of mailboxes) await setup.ensureMailbox(m);
  let writes = 0;
  const store = new MaildirStore({
    root,
    hostname: 'child.example',
    bufferBytes: 4096,
    faultHook: async (current: FsOp) => {
      // For 'write', stop in the middle of the body: after some of it reached the file.
      if (current === op && (op !== 'write' || ++writes === 3)) {
        process.stdout.write(`at ${op}\n`);
        await never();
      }
    },
  });
  const tx = await store.beginDelivery();
  const data = crashMessage();
  for (let i = 0; i < data.length; i += 1000) await tx.write(data.subarray(i, i + 1000));
  await tx.commit(mailboxes);
  process.stdout.write('committed\n');
  await never();
} else if (mode === 'commit') {
  const [root, mailbox] = args;
  const store = new MaildirStore({ root, hostname: 'child.example' });
  const tx = await store.beginDelivery();
  await tx.write(crashMessage());
  const [stored] = await tx.commit([mailbox]);
  process.stdout.write(`committed ${stored.uid}\n`);
  await never();
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
