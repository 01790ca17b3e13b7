/** SMTP protocol codec: pure, no I/O. Used by the server (src/server/smtp) and the client (src/client). */
export { SmtpError } from './error.js';
export { REPLIES, formatReply, formatSpec, replyLine, type ReplySpec, type ReplyName } from './replies.js';
export { parseCommandLine, parsePathArgument, parseBdatArgument, HTTP_VERBS, type CommandLine, type PathArgument } from './command.js';
export { parsePath, isDomain, isAddressLiteral, hasRoutingCharacters, type ParsedPath, type PathResult } from './path.js';
export { parseMailParams, parseRcptParams, decodeXtext, encodeXtext, type MailParams, type RcptParams } from './params.js';
export { LineReader, TOO_LONG, ABUSE, type LineRead } from './line-reader.js';
export { DataDecoder, type DataDecoderOptions } from './data-decoder.js';
export { TextChecker } from './bdat.js';
