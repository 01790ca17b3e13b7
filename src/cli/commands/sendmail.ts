/**
 * posthorn sendmail: a sendmail(8)-compatible submission command, so `sendmail_path = "posthorn sendmail -t -i"`
 * makes PHP's mail() (and cron, and any program that pipes into sendmail) send through Posthorn.
 * Flags: -t (recipients from To/Cc/Bcc, added to those given as arguments), -i / -oi (a lone "." does not end the
 * message), -f ADDR / -fADDR / -r ADDR (envelope sender), -F NAME (sender's full name), -N dsn, -R ret, -V envid,
 * -v; -oX, -odX, -B type, -h n, -C file, -L label, -O opt=val, -G, -U, -n, -bm are accepted and ignored. Our own:
 * --smtp URL, --data DIR, --max-size BYTES. Message on standard input. Exit codes per sysexits(3).
 */
import type { Command } from 'commander';
import { parseAddressList } from '../../mime/index.js';
import type { DsnNotify } from '../../delivery/types.js';
import { completeHeaders, headerRecipients, joinRawMessage, removeBcc, splitRawMessage } from '../../client/headers.js';
import { resolveSubmission } from '../../client/local.js';
import { defaultSender } from '../../client/mail.js';
import { describeTarget, submitMessage } from '../../client/submit.js';
import { EX, exitCodeFor } from '../../client/sysexits.js';

export interface SendmailArgs {
  extractRecipients: boolean;
  ignoreDots: boolean;
  sender?: string;
  fullName?: string;
  recipients: string[];
  notify?: DsnNotify;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  verbose: boolean;
  smtp?: string;
  data?: string;
  maxSize: number;
}

export class SendmailUsageError extends Error {}

/** Default largest message read from standard input. */
export const DEFAULT_SENDMAIL_MAX_SIZE = 64 * 1024 * 1024;

/** Flags that take a value (attached or as the next argument) and are ignored. */
const IGNORED_WITH_VALUE = new Set(['B', 'h', 'C', 'L', 'O', 'X', 'q', 'p']);
/** Flags without value that are ignored. */
const IGNORED_FLAGS = new Set(['G', 'U', 'n', 'm', 'e', 'x', 'Am', 'Ac']);

export function parseSendmailArgs(argv: string[]): SendmailArgs {
  const out: SendmailArgs = { extractRecipients: false, ignoreDots: false, recipients: [], verbose: false, maxSize: DEFAULT_SENDMAIL_MAX_SIZE };
  let i = 0;
  const value = (flag: string, attached: string): string => {
    if (attached) return attached;
    if (i + 1 >= argv.length) throw new SendmailUsageError(`option -${flag} needs a value`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.recipients.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--smtp' || arg === '--data' || arg === '--max-size') {
      if (i + 1 >= argv.length) throw new SendmailUsageError(`${arg} needs a value`);
      const v = argv[++i];
      if (arg === '--smtp') out.smtp = v;
      else if (arg === '--data') out.data = v;
      else {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) throw new SendmailUsageError(`--max-size ${v}: expected a positive number of bytes`);
        out.maxSize = n;
      }
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const key = eq === -1 ? arg : arg.slice(0, eq);
      const v = eq === -1 ? '' : arg.slice(eq + 1);
      if (key === '--smtp' && v) out.smtp = v;
      else if (key === '--data' && v) out.data = v;
      else throw new SendmailUsageError(`unknown option ${key}`);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.recipients.push(arg);
      continue;
    }
    const flag = arg[1];
    const rest = arg.slice(2);
    switch (flag) {
      case 't':
        out.extractRecipients = true;
        if (rest.includes('i')) out.ignoreDots = true;
        break;
      case 'i':
        out.ignoreDots = true;
        break;
      case 'o':
        // -oi: ignore dots; -oXvalue / -odb / -oem ...: ignored.
        if (rest === 'i') out.ignoreDots = true;
        break;
      case 'f':
      case 'r': {
        const v = value(flag, rest).trim();
        out.sender = v === '<>' ? '' : v.replace(/^<(.*)>$/, '$1');
        break;
      }
      case 'F':
        out.fullName = value(flag, rest);
        break;
      case 'N': {
        const v = value(flag, rest).toUpperCase();
        if (v === 'NEVER') out.notify = 'NEVER';
        else {
          const parts = v.split(',').map((s) => s.trim());
          if (!parts.every((p) => p === 'SUCCESS' || p === 'FAILURE' || p === 'DELAY')) throw new SendmailUsageError(`-N ${v}: expected never or success,failure,delay`);
          out.notify = parts as Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;
        }
        break;
      }
      case 'R': {
        const v = value(flag, rest).toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') throw new SendmailUsageError(`-R ${v}: expected full or hdrs`);
        out.ret = v;
        break;
      }
      case 'V':
        out.envid = value(flag, rest);
        break;
      case 'v':
        out.verbose = true;
        break;
      case 'b':
        if (rest !== 'm') throw new SendmailUsageError(`-b${rest}: only -bm (deliver mail) is supported`);
        break;
      default:
        if (IGNORED_WITH_VALUE.has(flag)) {
          value(flag, rest);
          break;
        }
        if (IGNORED_FLAGS.has(flag) || IGNORED_FLAGS.has(arg.slice(1))) break;
        throw new SendmailUsageError(`unknown option ${arg}`);
    }
  }
  return out;
}

