/**
 * posthorn token create|list|revoke: API tokens for the web viewer's API. They live in <data>/access.db, so these
 * commands work whether or not the server runs; a token revoked here stops working at once.
 */
import type { Command } from 'commander';
import { canonical, DirectoryError } from '../../directory/address.js';
import { SqliteDirectory } from '../../directory/sqlite.js';
import { openAccessDb } from '../../server/http/auth/access-db.js';
import { parseDuration, TokenStore } from '../../server/http/auth/tokens.js';
import { VIEWER_TOKEN_KIND } from '../../server/http/mail/access.js';
import { dataDirOf, run, UsageError } from '../options.js';

interface CreateOpts {
  data?: string;
  scope: string;
  expires: string;
  label?: string;
  dev?: boolean;
}

function when(ms: number | null): string {
  return ms === null ? 'never' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens for the web viewer (stored hashed in <data>/access.db)');

  token
    .command('create <user>')
    .description('create a token that reads (or writes) one mailbox; printed once')
    .option('--scope <scope>', 'read | write', 'read')
    .option('--expires <duration>', 'lifetime: 30d, 12h, 90m, or "never"', '90d')
    .option('--label <text>', 'a note shown by token list')
    .option('--dev', 'for a developer-mode mailbox (any name; no directory user needed)')
    .option('--data <dir>', 'data directory')
    .action((user: string, opts: CreateOpts) =>
      run(async () => {
        if (opts.scope !== 'read' && opts.scope !== 'write') throw new UsageError(`--scope ${opts.scope}: expected read or write`);
        let lifetime: number | null;
        try {
          lifetime = parseDuration(opts.expires);
        } catch (err) {
          throw new UsageError(`--expires: ${(err as Error).message}`);
        }
        const dataDir = dataDirOf(opts);
        let subject: string;
        if (opts.dev) {
          if (!/^[^\s\x00-\x1f]{1,320}$/.test(user)) throw new UsageError(`not a mailbox name: ${JSON.stringify(user)}`);
          subject = user;
        } else {
          const directory = new SqliteDirectory({ dataDir });
          try {
            const found = await directory.findUser(user);
            if (!found) throw new DirectoryError(`no user ${user}; add it with: posthorn user add ${user} (or give --dev for a developer-mode mailbox)`);
            subject = found;
          } finally {
            directory.close();
          }
        }
        const db = openAccessDb(dataDir);
        try {
          const store = new TokenStore(db);
          const { token: secret, record } = store.create({
            kind: VIEWER_TOKEN_KIND,
            subject,
            scope: opts.scope,
            label: opts.label,
            expiresAt: lifetime === null ? null : Date.now() + lifetime,
          });
          process.stdout.write(secret + '\n');
          process.stderr.write(`token ${record.id} for ${subject}, scope ${record.scope}, expires ${when(record.expiresAt)}; shown once, keep it safe\n`);
        } finally {
          db.close();
        }
      }),
    );

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--user <user>', 'only the tokens of this user or mailbox')
    .option('--json', 'machine-readable output')
    .option('--data <dir>', 'data directory')
    .action((opts: { data?: string; json?: boolean; user?: string }) =>
      run(() => {
        const db = openAccessDb(dataDirOf(opts));
        try {
          let list = new TokenStore(db).list(VIEWER_TOKEN_KIND);
          if (opts.user) {
            let want = opts.user;
            try {
              want = canonical(opts.user);
            } catch {
              // a developer-mode mailbox name
            }
            list = list.filter((t) => t.subject === want || t.subject === opts.user);
          }
          if (opts.json) {
            process.stdout.write(JSON.stringify(list, null, 2) + '\n');
            return;
          }
          if (list.length === 0) {
            process.stdout.write('no tokens\n');
            return;
          }
          for (const t of list) {
            process.stdout.write(`${t.id}  ${t.scope.padEnd(5)}  ${t.subject}  created ${when(t.createdAt)}  expires ${when(t.expiresAt)}  last used ${t.lastUsedAt ? when(t.lastUsedAt) : 'never'}${t.label ? `  "${t.label}"` : ''}\n`);
          }
        } finally {
          db.close();
        }
      }),
    );

  token
    .command('revoke <id>')
    .description('revoke a token by the id shown by token list')
    .option('--data <dir>', 'data directory')
    .action((id: string, opts: { data?: string }) =>
      run(() => {
        if (!/^[0-9a-f]{12}$/.test(id)) throw new UsageError(`not a token id: ${JSON.stringify(id)} (token list shows them)`);
        const db = openAccessDb(dataDirOf(opts));
        try {
          if (!new TokenStore(db).revoke(id, VIEWER_TOKEN_KIND)) throw new DirectoryError(`no token ${id}`);
          process.stdout.write(`token ${id} revoked\n`);
        } finally {
          db.close();
        }
      }),
    );
}
