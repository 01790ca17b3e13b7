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

/** Size of each reusable buffer; larger messages (see takeBuffer) get buffers of their own. */
export const POOL_BUFFER_SIZE = 32 * 1024;
/**
 * Room kept before the message in a reusable buffer for its status line ("+OK <size> octets\r\n"), and after it for
 * the terminator, so that RETR's answer goes to the socket as one contiguous piece.
 */
export const HEADROOM = 64;
const TAILROOM = 8;
/** Below this size a message buffer is cheap anyway (Node's own small-buffer pool): no reuse. */
const POOL_MIN_SIZE = 4 * 1024;
/** Free buffers kept for reuse, all sessions together (2 MiB). */
const POOL_MAX_FREE = 64;

const free: Buffer[] = [];

/** A buffer for a message of `size` octets, or undefined when the message is too small or too large to use one. */
export function takeBuffer(size: number): Buffer | undefined {
  // +1: the store reads one octet more than expected, to notice a file larger than its name says.
  if (size < POOL_MIN_SIZE || HEADROOM + size + 1 + TAILROOM > POOL_BUFFER_SIZE) return undefined;
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
  /** The same, synchronously, or null when it cannot be done on the spot (then readBufferInto). */
  readBufferNow?(uid: string, target: Buffer | undefined): Buffer | null;
}

export function canReuseBuffers(maildrop: Maildrop): maildrop is BufferReusingMaildrop {
  return typeof (maildrop as Partial<BufferReusingMaildrop>).readBufferInto === 'function';
}

/**
 * A message read for RETR, and the reusable buffer it lives in (null when it has a buffer of its own). When pooled,
 * `data` starts HEADROOM octets into `pooled` (unless the store had to convert line ends: then it is not pooled).
 */
export interface ReadMessage {
  data: Buffer;
  pooled: Buffer | null;
}

/**
 * The whole RETR answer (status line, content, terminator) as one view of the message's reusable buffer, when the
 * content sits in it unchanged (nothing to byte-stuff) and with room around it; null otherwise.
 */
export function framedAnswer(message: ReadMessage, status: string, content: Buffer, terminator: Buffer): Buffer | null {
  const pooled = message.pooled;
  if (!pooled || content !== message.data || content.byteOffset !== pooled.byteOffset + HEADROOM) return null;
  const end = HEADROOM + content.length + terminator.length;
  if (status.length > HEADROOM || end > pooled.length) return null;
  const start = HEADROOM - status.length;
  pooled.write(status, start, 'latin1');
  terminator.copy(pooled, HEADROOM + content.length);
  return pooled.subarray(start, end);
}

/**
 * Read a whole message synchronously when the maildrop can (no promise, no await: RETR's common case on the Maildir
 * store); null when it cannot, then use readMessage(). Throws what the store throws.
 */
export function readMessageNow(maildrop: Maildrop, uid: string, size: number): ReadMessage | null {
  if (!canReuseBuffers(maildrop) || !maildrop.readBufferNow) return null;
  const target = takeBuffer(size);
  let data: Buffer | null;
  try {
    data = maildrop.readBufferNow(uid, target?.subarray(HEADROOM));
  } catch (error) {
    if (target) giveBuffer(target);
    throw error;
  }
  if (target && (data === null || data.buffer !== target.buffer)) {
    giveBuffer(target);
    return data === null ? null : { data, pooled: null };
  }
  return data === null ? null : { data, pooled: target ?? null };
}

/** Read a whole message, into a reusable buffer when the maildrop can. */
export async function readMessage(maildrop: Maildrop, uid: string, size: number): Promise<ReadMessage> {
  const target = canReuseBuffers(maildrop) ? takeBuffer(size) : undefined;
  if (!target) return { data: await maildrop.readBuffer(uid), pooled: null };
  let data: Buffer;
  try {
    data = await (maildrop as BufferReusingMaildrop).readBufferInto(uid, target.subarray(HEADROOM));
  } catch (error) {
    giveBuffer(target);
    throw error;
  }
  if (data.buffer === target.buffer) return { data, pooled: target };
  giveBuffer(target);
  return { data, pooled: null };
}
