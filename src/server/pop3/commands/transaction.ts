/**
 * TRANSACTION state: STAT, LIST, UIDL, DELE, NOOP, RSET, and QUIT which enters UPDATE (RFC 1939 sections 5 and 6).
 * Everything here works from the maildrop's entry list (sizes and UIDs known at open): no message body is read.
 */
import type { Pop3Command } from '../../../protocol/pop3/command.js';
import { parseMessageNumber } from '../../../protocol/pop3/command.js';
import { err, ok } from '../../../protocol/pop3/response.js';
import type { Pop3Session } from '../session.js';
import type { TransactionState } from '../state.js';

/**
 * The index (message number - 1) named by `arg`, or null after answering -ERR: not a number, no such message, or
 * marked deleted.
 */
export function messageIndex(session: Pop3Session, state: TransactionState, arg: string | undefined): number | null {
  const n = parseMessageNumber(arg);
  if (n === null) {
    session.write(err(null, 'invalid message number'));
    return null;
  }
  if (n > state.maildrop.entries.length) {
    session.write(err(null, 'no such message'));
    return null;
  }
  if (state.deleted.has(n - 1)) {
    session.write(err(null, `message ${n} already deleted`));
    return null;
  }
  return n - 1;
}

export function stat(session: Pop3Session): void {
  const state = session.state;
  if (state.kind !== 'transaction') return;
  session.write(ok(`${state.liveCount} ${state.liveSize}`));
}

export function list(session: Pop3Session, command: Pop3Command): void {
  listing(session, command, 'LIST');
}

export function uidl(session: Pop3Session, command: Pop3Command): void {
  listing(session, command, 'UIDL');
}

function listing(session: Pop3Session, command: Pop3Command, kind: 'LIST' | 'UIDL'): void {
  const state = session.state;
  if (state.kind !== 'transaction') return;
  const entries = state.maildrop.entries;
  const value = kind === 'LIST' ? (i: number) => entries[i].size : (i: number) => entries[i].uid;
  if (command.args.length === 1) {
    const index = messageIndex(session, state, command.args[0]);
    if (index !== null) session.write(ok(`${index + 1} ${value(index)}`));
    return;
  }
  const status = kind === 'LIST' ? ok(`${state.liveCount} messages (${state.liveSize} octets)`) : ok('unique-id listing follows');
  const parts: string[] = [status];
  const deleted = state.deleted;
  for (let i = 0; i < entries.length; i++) {
    if (deleted.size === 0 || !deleted.has(i)) parts.push(`${i + 1} ${value(i)}\r\n`);
  }
  parts.push('.\r\n');
  session.write(parts.join(''));
}

export function dele(session: Pop3Session, command: Pop3Command): void {
  const state = session.state;
  if (state.kind !== 'transaction') return;
  const index = messageIndex(session, state, command.args[0]);
  if (index === null) return;
  state.deleted.add(index);
  state.liveCount--;
  state.liveSize -= state.maildrop.entries[index].size;
  session.write(ok(`message ${index + 1} deleted`));
}

export function noop(session: Pop3Session): void {
  session.write(ok());
}

export function rset(session: Pop3Session): void {
  const state = session.state;
  if (state.kind !== 'transaction') return;
  for (const index of state.deleted) {
    state.liveCount++;
    state.liveSize += state.maildrop.entries[index].size;
  }
  state.deleted.clear();
  session.write(ok(`maildrop has ${state.liveCount} messages (${state.liveSize} octets)`));
}

/** QUIT from TRANSACTION: the only way into UPDATE, where marked messages are removed. */
export async function quitTransaction(session: Pop3Session): Promise<void> {
  const state = session.state;
  if (state.kind !== 'transaction') return;
  session.state = { kind: 'update', user: state.user };
  state.readAhead.clear();
  const uids = [...state.deleted].sort((a, b) => a - b).map((i) => state.maildrop.entries[i].uid);
  try {
    await state.maildrop.commitDeletions(uids);
    session.log.info('pop3.update', { user: state.user, deleted: uids.length });
    session.write(ok(`${session.ctx.hostname} POP3 server signing off (${uids.length} messages deleted, ${state.liveCount} left)`));
  } catch (error) {
    session.log.error('pop3.update_failed', { user: state.user, error });
    await state.maildrop.release().catch(() => {});
    session.write(err('SYS/TEMP', 'some deleted messages not removed'));
  }
  session.state = { kind: 'closed' };
  session.endAfterReply('quit');
}
