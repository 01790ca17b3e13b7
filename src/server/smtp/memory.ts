/**
 * Keeping RSS flat while a large message streams through.
 *
 * Every socket read allocates a fresh buffer outside the JS heap, and the store may copy it again. Those buffers die
 * young, but V8 only collects the young generation when its (JS) space fills, and the small wrappers of 64 KB reads
 * take a long time to fill it; external memory alone starts a collection only after tens of megabytes. So a session
 * receiving a 100 MB message asks for a young-generation collection (a scavenge, about a millisecond) every
 * `YOUNG_GC_EVERY_BYTES` it receives. This uses V8's gc extension, enabled on first use; without it nothing happens.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const YOUNG_GC_EVERY_BYTES = 2 * 1024 * 1024;

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;
let gcFunction: GcFunction | null | undefined;

function resolveGc(): GcFunction | null {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as GcFunction;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    return typeof fn === 'function' ? (fn as GcFunction) : null;
  } catch {
    return null;
  }
}

/** Collect the young generation now (cheap), freeing the read buffers of data already stored. */
export function collectYoungGeneration(): void {
  if (gcFunction === undefined) gcFunction = resolveGc();
  gcFunction?.({ type: 'minor' });
}
