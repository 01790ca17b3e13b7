/**
 * posthorn queue list|show|retry|delete|flush. Talks to the running server over <data>/queue/control.sock; when no
 * server runs it works on the queue files directly (changes then take effect at the next start).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { queuePaths } from '../../delivery/queue-store.js';
import { ControlError, queueCommand, type ControlRequest } from '../../delivery/control.js';
import type { QueueRecord } from '../../delivery/record.js';
import type { QueueSummary } from '../../delivery/scheduler.js';
import { dataDirOf, run, UsageError } from '../options.js';

interface Opts {
  data?: string;
  json?: boolean;
}

function checkId(id: string): string {
  if (!/^[0-9a-z]{8,40}$/.test(id)) throw new UsageError(`not a queue id: ${JSON.stringify(id)}`);
  return id;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function printList(list: QueueSummary[]): void {
  if (list.length === 0) {
    process.stdout.write('queue is empty\n');
    return;
  }
  const now = Date.now();
  for (const m of list) {
    process.stdout.write(`${m.id}  ${age(now - m.createdAt).padStart(4)}  ${String(m.size).padStart(9)}  <${m.mailFrom}>${m.origin === 'bounce' ? '  (notice)' : ''}\n`);
    for (const r of m.recipients) {
      const when = r.status === 'pending' ? (r.nextAttemptAt <= now ? 'due now' : `next in ${age(r.nextAttemptAt - now)}`) : '';
      const reply = r.lastReply ? `  ${r.lastReply.code} ${r.lastReply.enhanced ?? ''} ${r.lastReply.text}`.replace(/\s+/g, ' ') : '';
      process.stdout.write(`    ${r.status.padEnd(9)} ${r.address}  attempts=${r.attempts}${when ? '  ' + when : ''}${reply}\n`);
    }
  }
  process.stdout.write(`${list.length} message(s)\n`);
}

function printRecord(rec: QueueRecord, dataDir: string): void {
  const e = rec.envelope;
  const out = [
    `id:          ${rec.id}${rec.origin === 'bounce' ? ' (delivery status notice)' : ''}`,
    `queued:      ${new Date(rec.createdAt).toISOString()}`,
    `size:        ${rec.size} octets`,
    `from:        <${e.mailFrom}>`,
  ];
  if (e.authenticatedUser) out.push(`submitted by: ${e.authenticatedUser}${e.clientAddress ? ` from ${e.clientAddress}` : ''}`);
  if (e.envid !== undefined) out.push(`envid:       ${e.envid}`);
  if (e.dsnRet) out.push(`ret:         ${e.dsnRet}`);
  out.push(`body:        ${e.body}${e.smtputf8 ? ' SMTPUTF8' : ''}${rec.dkim ? ', DKIM-signed' : ''}`, 'recipients:');
  for (const r of rec.recipients) {
    out.push(`  ${r.address}  ${r.status}  attempts=${r.attempts}`);
    if (r.status === 'pending') out.push(`    next attempt: ${new Date(r.nextAttemptAt).toISOString()}`);
    if (r.lastReply) out.push(`    last reply:   ${[r.lastReply.code, r.lastReply.enhanced, r.lastReply.text].filter((x) => x !== null && x !== '').join(' ')}`);
    if (r.remoteMta) out.push(`    remote:       ${r.remoteMta}`);
    if (r.notify || r.orcpt) out.push(`    dsn:          ${r.notify ? `NOTIFY=${r.notify === 'NEVER' ? 'NEVER' : r.notify.join(',')}` : ''} ${r.orcpt ? `ORCPT=${r.orcpt}` : ''}`.trimEnd());
  }
  process.stdout.write(out.join('\n') + '\n');
  try {
    const head = readHead(join(queuePaths(dataDir).msg, rec.id));
    process.stdout.write(`headers:\n${head.replace(/\r\n/g, '\n')}`);
  } catch {
    // The message file may be gone already (delivered between the two reads).
  }
}

/** The header block of a message file (at most 64 KiB of it). */
function readHead(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8');
    const end = text.indexOf('\r\n\r\n');
    return end < 0 ? text : text.slice(0, end + 2);
  } finally {
    closeSync(fd);
  }
}

async function exec(opts: Opts, req: ControlRequest, print: (result: unknown) => void): Promise<void> {
  await run(async () => {
    try {
      const { mode, result } = await queueCommand(dataDirOf(opts), req);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else print(result);
      if (mode === 'offline' && req.cmd !== 'list' && req.cmd !== 'show') {
        process.stderr.write('posthorn: no server is running; the change takes effect when it starts\n');
      }
    } catch (err) {
      if (err instanceof ControlError) {
        process.stderr.write(`posthorn: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
  });
}

export function registerQueueCommands(program: Command): void {
  const queue = program.command('queue').description('inspect and manage the outbound queue (works on a running server)');
  const common = (c: Command) => c.option('--data <dir>', 'data directory').option('--json', 'print JSON');
  common(queue.command('list').description('list queued messages and the state of each recipient')).action((opts: Opts) =>
    exec(opts, { cmd: 'list' }, (r) => printList(r as QueueSummary[])),
  );
  common(queue.command('show <id>').description("show a message's envelope, each recipient's state and the message headers")).action(
    (id: string, opts: Opts) => exec(opts, { cmd: 'show', id: checkId(id) }, (r) => printRecord(r as QueueRecord, dataDirOf(opts))),
  );
  common(queue.command('retry [id]').description('attempt delivery now (one message, or all)')).action((id: string | undefined, opts: Opts) =>
    exec(opts, id ? { cmd: 'retry', id: checkId(id) } : { cmd: 'retry' }, (r) =>
      process.stdout.write(`${(r as { count: number }).count} recipient(s) rescheduled\n`),
    ),
  );
  common(queue.command('delete <id>').description('remove a message from the queue without notice')).action((id: string, opts: Opts) =>
    exec(opts, { cmd: 'delete', id: checkId(id) }, () => process.stdout.write(`${id} deleted\n`)),
  );
  common(queue.command('flush').description('attempt every pending recipient now and wait for the attempts')).action((opts: Opts) =>
    exec(opts, { cmd: 'flush' }, (r) => process.stdout.write(`${(r as { count: number }).count} recipient(s) attempted\n`)),
  );
}
