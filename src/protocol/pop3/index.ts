/** POP3 codec: line reader, command parser, responses, byte-stuffing, Pop3Error. Pure: no sockets, no storage. */
export { LineReader, DEFAULT_MAX_LINE_LENGTH, type LineEvent } from './line-reader.js';
export { parseCommand, parseMessageNumber, parseLineCount, MAX_ARGUMENT_LENGTH, type Pop3Command, type ParsedCommand } from './command.js';
export { Pop3Error, type Pop3ResponseCode } from './error.js';
export { ok, err, multiLine, continuation } from './response.js';
export { stuffBuffer, terminatorFor, DotStuffer, TERMINATOR } from './stuffing.js';
