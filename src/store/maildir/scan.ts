/**
 * Listing a Maildir: the messages in new/ and cur/, oldest first, with their POP3 sizes taken from the ",S=" and ",W="
 * fields of the names, so a listing needs only two readdirs. A file without both fields (delivered by another tool)
 * is read once to count its bare LFs; when `fixNames` is set (the caller holds the maildrop lock) it is then renamed to
 * carry its sizes, so the next listing does not read it again. Its UID does not change (see names.ts).
 */
import { join } from 'node:path';
import { countBareLf } from './crlf.js';
import { errnoCode, type FsOps } from './fsops.js';
import { compareNames, parseMessageName, withSizes, type ParsedName } from './names.js';

export type Sub = 'new' | 'cur';

export interface ScannedMessage {
  uid: string;
  sub: Sub;
  name: string;
  /** Octets on disk. */
  size: number;
  /** Octets with CRLF line ends (the POP3 size). */
  vsize: number;
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function readdirOrEmpty(fs: FsOps, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Names that are Maildir messages: not hidden (".", "..", editor leftovers). */
function isMessageName(name: string): boolean {
  return name.length > 0 && name[0] !== '.';
}

export async function scanMaildir(fs: FsOps, dir: string, fixNames: boolean): Promise<ScannedMessage[]> {
  const found: { sub: Sub; parsed: ParsedName }[] = [];
  const seen = new Set<string>();
  // new/ before cur/: a file moved from new/ to cur/ meanwhile is then seen twice (and kept once), never missed.
  for (const sub of ['new', 'cur'] as const) {
    for (const name of await readdirOrEmpty(fs, join(dir, sub))) {
      if (!isMessageName(name)) continue;
      const parsed = parseMessageName(name);
      if (seen.has(parsed.uid)) continue;
      seen.add(parsed.uid);
      found.push({ sub, parsed });
    }
  }
  found.sort((a, b) => compareNames(a.parsed, b.parsed));
  // Names with both sizes (everything Posthorn and Dovecot deliver) need no I/O: no promise per message for them.
  const messages: (ScannedMessage | null)[] = new Array(found.length);
  const unsized: number[] = [];
  for (let i = 0; i < found.length; i++) {
    const { sub, parsed } = found[i];
    if (parsed.size !== undefined && parsed.vsize !== undefined) {
      messages[i] = { uid: parsed.uid, sub, name: parsed.name, size: parsed.size, vsize: parsed.vsize };
    } else unsized.push(i);
  }
  await mapLimit(unsized, 16, async (i) => {
    messages[i] = await measure(fs, dir, found[i].sub, found[i].parsed, fixNames);
  });
  return messages.filter((m): m is ScannedMessage => m !== null);
}

/** A message whose name lacks its sizes: read it once to count them, and (with `fixNames`) rename it to carry them. */
async function measure(fs: FsOps, dir: string, sub: Sub, parsed: ParsedName, fixNames: boolean): Promise<ScannedMessage | null> {
  const path = join(dir, sub, parsed.name);
  let data: Buffer;
  try {
    data = await fs.readFile(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'EISDIR') return null; // gone meanwhile, or not a message
    throw err;
  }
  const size = data.length;
  const vsize = size + countBareLf(data, false);
  let name = parsed.name;
  if (fixNames) {
    const renamed = withSizes(name, size, vsize);
    try {
      await fs.rename(path, join(dir, sub, renamed));
      name = renamed;
    } catch {
      // Keep the old name; the sizes are known for this session anyway.
    }
  }
  return { uid: parsed.uid, sub, name, size, vsize };
}

/** Find where a message is now (another tool may have moved it to cur/ or changed its flags). */
export async function locate(fs: FsOps, dir: string, uid: string): Promise<{ sub: Sub; name: string } | null> {
  for (const sub of ['new', 'cur'] as const) {
    for (const name of await readdirOrEmpty(fs, join(dir, sub))) {
      if (isMessageName(name) && parseMessageName(name).uid === uid) return { sub, name };
    }
  }
  return null;
}
