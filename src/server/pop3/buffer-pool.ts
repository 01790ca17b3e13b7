/**
 * Reusable read buffers for RETR. Allocating a fresh 10 KB buffer per message costs a few microseconds, and the
 * stream of short-lived off-heap buffers makes V8 run full collections every few hundred milliseconds; reusing
 * buffers that have left the process takes both away (about a third of the server's CPU per message in the
 * benchmark).
 *
 * A buffer is given back only when it is certain nothing refers to it any more: its message has been handed to the
 * kernel (the session's output queue is empty after a flush on a plain socket), or its content was copied (stuffed).
 * A buffer that is never given back is simply collected. The free list is shared by all sessions and bounded.
 */
import type { Maildrop } from '../../store/types.js';

/** Size of each reusable buffer; messages of more than this minus one octet get buffers of their own. */
export const POOL_BUFFER_SIZE = 32 * 1024;
/** Below this size a message buffer is cheap anyway (Node's own small-buffer pool): no reuse. */
const POOL_MIN_SIZE = 4 * 1024;
/** Free buffers kept for reuse, all sessions together (2 MiB). */
const POOL_MAX_FREE = 64;

const free: Buffer[] = [];

/** A buffer for a message of `size` octets, or undefined when the message is too small or too large to use one. */
export function takeBuffer(size: number): Buffer | undefined {
  if (size < POOL_MIN_SIZE || size >= POOL_BUFFER_SIZE) return undefined;
  return free.pop() ?? Buffer.allocUnsafeSlow(POOL_BUFFER_SIZE);
}

/** Give a buffer back: the caller guarantees nothing refers to it or to any view of it any more. */
export function giveBuffer(buffer: Buffer): void {
  if (free.length < POOL_MAX_FREE && buffer.length === POOL_BUFFER_SIZE) free.push(buffer);
}

/**
 * Optional ability of a maildrop (the Maildir store has it): read a message into a given buffer when it fits, so the
 * buffer can be reused. The result is a view of `target` exactly when `result.buffer === target.buffer`.
 */
export interface BufferReusingMaildrop extends Maildrop {
  readBufferInto(uid: string, target: Buffer | undefined): Promise<Buffer>;
}

export function canReuseBuffers(maildrop: Maildrop): maildrop is BufferReusingMaildrop {
  return typeof (maildrop as Partial<BufferReusingMaildrop>).readBufferInto === 'function';
}

/** A message read for RETR, and the reusable buffer it lives in (null when it has a buffer of its own). */
export interface ReadMessage {
  data: Buffer;
  pooled: Buffer | null;
}

/** Read a whole message, into a reusable buffer when the maildrop can. */
export async function readMessage(maildrop: Maildrop, uid: string, size: number): Promise<ReadMessage> {
  const target = canReuseBuffers(maildrop) ? takeBuffer(size) : undefined;
  if (!target) return { data: await maildrop.readBuffer(uid), pooled: null };
  let data: Buffer;
  try {
    data = await (maildrop as BufferReusingMaildrop).readBufferInto(uid, target);
  } catch (error) {
    giveBuffer(target);
    throw error;
  }
  if (data.buffer === target.buffer) return { data, pooled: target };
  giveBuffer(target);
  return { data, pooled: null };
}
