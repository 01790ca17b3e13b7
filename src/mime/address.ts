/**
 * Address lists (RFC 5322 section 3.4): display names (atoms, quoted strings, encoded words), comments, groups,
 * obsolete forms, IDN domains and UTF-8 local parts (RFC 6532). One linear pass tokenizes, one linear pass assembles:
 * no backtracking regular expressions, so hostile input costs linear time. Never throws on bad input; the result is
 * what can be recovered.
 */
import { decodeEncodedWords } from './encoded-word.js';

export interface Mailbox {
  /** Display name, decoded ('' when none). */
  name: string;
  /** addr-spec as written ('' for an empty group member placeholder never occurs). */
  address: string;
  /** Name of the group this mailbox was listed in, if any. */
  group?: string;
}

export interface AddressGroup {
  name: string;
  group: Mailbox[];
}

export type AddressEntry = Mailbox | AddressGroup;

export interface AddressListOptions {
  /** Stop after this many mailboxes (default 10000); `truncated` is set on the result. */
  maxAddresses?: number;
}

type Token =
  | { t: 'word'; v: string; quoted: boolean; spaceBefore: boolean }
  | { t: 'comment'; v: string }
  | { t: 'special'; v: '<' | '>' | '@' | ',' | ';' | ':' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  const n = input.length;
  let i = 0;
  let space = false;
  while (i < n) {
    const c = input[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      space = true;
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < n && input[i] !== '"') {
        if (input[i] === '\\' && i + 1 < n) i++;
        v += input[i++];
      }
      i++;
      tokens.push({ t: 'word', v, quoted: true, spaceBefore: space });
      space = false;
    } else if (c === '(') {
      let depth = 1;
      let v = '';
      i++;
      while (i < n && depth > 0) {
        const d = input[i];
        if (d === '\\' && i + 1 < n) {
          v += input[i + 1];
          i += 2;
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')') {
          depth--;
          if (depth === 0) break;
        }
        v += d;
        i++;
      }
      i++;
      tokens.push({ t: 'comment', v: v.trim() });
      space = true;
    } else if (c === '<' || c === '>' || c === '@' || c === ',' || c === ';' || c === ':') {
      tokens.push({ t: 'special', v: c });
      space = false;
      i++;
    } else {
      let j = i;
      while (j < n) {
        const d = input[j];
        if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === '"' || d === '(' || d === '<' || d === '>' || d === '@' || d === ',' || d === ';' || d === ':') break;
        j++;
      }
      tokens.push({ t: 'word', v: input.slice(i, j), quoted: false, spaceBefore: space });
      space = false;
      i = j;
    }
  }
  return tokens;
}

/** Join phrase words with single spaces, decoding encoded words (also inside quotes, a common QUIRK). */
function phraseText(words: Array<{ v: string; quoted: boolean }>): string {
  const joined = words.map((w) => w.v).join(' ');
  return decodeEncodedWords(joined).replace(/\s+/g, ' ').trim();
}

class Builder {
  entries: AddressEntry[] = [];
  count = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  add(m: Mailbox, group: AddressGroup | null): void {
    if (this.count >= this.max) {
      this.truncated = true;
      return;
    }
    this.count++;
    if (group) group.group.push({ ...m, group: group.name });
    else this.entries.push(m);
  }
}

/** Parse an address list into mailboxes and groups. */
export function parseAddressListWithGroups(input: string, options: AddressListOptions = {}): { entries: AddressEntry[]; truncated: boolean } {
  const b = new Builder(options.maxAddresses ?? 10000);
  const tokens = tokenize(input);
  let group: AddressGroup | null = null;
  let phrase: Array<{ v: string; quoted: boolean }> = [];
  let spec = ''; // addr-spec text collected outside angle brackets
  let angle: string | null = null;
  let inAngle = false;
  let comments: string[] = [];
  const flush = (): void => {
    if (b.truncated) return;
    if (angle !== null) {
      const address = angle.trim();
      const name = phrase.length ? phraseText(phrase) : comments.length ? decodeEncodedWords(comments.join(' ')) : '';
      if (address || name) b.add({ name, address }, group);
    } else {
      // bare addr-spec: words and "@" joined without spaces; a trailing comment is the old way to give a name
      const address = (spec || phrase.map((w) => (w.quoted ? `"${w.v}"` : w.v)).join('')).trim();
      const name = comments.length ? decodeEncodedWords(comments.join(' ')).trim() : '';
      if (address) b.add({ name, address }, group);
    }
    phrase = [];
    spec = '';
    angle = null;
    comments = [];
  };
  for (const tok of tokens) {
    if (b.truncated) break;
    if (inAngle) {
      if (tok.t === 'special' && tok.v === '>') inAngle = false;
      else if (tok.t === 'word') angle += tok.quoted ? `"${tok.v}"` : tok.v;
      else if (tok.t === 'special' && tok.v === '@') angle += '@';
      else if (tok.t === 'special' && tok.v === ':') angle = ''; // obsolete route: <@a,@b:user@host>
      else if (tok.t === 'special' && tok.v === ',') angle += ''; // route separator
      continue;
    }
    if (tok.t === 'comment') {
      if (tok.v) comments.push(tok.v);
      continue;
    }
    if (tok.t === 'word') {
      if (spec) spec += tok.quoted ? `"${tok.v}"` : tok.v;
      else phrase.push(tok);
      continue;
    }
    switch (tok.v) {
      case '<':
        inAngle = true;
        angle = '';
        break;
      case '@':
        // addr-spec outside brackets: local part is the phrase so far
        if (!spec) spec = phrase.map((w) => (w.quoted ? `"${w.v}"` : w.v)).join('');
        spec += '@';
        phrase = [];
        break;
      case ',':
        flush();
        break;
      case ':':
        if (group === null && angle === null && !spec) {
          group = { name: phraseText(phrase), group: [] };
          phrase = [];
          comments = [];
        } else if (spec) spec += ':';
        break;
      case ';':
        flush();
        if (group) {
          b.entries.push(group);
          group = null;
        }
        break;
      case '>':
        break;
    }
  }
  flush();
  if (group) b.entries.push(group);
  return { entries: b.entries, truncated: b.truncated };
}

/**
 * Parse an address list into a flat list of mailboxes (group members included, with `group` set), e.g.
 * `Kris Arndt <karn@nucleus.com>,npl@nucleus.com`.
 */
export function parseAddressList(input: string, options: AddressListOptions = {}): Mailbox[] {
  return flattenAddresses(parseAddressListWithGroups(input, options).entries);
}

export function flattenAddresses(entries: AddressEntry[]): Mailbox[] {
  const out: Mailbox[] = [];
  for (const e of entries) {
    if ('group' in e && Array.isArray(e.group)) out.push(...e.group);
    else out.push(e as Mailbox);
  }
  return out;
}
