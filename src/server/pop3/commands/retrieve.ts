/**
 * RETR and TOP. Small messages are read whole (readBuffer) and go out as one write: status line, stuffed content,
 * terminator. While the client reads one message the next is already being read (sequential RETR is the common
 * pattern). Large messages stream from the store through the byte-stuffer with backpressure, so memory stays flat.
 */
import type { Pop3Command } from '../../../protocol/pop3/command.js';
import { parseLineCount } from '../../../protocol/pop3/command.js';
import { err, ok } from '../../../protocol/pop3/response.js';
import { stuffBuffer, terminatorFor } from '../../../protocol/pop3/stuffing.js';
import { topOfMessage } from '../../../store/top.js';
import { StoreError } from '../../../store/types.js';
import { framedAnswer, giveBuffer, readMessage, readMessageNow, type ReadMessage } from '../buffer-pool.js';
import { READ_AHEAD_BATCH, READ_AHEAD_BYTES, READ_AHEAD_MESSAGES, SMALL_MESSAGE_SIZE } from '../context.js';
import type { Pop3Session } from '../session.js';
import type { TransactionState } from '../state.js';
import { messageIndex } from './transaction.js';

export function retr(session: Pop3Session, command: Pop3Command): void | Promise<void> {
  const state = session.state;
  if (state.kind !== 'transaction') return;
  const index = messageIndex(session, state, command.args[0]);
  if (index === null) return;
  return send(session, state, index, undefined);
}

export function top(session: Pop3Session, command: Pop3Command): void | Promise<void> {
  const state = session.state;
  if (state.kind !== 'transaction') return;
  const index = messageIndex(session, state, command.args[0]);
  if (index === null) return;
  const lines = parseLineCount(command.args[1]);
  if (lines === null) {
    session.write(err(null, 'invalid line count'));
    return;
  }
  return send(session, state, index, lines);
}

/** Small messages are answered synchronously when the store can read them on the spot (no await per RETR). */
function send(session: Pop3Session, state: TransactionState, index: number, bodyLines: number | undefined): void | Promise<void> {
  const entry = state.maildrop.entries[index];
  const status = bodyLines === undefined ? ok(`${entry.size} octets`) : ok('top of message follows');
  if (entry.size > SMALL_MESSAGE_SIZE) return sendStream(session, state, index, bodyLines, status);
  let ready: ReadMessage | Promise<ReadMessage>;
  try {
    ready = readSmall(state, index);
  } catch (error) {
    unreadable(session, entry.uid, error);
    return;
  }
  if (!(ready instanceof Promise)) return answerSmall(session, state, index, bodyLines, status, ready);
  return ready.then(
    (message) => answerSmall(session, state, index, bodyLines, status, message),
    (error: unknown) => unreadable(session, entry.uid, error),
  );
}

function answerSmall(
  session: Pop3Session,
  state: TransactionState,
  index: number,
  bodyLines: number | undefined,
  status: string,
  message: ReadMessage,
): void {
  let data = message.data;
  // Read ahead once this answer is on its way (the client reads it meanwhile), not before it.
  if (bodyLines === undefined) session.whenIdle(() => session.state === state && prefetchAfter(session, state, index));
  else data = topOfMessage(data, bodyLines);
  const stuffed = stuffBuffer(data);
  const terminator = terminatorFor(data);
  // Usually one piece: status line and terminator written around the content in its own buffer.
  const framed = stuffed === data ? framedAnswer(message, status, data, terminator) : null;
  if (framed) session.write(framed);
  else {
    session.write(status);
    session.write(stuffed);
    session.write(terminator);
  }
  if (message.pooled) {
    // The reusable buffer goes back to the pool once the socket no longer needs it: right away if stuffing copied it.
    if (stuffed.buffer === message.pooled.buffer) session.releaseAfterWrite(message.pooled);
    else giveBuffer(message.pooled);
  }
}

async function sendStream(session: Pop3Session, state: TransactionState, index: number, bodyLines: number | undefined, status: string): Promise<void> {
  const entry = state.maildrop.entries[index];
  const stream = state.maildrop.read(entry.uid, bodyLines === undefined ? undefined : { bodyLines });
  // Wait for the first bytes (or the error) before committing to +OK.
  const opened = await new Promise<unknown>((resolve) => {
    const onReadable = () => done(null);
    const onError = (error: unknown) => done(error ?? new Error('read failed'));
    const done = (result: unknown) => {
      stream.off('readable', onReadable);
      stream.off('error', onError);
      resolve(result);
    };
    stream.once('readable', onReadable);
    stream.once('error', onError);
  });
  if (opened) {
    stream.destroy();
    unreadable(session, entry.uid, opened);
    return;
  }
  session.write(status);
  try {
    await session.sendStream(stream);
  } catch (error) {
    // The +OK is out and the content cut short: the only safe thing left is to drop the connection (no UPDATE).
    session.log.error('pop3.stream_failed', { uid: entry.uid, error });
    session.destroy();
  }
}

/** The message, read ahead or now; a promise only where the store cannot read on the spot. May throw. */
function readSmall(state: TransactionState, index: number): ReadMessage | Promise<ReadMessage> {
  const ahead = state.readAhead.get(index);
  if (ahead) {
    state.readAhead.delete(index);
    return ahead;
  }
  const entry = state.maildrop.entries[index];
  return readMessageNow(state.maildrop, entry.uid, entry.size) ?? readMessage(state.maildrop, entry.uid, entry.size);
}

/**
 * Keep the read-ahead window filled after message `index`: the next small, undeleted messages, within the bounds;
 * with other sessions open, only once READ_AHEAD_BATCH messages of the window have been used (see context.ts).
 */
function prefetchAfter(session: Pop3Session, state: TransactionState, index: number): void {
  const { readAhead, deleted } = state;
  const entries = state.maildrop.entries;
  for (const key of readAhead.keys()) if (key <= index || key > index + READ_AHEAD_MESSAGES) readAhead.delete(key);
  if (readAhead.size > READ_AHEAD_MESSAGES - READ_AHEAD_BATCH && session.ctx.sessionCount() > 1) return;
  let bytes = 0;
  for (let next = index + 1; next <= index + READ_AHEAD_MESSAGES && next < entries.length; next++) {
    const size = entries[next].size;
    if (deleted.has(next) || size > SMALL_MESSAGE_SIZE) continue;
    bytes += size;
    if (bytes > READ_AHEAD_BYTES) break;
    if (readAhead.has(next)) continue;
    let now: ReadMessage | null;
    try {
      now = readMessageNow(state.maildrop, entries[next].uid, size);
    } catch {
      continue; // read again, and the failure reported, if and when that message is asked for
    }
    if (now) {
      readAhead.set(next, now);
      continue;
    }
    const data = readMessage(state.maildrop, entries[next].uid, size);
    data.catch(() => {}); // a failure is reported if and when that message is asked for
    readAhead.set(next, data);
  }
}

function unreadable(session: Pop3Session, uid: string, error: unknown): void {
  if (error instanceof StoreError && error.kind === 'missing') {
    session.log.warn('pop3.message_vanished', { uid });
    session.write(err(null, 'message no longer available'));
  } else {
    session.log.error('pop3.read_failed', { uid, error });
    session.write(err('SYS/TEMP', 'unable to read message'));
  }
}
