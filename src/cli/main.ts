#!/usr/bin/env node
/** The posthorn command. Each command group registers itself from its own file. */
import { Command } from 'commander';
import { packageVersion } from './version.js';
import { registerServeCommand } from './commands/serve.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDirectoryCommands } from './commands/directory.js';
import { registerQueueCommands } from './commands/queue.js';
import { registerDkimCommands } from './commands/dkim.js';
import { registerParseCommand } from './commands/parse.js';
import { registerSendCommand } from './commands/send.js';
import { registerSendmailCommand } from './commands/sendmail.js';
import { registerFetchCommand } from './commands/fetch.js';

const program = new Command();
program.name('posthorn').description('Posthorn: SMTP and POP3 server, outbound queue, MIME and mail client').version(packageVersion());
program.showHelpAfterError();

registerServeCommand(program);
registerConfigCommands(program);
registerDirectoryCommands(program);
registerQueueCommands(program);
registerDkimCommands(program);
registerParseCommand(program);
registerSendCommand(program);
registerSendmailCommand(program);
registerFetchCommand(program);

await program.parseAsync(process.argv);
