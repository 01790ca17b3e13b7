/**
 * The one table of SMTP replies the server sends: code, enhanced status code (RFC 3463, sent on every 2xx/4xx/5xx
 * reply as RFC 2034 asks, except the greeting and the HELO/EHLO answer) and text. Tests import it to check transcripts,
 * so a reply changes in one place.
 */
export interface ReplySpec {
  readonly code: number;
  /** null for replies that carry no enhanced code (greeting, 334/354 intermediates). */
  readonly enhanced: string | null;
  readonly text: string;
}

const r = (code: number, enhanced: string | null, text: string): ReplySpec => ({ code, enhanced, text });

export const REPLIES = {
  // Session
  bye: r(221, '2.0.0', 'Bye'),
  ok: r(250, '2.0.0', 'OK'),
  reset: r(250, '2.0.0', 'Reset state'),
  help: r(214, '2.0.0', 'Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP AUTH STARTTLS; see RFC 5321'),
  vrfy: r(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  expn: r(502, '5.5.1', 'EXPN not available'),
  notImplemented: r(502, '5.5.1', 'Command not implemented'),
  unknownCommand: r(500, '5.5.2', 'Command unrecognized'),
  lineTooLong: r(500, '5.5.2', 'Line too long'),
  lineTooLongClosing: r(500, '5.5.2', 'Line too long; closing connection'),
  syntax: r(501, '5.5.4', 'Syntax error in parameters or arguments'),
  noArgsExpected: r(501, '5.5.4', 'Syntax error: no parameters allowed'),
  badSequence: r(503, '5.5.1', 'Bad sequence of commands'),
  sendHelloFirst: r(503, '5.5.1', 'Send HELO/EHLO first'),
  sendEhloFirst: r(503, '5.5.1', 'Send EHLO first (extension not available after HELO)'),
  earlyTalker: r(554, '5.5.0', 'Protocol error: data sent before the greeting; closing'),
  httpRequest: r(554, '5.7.0', 'This is an SMTP server, not an HTTP server; closing'),
  tooManyErrors: r(421, '4.7.0', 'Too many errors; closing connection'),
  tooManyCommands: r(421, '4.7.0', 'Too many commands without a transaction; closing connection'),
  tooManyConnections: r(421, '4.7.0', 'Too many connections; try again later'),
  tooManyConnectionsFromIp: r(421, '4.7.0', 'Too many connections from your address; try again later'),
  timeout: r(421, '4.4.2', 'Timeout exceeded; closing connection'),
  shuttingDown: r(421, '4.3.2', 'Service closing'),

  // MAIL / RCPT
  senderOk: r(250, '2.1.0', 'Sender OK'),
  recipientOk: r(250, '2.1.5', 'Recipient OK'),
  nestedMail: r(503, '5.5.1', 'Nested MAIL command'),
  needMail: r(503, '5.5.1', 'Need MAIL before RCPT'),
  needRcpt: r(503, '5.5.1', 'Need RCPT before DATA'),
  mailSyntax: r(501, '5.5.2', 'Syntax: MAIL FROM:<address> [parameters]'),
  rcptSyntax: r(501, '5.5.2', 'Syntax: RCPT TO:<address> [parameters]'),
  badSender: r(501, '5.1.7', 'Bad sender address syntax'),
  badRecipient: r(501, '5.1.3', 'Bad recipient address syntax'),
  badParameter: r(501, '5.5.4', 'Invalid parameter value'),
  duplicateParameter: r(501, '5.5.4', 'Duplicate parameter'),
  unknownParameter: r(555, '5.5.4', 'Parameter not recognized or not implemented'),
  utf8NeedsSmtputf8: r(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter (RFC 6531)'),
  sizeExceeded: r(552, '5.3.4', 'Message size exceeds fixed maximum message size'),
  tooManyRecipients: r(452, '4.5.3', 'Too many recipients'),
  unknownUser: r(550, '5.1.1', 'No such user here'),
  relayDenied: r(554, '5.7.1', 'Relay access denied: this server accepts mail only for its own domains'),
  routingDenied: r(554, '5.7.1', 'Relay access denied: routing characters (%, !, @) in the local part are not accepted'),
  noOutboundQueue: r(551, '5.7.1', 'User not local and outbound delivery is not configured on this server'),
  authRequired: r(530, '5.7.0', 'Authentication required'),
  directoryFailure: r(451, '4.3.0', 'Temporary failure looking up the recipient; try again later'),

  // DATA / BDAT
  startData: r(354, null, 'Start mail input; end with <CRLF>.<CRLF>'),
  dataWithBinary: r(503, '5.5.1', 'BODY=BINARYMIME requires BDAT, not DATA'),
  dataAfterBdat: r(503, '5.5.1', 'DATA not allowed after BDAT in the same transaction'),
  bdatSyntax: r(501, '5.5.4', 'Syntax: BDAT <size> [LAST]; closing connection'),
  bareLineEnding: r(550, '5.6.0', 'Message contains a bare CR or LF (RFC 5321 2.3.8); use CRLF line endings'),
  dataLineTooLong: r(500, '5.6.0', 'Message contains a line longer than the limit (RFC 5321 4.5.3.1.6)'),
  storeFull: r(452, '4.3.1', 'Insufficient system storage'),
  storeFailed: r(451, '4.3.0', 'Local error in processing; try again later'),

  // STARTTLS
  startTls: r(220, '2.0.0', 'Ready to start TLS'),
  tlsUnavailable: r(454, '4.7.0', 'TLS not available'),
  tlsAlreadyActive: r(503, '5.5.1', 'TLS already active'),

  // AUTH
  authOk: r(235, '2.7.0', 'Authentication successful'),
  authFailed: r(535, '5.7.8', 'Authentication credentials invalid'),
  authCancelled: r(501, '5.7.0', 'Authentication cancelled'),
  authBadBase64: r(501, '5.5.2', 'Cannot decode response'),
  authMalformed: r(501, '5.5.2', 'Malformed authentication response'),
  authLineTooLong: r(500, '5.5.6', 'Authentication exchange line is too long'),
  authUnknownMechanism: r(504, '5.5.4', 'Unrecognized authentication type'),
  authNeedsTls: r(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  authNotAvailable: r(502, '5.5.1', 'AUTH not available on this port'),
  authAlready: r(503, '5.5.1', 'Already authenticated'),
  authInTransaction: r(503, '5.5.1', 'AUTH not allowed during a mail transaction'),
  authThrottled: r(454, '4.7.0', 'Too many failed authentication attempts; try again later'),
  authTemporary: r(454, '4.7.0', 'Temporary authentication failure'),
} as const satisfies Record<string, ReplySpec>;

export type ReplyName = keyof typeof REPLIES;

/** The wire form of one reply (one line, or several joined with "-"), with the final CRLF. */
export function formatReply(code: number, enhanced: string | null, text: string | readonly string[]): string {
  const lines = typeof text === 'string' ? text.split(/\r?\n/) : text;
  const prefix = enhanced ? `${enhanced} ` : '';
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    out += `${code}${i === lines.length - 1 ? ' ' : '-'}${prefix}${lines[i]}\r\n`;
  }
  return out;
}

export function formatSpec(spec: ReplySpec, extra?: string): string {
  return formatReply(spec.code, spec.enhanced, extra ? `${spec.text} ${extra}` : spec.text);
}

/** The reply line for a table entry as a test would see it, without CRLF: "550 5.1.1 No such user here". */
export function replyLine(spec: ReplySpec): string {
  return `${spec.code} ${spec.enhanced ? spec.enhanced + ' ' : ''}${spec.text}`;
}
