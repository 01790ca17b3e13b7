/** MAIL and RCPT (RFC 5321 4.1.1.2-3) with ESMTP parameters, recipient resolution and relay policy. */
import { REPLIES, type ReplySpec } from '../../../protocol/smtp/replies.js';
import { parsePathArgument } from '../../../protocol/smtp/command.js';
import { parseMailParams, parseRcptParams, type ParamError } from '../../../protocol/smtp/params.js';
import { hasRoutingCharacters, type ParsedPath } from '../../../protocol/smtp/path.js';
import type { EnvelopeRecipient } from '../../../delivery/types.js';
import type { SmtpConnection } from '../connection.js';
import { authRequired } from '../policy.js';

function paramReply(error: ParamError): ReplySpec {
  switch (error) {
    case 'unknown':
      return REPLIES.unknownParameter;
    case 'duplicate':
      return REPLIES.duplicateParameter;
    default:
      return REPLIES.badParameter;
  }
}

export function mail(c: SmtpConnection, arg: string): void {
  if (c.helo === null) return c.reply(REPLIES.sendHelloFirst);
  if (c.txn) return c.reply(REPLIES.nestedMail);
  if (authRequired(c.kind) && c.user === null) return c.reply(REPLIES.authRequired);
  const parsed = parsePathArgument(arg, 'FROM');
  if (!parsed.ok) return c.reply(parsed.reason === 'syntax' ? REPLIES.mailSyntax : REPLIES.badSender);
  if (parsed.params.trim() !== '' && !c.esmtp) return c.reply(REPLIES.unknownParameter);
  const params = parseMailParams(parsed.params, { dsn: true, binary: true });
  if (!params.ok) return c.reply(paramReply(params.error));
  if (parsed.path.utf8 && !params.params.smtputf8) return c.reply(REPLIES.utf8NeedsSmtputf8);
  if (params.params.size !== undefined && params.params.size > c.ctx.config.max_message_size) return c.reply(REPLIES.sizeExceeded);
  c.txn = {
    mailFrom: parsed.path.address,
    params: params.params,
    recipients: [],
    mailboxes: new Set(),
    remote: [],
    body: null,
    checker: null,
    bdatSize: 0,
  };
  c.commandsSinceMail = 0;
  c.reply(REPLIES.senderOk);
}

export function rcpt(c: SmtpConnection, arg: string): Promise<void> | void {
  const txn = c.txn;
  if (!txn) return c.reply(REPLIES.needMail);
  if (txn.body) return c.reply(REPLIES.badSequence);
  const parsed = parsePathArgument(arg, 'TO');
  if (!parsed.ok) return c.reply(parsed.reason === 'syntax' ? REPLIES.rcptSyntax : REPLIES.badRecipient);
  if (parsed.params.trim() !== '' && !c.esmtp) return c.reply(REPLIES.unknownParameter);
  const params = parseRcptParams(parsed.params, { dsn: true });
  if (!params.ok) return c.reply(paramReply(params.error));
  if (parsed.path.utf8 && !txn.params.smtputf8) return c.reply(REPLIES.utf8NeedsSmtputf8);
  if (txn.recipients.length >= c.ctx.config.max_recipients) return c.reply(REPLIES.tooManyRecipients);
  const recipient: EnvelopeRecipient = { address: parsed.path.address };
  if (params.params.notify) recipient.notify = params.params.notify;
  if (params.params.orcpt) recipient.orcpt = params.params.orcpt;
  return resolveRecipient(c, parsed.path, recipient);
}

async function resolveRecipient(c: SmtpConnection, path: ParsedPath, recipient: EnvelopeRecipient): Promise<void> {
  const authenticated = c.user !== null;
  // <v%ext@local>, <ext!v@local>, <"v@ext"@local>: old routing tricks; strangers may not use them at all.
  if (!authenticated && hasRoutingCharacters(path.localPart)) return c.reply(REPLIES.routingDenied);
  // RFC 5321 4.5.1: <Postmaster> without a domain is the postmaster of this host.
  const address = path.address === 'Postmaster' ? `postmaster@${c.ctx.hostname}` : path.address;
  let resolution;
  try {
    resolution = await c.ctx.directory.resolve(address);
  } catch (err) {
    c.ctx.logger.warn('smtp.directory_error', { recipient: address, error: err });
    return c.reply(REPLIES.directoryFailure);
  }
  const txn = c.txn;
  if (!txn) return; // the session was reset or closed while the directory answered
  switch (resolution.kind) {
    case 'local': {
      // Alias targets in other domains are forwarded through the outbound queue (our alias, so not relaying).
      const forward = resolution.forward ?? [];
      if (forward.length > 0 && !c.ctx.queue) return c.reply(REPLIES.noOutboundQueue);
      for (const mailbox of resolution.mailboxes) txn.mailboxes.add(mailbox);
      for (const target of forward) {
        if (!txn.remote.some((r) => r.address === target)) txn.remote.push({ ...recipient, address: target, orcpt: recipient.orcpt ?? `rfc822;${address}` });
      }
      txn.recipients.push(recipient);
      return c.reply(REPLIES.recipientOk);
    }
    case 'unknown':
      return c.reply(REPLIES.unknownUser);
    case 'remote':
      // <Postmaster> when this host name is not a local domain: nobody to give it to.
      if (path.address === 'Postmaster') return c.reply(REPLIES.unknownUser);
      if (!authenticated) return c.reply(REPLIES.relayDenied);
      if (!c.ctx.queue) return c.reply(REPLIES.noOutboundQueue);
      txn.recipients.push(recipient);
      txn.remote.push(recipient);
      return c.reply(REPLIES.recipientOk);
  }
}
