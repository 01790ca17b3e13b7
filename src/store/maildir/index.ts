export { MaildirStore, createMaildirStore, type MaildirStoreOptions } from './store.js';
export type { FaultHook, FsOp } from './fsops.js';
export { mailboxComponents, encodeComponent } from './names.js';
