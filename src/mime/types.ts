import type { HeaderField } from './header.js';
import type { Mailbox } from './address.js';

/** One node of the MIME tree. */
export interface MimePart {
  /** Position in the tree: "" for the root, "1", "1.2", ... like IMAP part numbers. */
  path: string;
  headers: HeaderField[];
  /** Lower-cased type/subtype ("text/plain" when absent, "message/rfc822" in multipart/digest). */
  contentType: string;
  /** Content-Type parameters (null prototype). */
  params: Record<string, string>;
  charset?: string;
  /** Lower-cased Content-Disposition value ("inline", "attachment"), or null when absent. */
  disposition: string | null;
  dispositionParams: Record<string, string>;
  filename?: string;
  /** Content-ID without angle brackets. */
  contentId?: string;
  /** Lower-cased Content-Transfer-Encoding ("7bit" when absent). */
  transferEncoding: string;
  children: MimePart[];
  /** Decoded size in bytes (leaf parts), counted as the content streams by. */
  size: number;
  /** True for text/plain and text/html parts shown as the message text rather than attachments. */
  isBody: boolean;
  /** For multipart parts: the boundary. */
  boundary?: string;
}

/** An attachment with its decoded content in memory (one-call API). */
export interface Attachment {
  filename?: string;
  contentType: string;
  disposition: string | null;
  contentId?: string;
  /** Declared charset (text attachments). */
  charset?: string;
  size: number;
  content: Buffer;
  /** Part path in the tree. */
  part: string;
  /** Part of a multipart/related (e.g. an inline image referenced by cid:). */
  related: boolean;
  /** For message/rfc822 (and message/global) attachments when `embeddedDepth` allows: the parsed message. */
  message?: ParsedMail;
}

export interface ParsedMail {
  headers: HeaderField[];
  subject?: string;
  from: Mailbox[];
  sender: Mailbox[];
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  date: Date | null;
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  text?: string;
  html?: string;
  attachments: Attachment[];
  root: MimePart;
  /** Soft errors: guessed charsets, unknown charsets, missing boundaries, limits hit. */
  warnings: string[];
  /** True when a limit cut the result short (see warnings for which). */
  truncated: boolean;
}

/** Limits and behaviour of the parser. Every limit has a safe default. */
export interface ParseOptions {
  /** Most MIME parts parsed (default 2000); later parts are skipped and the result is flagged truncated. */
  maxParts?: number;
  /** Deepest multipart nesting (default 50); deeper multiparts become opaque leaves, flagged truncated. */
  maxDepth?: number;
  /** Most bytes in one header block (default 1 MiB); the rest of the block is skipped, flagged truncated. */
  maxHeaderBytes?: number;
  /** Most header fields in one block (default 5000). */
  maxHeaderFields?: number;
  /** Most addresses parsed per address header (default 10000). */
  maxAddresses?: number;
  /** Most bytes of message input accepted (default 256 MiB); over it parseMail rejects with LIMIT_EXCEEDED. */
  maxMessageBytes?: number;
  /** Most decoded bytes kept per text body part (default 64 MiB); the rest is dropped, flagged truncated. */
  maxTextBytes?: number;
  /**
   * parseMail only: levels of attached messages (message/rfc822, message/global) to parse into `attachment.message`
   * (default 0: none; at most 8).
   */
  embeddedDepth?: number;
}

export interface ResolvedParseOptions {
  maxParts: number;
  maxDepth: number;
  maxHeaderBytes: number;
  maxHeaderFields: number;
  maxAddresses: number;
  maxMessageBytes: number;
  maxTextBytes: number;
}

export const DEFAULT_PARSE_OPTIONS: ResolvedParseOptions = {
  maxParts: 2000,
  maxDepth: 50,
  maxHeaderBytes: 1024 * 1024,
  maxHeaderFields: 5000,
  maxAddresses: 10000,
  maxMessageBytes: 256 * 1024 * 1024,
  maxTextBytes: 64 * 1024 * 1024,
};
