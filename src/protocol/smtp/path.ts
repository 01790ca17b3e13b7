/**
 * RFC 5321 section 4.1.2 paths, as in MAIL FROM:<reverse-path> and RCPT TO:<forward-path>, with the RFC 6531
 * (SMTPUTF8) extension of atext, qtext and sub-domains to UTF-8.
 *
 *   Path = "<" [ A-d-l ":" ] Mailbox ">"      A-d-l = At-domain *( "," At-domain )   At-domain = "@" Domain
 *   Mailbox = Local-part "@" ( Domain / address-literal )   Local-part = Dot-string / Quoted-string
 *
 * A source route (A-d-l) is parsed and dropped: RFC 5321 appendix C says a server SHOULD ignore it and deliver to the
 * mailbox, so <@a:u@b> is treated as <u@b> (and relay policy applies to b).
 */
export interface ParsedPath {
  /** '' for the null reverse-path <>; "Postmaster" for the special forward-path <Postmaster>. */
  address: string;
  localPart: string;
  domain: string;
  /** The local part was written as a quoted string that is not also a valid dot-string. */
  quoted: boolean;
  /** A source route was present (and ignored). */
  sourceRoute: boolean;
  /** Contains non-ASCII characters (needs SMTPUTF8). */
  utf8: boolean;
}

export type PathResult = { ok: true; path: ParsedPath; rest: string } | { ok: false; reason: 'syntax' | 'too-long' };

const MAX_LOCAL = 64;
const MAX_DOMAIN = 255;
const MAX_PATH = 256;

// atext (RFC 5322 3.2.3) plus any non-ASCII character (RFC 6531 UTF8-non-ascii).
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\u0080-\\uFFFF-]+";
const DOT_STRING = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`);
// sub-domain = Let-dig [Ldh-str]; U-labels allowed (RFC 6531).
const LABEL = '[A-Za-z0-9\\u0080-\\uFFFF](?:[A-Za-z0-9\\u0080-\\uFFFF-]*[A-Za-z0-9\\u0080-\\uFFFF])?';
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const GENERAL_LITERAL = /^[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+$/;
const NON_ASCII = /[^\x00-\x7f]/;

export function isDomain(text: string): boolean {
  return text.length <= MAX_DOMAIN && DOMAIN.test(text);
}

export function isAddressLiteral(text: string): boolean {
  if (!text.startsWith('[') || !text.endsWith(']')) return false;
  const inner = text.slice(1, -1);
  if (IPV4.test(inner)) return true;
  if (/^IPv6:/i.test(inner)) return isIPv6(inner.slice(5));
  return GENERAL_LITERAL.test(inner) && !/^IPv6:/i.test(inner);
}

function isIPv6(text: string): boolean {
  // Accept the RFC 5321 forms (full, compressed, with embedded IPv4) by structure.
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let groups = text.split(':');
  const last = groups[groups.length - 1];
  let extra = 0;
  if (last.includes('.')) {
    if (!IPV4.test(last)) return false;
    groups = groups.slice(0, -1);
    extra = 2;
  }
  const compressed = text.indexOf('::');
  if (compressed !== text.lastIndexOf('::')) return false;
  const hex = groups.filter((g) => g !== '');
  if (!hex.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return compressed >= 0 ? hex.length + extra <= 7 : hex.length + extra === 8;
}

/** The local part of a Quoted-string, unescaped; null when not a valid Quoted-string. */
function unquote(text: string, utf8: boolean): string | null {
  let out = '';
  for (let i = 1; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      const n = text.charCodeAt(++i);
      if (!(n >= 32 && n <= 126)) return null;
      out += text[i];
    } else if (c === 32 || c === 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126) || (utf8 && c >= 0x80)) {
      out += text[i];
    } else {
      return null;
    }
  }
  return out;
}

/**
 * Parse a path at the start of `text` ("<...>" then maybe " PARAMS"). `allowNull` for MAIL FROM:<>,
 * `allowPostmaster` for RCPT TO:<Postmaster>. UTF-8 is recognised (and flagged) either way; the caller decides whether
 * SMTPUTF8 was given.
 */
export function parsePath(text: string, options: { allowNull?: boolean; allowPostmaster?: boolean } = {}): PathResult {
  if (text[0] !== '<') return { ok: false, reason: 'syntax' };
  // Find the closing ">" outside a quoted string.
  let end = -1;
  let inQuote = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (c === '"') inQuote = true;
    else if (c === '>') {
      end = i;
      break;
    } else if (c === '<' || c === ' ') return { ok: false, reason: 'syntax' };
  }
  if (end < 0) return { ok: false, reason: 'syntax' };
  const rest = text.slice(end + 1);
  if (rest !== '' && rest[0] !== ' ') return { ok: false, reason: 'syntax' };
  let inner = text.slice(1, end);
  if (Buffer.byteLength(inner) + 2 > MAX_PATH) return { ok: false, reason: 'too-long' };
  const utf8 = NON_ASCII.test(inner);
  if (inner === '') {
    return options.allowNull
      ? { ok: true, path: { address: '', localPart: '', domain: '', quoted: false, sourceRoute: false, utf8: false }, rest }
      : { ok: false, reason: 'syntax' };
  }
  if (options.allowPostmaster && inner.toLowerCase() === 'postmaster') {
    return { ok: true, path: { address: 'Postmaster', localPart: 'Postmaster', domain: '', quoted: false, sourceRoute: false, utf8: false }, rest };
  }
  let sourceRoute = false;
  if (inner[0] === '@') {
    const colon = inner.indexOf(':');
    if (colon < 0) return { ok: false, reason: 'syntax' };
    for (const hop of inner.slice(0, colon).split(',')) {
      if (hop[0] !== '@' || !(isDomain(hop.slice(1)) || isAddressLiteral(hop.slice(1)))) return { ok: false, reason: 'syntax' };
    }
    inner = inner.slice(colon + 1);
    sourceRoute = true;
  }
  const at = inner.lastIndexOf('@');
  if (at <= 0) return { ok: false, reason: 'syntax' };
  const rawLocal = inner.slice(0, at);
  const domain = inner.slice(at + 1);
  if (!(isDomain(domain) || isAddressLiteral(domain))) return { ok: false, reason: 'syntax' };
  let localPart: string;
  let quoted = false;
  if (rawLocal[0] === '"') {
    if (rawLocal.length < 2 || rawLocal[rawLocal.length - 1] !== '"') return { ok: false, reason: 'syntax' };
    const unq = unquote(rawLocal, utf8);
    if (unq === null) return { ok: false, reason: 'syntax' };
    localPart = unq;
    // "john.doe" is the same mailbox as john.doe: keep the quotes only where they are needed.
    quoted = !DOT_STRING.test(unq);
  } else {
    if (!DOT_STRING.test(rawLocal)) return { ok: false, reason: 'syntax' };
    localPart = rawLocal;
  }
  if (Buffer.byteLength(localPart) > MAX_LOCAL) return { ok: false, reason: 'too-long' };
  const shownLocal = quoted ? `"${localPart.replace(/(["\\])/g, '\\$1')}"` : localPart;
  return { ok: true, path: { address: `${shownLocal}@${domain}`, localPart, domain, quoted, sourceRoute, utf8 }, rest };
}

/** Characters in a local part that old software treats as routing (%-hack, bang paths, a quoted "@"). */
export function hasRoutingCharacters(localPart: string): boolean {
  return /[%!@]/.test(localPart);
}
