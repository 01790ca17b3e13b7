/** The grouped directory fsync lives in fsutil (one copy for the store, the queue and the client). */
export { DirSyncer } from '../../fsutil/dir-sync.js';
