/**
 * ISO-2022-JP encoder (RFC 1468), which iconv-lite lacks. Text is encoded as EUC-JP first; JIS X 0208 pairs are then
 * shifted to 7 bits inside ESC $ B ... ESC ( B. Half-width katakana (not allowed in ISO-2022-JP) become full-width;
 * characters outside JIS X 0208 become '?'. Output always ends in ASCII mode, so every piece is self-contained
 * (RFC 2047 requires that of each encoded word).
 */
import iconv from 'iconv-lite';

const ESC_JIS = [0x1b, 0x24, 0x42];
const ESC_ASCII = [0x1b, 0x28, 0x42];

export function encodeIso2022Jp(text: string): Buffer {
  const normalized = text.replace(/[\uff61-\uff9f]+/g, (s) => s.normalize('NFKC'));
  const euc = iconv.encode(normalized, 'euc-jp');
  const out: number[] = [];
  let jis = false;
  for (let i = 0; i < euc.length; i++) {
    const c = euc[i];
    if (c < 0x80) {
      if (jis) {
        out.push(...ESC_ASCII);
        jis = false;
      }
      out.push(c);
    } else if (c === 0x8f) {
      i += 2; // JIS X 0212: not representable
      if (jis) {
        out.push(...ESC_ASCII);
        jis = false;
      }
      out.push(0x3f);
    } else if (c === 0x8e) {
      i += 1; // half-width katakana left after normalisation (should not happen)
      if (jis) {
        out.push(...ESC_ASCII);
        jis = false;
      }
      out.push(0x3f);
    } else {
      const t = euc[i + 1] ?? 0xa1;
      i++;
      if (!jis) {
        out.push(...ESC_JIS);
        jis = true;
      }
      out.push(c & 0x7f, t & 0x7f);
    }
  }
  if (jis) out.push(...ESC_ASCII);
  return Buffer.from(out);
}
