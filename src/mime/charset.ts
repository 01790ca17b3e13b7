/**
 * Charset names, decoding and encoding.
 *
 * Decoding prefers Node's TextDecoder (WHATWG decoders, ICU-backed), with three exceptions:
 * - windows-1252 (which WHATWG also uses for iso-8859-1 and us-ascii): Node 20 maps 0x80-0x9F to C1 controls instead
 *   of the euro sign and curly quotes (nodejs/node#56542), so we use latin1 plus our own table for that range.
 * - utf-7: not a WHATWG encoding; decoded with iconv-lite.
 * - anything TextDecoder does not know but iconv-lite does.
 * An unknown charset never throws: the bytes are returned as latin1 with a warning (soft error).
 * Encoding (for composing) uses iconv-lite, plus our own ISO-2022-JP encoder (iconv-lite has none).
 */
import iconv from 'iconv-lite';
import { TextDecoder } from 'node:util';
import { isUtf8 } from 'node:buffer';
import { encodeIso2022Jp } from './iso2022jp.js';

const ALIASES: Record<string, string> = {
  utf8: 'utf-8', 'unicode-1-1-utf-8': 'utf-8', 'x-unicode20utf8': 'utf-8',
  utf7: 'utf-7', 'unicode-1-1-utf-7': 'utf-7', 'x-unicode-2-0-utf-7': 'utf-7',
  'us-ascii': 'windows-1252', ascii: 'windows-1252', 'ansi_x3.4-1968': 'windows-1252', 'iso-ir-100': 'windows-1252',
  'iso-8859-1': 'windows-1252', latin1: 'windows-1252', 'latin-1': 'windows-1252', l1: 'windows-1252',
  cp1252: 'windows-1252', 'x-cp1252': 'windows-1252', cp819: 'windows-1252', ibm819: 'windows-1252',
  gb2312: 'gbk', 'x-gbk': 'gbk', cp936: 'gbk', ms936: 'gbk', 'windows-936': 'gbk', 'euc-cn': 'gbk', 'x-euc-cn': 'gbk',
  csgb2312: 'gbk', chinese: 'gbk', 'gb_2312-80': 'gbk', 'gb_2312': 'gbk', 'iso-ir-58': 'gbk', gb18030: 'gb18030',
  cp932: 'shift_jis', ms932: 'shift_jis', 'windows-31j': 'shift_jis', sjis: 'shift_jis', 'shift-jis': 'shift_jis',
  'x-sjis': 'shift_jis', ms_kanji: 'shift_jis', csshiftjis: 'shift_jis',
  'ks_c_5601-1987': 'euc-kr', ks_c_5601: 'euc-kr', 'ks_c_5601-1989': 'euc-kr', ksc5601: 'euc-kr', ksc_5601: 'euc-kr',
  cp949: 'euc-kr', uhc: 'euc-kr', 'windows-949': 'euc-kr', 'x-windows-949': 'euc-kr', korean: 'euc-kr', 'csksc56011987': 'euc-kr',
  'big5-hkscs': 'big5', 'cn-big5': 'big5', 'x-x-big5': 'big5', csbig5: 'big5', cp950: 'big5',
  csiso2022jp: 'iso-2022-jp', 'x-euc-jp': 'euc-jp', eucjp: 'euc-jp', 'x-mac-roman': 'macintosh', 'mac': 'macintosh',
  'utf-16': 'utf-16le', utf16: 'utf-16le', 'ucs-2': 'utf-16le',
};

/** Canonical lower-case charset name for a label as found in mail (`"GB2312"`, `cp1252`, `iso8859_15`, ...). */
export function normalizeCharset(label: string): string {
  let name = label.trim().replace(/^["']|["']$/g, '').toLowerCase();
  const star = name.indexOf('*'); // RFC 2231 language suffix in encoded words: utf-8*en
  if (star >= 0) name = name.slice(0, star);
  const iso = /^(?:iso)?[-_ ]?8859[-_ ]?(\d{1,2})(?::\d+)?$/.exec(name);
  if (iso) return iso[1] === '1' ? 'windows-1252' : `iso-8859-${iso[1]}`;
  const win = /^(?:windows|win|cp|x-cp)[-_]?(125\d)$/.exec(name);
  if (win) return `windows-${win[1]}`;
  return ALIASES[name] ?? name;
}

/** Node 20's windows-1252 decoder is wrong for 0x80-0x9F (nodejs/node#56542); this is the real table for that range. */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
];

export function decodeWindows1252(buf: Uint8Array): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = b.toString('latin1');
  if (!/[\x80-\x9f]/.test(text)) return text;
  return text.replace(/[\x80-\x9f]/g, (c) => String.fromCharCode(CP1252_HIGH[c.charCodeAt(0) - 0x80]));
}

const decoderCache = new Map<string, TextDecoder | null>();
function textDecoderFor(name: string): TextDecoder | null {
  let d = decoderCache.get(name);
  if (d === undefined) {
    try {
      d = new TextDecoder(name);
    } catch {
      d = null;
    }
    if (decoderCache.size < 200) decoderCache.set(name, d);
  }
  return d;
}

export interface DecodedText {
  text: string;
  /** The charset actually used (canonical name). */
  charset: string;
  /** Set when the charset was unknown (bytes given as latin1) or guessed. */
  warning?: string;
}

/** True when the charset name can be decoded (by TextDecoder, our own code or iconv-lite). */
export function isKnownCharset(label: string): boolean {
  const name = normalizeCharset(label);
  return name === 'utf-8' || name === 'windows-1252' || name === 'utf-7' || textDecoderFor(name) !== null || iconv.encodingExists(name);
}

