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

const EMPTY: ParsedCommand = { ok: false, error: 'empty command' };
const CONTROL: ParsedCommand = { ok: false, error: 'control characters not allowed' };
const BAD_UTF8: ParsedCommand = { ok: false, error: 'invalid UTF-8 in command' };
const UNKNOWN: ParsedCommand = { ok: false, error: 'unknown command' };
const NO_ARGS: string[] = [];

export function parseCommand(line: Buffer): ParsedCommand {
  const length = line.length;
  if (length === 0) return EMPTY;
  // One pass: control characters, non-ASCII, where the keyword ends and whether it is [A-Za-z0-9] only.
  let ascii = true;
  let space = -1;
  let keywordOk = true;
  for (let i = 0; i < length; i++) {
    const c = line[i];
    if (c < 0x20 || c === 0x7f) return CONTROL;
    if (c > 0x7f) ascii = false;
    if (space < 0) {
      if (c === 0x20) space = i;
      else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) keywordOk = false;
    }
  }
  let text: string;
  if (ascii) text = line.toString('latin1');
  else {
    try {
      text = fatal.decode(line);
    } catch {
      return BAD_UTF8;
    }
  }
  const keywordLength = space < 0 ? length : space;
  if (!keywordOk || keywordLength < 3 || keywordLength > 4) return UNKNOWN;
  // The keyword is ASCII, so its octet length is its length in the decoded text too.
  const keyword = (space < 0 ? text : text.slice(0, keywordLength)).toUpperCase();
  const rest = space < 0 ? '' : text.slice(text.indexOf(' ') + 1);
  let args: string[];
  if (rest === '') args = NO_ARGS.slice();
  else if (rest.charCodeAt(0) !== 0x20 && rest.charCodeAt(rest.length - 1) !== 0x20 && !rest.includes('  ')) args = rest.split(' ');
  else args = rest.split(' ').filter((a) => a !== '');
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
