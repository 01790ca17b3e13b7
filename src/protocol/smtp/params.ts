/**
 * ESMTP parameters of MAIL and RCPT (RFC 5321 4.1.2 esmtp-param = esmtp-keyword ["=" esmtp-value]):
 * SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461, xtext values),
 * AUTH (RFC 4954, accepted and ignored).
 */
/** RFC 3461 NOTIFY: NEVER, or any of SUCCESS, FAILURE, DELAY. */
export type DsnNotify = 'NEVER' | Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;

export type ParamError = 'syntax' | 'duplicate' | 'unknown' | 'bad-value';

export interface MailParams {
  size?: number;
  body: '7BIT' | '8BITMIME' | 'BINARYMIME';
  smtputf8: boolean;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

export interface RcptParams {
  notify?: DsnNotify;
  orcpt?: string;
}

export type ParamsResult<T> = { ok: true; params: T } | { ok: false; error: ParamError; keyword?: string };

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value = 1*(%d33-60 / %d62-126), and UTF-8 with SMTPUTF8 (RFC 6531 3.3).
const VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\uFFFF]+$/;

/** Split " KEY=VALUE KEY2" into pairs; keywords upper-cased. */
export function splitParams(text: string): Array<{ keyword: string; value: string | null }> | null {
  const out: Array<{ keyword: string; value: string | null }> = [];
  for (const item of text.split(' ')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const keyword = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? null : item.slice(eq + 1);
    if (!KEYWORD.test(keyword) || (value !== null && !VALUE.test(value))) return null;
    out.push({ keyword: keyword.toUpperCase(), value });
  }
  return out;
}

/** RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" 2HEXDIG (upper case). Null when malformed. */
export function decodeXtext(text: string): string | null {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (c >= 33 && c <= 126 && c !== 0x3d) {
      out += text[i];
    } else {
      return null;
    }
  }
  return out;
}

export function encodeXtext(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 33 && byte <= 126 && byte !== 0x2b && byte !== 0x3d ? String.fromCharCode(byte) : '+' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function parseMailParams(text: string, offered: { dsn: boolean; binary: boolean }): ParamsResult<MailParams> {
  const pairs = splitParams(text);
  if (!pairs) return { ok: false, error: 'syntax' };
  const params: MailParams = { body: '7BIT', smtputf8: false };
  const seen = new Set<string>();
  for (const { keyword, value } of pairs) {
    if (seen.has(keyword)) return { ok: false, error: 'duplicate', keyword };
    seen.add(keyword);
    switch (keyword) {
      case 'SIZE':
        if (value === null || !/^\d{1,20}$/.test(value)) return { ok: false, error: 'bad-value', keyword };
        params.size = Number(value);
        break;
      case 'BODY': {
        const v = value?.toUpperCase();
        if (v === '7BIT' || v === '8BITMIME' || (v === 'BINARYMIME' && offered.binary)) params.body = v;
        else return { ok: false, error: 'bad-value', keyword };
        break;
      }
      case 'SMTPUTF8':
        if (value !== null) return { ok: false, error: 'bad-value', keyword };
        params.smtputf8 = true;
        break;
      case 'RET': {
        if (!offered.dsn) return { ok: false, error: 'unknown', keyword };
        const v = value?.toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') return { ok: false, error: 'bad-value', keyword };
        params.ret = v;
        break;
      }
      case 'ENVID': {
        if (!offered.dsn) return { ok: false, error: 'unknown', keyword };
        const v = value === null ? null : decodeXtext(value);
        if (v === null || v.length > 100 || /[^\x20-\x7e]/.test(v)) return { ok: false, error: 'bad-value', keyword };
        params.envid = v;
        break;
      }
      case 'AUTH':
        // RFC 4954 5: the server may ignore the AUTH parameter; its value must still be xtext.
        if (value === null || decodeXtext(value) === null) return { ok: false, error: 'bad-value', keyword };
        break;
      default:
        return { ok: false, error: 'unknown', keyword };
    }
  }
  return { ok: true, params };
}

export function parseRcptParams(text: string, offered: { dsn: boolean }): ParamsResult<RcptParams> {
  const pairs = splitParams(text);
  if (!pairs) return { ok: false, error: 'syntax' };
  const params: RcptParams = {};
  const seen = new Set<string>();
  for (const { keyword, value } of pairs) {
    if (seen.has(keyword)) return { ok: false, error: 'duplicate', keyword };
    seen.add(keyword);
    if (!offered.dsn || (keyword !== 'NOTIFY' && keyword !== 'ORCPT')) return { ok: false, error: 'unknown', keyword };
    if (value === null) return { ok: false, error: 'bad-value', keyword };
    if (keyword === 'NOTIFY') {
      const items = value.toUpperCase().split(',');
      if (items.length === 1 && items[0] === 'NEVER') params.notify = 'NEVER';
      else {
        const set = new Set(items);
        if (set.size !== items.length || !items.every((i) => i === 'SUCCESS' || i === 'FAILURE' || i === 'DELAY')) {
          return { ok: false, error: 'bad-value', keyword };
        }
        params.notify = items as Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;
      }
    } else {
      // ORCPT=addr-type ";" xtext  (RFC 3461 4.2); kept decoded as "type;address".
      const semi = value.indexOf(';');
      const type = value.slice(0, semi);
      const addr = semi > 0 ? decodeXtext(value.slice(semi + 1)) : null;
      if (semi <= 0 || !/^[A-Za-z0-9-]+$/.test(type) || addr === null || addr === '' || value.length > 500) {
        return { ok: false, error: 'bad-value', keyword };
      }
      params.orcpt = `${type};${addr}`;
    }
  }
  return { ok: true, params };
}
