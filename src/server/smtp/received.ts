/** Trace fields added on delivery: Return-Path (RFC 5321 4.4, local delivery only) and Received (RFC 5321 4.4). */
import { isIPv6 } from 'node:net';
import { formatMailDate } from '../../mime/date.js';
import { isAddressLiteral, isDomain } from '../../protocol/smtp/path.js';

export interface TraceInfo {
  hostname: string;
  heloName: string;
  clientAddress: string;
  esmtp: boolean;
  smtputf8: boolean;
  tls: { protocol: string; cipher: string } | null;
  authenticated: boolean;
  /** Only given when the configuration allows naming the user. */
  shownUser?: string;
  id: string;
  /** The single recipient, when there is exactly one. */
  forRecipient?: string;
  date: Date;
}


function addressLiteral(ip: string): string {
  if (ip.startsWith('::ffff:') && !ip.slice(7).includes(':')) ip = ip.slice(7);
  return isIPv6(ip) ? `[IPv6:${ip}]` : `[${ip}]`;
}

/** RFC 3848 / RFC 6531 protocol names: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP, UTF8SMTPSA, ... */
export function withProtocol(info: Pick<TraceInfo, 'esmtp' | 'smtputf8' | 'tls' | 'authenticated'>): string {
  if (!info.esmtp) return 'SMTP';
  return `${info.smtputf8 ? 'UTF8SMTP' : 'ESMTP'}${info.tls ? 'S' : ''}${info.authenticated ? 'A' : ''}`;
}

export function receivedHeader(info: TraceInfo): string {
  // RFC 5321 4.4: From-domain is the HELO name when it is a domain or address literal; otherwise the client's address
  // literal, with the claimed name in a comment (By-domain may start with CFWS).
  const literal = info.clientAddress ? addressLiteral(info.clientAddress) : null;
  const validHelo = isDomain(info.heloName) || isAddressLiteral(info.heloName);
  const from = validHelo ? info.heloName : (literal ?? 'localhost');
  const lines = [`Received: from ${from}${literal ? ` (${literal})` : ''}`];
  if (!validHelo) lines.push(`\t(helo=${info.heloName.replace(/[^\x21-\x27\x2a-\x5b\x5d-\x7e]/g, '?').slice(0, 200)})`);
  let by = `\tby ${info.hostname} (Posthorn) with ${withProtocol(info)} id ${info.id}`;
  if (info.tls) by += `\r\n\t(using ${info.tls.protocol} with cipher ${info.tls.cipher})`;
  if (info.shownUser) by += `\r\n\t(authenticated as ${info.shownUser.replace(/[()\\\r\n]/g, '?')})`;
  lines.push(by);
  lines.push(`\t${info.forRecipient ? `for <${info.forRecipient}>` : ''}; ${formatMailDate(info.date, { twoDigitDay: true })}`);
  return lines.join('\r\n') + '\r\n';
}

export function returnPathHeader(mailFrom: string): string {
  return `Return-Path: <${mailFrom}>\r\n`;
}
