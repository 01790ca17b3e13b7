/**
 * Delivery status notifications (RFC 3464 multipart/report; report-type=delivery-status), sent from the null sender to
 * the envelope sender: failures, delay warnings and success notices as RFC 3461 NOTIFY asked. The returned content is
 * the full message (text/rfc822-headers when RET=HDRS, or when the message is larger than maxReturnSize) as
 * message/rfc822; without RET, failures return the full message and other notices only the headers.
 * When UTF-8 addresses or headers are involved (SMTPUTF8), the RFC 6533 types are used instead:
 * message/global-delivery-status with "utf-8" address types, message/global and message/global-headers.
 */
import { randomBytes } from 'node:crypto';
import { formatMailDate } from '../mime/date.js';
import type { NoticeAction, NoticeItem } from './scheduler.js';
import type { QueueRecord, ReplyInfo } from './record.js';

export interface DsnOptions {
  /** Our host name: Reporting-MTA, From: MAILER-DAEMON@hostname, Message-ID. */
  hostname: string;
  /** Largest original returned in full, octets; larger ones return headers only. */
  maxReturnSize: number;
  /** Give-up time of pending recipients (Will-Retry-Until in delay notices), epoch ms. */
  willRetryUntil?: number;
  now: number;
  /** Size of the whole original when `original` given to buildDsn is only its beginning (large messages). */
  originalSize?: number;
}

export interface BuiltDsn {
  message: Buffer;
  /** The report carries 8-bit text (an 8-bit original or UTF-8 diagnostics): send with BODY=8BITMIME. */
  eightBit: boolean;
  /** The report has UTF-8 in addresses or headers (RFC 6533 types): it needs SMTPUTF8 to travel. */
  utf8: boolean;
}

/** RFC 5322 date-time in UTC, as DSN date fields have always been written here ("Thu, 01 Jan 2026 10:00:00 +0000"). */
const dsnDate = (ms: number): string => formatMailDate(ms, { twoDigitDay: true });

/** The status code for a reply: its enhanced code, or the class alone (RFC 3463 x.0.0). */
export function statusOf(reply: ReplyInfo | undefined, action: NoticeAction): string {
  if (reply?.enhanced && /^[245]\.\d{1,3}\.\d{1,3}$/.test(reply.enhanced)) {
    return reply.enhanced;
  }
  if (action === 'delivered' || action === 'relayed' || action === 'expanded') return '2.0.0';
  if (action === 'delayed') return '4.0.0';
  return reply && reply.code >= 500 ? '5.0.0' : '4.4.7';
}

/** One header line of a delivery-status field: no CR/LF, at most ~900 octets. */
function clean(value: string): string {
  const flat = value.replace(/[\r\n\t]+/g, ' ').replace(/[\x00-\x1f\x7f]/g, '');
  return flat.length > 900 ? flat.slice(0, 897) + '...' : flat;
}

/** "rfc822;addr" (ORCPT form) -> "rfc822; addr". */
function addressType(orcpt: string): string {
  const semi = orcpt.indexOf(';');
  if (semi < 0) return `rfc822; ${clean(orcpt)}`;
  return `${clean(orcpt.slice(0, semi).trim())}; ${clean(orcpt.slice(semi + 1).trim())}`;
}

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

function headerBlock(original: Buffer): Buffer {
  const end = original.indexOf('\r\n\r\n');
  return end < 0 ? original : original.subarray(0, end + 2);
}

