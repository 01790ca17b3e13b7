/** posthorn domain|user|alias: manage the directory in <data>/directory.db (safe while the server runs). */
import type { Command } from 'commander';
import { SqliteDirectory } from '../../directory/sqlite.js';
import { displayAddress, unicodeDomain } from '../../directory/address.js';
import { dataDirOf, readStdinLine, run, UsageError } from '../options.js';
import { mkdirSync } from 'node:fs';

function open(opts: { data?: string }): SqliteDirectory {
  const dir = dataDirOf(opts);
  mkdirSync(dir, { recursive: true });
  return new SqliteDirectory({ dataDir: dir });
}

async function passwordFrom(opts: { password?: string; passwordStdin?: boolean }): Promise<string> {
  if (opts.password !== undefined && opts.passwordStdin) throw new UsageError('give --password or --password-stdin, not both');
  if (opts.password !== undefined) return opts.password;
  if (opts.passwordStdin) return readStdinLine();
  throw new UsageError('a password is needed: --password PW or --password-stdin');
}

export function registerDirectoryCommands(program: Command): void {
  const domain = program.command('domain').description('manage local domains');
  domain
    .command('add <name>')
    .description('add a local domain (Unicode names are stored as punycode)')
    .option('--data <dir>', 'data directory')
    .action((name: string, opts: { data?: string }) =>
      run(() => {
        const d = open(opts);
        const ascii = d.addDomain(name);
        d.close();
        console.log(`domain ${unicodeDomain(ascii)} added${ascii !== unicodeDomain(ascii) ? ` (stored as ${ascii})` : ''}`);
      }),
    );
  domain
    .command('list')
    .description('list local domains')
    .option('--data <dir>', 'data directory')
    .action((opts: { data?: string }) =>
      run(() => {
        const d = open(opts);
        for (const name of d.listDomains()) console.log(unicodeDomain(name));
        d.close();
      }),
    );
  domain
    .command('remove <name>')
    .description('remove a local domain that has no users or aliases left')
    .option('--data <dir>', 'data directory')
    .action((name: string, opts: { data?: string }) =>
      run(() => {
        const d = open(opts);
        d.removeDomain(name);
        d.close();
        console.log(`domain ${name} removed`);
      }),
    );

  const user = program.command('user').description('manage users (mailboxes)');
  user
    .command('add <address>')
    .description('add a user in a local domain')
    .option('--data <dir>', 'data directory')
    .option('--password <pw>', 'the password (visible in the process list; prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--legacy-auth', 'also keep an encrypted secret so APOP and CRAM-MD5 work for this user')
    .action((address: string, opts: { data?: string; password?: string; passwordStdin?: boolean; legacyAuth?: boolean }) =>
      run(async () => {
        const password = await passwordFrom(opts);
        const d = open(opts);
        try {
          const addr = await d.addUser(address, password, { legacyAuth: opts.legacyAuth });
          console.log(`user ${displayAddress(addr)} added${opts.legacyAuth ? ' (APOP and CRAM-MD5 enabled)' : ''}`);
        } finally {
          d.close();
        }
      }),
    );
  user
    .command('passwd <address>')
    .description("change a user's password")
    .option('--data <dir>', 'data directory')
    .option('--password <pw>', 'the new password')
    .option('--password-stdin', 'read the new password from standard input')
    .option('--legacy-auth', 'keep an encrypted secret for APOP and CRAM-MD5 (without it, any kept secret is dropped)')
    .action((address: string, opts: { data?: string; password?: string; passwordStdin?: boolean; legacyAuth?: boolean }) =>
      run(async () => {
        const password = await passwordFrom(opts);
        const d = open(opts);
        try {
          await d.setPassword(address, password, { legacyAuth: opts.legacyAuth });
          console.log(`password of ${address} changed${opts.legacyAuth ? ' (APOP and CRAM-MD5 enabled)' : ''}`);
        } finally {
          d.close();
        }
      }),
    );
  user
    .command('list')
    .description('list users')
    .option('--data <dir>', 'data directory')
    .option('--domain <name>', 'only users of this domain')
    .action((opts: { data?: string; domain?: string }) =>
      run(() => {
        const d = open(opts);
        for (const u of d.listUsers(opts.domain)) console.log(`${displayAddress(u.address)}${u.legacyAuth ? '  legacy-auth' : ''}`);
        d.close();
      }),
    );
  user
    .command('remove <address>')
    .description('remove a user (the mailbox files stay in the data directory)')
    .option('--data <dir>', 'data directory')
    .action((address: string, opts: { data?: string }) =>
      run(() => {
        const d = open(opts);
        d.removeUser(address);
        d.close();
        console.log(`user ${address} removed`);
      }),
    );

  const alias = program.command('alias').description('manage aliases (SOURCE may be @domain for a catch-all)');
  alias
    .command('add <source> <targets>')
    .description('add an alias: SOURCE TARGET[,TARGET...]')
    .option('--data <dir>', 'data directory')
    .action((source: string, targets: string, opts: { data?: string }) =>
      run(() => {
        const d = open(opts);
        const rec = d.addAlias(source, targets.split(',').filter((t) => t.trim()));
        d.close();
        console.log(`alias ${displayAddress(rec.source)} -> ${rec.targets.map(displayAddress).join(', ')}`);
      }),
    );
  alias
    .command('list')
    .description('list aliases')
    .option('--data <dir>', 'data directory')
    .action((opts: { data?: string }) =>
      run(() => {
        const d = open(opts);
        for (const a of d.listAliases()) console.log(`${displayAddress(a.source)} -> ${a.targets.map(displayAddress).join(', ')}`);
        d.close();
      }),
    );
  alias
    .command('remove <source>')
    .description('remove an alias')
    .option('--data <dir>', 'data directory')
    .action((source: string, opts: { data?: string }) =>
      run(() => {
        const d = open(opts);
        d.removeAlias(source);
        d.close();
        console.log(`alias ${source} removed`);
      }),
    );
}
