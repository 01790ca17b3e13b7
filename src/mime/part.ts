/** A MIME part from its headers: content type, parameters, disposition, filename, Content-ID, transfer decoder. */
import { Base64Decoder } from './base64.js';
import { QuotedPrintableDecoder } from './qp.js';
import { getHeader, structuredText } from './header.js';
import { parseParamValue } from './params.js';
import type { MimePart } from './types.js';

export interface ContentDecoder {
  update(chunk: Buffer): Buffer;
  final(): Buffer;
}

class IdentityDecoder implements ContentDecoder {
  update(chunk: Buffer): Buffer {
    return chunk;
  }
  final(): Buffer {
    return Buffer.alloc(0);
  }
}

export function newPart(path: string, defaultType: string): MimePart {
  return {
    path, headers: [], contentType: defaultType, params: Object.create(null) as Record<string, string>, disposition: null,
    dispositionParams: Object.create(null) as Record<string, string>, transferEncoding: '7bit', children: [], size: 0, isBody: false,
  };
}

/** Fill in the part's description from its headers (part.headers must be set). */
export function describePart(part: MimePart, warn: (w: string) => void): void {
  const ct = getHeader(part.headers, 'content-type');
  if (ct) {
    const p = parseParamValue(structuredText(ct, warn), warn);
    if (/^[^\s/]+\/[^\s/]+$/.test(p.value)) part.contentType = p.value;
    else warn(`invalid Content-Type "${p.value}"; using ${part.contentType}`);
    part.params = p.params;
    if (p.params.charset) part.charset = p.params.charset.trim();
  }
  const cd = getHeader(part.headers, 'content-disposition');
  if (cd) {
    const p = parseParamValue(structuredText(cd, warn), warn);
    part.disposition = p.value || null;
    part.dispositionParams = p.params;
  }
  const filename = part.dispositionParams.filename ?? part.params.name;
  if (filename) part.filename = filename;
  const cid = getHeader(part.headers, 'content-id');
  if (cid) part.contentId = cid.value.trim().replace(/^<|>$/g, '');
  const cte = getHeader(part.headers, 'content-transfer-encoding');
  if (cte) part.transferEncoding = cte.value.trim().toLowerCase() || '7bit';
}

/** Text shown as the message body rather than offered as an attachment. */
export function isBodyText(part: MimePart): boolean {
  return (part.contentType === 'text/plain' || part.contentType === 'text/html') && part.disposition !== 'attachment' && !part.filename;
}

export function decoderFor(part: MimePart, warn: (w: string) => void): ContentDecoder {
  switch (part.transferEncoding) {
    case 'base64':
      return new Base64Decoder();
    case 'quoted-printable':
      return new QuotedPrintableDecoder();
    case '7bit':
    case '8bit':
    case 'binary':
      return new IdentityDecoder();
    default:
      warn(`unknown Content-Transfer-Encoding "${part.transferEncoding}"; content left as is`);
      return new IdentityDecoder();
  }
}
