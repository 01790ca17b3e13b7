/** SMTP command lines (RFC 5321 4.1.1): a verb, then optionally one space and the argument text. */
import { parsePath, type ParsedPath } from './path.js';

export interface CommandLine {
  /** Upper-cased verb ("MAIL"); may be anything the client sent. */
  verb: string;
  /** Everything after the first space ('' when none). */
  arg: string;
  /** The line contained bytes that are not valid UTF-8. */
  invalidUtf8: boolean;
}

/** `line` is the command line without its line ending. */
export function parseCommandLine(line: Buffer): CommandLine {
  const text = line.toString('utf8');
  const space = text.indexOf(' ');
  const verb = (space < 0 ? text : text.slice(0, space)).toUpperCase();
  const arg = space < 0 ? '' : text.slice(space + 1);
  return { verb, arg, invalidUtf8: text.includes('\uFFFD') };
}

/** HTTP methods: a client that speaks HTTP to the SMTP port is refused and disconnected. */
export const HTTP_VERBS = new Set(['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'TRACE']);

export type PathArgument =
  | { ok: true; path: ParsedPath; params: string }
  | { ok: false; reason: 'syntax' | 'path' | 'too-long' };

/**
 * The argument of MAIL ("FROM:<path> params") or RCPT ("TO:<path> params"). QUIRK (RFC 5321 4.1.2 has no space
 * after the colon): spaces between the colon and "<" are accepted, as every deployed server does.
 */
export function parsePathArgument(arg: string, keyword: 'FROM' | 'TO'): PathArgument {
  const prefix = keyword + ':';
  if (arg.slice(0, prefix.length).toUpperCase() !== prefix) return { ok: false, reason: 'syntax' };
  let rest = arg.slice(prefix.length);
  while (rest[0] === ' ') rest = rest.slice(1);
  if (rest[0] !== '<') return { ok: false, reason: 'syntax' };
  const result = parsePath(rest, keyword === 'FROM' ? { allowNull: true } : { allowPostmaster: true });
  if (!result.ok) return { ok: false, reason: result.reason === 'too-long' ? 'too-long' : 'path' };
  return { ok: true, path: result.path, params: result.rest };
}

/** BDAT argument: "<size> [LAST]" (RFC 3030 2). */
export function parseBdatArgument(arg: string): { size: number; last: boolean } | null {
  const m = /^(\d{1,15})(?: +(LAST))? *$/i.exec(arg);
  if (!m) return null;
  return { size: Number(m[1]), last: m[2] !== undefined };
}
