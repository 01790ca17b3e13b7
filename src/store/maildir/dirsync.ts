/**
 * Group commit for directory fsyncs. Many deliveries link files into the same new/ directory at about the same time;
 * one fsync of the directory makes all the entries made before it started durable. A caller asks after its link is
 * done; requests arriving in the same tick share one fsync, and requests arriving while an fsync runs wait for the
 * next one (their entries may not be covered by the running one). No request resolves before an fsync that started
 * after it was made has completed.
 */
import type { FsOps } from './fsops.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface DirState {
  waiting: Waiter[];
  running: boolean;
}

export class DirSyncer {
  private readonly dirs = new Map<string, DirState>();
  /** Number of fsyncs done; for tests and measurements. */
  fsyncs = 0;

  constructor(private readonly fs: FsOps) {}

  sync(dir: string): Promise<void> {
    let state = this.dirs.get(dir);
    if (!state) this.dirs.set(dir, (state = { waiting: [], running: false }));
    const s = state;
    return new Promise<void>((resolve, reject) => {
      s.waiting.push({ resolve, reject });
      if (!s.running) {
        s.running = true;
        setImmediate(() => void this.run(dir, s));
      }
    });
  }

  private async run(dir: string, state: DirState): Promise<void> {
    while (state.waiting.length > 0) {
      const batch = state.waiting;
      state.waiting = [];
      try {
        await this.fs.fsyncDir(dir);
        this.fsyncs++;
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    state.running = false;
    this.dirs.delete(dir);
  }
}