/** Read standard input up to maxSize bytes; without ignoreDots a line holding only "." ends the message. */
export async function readMessage(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, maxSize: number, ignoreDots: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of input) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += b.length;
    if (total > maxSize) throw new SendmailInputError(`message larger than ${maxSize} bytes (--max-size)`);
    chunks.push(b);
  }
  const raw = Buffer.concat(chunks);
  if (ignoreDots) return raw;
  return truncateAtDotLine(raw);
}

export class SendmailInputError extends Error {}

function truncateAtDotLine(raw: Buffer): Buffer {
  let pos = 0;
  while (pos < raw.length) {
    const lf = raw.indexOf(0x0a, pos);
    const end = lf === -1 ? raw.length : lf;
    const contentEnd = end > pos && raw[end - 1] === 0x0d ? end - 1 : end;
    if (contentEnd - pos === 1 && raw[pos] === 0x2e) return raw.subarray(0, pos);
    if (lf === -1) break;
    pos = lf + 1;
  }
  return raw;
}

export interface SendmailIo {
  stdin: AsyncIterable<Buffer | string> | Iterable<Buffer | string>;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Run `sendmail` with its arguments; resolves with the exit code. */
export async function runSendmail(argv: string[], io: SendmailIo): Promise<number> {
  let args: SendmailArgs;
  try {
    args = parseSendmailArgs(argv);
  } catch (error) {
    io.stderr(`posthorn sendmail: ${(error as Error).message}\n`);
    return EX.USAGE;
  }
  let raw: Buffer;
  try {
    raw = await readMessage(io.stdin, args.maxSize, args.ignoreDots);
  } catch (error) {
    io.stderr(`posthorn sendmail: ${(error as Error).message}\n`);
    return error instanceof SendmailInputError ? EX.DATAERR : EX.IOERR;
  }
  try {
    let message = splitRawMessage(raw);
    const recipients: string[] = [];
    const seen = new Set<string>();
    const add = (address: string) => {
      const key = address.toLowerCase();
      if (address && !seen.has(key)) {
        seen.add(key);
        recipients.push(address);
      }
    };
    for (const arg of args.recipients) {
      const parsed = parseAddressList(arg);
      if (parsed.length) parsed.forEach((m) => add(m.address));
      else add(arg.trim());
    }
    if (args.extractRecipients) headerRecipients(message).forEach(add);
    if (recipients.length === 0) {
      io.stderr(`posthorn sendmail: no recipients${args.extractRecipients ? ' found in the To, Cc or Bcc header' : ' given (use -t or name them as arguments)'}\n`);
      return EX.USAGE;
    }
    const sender = args.sender ?? defaultSender();
    const domain = sender.includes('@') ? sender.slice(sender.lastIndexOf('@') + 1) : 'localhost';
    const fromHeader = args.fullName ? `"${args.fullName.replace(/["\\\r\n]/g, '')}" <${sender}>` : sender || `MAILER-DAEMON@${domain}`;
    message = completeHeaders(removeBcc(message), { from: fromHeader, domain });
    const target = resolveSubmission({ smtp: args.smtp, data: args.data, env: io.env });
    const result = await submitMessage(
      target,
      { from: sender, to: recipients.map((address) => ({ address, notify: args.notify })), dsnRet: args.ret, envid: args.envid },
      joinRawMessage(message),
    );
    for (const r of result.rejected) io.stderr(`posthorn sendmail: <${r.address}> refused: ${r.code}${r.enhancedCode ? ' ' + r.enhancedCode : ''} ${r.message}\n`);
    if (args.verbose) io.stderr(`posthorn sendmail: sent via ${describeTarget(target)}: ${result.response}\n`);
    return EX.OK;
  } catch (error) {
    const { code, message } = exitCodeFor(error);
    io.stderr(`posthorn sendmail: ${message}\n`);
    return code;
  }
}

export function registerSendmailCommand(program: Command): void {
  program
    .command('sendmail')
    .description('sendmail-compatible submission: message on stdin; -t -i -f ADDR -F NAME, recipients as arguments (for PHP sendmail_path, cron)')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[args...]', 'sendmail flags and recipients')
    .action(async () => {
      const at = process.argv.indexOf('sendmail', 2);
      const code = await runSendmail(process.argv.slice(at + 1), { stdin: process.stdin, stderr: (t) => process.stderr.write(t) });
      process.exitCode = code;
    });
}
