/** Shared helpers for the Maildir store tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaildirStore, type MaildirStoreOptions } from '../../src/store/maildir/index.js';
import type { FsOp } from '../../src/store/maildir/fsops.js';

export function tempRoot(): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'posthorn-store-'));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export function errno(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** A fault injector: arm(op, code) makes the next operation `op` fail with that errno code. */
export class Faults {
  private armed: { op: FsOp; code: string; path?: RegExp }[] = [];
  hook = (op: FsOp, path: string): void => {
    const i = this.armed.findIndex((a) => a.op === op && (!a.path || a.path.test(path)));
    if (i >= 0) {
      const [a] = this.armed.splice(i, 1);
      throw errno(a.code);
    }
  };
  arm(op: FsOp, code: string, path?: RegExp): void {
    this.armed.push({ op, code, path });
  }
}

export function maildirStore(root: string, options: Partial<MaildirStoreOptions> = {}): MaildirStore {
  return new MaildirStore({ root, hostname: 'test.example', ...options });
}
