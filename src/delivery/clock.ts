/** Time as the scheduler sees it; tests inject a fake to drive retries without waiting. */
export interface Clock {
  now(): number;
  /** Call fn once after ms; returns a handle for cancel(). */
  schedule(fn: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule: (fn, ms) => {
    // Node timers overflow above 2^31-1 ms; the scheduler re-arms on wake-up anyway.
    const t = setTimeout(fn, Math.min(Math.max(0, ms), 0x7fffffff));
    t.unref();
    return t;
  },
  cancel: (h) => clearTimeout(h as NodeJS.Timeout),
};
