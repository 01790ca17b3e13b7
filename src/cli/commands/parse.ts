/**
 * posthorn parse [FILE] --json: parse a message (standard input when no FILE) and print one JSON object with the
 * decoded headers, addresses, date, text, html, attachments (size and SHA-256, content streamed, never held) and
 * warnings. Without --json a short human-readable summary is printed.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { MimeError, parseMailStream, type Mailbox, type ParseOptions, type StreamedMail } from '../../mime/index.js';

export interface ParseJson {
  headers: Array<{ name: string; value: string }>;
  subject: string | null;
  from: Array<{ name: string; address: string }>;
  to: Array<{ name: string; address: string }>;
  cc: Array<{ name: string; address: string }>;
  replyTo: Array<{ name: string; address: string }>;
  date: string | null;
  messageId: string | null;
  text: string | null;
  html: string | null;
  attachments: Array<{ filename: string | null; contentType: string; disposition: string | null; contentId: string | null; size: number; sha256: string }>;
  warnings: string[];
  truncated: boolean;
}

const mailboxes = (list: Mailbox[]): ParseJson['from'] => list.map((m) => ({ name: m.name, address: m.address }));

export function toParseJson(m: StreamedMail): ParseJson {
  return {
    headers: m.headers.map((h) => ({ name: h.name, value: h.value })),
    subject: m.subject ?? null,
    from: mailboxes(m.from),
    to: mailboxes(m.to),
    cc: mailboxes(m.cc),
    replyTo: mailboxes(m.replyTo),
    date: m.date ? m.date.toISOString() : null,
    messageId: m.messageId ?? null,
    text: m.text ?? null,
    html: m.html ?? null,
    attachments: m.attachments.map((a) => ({
      filename: a.filename ?? null, contentType: a.contentType, disposition: a.disposition, contentId: a.contentId ?? null, size: a.size, sha256: a.sha256,
    })),
    warnings: m.warnings,
    truncated: m.truncated,
  };
}

/** Parse a stream (file or stdin) into the JSON shape printed by the command. */
export async function parseToJson(input: Readable, options: ParseOptions = {}): Promise<ParseJson> {
  return toParseJson(await parseMailStream(input, options));
}

function summaryText(j: ParseJson): string {
  const addr = (l: ParseJson['from']): string => l.map((m) => (m.name ? `${m.name} <${m.address}>` : m.address)).join(', ');
  const lines = [
    `Subject: ${j.subject ?? ''}`, `From: ${addr(j.from)}`, `To: ${addr(j.to)}`, ...(j.cc.length ? [`Cc: ${addr(j.cc)}`] : []),
    `Date: ${j.date ?? '(none)'}`, `Message-ID: ${j.messageId ?? '(none)'}`,
    `Text: ${j.text === null ? '(none)' : `${j.text.length} characters`}`, `HTML: ${j.html === null ? '(none)' : `${j.html.length} characters`}`,
    `Attachments: ${j.attachments.length}`,
    ...j.attachments.map((a) => `  ${a.filename ?? '(no name)'}  ${a.contentType}  ${a.size} bytes  sha256:${a.sha256}`),
    ...j.warnings.map((w) => `warning: ${w}`),
  ];
  return lines.join('\n') + '\n';
}

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${v}`);
  return n;
};

/** Where the command writes (replaceable in tests). */
export interface ParseCommandIo {
  out(text: string): void;
  err(text: string): void;
  fail(code: number): void;
}

const processIo: ParseCommandIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  fail: (code) => void (process.exitCode = code),
};

export function registerParseCommand(program: Command, io: ParseCommandIo = processIo): void {
  program
    .command('parse [file]')
    .description('parse a message (standard input when no FILE) and print its headers, text and attachments')
    .option('--json', 'print one JSON object (headers, subject, from, to, cc, replyTo, date, messageId, text, html, attachments, warnings)')
    .option('--max-parts <n>', 'most MIME parts parsed', positiveInt)
    .option('--max-depth <n>', 'deepest multipart nesting', positiveInt)
    .option('--max-header-bytes <n>', 'most bytes in one header block', positiveInt)
    .option('--max-message-bytes <n>', 'largest message accepted', positiveInt)
    .action(async (file: string | undefined, opts: { json?: boolean; maxParts?: number; maxDepth?: number; maxHeaderBytes?: number; maxMessageBytes?: number }) => {
      const options: ParseOptions = {};
      if (opts.maxParts) options.maxParts = opts.maxParts;
      if (opts.maxDepth) options.maxDepth = opts.maxDepth;
      if (opts.maxHeaderBytes) options.maxHeaderBytes = opts.maxHeaderBytes;
      if (opts.maxMessageBytes) options.maxMessageBytes = opts.maxMessageBytes;
      let input: Readable;
      if (file && file !== '-') {
        try {
          await access(file);
        } catch (err) {
          io.err(`posthorn: cannot read ${file}: ${(err as Error).message}\n`);
          io.fail(1);
          return;
        }
        input = createReadStream(file);
      } else input = process.stdin;
      try {
        const json = await parseToJson(input, options);
        io.out(opts.json ? JSON.stringify(json, null, 2) + '\n' : summaryText(json));
      } catch (err) {
        if (err instanceof MimeError || (err as NodeJS.ErrnoException).code !== undefined) {
          io.err(`posthorn: ${(err as Error).message}\n`);
          io.fail(1);
          return;
        }
        throw err;
      }
    });
}
