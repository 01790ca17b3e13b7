/** posthorn: the library entry. Submodules: posthorn/mime, posthorn/client. */
export { SmtpError } from './protocol/smtp/error.js';
export { StoreError } from './store/types.js';
export type { MailStore, DeliveryTransaction, Maildrop, MaildropEntry, StoredMessage } from './store/types.js';
export type { Directory, RecipientResolution } from './directory/types.js';
export { MemoryStore } from './store/memory.js';
export { MemoryDirectory } from './directory/memory.js';
export { createLogger, type Logger } from './observability/log.js';
export { MaildirStore, createMaildirStore, type MaildirStoreOptions } from './store/maildir/index.js';
export { deliverBuffer, deliverStream } from './store/deliver.js';
export { parseMail, parseMailStream, composeMail, composeMailStream, envelopeFromOptions, parseAddressList, MimeError } from './mime/index.js';
export type { ParsedMail, ParseOptions, ComposeOptions, Mailbox, Attachment, MimePart } from './mime/index.js';
export { Pop3Server, type Pop3ServerOptions, type Pop3ListenerKind } from './server/pop3/index.js';
export { Pop3Error, type Pop3ResponseCode } from './protocol/pop3/error.js';
