/** EHLO reply -> the server's service extensions (RFC 5321 4.1.1.1): keyword (upper case) -> parameter text. */
import type { SmtpReply } from './reply-reader.js';

export type Extensions = Map<string, string>;

export function parseEhlo(reply: SmtpReply): Extensions {
  const extensions: Extensions = new Map();
  for (let i = 1; i < reply.lines.length; i++) {
    const line = reply.lines[i].trim();
    if (!line) continue;
    const space = line.indexOf(' ');
    const eq = line.indexOf('=');
    // Old servers say "AUTH=PLAIN LOGIN".
    const cut = space === -1 ? (eq === -1 ? line.length : eq) : eq !== -1 && eq < space ? eq : space;
    const keyword = line.slice(0, cut).toUpperCase();
    const param = line.slice(cut + 1).trim();
    const previous = extensions.get(keyword);
    extensions.set(keyword, previous && param ? `${previous} ${param}` : param || previous || '');
  }
  return extensions;
}

/** SIZE limit in octets, 0 when the server declares none, undefined when SIZE is not offered. */
export function sizeLimit(extensions: Extensions): number | undefined {
  const value = extensions.get('SIZE');
  if (value === undefined) return undefined;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
