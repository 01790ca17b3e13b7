/**
 * posthorn send --to ADDR [--to ...] --subject TEXT [--from ADDR] [--cc ...] [--bcc ...] [--attach FILE]...
 *   [--html FILE] [--header "Name: value"]... [--smtp URL] [--data DIR]
 * Composes a message (body from standard input) and submits it: --smtp URL, else POSTHORN_SMTP_URL, else the local
 * Posthorn server's socket in the data directory. Prints the Message-ID and per-recipient results. sysexits codes.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { composeMail, envelopeFromOptions, type ComposeOptions } from '../../mime/index.js';
import { resolveSubmission } from '../../client/local.js';
import { defaultSender } from '../../client/mail.js';
import { newMessageId } from '../../client/headers.js';
import { describeTarget, submitMessage } from '../../client/submit.js';
import { EX, exitCodeFor } from '../../client/sysexits.js';

export interface SendCommandOptions {
  to: string[];
  cc: string[];
  bcc: string[];
  from?: string;
  subject?: string;
  attach: string[];
  html?: string;
  header: string[];
  smtp?: string;
  data?: string;
  maxSize?: string;
}

export interface SendIo {
  stdin: AsyncIterable<Buffer | string> | Iterable<Buffer | string>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function readAll(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of input) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    total += b.length;
    if (total > max) throw new Error(`body larger than ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function runSend(opts: SendCommandOptions, io: SendIo): Promise<number> {
  if (opts.to.length === 0 && opts.cc.length === 0 && opts.bcc.length === 0) {
    io.stderr('posthorn send: at least one --to (or --cc / --bcc) is required\n');
    return EX.USAGE;
  }
  const env = io.env ?? process.env;
  try {
    const target = resolveSubmission({ smtp: opts.smtp, data: opts.data, env });
    const headers: Array<{ name: string; value: string }> = [];
    for (const line of opts.header) {
      const colon = line.indexOf(':');
      if (colon <= 0) {
        io.stderr(`posthorn send: --header ${JSON.stringify(line)}: expected "Name: value"\n`);
        return EX.USAGE;
      }
      headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
    }
    const attachments: NonNullable<ComposeOptions['attachments']> = [];
    for (const file of opts.attach) attachments.push({ filename: basename(file), content: await readFile(file) });
    const html = opts.html ? await readFile(opts.html, 'utf8') : undefined;
    const text = await readAll(io.stdin, Number(opts.maxSize ?? 64 * 1024 * 1024));
    const authUser = target.kind === 'url' ? target.options.auth?.user : undefined;
    const from = opts.from ?? (authUser?.includes('@') ? authUser : defaultSender());
    const mail: ComposeOptions = {
      from,
      // Each value may be a comma-separated list; the MIME address parser splits it (quoted names keep their commas).
      to: opts.to,
      cc: opts.cc,
      bcc: opts.bcc,
      subject: opts.subject ?? '',
      text: text === '' && html ? undefined : text,
      html,
      headers,
      attachments,
    };
    const envelope = envelopeFromOptions(mail);
    mail.messageId = newMessageId(envelope.from.slice(envelope.from.lastIndexOf('@') + 1) || 'localhost');
    const message = await composeMail(mail);
    const result = await submitMessage(target, { from: envelope.from, to: envelope.to }, message);
    io.stdout(`sent ${mail.messageId} via ${describeTarget(target)}: ${result.response}\n`);
    for (const address of result.accepted) io.stdout(`  accepted <${address}>\n`);
    for (const r of result.rejected) io.stdout(`  refused  <${r.address}>: ${r.code}${r.enhancedCode ? ' ' + r.enhancedCode : ''} ${r.message}\n`);
    return EX.OK;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      io.stderr(`posthorn send: ${(error as Error).message}\n`);
      return EX.NOINPUT;
    }
    if ((error as Error).name === 'MimeError') {
      io.stderr(`posthorn send: ${(error as Error).message}\n`);
      return EX.USAGE;
    }
    const mapped = exitCodeFor(error);
    io.stderr(`posthorn send: ${mapped.message}\n`);
    return mapped.code;
  }
}

export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description('compose a message (body from standard input) and send it through --smtp URL, POSTHORN_SMTP_URL or the local server')
    .option('--to <address>', 'recipient; repeat or give a comma-separated list', collect, [])
    .option('--cc <address>', 'copy recipient (repeatable)', collect, [])
    .option('--bcc <address>', 'blind copy recipient, envelope only (repeatable)', collect, [])
    .option('--from <address>', 'sender (default: the SMTP user when it is an address, else USER@HOSTNAME)')
    .option('--subject <text>', 'subject line')
    .option('--attach <file>', 'attach a file (repeatable)', collect, [])
    .option('--html <file>', 'HTML body from this file (standard input is the plain-text alternative)')
    .option('--header <line>', 'extra header "Name: value" (repeatable)', collect, [])
    .option('--smtp <url>', 'smtp://, smtps:// or smtp+starttls:// URL with user:password (default: POSTHORN_SMTP_URL, else the local server)')
    .option('--data <dir>', 'data directory of the local server (default: POSTHORN_DATA or ./data)')
    .option('--max-size <bytes>', 'largest body read from standard input', String(64 * 1024 * 1024))
    .action(async (opts: SendCommandOptions) => {
      if (process.stdin.isTTY) process.stderr.write('posthorn send: type the message body, then Ctrl-D on a line of its own\n');
      process.exitCode = await runSend(opts, {
        stdin: process.stdin,
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
      });
    });
}
