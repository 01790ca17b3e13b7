/** posthorn/mime: parse and compose Internet mail. */
export { parseMail, parseMailStream, type MailInput, type StreamOptions, type StreamedMail, type StreamedAttachmentInfo } from './parse.js';
export { MimeStreamParser, type PartSink } from './stream-parser.js';
export { composeMail, composeMailStream, envelopeFromOptions, formatMailbox, type ComposeOptions, type AttachmentInput, type AddressInput, type AddressListInput, type Envelope } from './compose.js';
export { parseAddressList, parseAddressListWithGroups, flattenAddresses, type Mailbox, type AddressGroup, type AddressEntry, type AddressListOptions } from './address.js';
export { decodeEncodedWords, encodeWords, encodeHeaderText, encodeDisplayName } from './encoded-word.js';
export { foldHeader, unfold, assertHeaderSafe, assertHeaderName, getHeader, getHeaders, parseHeaderField, type HeaderField } from './header.js';
export { parseParamValue, formatParam, type ParamValue } from './params.js';
export { decodeCharset, decodeUnlabelled, encodeCharset, normalizeCharset, isKnownCharset, canEncodeCharset, type DecodedText } from './charset.js';
export { Base64Decoder, decodeBase64, encodeBase64Lines } from './base64.js';
export { QuotedPrintableDecoder, decodeQuotedPrintable, encodeQuotedPrintable } from './qp.js';
export { parseMailDate, formatMailDate } from './date.js';
export { MimeError, type MimeErrorCode } from './errors.js';
export { DEFAULT_PARSE_OPTIONS, type ParsedMail, type ParseOptions, type MimePart, type Attachment } from './types.js';