/** Decode bytes in the given charset. Never throws: unknown charsets give latin1 text and a warning. */
export function decodeCharset(bytes: Uint8Array, label: string | undefined): DecodedText {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const name = label ? normalizeCharset(label) : 'utf-8';
  if (name === 'utf-8') return { text: buf.toString('utf8'), charset: name };
  if (name === 'windows-1252') return { text: decodeWindows1252(buf), charset: name };
  if (name === 'utf-7') return { text: iconv.decode(buf, 'utf7'), charset: name };
  const dec = name === 'replacement' ? null : textDecoderFor(name);
  if (dec) return { text: dec.decode(buf), charset: name };
  if (iconv.encodingExists(name)) return { text: iconv.decode(buf, name), charset: name };
  return { text: buf.toString('latin1'), charset: 'latin1', warning: `unknown charset "${label}", decoded as latin1` };
}

function fatalDecode(name: string, buf: Buffer): string | null {
  try {
    return new TextDecoder(name, { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

function countMatches(text: string, re: RegExp): number {
  let n = 0;
  re.lastIndex = 0;
  while (re.exec(text)) n++;
  return n;
}

/**
 * Decode bytes that carry no charset label (8-bit header text, QUIRK: RFC 5322 allows only ASCII there, RFC 6532 allows
 * UTF-8). UTF-8 first; otherwise guess between GB18030, Big5, Shift_JIS and EUC-KR from byte patterns and the
 * decoded script, and report the guess. Falls back to windows-1252.
 */
export function decodeUnlabelled(bytes: Uint8Array): DecodedText {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return { text: buf.toString('utf8'), charset: 'utf-8' }; // also covers plain ASCII
  const guess = guessLegacyCharset(buf);
  if (guess) return { text: guess.text, charset: guess.charset, warning: `unlabelled 8-bit text decoded as ${guess.charset} (guessed)` };
  return { text: decodeWindows1252(buf), charset: 'windows-1252', warning: 'unlabelled 8-bit text decoded as windows-1252 (guessed)' };
}

function guessLegacyCharset(buf: Buffer): { charset: string; text: string } | null {
  let high = 0;
  let isolated = 0; // high bytes between two ASCII bytes: Latin-1 style text (é in "café"), not double-byte CJK
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] >= 0x80) {
      high++;
      if ((i === 0 || buf[i - 1] < 0x80) && (i + 1 >= buf.length || buf[i + 1] < 0x80)) isolated++;
    }
  }
  if (high === 0 || isolated === high) return null;
  let lowTrail = 0; // 0x40-0x7E following a high byte: Big5/GBK/SJIS trail bytes, never EUC (GB2312, EUC-KR)
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c >= 0x80) {
      if (i + 1 < buf.length) {
        const t = buf[i + 1];
        if (t >= 0x40 && t <= 0x7e) lowTrail++;
        i++;
      }
    }
  }
  const candidates: Array<{ charset: string; text: string; score: number }> = [];
  const sjis = fatalDecode('shift_jis', buf);
  if (sjis !== null) {
    const kana = countMatches(sjis, /[\u3040-\u30ff]/g);
    const half = countMatches(sjis, /[\uff61-\uff9f]/g);
    if (kana > 0 && half * 4 <= kana) candidates.push({ charset: 'shift_jis', text: sjis, score: 3 + kana / sjis.length });
  }
  const kr = fatalDecode('euc-kr', buf);
  if (kr !== null && lowTrail === 0) {
    const hangul = countMatches(kr, /[\uac00-\ud7a3]/g);
    const nonAscii = countMatches(kr, /[^\x00-\x7f]/g);
    if (nonAscii > 0 && hangul / nonAscii >= 0.9) candidates.push({ charset: 'euc-kr', text: kr, score: 2 + hangul / nonAscii });
  }
  if (lowTrail > 0) {
    const big5 = fatalDecode('big5', buf);
    if (big5 !== null) candidates.push({ charset: 'big5', text: big5, score: 1.5 });
  }
  const gb = fatalDecode('gb18030', buf);
  if (gb !== null) candidates.push({ charset: 'gb18030', text: gb, score: lowTrail === 0 ? 1.6 : 1 });
  // private-use characters (user-defined rows) mean the bytes were not really in that charset (e.g. "üß" as GBK)
  const plausible = candidates.filter((c) => !/[\ue000-\uf8ff\ufffd]/.test(c.text));
  if (plausible.length === 0) return null;
  plausible.sort((a, b) => b.score - a.score);
  return { charset: plausible[0].charset, text: plausible[0].text };
}

/** Encode text in a charset for composing. Throws MimeError-free plain Error only for unknown charsets (checked first). */
export function encodeCharset(text: string, label: string): Buffer {
  const name = normalizeCharset(label);
  if (name === 'utf-8') return Buffer.from(text, 'utf8');
  if (name === 'iso-2022-jp') return encodeIso2022Jp(text);
  if (name === 'windows-1252' && /^[\x00-\xff]*$/.test(text) && !/[\x80-\x9f]/.test(text)) return Buffer.from(text, 'latin1');
  return iconv.encode(text, iconvName(name));
}

function iconvName(name: string): string {
  if (name === 'gbk') return 'gbk';
  return name;
}

/** True when composing in this charset is possible. */
export function canEncodeCharset(label: string): boolean {
  const name = normalizeCharset(label);
  return name === 'utf-8' || name === 'iso-2022-jp' || iconv.encodingExists(iconvName(name));
}

/** The label to write into headers for a charset the caller asked for (keeps their spelling of common names). */
export function charsetLabel(label: string): string {
  const lower = label.trim().toLowerCase();
  if (lower === 'utf8') return 'UTF-8';
  return lower === 'utf-8' ? 'UTF-8' : label.trim().toUpperCase();
}
