/**
 * BDAT (RFC 3030): "BDAT <size> [LAST]" followed by exactly <size> octets. The octets are always consumed, even when
 * the command is refused, so they can never be read as commands. Each non-LAST chunk gets 250; BDAT LAST commits.
 */
import { parseBdatArgument } from '../../../protocol/smtp/command.js';
import { TextChecker } from '../../../protocol/smtp/bdat.js';
import { REPLIES, type ReplySpec } from '../../../protocol/smtp/replies.js';
import type { InputMode, SmtpConnection } from '../connection.js';
import { commitAndReply, openBody, refuse } from './deliver.js';

type BdatMode = Extract<InputMode, { kind: 'bdat' }>;

export function bdat(c: SmtpConnection, arg: string): Promise<void> | void {
  const parsed = parseBdatArgument(arg);
  if (!parsed) {
    // Without a size the chunk cannot be skipped; reading it as commands would be unsafe.
    c.reply(REPLIES.bdatSyntax);
    c.close();
    return;
  }
  const txn = c.txn;
  let error: ReplySpec | null = null;
  if (!c.esmtp) error = REPLIES.sendEhloFirst;
  else if (!txn) error = REPLIES.needMail;
  else if (txn.recipients.length === 0) error = REPLIES.needRcpt;
  if (error || !txn) return enter(c, parsed.size, parsed.last, error);
  if (txn.bdatSize + parsed.size > c.ctx.config.max_message_size) {
    // Too big: refuse now (after skipping the chunk), and end the transaction.
    return enter(c, parsed.size, parsed.last, REPLIES.sizeExceeded);
  }
  if (!txn.body) {
    txn.body = openBody(c, txn);
    if (txn.params.body !== 'BINARYMIME') {
      const config = c.ctx.config;
      txn.checker = new TextChecker(Math.max(config.max_text_line, config.lenient_text_line), config.bare_line_endings === 'normalize');
    }
  }
  return enter(c, parsed.size, parsed.last, null);
}

function enter(c: SmtpConnection, size: number, last: boolean, error: ReplySpec | null): Promise<void> | void {
  const mode: BdatMode = { kind: 'bdat', remaining: size, size, last, body: error ? null : (c.txn?.body ?? null), error };
  if (size === 0) return finishBdat(c, mode);
  c.setMode(mode);
}

/** Store one piece of a chunk (checking line endings unless BINARYMIME). */
export function bdatChunk(c: SmtpConnection, mode: BdatMode, piece: Buffer): Promise<unknown> | undefined {
  const txn = c.txn;
  if (mode.error || !mode.body || !txn) return undefined;
  txn.bdatSize += piece.length;
  if (!txn.checker) return mode.body.write([piece]);
  const out: Buffer[] = [];
  txn.checker.check(piece, out);
  if (txn.checker.bareLineEnding && c.ctx.config.bare_line_endings === 'reject') return undefined;
  if (txn.checker.lineTooLong) return undefined;
  return mode.body.write(out);
}

export async function finishBdat(c: SmtpConnection, mode: BdatMode): Promise<void> {
  if (mode.error) {
    // A sequence error (503) leaves the state as it was; a refused message (552, 4xx) ends the transaction.
    if (c.txn && mode.error.code !== 503) return refuse(c, c.txn.body, mode.error);
    return c.reply(mode.error);
  }
  const txn = c.txn;
  if (!txn || !mode.body) return c.reply(REPLIES.needMail);
  if (!mode.last) return c.replyText(250, '2.0.0', `${mode.size} octets received`);
  const checker = txn.checker;
  const reject = c.ctx.config.bare_line_endings === 'reject';
  if (checker) {
    const out: Buffer[] = [];
    checker.finish(out);
    if (checker.bareLineEnding && reject) return refuse(c, mode.body, REPLIES.bareLineEnding);
    if (checker.lineTooLong) return refuse(c, mode.body, REPLIES.dataLineTooLong);
    if (out.length > 0) await mode.body.write(out);
  }
  return commitAndReply(c, mode.body);
}
