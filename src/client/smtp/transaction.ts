/**
 * One mail transaction: MAIL FROM, RCPT TO for each recipient (pipelined when the server offers PIPELINING,
 * RFC 2920), then DATA with dot-stuffing or BDAT chunks (RFC 3030). Per-recipient results; a failure of the whole
 * transaction throws SmtpTransactionError carrying them.
 */
import { isAscii } from 'node:buffer';
import { Readable } from 'node:stream';
import { SmtpError } from '../../protocol/smtp/error.js';
import type { SmtpChannel } from './channel.js';
import { SmtpConnectionError } from './channel.js';
import { DataEncoder, encodeMessage } from './data-encoder.js';
import { isAsciiText, mailFromCommand, rcptToCommand, validateEnvelope, type SmtpEnvelope, type SmtpRecipient } from './envelope.js';
import { sizeLimit, type Extensions } from './extensions.js';
import { replyText, replyToError, type SmtpReply } from './reply-reader.js';

/** A message: bytes, text, or a stream of bytes (sent as it is read, never buffered whole). */
export type MessageSource = Buffer | string | Uint8Array | Readable | AsyncIterable<Buffer | Uint8Array | string>;

export interface RecipientResult {
  address: string;
  accepted: boolean;
  code: number;
  enhancedCode: string | null;
  /** The server's reply text. */
  message: string;
}

export interface SendResult {
  /** Addresses the server accepted the message for. */
  accepted: string[];
  /** Recipients the server refused, with its reply. */
  rejected: RecipientResult[];
  recipients: RecipientResult[];
  /** The final reply after the message data ("250 2.0.0 Ok: queued as ..."). */
  response: string;
  reply: SmtpReply;
  /** Octets of message data sent (after CRLF normalization and dot-stuffing). */
  messageSize: number;
}

export type TransactionStage = 'MAIL' | 'RCPT' | 'DATA' | 'SIZE' | 'CAPABILITY';

export class SmtpTransactionError extends SmtpError {
  constructor(
    code: number,
    enhancedCode: string | null,
    message: string,
    readonly stage: TransactionStage,
    readonly recipients: RecipientResult[],
  ) {
    super(code, enhancedCode, message);
    this.name = 'SmtpTransactionError';
  }
}

export interface TransactionSettings {
  commandTimeout: number;
  dataTimeout: number;
  dataBlockTimeout: number;
  pipelining: boolean;
  bdat: boolean;
  bdatChunkSize: number;
  /** Declared size when the source is a stream (SIZE=). */
  sizeHint?: number;
}

interface Prepared {
  whole: Buffer | null;
  stream: AsyncIterable<Buffer | Uint8Array | string> | null;
  eightBit: boolean;
  eightBitHeaders: boolean;
}

function prepare(source: MessageSource): Prepared {
  if (typeof source === 'string') source = Buffer.from(source, 'utf8');
  if (source instanceof Uint8Array) {
    const whole = Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    const eightBit = !isAscii(whole);
    let eightBitHeaders = false;
    if (eightBit) {
      let end = whole.indexOf('\r\n\r\n');
      const lf = whole.indexOf('\n\n');
      if (end === -1 || (lf !== -1 && lf < end)) end = lf;
      eightBitHeaders = !isAscii(end === -1 ? whole : whole.subarray(0, end));
    }
    return { whole, stream: null, eightBit, eightBitHeaders };
  }
  return { whole: null, stream: source, eightBit: false, eightBitHeaders: false };
}

function result(recipients: RecipientResult[], reply: SmtpReply, size: number): SendResult {
  return {
    accepted: recipients.filter((r) => r.accepted).map((r) => r.address),
    rejected: recipients.filter((r) => !r.accepted),
    recipients,
    response: replyText(reply),
    reply,
    messageSize: size,
  };
}

function recipientResult(r: SmtpRecipient, reply: SmtpReply): RecipientResult {
  return { address: r.address, accepted: reply.code >= 200 && reply.code < 300, code: reply.code, enhancedCode: reply.enhancedCode, message: reply.lines.join(' ') };
}

function transactionError(reply: SmtpReply, context: string, stage: TransactionStage, recipients: RecipientResult[]): SmtpTransactionError {
  const base = replyToError(reply, context);
  return new SmtpTransactionError(base.code, base.enhancedCode, base.message, stage, recipients);
}

function toBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Run one transaction on a ready (greeted, EHLO'd) channel. Leaves the channel ready for the next one, or closed. */
export async function runTransaction(
  channel: SmtpChannel,
  extensions: Extensions,
  envelope: SmtpEnvelope,
  source: MessageSource,
  settings: TransactionSettings,
): Promise<SendResult> {
  const recipients = validateEnvelope(envelope);
  const message = prepare(source);
  const has8bitMime = extensions.has('8BITMIME');
  const hasUtf8 = extensions.has('SMTPUTF8');
  const envelopeUtf8 = !isAsciiText(envelope.from) || recipients.some((r) => !isAsciiText(r.address));
  const ok = (reply: SmtpReply) => reply.code >= 200 && reply.code < 300;
  const refuse = (text: string, stage: TransactionStage = 'CAPABILITY') => new SmtpTransactionError(0, null, text, stage, []);
  if (envelopeUtf8 && !hasUtf8) throw refuse('the envelope has non-ASCII addresses but the server does not offer SMTPUTF8 (RFC 6531)');
  if (message.eightBit && !has8bitMime && !hasUtf8) throw refuse('the message contains 8-bit data but the server offers neither 8BITMIME nor SMTPUTF8; encode it as 7-bit (quoted-printable/base64)');
  const smtputf8 = envelopeUtf8 || (message.eightBitHeaders && hasUtf8);
  if (message.eightBitHeaders && !hasUtf8 && !has8bitMime) throw refuse('the message headers contain raw UTF-8 but the server does not offer SMTPUTF8');
  const body: '8BITMIME' | undefined = has8bitMime && (message.eightBit || message.stream !== null) ? '8BITMIME' : undefined;

  const useBdat = settings.bdat && extensions.has('CHUNKING');
  let encoded: Buffer | null = null;
  if (message.whole) encoded = encodeMessage(message.whole, !useBdat).data;
  const limit = sizeLimit(extensions);
  // The declared size is the message as sent, without the ".CRLF" terminator.
  const size = encoded ? encoded.length - (useBdat ? 0 : 3) : settings.sizeHint;
  if (limit && size !== undefined && size > limit) {
    throw refuse(`message of ${size} octets exceeds the server's SIZE limit of ${limit} octets`, 'SIZE');
  }
  const dsn = extensions.has('DSN');
  const mailLine = mailFromCommand(envelope, { size: extensions.has('SIZE') ? size : undefined, body, smtputf8, dsn });
  const rcptLines = recipients.map((r) => rcptToCommand(r, dsn));
  const pipelining = settings.pipelining && extensions.has('PIPELINING');
  const t = settings.commandTimeout;

  let mailReply: SmtpReply;
  const results: RecipientResult[] = [];
  let dataReply: SmtpReply | null = null;
  if (pipelining) {
    const withData = !useBdat;
    await channel.write(`${mailLine}\r\n${rcptLines.join('\r\n')}\r\n${withData ? 'DATA\r\n' : ''}`);
    const replies = await channel.read(1 + rcptLines.length + (withData ? 1 : 0), t, 'MAIL FROM/RCPT TO');
    mailReply = replies[0];
    for (let i = 0; i < recipients.length; i++) results.push(recipientResult(recipients[i], replies[1 + i]));
    if (withData) dataReply = replies[replies.length - 1];
  } else {
    await channel.write(mailLine + '\r\n');
    mailReply = await channel.readOne(t, 'MAIL FROM');
    if (!ok(mailReply)) {
      await reset(channel, t);
      throw transactionError(mailReply, 'sender refused (MAIL FROM)', 'MAIL', []);
    }
    for (let i = 0; i < recipients.length; i++) {
      await channel.write(rcptLines[i] + '\r\n');
      results.push(recipientResult(recipients[i], await channel.readOne(t, 'RCPT TO')));
    }
  }
  const anyAccepted = results.some((r) => r.accepted);
  if (!ok(mailReply) || !anyAccepted) {
    if (dataReply && dataReply.code === 354) {
      // RFC 2920 3.1: DATA was accepted although no recipient was: send an empty message to end it.
      await channel.write('.\r\n');
      await channel.readOne(settings.dataTimeout, 'end of empty data');
    }
    await reset(channel, t);
    if (!ok(mailReply)) throw transactionError(mailReply, 'sender refused (MAIL FROM)', 'MAIL', results);
    const first = results[0];
    const error = new SmtpTransactionError(first.code, first.enhancedCode, `every recipient was refused: ${results.map((r) => `<${r.address}> ${r.code} ${r.message}`.trim()).join('; ')}`, 'RCPT', results);
    throw error;
  }

  if (useBdat) return sendBdat(channel, encoded, message.stream, results, settings, pipelining, has8bitMime || hasUtf8);
  if (!dataReply) {
    await channel.write('DATA\r\n');
    dataReply = await channel.readOne(t, 'DATA');
  }
  if (dataReply.code !== 354) {
    await reset(channel, t);
    throw transactionError(dataReply, 'DATA refused', 'DATA', results);
  }
  let sent: number;
  if (encoded) {
    await channel.write(encoded, settings.dataBlockTimeout);
    sent = encoded.length;
  } else {
    sent = await streamData(channel, message.stream!, new DataEncoder(true), settings, has8bitMime || hasUtf8, null);
  }
  const final = await channel.readOne(settings.dataTimeout, 'end of data');
  if (!ok(final)) throw transactionError(final, 'message refused after data', 'DATA', results);
  return result(results, final, sent);
}

/** Stream through the encoder; any failure destroys the connection so a truncated message can never be committed. */
async function streamData(
  channel: SmtpChannel,
  stream: AsyncIterable<Buffer | Uint8Array | string>,
  encoder: DataEncoder,
  settings: TransactionSettings,
  eightBitOk: boolean,
  bdat: { pending: number } | null,
): Promise<number> {
  try {
    for await (const chunk of stream) {
      const out = encoder.push(toBuffer(chunk));
      if (encoder.saw8bit && !eightBitOk) {
        throw new SmtpTransactionError(0, null, 'the message contains 8-bit data but the server offers neither 8BITMIME nor SMTPUTF8; transfer aborted', 'DATA', []);
      }
      if (out.length === 0) continue;
      if (bdat) {
        await channel.write(`BDAT ${out.length}\r\n`);
        bdat.pending++;
      }
      await channel.write(out, settings.dataBlockTimeout);
    }
    const tail = encoder.end();
    if (bdat) await channel.write(Buffer.concat([Buffer.from(`BDAT ${tail.length} LAST\r\n`), tail]), settings.dataBlockTimeout);
    else await channel.write(tail, settings.dataBlockTimeout);
    return encoder.emitted;
  } catch (error) {
    channel.close();
    if (error instanceof SmtpError) throw error;
    throw new SmtpConnectionError(`reading the message failed, transfer aborted: ${(error as Error).message}`, 'aborted', { cause: error });
  }
}

async function sendBdat(
  channel: SmtpChannel,
  encoded: Buffer | null,
  stream: AsyncIterable<Buffer | Uint8Array | string> | null,
  results: RecipientResult[],
  settings: TransactionSettings,
  pipelining: boolean,
  eightBitOk: boolean,
): Promise<SendResult> {
  let sent: number;
  let expected = 1;
  if (encoded) {
    // One chunk per bdatChunkSize; the last carries LAST.
    const size = settings.bdatChunkSize;
    let offset = 0;
    expected = 0;
    do {
      const piece = encoded.subarray(offset, offset + size);
      offset += piece.length;
      const last = offset >= encoded.length;
      await channel.write(Buffer.concat([Buffer.from(`BDAT ${piece.length}${last ? ' LAST' : ''}\r\n`), piece]), settings.dataBlockTimeout);
      expected++;
      if (!pipelining && !last) {
        const reply = await channel.readOne(settings.dataTimeout, 'BDAT');
        expected--;
        if (reply.code < 200 || reply.code >= 300) throw transactionError(reply, 'BDAT refused', 'DATA', results);
      }
    } while (offset < encoded.length);
    sent = encoded.length;
  } else {
    const counter = { pending: 0 };
    sent = await streamData(channel, stream!, new DataEncoder(false), settings, eightBitOk, counter);
    expected = counter.pending + 1;
  }
  const replies = await channel.read(expected, settings.dataTimeout, 'BDAT');
  const bad = replies.find((r) => r.code < 200 || r.code >= 300);
  if (bad) throw transactionError(bad, 'message refused (BDAT)', 'DATA', results);
  return result(results, replies[replies.length - 1], sent);
}

async function reset(channel: SmtpChannel, timeout: number): Promise<void> {
  try {
    await channel.write('RSET\r\n');
    await channel.readOne(timeout, 'RSET');
  } catch {
    channel.close();
  }
}
