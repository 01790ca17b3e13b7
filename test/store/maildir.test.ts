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
