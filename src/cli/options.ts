/** Helpers shared by the CLI commands: the data directory, reading a password, printing errors. */
import { resolve } from 'node:path';
import { DirectoryError } from '../directory/address.js';
import { ConfigError } from '../config/load.js';

export function dataDirOf(opts: { data?: string }): string {
  return resolve(opts.data ?? process.env.POSTHORN_DATA ?? './data');
}

/** Reads all of standard input as text (for --password-stdin), without its final newline. */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Turns a known error into one line on stderr and exit code 1; anything else is a bug and keeps its stack. */
export function fail(err: unknown): never {
  if (err instanceof DirectoryError || err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`posthorn: ${err.message}\n`);
    process.exit(err instanceof UsageError ? 64 : 1);
  }
  throw err;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export async function run(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    fail(err);
  }
}
