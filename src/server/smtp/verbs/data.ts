/** DATA (RFC 5321 4.1.1.4): 354, then content read by DataDecoder until <CRLF>.<CRLF>, then one reply. */
import { DataDecoder } from '../../../protocol/smtp/data-decoder.js';
import { REPLIES } from '../../../protocol/smtp/replies.js';
import type { BodyWriter } from '../body.js';
import type { SmtpConnection } from '../connection.js';
import { commitAndReply, openBody, refuse } from './deliver.js';

export function data(c: SmtpConnection, arg: string): void {
  if (arg !== '') return c.reply(REPLIES.noArgsExpected);
  const txn = c.txn;
  if (!txn) return c.reply(REPLIES.needMail);
  if (txn.body) return c.reply(REPLIES.dataAfterBdat);
  if (txn.recipients.length === 0) return c.reply(REPLIES.needRcpt);
  if (txn.params.body === 'BINARYMIME') return c.reply(REPLIES.dataWithBinary);
  return start(c);
}

function start(c: SmtpConnection): void {
  const body = openBody(c, c.txn!);
  const config = c.ctx.config;
  const decoder = new DataDecoder({
    bareLineEndings: config.bare_line_endings,
    maxLineLength: Math.max(config.max_text_line, config.lenient_text_line),
    maxSize: config.max_message_size,
  });
  c.reply(REPLIES.startData);
  c.setMode({ kind: 'data', decoder, body });
}

/** After the final dot: refuse (size, bare line endings, long lines) or commit and answer 250. */
export function finishData(c: SmtpConnection, decoder: DataDecoder, body: BodyWriter): Promise<void> {
  if (decoder.tooBig) return refuse(c, body, REPLIES.sizeExceeded);
  if (decoder.bareLineEnding && c.ctx.config.bare_line_endings === 'reject') return refuse(c, body, REPLIES.bareLineEnding);
  if (decoder.lineTooLong) return refuse(c, body, REPLIES.dataLineTooLong);
  return commitAndReply(c, body);
}
