/**
 * POP3 command lines (RFC 1939 section 3, RFC 2449 section 4): a keyword of 3-4 characters, case-insensitive, then
 * arguments separated by a space. Arguments are printable ASCII (UTF-8 too, for RFC 6856 USER/PASS); control
 * characters are refused. PASS takes the rest of the line as one argument so passwords may hold spaces (RFC 1939
 * section 7 allows this).
 */
export interface Pop3Command {
  /** Upper case. */
  keyword: string;
  /** Arguments split on spaces (runs of spaces count as one: QUIRK, RFC 1939 says a single space). */
  args: string[];
  /** Everything after the keyword and its space, as sent (PASS, AUTH responses). */
  rest: string;
}

export type ParsedCommand = { ok: true; command: Pop3Command } | { ok: false; error: string };

/** RFC 1939: "Each argument may be up to 40 characters long." */
export const MAX_ARGUMENT_LENGTH = 40;

const fatal = new TextDecoder('utf-8', { fatal: true });

export function parseCommand(line: Buffer): ParsedCommand {
  if (line.length === 0) return { ok: false, error: 'empty command' };
  let ascii = true;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c < 0x20 || c === 0x7f) return { ok: false, error: 'control characters not allowed' };
    if (c > 0x7f) ascii = false;
  }
  let text: string;
  if (ascii) text = line.toString('latin1');
  else {
    try {
      text = fatal.decode(line);
    } catch {
      return { ok: false, error: 'invalid UTF-8 in command' };
    }
  }
  const space = text.indexOf(' ');
  const keyword = (space < 0 ? text : text.slice(0, space)).toUpperCase();
  if (keyword.length < 3 || keyword.length > 4 || !/^[A-Z0-9]+$/.test(keyword)) return { ok: false, error: 'unknown command' };
  const rest = space < 0 ? '' : text.slice(space + 1);
  const args = rest === '' ? [] : rest.split(' ').filter((a) => a !== '');
  return { ok: true, command: { keyword, args, rest } };
}

/**
 * A message number argument: decimal digits only, 1 or more, no sign. Returns the number or null. Bounded so a long
 * run of digits is not turned into a float.
 */
export function parseMessageNumber(arg: string | undefined): number | null {
  if (arg === undefined || !/^[0-9]{1,10}$/.test(arg)) return null;
  const n = Number(arg);
  return n >= 1 ? n : null;
}

/** A non-negative line count (TOP). Larger values than the maximum are clamped: "past the end" means everything. */
export function parseLineCount(arg: string | undefined): number | null {
  if (arg === undefined || !/^[0-9]{1,20}$/.test(arg)) return null;
  return Math.min(Number(arg), Number.MAX_SAFE_INTEGER);
}