function subjectFor(actions: Set<NoticeAction>): string {
  if (actions.has('failed')) return 'Undelivered Mail Returned to Sender';
  if (actions.has('delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

function humanText(rec: QueueRecord, items: NoticeItem[], hostname: string): string {
  const lines = [`This is the mail system at host ${hostname}.`, ''];
  const failed = items.filter((i) => i.action === 'failed');
  const delayed = items.filter((i) => i.action === 'delayed');
  const ok = items.filter((i) => i.action !== 'failed' && i.action !== 'delayed');
  if (failed.length) {
    lines.push("I'm sorry to have to inform you that your message could not be delivered to one or more recipients.", '');
    for (const i of failed) lines.push(`<${i.recipient.address}>: ${i.recipient.lastReply ? describe(i.recipient.lastReply) : 'delivery failed'}`);
    lines.push('');
  }
  if (delayed.length) {
    lines.push('Your message could not be delivered yet to the recipients below; delivery will be retried.', '');
    for (const i of delayed) lines.push(`<${i.recipient.address}>: ${i.recipient.lastReply ? describe(i.recipient.lastReply) : 'delayed'}`);
    lines.push('');
  }
  if (ok.length) {
    lines.push('Your message was successfully delivered (or relayed) to the recipients below.', '');
    for (const i of ok) lines.push(`<${i.recipient.address}>: ${i.action}`);
    lines.push('');
  }
  lines.push(`Queue ID: ${rec.id}`);
  return lines.map(clean).join('\r\n') + '\r\n';
}

function describe(r: ReplyInfo): string {
  return `${r.code}${r.enhanced ? ' ' + r.enhanced : ''} ${r.text}`;
}

/** Build the notification message for some recipients of a record. */
export function buildDsn(rec: QueueRecord, items: NoticeItem[], original: Buffer, o: DsnOptions): BuiltDsn {
  const actions = new Set(items.map((i) => i.action));
  const boundary = `=_posthorn_${randomBytes(12).toString('hex')}`;
  const msgId = `<${rec.id}.${randomBytes(6).toString('hex')}@${o.hostname}>`;
  const sender = rec.envelope.mailFrom;
  const utf8Sender = !isAscii(sender);

  const perMessage = [`Reporting-MTA: dns; ${o.hostname}`, `X-Posthorn-Queue-ID: ${rec.id}`];
  if (rec.envelope.envid !== undefined) perMessage.push(`Original-Envelope-Id: ${clean(rec.envelope.envid)}`);
  if (rec.envelope.heloName && /^[\x21-\x7e]+$/.test(rec.envelope.heloName)) perMessage.push(`Received-From-MTA: dns; ${clean(rec.envelope.heloName)}`);
  perMessage.push(`Arrival-Date: ${dsnDate(rec.createdAt)}`);

  const perRecipient = items.map(({ recipient: r, action }) => {
    const f = [`Final-Recipient: ${isAscii(r.address) ? 'rfc822' : 'utf-8'}; ${clean(r.address)}`];
    if (r.orcpt) f.push(`Original-Recipient: ${addressType(r.orcpt)}`);
    f.push(`Action: ${action}`, `Status: ${statusOf(r.lastReply, action)}`);
    if (r.remoteMta) f.push(`Remote-MTA: dns; ${clean(r.remoteMta.replace(/ \[.*$/, '').replace(/:\d+$/, ''))}`);
    if (r.lastReply) f.push(`Diagnostic-Code: smtp; ${clean(describe(r.lastReply))}`);
    if (r.lastAttemptAt) f.push(`Last-Attempt-Date: ${dsnDate(r.lastAttemptAt)}`);
    if (action === 'delayed' && o.willRetryUntil) f.push(`Will-Retry-Until: ${dsnDate(o.willRetryUntil)}`);
    return f.join('\r\n');
  });
  const status = [perMessage.join('\r\n'), ...perRecipient].join('\r\n\r\n') + '\r\n';

  const wantFull = rec.envelope.dsnRet === 'FULL' || (rec.envelope.dsnRet === undefined && actions.has('failed'));
  const full = wantFull && (o.originalSize ?? original.length) <= o.maxReturnSize && (o.originalSize ?? original.length) <= original.length;
  const returned = full ? original : headerBlock(original);
  const eightBit = !isAscii(status) || returned.some((b) => b >= 0x80) || utf8Sender;
  // RFC 6533: global types when the report or the returned headers carry UTF-8 and the original travelled as SMTPUTF8.
  const utf8 = rec.envelope.smtputf8 && (!isAscii(status) || utf8Sender || headerBlock(returned).some((b) => b >= 0x80));
  const statusType = utf8 ? 'message/global-delivery-status' : 'message/delivery-status';
  const returnedType = full ? (utf8 ? 'message/global' : 'message/rfc822') : utf8 ? 'message/global-headers' : 'text/rfc822-headers';

  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${o.hostname}>`,
    `To: <${sender}>`,
    `Subject: ${subjectFor(actions)}`,
    `Date: ${dsnDate(o.now)}`,
    `Message-ID: ${msgId}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="${boundary}"`,
  ];
  if (eightBit) head.push('Content-Transfer-Encoding: 8bit');
  const parts: Buffer[] = [
    Buffer.from(head.join('\r\n') + '\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n'),
    Buffer.from(`--${boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`),
    Buffer.from(humanText(rec, items, o.hostname), 'utf8'),
    Buffer.from(`\r\n--${boundary}\r\nContent-Description: Delivery report\r\nContent-Type: ${statusType}\r\n\r\n`),
    Buffer.from(status, 'utf8'),
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Description: ${full ? 'Undelivered Message' : 'Message Headers'}\r\n` +
        `Content-Type: ${returnedType}\r\n` +
        (eightBit ? 'Content-Transfer-Encoding: 8bit\r\n' : '') +
        '\r\n',
    ),
    returned,
    Buffer.from(`${returned.length && returned.subarray(-2).toString() !== '\r\n' ? '\r\n' : ''}\r\n--${boundary}--\r\n`),
  ];
  return { message: Buffer.concat(parts), eightBit, utf8 };
}
