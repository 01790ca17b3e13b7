import { maildirStore, tempRoot, Faults } from './helpers.js';
import { runStoreContract } from './contract.js';

runStoreContract('MaildirStore', async () => {
  const { root, remove } = tempRoot();
  const faults = new Faults();
  const store = maildirStore(root, { faultHook: faults.hook });
  return {
    store,
    failNextCommitWithFullDisk: () => faults.arm('write', 'ENOSPC'),
    reopen: async () => maildirStore(root),
    cleanup: async () => remove(),
  };
});

// The same contract with every message read through libuv's thread pool (syncReadBytes 0), the path files larger
// than syncReadBytes take; the run above reads small files with blocking calls.
runStoreContract('MaildirStore, thread-pool reads', async () => {
  const { root, remove } = tempRoot();
  const faults = new Faults();
  const store = maildirStore(root, { faultHook: faults.hook, syncReadBytes: 0 });
  return {
    store,
    failNextCommitWithFullDisk: () => faults.arm('write', 'ENOSPC'),
    reopen: async () => maildirStore(root, { syncReadBytes: 0 }),
    cleanup: async () => remove(),
  };
});
