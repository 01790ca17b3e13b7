/**
 * The per-message state record of the outbound queue (see queue-store.ts for the on-disk specification) and the small
 * pure helpers that interpret it. Every field is JSON; nothing here touches the disk.
 */
import type { DsnNotify, Envelope } from './types.js';

/** A reply as the remote server (or our own delivery logic) gave it. */
export interface ReplyInfo {
  code: number;
  /** Enhanced status code "x.y.z", or null when the server sent none (we then derive one for DSNs). */
  enhanced: string | null;
  text: string;
}

export type RecipientStatus = 'pending' | 'delivered' | 'failed';

export interface RecipientRecord {
  address: string;
  notify?: DsnNotify;
  orcpt?: string;
  status: RecipientStatus;
  /** Delivery attempts made so far (connection failures count). */
  attempts: number;
  /** Epoch ms of the next attempt (pending only). */
  nextAttemptAt: number;
  lastAttemptAt?: number;
  /** Last reply or error that explains the current status. */
  lastReply?: ReplyInfo;
  /** Host that gave lastReply ("mx.example.com [192.0.2.1]"), for Remote-MTA. */
  remoteMta?: string;
  /** Epoch ms of the final status. */
  doneAt?: number;
  /** Remote accepted DSN parameters (so a SUCCESS notice is the remote's job). */
  remoteDsn?: boolean;
  /** The DSN owed for the final status was queued (or none is owed). */
  reported: boolean;
  /** A delay warning was queued (or none is owed). */
  delayReported: boolean;
}

export interface QueueRecord {
  version: 1;
  id: string;
  /** Epoch ms when the message was committed to the queue. */
  createdAt: number;
  envelope: Omit<Envelope, 'recipients'>;
  recipients: RecipientRecord[];
  /** Octets of the message file. */
  size: number;
  /** DKIM-Signature header field(s) (CRLF-terminated) to put in front of the message when sending. */
  dkim?: string;
  /** "bounce" for notices we generated ourselves (sent from <>). */
  origin: 'submission' | 'bounce';
}

/** RFC 3461 4.1: no NOTIFY means FAILURE and DELAY (the MTA may choose; we send both). */
export function wantsNotice(notify: DsnNotify | undefined, kind: 'SUCCESS' | 'FAILURE' | 'DELAY'): boolean {
  if (notify === undefined) return kind !== 'SUCCESS';
  if (notify === 'NEVER') return false;
  return notify.includes(kind);
}

export function isFinal(r: RecipientRecord): boolean {
  return r.status !== 'pending';
}

/** True when nothing more will ever happen to this record: every recipient final and reported. */
export function isComplete(rec: QueueRecord): boolean {
  return rec.recipients.every((r) => isFinal(r) && r.reported);
}

/** Domain of an address, ASCII lower case as given (IDN conversion happens in routing). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

const ID_RE = /^[0-9a-z]{8,40}$/;
export function isQueueId(id: string): boolean {
  return ID_RE.test(id);
}

/** Structural check of a record read from disk; returns a reason when it is unusable. */
export function validateRecord(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Partial<QueueRecord>;
  if (v.version !== 1) return `unsupported version ${String(v.version)}`;
  if (typeof v.id !== 'string' || !isQueueId(v.id)) return 'bad id';
  if (typeof v.createdAt !== 'number') return 'bad createdAt';
  if (typeof v.envelope !== 'object' || v.envelope === null || typeof v.envelope.mailFrom !== 'string') return 'bad envelope';
  if (!Array.isArray(v.recipients) || v.recipients.length === 0) return 'no recipients';
  for (const r of v.recipients) {
    if (typeof r !== 'object' || r === null || typeof r.address !== 'string') return 'bad recipient';
    if (r.status !== 'pending' && r.status !== 'delivered' && r.status !== 'failed') return 'bad recipient status';
    if (typeof r.nextAttemptAt !== 'number' || typeof r.attempts !== 'number') return 'bad recipient timing';
  }
  return null;
}
