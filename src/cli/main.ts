#!/usr/bin/env node
/**
 * The posthorn command. Each command group registers itself from its own file; only the file of the command being run
 * is loaded (sendmail and send are called once per message by cron and PHP, so start-up time matters).
 */
import { Command } from 'commander';
import { packageVersion } from './version.js';

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register[]>> = {
  serve: async () => [(await import('./commands/serve.js')).registerServeCommand],
  config: async () => [(await import('./commands/config.js')).registerConfigCommands],
  domain: async () => [(await import('./commands/directory.js')).registerDirectoryCommands],
  user: async () => [(await import('./commands/directory.js')).registerDirectoryCommands],
  alias: async () => [(await import('./commands/directory.js')).registerDirectoryCommands],
  queue: async () => [(await import('./commands/queue.js')).registerQueueCommands],
  dkim: async () => [(await import('./commands/dkim.js')).registerDkimCommands],
  parse: async () => [(await import('./commands/parse.js')).registerParseCommand],
  send: async () => [(await import('./commands/send.js')).registerSendCommand],
  sendmail: async () => [(await import('./commands/sendmail.js')).registerSendmailCommand],
  fetch: async () => [(await import('./commands/fetch.js')).registerFetchCommand],
  token: async () => [(await import('./commands/token.js')).registerTokenCommands],
};

const program = new Command();
program.name('posthorn').description('Posthorn: SMTP and POP3 server, outbound queue, MIME and mail client').version(packageVersion());
program.showHelpAfterError();
// Options after a command name belong to that command (sendmail's -V is not the root --version).
program.enablePositionalOptions();

const name = process.argv[2];
const registers = name && name in COMMANDS ? await COMMANDS[name]() : (await Promise.all(Object.values(COMMANDS).map((load) => load()))).flat();
for (const register of new Set(registers)) register(program);

await program.parseAsync(process.argv);
