/** Opening and finishing the body of a transaction, shared by DATA and BDAT. */
import type { Envelope } from '../../../delivery/types.js';
import { REPLIES, type ReplySpec } from '../../../protocol/smtp/replies.js';
import { BodyWriter, newMessageId } from '../body.js';
import type { SmtpConnection } from '../connection.js';
import type { Transaction } from '../session.js';

export function envelopeOf(c: SmtpConnection, txn: Transaction): Envelope {
  const envelope: Envelope = {
    mailFrom: txn.mailFrom,
    recipients: txn.remote,
    body: txn.params.body,
    smtputf8: txn.params.smtputf8,
    clientAddress: c.remoteAddress,
    heloName: c.helo ?? '',
  };
  if (txn.params.ret) envelope.dsnRet = txn.params.ret;
  if (txn.params.envid !== undefined) envelope.envid = txn.params.envid;
  if (c.user !== null) envelope.authenticatedUser = c.user;
  return envelope;
}

/** Begin storage for the transaction's message (in the background: failures are answered after the data). */
export function openBody(c: SmtpConnection, txn: Transaction): BodyWriter {
  const ctx = c.ctx;
  const now = ctx.now();
  const id = newMessageId(now);
  return new BodyWriter(
    {
      store: ctx.store,
      mailboxes: [...txn.mailboxes],
      queue: ctx.queue,
      envelope: txn.remote.length > 0 ? envelopeOf(c, txn) : undefined,
      mailFrom: txn.mailFrom,
      trace: {
        hostname: ctx.hostname,
        heloName: c.helo ?? '',
        clientAddress: c.remoteAddress,
        esmtp: c.esmtp,
        smtputf8: txn.params.smtputf8,
        tls: c.tlsInfo(),
        authenticated: c.user !== null && c.kind !== 'local',
        shownUser: ctx.config.received_show_user && c.user !== null ? c.user : undefined,
        id,
        forRecipient: txn.recipients.length === 1 ? txn.recipients[0].address : undefined,
        date: new Date(now),
      },
    },
    ctx.logger,
  );
}

/** Commit and answer: 250 only once every target has it durably. The transaction ends either way. */
export async function commitAndReply(c: SmtpConnection, body: BodyWriter): Promise<void> {
  const txn = c.txn;
  c.txn = null;
  const result = await body.commit();
  if (result.ok) {
    c.ctx.logger.info('smtp.accepted', {
      id: result.id,
      client: c.remoteAddress,
      from: txn?.mailFrom,
      recipients: txn?.recipients.length,
      size: body.size,
      user: c.user ?? undefined,
    });
    c.reply(REPLIES.ok, `queued as ${result.id}`);
  } else {
    c.reply(result.reply);
  }
}

/** The message was refused after its data: throw the body away, end the transaction, answer. */
export async function refuse(c: SmtpConnection, body: BodyWriter | null, reply: ReplySpec): Promise<void> {
  c.txn = null;
  await body?.abort();
  c.reply(reply);
}
