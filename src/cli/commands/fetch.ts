/**
 * posthorn fetch pop3s://user@host [--maildir DIR | --mbox FILE] [--keep | --delete] [--apop] [--state FILE]
 *   [--password-stdin] [--ca FILE] [--insecure]
 * Downloads new messages (UIDL-tracked), writes each durably before anything is deleted on the server, shows a
 * progress bar on a terminal and plain lines otherwise, and resumes cleanly after an interruption (Ctrl-C finishes
 * the current message and stops). Password: in the URL, POSTHORN_FETCH_PASSWORD, or --password-stdin.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fetchMail, type FetchProgress } from '../../client/pop3/fetch.js';
import { parsePop3Url } from '../../client/pop3/url.js';
import { Pop3ClientError } from '../../client/pop3/client.js';
import { EX } from '../../client/sysexits.js';

export interface FetchCommandOptions {
  maildir?: string;
  mbox?: string;
  keep?: boolean;
  delete?: boolean;
  apop?: boolean;
  state?: string;
  passwordStdin?: boolean;
  ca?: string;
  insecure?: boolean;
}

export interface FetchIo {
  stdin: AsyncIterable<Buffer | string> | Iterable<Buffer | string>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTty: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function progressLine(p: FetchProgress, tty: boolean): string {
  if (!tty) return `fetched ${p.done}/${p.total} uid=${p.uid} ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}\n`;
  const width = 30;
  const fraction = p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : p.done / Math.max(1, p.total);
  const filled = Math.round(fraction * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} messages  ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}`;
}

export async function runFetch(urlText: string, opts: FetchCommandOptions, io: FetchIo): Promise<number> {
  if (!!opts.maildir === !!opts.mbox) {
    io.stderr('posthorn fetch: give exactly one of --maildir DIR or --mbox FILE\n');
    return EX.USAGE;
  }
  if (opts.keep && opts.delete) {
    io.stderr('posthorn fetch: --keep and --delete exclude each other\n');
    return EX.USAGE;
  }
  let parsed: ReturnType<typeof parsePop3Url>;
  try {
    parsed = parsePop3Url(urlText);
    if (opts.ca) parsed.server.ca = readFileSync(opts.ca);
    if (opts.insecure) parsed.server.rejectUnauthorized = false;
  } catch (error) {
    io.stderr(`posthorn fetch: ${(error as Error).message}\n`);
    return EX.USAGE;
  }
  let password = parsed.password ?? (io.env ?? process.env).POSTHORN_FETCH_PASSWORD ?? null;
  if (opts.passwordStdin) {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (password === null) {
    io.stderr('posthorn fetch: no password: put it in the URL, set POSTHORN_FETCH_PASSWORD, or use --password-stdin\n');
    return EX.USAGE;
  }
  let drew = false;
  try {
    const result = await fetchMail({
      server: parsed.server,
      user: parsed.user,
      password,
      auth: opts.apop ? 'APOP' : parsed.auth,
      target: opts.maildir ? { maildir: opts.maildir } : { mbox: opts.mbox! },
      stateFile: opts.state,
      mode: opts.delete ? 'delete' : 'keep',
      signal: io.signal,
      onProgress: (p) => {
        drew = true;
        io.stderr(progressLine(p, io.isTty));
      },
    });
    if (drew && io.isTty) io.stderr('\n');
    io.stdout(
      `${result.interrupted ? 'interrupted: ' : ''}fetched ${result.fetched} message${result.fetched === 1 ? '' : 's'} (${formatBytes(result.bytes)}), ` +
        `${result.skipped} already here, ${result.deleted} deleted on the server\n`,
    );
    return EX.OK;
  } catch (error) {
    if (drew && io.isTty) io.stderr('\n');
    io.stderr(`posthorn fetch: ${(error as Error).message}\n`);
    if (error instanceof Pop3ClientError) {
      if (error.kind === 'refused') return error.responseCode === 'SYS/TEMP' || error.responseCode === 'IN-USE' || error.responseCode === 'LOGIN-DELAY' ? EX.TEMPFAIL : EX.NOPERM;
      if (error.kind === 'protocol') return EX.PROTOCOL;
      if (error.kind === 'tls') return EX.UNAVAILABLE;
      return EX.TEMPFAIL;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) return EX.IOERR;
    return EX.SOFTWARE;
  }
}

export function registerFetchCommand(program: Command): void {
  program
    .command('fetch')
    .description('download new messages from a POP3 mailbox (pop3s://user@host) into a Maildir or mbox, resumable')
    .argument('<url>', 'pop3://, pop3s:// or pop3+stls:// URL with the user (and optionally :password)')
    .option('--maildir <dir>', 'store into this Maildir (created if missing)')
    .option('--mbox <file>', 'append to this mbox file (mboxrd)')
    .option('--keep', 'leave messages on the server (default)')
    .option('--delete', 'delete messages on the server once stored locally')
    .option('--apop', 'log in with APOP')
    .option('--state <file>', 'UIDL state file (default: next to the Maildir/mbox, per account)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--ca <file>', 'trust this certificate (PEM), e.g. a self-signed server')
    .option('--insecure', 'do not verify the server certificate')
    .action(async (url: string, opts: FetchCommandOptions) => {
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(130);
        controller.abort();
        process.stderr.write('\nposthorn fetch: stopping after the current message (Ctrl-C again to quit now)\n');
      };
      process.on('SIGINT', onSigint);
      try {
        process.exitCode = await runFetch(url, opts, {
          stdin: process.stdin,
          stdout: (t) => process.stdout.write(t),
          stderr: (t) => process.stderr.write(t),
          isTty: process.stderr.isTTY === true,
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
