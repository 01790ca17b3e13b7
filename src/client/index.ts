/** posthorn/client: SMTP client (connection, pool, sendMail), PHP-style mail(), POP3 client. */
export { SmtpConnection, DEFAULT_TIMEOUTS, defaultEhloName, type SmtpClientOptions, type SmtpTimeouts, type TlsMode } from './smtp/connection.js';
export { SmtpConnectionError, type TlsSettings } from './smtp/channel.js';
export { SmtpAuthError, type SmtpAuth, type ClientAuthMechanism } from './smtp/auth.js';
export { EnvelopeError, xtext, type SmtpEnvelope, type SmtpRecipient } from './smtp/envelope.js';
export { SmtpTransactionError, type MessageSource, type SendResult, type RecipientResult, type TransactionStage } from './smtp/transaction.js';
export { SmtpPool, SmtpPoolError, type SmtpPoolOptions } from './smtp/pool.js';
export { ReplyReader, ReplyProtocolError, type SmtpReply, type ReplyLimits } from './smtp/reply-reader.js';
export { DataEncoder, encodeMessage } from './smtp/data-encoder.js';
export { parseSmtpUrl, redactUrl, SmtpUrlError, type ParsedSmtpUrl } from './url.js';
export { localSocketPath, resolveSubmission, LOCAL_SOCKET_NAME, type SubmissionTarget } from './local.js';
export { createTransport, transportOptions, type Transport, type TransportOptions, type MailOptions, type SentMessageInfo } from './transport.js';
export { mail, mailDetailed, configureMail, buildPhpMail, MailArgumentError, type AdditionalHeaders, type MailResult } from './mail.js';
export { SmtpError } from '../protocol/smtp/error.js';
export { Pop3Client, Pop3ClientError, type Pop3ClientOptions, type Pop3AuthMethod, type Pop3TlsMode, type ListEntry, type UidEntry } from './pop3/client.js';
export { fetchMail, type FetchOptions, type FetchResult, type FetchProgress } from './pop3/fetch.js';
export { parsePop3Url, type ParsedPop3Url } from './pop3/url.js';
export { EX, exitCodeFor } from './sysexits.js';
