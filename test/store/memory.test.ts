import { MemoryStore } from '../../src/store/memory.js';
import { StoreError } from '../../src/store/types.js';
import { runStoreContract } from './contract.js';

runStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return {
    store,
    failNextCommitWithFullDisk: () => {
      store.failNextCommit = new StoreError('full', 'simulated full disk');
    },
    reopen: async () => null,
    cleanup: async () => {},
  };
});
