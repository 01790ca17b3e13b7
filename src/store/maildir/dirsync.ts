/**
 * Group commit for directory fsyncs. Many deliveries link files into the same new/ directory at about the same time;
 * one fsync of the directory makes durable every entry made before that fsync started. A caller asks after its link
 * is done; requests made in the same event-loop turn share one fsync. Up to `maxInFlight` fsyncs of one directory run
 * at once (the file system merges concurrent fsyncs into one journal commit, so not waiting for the previous one cuts
 * latency); requests made while that many run are queued and share the next one. No request resolves before an fsync
 * that started after it was made has completed.
 */
import type { FsOps } from './fsops.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface DirState {
  waiting: Waiter[];
  /** A start is scheduled for the end of this turn. */
  scheduled: boolean;
  inFlight: number;
}

export class DirSyncer {
  private readonly dirs = new Map<string, DirState>();
  /** Number of fsyncs done; for tests and measurements. */
  fsyncs = 0;

  constructor(
    private readonly fs: FsOps,
    private readonly maxInFlight = 1,
  ) {}

  sync(dir: string): Promise<void> {
    let state = this.dirs.get(dir);
    if (!state) this.dirs.set(dir, (state = { waiting: [], scheduled: false, inFlight: 0 }));
    const s = state;
    return new Promise<void>((resolve, reject) => {
      s.waiting.push({ resolve, reject });
      this.schedule(dir, s);
    });
  }

  private schedule(dir: string, state: DirState): void {
    if (state.scheduled || state.inFlight >= this.maxInFlight) return;
    state.scheduled = true;
    setImmediate(() => {
      state.scheduled = false;
      void this.run(dir, state);
    });
  }

  private async run(dir: string, state: DirState): Promise<void> {
    const batch = state.waiting;
    state.waiting = [];
    state.inFlight++;
    try {
      await this.fs.fsyncDir(dir);
      this.fsyncs++;
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
    state.inFlight--;
    if (state.waiting.length > 0) this.schedule(dir, state);
    else if (state.inFlight === 0 && !state.scheduled) this.dirs.delete(dir);
  }
}
